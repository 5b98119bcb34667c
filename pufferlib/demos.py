"""Recorded demonstrations (docs/rewards.md): what `puffer eval ENV --save-demos FILE` writes, and behavioural
cloning ([bc]) and GAIL ([reward.gail]) read.

The file is an .npz (numpy's zip of .npy arrays), read with allow_pickle=False, so loading one never runs code.
Its arrays:

    header         uint8 [H]   UTF-8 JSON: format, version, env_name, observation_space, action_space, steps,
                               episodes, source (the policy file, or `random`), created (UTC, ISO 8601)
    observations   [N, *obs_shape] in the observation space's dtype: o_t, what the agent saw before acting
    actions        [N, *action_shape]: the action taken on o_t (int32 for discrete spaces, float32 for Box)
    rewards        float32 [N]: the env's reward for that action
    terminals      bool [N]: the episode ended with that action
    truncations    bool [N]: the episode was cut after that action (also set on each agent row's last recorded
                   step when its episode was still running, so no sequence runs across rows or files)

Steps are stored one agent row after another, in time order within a row; an episode ends at each step with a
terminal or truncation. Spaces are described as JSON (type, shape, dtype, and n / nvec for discrete ones) and must
equal the env's for the file to be used.
"""
import datetime
import json
import os
import zipfile
from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from pufferlib.exceptions import ConfigError

FORMAT = 'pufferlib-demos'
VERSION = 1
ARRAYS = ('observations', 'actions', 'rewards', 'terminals', 'truncations')


class DemoError(ConfigError):
    """A demonstrations file that cannot be read or does not fit the env."""


@dataclass
class Demos:
    header: dict
    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    truncations: np.ndarray

    def __len__(self):
        return len(self.observations)

    @property
    def dones(self):
        return np.logical_or(self.terminals, self.truncations)

    def episode_returns(self):
        """The summed reward of every complete episode (ended by a terminal, or a truncation that the env made)."""
        ends = np.flatnonzero(self.dones)
        sums = np.cumsum(self.rewards, dtype=np.float64)
        starts = np.concatenate([[0], ends[:-1] + 1])
        return sums[ends] - np.where(starts > 0, sums[starts - 1], 0.0)


def describe_space(space):
    """A space as JSON data: type, shape, dtype and, for discrete spaces, n / nvec."""
    description = dict(type=type(space).__name__, shape=[int(size) for size in space.shape],
                       dtype=str(np.dtype(space.dtype)))
    if isinstance(space, spaces.Discrete):
        description['n'] = int(space.n)
    elif isinstance(space, spaces.MultiDiscrete):
        description['nvec'] = [int(n) for n in np.asarray(space.nvec).reshape(-1)]
    return description


def space_text(description):
    extra = ''.join(f', {key} {description[key]}' for key in ('n', 'nvec') if key in description)
    return f'{description["type"]}(shape {tuple(description["shape"])}, {description["dtype"]}{extra})'


