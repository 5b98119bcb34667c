"""Configuration loading: precedence, typing, auto values, strict checks, round trips, and a fuzzer."""
import os
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pufferlib import config as puffer_config
from pufferlib.cli import COMMANDS, parse_command_line
from pufferlib.exceptions import ConfigError

ENV = 'puffer_cartpole'


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def problems_of(excinfo):
    return '\n'.join(excinfo.value.problems)


@pytest.fixture
def user_env_dir(tmp_path, monkeypatch):
    """A folder on PUFFER_CONFIG_PATH holding a user's own environment config."""
    folder = tmp_path / 'user_configs'
    folder.mkdir()
    monkeypatch.setenv('PUFFER_CONFIG_PATH', str(folder))
    return folder


# ------------------------------------------------------------------------------------------------ precedence

def test_default_ini_has_every_reference_key_with_help():
    defaults = puffer_config.typed_defaults()
    expected = {
        'base': ['package', 'env_name', 'policy_name', 'rnn_name'],
        'vec': ['backend', 'num_envs', 'num_workers', 'batch_size', 'zero_copy', 'seed'],
        'train': ['device', 'total_timesteps', 'batch_size', 'bptt_horizon', 'minibatch_size',
                  'max_minibatch_size', 'optimizer', 'learning_rate', 'lr_schedule', 'lr_final_ratio',
                  'lr_adaptive_kl', 'lr_adaptive_min', 'lr_adaptive_max', 'adam_beta1', 'adam_beta2', 'adam_eps',
                  'max_grad_norm', 'gamma', 'gae_lambda', 'update_epochs', 'clip_coef', 'clip_schedule',
                  'clip_final_ratio', 'vf_coef', 'vf_clip_coef', 'vf_clip_schedule', 'vf_clip_final_ratio',
                  'ent_coef', 'ent_schedule', 'ent_final_ratio', 'vtrace_rho_clip', 'vtrace_c_clip', 'prio_alpha',
                  'prio_beta0', 'precision', 'compile', 'compile_mode', 'cpu_offload', 'data_dir',
                  'checkpoint_interval', 'seed', 'torch_deterministic'],
        'sweep': ['method', 'metric', 'goal', 'max_runs'],
    }
    for section, keys in expected.items():
        for key in keys:
            assert key in defaults[section], f'{section}.{key} missing from default.ini'
    for section in ('env', 'policy', 'rnn'):
        assert section in defaults
    for section, items in defaults.items():
        for key in items:
            assert puffer_config.help_text(section, key), f'{section}.{key} has no help comment'
    assert defaults['train']['device'] == 'auto'
    spaces = [s for s in defaults if s.startswith('sweep.')]
    assert spaces and all(set(defaults[s]) <= set(puffer_config.SWEEP_SPACE_KEYS) for s in spaces)


def test_precedence_default_env_files_flags(tmp_path):
    env_ini = puffer_config.parse_ini(open(puffer_config.find_env_config(ENV)).read())
    defaults = puffer_config.typed_defaults()
    config = puffer_config.load(ENV)
    # The env file overrides default.ini wherever it sets a key.
    for section, items in env_ini.sections.items():
        for key, raw in items.items():
            if section == 'base' and key == 'env_name':
                continue
            expected = puffer_config.coerce(raw, defaults.get(section, {}).get(key), key,
                                            puffer_config.AUTO_TYPES.get((section, key)))
            if expected != 'auto':
                assert config[section][key] == expected, f'{section}.{key}'
    # Keys the env file leaves alone keep their defaults.
    assert config['train']['adam_eps'] == defaults['train']['adam_eps'] or 'adam_eps' in env_ini.sections['train']

    first = write(tmp_path, 'first.ini', '[train]\nlearning_rate = 0.1\ngamma = 0.9\n')
    second = write(tmp_path, 'second.ini', '[train]\nlearning_rate = 0.2\n')
    config = puffer_config.load(ENV, config_files=[first, second])
    assert config['train']['learning_rate'] == 0.2       # later file wins
    assert config['train']['gamma'] == 0.9               # earlier file still applies
    config = puffer_config.load(ENV, config_files=[first, second], overrides={'train.learning_rate': '3e-4'})
    assert config['train']['learning_rate'] == 0.0003    # flags win over files
    assert config['train']['gamma'] == 0.9


def test_config_file_alone_names_the_environment(tmp_path):
    path = write(tmp_path, 'mine.ini', f'[base]\nenv_name = {ENV}\n\n[train]\nupdate_epochs = 3\n')
    config = puffer_config.load(None, config_files=[path])
    assert config['base']['env_name'] == ENV
    assert config['train']['update_epochs'] == 3


def test_overrides_accept_nested_and_flat_spellings():
    nested = puffer_config.load(ENV, overrides={'train': {'learning-rate': 0.004}, 'vec': {'seed': 7}})
    flat = puffer_config.load(ENV, overrides={'train.learning_rate': 0.004, 'vec.seed': '7'})
    assert nested['train']['learning_rate'] == flat['train']['learning_rate'] == 0.004
    assert nested['vec']['seed'] == flat['vec']['seed'] == 7


# ------------------------------------------------------------------------------------------------ typing

