"""Schedules of learning rate, entropy weight and clip ranges; the KL-adaptive learning rate; the old schedule keys
(anneal_lr, min_lr_ratio, min_ent_ratio) in config files and saved run folders."""
import io
import math
import os
import re
from types import SimpleNamespace

import pytest

from pufferlib import runs, schedules

from pufferlib.runs import checkpoint
from pufferlib import config as puffer_config
from pufferlib.dashboard import Dashboard
from pufferlib.exceptions import ConfigError
from pufferlib.runs import history, session

ENV = 'puffer_squared'
EPOCH = 32 * 7  # agent steps per epoch of small_config


def small_config(tmp_path, epochs=6, **train):
    """`epochs` epochs of 224 agent steps: 32 agents, 8-step segments, a checkpoint every 2 epochs."""
    return puffer_config.load(ENV, overrides={
        'env': {'num_envs': 32, 'log_interval': 4},
        'train': dict(dict(total_timesteps=EPOCH * epochs, bptt_horizon=8, minibatch_size=128,
                           max_minibatch_size=128, device='cpu', data_dir=str(tmp_path / 'experiments'),
                           checkpoint_interval=2), **train)})


def run(config, **options):
    return session.train(config, SimpleNamespace(**options), dashboard=Dashboard('test', live=False,
                                                                                 file=io.StringIO()))


def column(result, name):
    return [row[name] for row in runs.read_metrics(result.run_dir)]


# ------------------------------------------------------------------------------------------------ the schedules

@pytest.mark.parametrize('kind, expected', [
    ('constant', [0.1, 0.1, 0.1, 0.1]),
    ('linear', [0.1, 0.06, 0.02, 0.02]),          # 0.1 + (0.02 - 0.1) * progress
    ('cosine', [0.1, 0.06, 0.02, 0.02]),          # 0.02 + 0.08 * (1 + cos(pi * progress)) / 2
])
def test_schedule_values_at_the_start_middle_and_end(kind, expected):
    values = [schedules.value(kind, 0.1, 0.2, progress) for progress in (0.0, 0.5, 1.0, 1.5)]
    assert values == pytest.approx(expected, abs=1e-15)


def test_linear_and_cosine_differ_between_their_ends():
    assert schedules.value('linear', 1.0, 0.0, 0.25) == pytest.approx(0.75)
    assert schedules.value('cosine', 1.0, 0.0, 0.25) == pytest.approx((1 + math.cos(math.pi / 4)) / 2)


