"""Any registered Gymnasium env as a PufferEnv: `[base] package = gymnasium`, `[env] name = CartPole-v1`.

Every other [env] key goes to `gymnasium.make` (e.g. `max_episode_steps`, `render_mode`, or the env's own
arguments). Ids from other packages load their module first with gymnasium's "module:id" form, e.g.
`name = minigrid:MiniGrid-Empty-5x5-v0`.
"""

import gymnasium

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.exceptions import EnvironmentSetupError

def make(buf=None, seed=0, name='CartPole-v1', **env_kwargs):
    """A GymnasiumPufferEnv of gymnasium.make(name, **env_kwargs)."""
    try:
        env = gymnasium.make(name, **env_kwargs)
    except (gymnasium.error.Error, ModuleNotFoundError) as error:
        raise EnvironmentSetupError(f'gymnasium cannot make {name!r}: {error}') from error
    return GymnasiumPufferEnv(env, buf=buf, seed=seed)

def env_creator(env_name):
    return make

def env_parameters(env_name):
    """None: any keyword of gymnasium.make or of the chosen env is accepted."""
    return None

def num_agents(env_name, env_kwargs):
    return 1