@pytest.mark.parametrize('flag, raw, expected', [
    ('train.learning_rate', '3e-4', 0.0003),
    ('train.total_timesteps', '100_000_000', 100_000_000),
    ('train.total_timesteps', '1e6', 1_000_000),
    ('train.cpu_offload', 'false', False),
    ('train.cpu_offload', 'True', True),
    ('train.cpu_offload', '0', False),
    ('train.lr_schedule', 'linear', 'linear'),
    ('train.compile', '1', True),
    ('train.data_dir', '/tmp/runs', '/tmp/runs'),
    ('base.rnn_name', 'None', None),
    ('train.batch_size', 'auto', 'auto'),
    ('train.device', 'cpu', 'cpu'),
])
def test_values_are_typed_by_the_default(flag, raw, expected):
    config = puffer_config.load(ENV, overrides={flag: raw}, resolve=False)
    section, key = flag.split('.')
    value = config[section][key]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize('flag, raw, message', [
    ('train.learning_rate', 'fast', 'expected a number'),
    ('train.total_timesteps', '1.5', 'expected an integer'),
    ('train.anneal_lr', 'maybe', 'expected a boolean'),
    ('vec.num_envs', 'auto', 'expected an integer'),
    ('train.bptt_horizon', 'sixty', 'expected an integer'),
    ('train.gamma', 'nan', 'finite'),
])
def test_wrong_types_name_key_value_and_expectation(flag, raw, message):
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, overrides={flag: raw})
    text = problems_of(excinfo)
    assert flag in text and repr(raw) in text and message in text


def test_hyphens_and_underscores_are_interchangeable():
    parsed = parse_command_line(COMMANDS['train'], [ENV, '--train.learning-rate', '0.5', '--vec.zero_copy',
                                                    'False', '--policy-name=Policy'])
    config = puffer_config.load(parsed.env_name, overrides=parsed.overrides)
    assert config['train']['learning_rate'] == 0.5
    assert config['vec']['zero_copy'] is False
    assert config['base']['policy_name'] == 'Policy'


# ------------------------------------------------------------------------------------------------ auto rules

def test_auto_num_workers_divides_num_envs_within_core_count(monkeypatch):
    monkeypatch.setattr(puffer_config, 'physical_cores', lambda: 4)
    config = puffer_config.load(ENV, overrides={'vec.backend': 'Multiprocessing', 'vec.num_envs': 6,
                                                'vec.num_workers': 'auto'})
    assert config['vec']['num_workers'] == 3
    config = puffer_config.load(ENV, overrides={'vec.backend': 'Multiprocessing', 'vec.num_envs': 8,
                                                'vec.num_workers': 'auto'})
    assert config['vec']['num_workers'] == 4
    config = puffer_config.load(ENV, overrides={'vec.backend': 'Multiprocessing', 'vec.num_envs': 7,
                                                'vec.num_workers': 'auto'})
    assert config['vec']['num_workers'] == 1
    config = puffer_config.load(ENV, overrides={'vec.backend': 'Serial', 'vec.num_envs': 8,
                                                'vec.num_workers': 'auto', 'vec.batch_size': 2})
    assert config['vec']['num_workers'] == 8  # in process, every env is its own worker: any batch of envs fits
    config = puffer_config.load(ENV, overrides={'vec.backend': 'PufferEnv', 'vec.num_envs': 1,
                                                'vec.num_workers': 'auto'})
    assert config['vec']['num_workers'] == 1


def test_auto_vec_batch_size_is_synchronous():
    config = puffer_config.load(ENV, overrides={'vec.num_envs': 4, 'vec.num_workers': 2, 'vec.batch_size': 'auto',
                                                'vec.backend': 'Multiprocessing'})
    assert config['vec']['batch_size'] == 4


def test_auto_train_batch_size_and_horizon():
    config = puffer_config.load(ENV, resolve=False)
    config['train'].update(batch_size='auto', bptt_horizon=16, minibatch_size=64, max_minibatch_size=64)
    puffer_config.resolve_train_auto(config, num_agents=32)
    assert config['train']['batch_size'] == 32 * 16

    config['train'].update(batch_size=2048, bptt_horizon='auto')
    puffer_config.resolve_train_auto(config, num_agents=32)
    assert config['train']['bptt_horizon'] == 64

    config['train'].update(batch_size='auto', bptt_horizon='auto')
    with pytest.raises(ConfigError, match='both auto'):
        puffer_config.resolve_train_auto(config, num_agents=32)


def test_both_train_autos_rejected_at_load():
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, overrides={'train.batch_size': 'auto', 'train.bptt_horizon': 'auto'})
    assert 'train.batch_size and train.bptt_horizon are both auto' in problems_of(excinfo)


def test_auto_device_resolves_to_an_available_device():
    import torch
    assert puffer_config.resolve_device('auto') == ('cuda' if torch.cuda.is_available() else 'cpu')
    assert puffer_config.resolve_device('cpu') == 'cpu'


# ------------------------------------------------------------------------------------------------ strict checks