def test_cosine_is_evaluated_exactly_as_before():
    """Runs repeat bit for bit across the move to pufferlib.schedules: the same float operations, in order."""
    def previous(start, final_ratio, progress):  # trainer.cosine_schedule before the schedules
        floor = start * final_ratio
        return floor + (start - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    for start, ratio in ((0.015, 0.0), (0.003, 0.0), (0.02, 0.1), (0.001, 1.0), (0.00025, 0.37)):
        for progress in (0.0, 1 / 3, 0.5, 0.7777, 1.0, 1.2):
            assert schedules.value('cosine', start, ratio, progress) == previous(start, ratio, progress)
    assert schedules.value('cosine', 0.001, 1.0, 0.4) == 0.001  # a ratio of 1 is exactly constant


def test_unknown_schedule_is_named():
    with pytest.raises(ValueError, match="unknown schedule 'step'; valid: constant, linear, cosine"):
        schedules.value('step', 1.0, 0.0, 0.5)


def test_kl_adaptive_rule():
    """Sample Factory's kl_adaptive rule: above 2x the target divide by 1.5, below half of it multiply by 1.5."""
    assert schedules.kl_adaptive(0.003, 0.05, 0.01, 1e-6, 0.1) == pytest.approx(0.002)
    assert schedules.kl_adaptive(0.003, 0.001, 0.01, 1e-6, 0.1) == pytest.approx(0.0045)
    assert schedules.kl_adaptive(0.003, 0.01, 0.01, 1e-6, 0.1) == 0.003     # within [target / 2, 2 target]
    assert schedules.kl_adaptive(0.003, 0.02, 0.01, 1e-6, 0.1) == 0.003     # the bounds themselves too
    assert schedules.kl_adaptive(0.003, 0.005, 0.01, 1e-6, 0.1) == 0.003
    assert schedules.kl_adaptive(1.2e-6, 1.0, 0.01, 1e-6, 0.1) == 1e-6      # kept in [low, high]
    assert schedules.kl_adaptive(0.08, 0.0, 0.01, 1e-6, 0.1) == 0.1


# ------------------------------------------------------------------------------------------------ the trainer

def test_trainer_logs_the_scheduled_values(tmp_path):
    """Epoch k of 6 updates at progress k / 6; every scheduled value is in its row."""
    result = run(small_config(tmp_path, learning_rate=0.01, lr_schedule='linear', lr_final_ratio=0.1,
                              ent_coef=0.02, ent_schedule='cosine', ent_final_ratio=0.5,
                              clip_coef=0.3, clip_schedule='linear', clip_final_ratio=0.5,
                              vf_clip_coef=1.0, vf_clip_schedule='cosine', vf_clip_final_ratio=0.2))
    progress = [k / 6 for k in range(1, 7)]
    assert column(result, 'loss/learning_rate') == pytest.approx([0.01 - 0.009 * p for p in progress])
    assert column(result, 'loss/ent_coef') == pytest.approx(
        [schedules.value('cosine', 0.02, 0.5, p) for p in progress])
    assert column(result, 'loss/clip_coef') == pytest.approx([0.3 - 0.15 * p for p in progress])
    assert column(result, 'loss/vf_clip_coef') == pytest.approx(
        [schedules.value('cosine', 1.0, 0.2, p) for p in progress])
    assert column(result, 'loss/clip_coef')[-1] == pytest.approx(0.15)


def test_constant_clip_ranges_add_no_columns(tmp_path):
    """Rows of runs without clip schedules stay as they were (bench/fingerprint hashes the loss/ columns)."""
    row = runs.read_metrics(run(small_config(tmp_path, epochs=1)).run_dir)[0]
    assert 'loss/clip_coef' not in row and 'loss/vf_clip_coef' not in row


@pytest.mark.parametrize('target, direction', [(1e9, 1.5), (1e-12, 1 / 1.5)])
def test_kl_adaptive_learning_rate_moves_with_the_kl_and_resumes(tmp_path, target, direction):
    """A huge target KL is never reached, so the rate rises by 1.5 every epoch; a tiny one is always exceeded, so it
    falls. A resumed run continues from the adapted rate kept in the checkpoint."""
    settings = dict(learning_rate=0.001, lr_schedule='constant', lr_adaptive_kl=target, lr_adaptive_min=1e-9,
                    lr_adaptive_max=1.0)
    first = run(small_config(tmp_path, epochs=4, **settings))
    rates = column(first, 'loss/learning_rate')
    assert rates == pytest.approx([0.001 * direction ** k for k in range(4)])
    state = checkpoint.read(history.newest_checkpoint(first.run_dir))
    assert state['scheduler']['adaptive_learning_rate'] == pytest.approx(0.001 * direction ** 4)
    resumed = run(small_config(tmp_path, epochs=6, **settings), resume='latest',
                  overrides={'train.total_timesteps': str(EPOCH * 6)})
    assert resumed.run_dir == first.run_dir
    assert column(resumed, 'loss/learning_rate') == pytest.approx([0.001 * direction ** k for k in range(6)])


def test_checkpoint_without_the_adaptive_rate_resumes_from_learning_rate(tmp_path):
    settings = dict(learning_rate=0.001, lr_schedule='constant', lr_adaptive_kl=1e9)
    first = run(small_config(tmp_path, epochs=2, **settings))
    path = history.newest_checkpoint(first.run_dir)
    state = checkpoint.read(path)
    del state['scheduler']['adaptive_learning_rate']  # as written before the KL-adaptive learning rate
    checkpoint.save_atomic(state, path)
    resumed = run(small_config(tmp_path, epochs=3, **settings), resume='latest',
                  overrides={'train.total_timesteps': str(EPOCH * 3)})
    assert column(resumed, 'loss/learning_rate')[2] == pytest.approx(0.001)


@pytest.mark.parametrize('train, message', [
    ({'lr_adaptive_kl': 0.01}, 'set train.lr_schedule = constant'),
    ({'lr_adaptive_kl': 0.01, 'lr_schedule': 'constant', 'lr_adaptive_min': 0.1, 'lr_adaptive_max': 0.01},
     'train.lr_adaptive_min = 0.1 is above train.lr_adaptive_max = 0.01'),
    ({'clip_schedule': 'exponential'}, "train.clip_schedule = 'exponential' is not valid; choose one of"),
    ({'ent_final_ratio': 2.0}, 'train.ent_final_ratio = 2.0 is out of range'),
])
def test_schedule_settings_are_checked(train, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        puffer_config.load(ENV, overrides={'train': train})


# ------------------------------------------------------------------------------------------------ the old keys

SCHEDULE_KEYS = ('lr_schedule', 'lr_final_ratio', 'ent_schedule', 'ent_final_ratio')


@pytest.mark.parametrize('old, new', [
    ({'anneal_lr': 'False'}, {'lr_schedule': 'constant'}),
    ({'anneal_lr': 'True', 'min_lr_ratio': '0.25'}, {'lr_schedule': 'cosine', 'lr_final_ratio': 0.25}),
    ({'min_ent_ratio': '0.1'}, {'ent_schedule': 'cosine', 'ent_final_ratio': 0.1}),
    ({'min_ent_ratio': '1.0'}, {'ent_schedule': 'constant'}),
])
def test_old_keys_map_to_the_schedules(tmp_path, old, new):
    path = tmp_path / 'old.ini'
    path.write_text('[train]\n' + ''.join(f'{key} = {value}\n' for key, value in old.items()))
    # An old key in a later source overrides the new keys of an earlier one (breakout.ini's entropy schedule).
    for env in (ENV, 'puffer_breakout'):
        from_file = puffer_config.load(env, config_files=[str(path)])['train']
        from_flags = puffer_config.load(env, overrides={f'train.{k}': v for k, v in old.items()})['train']
        for key, value in new.items():
            assert from_file[key] == from_flags[key] == value
        assert not set(puffer_config.OLD_TRAIN_KEYS) & set(from_file)


def test_shipped_configs_resolve_as_before():
    """breakout's tuned cosine entropy schedule and the default cosine learning rate survive the move."""
    breakout = puffer_config.load('puffer_breakout')['train']
    assert (breakout['ent_schedule'], breakout['ent_final_ratio']) == ('cosine', 0.1)
    assert (breakout['lr_schedule'], breakout['lr_final_ratio']) == ('cosine', 0.0)
    squared = puffer_config.load(ENV)['train']
    assert (squared['ent_schedule'], squared['clip_schedule'], squared['vf_clip_schedule']) == ('constant',) * 3


@pytest.mark.parametrize('text, message', [
    ('anneal_lr = False\nlr_schedule = cosine', "train.anneal_lr = False means train.lr_schedule = 'constant', but "
                                                "train.lr_schedule = 'cosine' is also set"),
    ('min_lr_ratio = 0.1\nlr_final_ratio = 0.2', 'train.min_lr_ratio = 0.1 means train.lr_final_ratio = 0.1'),
    ('min_ent_ratio = 0.5\nent_schedule = linear', 'train.min_ent_ratio = 0.5 means train.ent_schedule'),
    ('min_ent_ratio = 1.5', 'train.min_ent_ratio = 1.5 is out of range; valid: [0, 1]'),
    ('anneal_lr = maybe', 'expected a boolean'),
])
def test_old_and_new_keys_that_disagree_are_refused_naming_the_new_keys(tmp_path, text, message):
    path = tmp_path / 'both.ini'
    path.write_text('[train]\n' + text + '\n')
    with pytest.raises(ConfigError) as error:
        puffer_config.load(ENV, config_files=[str(path)])
    assert message in str(error.value)
    if 'means' in message:
        assert puffer_config.NEW_SCHEDULE_KEYS in str(error.value)


def test_old_and_new_keys_that_agree_load(tmp_path):
    path = tmp_path / 'both.ini'
    path.write_text('[train]\nanneal_lr = True\nlr_schedule = cosine\nmin_ent_ratio = 0.2\nent_schedule = cosine\n')
    train = puffer_config.load(ENV, config_files=[str(path)])['train']
    assert (train['lr_schedule'], train['ent_schedule'], train['ent_final_ratio']) == ('cosine', 'cosine', 0.2)


def test_validate_names_the_replacement_of_an_old_key():
    config = puffer_config.load(ENV)
    config['train']['anneal_lr'] = False
    with pytest.raises(ConfigError, match='unknown key train.anneal_lr; it was replaced by train.lr_schedule'):
        puffer_config.validate(config)


def old_config_ini(config_text):
    """A run folder's config.ini as written before the schedules: every old key, none of the new ones."""
    lines = [line for line in config_text.splitlines() if not line.startswith('#')
             and not re.match(r'(lr_schedule|lr_final_ratio|lr_adaptive_\w+|ent_schedule|ent_final_ratio|'
                             r'clip_schedule|clip_final_ratio|vf_clip_schedule|vf_clip_final_ratio) =', line)]
    at = lines.index('learning_rate = 0.005') + 1
    return '\n'.join(lines[:at] + ['anneal_lr = True', 'min_lr_ratio = 0.0', 'min_ent_ratio = 1.0'] + lines[at:])


def test_run_folder_written_with_the_old_keys_loads_and_resumes(tmp_path):
    first = run(small_config(tmp_path, epochs=2))
    path = os.path.join(first.run_dir, 'config.ini')
    new = puffer_config.load_file(path)
    with open(path) as file:
        text = old_config_ini(file.read())
    assert 'anneal_lr = True' in text and 'schedule' not in text and 'final_ratio' not in text
    with open(path, 'w') as file:
        file.write(text)
    assert puffer_config.load_file(path) == new
    resumed = run(small_config(tmp_path, epochs=4), resume='latest',
                  overrides={'train.total_timesteps': str(EPOCH * 4)})
    assert resumed.run_dir == first.run_dir and resumed.global_step == EPOCH * 4
    rates = column(resumed, 'loss/learning_rate')  # the default cosine, stretched over the longer budget
    assert rates[2:] == pytest.approx([schedules.value('cosine', 0.005, 0.0, k / 4) for k in (3, 4)])
