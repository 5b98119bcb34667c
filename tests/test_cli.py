"""The `puffer` command driven as a user would: as a subprocess, from a directory outside the repository."""
import os
import subprocess
import sys


from pufferlib import config as puffer_config

ENV = 'puffer_cartpole'


def puffer(*args, cwd=None, timeout=120):
    """Run `puffer ARGS` through the installed entry point when present, else the module."""
    env = dict(os.environ)
    env.pop('PUFFER_CONFIG_PATH', None)
    return subprocess.run([sys.executable, '-m', 'pufferlib.cli', *args], capture_output=True, text=True,
                          cwd=cwd or '/', env=env, timeout=timeout)


def test_help_lists_commands():
    result = puffer('--help')
    assert result.returncode == 0
    for command in ('train', 'eval', 'sweep', 'list', 'config'):
        assert command in result.stdout


def test_config_prints_resolved_ini_that_loads_back(tmp_path):
    flags = ['--train.learning-rate', '3e-4', '--vec.num-envs', '8', '--vec.backend', 'Multiprocessing']
    result = puffer('config', ENV, *flags)
    assert result.returncode == 0, result.stderr
    assert 'learning_rate = 0.0003' in result.stdout.splitlines()
    assert 'num_envs = 8' in result.stdout.splitlines()
    path = tmp_path / 'printed.ini'
    path.write_text(result.stdout)
    expected = puffer_config.load(ENV, overrides={'train.learning_rate': 3e-4, 'vec.num_envs': 8,
                                                  'vec.backend': 'Multiprocessing'})
    assert puffer_config.load_file(str(path), fill_in_default=False) == expected


def test_typo_exits_nonzero_with_suggestion_and_no_traceback():
    result = puffer('config', ENV, '--train.learning-rat', '3e-4')
    assert result.returncode == 2
    assert 'did you mean train.learning_rate?' in result.stderr
    assert 'Traceback' not in result.stderr


def test_flag_without_section_suggests_the_sectioned_name():
    result = puffer('config', ENV, '--learning-rate', '3e-4')
    assert result.returncode == 2
    assert 'unknown flag --learning-rate; did you mean train.learning_rate?' in result.stderr


def test_unknown_environment_and_command():
    result = puffer('config', 'puffer_cartpol')
    assert result.returncode == 2 and 'closest: puffer_cartpole' in result.stderr
    result = puffer('trian', ENV)
    assert result.returncode == 2 and "did you mean train?" in result.stderr


def test_list_shows_every_environment_with_config_and_description():
    result = puffer('list')
    assert result.returncode == 0
    for name, path, description in puffer_config.list_environments():
        line = next(l for l in result.stdout.splitlines() if l.split() and l.split()[0] == name)
        assert path in line and description in line
        assert description, f'{path} has no description comment on its first line'


def test_train_help_lists_every_option_with_default_and_help():
    result = puffer('train', ENV, '--help')
    assert result.returncode == 0
    config = puffer_config.load(ENV, resolve=False)
    for section, items in config.items():
        if section.startswith('sweep.'):
            continue
        for key, value in items.items():
            flag = f'--{key.replace("_", "-")}' if section == 'base' else f'--{section}.{key.replace("_", "-")}'
            line = next((l for l in result.stdout.splitlines() if l.strip().startswith(flag + ' ')), None)
            assert line is not None, f'{flag} missing from --help'
            assert puffer_config.format_value(value) in line
            if section not in ('env', 'policy', 'rnn'):
                assert puffer_config.help_text(section, key) in line
    assert '--resume' in result.stdout and '--load-model-path' in result.stdout


def test_bad_value_type_on_command_line():
    result = puffer('config', ENV, '--train.total-timesteps', 'lots')
    assert result.returncode == 2
    assert "train.total_timesteps = 'lots': expected an integer" in result.stderr


def test_config_works_from_any_directory(tmp_path):
    result = puffer('config', ENV, cwd=str(tmp_path))
    assert result.returncode == 0 and '[train]' in result.stdout


def test_train_help_lists_the_policy_class_options_no_config_sets():
    out = puffer('train', 'puffer_continuous', '--help')
    assert out.returncode == 0
    for flag in ('--policy.hidden-size', '--policy.layer-sizes', '--policy.tanh-squash', '--policy.init-gain'):
        assert flag in out.stdout, flag
    assert "Policy's own default" in out.stdout