@pytest.mark.parametrize('overrides, expected', [
    ({'vec.backend': 'Multiprocessing', 'vec.num_envs': 6, 'vec.num_workers': 4},
     'vec.num_workers = 4 does not divide vec.num_envs = 6; valid num_workers: 1, 2, 3, 6'),
    ({'vec.backend': 'Multiprocessing', 'vec.num_envs': 8, 'vec.num_workers': 4, 'vec.batch_size': 3},
     'vec.batch_size = 3 must divide vec.num_envs = 8 and be a multiple of the envs per worker'),
    ({'vec.backend': 'Multiprocessing', 'vec.num_envs': 8, 'vec.num_workers': 2, 'vec.batch_size': 2},
     'valid: 4, 8'),
    ({'vec.backend': 'PufferEnv', 'vec.num_envs': 2}, 'vec.num_envs = 2 with vec.backend = PufferEnv'),
    ({'env.num_envs': 1, 'train.batch_size': 1000, 'train.bptt_horizon': 64, 'train.minibatch_size': 64},
     'train.batch_size = 1000 must be a multiple of train.bptt_horizon = 64'),
    ({'env.num_envs': 1, 'train.batch_size': 4096, 'train.bptt_horizon': 64, 'train.minibatch_size': 100},
     'train.minibatch_size = 100 must be a multiple of train.bptt_horizon = 64'),
    ({'env.num_envs': 1, 'train.batch_size': 1024, 'train.bptt_horizon': 64, 'train.minibatch_size': 2048,
      'train.max_minibatch_size': 2048}, 'train.minibatch_size = 2048 exceeds train.batch_size = 1024'),
    ({'env.num_envs': 1, 'train.batch_size': 64 * 6, 'train.bptt_horizon': 64, 'train.minibatch_size': 256,
      'train.max_minibatch_size': 256}, 'train.minibatch_size = 256 does not divide train.batch_size = 384'),
    ({'env.num_envs': 1, 'train.batch_size': 4096, 'train.bptt_horizon': 64, 'train.minibatch_size': 1024,
      'train.max_minibatch_size': 384},
     'but 384 does not divide 1024; valid max_minibatch_size: 64, 128, 256'),
    ({'env.num_envs': 1, 'train.batch_size': 4096, 'train.bptt_horizon': 64, 'train.minibatch_size': 1024,
      'train.max_minibatch_size': 100}, 'train.max_minibatch_size = 100 must be a multiple of train.bptt_horizon'),
    ({'train.optimizer': 'sgd'}, "train.optimizer = 'sgd' is not valid; choose one of: adam, muon"),
    ({'vec.backend': 'Multiprocesing'}, 'did you mean Multiprocessing?'),
    ({'train.precision': 'float16'}, 'choose one of: float32, bfloat16'),
    ({'train.gamma': 1.5}, 'train.gamma = 1.5 is out of range; valid: [0, 1]'),
    ({'train.learning_rate': 0}, 'train.learning_rate = 0.0 is out of range'),
    ({'train.device': 'gpu'}, "train.device = 'gpu' is not valid; use auto, cpu, cuda or cuda:N"),
    ({'vec.num_envs': 0}, 'vec.num_envs = 0 must be at least 1'),
    ({'train.update_epochs': -1}, 'train.update_epochs = -1 must be at least 1'),
])
def test_impossible_combinations_are_named_with_valid_choices(overrides, expected):
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, overrides=overrides)
    assert expected in problems_of(excinfo)


def test_segments_must_cover_every_agent():
    config = puffer_config.load(ENV, resolve=False)
    config['train'].update(batch_size=64 * 6, bptt_horizon=64, minibatch_size=128, max_minibatch_size=128)
    with pytest.raises(ConfigError, match='not a multiple of the 4 agents; use a multiple of 256'):
        puffer_config.resolve_train_auto(config, num_agents=4)


def test_unknown_section_and_keys_suggest_the_closest_name(tmp_path):
    path = write(tmp_path, 'typos.ini', '''
        [trian]
        gamma = 0.9

        [train]
        learning_rat = 0.1
    ''')
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, config_files=[path])
    text = problems_of(excinfo)
    assert 'unknown section [trian]; did you mean train?' in text
    assert 'unknown key train.learning_rat; did you mean train.learning_rate?' in text
    assert len(excinfo.value.problems) == 2  # reported together


def test_several_problems_are_reported_together():
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, overrides={'train.learning_rat': 1, 'train.gamma': 7, 'vec.seed': 'x'})
    assert len(excinfo.value.problems) == 3
    assert str(excinfo.value).startswith('3 configuration problems')


def test_unknown_environment_lists_closest_names():
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load('puffer_cartpol')
    assert "unknown environment 'puffer_cartpol'; closest: puffer_cartpole" in str(excinfo.value)


def test_env_policy_and_rnn_keys_are_checked_against_what_they_accept():
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, overrides={'env.not_a_parameter': 1, 'policy.hiden_size': 3,
                                           'rnn.hidden_size': 2})
    text = problems_of(excinfo)
    assert 'unknown key env.not_a_parameter for puffer_cartpole' in text
    assert 'unknown key policy.hiden_size for Policy; did you mean policy.hidden_size?' in text
    assert '[rnn] sets hidden_size but base.rnn_name = None' in text


def test_unknown_policy_class_lists_the_valid_ones():
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, overrides={'base.policy_name': 'Polcy'})
    text = problems_of(excinfo)
    assert "base.policy_name = 'Polcy' is not a policy class in pufferlib.models; did you mean Policy?" in text
    assert 'Convolutional' in text and 'LSTMWrapper' not in text


def test_another_policy_class_starts_its_section_afresh(tmp_path):
    """The env file's [policy] keys belong to its own class: picking another class by flag or file drops them
    (they would be unknown keys there), but keys the user sets again are kept and checked."""
    env_file = puffer_config.load('puffer_tetris')
    assert env_file['base']['policy_name'] == 'ActionFeaturePolicy' and 'feature_hidden' in env_file['policy']
    plain = puffer_config.load('puffer_tetris', overrides={'base.policy_name': 'Policy'})
    assert plain['policy'] == {}
    sized = puffer_config.load('puffer_tetris', overrides={'base.policy_name': 'Policy', 'policy.hidden_size': 64})
    assert sized['policy'] == {'hidden_size': 64}
    user_file = tmp_path / 'mlp.ini'
    user_file.write_text('[base]\npolicy_name = Policy\n[policy]\nnum_layers = 2\n')
    assert puffer_config.load('puffer_tetris', config_files=[user_file])['policy'] == {'num_layers': 2}
    with pytest.raises(ConfigError, match='unknown key policy.feature_hidden for Policy'):
        puffer_config.load('puffer_tetris', overrides={'base.policy_name': 'Policy', 'policy.feature_hidden': 4})
    # The same class keeps the env file's keys under the user's.
    same = puffer_config.load('puffer_tetris', overrides={'policy.hidden_size': 32})
    assert same['policy']['hidden_size'] == 32 and 'feature_hidden' in same['policy']


