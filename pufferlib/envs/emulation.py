"""Emulation: any Gymnasium env or PettingZoo parallel env becomes a PufferEnv over flat buffers
(docs/architecture.md §3.3).

Observations of any space (Box, Discrete, MultiDiscrete, MultiBinary, Dict, Tuple, nested) are written into one
flat row per agent; a policy turns a batch of rows back into the structured observation with `unflatten`.
Structured action spaces become one MultiDiscrete (or one Box when every part is a Box). A multi-agent env gets one
row per possible agent, and `masks` says which agents took part in the last step.

Legal-action masks (docs/policies.md) come in two conventions: PettingZoo classic's Dict observation
{'observation': ..., 'action_mask': ...} (found by its key: the mask is taken out, the policy sees the rest) and
Gymnasium's `info['action_mask']` (GymnasiumPufferEnv(env, action_masks=True)). A mask is one 0/1 (or bool) entry
per choice of the action space, in order: Discrete n: n entries; MultiDiscrete: sum(nvec), or one array per
dimension. PettingZoo classic games are turn-based AEC envs: TurnBasedParallelEnv steps them as parallel ones.

The flat row has one dtype when every part fits in it without loss (e.g. MiniGrid's uint8 image and its Discrete(4)
direction both fit in uint8); otherwise the parts are packed as raw bytes, each aligned to its own item size so a
policy can view them in place.
"""
import warnings
import weakref
from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from pufferlib.envs.contract import EnvOutputError, MixedSpace, PufferEnv, action_mask_size
from pufferlib.exceptions import APIUsageError

