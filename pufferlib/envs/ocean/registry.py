"""The Ocean registry: one entry per C env, built from the spec its C binding declares (ocean/vecenv.h `spec()`:
description, parameters with defaults and ranges, spaces, agents per env, frame shape); no per-env Python classes.

The names are discovered, not listed: every compiled module pufferlib.envs.ocean._<env> (ocean/<env>/binding.c)
exports NAMES, the names it serves with their descriptions and changed defaults (ocean/vecenv.h), so adding an env
touches only its folder (ocean/README.md). The modules are found with pkgutil on the package, which works the same
in a checkout built in place and in an installed wheel.
"""
import difflib
import functools
import importlib
import os
import pkgutil

import numpy as np
from gymnasium import spaces

from pufferlib.exceptions import ConfigError, EnvironmentSetupError

# Parameters of every Ocean env object, handled in Python and never passed to C.
COMMON_PARAMS = {
    'num_envs': 1,        # C envs held by one env object (its num_agents = num_envs * agents_per_env)
    'log_interval': 128,  # steps between reads of the C episode stats (reading every step costs time)
}
MAX_NUM_ENVS = 2**20  # PUFFER_MAX_ENVS of ocean/vecenv.h: caps what a config can make C allocate
COMMON_PARAM_BOUNDS = {'num_envs': ('int', 1, MAX_NUM_ENVS), 'log_interval': ('int', 1, 10**9)}


def _format_bound(kind, value):
    return str(int(value)) if kind == 'int' else f'{value:g}'


class OceanSpec:
    """One Ocean env: its name, its C module, and everything else as the module's binding declares it (ocean/vecenv.h
    `spec()`): description, parameters with their defaults (int or float, typed by the default), agents per env,
    frame shape and spaces. The module is imported on first use; EnvironmentSetupError if it is not built."""

    def __init__(self, name, module, description=None, defaults=None):
        self.name = name
        self.module = module
        self._description = description  # overrides the C one (a variant such as puffer_cartpole_continuous)
        self._defaults = dict(defaults or {})  # overrides some C defaults (same variant)

    def __repr__(self):
        return f'OceanSpec({self.name!r}, module={self.module!r})'

    @functools.cached_property
    def _declared(self):
        from pufferlib.envs.ocean.ocean_env import load_module  # env.py imports this module
        declared = load_module(self).spec()
        unknown = sorted(set(self._defaults) - set(declared['defaults']))
        if unknown:
            raise EnvironmentSetupError(f'{self.name}: defaults {unknown} are not parameters of {self.module}')
        return declared

    @property
    def description(self):
        return self._description or self._declared['description']

    @property
    def params(self):
        """Every C parameter with its default, in the order the binding reads them."""
        return {**self._declared['defaults'], **self._defaults}

    @property
    def agents_per_env(self):
        """Agent rows per C env with the default parameters (see agents_for)."""
        return self._declared['agents_per_env']

    def agents_for(self, params):
        """Agent rows per C env for these parameters: a two-player game has 2 in agent mode (ocean/README.md)."""
        from pufferlib.envs.ocean.ocean_env import load_module
        return load_module(self).spec({k: v for k, v in params.items() if k in self.params})['agents_per_env']

    @property
    def frame_shape(self):
        return tuple(self._declared['frame_shape'])

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

    def param_bounds(self, params=None):
        """{key: (kind, low, high)} for every [env] key: num_envs and log_interval, then each C parameter with the
        inclusive range its C binding accepts (kind 'int' or 'float'), read from the compiled module, the single
        source of truth. A bound may depend on another parameter (puffer_bandit's best_arm < num_arms): it is
        worked out for `params` (resolved parameters; the defaults when None). EnvironmentSetupError if the C
        extension is not built."""
        from pufferlib.envs.ocean.ocean_env import load_module  # env.py imports this module
        module = load_module(self)
        bounds = dict(COMMON_PARAM_BOUNDS)
        for key, kind, low, high in module.param_bounds(dict(self.params if params is None else params)):
            bounds[key] = (kind, low, high)
        return bounds

    def check_params(self, overrides):
        """Problems with the [env] values `overrides` (keys of this env's params and of COMMON_PARAMS), as one-line
        strings, [] when they are all valid; never raises. Each problem names the key, the value and what is valid:
        an unknown key (with the closest valid one), a value of the wrong type, or a value outside its range, e.g.
        'env.size = 100 is outside [2, 63] for puffer_squared'. Ranges come from the C binding (param_bounds), and
        are checked for every parameter after the overrides are applied, so a default that a changed parameter
        makes invalid (bandit's best_arm after num_arms = 2) is reported too. A config validator calls this before
        building the env; building it with values that pass cannot fail on a parameter range."""
        problems, resolved = [], dict(self.params)
        for key, value in overrides.items():
            if key not in self.params and key not in COMMON_PARAMS:
                valid = sorted(self.params) + sorted(COMMON_PARAMS)
                close = difflib.get_close_matches(key, valid, n=1)
                hint = f' (did you mean env.{close[0]}?)' if close else ''
                problems.append(f'env.{key} is not a parameter of {self.name}{hint}; valid: {", ".join(valid)}')
                continue
            default = self.params.get(key, COMMON_PARAMS.get(key))
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                    isinstance(default, int) and not isinstance(value, int)):
                kind = 'an int' if isinstance(default, int) else 'a number'
                problems.append(f'env.{key} = {value!r} must be {kind} like its default {default!r} for {self.name}')
            elif key in self.params:
                resolved[key] = type(default)(value)
            else:
                kind, low, high = COMMON_PARAM_BOUNDS[key]
                if not low <= value <= high:
                    problems.append(f'env.{key} = {value!r} is outside [{low}, {high}] for {self.name}')
        try:
            bounds = self.param_bounds(resolved)
        except (EnvironmentSetupError, ImportError, TypeError, ValueError) as error:
            return problems + [f'{self.name}: cannot read the parameter ranges from its C binding: {error}']
        for key, value in resolved.items():
            if key not in bounds:
                problems.append(f'env.{key} of {self.name} is not read by its C binding')
                continue
            kind, low, high = bounds[key]
            if not low <= value <= high:  # NaN is never inside
                problems.append(f'env.{key} = {value!r} is outside [{_format_bound(kind, low)}, '
                                f'{_format_bound(kind, high)}] for {self.name}')
        return problems

    def spaces(self, params):
        """(observation_space, action_space) for resolved params, as the C binding declares them."""
        from pufferlib.envs.ocean.ocean_env import load_module
        declared = load_module(self).spec(dict(params))
        size, dtype, low, high = declared['observation']
        low, high = np.array(low), np.array(high)
        if low.min() == low.max() and high.min() == high.max():  # the short form, as Box(0, 1, (n,), dtype)
            low, high = (int(x) if x.is_integer() else x for x in (low[0].item(), high[0].item()))
            observation = spaces.Box(low, high, (size,), dtype)
        else:
            observation = spaces.Box(low.astype(dtype), high.astype(dtype), dtype=dtype)
        kind, sizes = declared['action']
        if kind == 'discrete':
            action = spaces.Discrete(sizes)
        elif kind == 'multidiscrete':
            action = spaces.MultiDiscrete(sizes)
        else:
            action = spaces.Box(-1, 1, (sizes,), np.float32)
        return observation, action


