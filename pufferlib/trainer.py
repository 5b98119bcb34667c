"""PPO trainer (docs/architecture.md §6). The Trainer runs one epoch at a time, which reads top to bottom:

    1. collect   step every agent through bptt_horizon steps into [segments, bptt_horizon] buffers
    2. advantage V-trace-clipped GAE over each segment (pufferlib.advantage)
    3. update    prioritized segment minibatches, PPO clipped policy and value losses, entropy bonus
    4. log       one metrics row, handed to the run's sinks (metrics.jsonl, TensorBoard, trackers), and the dashboard

Everything around the epochs (the run folder and its lock, resuming, checkpoint files, budgets, signals, seeding
and the process-wide torch settings) is pufferlib.runs.session's; the Trainer only turns its state into a
checkpoint dict and back (state_dict / load_state_dict).

Rollout layout: step t of a segment holds observation o_t, the action taken on it, its log-probability and value,
and the reward / terminal / truncation that arrived together with o_t (the outcome of the action at t - 1). Each
agent row fills its own segments one after another, so the buffers work for any number of agents and for
asynchronous vectors that return a different batch of agents on each recv. The last step of a segment only
bootstraps the others (its value); it is acted on as step 0 of the next rollout, so an epoch takes
segments * (bptt_horizon - 1) agent steps and `global_step` counts the steps actually taken.
"""
import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch

from pufferlib import advantage, distributed, imitation, models, optim, rewards, schedules, selfplay

from pufferlib.runs import checkpoint
from pufferlib.actor import Actor
from pufferlib.staging import StepStaging
from pufferlib.envs.contract import action_layout, action_mask_size
from pufferlib.normalize import RunningMeanStd
from pufferlib.exceptions import APIUsageError, PufferError, SnapshotError

PROFILE_NAMES = ('env', 'inference', 'copy', 'learn')
LOSS_NAMES = ('policy_loss', 'value_loss', 'entropy', 'approx_kl', 'clipfrac')


class NonFiniteLossError(PufferError, RuntimeError):
    """A loss became NaN or inf. Training stops before the bad gradients touch the weights."""


def train(config, options=None, dashboard=None):
    """Train `config` in a run folder: see pufferlib.runs.session.train, which owns everything around the epochs
    (the run folder, its lock, resuming, checkpoints, budgets, signals, loggers)."""
    from pufferlib.runs import session
    return session.train(config, options, dashboard)


