"""Environment packages: `[base] package` names a module that knows how to build that family's envs.

Every package module defines
  env_creator(env_name)            -> creator(buf=None, seed=0, **env_kwargs) returning a PufferEnv
  env_parameters(env_name)         -> {parameter: default} accepted in [env], or None if anything is accepted
and optionally
  num_agents(env_name, env_kwargs) -> agent rows of one env object, or None if unknown before creation.
"""
import importlib

from pufferlib.exceptions import EnvironmentSetupError

PACKAGES = {
    'ocean': 'pufferlib.ocean',
    'gymnasium': 'pufferlib.environments.gymnasium',
    'pettingzoo': 'pufferlib.environments.pettingzoo',
    'atari': 'pufferlib.environments.atari',
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