REGISTRY = {}
PACKAGE = __name__.rpartition('.')[0]  # pufferlib.envs.ocean, where the compiled modules live
BROKEN = {}  # {module: import error} of compiled modules that would not import (a stale or broken build)
_discovered = []


def discover():
    """Fill REGISTRY from the compiled modules, once: each module `_<env>` of the package adds the entries of its
    NAMES. A module that fails to import is left out and kept in BROKEN, so that one bad build does not hide the
    others; lookup() names it. A name served by two modules is an EnvironmentSetupError."""
    if _discovered:
        return REGISTRY
    package = importlib.import_module(PACKAGE)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name):
        if not info.name.startswith('_') or info.ispkg:
            continue
        module_name = f'{PACKAGE}.{info.name}'
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            BROKEN[module_name] = str(error)
            continue
        for name, description, defaults in getattr(module, 'NAMES', ()):
            if name in REGISTRY and REGISTRY[name].module != module_name:
                raise EnvironmentSetupError(f'Ocean env {name!r} is served by both {REGISTRY[name].module} and '
                                            f'{module_name}: rename one in its binding.c NAMES')
            if name not in REGISTRY:
                register(name, module=module_name, description=description, defaults=defaults)
    _discovered.append(True)
    return REGISTRY


def register(name, *, module=None, description=None, defaults=None):
    """Add one Ocean env; everything but its name is read from the C binding. discover() calls it for every name a
    compiled module declares; call it only for a module outside this package. `module` defaults to '_' + name
    without 'puffer_' (the folder ocean/<that>/). `description` and `defaults` override the C ones, for a second
    entry of one module (puffer_cartpole_continuous: cartpole with continuous = 1)."""
    if name in REGISTRY:
        raise EnvironmentSetupError(f'Ocean env {name!r} is registered twice')
    for key, default in (defaults or {}).items():
        if key in COMMON_PARAMS or isinstance(default, bool) or not isinstance(default, (int, float)):
            raise EnvironmentSetupError(f'{name}: parameter {key!r} must be an int or float and not one of '
                                        f'{sorted(COMMON_PARAMS)}, got {default!r}')
    if module is None:
        module = '_' + name.removeprefix('puffer_')
    if not module.startswith('pufferlib.'):
        module = 'pufferlib.envs.ocean.' + module
    spec = OceanSpec(name, module, description, defaults)
    REGISTRY[name] = spec
    return spec


def lookup(name):
    """The spec registered as `name`; EnvironmentSetupError with the closest names otherwise, and with what is not
    built (a folder ocean/<env>/ of this checkout without its module) or would not import."""
    spec = discover().get(name)
    if spec is None:
        close = difflib.get_close_matches(name, list(REGISTRY), n=3, cutoff=0.4)
        if not close:
            close = [known for known in REGISTRY if name in known]
        hint = f' Did you mean: {", ".join(close)}?' if close else ''
        raise EnvironmentSetupError(f'unknown Ocean env {name!r}.{hint}{build_hint(name)} '
                                    f'Available: {", ".join(sorted(REGISTRY)) or "none"}')
    return spec


def build_hint(name):
    """Why `name` may be missing: its source folder is here but not built, or some module would not import."""
    folder = name.removeprefix('puffer_')
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    hints = []
    if folder and os.path.exists(os.path.join(checkout, 'ocean', folder, 'binding.c')) and \
            f'{PACKAGE}._{folder}' not in BROKEN:
        hints.append(f' ocean/{folder}/ is not built: run `python setup.py build_ext --inplace` (or '
                     f'`PUFFER_OCEAN_ONLY={folder} python setup.py build_ext --inplace`).')
    if BROKEN:
        hints.append(' Modules that would not import (rebuild them): '
                     + '; '.join(f'{module}: {error}' for module, error in sorted(BROKEN.items())) + '.')
    if not REGISTRY and not BROKEN:
        hints.append(' No Ocean module is built: run `python setup.py build_ext --inplace` (or reinstall pufferlib).')
    return ''.join(hints)
