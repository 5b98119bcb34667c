"""The vectorized environment contract (docs/architecture.md §3.1): a PufferEnv owns `num_agents` rows of flat buffers.

Ocean (C) envs, emulated Gymnasium/PettingZoo envs and the vectorization backends all speak this contract, so the
trainer never needs to know which one it holds. Buffers may be handed in by the caller (e.g. views into shared
memory); the env then writes observations, rewards, terminals and truncations in place: zero copies.
"""
from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from pufferlib.exceptions import APIUsageError, PufferError

class MixedSpace(spaces.Space):
    """Discrete and continuous actions in one float32 row (docs/policies.md): the index of every categorical
    dimension (`discrete`, a MultiDiscrete), then the values of `box`. Emulation builds it from a Dict / Tuple
    action space of Discrete, MultiDiscrete, MultiBinary and Box parts; the policy gets one head per kind."""

    def __init__(self, nvec, low, high, seed=None):
        self.discrete = spaces.MultiDiscrete(np.asarray(nvec).reshape(-1))
        self.box = spaces.Box(np.asarray(low, np.float32).reshape(-1), np.asarray(high, np.float32).reshape(-1),
                              dtype=np.float32)
        self.num_discrete = len(self.discrete.nvec)
        super().__init__((self.num_discrete + self.box.shape[0],), np.float32, seed)

    def seed(self, seed=None):
        return [self.discrete.seed(seed), self.box.seed(None if seed is None else seed + 1)]

    def sample(self, mask=None):
        return np.concatenate([self.discrete.sample(mask).astype(np.float32), self.box.sample()])

    def contains(self, x):
        x = np.asarray(x)
        return (x.shape == self.shape and self.discrete.contains(x[:self.num_discrete].astype(np.int64))
                and bool(np.all(x[:self.num_discrete] == np.round(x[:self.num_discrete])))
                and self.box.contains(x[self.num_discrete:].astype(np.float32)))

    def __repr__(self):
        return f'MixedSpace(discrete={self.discrete.nvec.tolist()}, box={self.box})'

    def __eq__(self, other):
        return isinstance(other, MixedSpace) and self.discrete == other.discrete and self.box == other.box


ACTION_SPACES = (spaces.Discrete, spaces.MultiDiscrete, spaces.Box, MixedSpace)


class EnvOutputError(PufferError, ValueError):
    """An env returned what its spaces do not allow: an observation out of bounds, of the wrong shape or dtype,
    NaN, or a non-finite reward. Raised by the checks that `[vec] check_spaces` turns on."""


@dataclass
class Buffers:
    """The shared rows one env (or a slice of a vector) reads from and writes to."""
    observations: np.ndarray  # [num_agents, *obs_shape], dtype of the observation space
    actions: np.ndarray       # [num_agents] int32 (Discrete), [num_agents, k] int32 (MultiDiscrete), float32 (Box)
    rewards: np.ndarray       # [num_agents] float32
    terminals: np.ndarray     # [num_agents] bool
    truncations: np.ndarray   # [num_agents] bool
    masks: np.ndarray         # [num_agents] bool, True while the agent is alive
    # [num_agents, action_mask_size] bool, True where an action is legal; None unless the env declares
    # `has_action_masks` (docs/policies.md)
    action_masks: np.ndarray = None

    def rows(self, start, stop):
        """Views of rows [start, stop): how a vector hands each sub-env its part of one big buffer."""
        return Buffers(*(getattr(self, name)[start:stop] for name in BUFFER_NAMES),
                       action_masks=None if self.action_masks is None else self.action_masks[start:stop])


BUFFER_NAMES = ('observations', 'actions', 'rewards', 'terminals', 'truncations', 'masks')


def action_mask_size(action_space):
    """Columns of one agent's legal-action mask: one per choice of every categorical dimension, in order
    (Discrete n: n; MultiDiscrete: sum(nvec)). Box actions have no choices to mask."""
    if isinstance(action_space, spaces.Discrete):
        return int(action_space.n)
    if isinstance(action_space, spaces.MultiDiscrete):
        return int(action_space.nvec.sum())
    if isinstance(action_space, MixedSpace):  # the choices of its discrete part; its Box values are not masked
        return int(action_space.discrete.nvec.sum())
    raise APIUsageError(f'action masks need Discrete or MultiDiscrete actions, got {action_space}: a Box action '
                        'has no choices to mask')


def action_layout(action_space):
    """(shape, dtype) of one agent's action row."""
    if isinstance(action_space, spaces.Discrete):
        return (), np.int32
    if isinstance(action_space, spaces.MultiDiscrete):
        return action_space.shape, np.int32
    if isinstance(action_space, (spaces.Box, MixedSpace)):
        return action_space.shape, np.float32
    raise APIUsageError(f'single_action_space must be one of Discrete, MultiDiscrete, Box; got {action_space}. '
                        'Wrap structured action spaces with pufferlib.envs.emulation.')


def allocate_buffers(observation_space, action_space, num_agents, allocator=np.zeros, action_masks=False):
    """Fresh buffers for `num_agents` rows. `allocator(shape, dtype)` lets callers place them (e.g. shared memory).
    `action_masks`: also a legal-action mask buffer, every action legal until the env writes it."""
    act_shape, act_dtype = action_layout(action_space)
    buffers = Buffers(
        observations=allocator((num_agents, *observation_space.shape), observation_space.dtype),
        actions=allocator((num_agents, *act_shape), act_dtype),
        rewards=allocator((num_agents,), np.float32),
        terminals=allocator((num_agents,), np.bool_),
        truncations=allocator((num_agents,), np.bool_),
        masks=allocator((num_agents,), np.bool_),
    )
    buffers.masks[:] = True
    if action_masks:
        buffers.action_masks = allocator((num_agents, action_mask_size(action_space)), np.bool_)
        buffers.action_masks[:] = True
    return buffers


