"""The Actor (docs/architecture.md §5): observations -> env actions, the one place training, `puffer eval` and
`puffer export` turn a policy's outputs into what an env steps with.

    actor = Actor(policy, env.single_action_space, device, deterministic=False)
    state = actor.initial_state(rows)                      # None for a feed-forward policy
    actions, logprob, value, state = actor.act(observations, state, done)
    env.actions[:] = actor.to_env(actions)                 # numpy, the env's dtype, Box actions clipped

`act` zeroes the recurrent state of the rows whose episode just ended (`done`), steps the policy, and takes the
sampled actions (Gumbel-max or Gaussian noise, drawn outside with `head.noise` when it is to be compiled) or, with
`deterministic`, the most likely ones. With `action_mask` (the env's legal-action rows, docs/policies.md), both are
drawn from the legal actions only, and the log-probabilities are those of the renormalized distribution.
`forward` is the bare step (action parameters, value, state) that the ONNX graph holds.
"""
import numpy as np
import torch
from gymnasium import spaces

from pufferlib import models
from pufferlib.envs.contract import MixedSpace
from pufferlib.exceptions import APIUsageError


class Actor:
    def __init__(self, policy, action_space, device='cpu', deterministic=False, dtype=None, compile=None):
        """`dtype`: the env's action dtype (default: float32 for Box, int32 otherwise, as the vectors hold them).
        `compile`: wraps the sampling step (the trainer passes torch.compile); it must draw no random numbers, so
        the noise comes in through `act`."""
        self.policy = policy
        self.head = policy.action_head
        self.recurrent = policy.is_recurrent
        self.device = torch.device(device)
        self.deterministic = deterministic
        box = isinstance(action_space, spaces.Box)
        mixed = isinstance(action_space, MixedSpace)  # discrete indices, then Box values (docs/policies.md)
        self.bounds = (action_space.low, action_space.high) if box else None
        self.mixed_bounds = (action_space.num_discrete, action_space.box.low, action_space.box.high) if mixed else None
        self.dtype = np.dtype(dtype if dtype is not None else np.float32 if box or mixed else np.int32)
        self.sample_step = self.sample if compile is None else compile(self.sample)

    def initial_state(self, rows):
        """Zero recurrent state for `rows` agent rows; None for a feed-forward policy."""
        return self.policy.initial_state(rows, self.device) if self.recurrent else None

    @staticmethod
    def reset_finished(state, done):
        """`state` with the rows whose episode just ended zeroed: a finished episode's successor starts from 0."""
        keep = (~done).unsqueeze(1).to(state[0].dtype)
        return tuple(tensor * keep for tensor in state)

    def forward(self, observations, state=None):
        """One policy step: (action parameters, value, new state); the state stays None without recurrence."""
        if self.recurrent:
            return self.policy.forward_step(observations, state)
        params, value = self.policy.forward(observations)
        return params, value, state

    def sample(self, observations, noise, state=None, action_mask=None):
        """Sampled actions with their log-probabilities, and the value and new state. One function, so that
        compiling it fuses the sampling's small ops as well."""
        params, value, state = self.forward(observations, state)
        if action_mask is None:
            actions, logprob = self.head.sample(params, noise)
        else:
            actions, logprob = self.head.sample(params, noise, action_mask)
        return actions, logprob, value, state

    def greedy(self, observations, state=None, action_mask=None):
        """The most likely actions (see greedy_actions) with their log-probabilities, and the value and new state."""
        params, value, state = self.forward(observations, state)
        if action_mask is None:
            actions = greedy_actions(self.head, params)
            logprob, _ = self.head.logprob_entropy(params, actions)
        else:
            actions = self.head.greedy(params, action_mask)
            logprob, _ = self.head.logprob_entropy(params, actions, action_mask)
        return actions, logprob, value, state

    @torch.inference_mode()
    def act(self, observations, state=None, done=None, noise=None, action_mask=None):
        """(actions, logprob, value, new state) for a batch of agent rows. `done` (bool per row): the rows whose
        episode ended with this observation, whose state restarts from zeros. `noise` (from head.noise): the
        sampling's randomness; None draws it here. `action_mask` ([rows, action_mask_size] bool, True = legal; the
        env's `action_masks`): only legal actions are taken; None: every action is."""
        observations = torch.as_tensor(observations, device=self.device)
        if action_mask is not None:
            if not hasattr(self.head, 'legal'):
                raise APIUsageError(f'an action mask was given, but {type(self.head).__name__} actions cannot be '
                                    'masked (only Discrete and MultiDiscrete choices can)')
            action_mask = torch.as_tensor(action_mask, device=self.device)
        if self.recurrent and done is not None:
            state = self.reset_finished(state, torch.as_tensor(done, device=self.device))
        if self.deterministic:
            return self.greedy(observations, state, action_mask)
        if action_mask is None:
            return self.sample_step(observations, noise, state)
        return self.sample_step(observations, noise, state, action_mask)

    def to_env(self, actions):
        """Actions as the numpy array the env steps with: its dtype, Box actions clipped into their bounds."""
        actions = actions.cpu().numpy()
        if self.bounds is not None:
            return np.clip(actions, *self.bounds).astype(self.dtype)
        if self.mixed_bounds is not None:
            start, low, high = self.mixed_bounds
            actions = actions.astype(self.dtype)  # a copy
            actions[:, start:] = np.clip(actions[:, start:], low, high)
            return actions
        return actions.astype(self.dtype, copy=False)


def greedy_actions(head, params):
    """The most likely action: each action head knows its own mode (the argmax of each categorical dimension, the
    Gaussian mean, squashed into the Box with tanh_squash)."""
    return head.greedy(params).float() if isinstance(head, models.GaussianHead) else head.greedy(params)
