"""Environment packages: `[base] package` names a module that knows how to build that family's envs.

Every package module defines
  env_creator(env_name)            -> creator(buf=None, seed=0, **env_kwargs) returning a PufferEnv
  env_parameters(env_name)         -> {parameter: default} accepted in [env], or None if anything is accepted
and optionally
  num_agents(env_name, env_kwargs) -> agent rows of one env object, or None if unknown before creation;
  check_params(env_name, env_kwargs) -> one-line problems with [env] values found without building the env.

A user's own env module ("mymodule:MyEnv") is imported from the current folder too, as `python -m` would.
"""
import importlib
import os
import sys

from pufferlib.exceptions import EnvironmentSetupError

PACKAGES = {
    'ocean': 'pufferlib.envs.ocean',
    'gymnasium': 'pufferlib.envs.gymnasium',
    'pettingzoo': 'pufferlib.envs.pettingzoo',
    'atari': 'pufferlib.envs.atari',
}

# Optional dependencies behind a package, named in the error when they are missing.
EXTRAS = {'atari': 'pip install "pufferlib[atari]"'}


def load_package(package):
    """Import the module behind `[base] package`, with an error that says what to install or what is valid."""
    if package not in PACKAGES:
        raise EnvironmentSetupError(
            f'base.package = {package!r} is not a known environment package; valid: {", ".join(PACKAGES)}')
    try:
        return importlib.import_module(PACKAGES[package])
    except ModuleNotFoundError as error:
        hint = EXTRAS.get(package, 'reinstall pufferlib')
        raise EnvironmentSetupError(
            f'environment package {package!r} cannot be imported ({error}); {hint}') from error


def env_creator(package, env_name):
    return load_package(package).env_creator(env_name)


def env_parameters(package, env_name):
    return load_package(package).env_parameters(env_name)


def num_agents(package, env_name, env_kwargs):
    """Agent rows of one env object if the package can tell without building it, else None."""
    module = load_package(package)
    if not hasattr(module, 'num_agents'):
        return None
    return module.num_agents(env_name, env_kwargs)


def check_params(package, env_name, env_kwargs):
    """One-line problems with the [env] values, as far as the package can judge them before building the env:
    its own check_params, or an Ocean spec's check_params (parameter ranges)."""
    module = load_package(package)
    if hasattr(module, 'check_params'):
        return list(module.check_params(env_name, env_kwargs))
    lookup = getattr(module, 'lookup', None)
    spec = lookup(env_name) if lookup is not None else None
    if hasattr(spec, 'check_params'):
        common = getattr(module, 'COMMON_PARAMS', {})
        return list(spec.check_params({k: v for k, v in env_kwargs.items() if k not in common}))
    return []


def import_user_module(module_name):
    """Import `module_name` with the current folder on the import path (after the installed packages, so a local
    file never shadows one): `name = mymodule:MyEnv` finds ./mymodule.py as it would under `python -m`. Worker
    processes run this too, from the same folder, whatever their start method."""
    here = os.getcwd()
    if here not in sys.path and '' not in sys.path:
        sys.path.append(here)
    return importlib.import_module(module_name)