class Trainer:
    def __init__(self, config, vecenv, policy, run_dir=None, dashboard=None):
        t = self.train_config = config['train']
        self.config = config
        self.vecenv = vecenv
        self.run_dir = run_dir
        self.dashboard = dashboard
        self.sinks = []                 # each takes log(row, step): metrics.jsonl, TensorBoard, trackers
        self.last_checkpoint = None     # path of the newest durable checkpoint, named when training must stop
        self.device = torch.device(t['device'])
        self.num_agents = vecenv.num_agents

        self.policy = policy.to(self.device)
        self.recurrent = policy.is_recurrent
        self.evaluate = policy.forward_sequence if self.recurrent else policy.forward
        self.losses = self.ppo_losses
        compile = None
        if t['compile']:
            # The whole loss, not just the policy: fusing its many small elementwise ops (and their backward) is
            # most of the gain on CPU. Nothing compiled draws random numbers, so runs stay reproducible.
            options = optim.compile_options(t['compile_mode'], self.device)
            compile = lambda fn: torch.compile(fn, options=options)  # noqa: E731
            self.losses = compile(self.ppo_losses)
            self.minibatch_targets = compile(self.minibatch_targets)
            self.minibatch_losses = compile(self.minibatch_losses)
        # Observations -> sampled actions and env actions (pufferlib.actor), its sampling step compiled with the rest.
        self.actor = Actor(self.policy, vecenv.single_action_space, self.device, compile=compile)
        # [selfplay] (pufferlib.selfplay): the vecenv shows only the learner's rows and plays the other side itself.
        self.selfplay = vecenv if isinstance(vecenv, selfplay.SelfPlayVecEnv) else None
        if self.selfplay is not None:
            self.selfplay.attach(self.policy)
        self.optimizers, self.flat = optim.make_optimizers(policy, t)  # self.flat: see optim.FlatParameters
        self.data_parallel = distributed.active()  # gradients averaged over the ranks (pufferlib.distributed)
        self.autocast = dict(device_type=self.device.type, dtype=torch.bfloat16,
                             enabled=t['precision'] == 'bfloat16')

        # Sizes: batch_size cells in `segments` rows of `horizon` steps.
        self.horizon = t['bptt_horizon']
        self.segments = t['batch_size'] // self.horizon
        self.minibatch_segments = t['minibatch_size'] // self.horizon
        self.chunk_segments = min(t['minibatch_size'], t['max_minibatch_size']) // self.horizon
        self.minibatches_per_epoch = t['update_epochs'] * self.segments // self.minibatch_segments
        self.allocate_buffers(vecenv.single_observation_space, vecenv.single_action_space)

        self.global_step = 0
        self.adaptive_learning_rate = t['learning_rate']  # with train.lr_adaptive_kl: the next epoch's rate
        self.epoch = 0
        self.uptime = 0.0                           # training seconds over every session of this run
        self.session_start = time.perf_counter()
        self.session_start_step = 0
        self.profile = dict.fromkeys(PROFILE_NAMES, 0.0)  # seconds, this epoch
        self.stat_sums, self.stat_counts = defaultdict(float), defaultdict(int)
        self.latest_stats, self.latest_losses = {}, {}
        self.speed_mark = None  # (time, step) after this session's first epoch: compiling is not counted in ETAs
        self.pending = None  # a received batch not acted on yet (see collect)

        # Normalization (docs/training.md). Observation statistics live in the policy (train.obs_norm, see
        # models.ObservationFeatures); return statistics here, saved in checkpoints (train.return_norm).
        self.observation_features = models.observation_features(self.policy)
        self.observation_stats = getattr(self.observation_features, 'normalizer', None)
        self.return_stats = RunningMeanStd().to(self.device) if t.get('return_norm') else None
        self.return_scale = 1.0  # the value head's unit in returns: the running std of the returns
        self.reward_scale, self.reward_clip = t.get('reward_scale', 1.0), t.get('reward_clip', 0.0)

        # Reward signals ([reward.*], pufferlib.rewards, docs/rewards.md): the env's reward times its strength, and
        # the intrinsic signals switched on, each with its own reward buffer, critic and advantage.
        self.extrinsic, self.intrinsic = rewards.make_signals(config, vecenv.single_observation_space.shape,
                                                              self.device, vecenv.single_action_space,
                                                              vecenv.single_observation_space)
        self.gamma = self.extrinsic.gamma
        self.intrinsic_rewards = [torch.zeros(self.segments, self.horizon, device=self.device)
                                  for _ in self.intrinsic]
        self.intrinsic_values = [torch.zeros(self.segments, self.horizon, device=self.device)
                                 for _ in self.intrinsic]
        # Behavioural cloning from demonstrations ([bc], pufferlib.imitation): its own update after each epoch.
        self.imitation = imitation.make(config, self.policy, vecenv.single_observation_space,
                                        vecenv.single_action_space, self.device)

    # ------------------------------------------------------------------------------------------------------------
    # Buffers
    # ------------------------------------------------------------------------------------------------------------

    def allocate_buffers(self, observation_space, action_space):
        device, S, T = self.device, self.segments, self.horizon
        offload = offloads_observations(self.train_config, device)
        obs_device = torch.device('cpu') if offload else device
        obs_dtype = torch.from_numpy(np.zeros(0, observation_space.dtype)).dtype
        self.observations = torch.zeros(S, T, *observation_space.shape, dtype=obs_dtype, device=obs_device)
        if offload:
            self.observations = self.observations.pin_memory()
        action_shape, action_dtype = action_layout(action_space)  # float32 for Box and mixed actions, else int32
        self.actions = torch.zeros(S, T, *action_shape, dtype=torch.from_numpy(np.zeros(0, action_dtype)).dtype,
                                   device=device)
        self.action_shape = tuple(self.actions.shape[2:])
        floats = lambda: torch.zeros(S, T, device=device)  # noqa: E731
        self.logprobs, self.values, self.rewards = floats(), floats(), floats()
        self.terminals, self.truncations, self.masks = floats(), floats(), floats()
        self.ratio = torch.ones(S, T, device=device)
        # On CUDA each step's host -> device copies go through pinned memory in one asynchronous copy, and the
        # actions come back through it (pufferlib.staging); on the CPU the vector's own arrays are used as they are.
        self.staging = StepStaging(device) if device.type == 'cuda' else None
        # Legal-action masks of each step (docs/policies.md), only for envs that declare them: the update
        # recomputes log-probabilities and entropies over the actions that were legal when each was taken.
        self.action_masks = None
        if getattr(self.vecenv, 'has_action_masks', False):
            self.action_masks = torch.ones(S, T, action_mask_size(action_space), dtype=torch.bool, device=device)
        if self.recurrent:
            # The policy's state tensors ((h, c) of an LSTM, (h,) of a GRU), [rows, width] each.
            self.state = self.actor.initial_state(self.num_agents)   # of every agent row
            self.segment_state = self.actor.initial_state(S)         # where each segment starts

    # ------------------------------------------------------------------------------------------------------------
    # 1. Collect
    # ------------------------------------------------------------------------------------------------------------

    def reset_envs(self, seed):
        self.vecenv.async_reset(seed)
        self.pending = None
        if self.recurrent:
            for tensor in self.state:
                tensor.zero_()

    def restart_envs(self):
        """Reset every env with a seed fixed by the epoch, as a run resumed from a checkpoint without env state
        does: in deterministic mode the uninterrupted run and the resumed one then see the same episodes. Envs that
        can be snapshotted (in-process Ocean envs) never need this."""
        self.reset_envs(self.epoch_seed())

    def epoch_seed(self):
        return (self.config['vec']['seed'] * 1_000_003 + self.epoch) % 2**31

    def collect(self):
        """Step the envs until every segment holds bptt_horizon steps.

        The batch that fills the last segment is stored but not acted on: the envs wait on it, and the next
        rollout starts from it with the updated policy. So an epoch ends with the envs idle (a clean point for
        checkpoints) and every executed action comes from the policy of its own epoch."""
        rollout = self.start_rollout()
        profile = self.profile
        while True:
            start = time.perf_counter()
            if self.pending is not None:  # already received (and counted) at the end of the last rollout
                (batch, action_mask), self.pending = self.pending, None
            else:
                batch = self.vecenv.recv()
                action_mask = None if self.action_masks is None else self.vecenv.action_masks
                self.add_stats(batch[4])
            profile['env'] += time.perf_counter() - start
            send_actions = self.collect_step(rollout, batch, action_mask)
            if send_actions is None:
                self.pending = (batch, action_mask)
                return
            sending = time.perf_counter()
            self.vecenv.send(send_actions)
            self.global_step += len(send_actions)  # agent steps actually taken
            profile['env'] += time.perf_counter() - sending

    def start_rollout(self):
        """Where each agent row writes next: row i starts filling segment i; a row that fills its segment takes the
        next unused one. (pufferlib.multipolicy drives several Trainers' rollouts over one vecenv with this and
        collect_step.)"""
        return Rollout(segment_of=np.arange(self.num_agents), step_of=np.zeros(self.num_agents, dtype=np.int64),
                       next_segment=self.num_agents, full_segments=0)

    def collect_step(self, rollout, batch, action_mask):
        """Act on one received batch of this trainer's rows and store it; the env actions to send, or None when
        the batch fills the last segment (stored, not acted on: the next rollout starts from it)."""
        S, T = self.segments, self.horizon
        segment_of, step_of, profile = rollout.segment_of, rollout.step_of, self.profile
        received = time.perf_counter()
        observations, rewards, terminals, truncations, _, agent_ids, masks = batch
        rows = row_index(agent_ids)
        segment, step = segment_of[rows], step_of[rows]
        filling = (segment < S) & (step == T - 1)
        last_batch = rollout.full_segments + int(filling.sum()) >= S
        if self.staging is None:  # the CPU: torch views of the vector's own arrays, nothing copied
            obs = torch.from_numpy(observations).to(self.device, non_blocking=True)
            done = torch.from_numpy(np.logical_or(terminals, truncations)).to(self.device)
            mask = None if action_mask is None else torch.from_numpy(action_mask).to(self.device)
        else:  # CUDA: the step's arrays in one asynchronous copy from pinned memory (pufferlib.staging)
            obs, *flags, mask = self.staging.to_device(observations, self.learned_rewards(rewards), terminals,
                                                       truncations, masks, action_mask)
            done = torch.logical_or(flags[1], flags[2])
        copied = time.perf_counter()
        profile['copy'] += copied - received

        with torch.inference_mode(), torch.autocast(**self.autocast):
            if self.data_parallel:  # this rank's rows of noise drawn for every rank's rows, alike on all
                noise = distributed.shared_draw(lambda rows: self.policy.action_head.noise(rows, self.device),
                                                len(obs))
            else:
                noise = self.policy.action_head.noise(len(obs), self.device)
            if self.recurrent:
                state = tuple(tensor[rows] for tensor in self.state)
                starting = np.flatnonzero((step == 0) & (segment < S))
                if len(starting):  # remember where each segment starts, for training over it
                    for kept, tensor in zip(self.segment_state, state):
                        kept[segment[starting]] = tensor[starting]
                actions, logprob, value, state = self.actor.act(obs, state, done, noise, mask)
                if not last_batch:  # the last batch is seen again next rollout: advance its state then
                    for tensor, new in zip(self.state, state):
                        tensor[rows] = new.float()
            else:
                actions, logprob, value, _ = self.actor.act(obs, noise=noise, action_mask=mask)
            if self.return_stats is not None:  # values are stored in the returns' own units
                value = value * self.return_scale
        inferred = time.perf_counter()
        profile['inference'] += inferred - copied

        stored = segment < S  # rows past the last segment step on but are not recorded
        if not stored.all():
            keep_rows = np.flatnonzero(stored)
            keep_index = torch.from_numpy(keep_rows).to(self.device)
            obs, stored_actions, logprob, value = (x[keep_index] for x in (obs, actions, logprob, value))
            if self.staging is None:
                rewards, terminals, truncations, masks = (np.asarray(x)[keep_rows] for x in
                                                          (rewards, terminals, truncations, masks))
            else:
                flags = [x[keep_index] for x in flags]
            segment, step = segment[keep_rows], step[keep_rows]
            mask = None if mask is None else mask[keep_index]
        else:
            stored_actions = actions
        if len(segment):
            target = self.buffer_target(segment, step)
            put(self.observations, target, obs)
            put(self.actions, target, stored_actions.view(-1, *self.action_shape))
            put(self.logprobs, target, logprob)
            put(self.values, target, value)
            if self.staging is None:
                flags = (torch.from_numpy(self.learned_rewards(rewards)), torch.from_numpy(terminals),
                         torch.from_numpy(truncations), torch.from_numpy(masks))
            for buffer, values in zip((self.rewards, self.terminals, self.truncations, self.masks), flags):
                put(buffer, target, values)
            if mask is not None:
                put(self.action_masks, target, mask)

        if last_batch:
            profile['copy'] += time.perf_counter() - inferred
            return None
        step_of[rows] += 1
        finished = np.flatnonzero(step_of[rows] == T)
        if len(finished):
            finished = np.arange(self.num_agents)[rows][finished]
            rollout.full_segments += int((segment_of[finished] < S).sum())
            segment_of[finished] = rollout.next_segment + np.arange(len(finished))
            step_of[finished] = 0
            rollout.next_segment += len(finished)

        # The received arrays are the envs' own buffers until send(): everything above is stored first.
        send_actions = self.actor.to_env(actions if self.staging is None else self.staging.to_host(actions))
        profile['copy'] += time.perf_counter() - inferred
        return send_actions

    def buffer_target(self, segment, step):
        """Index of [segments, horizon] buffer cells: slices when the rows fill consecutive segments at one step
        (every synchronous rollout), else index tensors."""
        first = int(segment[0])
        if step[0] == step[-1] and segment[-1] - first == len(segment) - 1 and (step == step[0]).all() and (
                np.diff(segment) == 1).all():
            return slice(first, first + len(segment)), int(step[0])
        if self.staging is not None:  # its own slot: the step's upload may still be in flight
            return self.staging.to_device(segment, step, slot='index')
        return torch.from_numpy(segment).to(self.device), torch.from_numpy(step).to(self.device)

    def learned_rewards(self, rewards):
        """The rewards the update learns from: reward.extrinsic.strength, train.reward_scale, then train.reward_clip.
        Episode returns in the infos (what is logged) stay the env's own."""
        rewards = self.extrinsic.reward(rewards)
        if self.reward_scale != 1.0:
            rewards = rewards * np.float32(self.reward_scale)
        if self.reward_clip > 0:
            rewards = np.clip(rewards, -self.reward_clip, self.reward_clip).astype(np.float32, copy=False)
        return rewards

    def add_stats(self, infos):
        for info in flatten_infos(infos):
            for key, value in info.items():
                if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                    self.stat_sums[key] += float(value)
                    self.stat_counts[key] += 1

    # ------------------------------------------------------------------------------------------------------------
    # 2. Advantages and 3. PPO update
    # ------------------------------------------------------------------------------------------------------------

    def learn(self):
        t = self.train_config
        start = time.perf_counter()
        progress = self.progress()
        if t['lr_adaptive_kl'] > 0:
            learning_rate = self.adaptive_learning_rate
        else:
            learning_rate = schedules.value(t['lr_schedule'], t['learning_rate'], t['lr_final_ratio'], progress)
        ent_coef = schedules.value(t['ent_schedule'], t['ent_coef'], t['ent_final_ratio'], progress)
        clip_coef = schedules.value(t['clip_schedule'], t['clip_coef'], t['clip_final_ratio'], progress)
        vf_clip_coef = schedules.value(t['vf_clip_schedule'], t['vf_clip_coef'], t['vf_clip_final_ratio'], progress)
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group['lr'] = learning_rate
        # Importance correction annealed to 1; a tensor, so the compiled code is not rebuilt for each value.
        beta = torch.tensor(t['prio_beta0'] + (1 - t['prio_beta0']) * progress, device=self.device)
        # The last step of a segment has no successor, hence no advantage: it takes no part in the losses (nor does
        # a turn-based row's move followed only by waiting steps).
        valid = advantage.scored_steps(self.masks, self.terminals, self.truncations)
        self.ratio.fill_(1.0)
        # Loss weights as a tensor: compiled code reads them as data instead of being rebuilt for each new value.
        # The clip bounds are summed here in float64, as they were when clip_coef was a Python float.
        coefficients = torch.tensor([t['vf_coef'], ent_coef, clip_coef, 1 - clip_coef, 1 + clip_coef, vf_clip_coef],
                                    device=self.device)
        if self.return_stats is not None:  # coefficients[6]: the return scale the value head learns in this epoch
            coefficients = torch.cat([coefficients, self.update_return_scale(valid)])
        sums = torch.zeros(len(LOSS_NAMES), device=self.device)
        parameters = list(self.policy.parameters())
        if self.flat is not None:
            self.flat.check_views()
        accumulation = self.minibatch_segments // self.chunk_segments
        signal_stats = self.intrinsic_rollout(valid) if self.intrinsic else {}
        intrinsic_value_loss = torch.zeros(len(self.intrinsic), device=self.device)

        for minibatch in range(self.minibatches_per_epoch):
            # 2. Advantages: recomputed for every minibatch, as the updated ratios change the V-trace weights.
            advantages = advantage.compute_advantages(
                self.values, self.rewards, self.terminals, self.truncations, self.ratio, self.gamma,
                t['gae_lambda'], t['vtrace_rho_clip'], t['vtrace_c_clip'], masks=self.masks).to(self.device)
            if minibatch == 0:
                explained = explained_variance(self.values, advantages + self.values, valid)
            if self.intrinsic:
                intrinsic_advantages = self.intrinsic_advantages()
                returns = advantages + self.values  # the extrinsic value head's targets
                advantages = advantages + sum(signal.strength * a for signal, a in
                                              zip(self.intrinsic, intrinsic_advantages))

            # Prioritized segments (Schaul et al. 2016): P_i ~ (sum_t |A_it|)^alpha, weight (S P_i)^-beta.
            # Drawn here, not in compiled code: compiling a random op changes how much it draws from the generator.
            if self.data_parallel:  # drawn for every rank's segments, as for the actions (see collect)
                noise = distributed.shared_draw(
                    lambda rows: torch.empty(rows, device=self.device).exponential_(), self.segments)
            else:
                noise = torch.empty(self.segments, device=self.device).exponential_()

            # 3. PPO update, accumulating gradients over chunks of at most max_minibatch_size steps.
            if accumulation == 1 and not self.intrinsic and not self.data_parallel:
                # The usual case: sampling and losses in one (compiled) call.
                loss, stats = self.minibatch_losses(advantages, noise, valid, beta, coefficients)
                self.check_finite(loss, advantages)
                loss.backward()
                sums += stats
            else:
                if self.data_parallel:  # normalized over every rank's minibatch: the plain method, collectives inside
                    index, mb_advantages, mb_returns, mb_valid = Trainer.minibatch_targets(self, advantages, noise,
                                                                                           valid, beta)
                else:
                    index, mb_advantages, mb_returns, mb_valid = self.minibatch_targets(advantages, noise, valid, beta)
                if self.intrinsic:  # sampled by the combined advantage; each head learns its own returns
                    mb_returns = returns[index]
                    intrinsic_value_loss += self.train_intrinsic_values(index, intrinsic_advantages, mb_valid)
                valid_steps = distributed.global_count(mb_valid) if self.data_parallel else mb_valid.sum().clamp(min=1)
                for chunk in range(accumulation):
                    part = slice(chunk * self.chunk_segments, (chunk + 1) * self.chunk_segments)
                    loss, stats = self.losses(index[part], mb_advantages[part], mb_returns[part], mb_valid[part],
                                              valid_steps, coefficients)
                    self.check_finite(loss, advantages)
                    loss.backward()
                    sums += stats
            if self.data_parallel:  # every rank then clips and steps the same gradients
                distributed.average_gradients(self)
            if self.flat is not None:
                self.flat.clip_grad_norm(t['max_grad_norm'])
                self.flat.adam_step(self.optimizers[0])
            else:
                torch.nn.utils.clip_grad_norm_(parameters, t['max_grad_norm'])
                for optimizer in self.optimizers:
                    optimizer.step()
            self.zero_grad()

        if self.observation_stats is not None:
            self.update_observation_stats(valid)
        averages = dict(zip(LOSS_NAMES, (sums / self.minibatches_per_epoch).tolist()))
        if self.intrinsic:
            for signal, loss in zip(self.intrinsic, (intrinsic_value_loss / self.minibatches_per_epoch).tolist()):
                averages[f'value_loss_{signal.name}'] = loss
                observations = self.observations.to(self.device, non_blocking=True)
                signal_stats.update(signal.rollout_update(observations, self.actions,
                                                          self.terminals + self.truncations, valid))
            averages.update(signal_stats)
        if self.imitation is not None:
            averages.update(self.imitation.update(self.global_step, learning_rate, self.zero_grad))
        averages['explained_variance'] = explained.item()
        averages['learning_rate'] = learning_rate
        averages['ent_coef'] = ent_coef
        if t['clip_schedule'] != 'constant':  # logged when they move (a constant one adds nothing to the metrics)
            averages['clip_coef'] = clip_coef
        if t['vf_clip_schedule'] != 'constant':
            averages['vf_clip_coef'] = vf_clip_coef
        if self.return_stats is not None:
            averages['return_scale'] = self.return_scale
        if t['lr_adaptive_kl'] > 0:  # Sample Factory's kl_adaptive_epoch, on this epoch's mean approx_kl
            kl = averages['approx_kl']
            if self.data_parallel:  # the ranks' mean, so that every rank moves its rate alike
                kl = distributed.average_losses(dict(approx_kl=kl))['approx_kl']
            self.adaptive_learning_rate = schedules.kl_adaptive(
                learning_rate, kl, t['lr_adaptive_kl'], t['lr_adaptive_min'], t['lr_adaptive_max'])
        self.epoch += 1
        self.profile['learn'] += time.perf_counter() - start
        return averages

    @torch.no_grad()
    def intrinsic_rollout(self, valid):
        """Each intrinsic signal's rewards and critic values for every stored step, in chunks of segments. Step t's
        reward is the novelty of o_t: with the rollout layout it is the outcome of the action taken at t - 1."""
        stats = {}
        for signal, reward, value in zip(self.intrinsic, self.intrinsic_rewards, self.intrinsic_values):
            for start in range(0, self.segments, self.chunk_segments):
                part = slice(start, start + self.chunk_segments)
                observations = self.observations[part].to(self.device, non_blocking=True)
                flat = observations.reshape(-1, *observations.shape[2:])
                done = self.terminals[part] + self.truncations[part]
                reward[part] = signal.rollout_reward(observations, self.actions[part], done)
                value[part] = signal.value(flat).view(-1, self.horizon)
            raw = masked_mean(reward, valid).item()
            reward.copy_(signal.normalize(reward, valid))
            stats[f'reward/{signal.name}'] = masked_mean(reward, valid).item()
            stats[f'reward/{signal.name}_raw'] = raw
        return stats

    def intrinsic_advantages(self):
        """Each intrinsic signal's advantage with its own gamma. Non-episodic signals (RND, curiosity) ignore terminals
        and truncations, so novelty found after an episode ends still pays (Burda et al. 2018); episodic ones (GAIL)
        stop at episode ends like the extrinsic advantage."""
        t = self.train_config
        never = torch.zeros_like(self.terminals)
        ends = lambda signal: (self.terminals, self.truncations) if signal.episodic else (never, never)  # noqa: E731
        return [advantage.compute_advantages(value, reward, *ends(signal), self.ratio, signal.gamma, t['gae_lambda'],
                                             t['vtrace_rho_clip'], t['vtrace_c_clip'], masks=self.masks).to(self.device)
                for signal, reward, value in zip(self.intrinsic, self.intrinsic_rewards, self.intrinsic_values)]

    def train_intrinsic_values(self, index, intrinsic_advantages, mb_valid):
        """One step of each intrinsic critic on the minibatch's segments; their losses as a tensor."""
        observations = self.observations[index.to(self.observations.device)].to(self.device, non_blocking=True)
        flat = observations.reshape(-1, *observations.shape[2:])
        return torch.stack([signal.train_value(flat, (a + value)[index], mb_valid) for signal, a, value in
                            zip(self.intrinsic, intrinsic_advantages, self.intrinsic_values)])

    def update_return_scale(self, valid):
        """train.return_norm: fold this epoch's value targets (GAE returns, on-policy as the epoch starts) into the
        running return statistics and return their std as a [1] tensor. The value head learns returns / std and its
        outputs are multiplied by std where values are stored (collect), so advantages stay in reward units. Only the
        scale is normalized (the mean is not subtracted) and the head is not rescaled when std moves (no PopArt), as
        in Sample Factory's normalize_returns and MAPPO's value normalization."""
        t = self.train_config
        advantages = advantage.compute_advantages(
            self.values, self.rewards, self.terminals, self.truncations, self.ratio, self.gamma, t['gae_lambda'],
            t['vtrace_rho_clip'], t['vtrace_c_clip'], masks=self.masks).to(self.device)
        self.return_stats.update(advantages + self.values, valid, across_ranks=self.data_parallel)
        scale = self.return_stats.std()
        self.return_scale = float(scale)
        return scale.float().reshape(1)

    @torch.no_grad()
    def update_observation_stats(self, valid):
        """train.obs_norm: fold this epoch's observations into the policy's statistics, after the update, so that
        every epoch acts and learns with one fixed normalization (the stored log-probabilities and values were
        computed with the inputs the update sees). Chunked by segments: the features may be larger than the raw
        observations (bytes become floats)."""
        for start in range(0, self.segments, self.chunk_segments):
            part = slice(start, start + self.chunk_segments)
            observations = self.observations[part].to(self.device, non_blocking=True)
            features = self.observation_features.features(observations.reshape(-1, *observations.shape[2:]))
            self.observation_stats.update(features, valid[part], across_ranks=self.data_parallel)

    def zero_grad(self):
        if self.flat is not None:
            self.flat.zero_grad()  # in place: the gradients stay views of the buffer
        else:
            for optimizer in self.optimizers:
                optimizer.zero_grad(set_to_none=True)

    def check_finite(self, loss, advantages):
        """Stop on NaN/inf before it reaches the weights; the last checkpoint stays the last good one. Non-finite
        advantages (from NaN/inf rewards or values) make the loss non-finite as soon as a minibatch holds them, so
        checking the loss guards both, and the advantages are only looked at to name the culprit."""
        if math.isfinite(loss.item()):  # on the host: a scalar read, against four tensor ops for torch.isfinite
            return
        name = 'loss' if bool(torch.isfinite(advantages).all()) else 'advantages'
        kept = (f'the last good checkpoint is {self.last_checkpoint}' if self.last_checkpoint else
                'no checkpoint had been written yet')
        from pufferlib.vector import describe_nonfinite
        source = describe_nonfinite(self.observations, self.rewards, self.values, env=self.vecenv.driver_env,
                                    index_names=('segment', 'step'))
        from_env = source is not None and not source.startswith('the values')  # values are the policy's output
        cause = (f'; {source}: check the environment' if from_env else
                 (f'; {source}' if source else '') + '. Lower train.learning_rate or train.max_grad_norm, or check '
                 'the environment for NaN/inf rewards and observations')
        raise NonFiniteLossError(
            f'the {name} became NaN or inf at epoch {self.epoch + 1} (step {self.global_step:,}); training '
            f'stopped before updating the weights and {kept}{cause}.')

    def minibatch_targets(self, advantages, noise, valid, beta):
        """Sample a minibatch of segments; return their indices, advantages (normalized unless train.adv_norm is
        off; importance-weighted), returns and valid-step mask.

        Segments are drawn without replacement with probability P_i ~ (sum_t |A_it|)^alpha: the largest P_i / q_i
        for q_i ~ Exp(1) (`noise`), the same draw as torch.multinomial's."""
        priority = advantages.abs().sum(1).pow(self.train_config['prio_alpha']) + 1e-12
        probabilities = priority / priority.sum()
        index = torch.topk(probabilities / noise, self.minibatch_segments).indices
        weights = (self.segments * probabilities[index]).pow(-beta).unsqueeze(1)
        mb_advantages = advantages[index]
        mb_returns = mb_advantages + self.values[index]
        mb_valid = valid[index]
        if not self.train_config.get('adv_norm', True):
            return index, weights * mb_advantages, mb_returns, mb_valid
        if self.data_parallel:  # over the global minibatch, every rank's part of it (pufferlib.distributed)
            mean, std = distributed.global_moments(mb_advantages, mb_valid)
        else:
            mean = masked_mean(mb_advantages, mb_valid)
            std = masked_mean((mb_advantages - mean) ** 2, mb_valid).sqrt()
        return index, weights * (mb_advantages - mean) / (std + 1e-8), mb_returns, mb_valid

    def minibatch_losses(self, advantages, noise, valid, beta, coefficients):
        """Sample a minibatch and return its loss and statistics (see ppo_losses), when it is processed whole."""
        # The plain methods, not the instance's compiled ones: this whole function is what gets compiled.
        index, mb_advantages, mb_returns, mb_valid = Trainer.minibatch_targets(self, advantages, noise, valid, beta)
        return Trainer.ppo_losses(self, index, mb_advantages, mb_returns, mb_valid, mb_valid.sum().clamp(min=1),
                                  coefficients)

    def ppo_losses(self, segs, advantages, returns, valid, valid_steps, coefficients):
        """PPO (Schulman et al. 2017) loss of one chunk of segments and its statistics (LOSS_NAMES, detached).

        Each term is summed over the chunk's valid steps and divided by the valid steps of the whole minibatch, so
        chunks add up to the minibatch mean. `coefficients` holds this epoch's vf_coef, ent_coef, clip_coef,
        1 - clip_coef, 1 + clip_coef and vf_clip_coef."""
        observations = self.observations[segs.to(self.observations.device)].to(self.device, non_blocking=True)
        with torch.autocast(**self.autocast):
            if self.recurrent:
                state = tuple(tensor[segs] for tensor in self.segment_state)
                params, values = self.evaluate(observations, state, self.terminals[segs] + self.truncations[segs])
            else:
                params, values = self.evaluate(observations.reshape(-1, *observations.shape[2:]))
        actions = self.actions[segs].reshape(-1, *self.action_shape)
        if self.action_masks is None:
            logprob, entropy = self.policy.action_head.logprob_entropy(params, actions)
        else:
            mask = self.action_masks[segs].reshape(-1, self.action_masks.shape[-1])
            logprob, entropy = self.policy.action_head.logprob_entropy(params, actions, mask)
        logprob, entropy, values = (x.float().view(len(segs), self.horizon) for x in (logprob, entropy, values))

        logratio = logprob - self.logprobs[segs]
        ratio = logratio.exp()
        self.ratio[segs] = ratio.detach()
        clip, vf_clip = coefficients[2], coefficients[5]
        policy_loss = torch.max(-advantages * ratio, -advantages * ratio.clamp(coefficients[3], coefficients[4]))
        old_values = self.values[segs]
        if self.return_stats is not None:  # the value head's units: returns / their running std
            returns, old_values = returns / coefficients[6], old_values / coefficients[6]
        clipped = old_values + (values - old_values).clamp(-vf_clip, vf_clip)
        value_loss = 0.5 * torch.max((values - returns) ** 2, (clipped - returns) ** 2)
        total = lambda x: (x * valid).sum() / valid_steps  # noqa: E731
        with torch.no_grad():
            approx_kl = total((ratio - 1) - logratio)  # Schulman's low-variance KL estimator
            clipfrac = total(((ratio - 1).abs() > clip).float())
        policy_loss, value_loss, entropy = total(policy_loss), total(value_loss), total(entropy)
        loss = policy_loss + coefficients[0] * value_loss - coefficients[1] * entropy
        return loss, torch.stack([policy_loss, value_loss, entropy, approx_kl, clipfrac]).detach()

    # ------------------------------------------------------------------------------------------------------------
    # 4. Log, checkpoint
    # ------------------------------------------------------------------------------------------------------------

    def progress(self):
        """How far through its budget the run is, 0 -> 1: the larger of the steps' and (with train_seconds) the
        training time's fraction. Schedules follow it, so a run extended with a larger budget stretches them."""
        t = self.train_config
        progress = self.global_step / t['total_timesteps']
        if t.get('train_seconds'):
            progress = max(progress, self.total_uptime() / t['train_seconds'])
        return min(progress, 1.0)

    def total_uptime(self):
        """Training seconds over every session of this run."""
        return self.uptime + time.perf_counter() - self.session_start

    def budget_spent(self):
        t = self.train_config
        return self.global_step >= t['total_timesteps'] or (
            bool(t.get('train_seconds')) and self.total_uptime() >= t['train_seconds'])

    def remaining_seconds(self, sps):
        """Time left by the steps budget at the speed since this session's first epoch (which pays for compiling),
        or by train_seconds when that ends first."""
        t = self.train_config
        now = time.perf_counter()
        if self.speed_mark is None:
            self.speed_mark = (now, self.global_step)
        elif now - self.speed_mark[0] > 1e-3:
            sps = (self.global_step - self.speed_mark[1]) / (now - self.speed_mark[0])
        remaining = (t['total_timesteps'] - self.global_step) / max(sps, 1e-9)
        if t.get('train_seconds'):
            remaining = min(remaining, t['train_seconds'] - self.total_uptime())
        return max(remaining, 0.0)

    def log(self, losses):
        """The epoch's metrics row, handed to every sink and shown on the dashboard."""
        now = time.perf_counter()
        session_seconds = now - self.session_start
        uptime = self.uptime + session_seconds
        sps = (self.global_step - self.session_start_step) / max(session_seconds, 1e-9)
        stats = {key: self.stat_sums[key] / self.stat_counts[key] for key in self.stat_sums}
        self.stat_sums.clear()
        self.stat_counts.clear()
        self.latest_stats.update(stats)
        self.latest_losses = losses
        row = dict(epoch=self.epoch, global_step=self.global_step, uptime=uptime, sps=sps)
        # Names with their own prefix (reward/rnd) are logged as they are; the rest are losses.
        row.update({(name if '/' in name else f'loss/{name}'): value for name, value in losses.items()})
        row.update({f'env/{key}': value for key, value in stats.items()})
        row.update({f'time/{name}': value for name, value in self.profile.items()})
        shown = dict(self.latest_stats)
        if self.selfplay is not None:
            row.update(self.selfplay.metrics())
            shown.update({key: row[key] for key in selfplay.DASHBOARD_KEYS if key in row})
        for sink in self.sinks:
            sink.log(row, self.global_step)
        if self.dashboard is not None:
            self.dashboard.update(dict(
                epoch=self.epoch, global_step=self.global_step, total_timesteps=self.train_config['total_timesteps'],
                sps=sps, uptime=uptime, remaining=self.remaining_seconds(sps), profile=dict(self.profile),
                losses=losses, stats=shown))
        for name in self.profile:
            self.profile[name] = 0.0
        return row

    def state_dict(self):
        """Everything a resumed run needs to continue exactly, as weights-only-loadable data."""
        return dict(
            model=self.policy.state_dict(),
            optimizers=[optimizer.state_dict() for optimizer in self.optimizers],
            scheduler=dict(progress=self.progress(), learning_rate=self.optimizers[0].param_groups[0]['lr'],
                           adaptive_learning_rate=self.adaptive_learning_rate),
            counters=dict(epoch=self.epoch, global_step=self.global_step, uptime=self.total_uptime()),
            rng=dict(torch=torch.get_rng_state(),
                     cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []),
            envs=checkpoint.arrays_to_tensors(self.vecenv.snapshot()),
            recurrent_state=[tensor.cpu() for tensor in self.state] if self.recurrent else None,
            **({} if self.return_stats is None else dict(
                return_stats={name: value.cpu() for name, value in self.return_stats.state_dict().items()})),
            **({} if not self.intrinsic else dict(
                reward_signals={signal.name: signal.state_dict() for signal in self.intrinsic})),
            **({} if self.selfplay is None else dict(selfplay=self.selfplay.state_dict())),
            **({} if self.imitation is None else dict(imitation=self.imitation.state_dict())),
        )

    def load_state_dict(self, state, path='the checkpoint'):
        """Continue from a checkpoint dict (checked by pufferlib.runs.checkpoint.read_checkpoint): weights, optimizer,
        counters, RNG and the envs where they were (or, for envs without a snapshot, restarted from the
        checkpoint's epoch seed). Raises CheckpointError when the checkpoint does not fit this trainer."""
        from pufferlib.runs import saved_policy
        try:
            saved_policy.load_weights(self.policy, state['model'], path)
            if len(state['optimizers']) != len(self.optimizers):
                raise ValueError(f'{len(state["optimizers"])} optimizer states for {len(self.optimizers)} optimizers')
            for optimizer, saved in zip(self.optimizers, state['optimizers']):
                optimizer.load_state_dict(saved)
            torch.set_rng_state(state['rng']['torch'].cpu())
        except (ValueError, KeyError, TypeError, RuntimeError, IndexError) as error:
            raise checkpoint.CheckpointError(f'{path} does not fit this run\'s trainer: '
                                             f'{checkpoint.first_line(error)}') from None
        if self.flat is not None:
            self.flat.check_views()
        self.load_return_stats(state.get('return_stats'), path)
        self.load_reward_signals(state.get('reward_signals') or {}, path)
        if self.selfplay is not None and state.get('selfplay') is not None:
            self.selfplay.load_state_dict(state['selfplay'])
        if self.imitation is not None and state.get('imitation') is not None:
            self.imitation.load_state_dict(state['imitation'])
        counters = state['counters']
        self.epoch, self.global_step, self.uptime = counters['epoch'], counters['global_step'], counters['uptime']
        # Checkpoints written before the KL-adaptive learning rate lack it: it starts again from train.learning_rate.
        self.adaptive_learning_rate = float(state.get('scheduler', {}).get('adaptive_learning_rate',
                                                                            self.train_config['learning_rate']))
        self.session_start_step = self.global_step
        self.session_start = time.perf_counter()
        if state['rng'].get('cuda') and torch.cuda.is_available():
            if self.data_parallel and self.device.type == 'cuda':
                # Rank 0 drew on its cuda:0 and every rank draws alike on its own cuda:LOCAL_RANK (shared_draw):
                # rank 0's generator goes to this rank's device; the saved states of the other devices never moved.
                torch.cuda.set_rng_state(state['rng']['cuda'][0].cpu(), self.device)
            else:
                torch.cuda.set_rng_state_all([s.cpu() for s in state['rng']['cuda']])
        self.load_envs(state, path)

    def load_envs(self, state, path):
        """The envs where the checkpoint left them, with each row's recurrent state; envs without a snapshot (or
        whose saved state has another layout) restart from the checkpoint's epoch seed."""
        if state.get('envs') is not None:
            try:
                self.vecenv.restore(checkpoint.tensors_to_arrays(state['envs']))
            except (SnapshotError, ValueError, TypeError, KeyError) as error:  # refused by the envs' own checks
                # Env state of another layout (an older build of the envs, other env settings) cannot be meant for
                # these envs: they restart. Of their own layout, it is damaged or tampered: refuse the checkpoint.
                misfit = self.env_state_misfit(state['envs'])
                if misfit is None:
                    raise checkpoint.CheckpointError(f'{path}: the saved env state is invalid: '
                                                     f'{checkpoint.first_line(error)}') from None
                print(f'Resume: restored the policy, optimizer and counters of {path}, but not its env state '
                      f'({misfit}): restarting the envs from the checkpoint epoch seed', file=sys.stderr)
            except APIUsageError as error:  # e.g. resumed with another backend: episodes restart instead
                print(f'Resume: {error}; restarting the envs from the checkpoint epoch seed instead', file=sys.stderr)
            else:
                self.pending = None
                self.load_recurrent_state(state, path)
                return
        self.reset_envs(self.epoch_seed())

    def load_recurrent_state(self, state, path):
        """Each agent row's recurrent state, saved with the envs it belongs to (nothing without recurrence)."""
        if not self.recurrent:
            return
        saved_state = state.get('recurrent_state')
        if not isinstance(saved_state, list) or len(saved_state) != len(self.state) or any(
                not isinstance(saved, torch.Tensor) or saved.shape != tensor.shape
                for tensor, saved in zip(self.state, saved_state)):
            raise checkpoint.CheckpointError(f'{path}: its recurrent state does not fit this policy')
        for tensor, saved in zip(self.state, saved_state):
            tensor.copy_(saved)

    def env_state_misfit(self, saved):
        """Why a checkpoint's env state has another layout than these envs' own, or None (see
        checkpoint.env_state_misfit). Resets the envs to take a snapshot of them: they restart after it anyway."""
        self.vecenv.async_reset(self.epoch_seed())
        self.vecenv.recv()
        live = self.vecenv.snapshot()
        if live is None:
            return 'these envs save no state'
        return checkpoint.env_state_misfit(checkpoint.tensors_to_arrays(saved), live)

    def load_return_stats(self, saved, path):
        """Return statistics of a train.return_norm checkpoint. One written without them (before return_norm
        existed, or with it off) starts them afresh; a return_norm off run ignores them."""
        if self.return_stats is None or saved is None:
            return
        try:
            self.return_stats.load_state_dict(saved)
        except (RuntimeError, KeyError, TypeError, AttributeError) as error:
            raise checkpoint.CheckpointError(f'{path}: its return statistics are invalid: '
                                             f'{checkpoint.first_line(error)}') from None
        self.return_scale = float(self.return_stats.std())

    def load_reward_signals(self, saved, path):
        """The intrinsic signals' networks, optimizers and normalizers. A checkpoint without them (written before
        they existed, or with the signal off) starts them afresh; signals switched off ignore theirs."""
        for signal in self.intrinsic:
            if signal.name not in saved:
                continue
            try:
                signal.load_state_dict(saved[signal.name])
            except (RuntimeError, KeyError, TypeError, ValueError) as error:
                raise checkpoint.CheckpointError(f'{path}: its reward.{signal.name} state does not fit this run: '
                                                 f'{checkpoint.first_line(error)}') from None

    def model_weights(self):
        return self.policy.state_dict()


