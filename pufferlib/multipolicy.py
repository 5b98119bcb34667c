"""Several policies in one run: `[train] num_policies = N` and `policy_mapping` (docs/selfplay.md).

Each policy is an ordinary Trainer (pufferlib.trainer) with its own weights, optimizer, rollout buffers, return
statistics and reward signals, over its own agent rows only; `MultiPolicyTrainer` steps the one vecenv and hands
every received batch to the policies row by row, so a policy never sees another's rows.

    policy_mapping = team   agent row i belongs to policy i % N. In a two-player Ocean game in agent mode (rows 2g
                            and 2g + 1 are the two sides of game g) with N = 2, policy 0 plays side 0 and policy 1
                            side 1 of every game: self-play with both sides learning.
    policy_mapping = env    the rows are cut into N consecutive equal blocks, policy p taking block p; a block
                            holds whole games (each game is played by one policy, against itself in a two-player
                            game).

Sizes: each policy's batch_size and minibatch_size are the run's, times its share of the rows (1 / N), so every
policy fills its buffers on the same step and all learn once per epoch, in policy order. The run's counters
(global_step: every agent step of every policy; epoch; uptime) drive every policy's schedules alike.

Metrics: each policy's losses are logged as `policy<p>/loss/<name>` (`policy<p>/reward/...` for reward signals);
the env's statistics (env/*) come from the envs, shared by all. Checkpoints hold one entry per policy in
`policies` (weights, optimizers, schedule, statistics, recurrent state) and the shared counters, RNG and env state;
their top-level `model` and `optimizers` are policy 0's, so tools that read one policy (eval, --train.init-path)
take policy 0. model.pt is policy 0's weights, `model_policy<p>.pt` policy p's.

With N = 1 none of this runs: the session builds a plain Trainer, unchanged.
"""
import time
from collections import defaultdict

import numpy as np

from pufferlib.exceptions import APIUsageError, ConfigError
from pufferlib.runs import checkpoint
from pufferlib.trainer import PROFILE_NAMES, Trainer

MAPPINGS = ('team', 'env')
SHARED_ENTRIES = ('counters', 'rng', 'envs')  # one for the run, not one per policy


def model_file(index):
    """The file of policy `index`'s final weights in the run folder (policy 0's is model.pt)."""
    return checkpoint.MODEL_FILE if index == 0 else f'model_policy{index}.pt'


