"""Ocean: pufferlib's environments written in C, each discovered from its compiled module (see ocean/README.md).

    env = pufferlib.envs.ocean.make('puffer_cartpole', num_envs=1024, seed=0)

Implements the package contract of pufferlib.envs: env_creator, env_parameters, num_agents; and
check_params for config validation.
"""
import functools

from pufferlib.envs.ocean.ocean_env import OceanEnv
from pufferlib.envs.ocean.registry import COMMON_PARAMS, REGISTRY, discover, lookup, register  # noqa: F401


def make(name, num_envs=1, buf=None, seed=0, **params):
    """A PufferEnv of `num_envs` C envs of Ocean env `name`; `params` override the registry defaults."""
    return OceanEnv(lookup(name), num_envs=num_envs, buf=buf, seed=seed, **params)


def list_envs():
    """Ocean env names, sorted: every name the compiled modules declare (registry.discover)."""
    return sorted(discover())


def env_creator(env_name):
    """creator(buf=None, seed=0, **env_kwargs) -> PufferEnv; env_kwargs are the ini's [env] keys."""
    lookup(env_name)
    return functools.partial(make, env_name)


def env_parameters(env_name):
    """Accepted [env] keys and their defaults: num_envs, log_interval and the env's C parameters."""
    return {**COMMON_PARAMS, **lookup(env_name).params}


def check_params(env_name, env_kwargs):
    """One-line problems with the [env] values `env_kwargs` of `env_name` (unknown keys, wrong types, values out
    of the ranges the C binding accepts), [] when valid; never raises for bad values. See OceanSpec.check_params."""
    return lookup(env_name).check_params(env_kwargs)


def num_agents(env_name, env_kwargs):
    """Agent rows of one env object: num_envs C envs times agents per C env (which may depend on parameters)."""
    return int(env_kwargs.get('num_envs', COMMON_PARAMS['num_envs'])) * lookup(env_name).agents_for(env_kwargs)
