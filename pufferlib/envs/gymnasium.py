"""Any Gymnasium env as a PufferEnv: `[base] package = gymnasium`, `[env] name = CartPole-v1`.

`name` is a registered id (`CartPole-v1`), an id of another package in gymnasium's "module:id" form, which imports
the module first (`minigrid:MiniGrid-Empty-5x5-v0`), or "module:Class" for an Env class (or function returning an
Env) of your own (`mymodule:MyEnv`; ./mymodule.py is found from the folder you run in). Every other [env] key goes to
`gymnasium.make` (e.g. `max_episode_steps`, `render_mode`, or the env's own arguments), or to the class.
"""

import gymnasium

from pufferlib.envs.emulation import GymnasiumPufferEnv
from pufferlib.envs import import_user_module
from pufferlib.exceptions import EnvironmentSetupError


def resolve(name):
    """(factory, id): an Env class or function named "module:attribute", or None and the id to gymnasium.make."""
    if not isinstance(name, str) or not name:
        raise EnvironmentSetupError(f'env.name = {name!r} must name a Gymnasium env, e.g. CartPole-v1')
    if ':' not in name:
        return None, name
    module_name, _, attribute = name.partition(':')
    try:
        module = import_user_module(module_name)
    except Exception as error:  # ImportError, or the module's own failure at import
        raise EnvironmentSetupError(
            f'env.name = {name!r}: cannot import {module_name!r} ({type(error).__name__}: {error}); run from the '
            f'folder that holds {module_name}.py or install it') from error
    factory = getattr(module, attribute, None) if attribute.isidentifier() else None
    if callable(factory):
        return factory, name
    return None, attribute  # an id the module registered on import; gymnasium names the closest if there is none


def make(buf=None, seed=0, name='CartPole-v1', **env_kwargs):
    """A GymnasiumPufferEnv of `name` (see the module docstring) built with `env_kwargs`."""
    factory, env_id = resolve(name)
    try:
        env = factory(**env_kwargs) if factory is not None else gymnasium.make(env_id, **env_kwargs)
    except (gymnasium.error.Error, ModuleNotFoundError) as error:
        raise EnvironmentSetupError(f'gymnasium cannot make {name!r}: {error}') from error
    if not isinstance(env, gymnasium.Env):
        raise EnvironmentSetupError(f'env.name = {name!r} returned {type(env).__name__}, not a gymnasium.Env')
    return GymnasiumPufferEnv(env, buf=buf, seed=seed)


def env_creator(env_name):
    return make

def env_parameters(env_name):
    """None: any keyword of gymnasium.make or of the chosen env is accepted."""
    return None

def num_agents(env_name, env_kwargs):
    return 1


def check_params(env_name, env_kwargs):
    """The env must be one that can be found: a registered id, or a module's Env class or function."""
    name = env_kwargs.get('name', 'CartPole-v1')
    try:
        factory, env_id = resolve(name)
        if factory is None:
            gymnasium.spec(env_id)
    except EnvironmentSetupError as error:
        return [str(error)]
    except gymnasium.error.Error as error:
        return [f'env.name = {name!r}: {error}']
    return []