DISCRETE_SPACES = (spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


@dataclass(frozen=True)
class Leaf:
    """One fixed-size part of a structured space and where it lives in the flat row."""
    path: tuple         # Dict keys / Tuple indices from the root space down to this part
    space: spaces.Space
    shape: tuple        # shape of the part's value
    dtype: np.dtype     # dtype of the part's value as the env produces it
    start: int          # [start, stop) in the flat row: elements of the row dtype, or bytes when packed
    stop: int


@dataclass(frozen=True)
class Layout:
    """How a structured space maps onto the flat Box a PufferEnv exposes."""
    space: spaces.Space
    leaves: tuple
    box: spaces.Box     # the flat space; `space` itself when that is already a Box
    packed: bool        # parts of different dtypes stored as raw bytes

    def row_views(self, row):
        """(path, view) per leaf: numpy views into one agent's flat row, shaped like the leaf's values."""
        if self.box is self.space:
            return [((), row)]
        views = []
        for leaf in self.leaves:
            part = row[leaf.start:leaf.stop]
            views.append((leaf.path, (part.view(leaf.dtype) if self.packed else part).reshape(leaf.shape)))
        return views

    def stored_dtype(self, leaf):
        """The dtype a leaf's values are stored in: the row's dtype, or the leaf's own when packed."""
        return leaf.dtype if self.packed else self.box.dtype

    def stored_parts(self, flat):
        """(leaf, values, low, high) per part of a batch of flat rows [..., row] (numpy): the values as stored
        (views shaped [..., *leaf.shape]) and the bounds that the part's space allows, for checking what an env
        wrote. A Box that is not flattened is one part: the whole row."""
        if self.box is self.space:
            yield self.leaves[0], flat, self.box.low, self.box.high
            return
        batch_shape = flat.shape[:-1]
        for leaf in self.leaves:
            part = flat[..., leaf.start:leaf.stop]
            if self.packed:
                part = part.view(leaf.dtype)
                low, high = (np.broadcast_to(bound, leaf.shape) for bound in _value_range(leaf.space))
            else:
                low, high = (bound[leaf.start:leaf.stop].reshape(leaf.shape) for bound in (self.box.low, self.box.high))
            yield leaf, part.reshape(*batch_shape, *leaf.shape), low, high


def part_name(path, index=()):
    """How an error names a part of an observation: "key 'image' at [3, 2, 1]", "key 1/'position'", "element
    [4]" (a plain Box has no keys)."""
    where = f' at {list(map(int, index))}' if len(index) else ''
    if not path:
        return f'element {list(map(int, index))}' if len(index) else 'the observation'
    return 'key ' + '/'.join(repr(key) for key in path) + where


def _leaves(space, path=()):
    if isinstance(space, spaces.Dict):
        for key, subspace in space.spaces.items():
            yield from _leaves(subspace, path + (key,))
    elif isinstance(space, spaces.Tuple):
        for index, subspace in enumerate(space.spaces):
            yield from _leaves(subspace, path + (index,))
    else:
        yield path, space


def _value_range(space):
    """(low, high) arrays of the values a fixed-size leaf can take, or None if the leaf has no fixed size."""
    if isinstance(space, spaces.Box):
        return space.low, space.high
    if isinstance(space, spaces.Discrete):
        return np.array(space.start), np.array(space.start + space.n - 1)
    if isinstance(space, spaces.MultiDiscrete):
        return space.start, space.start + space.nvec - 1
    if isinstance(space, spaces.MultiBinary):
        return np.zeros(space.shape, np.int8), np.ones(space.shape, np.int8)
    return None


def _storage_dtype(space, low, high):
    """Smallest dtype that holds every value of the leaf: a Box keeps its dtype, integer spaces shrink to fit."""
    if isinstance(space, spaces.Box):
        return space.dtype
    return np.promote_types(np.min_scalar_type(low.min()), np.min_scalar_type(high.max()))


def _exact_in(dtype, low, high):
    """Whether every integer between the bounds low..high is exact in dtype (a float holds them up to
    2**(nmant+1))."""
    if dtype.kind != 'f':
        return True
    limit = 2.0 ** (np.finfo(dtype).nmant + 1)
    bounds = np.concatenate([np.ravel(low), np.ravel(high)]).astype(np.float64)
    return bool(np.all(np.abs(bounds[np.isfinite(bounds)]) <= limit))


# Layouts by id(space) while anything (e.g. the env) holds them; a layout holds its space, so ids stay unique.
_layouts = weakref.WeakValueDictionary()


def observation_layout(space):
    """The Layout of an observation space (cached per space object, so calling it in a policy's forward is cheap)."""
    layout = _layouts.get(id(space))
    if layout is None:
        layout = _layouts[id(space)] = _build_layout(space)
    return layout


def _build_layout(space):
    if isinstance(space, spaces.Box):
        return Layout(space, (Leaf((), space, space.shape, space.dtype, 0, int(np.prod(space.shape))),), space, False)
    parts, dropped = [], []
    for path, leaf_space in _leaves(space):
        value_range = _value_range(leaf_space)
        if value_range is None:
            dropped.append(f"{'/'.join(map(str, path)) or '<root>'} ({type(leaf_space).__name__})")
        else:
            parts.append((path, leaf_space, *value_range))
    if dropped:
        # Variable-size parts (text, sequences, graphs) cannot live in a fixed-size row; say so once.
        warnings.warn(f'observation parts without a fixed size are left out of the flat observation: '
                      f'{", ".join(dropped)}', stacklevel=3)
    if not parts:
        raise APIUsageError(f'observation space {space} has no fixed-size part (Box, Discrete, MultiDiscrete, '
                            'MultiBinary) to put in a flat buffer')
    storage = [_storage_dtype(s, low, high) for _, s, low, high in parts]
    common = np.result_type(*storage)
    if all(_exact_in(common, low, high) for (_, leaf_space, low, high) in parts if leaf_space.dtype.kind != 'f'):
        leaves, lows, highs, offset = [], [], [], 0
        for path, leaf_space, low, high in parts:
            size = int(np.prod(leaf_space.shape))
            leaves.append(Leaf(path, leaf_space, leaf_space.shape, np.dtype(leaf_space.dtype), offset, offset + size))
            lows.append(np.broadcast_to(low, leaf_space.shape).ravel())
            highs.append(np.broadcast_to(high, leaf_space.shape).ravel())
            offset += size
        box = spaces.Box(np.concatenate(lows).astype(common), np.concatenate(highs).astype(common), dtype=common)
        return Layout(space, tuple(leaves), box, False)
    # No single dtype holds every part exactly: pack raw bytes, each part aligned to its item size.
    leaves, offset, alignment = [], 0, 1
    for path, leaf_space, _, _ in parts:
        dtype = np.dtype(leaf_space.dtype)
        offset = -(-offset // dtype.itemsize) * dtype.itemsize
        nbytes = int(np.prod(leaf_space.shape)) * dtype.itemsize
        leaves.append(Leaf(path, leaf_space, leaf_space.shape, dtype, offset, offset + nbytes))
        offset += nbytes
        alignment = max(alignment, dtype.itemsize)
    size = -(-offset // alignment) * alignment
    return Layout(space, tuple(leaves), spaces.Box(0, 255, (size,), np.uint8), True)


def flatten(value, space, out=None):
    """One structured observation -> its flat row (numpy). The inverse of `unflatten` for a single value."""
    layout = observation_layout(space)
    row = np.zeros(layout.box.shape, layout.box.dtype) if out is None else out
    for path, view in layout.row_views(row):
        view[...] = _get(value, path)
    return row


def _get(value, path):
    for key in path:
        value = value[key]
    return value


def unflatten(flat, space):
    """A batch of flat rows [..., row] -> the structured observation: nested dicts / tuples of arrays or tensors.

    Works on numpy arrays and torch tensors (any device). Each part comes back with its own shape and dtype, e.g.
    `unflatten(obs, env.structured_observation_space)['image']` is a [batch, 7, 7, 3] uint8 tensor for MiniGrid.
    Parts are views of `flat` where possible. `space` may also be a Layout from `observation_layout`.
    """
    layout = space if isinstance(space, Layout) else observation_layout(space)
    if layout.box is layout.space:
        return flat
    batch_shape = tuple(flat.shape[:-1])
    is_numpy = isinstance(flat, np.ndarray)
    values = {}
    for leaf in layout.leaves:
        part = flat[..., leaf.start:leaf.stop]
        dtype = leaf.dtype if is_numpy else _torch_dtype(leaf.dtype)
        if layout.packed:
            part = part.view(dtype).reshape(*batch_shape, *leaf.shape)
        else:
            part = part.reshape(*batch_shape, *leaf.shape)
            part = part.astype(dtype, copy=False) if is_numpy else part.to(dtype)
        values[leaf.path] = part
    return _assemble(layout.space, values)


def _torch_dtype(dtype):
    import torch
    return torch.from_numpy(np.zeros(0, dtype)).dtype


def _assemble(space, values, path=()):
    """Nest {path: value} back into the dicts and tuples of `space`; parts left out of the layout stay out."""
    if isinstance(space, spaces.Dict):
        items = ((key, _assemble(sub, values, path + (key,))) for key, sub in space.spaces.items())
        return {key: value for key, value in items if value is not _ABSENT}
    if isinstance(space, spaces.Tuple):
        items = (_assemble(sub, values, path + (index,)) for index, sub in enumerate(space.spaces))
        return tuple(value for value in items if value is not _ABSENT)
    return values.get(path, _ABSENT)


_ABSENT = object()


class ActionLayout:
    """The flat action space of a (possibly structured) action space, and the way back to a structured action.

    Discrete stays Discrete; MultiDiscrete and MultiBinary become a flat MultiDiscrete; Box stays a float32 Box.
    Dict / Tuple of discrete parts become one MultiDiscrete, of Box parts one flat float32 Box, of both one
    MixedSpace row: every discrete part's indices first, then every Box part's values. Flat actions are
    zero-based: a space's `start` is added back when converting.
    """

    def __init__(self, space):
        self.space = space
        parts = list(_leaves(space))
        is_box = [isinstance(s, spaces.Box) for _, s in parts]
        unsupported = [s for _, s in parts if not isinstance(s, (spaces.Box, *DISCRETE_SPACES))]
        if unsupported:
            raise APIUsageError(f'action space part {unsupported[0]} is not supported; use Box, Discrete, '
                                'MultiDiscrete, MultiBinary, or Dict / Tuple of them')
        mixed = any(is_box) and not all(is_box)
        # Columns of each part in the flat row; a mixed row holds the discrete parts first, then the Box parts.
        order = [part for part, box in zip(parts, is_box) if not box] + [part for part, box in zip(parts, is_box)
                                                                         if box] if mixed else parts
        self.leaves, offset = [], 0
        for path, leaf_space in order:
            size = 1 if isinstance(leaf_space, spaces.Discrete) else int(np.prod(leaf_space.shape))
            self.leaves.append((path, leaf_space, offset, offset + size))
            offset += size
        if isinstance(space, spaces.Discrete):
            self.flat = spaces.Discrete(space.n)
        elif isinstance(space, spaces.Box):
            self.flat = spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32), dtype=np.float32)
        elif all(is_box):
            low = np.concatenate([s.low.ravel() for _, s in parts]).astype(np.float32)
            high = np.concatenate([s.high.ravel() for _, s in parts]).astype(np.float32)
            self.flat = spaces.Box(low, high, dtype=np.float32)
        elif mixed:
            boxes = [s for _, s in parts if isinstance(s, spaces.Box)]
            self.flat = MixedSpace(np.concatenate([_choices(s) for _, s in parts if not isinstance(s, spaces.Box)]),
                                   np.concatenate([s.low.ravel() for s in boxes]),
                                   np.concatenate([s.high.ravel() for s in boxes]))
        else:
            self.flat = spaces.MultiDiscrete(np.concatenate([_choices(s) for _, s in parts]))
        self.structured = not isinstance(space, (spaces.Box, *DISCRETE_SPACES))

    def to_structured(self, row):
        """One agent's flat action row -> the action the wrapped env expects."""
        row = row.reshape(-1)
        if not self.structured:
            return _leaf_action(self.space, row)
        return _assemble(self.space, {path: _leaf_action(leaf_space, row[start:stop])
                                      for path, leaf_space, start, stop in self.leaves})


def _choices(space):
    """Number of choices of each discrete sub-action of a leaf, flattened."""
    if isinstance(space, spaces.Discrete):
        return np.array([space.n])
    if isinstance(space, spaces.MultiDiscrete):
        return space.nvec.ravel()
    return np.full(int(np.prod(space.shape)), 2)


def _leaf_action(space, part):
    if not isinstance(space, spaces.Box) and part.dtype.kind == 'f':  # a discrete part of a MixedSpace row
        part = np.rint(part).astype(np.int64)
    if isinstance(space, spaces.Discrete):
        return int(part[0]) + int(space.start)
    if isinstance(space, spaces.MultiDiscrete):
        return (part.reshape(space.shape) + space.start).astype(space.dtype)
    return part.reshape(space.shape).astype(space.dtype)


MASK_KEY = 'action_mask'


def split_action_mask(space):
    """(observation space without the mask, True) for a Dict observation space holding MASK_KEY (PettingZoo classic),
    else (space, False). A Dict of just 'observation' and the mask becomes its 'observation' part."""
    if not isinstance(space, spaces.Dict) or MASK_KEY not in space.spaces:
        return space, False
    rest = {key: sub for key, sub in space.spaces.items() if key != MASK_KEY}
    if list(rest) == ['observation']:
        return rest['observation'], True
    return spaces.Dict(rest), True


def strip_action_mask(observation):
    """(the observation the policy sees, the env's mask) of one observation with a MASK_KEY entry, as
    split_action_mask splits its space."""
    rest = {key: value for key, value in observation.items() if key != MASK_KEY}
    return (rest['observation'] if list(rest) == ['observation'] else rest), observation[MASK_KEY]


def flat_action_mask(mask, action_space, who):
    """The env's mask as one bool row of action_mask_size(action_space) entries; EnvOutputError if it is not one."""
    size = action_mask_size(action_space)
    parts = mask if isinstance(mask, (list, tuple)) and len(mask) and np.ndim(mask[0]) > 0 else [mask]
    try:
        row = np.concatenate([np.asarray(part).reshape(-1) for part in parts])
    except (TypeError, ValueError):
        row = None
    if row is None or row.shape != (size,) or row.dtype.kind not in 'biuf':
        got = 'nothing' if row is None else f'{row.dtype}{list(row.shape)}'
        raise EnvOutputError(f'{who} gave an action mask of {got}; expected {size} 0/1 entries, one per choice of '
                             f'{action_space}')
    return row.astype(bool)


def env_name(env):
    """The wrapped env's registered id (or its class name), for error messages."""
    inner = getattr(env, 'env', env)
    spec = getattr(inner, 'spec', None)
    metadata = getattr(inner, 'metadata', None)
    return (getattr(spec, 'id', None) or (metadata.get('name') if isinstance(metadata, dict) else None)
            or type(inner).__name__)


def _numeric_stats(info):
    """The scalar numbers of an env's final info dict, reported with the episode statistics."""
    return {key: float(value) for key, value in info.items()
            if not key.startswith('_') and isinstance(value, (bool, int, float, np.number, np.bool_))}


class WrappedEnv(PufferEnv):
    """What both wrappers share: rendering and closing go to the wrapped env (`self.env`), and the check of the
    first observations the wrapped env returns (`check_spaces` of them per agent row; vector.make sets it from
    `[vec] check_spaces`, 0 turns it off)."""

    check_spaces = 100

    def _check_values(self, observation, agent=None):
        """Raise EnvOutputError for a part of the wrapped env's `observation` that writing into the flat row would
        silently change: a wrong shape, floats (or objects) for an integer part, integers that wrap around in the
        stored dtype. Bounds and NaN are checked on the flat rows by the vector, for every backend."""
        layout = self.observation_layout
        for leaf in layout.leaves:
            value = np.asarray(_get(observation, leaf.path))
            stored = np.dtype(layout.stored_dtype(leaf))
            problem = None
            if value.shape != tuple(leaf.shape):
                problem = f'has shape {value.shape}, but its space {leaf.space} has shape {tuple(leaf.shape)}'
            elif value.dtype.kind not in 'biuf':
                problem = f'has dtype {value.dtype}, not a number ({leaf.space})'
            elif stored.kind in 'biu' and value.dtype.kind == 'f':
                problem = f'holds floats (dtype {value.dtype}) for the integer space {leaf.space}'
            elif stored.kind in 'iu' and value.size and value.dtype.kind in 'iu':
                low, high = value.min(), value.max()
                if low < np.iinfo(stored).min or high > np.iinfo(stored).max:
                    bad = low if low < np.iinfo(stored).min else high
                    problem = (f'holds {bad}, which does not fit its stored dtype {stored} (its space is '
                               f'{leaf.space}) and would wrap around')
            if problem is not None:
                who = '' if agent is None else f'agent {agent!r}: '
                raise EnvOutputError(f'{env_name(self)} returned a bad observation: {who}{part_name(leaf.path)} '
                                     f'{problem}. Fix the env, or set vec.check_spaces = 0 to skip this check.')

    def render(self):
        return self.env.render() if self.render_mode == 'rgb_array' else None

    def render_text(self):
        return self.env.render() if self.render_mode == 'ansi' else ''

    def close(self):
        self.env.close()


class GymnasiumPufferEnv(WrappedEnv):
    """A single-agent Gymnasium env as a PufferEnv with one row. Finished episodes reset automatically: the row
    then holds the next episode's first observation, with the final reward and terminal / truncation flags.
    A finished episode reports `episode_return`, `episode_length`, `score` (the return: a Gymnasium env has no
    other score) and the scalar numbers of the env's final info dict.

    Legal-action masks: an observation Dict with an 'action_mask' key is found by itself; `action_masks=True` reads
    `info['action_mask']` after every reset and step instead (see the module docstring)."""

    def __init__(self, env, buf=None, seed=0, action_masks=False):
        self.env = env
        observation_space, in_observation = split_action_mask(env.observation_space)
        self.mask_source = 'observation' if in_observation else 'info' if action_masks else None
        self.has_action_masks = self.mask_source is not None
        self.structured_observation_space = observation_space
        self.structured_action_space = env.action_space
        self.observation_layout = observation_layout(observation_space)
        self.action_layout = ActionLayout(env.action_space)
        self.single_observation_space = self.observation_layout.box
        self.single_action_space = self.action_layout.flat
        self.num_agents = 1
        self.render_mode = getattr(env, 'render_mode', None)
        super().__init__(buf)
        self._views = self.observation_layout.row_views(self.observations[0])
        self._first_seed = seed
        self._started = False
        self._checked = 0

    def _write(self, observation, info):
        if self.mask_source == 'observation':
            observation, mask = strip_action_mask(observation)
        elif self.mask_source == 'info':
            mask = info.get(MASK_KEY) if isinstance(info, dict) else None
            if mask is None:
                raise EnvOutputError(f"{env_name(self)} gave no info['{MASK_KEY}'] (action_masks=True expects one "
                                     'after every reset and step)')
        if self.has_action_masks:
            self.action_masks[0] = flat_action_mask(mask, self.single_action_space, env_name(self))
        if self.check_spaces and self._checked <= self.check_spaces:  # the reset's observation, then N steps
            self._checked += 1
            self._check_values(observation)
        for path, view in self._views:
            view[...] = _get(observation, path)

    def reset(self, seed=None):
        observation, info = self.env.reset(seed=self._first_seed if seed is None and not self._started else seed)
        self._write(observation, info)
        self.rewards[:] = 0
        self.terminals[:] = False
        self.truncations[:] = False
        self.masks[:] = True
        self._started = True
        self._episode_return, self._episode_length = 0.0, 0
        return self.observations, []

    def step(self, actions):
        if not self._started:
            raise APIUsageError('step() called before reset(); call reset(seed) first')
        if actions is not self.actions:
            self.actions[:] = actions
        observation, reward, terminated, truncated, info = self.env.step(
            self.action_layout.to_structured(self.actions[0]))
        self._episode_return += float(reward)
        self._episode_length += 1
        infos = []
        if terminated or truncated:
            infos.append({**_numeric_stats(info), 'score': self._episode_return,
                          'episode_return': self._episode_return, 'episode_length': self._episode_length})
            observation, info = self.env.reset()
            self._episode_return, self._episode_length = 0.0, 0
        self._write(observation, info)
        self.rewards[0] = reward
        self.terminals[0] = terminated
        self.truncations[0] = truncated
        return self.observations, self.rewards, self.terminals, self.truncations, infos


class PettingZooPufferEnv(WrappedEnv):
    """A PettingZoo ParallelEnv as a PufferEnv with one row per possible agent.

    Agents may appear and disappear: a row's mask is True when its agent took part in the last step (or is present
    after a reset); absent agents' rows hold zeros. When no agent is left the episode resets automatically and
    reports `episode_length` and `episode_return` = `score` (the mean over the agents that took part).
    Every agent must share one observation space and one action space. An observation Dict with an 'action_mask'
    key gives each agent's legal actions (PettingZoo classic); absent agents' mask rows are all False, which the
    policy reads as all legal (their actions are not used).
    """

    def __init__(self, env, buf=None, seed=0):
        self.env = env
        self.possible_agents = list(env.possible_agents)
        first = self.possible_agents[0]
        for agent in self.possible_agents[1:]:
            if env.observation_space(agent) != env.observation_space(first) or \
                    env.action_space(agent) != env.action_space(first):
                raise APIUsageError(f'agents {first!r} and {agent!r} have different spaces; emulation needs one '
                                    'observation and one action space for all agents (pad them to a common space)')
        self.structured_observation_space, self.has_action_masks = split_action_mask(env.observation_space(first))
        self.structured_action_space = env.action_space(first)
        self.observation_layout = observation_layout(self.structured_observation_space)
        self.action_layout = ActionLayout(self.structured_action_space)
        self.single_observation_space = self.observation_layout.box
        self.single_action_space = self.action_layout.flat
        self.num_agents = len(self.possible_agents)
        self.render_mode = getattr(env, 'render_mode', None)
        super().__init__(buf)
        self._rows = {agent: row for row, agent in enumerate(self.possible_agents)}
        self._views = [self.observation_layout.row_views(self.observations[row]) for row in range(self.num_agents)]
        self._first_seed = seed
        self._started = False
        self._checked = 0

    def _write(self, observations):
        self.observations[:] = 0
        if self.has_action_masks:
            self.action_masks[:] = False
            stripped = {}
            for agent, observation in observations.items():
                stripped[agent], mask = strip_action_mask(observation)
                self.action_masks[self._rows[agent]] = flat_action_mask(mask, self.single_action_space,
                                                                         f'{env_name(self)} agent {agent!r}')
            observations = stripped
        if self.check_spaces and self._checked <= self.check_spaces:
            self._checked += 1
            for agent, observation in observations.items():
                self._check_values(observation, agent)
        for agent, observation in observations.items():
            for path, view in self._views[self._rows[agent]]:
                view[...] = _get(observation, path)
            self.masks[self._rows[agent]] = True

    def _begin_episode(self, seed):
        observations, _ = self.env.reset(seed=seed)
        self._write(observations)
        self._episode_returns = np.zeros(self.num_agents)
        self._took_part = np.zeros(self.num_agents, bool)
        self._episode_length = 0

    def reset(self, seed=None):
        self.masks[:] = False
        self._begin_episode(self._first_seed if seed is None and not self._started else seed)
        self.rewards[:] = 0
        self.terminals[:] = False
        self.truncations[:] = False
        self._started = True
        return self.observations, []

    def step(self, actions):
        if not self._started:
            raise APIUsageError('step() called before reset(); call reset(seed) first')
        if actions is not self.actions:
            self.actions[:] = actions
        to_structured = self.action_layout.to_structured
        joint_action = {agent: to_structured(self.actions[self._rows[agent]]) for agent in self.env.agents}
        observations, rewards, terminations, truncations, _ = self.env.step(joint_action)
        self.masks[:] = False
        self.rewards[:] = 0
        self.terminals[:] = False
        self.truncations[:] = False
        for agent, reward in rewards.items():
            self.rewards[self._rows[agent]] = reward
            self.masks[self._rows[agent]] = True
        for agent, flag in terminations.items():
            self.terminals[self._rows[agent]] = flag
        for agent, flag in truncations.items():
            self.truncations[self._rows[agent]] = flag
        self._episode_returns += self.rewards
        self._took_part |= self.masks
        self._episode_length += 1
        infos = []
        if self.env.agents:
            self._write(observations)
        else:
            episode_return = float(self._episode_returns[self._took_part].mean())
            infos.append({'score': episode_return, 'episode_return': episode_return,
                          'episode_length': self._episode_length})
            self._begin_episode(None)
        return self.observations, self.rewards, self.terminals, self.truncations, infos



class TurnBasedParallelEnv:
    """A turn-based PettingZoo AEC env (the classic board games) as a ParallelEnv for PettingZooPufferEnv: every
    agent observes every step, and only the action of the agent whose turn it is (`agent_selection`) is played; the
    others' rows are ignored, as their masks say (PettingZoo classic masks show no legal move off turn). Rewards
    are each agent's reward of the step just played (classic games pay both players when the game ends)."""

    def __init__(self, aec_env):
        self.aec = aec_env
        self.possible_agents = list(aec_env.possible_agents)
        self.metadata = getattr(aec_env, 'metadata', {})
        self.render_mode = getattr(aec_env, 'render_mode', None)
        self.agents = []

    def observation_space(self, agent):
        return self.aec.observation_space(agent)

    def action_space(self, agent):
        return self.aec.action_space(agent)

    def reset(self, seed=None, options=None):
        self.aec.reset(seed=seed, options=options)
        self.agents = list(self.aec.agents)
        return {agent: self.aec.observe(agent) for agent in self.agents}, {agent: {} for agent in self.agents}

    def step(self, actions):
        aec = self.aec
        aec.step(actions[aec.agent_selection])
        rewards = {agent: float(aec.rewards[agent]) for agent in self.agents}
        terminations = {agent: bool(aec.terminations[agent]) for agent in self.agents}
        truncations = {agent: bool(aec.truncations[agent]) for agent in self.agents}
        observations = {agent: aec.observe(agent) for agent in self.agents}
        while aec.agents and (aec.terminations[aec.agent_selection] or aec.truncations[aec.agent_selection]):
            aec.step(None)  # a finished agent must be stepped with None before it leaves
        self.agents = list(aec.agents)
        return observations, rewards, terminations, truncations, {agent: {} for agent in rewards}

    def render(self):
        return self.aec.render()

    def close(self):
        self.aec.close()