def test_malformed_ini_lines_name_file_and_line(tmp_path):
    path = write(tmp_path, 'broken.ini', '[train\ngamma = 0.9\n[vec]\nthis line has no equals sign\n')
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, config_files=[path])
    text = problems_of(excinfo)
    assert f'{path}:1: section header' in text and "missing its closing" in text
    assert f'{path}:4: expected "[section]" or "key = value"' in text


def test_duplicate_keys_and_missing_files_are_errors(tmp_path):
    path = write(tmp_path, 'dupes.ini', '[train]\ngamma = 0.9\ngamma = 0.8\n')
    with pytest.raises(ConfigError, match="key 'gamma' appears twice in section"):
        puffer_config.load(ENV, config_files=[path])
    with pytest.raises(ConfigError, match="cannot read config file"):
        puffer_config.load(ENV, config_files=[str(tmp_path / 'missing.ini')])


@pytest.mark.parametrize('space, expected', [
    ('distribution = log_normal\nmin = 0.1\nmax = 0.01\nmean = 0.05\nscale = auto',
     'min = 0.1 is greater than sweep.train.learning_rate.max = 0.01'),
    ('distribution = log_normal\nmin = 0.001\nmax = 0.01\nmean = 0.5\nscale = auto', 'mean = 0.5 is outside'),
    ('distribution = gaussian\nmin = 0.001\nmax = 0.01', 'valid distributions: uniform, int_uniform'),
    ('distribution = log_normal\nmin = 0.001\nmax = 0.01\nscale = wide', 'expected a number, auto or time'),
    ('distribution = log_normal\nmin = 0.001\nmax = 0.01\nsigma = 1', 'unknown key sweep.train.learning_rate.sigma'),
    ('distribution = log_normal\nmin = 0\nmax = 0.01', 'must be > 0 for distribution log_normal'),
])
def test_invalid_sweep_spaces(tmp_path, space, expected):
    path = write(tmp_path, 'sweep.ini', '[sweep.train.learning_rate]\n' + space + '\n')
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, config_files=[path])
    assert expected in problems_of(excinfo)


def test_sweep_space_must_name_a_config_key(tmp_path):
    path = write(tmp_path, 'sweep.ini', '[sweep.train.learning_rat]\ndistribution = uniform\nmin = 0\nmax = 1\n')
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, config_files=[path])
    assert 'searches train.learning_rat, which is not a config key; did you mean train.learning_rate?' in \
        problems_of(excinfo)


# ------------------------------------------------------------------------------------------------ env parameters

def ocean_configs():
    """{Ocean env name: its .ini path} for every registered Ocean env that has a config file."""
    import pufferlib.envs.ocean as ocean
    index = puffer_config.environment_index()
    return {name: index[name] for name in ocean.list_envs() if name in index}


def test_every_ocean_env_resolves_every_c_parameter():
    """[env] is filled from the parameters the env declares, below every ini layer: an Ocean .ini lists only what
    it changes, yet the resolved config (what `puffer config` prints and runs save) holds every C parameter, typed
    and valued as its C default wherever the .ini leaves it out."""
    import pufferlib.envs.ocean as ocean
    assert len(ocean_configs()) >= 15
    for name, path in ocean_configs().items():
        resolved = puffer_config.load(name)['env']
        written = puffer_config.read_ini(path).sections.get('env', {})
        declared = ocean.env_parameters(name)
        assert set(declared) <= set(resolved), (name, sorted(set(declared) - set(resolved)))
        assert list(resolved)[:len(declared)] == list(declared)  # printed in the order C declares them
        for key, default in declared.items():
            if key not in written:
                assert resolved[key] == default and type(resolved[key]) is type(default), (name, key)


def without_config_file(monkeypatch, *names):
    """The config index as if `names` had no .ini (a new Ocean env: its folder is all it has)."""
    index = {key: path for key, path in puffer_config.environment_index().items() if key not in names}
    monkeypatch.setattr(puffer_config, 'environment_index', lambda: index)


def test_an_ocean_env_without_a_config_file_trains_with_ocean_ini_and_its_c_defaults(monkeypatch):
    """A new Ocean env needs no .ini: it loads config/ocean.ini over default.ini with [env] from its C defaults, the
    sizes fit whatever its agents per env, `puffer list` shows it with its C description, and a misspelt name is
    still answered with the closest names."""
    import pufferlib.envs.ocean as ocean
    without_config_file(monkeypatch, 'puffer_bandit', 'puffer_swarm')
    config = puffer_config.load('puffer_bandit')
    defaults = puffer_config.typed_defaults()
    assert config['base']['env_name'] == 'puffer_bandit' and config['base']['package'] == 'ocean'
    assert config['vec']['backend'] == 'PufferEnv' and config['env']['num_envs'] == 128
    assert {key: config['env'][key] for key in ocean.lookup('puffer_bandit').params} == \
        ocean.lookup('puffer_bandit').params
    assert config['train']['learning_rate'] == defaults['train']['learning_rate']
    assert config['train']['batch_size'] == 128 * defaults['train']['bptt_horizon']
    rows = {name: (path, description) for name, path, description in puffer_config.list_environments()}
    assert rows['puffer_bandit'] == ('ocean.ini', ocean.lookup('puffer_bandit').description)
    with pytest.raises(ConfigError, match='closest: puffer_bandit'):
        puffer_config.load('puffer_bandt')
    agents = ocean.lookup('puffer_swarm').agents_for({})
    swarm = puffer_config.load('puffer_swarm', overrides={'env.num_envs': 1})  # many agents per env: still valid
    assert agents > 1 and swarm['train']['batch_size'] == agents * defaults['train']['bptt_horizon']