# ----------------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------------

@dataclass
class Rollout:
    """One rollout's bookkeeping (Trainer.start_rollout): each agent row's segment and step, the next unused
    segment, and how many segments are full."""
    segment_of: np.ndarray
    step_of: np.ndarray
    next_segment: int
    full_segments: int


def row_index(agent_ids):
    """The agent rows of a recv batch: a slice when they are one consecutive block (cheap views), else an array."""
    ids = np.asarray(agent_ids).reshape(-1)
    first = int(ids[0])
    if ids[-1] - first == len(ids) - 1 and (np.diff(ids) == 1).all():
        return slice(first, first + len(ids))
    return ids


def offloads_observations(train_config, device):
    """train.cpu_offload: keep the largest buffer, the observations, in host memory (pinned, for fast copies) and
    move each minibatch to the training device. On a CPU device there is nothing to offload."""
    return bool(train_config['cpu_offload']) and torch.device(device).type != 'cpu'


def put(buffer, target, values):
    """buffer[target] = values, converting device and dtype (bool flags, int actions) as needed.

    One step of consecutive segments (a slice target, every synchronous rollout) between CPU tensors is assigned
    through numpy views: the same values, without torch indexing's per-call overhead, eight times a step."""
    if (isinstance(target[0], slice) and buffer.device.type == 'cpu' and values.device.type == 'cpu'
            and values.dtype != torch.bfloat16 and buffer.dtype != torch.bfloat16):  # numpy has no bfloat16
        buffer.numpy()[target] = values.numpy()
        return
    # Not into host memory: a non-blocking device-to-host copy may still be in flight when the assignment reads it
    # (train.cpu_offload stores CUDA observations into the pinned CPU buffer this way).
    buffer[target] = values.to(buffer.device, buffer.dtype, non_blocking=buffer.device.type != 'cpu')


def flatten_infos(infos):
    if isinstance(infos, dict):
        return [infos]
    flat = []
    for info in infos or ():
        flat.extend(flatten_infos(info) if isinstance(info, (list, tuple)) else [info])
    return flat


def masked_mean(x, valid):
    return (x * valid).sum() / valid.sum().clamp(min=1)


def explained_variance(values, returns, valid):
    """1 - Var(returns - values) / Var(returns) over the valid steps: 1 is a perfect value function."""
    variance = lambda x: masked_mean((x - masked_mean(x, valid)) ** 2, valid)  # noqa: E731
    return 1 - variance(returns - values) / variance(returns).clamp(min=1e-8)