class Recorder:
    """Collects (observation, action, reward, terminal, truncation) per agent row while an env is played."""

    def __init__(self, num_agents):
        self.rows = [[] for _ in range(num_agents)]

    def add(self, observations, actions, rewards, terminals, truncations):
        """One env step: each agent row's observation before the step, its action and what the step returned."""
        actions = np.asarray(actions).reshape(len(self.rows), -1)
        for row, steps in enumerate(self.rows):
            steps.append((np.array(observations[row]), actions[row].copy(), float(rewards[row]),
                          bool(terminals[row]), bool(truncations[row])))

    def episodes(self):
        return sum(step[3] or step[4] for steps in self.rows for step in steps)

    def save(self, path, env_name, observation_space, action_space, source):
        """Write the recording to `path` (see the module docstring); returns the header."""
        steps = [step for rows in self.rows for step in
                 (rows[:-1] + [rows[-1][:4] + (rows[-1][4] or not rows[-1][3],)] if rows else [])]  # rows end
        if not steps:
            raise DemoError(f'--save-demos {path}: nothing was recorded (no env step was taken)')
        action_dtype = np.float32 if isinstance(action_space, spaces.Box) else np.int32
        arrays = dict(
            observations=np.stack([step[0] for step in steps]).astype(observation_space.dtype, copy=False),
            actions=np.stack([step[1] for step in steps]).astype(action_dtype).reshape(
                len(steps), *action_space.shape),
            rewards=np.array([step[2] for step in steps], dtype=np.float32),
            terminals=np.array([step[3] for step in steps], dtype=bool),
            truncations=np.array([step[4] for step in steps], dtype=bool))
        episodes = int(np.logical_or(arrays['terminals'], arrays['truncations']).sum())
        header = dict(format=FORMAT, version=VERSION, env_name=env_name,
                      observation_space=describe_space(observation_space),
                      action_space=describe_space(action_space), steps=len(steps), episodes=episodes,
                      complete_episodes=self.episodes(), source=source,
                      created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'))
        write(path, header, arrays)
        return header


def write(path, header, arrays):
    """An .npz of `arrays` with the JSON `header`, written next to `path` and renamed over it (never half a file)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    partial = path + '.partial'
    with open(partial, 'wb') as file:
        np.savez(file, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **arrays)
    os.replace(partial, path)


def load(path, observation_space=None, action_space=None, key='demo_path'):
    """Read a demonstrations file; with spaces given, check the file's against them. Every problem is a one-line
    DemoError naming `key`, the path and what is wrong."""
    where = f'{key} = {path}'
    if not isinstance(path, str) or not os.path.isfile(path):
        raise DemoError(f'{where}: no such file (record one with `puffer eval ENV --save-demos FILE`)')
    try:
        with np.load(path, allow_pickle=False) as data:
            if 'header' not in data.files:
                raise DemoError(f'{where}: not a pufferlib demonstrations file (no header)')
            header = json.loads(bytes(data['header']).decode())
            if not isinstance(header, dict) or header.get('format') != FORMAT:
                raise DemoError(f'{where}: not a pufferlib demonstrations file (format {header.get("format")!r})')
            if not isinstance(header.get('version'), int) or header['version'] > VERSION:
                raise DemoError(f'{where}: format version {header.get("version")!r} is newer than this pufferlib '
                                f'reads ({VERSION}); upgrade pufferlib')
            missing = [name for name in ARRAYS if name not in data.files]
            if missing:
                raise DemoError(f'{where}: the file lacks {", ".join(missing)}')
            arrays = {name: data[name] for name in ARRAYS}
    except DemoError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, UnicodeDecodeError, KeyError) as error:
        raise DemoError(f'{where}: cannot read it as a demonstrations file ({str(error).splitlines()[0]})') from None
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) != 1 or lengths['observations'] == 0:
        raise DemoError(f'{where}: its arrays disagree on the number of steps or are empty ({lengths})')
    demos = Demos(header, **arrays)
    for name, space in (('observation_space', observation_space), ('action_space', action_space)):
        if space is None:
            continue
        recorded, expected = header.get(name), describe_space(space)
        if recorded != expected:
            shown = space_text(recorded) if isinstance(recorded, dict) and 'type' in recorded else repr(recorded)
            raise DemoError(f'{where}: recorded with {name.replace("_", " ")} {shown} (env {header.get("env_name")}),'
                            f' but this env\'s is {space_text(expected)}')
    expected_shape = tuple(header['observation_space']['shape'])
    if demos.observations.shape[1:] != expected_shape:
        raise DemoError(f'{where}: observations of shape {demos.observations.shape[1:]} do not match the header\'s '
                        f'{expected_shape}')
    return demos


def load_for_config(path, key, observation_space, action_space):
    """`load` for a config key (bc.demo_path, reward.gail.demo_path)."""
    return load(path, observation_space, action_space, key=key)