def test_every_shipped_ocean_config_changes_something(monkeypatch):
    """A config file that resolves to what the env would get without it (config/ocean.ini and the C defaults) says
    nothing: delete it."""
    same = []
    for name in ocean_configs():
        with monkeypatch.context() as patch:
            without_config_file(patch, name)
            bare = puffer_config.load(name)
        if puffer_config.load(name) == bare:
            same.append(name)
    assert not same


def test_shipped_ocean_configs_hold_only_values_that_differ_from_the_c_defaults():
    """A value restated in an .ini would hide a later change of the C default: each [env] line must change one."""
    import pufferlib.envs.ocean as ocean
    restated = []
    for name, path in ocean_configs().items():
        declared = ocean.env_parameters(name)
        for key, text in puffer_config.read_ini(path).sections.get('env', {}).items():
            if key in declared and puffer_config.coerce(text, declared[key], key) == declared[key]:
                restated.append(f'{os.path.basename(path)}: {key} = {text}')
    assert not restated


def test_env_values_are_typed_by_the_declared_default_and_checked_by_name(tmp_path):
    """Flags and files set [env] keys the .ini leaves out, typed by the C default (a float parameter stays a
    float); a bad value or a misspelt key is still named."""
    pong = puffer_config.load('puffer_pong', overrides={'env.opponent_speed': '3', 'env.frameskip': '2'})
    assert pong['env']['opponent_speed'] == 3.0 and isinstance(pong['env']['opponent_speed'], float)
    assert pong['env']['frameskip'] == 2 and isinstance(pong['env']['frameskip'], int)
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load('puffer_pong', overrides={'env.frameskip': '2.5', 'env.framskip': '3'})
    text = problems_of(excinfo)
    assert "env.frameskip = '2.5': expected an integer" in text
    assert 'unknown key env.framskip for puffer_pong; did you mean env.frameskip?' in text
    with pytest.raises(ConfigError, match=r'env.frameskip = 99 is outside \[1, 16\] for puffer_pong'):
        puffer_config.load('puffer_pong', overrides={'env.frameskip': '99'})


def test_sweep_over_an_env_key_the_ini_leaves_to_its_default(tmp_path):
    """[sweep.env.<key>] needs the key in the resolved [env]: it is there from the C declaration, as an int, and a
    trial's value for it is a valid config."""
    from pufferlib.sweep import spaces as sweep_spaces
    assert 'frameskip' not in puffer_config.read_ini(ocean_configs()['puffer_breakout']).sections['env']
    path = write(tmp_path, 'sweep.ini', '[sweep.env.frameskip]\ndistribution = int_uniform\nmin = 2\nmax = 6\n')
    config = puffer_config.load('puffer_breakout', config_files=[path])
    (space,) = [space for space in sweep_spaces.spaces_from_config(config) if space.name == 'env.frameskip']
    assert space.integer
    trial = sweep_spaces.apply_params(config, {'env.frameskip': 3})
    assert puffer_config.validate(trial)['env']['frameskip'] == 3


# ------------------------------------------------------------------------------------------------ round trips

@pytest.mark.parametrize('env_name', ['puffer_cartpole', 'puffer_squared', 'puffer_breakout'])
def test_resolved_config_round_trips_through_ini(tmp_path, env_name):
    config = puffer_config.load(env_name, overrides={'train.learning_rate': 0.000123, 'vec.seed': 5})
    path = tmp_path / 'resolved.ini'
    path.write_text(puffer_config.to_ini(config))
    assert puffer_config.load_file(str(path), fill_in_default=False) == config
    assert puffer_config.load_file(str(path)) == config
    assert puffer_config.load(None, config_files=[str(path)]) == config


def test_load_file_without_defaults_keeps_only_the_file(tmp_path):
    path = write(tmp_path, 'small.ini', f'''
        [base]
        env_name = {ENV}

        [train]
        learning_rate = 0.5
        anneal_lr = false
        batch_size = 4096
        minibatch_size = 1024
    ''')
    config = puffer_config.load_file(path, fill_in_default=False)
    # A file written before the schedules: anneal_lr = false is read as lr_schedule = constant.
    assert config == {'base': {'env_name': ENV}, 'train': {'learning_rate': 0.5, 'lr_schedule': 'constant',
                                                           'batch_size': 4096, 'minibatch_size': 1024}}
    filled = puffer_config.load_file(path)
    assert filled['train']['learning_rate'] == 0.5
    assert filled['train']['gamma'] == puffer_config.typed_defaults()['train']['gamma']


def test_load_file_checks_environment_keys(tmp_path):
    path = write(tmp_path, 'bad_env.ini', f'[base]\nenv_name = {ENV}\n\n[env]\nnot_a_parameter = 8\n')
    with pytest.raises(ConfigError, match=f'unknown key env.not_a_parameter for {ENV}'):
        puffer_config.load_file(path)


def test_config_is_plain_data_that_code_may_modify_and_revalidate():
    config = puffer_config.load(ENV)
    config['train']['learning_rate'] = 0.01
    puffer_config.validate(config)
    config['train']['gamma'] = 3.0
    config['train']['optimiser'] = 'adam'
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.validate(config)
    assert 'unknown key train.optimiser; did you mean train.optimizer?' in problems_of(excinfo)


def test_user_config_folder_adds_environments(user_env_dir):
    (user_env_dir / 'my_acrobot.ini').write_text(
        '# Acrobot with my settings\n[base]\npackage = gymnasium\nenv_name = my_acrobot\n\n'
        '[vec]\nnum_envs = 4\n\n[env]\nname = Acrobot-v1\n\n[train]\nlearning_rate = 0.02\nbptt_horizon = 64\n'
        'minibatch_size = 256\n')
    names = {row[0]: row for row in puffer_config.list_environments()}
    assert names['my_acrobot'][2] == 'Acrobot with my settings'
    config = puffer_config.load('my_acrobot')
    assert config['train']['learning_rate'] == 0.02 and config['env']['name'] == 'Acrobot-v1'


