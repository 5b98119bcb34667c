"""Any PettingZoo parallel env as a PufferEnv: `[base] package = pettingzoo`, and in [env] the env as
`name = butterfly/knights_archers_zombies-v11` (an id of PettingZoo's registry) or `name = module.path:function`
(any function returning a ParallelEnv).

Every other [env] key goes to that env. Each possible agent gets a row; `masks` marks the agents present.
"""
import functools

from pufferlib.envs.emulation import PettingZooPufferEnv
from pufferlib.envs import import_user_module
from pufferlib.exceptions import EnvironmentSetupError

DEFAULT_NAME = 'butterfly/knights_archers_zombies-v11'


def load_factory(name):
    """The function that builds the parallel env `name` (a registry id, or 'module.path:function')."""
    if ':' in name:
        module_name, _, attribute = name.partition(':')
        try:
            return getattr(import_user_module(module_name), attribute)
        except Exception as error:  # ImportError, AttributeError, or the module's own failure at import
            raise EnvironmentSetupError(f'cannot load PettingZoo env {name!r}: {type(error).__name__}: {error}; '
                                        'run from the folder that holds the module or install it') from error
    import pettingzoo
    try:
        pettingzoo.spec('parallel', name)
    except AttributeError as error:
        raise EnvironmentSetupError(f'PettingZoo {pettingzoo.__version__} has no env registry; name the env as '
                                    f'"module.path:function" instead of {name!r}') from error
    except Exception as error:  # the registry's own errors list the valid ids
        raise EnvironmentSetupError(f'cannot load PettingZoo env {name!r}: {error}') from error
    return functools.partial(pettingzoo.make, 'parallel', name)


def make(buf=None, seed=0, name=DEFAULT_NAME, **env_kwargs):
    """A PettingZooPufferEnv of the parallel env `name` built with `env_kwargs`."""
    return PettingZooPufferEnv(load_factory(name)(**env_kwargs), buf=buf, seed=seed)


def env_creator(env_name):
    return make


def env_parameters(env_name):
    """None: any keyword of the chosen env is accepted."""
    return None


def check_params(env_name, env_kwargs):
    """The env must be one that can be found (a registry id, or a module's function)."""
    try:
        load_factory(env_kwargs.get('name', DEFAULT_NAME))
    except EnvironmentSetupError as error:
        return [str(error)]
    return []


def num_agents(env_name, env_kwargs):
    """Possible agents of one env (builds it once to ask)."""
    kwargs = dict(env_kwargs)
    env = load_factory(kwargs.pop('name', DEFAULT_NAME))(**kwargs)
    try:
        return len(env.possible_agents)
    finally:
        env.close()