def check_buffers(buffers, observation_space, action_space, num_agents, action_masks=False):
    """Raise APIUsageError naming the first buffer whose shape or dtype does not match the spaces."""
    act_shape, act_dtype = action_layout(action_space)
    expected = {
        'observations': ((num_agents, *observation_space.shape), observation_space.dtype),
        'actions': ((num_agents, *act_shape), np.dtype(act_dtype)),
        'rewards': ((num_agents,), np.dtype(np.float32)),
        'terminals': ((num_agents,), np.dtype(np.bool_)),
        'truncations': ((num_agents,), np.dtype(np.bool_)),
        'masks': ((num_agents,), np.dtype(np.bool_)),
    }
    if action_masks and buffers.action_masks is not None:
        expected['action_masks'] = ((num_agents, action_mask_size(action_space)), np.dtype(np.bool_))
    for name, (shape, dtype) in expected.items():
        array = getattr(buffers, name)
        if array.shape != tuple(shape) or array.dtype != dtype:
            raise APIUsageError(f'buffer {name} has shape {array.shape} dtype {array.dtype}; '
                                f'expected shape {tuple(shape)} dtype {dtype}')
        if not array.flags.c_contiguous:
            raise APIUsageError(f'buffer {name} must be C-contiguous (pass a contiguous slice of rows)')


class PufferEnv:
    """Base class of every environment pufferlib trains on.

    Subclasses set `single_observation_space` (a Box), `single_action_space` (Discrete, MultiDiscrete or Box) and
    `num_agents` before calling `super().__init__(buf)`, then implement `reset` and `step`, which write into
    `self.observations`, `self.rewards`, ... in place and return those same arrays.

    `step` returns (observations, rewards, terminals, truncations, infos); `infos` is a list of dicts of episode
    statistics (means over the episodes that finished since the last report: `score`, `episode_return`,
    `episode_length`, env-specific keys), empty when none finished.

    An env whose actions are not all legal in every state sets `has_action_masks = True` (Discrete or
    MultiDiscrete actions only): it then owns `action_masks` [num_agents, action_mask_size], True where an action
    is legal, which it writes on reset and after every step; policies never sample an action masked out there
    (docs/policies.md). A row with no legal action at all (an absent agent) counts as all legal.
    """

    single_observation_space = None
    single_action_space = None
    num_agents = 1
    render_mode = None
    has_action_masks = False

    def __init__(self, buf=None):
        if not isinstance(self.single_observation_space, spaces.Box):
            raise APIUsageError(f'{type(self).__name__}.single_observation_space must be a gymnasium Box, got '
                                f'{self.single_observation_space!r}; wrap structured spaces with '
                                'pufferlib.envs.emulation')
        if buf is None:
            buf = allocate_buffers(self.single_observation_space, self.single_action_space, self.num_agents,
                                   action_masks=self.has_action_masks)
        else:
            check_buffers(buf, self.single_observation_space, self.single_action_space, self.num_agents,
                          self.has_action_masks)
        self.buffers = buf
        self.observations = buf.observations
        self.actions = buf.actions
        self.rewards = buf.rewards
        self.terminals = buf.terminals
        self.truncations = buf.truncations
        self.masks = buf.masks
        self.action_masks = None
        if self.has_action_masks:  # buffers from a caller that knows nothing of masks: the env keeps its own
            self.action_masks = buf.action_masks if buf.action_masks is not None else np.ones(
                (self.num_agents, action_mask_size(self.single_action_space)), np.bool_)
        self.agent_ids = np.arange(self.num_agents)

    @property
    def observation_space(self):
        return spaces.Box(low=np.broadcast_to(self.single_observation_space.low,
                                              (self.num_agents, *self.single_observation_space.shape)),
                          high=np.broadcast_to(self.single_observation_space.high,
                                               (self.num_agents, *self.single_observation_space.shape)),
                          dtype=self.single_observation_space.dtype)

    @property
    def action_space(self):
        return batch_action_space(self.single_action_space, self.num_agents)

    def reset(self, seed=None):
        raise NotImplementedError

    def step(self, actions):
        raise NotImplementedError

    def render(self):
        """An RGB uint8 frame [H, W, 3] of the first env, or None if the env cannot draw."""
        return None

    def render_text(self):
        """A text picture of the first env."""
        return ''

    def close(self):
        pass


def batch_action_space(single_action_space, n):
    """The joint action space of n agents, used to sample random actions."""
    if isinstance(single_action_space, spaces.Discrete):
        return spaces.MultiDiscrete([single_action_space.n] * n, start=[single_action_space.start] * n)
    if isinstance(single_action_space, spaces.MultiDiscrete):
        return spaces.MultiDiscrete(np.tile(single_action_space.nvec, (n, 1)))
    if isinstance(single_action_space, spaces.Box):
        return spaces.Box(low=np.broadcast_to(single_action_space.low, (n, *single_action_space.shape)),
                          high=np.broadcast_to(single_action_space.high, (n, *single_action_space.shape)),
                          dtype=single_action_space.dtype)
    if isinstance(single_action_space, MixedSpace):  # sample() gives the [n, row] array
        return spaces.Tuple([single_action_space] * n)
    raise APIUsageError(f'unsupported action space {single_action_space}')