# ------------------------------------------------------------------------------------------------ fuzzing

REAL_KEYS = [(s, k) for s, items in puffer_config.typed_defaults().items() for k in items]
SECTION_NAMES = list(puffer_config.SECTIONS) + ['sweep.train.gamma', 'sweep.vec.seed', 'trian', 'sweep.x', 'Base',
                                                'sweep.train.nope', '', ' ', 'a b']
VALUE_TEXT = st.one_of(
    st.sampled_from(['auto', 'None', 'True', 'false', '0', '1', '-1', '1e6', '3e-4', '100_000', 'nan', 'inf',
                     '', 'Serial', 'Multiprocessing', 'adam', 'muon', 'log_normal', 'uniform', 'bfloat16', '2',
                     '64', '128', '4096', '0.5', '1.5', 'x' * 5, '1_', '_1', '--', '[x]', '=', '#', ';']),
    st.integers(-10**6, 10**9).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
)
LINE = st.one_of(
    st.builds(lambda s: f'[{s}]', st.sampled_from(SECTION_NAMES) | st.text(max_size=8)),
    st.builds(lambda key, value: f'{key} = {value}', st.sampled_from([k for _, k in REAL_KEYS] + [
        'distribution', 'min', 'max', 'mean', 'scale', 'num_envs', 'width', 'hidden_size']) | st.text(max_size=8),
              VALUE_TEXT),
    st.builds(lambda c: f'# {c}', st.text(max_size=10)),
    st.text(max_size=20),
)
FLAG = st.one_of(
    st.builds(lambda sk, v: [f'--{sk[0]}.{sk[1].replace("_", "-")}', v], st.sampled_from(REAL_KEYS), VALUE_TEXT),
    st.builds(lambda sk, v: [f'--{sk[0]}.{sk[1]}={v}'], st.sampled_from(REAL_KEYS), VALUE_TEXT),
    st.builds(lambda k, v: [f'--{k}', v], st.text(max_size=10), VALUE_TEXT),
    st.lists(st.text(max_size=10), max_size=2),
)


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(LINE, max_size=12), flags=st.lists(FLAG, max_size=4), use_env=st.booleans())
def test_random_ini_text_and_flags_either_load_or_raise_config_error(tmp_path_factory, lines, flags, use_env):
    folder = tmp_path_factory.mktemp('fuzz', numbered=True)
    path = os.path.join(folder, 'fuzz.ini')
    with open(path, 'w', encoding='utf-8', errors='surrogatepass') as f:
        f.write('\n'.join(lines))
    argv = ([ENV] if use_env else []) + ['--config', path] + [token for flag in flags for token in flag]
    try:
        parsed = parse_command_line(COMMANDS['train'], argv)
        config = puffer_config.load(parsed.env_name, overrides=parsed.overrides, config_files=parsed.config_files)
    except ConfigError:
        return
    # Whatever loads must survive a round trip as well.
    assert puffer_config.load_file(_dump(folder, config), fill_in_default=False) == config


def _dump(folder, config):
    path = os.path.join(folder, 'roundtrip.ini')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(puffer_config.to_ini(config))
    return path


# ------------------------------------------------------------------------------------------------ hardening

def one_env(**overrides):
    """Overrides for cartpole with one C env (one agent row), so the train sizes are easy to reason about."""
    return {'env.num_envs': 1, **overrides}


@given(st.integers(1, 5000))
def test_divisors_are_found_in_sqrt_time(n):
    assert puffer_config.divisors(n) == [d for d in range(1, n + 1) if n % d == 0]


@pytest.mark.parametrize('overrides, expected', [
    ({'train.minibatch_size': 10**12}, 'train.minibatch_size = 1000000000000 is above its maximum 1073741824'),
    ({'vec.num_envs': 10**11, 'vec.backend': 'Multiprocessing'}, 'vec.num_envs = 100000000000 is above its maximum'),
    ({'vec.num_envs': 2**31 - 1, 'vec.batch_size': 2**31}, 'vec.batch_size = 2147483648 is above its maximum 65536'),
    ({'train.seed': 2**32}, 'train.seed = 4294967296 is above its maximum'),
    ({'env.num_envs': 2**24}, 'env.num_envs = 16777216 must be an int in [1, 1048576]'),
    ({'vec.num_envs': 2**15, 'env.num_envs': 2**10}, 'make 33554432 agent rows, above the maximum 16777216'),
])
def test_sizes_are_bounded_and_checked_instantly(overrides, expected):
    import time
    start = time.perf_counter()
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, overrides=overrides)
    assert expected in problems_of(excinfo)
    assert time.perf_counter() - start < 2


def test_special_and_oversized_files_are_refused_without_reading_them(tmp_path):
    fifo = tmp_path / 'fifo.ini'
    os.mkfifo(fifo)  # opening it would wait for a writer forever
    big = tmp_path / 'big.ini'
    big.write_text('[train]\n' + 'gamma = 0.9\n' * 100_000)
    for path, message in (('/dev/zero', 'is not a regular file'), (str(fifo), 'is not a regular file'),
                          (str(tmp_path), 'is a directory'), (str(big), 'config files are limited to 1048576 bytes')):
        with pytest.raises(ConfigError, match=message):
            puffer_config.load(ENV, config_files=[path])


def test_a_file_full_of_mistakes_gives_a_short_error(tmp_path):
    path = write(tmp_path, 'many.ini', '[train]\n' + 'gamma = 0.9\n' * 50_000)
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, config_files=[path])
    assert len(str(excinfo.value)) < 5000
    assert len(excinfo.value.problems) <= puffer_config.MAX_PROBLEMS + 1


