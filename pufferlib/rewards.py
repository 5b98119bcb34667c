"""Reward signals (docs/rewards.md): one class per signal behind one small interface, as ML-Agents' reward providers.

    reward(observations)          the signal's reward for a batch of observations [N, *obs_shape] -> [N]
    update(observations, valid)   learn from one epoch's observations; returns statistics to log
    state_dict / load_state_dict  everything a resumed run needs (networks, optimizers, normalizers)

Each signal is configured by its own [reward.<name>] section: `strength` (0: off) and `gamma`, the discount of its
own advantage. The env's reward is the `extrinsic` signal; intrinsic signals (RND) also carry the value network that
estimates their returns (`value`, `train_value`), so the policy and its value head stay exactly as they are.
"""
import numpy as np
import torch
from torch import nn

from pufferlib.normalize import RunningMeanStd

NAMES = ('extrinsic', 'rnd')
OBS_CLIP = 5.0  # Burda et al. 2018 clip normalized observations to [-5, 5]


def mlp(inputs, hidden, outputs, layers=2):
    sizes = [inputs] + [hidden] * layers
    modules = []
    for a, b in zip(sizes, sizes[1:]):
        modules += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*modules, nn.Linear(sizes[-1], outputs))


def flat_features(observations):
    """[N, *obs_shape] of any dtype -> [N, features] float32 (structured observations count as their raw bytes)."""
    return observations.reshape(len(observations), -1).float()


class Extrinsic:
    """The env's own reward, times `strength`; its advantage is the trainer's usual one, with `gamma`."""
    name = 'extrinsic'

    def __init__(self, strength=1.0, gamma=0.99):
        self.strength, self.gamma = float(strength), float(gamma)

    def reward(self, rewards):
        return rewards * np.float32(self.strength) if self.strength != 1.0 else rewards

    def update(self, observations, valid=None):
        return {}

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class RND:
    """Random Network Distillation (Burda et al. 2018, arXiv:1810.12894).

    A fixed, randomly initialized target network f and a predictor f^ trained to match it on the observations seen;
    the intrinsic reward of o is the prediction error ||f^(o) - f(o)||^2, high on observations seen rarely. Inputs
    are normalized by running statistics and clipped to [-5, 5]; rewards are divided by the running std of the
    intrinsic returns (a discounted sum carried per segment row across epochs, never reset: RND is non-episodic).
    `value` is a separate MLP critic of the intrinsic return, trained by the trainer with `train_value`."""
    name = 'rnd'

    def __init__(self, observation_shape, strength=0.01, gamma=0.99, hidden_size=64, output_size=64,
                 learning_rate=1e-3, device='cpu'):
        self.strength, self.gamma = float(strength), float(gamma)
        features = 1
        for size in observation_shape:
            features *= int(size)
        self.obs_stats = RunningMeanStd((features,), clip=OBS_CLIP)
        self.return_stats = RunningMeanStd()
        self.target = mlp(features, hidden_size, output_size)
        self.predictor = mlp(features, hidden_size, output_size)
        self.critic = mlp(features, hidden_size, 1)
        for parameter in self.target.parameters():
            parameter.requires_grad_(False)
        self.networks = nn.ModuleDict(dict(obs_stats=self.obs_stats, return_stats=self.return_stats,
                                           target=self.target, predictor=self.predictor, critic=self.critic))
        self.networks.to(device)
        self.optimizer = torch.optim.Adam(self.predictor.parameters(), lr=learning_rate)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=learning_rate)
        self.forward_return = None  # [rows]: the running discounted intrinsic return per segment row

    def inputs(self, observations):
        return self.obs_stats(flat_features(observations).to(self.obs_stats.mean.device))

    def errors(self, observations):
        inputs = self.inputs(observations)
        return (self.predictor(inputs) - self.target(inputs)).pow(2).mean(-1)

    @torch.no_grad()
    def reward(self, observations):
        """Raw prediction error of each observation [N, *obs_shape] -> [N] (not yet normalized)."""
        if self.obs_stats.count == 0:  # the first batch sets the scale (Burda et al. warm it up the same way)
            self.obs_stats.update(flat_features(observations))
        return self.errors(observations)

    @torch.no_grad()
    def normalize(self, rewards, valid):
        """Rollout rewards [rows, horizon] divided by the running std of their discounted returns."""
        rows, horizon = rewards.shape
        if self.forward_return is None or self.forward_return.shape[0] != rows:
            self.forward_return = torch.zeros(rows, device=rewards.device)
        returns = torch.empty_like(rewards)
        for step in range(horizon):
            self.forward_return = self.forward_return * self.gamma + rewards[:, step] * valid[:, step]
            returns[:, step] = self.forward_return
        self.return_stats.update(returns.reshape(-1), valid.reshape(-1))
        return rewards / self.return_stats.std().float()

    def update(self, observations, valid=None, minibatch=4096):
        """Fold the epoch's observations into the input statistics, then one pass of predictor training over them."""
        flat = flat_features(observations)
        if valid is not None:
            flat = flat[valid.reshape(-1).to(flat.device) > 0]
        self.obs_stats.update(flat)
        total = 0.0
        for start in range(0, len(flat), minibatch):
            loss = self.errors(flat[start:start + minibatch]).mean()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(flat[start:start + minibatch])
        return {'rnd_predictor_loss': total / max(len(flat), 1)}

    def value(self, observations):
        """The critic's estimate of the intrinsic return of each observation [N, *obs_shape] -> [N]."""
        return self.critic(self.inputs(observations)).squeeze(-1)

    def train_value(self, observations, returns, valid):
        """One Adam step of the critic on 0.5 (V - R)^2 over the valid steps; returns the loss."""
        error = 0.5 * (self.value(observations) - returns.reshape(-1)).pow(2)
        weights = valid.reshape(-1)
        loss = (error * weights).sum() / weights.sum().clamp(min=1)
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_optimizer.step()
        return loss.detach()

    def state_dict(self):
        return dict(networks=self.networks.state_dict(), optimizer=self.optimizer.state_dict(),
                    critic_optimizer=self.critic_optimizer.state_dict(),
                    forward_return=None if self.forward_return is None else self.forward_return.cpu())

    def load_state_dict(self, state):
        self.networks.load_state_dict(state['networks'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.critic_optimizer.load_state_dict(state['critic_optimizer'])
        saved = state.get('forward_return')
        self.forward_return = None if saved is None else saved.to(self.obs_stats.mean.device)


def make_signals(config, observation_shape, device):
    """(extrinsic, [intrinsic signals with strength > 0]) from a config's [reward.*] sections."""
    train = config['train']
    extrinsic_config = config.get('reward.extrinsic', {})
    gamma = extrinsic_config.get('gamma', 'auto')
    extrinsic = Extrinsic(extrinsic_config.get('strength', 1.0), train['gamma'] if gamma == 'auto' else gamma)
    intrinsic = []
    rnd = config.get('reward.rnd', {})
    if rnd.get('strength', 0.0) > 0:
        intrinsic.append(RND(observation_shape, rnd['strength'], rnd['gamma'], rnd['hidden_size'],
                             rnd['output_size'], rnd['learning_rate'], device))
    return extrinsic, intrinsic