def games_of(vecenv):
    """Agent rows per game: an Ocean object holds num_envs games, each with the same number of rows."""
    driver = vecenv.driver_env
    return max(driver.num_agents // max(getattr(driver, 'num_envs', 1), 1), 1)


def policy_of_rows(num_agents, num_policies, mapping):
    """The policy of each agent row (see the module docstring)."""
    rows = np.arange(num_agents)
    if mapping == 'team':
        return rows % num_policies
    return rows * num_policies // num_agents


def check_layout(config, vecenv):
    """ConfigError unless `vecenv` can be split between the policies as configured."""
    t, name = config['train'], config['base']['env_name']
    count, mapping, rows = t['num_policies'], t['policy_mapping'], vecenv.num_agents
    if vecenv.batch_size != vecenv.num_envs:
        raise ConfigError(f'train.num_policies = {count} needs a synchronous vector: vec.batch_size = '
                          f'{vecenv.batch_size} must equal vec.num_envs = {vecenv.num_envs} (or auto)')
    if rows % count:
        raise ConfigError(f'train.num_policies = {count} must divide the {rows} agent rows of {name}; change '
                          'env.num_envs or vec.num_envs')
    per_game = games_of(vecenv)
    if mapping == 'env' and (rows // count) % per_game:
        raise ConfigError(f'train.policy_mapping = env would split a game of {name} ({per_game} agent rows) between '
                          f'two policies: the {rows} rows in {count} blocks must hold whole games; change env.num_envs '
                          'or vec.num_envs')
    if mapping == 'team' and per_game % count and count % per_game:
        raise ConfigError(f'train.policy_mapping = team gives agent row i to policy i % {count}, which does not '
                          f'follow the {per_game} agent rows of each game of {name}; use a num_policies that divides '
                          f'{per_game}, or policy_mapping = env')


def policy_config(config, share):
    """The config one policy's Trainer sees: the run's batch and minibatch sizes times its share of the rows."""
    t = config['train']
    sized = {section: dict(items) for section, items in config.items()}
    for key in ('batch_size', 'minibatch_size'):
        value = t[key] * share
        if value != int(value) or int(value) % t['bptt_horizon']:
            multiple = t['num_policies'] * t['bptt_horizon']
            raise ConfigError(f'train.{key} = {t[key]} split between train.num_policies = {t["num_policies"]} '
                              f'policies gives {value:g} each, which must be a whole multiple of train.bptt_horizon '
                              f'= {t["bptt_horizon"]}; use a {key} divisible by {multiple}')
        sized['train'][key] = int(value)
    return sized


class PolicyRows:
    """The vecenv as one policy's Trainer sees it: the env's spaces and that policy's number of agent rows. The
    MultiPolicyTrainer steps the real vecenv and hands the Trainer its rows (Trainer.collect_step)."""

    def __init__(self, vecenv, rows):
        self.driver_env = vecenv.driver_env
        self.single_observation_space = vecenv.single_observation_space
        self.single_action_space = vecenv.single_action_space
        self.has_action_masks = getattr(vecenv, 'has_action_masks', False)
        self.num_agents = rows

    def async_reset(self, seed=None):
        pass  # the MultiPolicyTrainer resets the real envs

    def snapshot(self):
        return None  # saved once, by the MultiPolicyTrainer

    def recv(self):
        raise APIUsageError('a policy of a multi-policy run receives its rows from its MultiPolicyTrainer')

    send = recv

    def close(self):
        pass


class MultiPolicyTrainer(Trainer):
    """The run's Trainer, as pufferlib.runs.session drives it, over `num_policies` Trainers (`learners`).

    It is a Trainer in its counters, budget, env statistics and metrics row (those methods are inherited and read
    only what is set here); collecting, learning and checkpoints are the learners', over their own rows."""

    def __init__(self, config, vecenv, policies, run_dir=None, dashboard=None):
        t = self.train_config = config['train']
        check_layout(config, vecenv)
        self.config, self.vecenv, self.run_dir, self.dashboard = config, vecenv, run_dir, dashboard
        self.sinks, self.last_checkpoint = [], None
        self.num_agents = vecenv.num_agents
        count = t['num_policies']
        if len(policies) != count:
            raise APIUsageError(f'{len(policies)} policies for train.num_policies = {count}')
        self.policy_of = policy_of_rows(self.num_agents, count, t['policy_mapping'])
        self.local_row = np.zeros(self.num_agents, np.int64)  # each row's index among its policy's rows
        self.rows = []
        for index in range(count):
            rows = np.flatnonzero(self.policy_of == index)
            self.local_row[rows] = np.arange(len(rows))
            self.rows.append(rows)
        sized = policy_config(config, 1 / count)
        self.learners = [Trainer(sized, PolicyRows(vecenv, len(rows)), policy, run_dir)
                         for rows, policy in zip(self.rows, policies)]
        first = self.learners[0]
        self.policy, self.optimizers, self.flat, self.device = first.policy, first.optimizers, first.flat, first.device
        self.has_action_masks = getattr(vecenv, 'has_action_masks', False)
        self.selfplay = self.imitation = None  # per policy: bc updates happen in each learner's learn
        self.recurrent = self.data_parallel = False
        self.global_step, self.epoch, self.uptime = 0, 0, 0.0
        self.adaptive_learning_rate = t['learning_rate']
        self.session_start, self.session_start_step = time.perf_counter(), 0
        self.profile = dict.fromkeys(PROFILE_NAMES, 0.0)
        self.stat_sums, self.stat_counts = defaultdict(float), defaultdict(int)
        self.latest_stats, self.latest_losses = {}, {}
        self.speed_mark = None
        self.pending = None

    # Collect ---------------------------------------------------------------------------------------------------

    def reset_envs(self, seed):
        self.vecenv.async_reset(seed)
        self.pending = None
        for learner in self.learners:
            learner.reset_envs(seed)  # their recurrent state; PolicyRows.async_reset leaves the envs alone

    def collect(self):
        """Step the envs until every policy's segments are full; each batch is split by rows between the policies,
        and the actions they return are sent together. All fill up on the same batch (their shares are equal), which
        is kept, not acted on, as in Trainer.collect."""
        rollouts = [learner.start_rollout() for learner in self.learners]
        while True:
            start = time.perf_counter()
            if self.pending is not None:
                (batch, action_mask), self.pending = self.pending, None
            else:
                batch = self.vecenv.recv()
                action_mask = self.vecenv.action_masks if self.has_action_masks else None
                self.add_stats(batch[4])
            self.profile['env'] += time.perf_counter() - start
            observations, rewards, terminals, truncations, _, agent_ids, masks = batch
            agent_ids = np.asarray(agent_ids)
            owners = self.policy_of[agent_ids]
            actions, full = None, 0
            for index, (learner, rollout) in enumerate(zip(self.learners, rollouts)):
                at = np.flatnonzero(owners == index)
                part = (observations[at], rewards[at], terminals[at], truncations[at], (),
                        self.local_row[agent_ids[at]], masks[at])
                sent = learner.collect_step(rollout, part, None if action_mask is None else action_mask[at])
                if sent is None:
                    full += 1
                    continue
                if actions is None:
                    actions = np.empty((len(agent_ids), *sent.shape[1:]), sent.dtype)
                actions[at] = sent
            if full:
                if full != len(self.learners):
                    raise APIUsageError('the policies filled their buffers on different steps; a multi-policy run '
                                        'needs every row stepped together (a synchronous vector)')
                self.pending = (batch, action_mask)
                return
            sending = time.perf_counter()
            self.vecenv.send(actions)
            self.global_step += len(actions)
            self.profile['env'] += time.perf_counter() - sending

    # Learn and log ---------------------------------------------------------------------------------------------

    def learn(self):
        """Each policy's PPO update on its own buffers, at the run's progress; losses named policy<p>/..."""
        losses = {}
        for index, learner in enumerate(self.learners):
            learner.global_step, learner.epoch = self.global_step, self.epoch
            learner.uptime, learner.session_start = self.uptime, self.session_start
            for name, value in learner.learn().items():
                losses[f'policy{index}/' + (name if '/' in name else f'loss/{name}')] = value
        self.epoch += 1
        return losses

    def log(self, losses):
        for learner in self.learners:
            for name in PROFILE_NAMES:
                self.profile[name] += learner.profile[name]
                learner.profile[name] = 0.0
        return super().log(losses)

    # Checkpoints -----------------------------------------------------------------------------------------------

    def state_dict(self):
        """Policy 0's entries at the top (for tools that read one policy), every policy's in `policies`, and the
        run's counters, RNG and env state once."""
        entries = []
        for learner in self.learners:
            learner.global_step, learner.epoch = self.global_step, self.epoch
            learner.uptime, learner.session_start = self.uptime, self.session_start
            entries.append(learner.state_dict())
        state = dict(entries[0])
        state.update(counters=dict(epoch=self.epoch, global_step=self.global_step, uptime=self.total_uptime()),
                     envs=checkpoint.arrays_to_tensors(self.vecenv.snapshot()),
                     policies=[{key: value for key, value in entry.items() if key not in SHARED_ENTRIES}
                               for entry in entries])
        return state

    def load_state_dict(self, state, path='the checkpoint'):
        policies = state.get('policies')
        if not isinstance(policies, list) or len(policies) != len(self.learners) or not all(
                isinstance(entry, dict) for entry in policies):
            found = len(policies) if isinstance(policies, list) else 'no'
            raise checkpoint.CheckpointError(f'{path} holds {found} policy entries; this run trains '
                                             f'train.num_policies = {len(self.learners)}')
        for learner, entry in zip(self.learners, policies):
            learner.load_state_dict({**entry, 'counters': state['counters'], 'rng': state['rng'], 'envs': None}, path)
        counters = state['counters']
        self.epoch, self.global_step, self.uptime = counters['epoch'], counters['global_step'], counters['uptime']
        self.session_start_step, self.session_start = self.global_step, time.perf_counter()
        self.load_envs(state, path)

    def load_recurrent_state(self, state, path):
        """Called by load_envs once the envs are restored: each policy's rows' recurrent state."""
        for learner, entry in zip(self.learners, state['policies']):
            learner.pending = None
            learner.load_recurrent_state(entry, path)

    def model_weights(self):
        return self.policy.state_dict()

    def all_model_weights(self):
        """Every policy's weights, policy 0 first (see model_file)."""
        return [learner.policy.state_dict() for learner in self.learners]


def make(config, vecenv, policy, make_policy, run_dir=None, dashboard=None):
    """The run's trainer: `policy` is policy 0; `make_policy()` builds each other one (after it, in order)."""
    count = config['train']['num_policies']
    policies = [policy] + [make_policy() for _ in range(count - 1)]
    return MultiPolicyTrainer(config, vecenv, policies, run_dir, dashboard)