def test_long_values_are_cut_in_messages():
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, overrides={'train.gamma': 'x' * 100_000, 'train.optimizer': 'y' * 100_000})
    assert len(str(excinfo.value)) < 1000


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / 'bom.ini'
    path.write_bytes(b'\xef\xbb\xbf[train]\ngamma = 0.9\n')
    assert puffer_config.load(ENV, config_files=[str(path)])['train']['gamma'] == 0.9


@pytest.mark.parametrize('overrides, expected', [
    # each of these was a traceback (or passed `puffer config` and failed at `puffer train`)
    ({'env.num_envs': 0, 'train.bptt_horizon': 'auto', 'train.batch_size': 1024},
     'env.num_envs = 0 must be an int in [1, 1048576]'),
    ({'env.num_envs': -4}, 'env.num_envs = -4 must be an int in [1, 1048576]'),
    ({'policy.hidden_size': 0}, 'policy.hidden_size = 0 must be an int in [1, 65536]'),
    ({'train.data_dir': '/dev/null'}, "train.data_dir = '/dev/null' is not a folder"),
    ({'train.data_dir': '/dev/null/runs'}, "is under '/dev/null', which is not a folder"),
    ({'train.bptt_horizon': 1}, 'train.bptt_horizon = 1 must be at least 2'),
    ({'train.batch_size': 2048, 'train.bptt_horizon': 16, 'train.minibatch_size': 2048},
     'train.batch_size = 2048 gives 128 segments of train.bptt_horizon = 16, not a multiple of the 1024 agents'),
    ({'env.num_envs': 3, 'train.batch_size': 1024, 'train.bptt_horizon': 'auto'},
     'with train.bptt_horizon = auto must be a multiple of the 3 agent rows'),
    ({'train.precision': 'float16'}, "train.precision = 'float16' is not valid"),
])
def test_what_training_would_reject_is_rejected_up_front(overrides, expected):
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, overrides=overrides)
    assert expected in problems_of(excinfo)


def test_ocean_parameters_must_fit_a_c_int():
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load('puffer_snake', overrides={'env.width': 2**63})
    assert 'env.width = 9223372036854775808 is out of range; valid: [-2147483648, 2147483647]' in problems_of(excinfo)
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load('puffer_snake', overrides={'env.width': '1.5'})
    assert excinfo.value.problems == ["command line: env.width = '1.5': expected an integer, e.g. 1024 or 1_000_000"]


def test_vectorization_is_checked_as_pufferlib_vector_builds_it(monkeypatch):
    from pufferlib import vector
    from pufferlib.exceptions import APIUsageError
    monkeypatch.setattr(puffer_config, 'physical_cores', lambda: 2)
    for num_envs in range(1, 13):
        for backend in ('Serial', 'Multiprocessing', 'PufferEnv'):
            for workers in ('auto', 1, 2, 3, 4):
                for batch in ('auto', 1, 2, 3, 4, 6, 12):
                    overrides = {'vec.num_envs': num_envs, 'vec.backend': backend, 'vec.num_workers': workers,
                                 'vec.batch_size': batch}
                    try:
                        config = puffer_config.load(ENV, overrides=overrides)
                    except ConfigError:
                        accepted = False
                    else:
                        accepted = True
                        vec = config['vec']
                        workers_used = {'Serial': num_envs, 'PufferEnv': 1}.get(backend, vec['num_workers'])
                        assert vector.check_sizes(backend, num_envs, vec['num_workers'], vec['batch_size']) == (
                            workers_used, vec['batch_size'])
                    if not accepted and backend != 'PufferEnv':
                        given = None if workers == 'auto' else workers
                        if workers == 'auto' and backend == 'Multiprocessing':
                            given = max(d for d in range(1, 3) if num_envs % d == 0)
                        with pytest.raises(APIUsageError):
                            vector.check_sizes(backend, num_envs, given, None if batch == 'auto' else batch)


def test_every_problem_is_reported_at_once_even_after_a_type_error():
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, overrides=one_env(**{'train.batch_size': 'garbage', 'train.gamma': 2.0,
                                                     'train.bptt_horizon': 1, 'policy.hidden_size': 0}))
    text = problems_of(excinfo)
    for expected in ("train.batch_size = 'garbage': expected an integer", 'train.gamma = 2.0 is out of range',
                     'train.bptt_horizon = 1 must be at least 2', 'policy.hidden_size = 0 must be an int'):
        assert expected in text
    assert 'minibatch' not in text  # no second-hand complaints about a batch size that was not understood


TRAIN_KEYS = ('batch_size', 'bptt_horizon', 'minibatch_size', 'max_minibatch_size')


def train_sizes_pass(batch, horizon, minibatch, max_minibatch, agents):
    """The trainer's own requirements, written out independently of pufferlib.config."""
    return (horizon >= 2 and batch % horizon == 0 and (batch // horizon) % agents == 0 and
            batch // horizon >= agents and minibatch % horizon == 0 and minibatch <= batch and
            batch % minibatch == 0 and (minibatch <= max_minibatch or
                                        (minibatch % max_minibatch == 0 and max_minibatch % horizon == 0)))


def suggested_value(problem):
    """The first value a problem suggests for its own key: after 'e.g. ', 'valid ...: ' or 'use at most '."""
    import re
    match = re.search(r'(?:e\.g\. |valid(?: \w+)?: (?:\.\.\., )?|use at most )(\d+)', problem)
    return int(match.group(1)) if match else None


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.one_of(st.just('auto'), st.integers(1, 2**16)), horizon=st.one_of(st.just('auto'), st.integers(1, 512)),
       minibatch=st.integers(1, 2**16), max_minibatch=st.integers(1, 2**16), agents=st.integers(1, 64))
