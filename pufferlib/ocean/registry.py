"""The Ocean registry: one declarative entry per C env (name, spaces, defaults); no per-env Python classes.

Entries live in `pufferlib/ocean/envs.py` (sanity envs, cartpole) and `pufferlib/ocean/games.py` (the games).
"""
import difflib
from dataclasses import dataclass, field
from typing import Callable, Union

from gymnasium import spaces

from pufferlib.exceptions import ConfigError, EnvironmentSetupError

SpaceOrFactory = Union[spaces.Space, Callable[[dict], spaces.Space]]

# Parameters of every Ocean env object, handled in Python and never passed to C.
COMMON_PARAMS = {
    'num_envs': 1,        # C envs held by one env object (its num_agents = num_envs * agents_per_env)
    'log_interval': 128,  # steps between reads of the C episode stats (reading every step costs time)
}


@dataclass(frozen=True)
class OceanSpec:
    name: str
    module: str                          # importable C extension, e.g. 'pufferlib.ocean._cartpole'
    description: str                     # one line
    observation_space: SpaceOrFactory    # a Box, or a function of the resolved params returning one
    action_space: SpaceOrFactory         # Discrete / MultiDiscrete / Box, or a function of params
    frame_shape: tuple                   # (FRAME_H, FRAME_W, 3) of render()
    params: dict = field(default_factory=dict)  # C parameters and their defaults (int or float)
    agents_per_env: int = 1

    def resolve_params(self, overrides):
        """Defaults updated with `overrides`, type-checked; ConfigError naming every bad key at once."""
        problems = []
        resolved = dict(self.params)
        for key, value in overrides.items():
            if key not in self.params:
                valid = sorted(self.params) + sorted(COMMON_PARAMS)
                close = difflib.get_close_matches(key, valid, n=1)
                hint = f' (did you mean {close[0]!r}?)' if close else ''
                problems.append(f'{self.name}: unknown parameter {key!r}{hint}; valid parameters: '
                                f'{", ".join(valid) or "none"}')
                continue
            default = self.params[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f'{self.name}: parameter {key!r} must be a number like its default {default!r}, '
                                f'got {value!r}')
            elif isinstance(default, int) and not isinstance(value, int):
                problems.append(f'{self.name}: parameter {key!r} must be an int like its default {default!r}, '
                                f'got {value!r}')
            else:
                resolved[key] = type(default)(value)
        if problems:
            raise ConfigError(problems)
        return resolved

    def spaces(self, params):
        """(observation_space, action_space) for resolved params."""
        obs = self.observation_space(params) if callable(self.observation_space) else self.observation_space
        act = self.action_space(params) if callable(self.action_space) else self.action_space
        return obs, act


REGISTRY = {}


def register(name, *, description, observation_space, action_space, frame_shape, params=None, agents_per_env=1,
             module=None):
    """Add one Ocean env. `module` defaults to '_' + name without 'puffer_' (the folder ocean/<that>/)."""
    if name in REGISTRY:
        raise EnvironmentSetupError(f'Ocean env {name!r} is registered twice')
    params = dict(params or {})
    for key, default in params.items():
        if key in COMMON_PARAMS or isinstance(default, bool) or not isinstance(default, (int, float)):
            raise EnvironmentSetupError(f'{name}: parameter {key!r} must be an int or float and not one of '
                                        f'{sorted(COMMON_PARAMS)}, got {default!r}')
    if module is None:
        module = '_' + name.removeprefix('puffer_')
    if not module.startswith('pufferlib.'):
        module = 'pufferlib.ocean.' + module
    spec = OceanSpec(name=name, module=module, description=description, observation_space=observation_space,
                     action_space=action_space, frame_shape=tuple(frame_shape), params=params,
                     agents_per_env=agents_per_env)
    REGISTRY[name] = spec
    return spec


def lookup(name):
    """The spec registered as `name`; EnvironmentSetupError with the closest names otherwise."""
    spec = REGISTRY.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, list(REGISTRY), n=3, cutoff=0.4)
        if not close:
            close = [known for known in REGISTRY if name in known]
        hint = f' Did you mean: {", ".join(close)}?' if close else ''
        raise EnvironmentSetupError(f'unknown Ocean env {name!r}.{hint} Available: {", ".join(sorted(REGISTRY))}')
    return spec
