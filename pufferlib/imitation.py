"""Behavioural cloning from recorded demonstrations ([bc], docs/rewards.md), as ML-Agents' behavioral_cloning.

The loss is the negative log-likelihood of the demonstrated actions under the policy (cross-entropy for discrete
actions, the Gaussian's for Box), minimized by its own Adam on the policy's weights:

    pretraining   bc.pretrain_steps gradient steps on the demonstrations alone before the first epoch
    auxiliary     after each epoch's PPO update, bc.num_epoch passes over bc.samples_per_update demonstration steps in
                  batches of bc.batch_size, the loss weighted by bc.strength, annealed linearly to 0 over the first
                  bc.steps agent steps (0: constant)

Recurrent policies learn on windows of train.bptt_horizon consecutive demonstration steps from a zero state, their
state reset where a demonstrated episode ended, as the PPO update replays its segments.
"""
import numpy as np
import torch

from pufferlib import demos as demo_files
from pufferlib.exceptions import ConfigError


class BehavioralCloning:
    def __init__(self, policy, recorded, strength=1.0, steps=0, batch_size=512, num_epoch=3, samples_per_update=0,
                 learning_rate=3e-4, max_grad_norm=1.5, horizon=1, seed=0, device='cpu'):
        self.policy = policy
        self.strength, self.steps = float(strength), int(steps)
        self.batch_size, self.num_epoch = int(batch_size), int(num_epoch)
        self.samples_per_update = int(samples_per_update)
        self.max_grad_norm = float(max_grad_norm)
        self.device = torch.device(device)
        self.recurrent = bool(getattr(policy, 'is_recurrent', False))
        self.horizon = max(1, min(int(horizon), len(recorded))) if self.recurrent else 1
        self.observations = torch.from_numpy(np.ascontiguousarray(recorded.observations))
        self.actions = torch.from_numpy(np.ascontiguousarray(recorded.actions))
        done = torch.from_numpy(recorded.dones.astype(np.float32))
        self.starts = torch.cat([torch.ones(1), done[:-1]])  # step t starts an episode when t - 1 ended one
        self.optimizer = torch.optim.Adam(policy.parameters(), lr=learning_rate)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.samples = len(recorded) - self.horizon + 1  # where a sample (a step, or a window) can start

    def strength_at(self, global_step):
        if self.steps == 0:
            return self.strength
        return self.strength * max(0.0, 1.0 - global_step / self.steps)

    def loss(self, first):
        """Mean negative log-likelihood of the demonstrated actions of the samples starting at `first` [B]."""
        index = (first.unsqueeze(1) + torch.arange(self.horizon)).reshape(-1)
        observations = self.observations[index].to(self.device)
        actions = self.actions[index].to(self.device)
        if self.recurrent:
            rows = len(first)
            state = self.policy.initial_state(rows, self.device)
            starts = self.starts[index].view(rows, self.horizon).to(self.device)
            params, _ = self.policy.forward_sequence(observations.view(rows, self.horizon, *observations.shape[1:]),
                                                     state, starts)
        else:
            params, _ = self.policy.forward(observations)
        logprob, _ = self.policy.action_head.logprob_entropy(params, actions.reshape(len(index), *actions.shape[1:]))
        return -logprob.float().mean()

    def step(self, first, strength, zero_grad):
        loss = self.loss(first)
        (strength * loss).backward()
        torch.nn.utils.clip_grad_norm_(list(self.policy.parameters()), self.max_grad_norm)
        self.optimizer.step()
        zero_grad()
        return loss.item()

    def update(self, global_step, learning_rate, zero_grad):
        """The auxiliary BC update after an epoch; returns bc_loss (mean over its batches) and bc_strength."""
        strength = self.strength_at(global_step)
        if strength == 0:
            return dict(bc_strength=0.0)
        for group in self.optimizer.param_groups:
            group['lr'] = learning_rate
        count = self.samples_per_update or self.samples
        losses = []
        for _ in range(self.num_epoch):
            drawn = torch.randint(self.samples, (count,), generator=self.generator) if self.samples_per_update else \
                torch.randperm(self.samples, generator=self.generator)
            for start in range(0, count, self.batch_size):
                losses.append(self.step(drawn[start:start + self.batch_size], strength, zero_grad))
        return dict(bc_loss=float(np.mean(losses)), bc_strength=strength)

    def pretrain(self, steps, zero_grad):
        """`steps` gradient steps of BC alone; returns the first and last batch's loss."""
        losses = [self.step(torch.randint(self.samples, (self.batch_size,), generator=self.generator), 1.0, zero_grad)
                  for _ in range(steps)]
        return losses[0], losses[-1]

    def state_dict(self):
        return dict(optimizer=self.optimizer.state_dict(), generator=self.generator.get_state())

    def load_state_dict(self, state):
        self.optimizer.load_state_dict(state['optimizer'])
        self.generator.set_state(state['generator'])


def make(config, policy, observation_space, action_space, device):
    """The [bc] section's BehavioralCloning, or None when bc.demo_path is None."""
    bc, train = config.get('bc', {}), config['train']
    if bc.get('demo_path') is None:
        return None
    if train.get('world_size', 1) > 1:  # each rank would step its own copy of the weights apart from the others
        raise ConfigError(f'bc.demo_path = {bc["demo_path"]} with train.world_size = {train["world_size"]}: '
                          'behavioural cloning runs in one process only; set train.world_size = 1')
    recorded = demo_files.load_for_config(bc['demo_path'], 'bc.demo_path', observation_space, action_space)
    return BehavioralCloning(policy, recorded, bc['strength'], bc['steps'], bc['batch_size'], bc['num_epoch'],
                             bc['samples_per_update'], train['learning_rate'], train['max_grad_norm'],
                             train['bptt_horizon'], train['seed'], device)