def test_following_the_suggestions_ends_in_a_config_training_accepts(batch, horizon, minibatch, max_minibatch,
                                                                    agents):
    config = {'train': dict(batch_size=batch, bptt_horizon=horizon, minibatch_size=minibatch,
                            max_minibatch_size=max_minibatch)}
    if batch == 'auto' and horizon == 'auto':
        return
    for _ in range(6):
        problems = []
        puffer_config.check_train(config, problems, num_agents=agents)
        if not problems:
            break
        key = next(k for k in TRAIN_KEYS if problems[0].startswith(f'train.{k} = '))
        value = suggested_value(problems[0])
        assert value is not None, problems[0]
        assert 1 <= value <= puffer_config.MAXIMA[('train', key)]
        config['train'][key] = value
    assert not problems, problems
    train = dict(config['train'])
    if train['batch_size'] == 'auto':
        train['batch_size'] = agents * train['bptt_horizon']
    if train['bptt_horizon'] == 'auto':
        train['bptt_horizon'] = train['batch_size'] // agents
    assert train_sizes_pass(*(train[k] for k in TRAIN_KEYS), agents)


@settings(max_examples=300, deadline=None)
@given(sizes=st.tuples(st.integers(1, 4096), st.integers(1, 64), st.integers(1, 4096), st.integers(1, 4096)),
       agents=st.integers(1, 16))
def test_validate_accepts_exactly_the_sizes_training_accepts(sizes, agents):
    config = puffer_config.load(ENV, overrides={'env.num_envs': 1, 'train.minibatch_size': 16})
    config['train'].update(dict(zip(TRAIN_KEYS, sizes)))
    try:
        puffer_config.validate(config, num_agents=agents)
        accepted = True
    except ConfigError:
        accepted = False
    assert accepted == train_sizes_pass(*sizes, agents)


def test_minibatch_suggestion_divides_the_batch():
    with pytest.raises(ConfigError) as excinfo:
        puffer_config.load(ENV, overrides={'train.minibatch_size': 1000})
    problem = problems_of(excinfo)
    assert 'e.g. 1024' in problem and 'e.g. 992' not in problem


def test_resolve_train_auto_validates_what_the_trainer_needs():
    config = puffer_config.load(ENV, overrides={'env.num_envs': 1, 'train.minibatch_size': 16}, resolve=False)
    config['train'].update(batch_size='auto', bptt_horizon=1, minibatch_size=8, max_minibatch_size=8)
    with pytest.raises(ConfigError, match='bptt_horizon = 1 must be at least 2'):
        puffer_config.resolve_train_auto(config, num_agents=8)
    config['train'].update(batch_size=64, bptt_horizon=16)
    with pytest.raises(ConfigError, match='4 segments of train.bptt_horizon = 16, not a multiple of the 8 agents'):
        puffer_config.resolve_train_auto(config, num_agents=8)


# ------------------------------------------------------------------------------------------------ users' own envs

CHASE = '''
import gymnasium
import numpy as np


class Chase(gymnasium.Env):
    def __init__(self, size=5, render_mode=None):
        self.size = size
        self.observation_space = gymnasium.spaces.Box(0, size, (2,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.position = 0
        return np.array([self.position, self.size], np.float32), {}

    def step(self, action):
        self.position += int(action)
        done = self.position >= self.size
        return np.array([self.position, self.size], np.float32), float(done), done, False, {}


if 'Chase-v0' not in gymnasium.envs.registry:
    gymnasium.register('Chase-v0', entry_point=Chase)
'''


@pytest.fixture
def chase_folder(tmp_path, monkeypatch):
    """A folder holding a user's env module, as the current directory, and not on the import path (as when the
    `puffer` console script runs)."""
    import sys
    (tmp_path / 'chase_env.py').write_text(CHASE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, 'path', [p for p in sys.path if p not in ('', str(tmp_path))])
    monkeypatch.delitem(sys.modules, 'chase_env', raising=False)
    return tmp_path


def test_custom_file_inherits_its_package_config(chase_folder):
    path = write(chase_folder, 'chase.ini', '''
        [base]
        package = gymnasium
        env_name = chase

        [env]
        name = chase_env:Chase
    ''')
    config = puffer_config.load(config_files=[path])
    gymnasium_ini = puffer_config.load('gymnasium')
    assert config['base']['env_name'] == 'chase'  # its runs go to their own folder
    assert config['train']['learning_rate'] == gymnasium_ini['train']['learning_rate'] == 0.005
    assert config['train']['minibatch_size'] == 512 and config['vec']['backend'] == 'Serial'
    assert config['env'] == {'name': 'chase_env:Chase'}
    flags = puffer_config.load(config_files=[path], overrides={'train.learning_rate': 0.001})
    assert flags['train']['learning_rate'] == 0.001


@pytest.mark.parametrize('name', ['chase_env:Chase', 'chase_env:Chase-v0'])
def test_own_env_module_is_found_in_the_current_folder(chase_folder, name):
    from pufferlib.envs import gymnasium as gym_package
    env = gym_package.make(name=name, size=3)
    env.reset(seed=0)
    env.close()
    assert puffer_config.load('gymnasium', overrides={'env.name': name})['env']['name'] == name


def test_missing_env_module_is_a_config_problem(chase_folder):
    with pytest.raises(ConfigError, match="cannot import 'no_such_module'"):
        puffer_config.load('gymnasium', overrides={'env.name': 'no_such_module:Env'})
    with pytest.raises(ConfigError, match="env.name = 'NoSuchEnv-v0'"):
        puffer_config.load('gymnasium', overrides={'env.name': 'NoSuchEnv-v0'})
