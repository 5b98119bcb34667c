"""A saved policy brought back to life for `puffer eval` and `puffer export`.

A model file is only useful with the policy and env settings it was trained with, so a model that lives in a run
directory brings that run's config.ini: its [base], [policy], [rnn] and [env] sections (and the observation keys of
[train]: obs_norm and its kin) replace the ones given, and the policy built from them has the saved shapes. Files
are read weights-only (pufferlib.runs.checkpoint.read): a file that would need the full unpickler, which can run any code
stored in it, is refused before anything in it runs.
"""
import os

from pufferlib import models, runs

from pufferlib.runs import checkpoint

from pufferlib import envs
from pufferlib import config as puffer_config
from pufferlib.exceptions import ConfigError

MODEL_SECTIONS = ('base', 'policy', 'rnn', 'env')
# [train] keys that shape the policy itself (its observation transform and normalizer): taken from the run too.
MODEL_TRAIN_KEYS = ('obs_norm', 'obs_norm_clip', 'obs_subtract_mean', 'obs_scale')


# Raised by checkpoint.read; named here too for the callers that catch them around loading a policy.
CheckpointError = checkpoint.CheckpointError
UnsafeCheckpointError = checkpoint.UnsafeCheckpointError


def find_model(load_model_path, config):
    """The model file `--load-model-path` names (a .pt file, a run directory, or latest), or None if not given."""
    if not load_model_path:
        return None
    return runs.resolve_model_path(str(load_model_path), config)


def run_config_path(model_path):
    """config.ini of the run the model belongs to, or None for a model file outside a run directory."""
    folder = os.path.dirname(os.path.abspath(model_path))
    if os.path.basename(folder) == 'checkpoints':  # a checkpoint of the run's history
        folder = os.path.dirname(folder)
    path = os.path.join(folder, runs.CONFIG_FILE)
    return path if os.path.exists(path) else None


def config_for_model(config, model_path, explicit=()):
    """`config` with the model's run settings ([base], [policy], [rnn], [env]) when it has a run config, except the
    [env] keys named in `explicit` ('env.key' flags of the command line), which keep the given value: a model
    trained with one env setting can be played with another (connect4 trained with random_opening, matched from the
    empty board with --env.random-opening 0).

    Returns (config, run config path or None). The given config is not modified.
    """
    config = {section: dict(items) for section, items in config.items()}
    path = None if model_path is None else run_config_path(model_path)
    if path is None:
        return config, None
    saved = puffer_config.load_file(path)
    wanted, trained = runs.env_identity(config), runs.env_identity(saved)
    if wanted != trained:
        raise ConfigError(f'the model at {model_path} was trained on {trained} (package {saved["base"]["package"]}, '
                          f'see {path}), not {wanted}; pass {runs.env_folder_name(saved["base"]["env_name"])} '
                          'and its [env] settings as the environment')
    given = {key: value for key, value in config.get('env', {}).items() if f'env.{key}' in explicit}
    for section in MODEL_SECTIONS:
        config[section] = dict(saved[section])
    config['env'].update(given)
    config.setdefault('train', {})
    for key in MODEL_TRAIN_KEYS:
        if key in saved.get('train', {}):
            config['train'][key] = saved['train'][key]
    return config, path


def make_env(config, seed, **env_overrides):
    """One env object of `config`'s [base] package and env_name, built with [env] updated by `env_overrides`."""
    base = config['base']
    creator = envs.env_creator(base['package'], base['env_name'])
    return creator(buf=None, seed=seed, **{**config['env'], **env_overrides})


def single_env_overrides(config):
    """[env] changes for one env object of a single sub-env (where the env has [env] num_envs)."""
    base = config['base']
    parameters = envs.env_parameters(base['package'], base['env_name'])
    return {'num_envs': 1} if parameters is not None and 'num_envs' in parameters else {}


def make_policy(config, env):
    """The policy `config` describes, sized for `env`'s spaces, on the CPU, in evaluation mode."""
    base = config['base']
    policy = models.make_policy(env, base['policy_name'], base['rnn_name'], config['policy'], config['rnn'],
                                config.get('train'))
    return policy.eval()


def read_weights(path):
    """The policy state_dict saved at `path` (a model file or a training checkpoint), read weights-only."""
    return checkpoint.read_weights(path)


def load_weights(policy, state, path):
    """Copy `state` into `policy`; any missing, unexpected or differently shaped parameter is a ConfigError that
    names each of them with both shapes."""
    expected = policy.state_dict()
    problems = [f'{name} is missing from the file' for name in expected if name not in state]
    problems += [f'{name} is in the file but not in the policy' for name in state if name not in expected]
    problems += [f'{name} has shape {list(state[name].shape)} in the file but {list(value.shape)} in the policy'
                 for name, value in expected.items() if name in state and state[name].shape != value.shape]
    if problems:
        shown = '; '.join(problems[:6]) + (f'; and {len(problems) - 6} more' if len(problems) > 6 else '')
        raise ConfigError(f'the model at {path} does not fit the {type(policy).__name__} built from this config '
                          f'({shown}). Use the [policy]/[rnn]/[env] settings it was trained with, or pass its run '
                          'directory so its config.ini is used')
    policy.load_state_dict(state)
    return policy


def load_policy(config, env, model_path):
    """The policy of `config` for `env` with the weights at `model_path` loaded into it."""
    state = read_weights(model_path)
    return load_weights(make_policy(config, env), state, model_path)
