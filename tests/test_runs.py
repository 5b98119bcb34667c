"""Runs you can trust: identities, resume semantics, durability, the lock, best models, budgets, warm starts,
TensorBoard, `puffer runs` and `puffer plot`. Each regression case of the runs issue is a test here."""
import io
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import pufferlib
from pufferlib import cli, runs
from pufferlib.runs import checkpoint
from pufferlib import config as puffer_config
from pufferlib.dashboard import Dashboard
from pufferlib.exceptions import ConfigError
from pufferlib.runs import find, history, layout, listing, lock, session

PACKAGE_ROOT = os.path.dirname(os.path.dirname(pufferlib.__file__))
ENVIRONMENT = {**os.environ, 'PYTHONPATH': PACKAGE_ROOT}


def small_config(tmp_path, env_name='puffer_squared', **sections):
    """Six epochs of 224 agent steps: 32 agents, 8-step segments, a checkpoint every 2 epochs."""
    overrides = {
        'env': {'num_envs': 32, 'log_interval': 4} if env_name.startswith('puffer_') else {},
        'train': dict(total_timesteps=32 * 7 * 6, bptt_horizon=8, minibatch_size=128, max_minibatch_size=128,
                      device='cpu', data_dir=str(tmp_path / 'experiments'), checkpoint_interval=2),
    }
    for section, values in sections.items():
        overrides.setdefault(section, {}).update(values)
    return puffer_config.load(env_name, overrides=overrides)


def gym_config(tmp_path, name, **train):
    return puffer_config.load('gymnasium', overrides={
        'vec': {'backend': 'Serial', 'num_envs': 2}, 'env': {'name': name},
        'train': dict(dict(total_timesteps=2 * 15 * 2, bptt_horizon=16, minibatch_size=32, device='cpu',
                           data_dir=str(tmp_path / 'experiments'), checkpoint_interval=1), **train)})


def run(config, output=None, **options):
    dashboard = Dashboard('test', live=False, file=output if output is not None else io.StringIO())
    return session.train(config, SimpleNamespace(**options), dashboard=dashboard)


def cli_train(tmp_path, *args):
    return [sys.executable, '-m', 'pufferlib.cli', 'train', 'puffer_squared', '--env.num-envs', '32',
            '--train.bptt-horizon', '8', '--train.minibatch-size', '128', '--train.device', 'cpu',
            '--train.data-dir', str(tmp_path / 'experiments'), *args]


def weights_equal(a, b):
    a, b = checkpoint.read_weights(a), checkpoint.read_weights(b)
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ----------------------------------------------------------------------------------------------------------------
# Identity: `latest` is the newest run of *that* env
# ----------------------------------------------------------------------------------------------------------------

def test_gymnasium_runs_are_kept_apart_by_env_id(tmp_path):
    cartpole = run(gym_config(tmp_path, 'CartPole-v1'))
    acrobot = run(gym_config(tmp_path, 'Acrobot-v1'))  # newer, same package config
    assert os.path.dirname(cartpole.run_dir).endswith('gymnasium-CartPole-v1')
    assert os.path.dirname(acrobot.run_dir).endswith('gymnasium-Acrobot-v1')
    # `latest` of CartPole is CartPole's run, for eval and for resume.
    assert runs.resolve_model_path('latest', gym_config(tmp_path, 'CartPole-v1')) == cartpole.model_path
    assert find.find_run(gym_config(tmp_path, 'CartPole-v1'), 'latest')[0] == cartpole.run_dir
    # A run of an env never trained is not silently replaced by another env's.
    with pytest.raises(ConfigError, match='no trained model of gymnasium-MountainCar-v0'):
        runs.resolve_model_path('latest', gym_config(tmp_path, 'MountainCar-v0'))
    # Resuming with the env of another run's folder is refused, not replaced without a word.
    with pytest.raises(ConfigError, match='that is a run of gymnasium-Acrobot-v1'):
        find.find_run(gym_config(tmp_path, 'CartPole-v1'), acrobot.run_dir)


def test_runs_from_before_identities_are_found_by_their_own_env(tmp_path):
    """Run folders of older versions (all Gymnasium envs under gymnasium/, timestamp names, one checkpoint.pt)."""
    result = run(gym_config(tmp_path, 'Acrobot-v1'))
    legacy = tmp_path / 'experiments' / 'gymnasium' / '20250101_120000'
    shutil.copytree(result.run_dir, legacy)
    os.remove(legacy / layout.RUN_FILE)
    shutil.rmtree(legacy / 'checkpoints')
    shutil.copy(history.newest_checkpoint(result.run_dir), legacy / 'checkpoint.pt')
    shutil.rmtree(result.run_dir)
    assert find.runs_of(gym_config(tmp_path, 'Acrobot-v1')) == [str(legacy)]
    assert find.runs_of(gym_config(tmp_path, 'CartPole-v1')) == []
    assert history.newest_checkpoint(str(legacy)) == str(legacy / 'checkpoint.pt')
    # It resumes (extended), and its single checkpoint rotates out once newer ones exist.
    extended = run(gym_config(tmp_path, 'Acrobot-v1'), resume='20250101_120000',
                   overrides={'train.total_timesteps': 2 * 15 * 4, 'train.keep_checkpoints': 1})
    assert extended.run_dir == str(legacy) and extended.global_step == 2 * 15 * 4
    assert not (legacy / 'checkpoint.pt').exists() and len(history.checkpoints(str(legacy))) == 1


# ----------------------------------------------------------------------------------------------------------------
# Resume semantics
# ----------------------------------------------------------------------------------------------------------------

def test_resuming_a_finished_run_needs_a_larger_budget_and_then_extends_it(tmp_path):
    first = run(small_config(tmp_path))
    with pytest.raises(ConfigError, match=r'is finished: it reached step 1,344 of train.total_timesteps = 1,344'):
        run(small_config(tmp_path), resume='latest')
    # From the command line it is a one-line error and a non-zero exit.
    completed = subprocess.run(cli_train(tmp_path, '--resume', 'latest'), capture_output=True, text=True,
                               env=ENVIRONMENT, timeout=300, cwd=tmp_path)
    assert completed.returncode == 2 and 'is finished' in completed.stderr and 'Traceback' not in completed.stderr
    # A larger budget extends it: same folder, the curve goes on, the run's config records the new budget.
    extended = run(small_config(tmp_path), resume='latest', overrides={'train.total_timesteps': '2688'})
    assert extended.run_dir == first.run_dir and extended.global_step == 2688
    rows = runs.read_metrics(first.run_dir)
    assert [row['epoch'] for row in rows] == list(range(1, 13))
    saved = puffer_config.load_file(os.path.join(first.run_dir, 'config.ini'))
    assert saved['train']['total_timesteps'] == 2688
    # Stretched schedule: the learning rate after resuming follows the cosine of the longer budget.
    lr = [row['loss/learning_rate'] for row in rows]
    assert lr[6] > lr[5]


def test_resume_applies_safe_flags_and_refuses_the_others_by_name(tmp_path):
    first = run(small_config(tmp_path, train={'total_timesteps': 32 * 7 * 4}))
    with pytest.raises(ConfigError) as error:
        run(small_config(tmp_path), resume='latest', overrides={'train.learning_rate': '0.1', 'policy.hidden_size':
                                                                '32', 'train.total_timesteps': '2688'})
    message = str(error.value)
    assert 'train.learning_rate = 0.1 differs' in message and 'policy.hidden_size = 32 differs' in message
    assert f'--train.init-path {os.path.basename(first.run_dir)}' in message
    # The same value as the run's own is no change; budgets and checkpointing are.
    resumed = run(small_config(tmp_path), resume=os.path.basename(first.run_dir),
                  overrides={'train.learning_rate': str(first_config_value(first, 'learning_rate')),
                             'train.total_timesteps': '1344', 'train.keep_checkpoints': '1',
                             'train.anneal_lr': 'True'})  # a renamed key meaning the run's own lr_schedule
    assert resumed.global_step == 1344 and len(history.checkpoints(first.run_dir)) == 1


def first_config_value(result, key):
    return puffer_config.load_file(os.path.join(result.run_dir, 'config.ini'))['train'][key]


def test_latest_finds_a_run_killed_before_its_first_checkpoint(tmp_path):
    """Regression: `--resume latest` skipped runs without a checkpoint and resumed (rewrote) an older, finished one."""
    older = run(small_config(tmp_path))
    older_model = open(older.model_path, 'rb').read()
    newer = run(small_config(tmp_path, train={'experiment': 'newer'}))
    shutil.rmtree(os.path.join(newer.run_dir, 'checkpoints'))  # as if killed before its first checkpoint
    os.remove(newer.model_path)
    layout.update_info(newer.run_dir, status='running')
    output = io.StringIO()
    resumed = run(small_config(tmp_path), output=output, resume='latest')
    assert resumed.run_dir == newer.run_dir and 'no checkpoint yet: starting it again from step 0' in \
        output.getvalue()
    assert [row['epoch'] for row in runs.read_metrics(newer.run_dir)] == [1, 2, 3, 4, 5, 6]
    assert open(older.model_path, 'rb').read() == older_model


def test_resume_best_rewinds_to_the_checkpoint_before_the_best_model(tmp_path):
    result = run(small_config(tmp_path, train=dict(save_best_after=0, checkpoint_interval=2, keep_checkpoints=10)))
    best_step = json.load(open(os.path.join(result.run_dir, 'best_model.json')))['step']
    if best_step >= 448:
        assert find.find_run(small_config(tmp_path), 'best') == (result.run_dir, best_step // 448 * 448)
    else:  # the best came before the first checkpoint: nothing to rewind to
        with pytest.raises(ConfigError, match='keeps no checkpoint at or before its best model'):
            find.find_run(small_config(tmp_path), 'best')
    # As if the best came mid-run (between the checkpoints of steps 448 and 896): rewind to 448 and go on from there.
    info = json.load(open(os.path.join(result.run_dir, 'best_model.json')))
    layout.write_json_atomic(os.path.join(result.run_dir, 'best_model.json'), dict(info, step=500))
    assert find.find_run(small_config(tmp_path), 'best') == (result.run_dir, 448)
    resumed = run(small_config(tmp_path), resume='best')
    assert resumed.global_step == 1344 and [row['epoch'] for row in runs.read_metrics(result.run_dir)] == [
        1, 2, 3, 4, 5, 6]
    with pytest.raises(ConfigError, match='no run of puffer_bandit has a best model yet'):
        find.find_run(small_config(tmp_path, 'puffer_bandit'), 'best')


def test_resume_from_an_older_step_sets_the_later_checkpoints_aside(tmp_path):
    first = run(small_config(tmp_path))
    resumed = run(small_config(tmp_path), resume='448', overrides={'train.total_timesteps': '1344'})
    assert resumed.run_dir == first.run_dir and resumed.global_step == 1344
    aside = [name for name in os.listdir(os.path.join(first.run_dir, 'checkpoints')) if name.startswith('rewound_')]
    assert len(aside) == 1
    assert sorted(os.listdir(os.path.join(first.run_dir, 'checkpoints', aside[0]))) == [
        history.checkpoint_name(896), history.checkpoint_name(1344)]
    assert [row['epoch'] for row in runs.read_metrics(first.run_dir)] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize('behavior', ['resume', 'restart', 'overwrite'])
def test_restart_behaviors_of_a_named_experiment(tmp_path, behavior):
    named = dict(experiment='baseline', restart_behavior=behavior)
    first = run(small_config(tmp_path, train=dict(named, total_timesteps=32 * 7 * 2)))
    assert os.path.basename(first.run_dir) == 'baseline'
    output = io.StringIO()
    # The command line's flags arrive as overrides: on a resumed run only they change its config.
    second = run(small_config(tmp_path, train=dict(named, total_timesteps=32 * 7 * 4)), output=output,
                 overrides={'train.total_timesteps': str(32 * 7 * 4)})
    assert second.run_dir == first.run_dir
    folder = os.path.dirname(first.run_dir)
    rows = runs.read_metrics(second.run_dir)
    if behavior == 'resume':  # the named run continues where it stopped
        assert [row['epoch'] for row in rows] == [1, 2, 3, 4] and sorted(os.listdir(folder)) == ['baseline']
    elif behavior == 'restart':  # the old folder is moved aside, a new one starts
        [aside] = [name for name in os.listdir(folder) if name != 'baseline']
        assert aside.startswith('baseline.old_') and len(runs.read_metrics(os.path.join(folder, aside))) == 2
        assert [row['epoch'] for row in rows] == [1, 2, 3, 4] and 'moved the earlier run baseline aside' in \
            output.getvalue()
    else:  # overwrite: deleted, after saying so
        assert sorted(os.listdir(folder)) == ['baseline'] and 'deleting the earlier run' in output.getvalue()
        assert [row['epoch'] for row in rows] == [1, 2, 3, 4]


def test_bad_experiment_names_and_behaviors_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="train.experiment = '../up' cannot name a run"):
        run(small_config(tmp_path, train={'experiment': '../up'}))
    with pytest.raises(ConfigError, match="train.restart_behavior = 'replace' is not valid; choose one of: resume, "
                                          "restart, overwrite"):
        run(small_config(tmp_path, train={'restart_behavior': 'replace'}))
    assert not (tmp_path / 'experiments' / 'puffer_squared').exists() or \
        os.listdir(tmp_path / 'experiments' / 'puffer_squared') == []


def test_a_failed_start_leaves_no_empty_run_behind(tmp_path):
    with pytest.raises(ConfigError, match='--train.init-path missing.pt: no such file or run'):
        run(small_config(tmp_path, train={'init_path': 'missing.pt'}))
    assert os.listdir(tmp_path / 'experiments' / 'puffer_squared') == []


# ----------------------------------------------------------------------------------------------------------------
# Durability: checkpoint history, signals, kills, the lock
# ----------------------------------------------------------------------------------------------------------------

def test_checkpoint_history_keeps_the_newest_and_milestones_forever(tmp_path):
    result = run(small_config(tmp_path, train=dict(checkpoint_interval=1, keep_checkpoints=2,
                                                   milestone_seconds=1e-6)))
    assert [step for step, _ in history.checkpoints(result.run_dir)] == [224 * 5, 224 * 6]
    assert [step for step, _ in history.milestones(result.run_dir)] == [224 * i for i in range(1, 7)]
    for _, path in history.milestones(result.run_dir):
        checkpoint.read_checkpoint(path)
    # A milestone is a step to resume from, like any checkpoint.
    assert history.checkpoint_at(result.run_dir, 224) is not None


def test_checkpoints_also_come_by_time(tmp_path, monkeypatch):
    clock = itertools.count(0, 100)  # every epoch looks 100 s after the last checkpoint
    monkeypatch.setattr(session, 'now', lambda: float(next(clock)))
    result = run(small_config(tmp_path, train=dict(checkpoint_interval=1000, checkpoint_seconds=150,
                                                   keep_checkpoints=10)))
    assert [step for step, _ in history.checkpoints(result.run_dir)] == [448, 896, 1344]


def wait_for_rows(run_parent, count, process, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        dirs = [p for p in run_parent.glob('*')] if run_parent.exists() else []
        if dirs and len(runs.read_metrics(str(dirs[0]))) >= count:
            return dirs[0]
        time.sleep(0.02)
    raise AssertionError(f'the run did not log {count} epochs in time')


@pytest.mark.parametrize('signal_number, exit_code', [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_save_a_checkpoint_before_exiting(tmp_path, signal_number, exit_code):
    process = subprocess.Popen(cli_train(tmp_path, '--train.total-timesteps', '1e9', '--train.checkpoint-interval',
                                         '100000'), env=ENVIRONMENT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    run_dir = wait_for_rows(tmp_path / 'experiments' / 'puffer_squared', 3, process)
    process.send_signal(signal_number)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == exit_code, stderr
    name = os.path.basename(run_dir)
    assert 'nothing was lost' in stderr and f'--resume {name}' in stderr
    [(step, path)] = history.checkpoints(str(run_dir))
    assert step == runs.read_metrics(str(run_dir))[-1]['global_step'] > 0
    assert runs.read_info(str(run_dir))['status'] == 'interrupted'
    assert listing.describe(str(run_dir)).status == 'interrupted'
    # It continues from there.
    resumed = run(small_config(tmp_path), resume=name, overrides={'train.total_timesteps': str(step + 448)})
    assert resumed.global_step >= step + 448 and runs.read_metrics(str(run_dir))[0]['epoch'] == 1


def test_kills_at_random_moments_never_leave_less_than_one_durable_checkpoint(tmp_path):
    """A checkpoint every epoch, two kept: SIGKILL at random moments, resuming after each kill."""
    rng = random.Random(0)
    settings = ['--train.total-timesteps', '1e9', '--train.checkpoint-interval', '1', '--train.keep-checkpoints', '2',
                '--train.experiment', 'durable']
    checked = 0
    for attempt in range(6):
        resume = ['--resume', 'durable'] if attempt else []
        process = subprocess.Popen(cli_train(tmp_path, *settings, *resume), env=ENVIRONMENT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
        run_dir = tmp_path / 'experiments' / 'puffer_squared' / 'durable'
        rows_before = len(runs.read_metrics(str(run_dir))) if run_dir.exists() else 0
        wait_for_rows(tmp_path / 'experiments' / 'puffer_squared', rows_before + 2, process)
        time.sleep(rng.uniform(0, 0.3))
        process.send_signal(signal.SIGKILL)
        process.wait()
        found = history.checkpoints(str(run_dir))
        assert 1 <= len(found) <= 3, found  # keep, plus one written but not yet rotated
        state = checkpoint.read_checkpoint(found[-1][1])
        assert state['counters']['global_step'] == found[-1][0]
        checked += 1
    assert checked == 6


def test_a_second_writer_is_refused_at_once_naming_the_holder(tmp_path):
    process = subprocess.Popen(cli_train(tmp_path, '--train.total-timesteps', '1e9', '--train.experiment', 'busy'),
                               env=ENVIRONMENT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        run_dir = wait_for_rows(tmp_path / 'experiments' / 'puffer_squared', 1, process)
        started = time.monotonic()
        completed = subprocess.run(cli_train(tmp_path, '--resume', 'busy'), capture_output=True, text=True,
                                   env=ENVIRONMENT, timeout=120, cwd=tmp_path)
        assert completed.returncode == 1 and f'being written by pid {process.pid}' in completed.stderr
        assert 'Traceback' not in completed.stderr and time.monotonic() - started < 60
        assert listing.describe(str(run_dir)).status == 'running'
        # overwrite and restart never touch a folder in use either
        with pytest.raises(lock.RunLockedError, match=f'pid {process.pid}'):
            run(small_config(tmp_path, train=dict(experiment='busy', restart_behavior='overwrite')))
        assert run_dir.exists()
        rows = len(runs.read_metrics(str(run_dir)))
        time.sleep(1.0)
        assert process.poll() is None and len(runs.read_metrics(str(run_dir))) >= rows  # the first one goes on
    finally:
        process.kill()
        process.wait()


def hold_lock_then_die(run_dir):
    lock.RunLock(run_dir).acquire()
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_stale_lock_from_a_crash_is_taken_over(tmp_path):
    import multiprocessing
    run_dir = str(tmp_path / 'run')
    os.makedirs(run_dir)
    child = multiprocessing.get_context('fork').Process(target=hold_lock_then_die, args=(run_dir,))
    child.start()
    child.join()
    assert lock.holder(run_dir) is None
    held = lock.RunLock(run_dir).acquire()
    try:
        assert held.stale_holder['pid'] == child.pid
        with pytest.raises(lock.RunLockedError, match='already being written by this process'):
            lock.RunLock(run_dir).acquire()
    finally:
        held.release()


def test_temporary_files_belong_to_their_writer(tmp_path):
    """Regression: save_atomic deleted the temporary file of another live writer, crashing it."""
    path = str(tmp_path / 'model.pt')
    sleeper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        live = checkpoint.temporary_path(path, sleeper.pid)
        dead = checkpoint.temporary_path(path, 2 ** 22 + 12345)
        for temporary in (live, dead):
            open(temporary, 'w').close()
        checkpoint.save_atomic({'x': torch.ones(1)}, path)
        assert os.path.exists(live) and not os.path.exists(dead)
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize('content', ['truncated', 'garbage', 'code', 'no model', 'bare weights', 'bad counters',
                                     'tampered env state'])
def test_a_bad_checkpoint_on_resume_is_a_one_line_error(tmp_path, content):
    result = run(small_config(tmp_path))
    newest = history.newest_checkpoint(result.run_dir)
    state = torch.load(newest, weights_only=True)
    if content == 'truncated':
        data = open(newest, 'rb').read()
        open(newest, 'wb').write(data[:len(data) // 2])
    elif content == 'garbage':
        open(newest, 'wb').write(os.urandom(4096))
    elif content == 'code':
        torch.save({'model': SimpleNamespace()}, newest)
    elif content == 'no model':
        torch.save({k: v for k, v in state.items() if k != 'model'}, newest)
    elif content == 'bare weights':
        torch.save(state['model'], newest)
    elif content == 'bad counters':
        torch.save(dict(state, counters={'epoch': 'six'}), newest)
    else:  # sizes and positions far out of range: once a heap overflow on resume, now refused before use
        [env_state] = state['envs']
        env_state['c_state'] = torch.full_like(env_state['c_state'], 0x7f)
        torch.save(state, newest)
    completed = subprocess.run(cli_train(tmp_path, '--resume', 'latest', '--train.total-timesteps', '4000'),
                               capture_output=True, text=True, env=ENVIRONMENT, timeout=300, cwd=tmp_path)
    assert completed.returncode == 1, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert lines[-1].startswith('puffer: error:') and newest in lines[-1] and 'Traceback' not in completed.stderr


# ----------------------------------------------------------------------------------------------------------------
# Best model, budgets, warm starts
# ----------------------------------------------------------------------------------------------------------------

def test_best_model_follows_the_running_mean_of_a_scripted_metric():
    best = history.BestModel('score', after_steps=300, window=3)
    scores = [10, 0, 0, 5, 6, 7, 1, 1, 9, 9, 9]
    saved = []
    for epoch, score in enumerate(scores, start=1):
        row = {'epoch': epoch, 'global_step': epoch * 100, 'env/score': score}
        if best.observe(row) is not None:
            saved.append((epoch, round(best.best[0], 3)))
    # Epochs 1-2 are before save_best_after; from epoch 3 the mean of the last three values counts.
    assert saved == [(3, 3.333), (5, 3.667), (6, 6.0), (10, 6.333), (11, 9.0)]
    # Rows without the metric change nothing; state round-trips (a resumed run keeps its bar).
    assert best.observe({'epoch': 12, 'global_step': 1200, 'loss/entropy': 1.0}) is None
    again = history.BestModel('score', 300, 3)
    again.load_state_dict(json.loads(json.dumps(best.state_dict())))
    assert again.best == best.best and list(again.recent) == list(best.recent)


def test_best_model_file_and_its_record(tmp_path):
    result = run(small_config(tmp_path, train=dict(save_best_after=0, total_timesteps=32 * 7 * 10)))
    info = json.load(open(os.path.join(result.run_dir, 'best_model.json')))
    assert info['metric'] == 'score' and 0 < info['step'] <= result.global_step
    scores = [row['env/score'] for row in runs.read_metrics(result.run_dir) if row['global_step'] <= info['step']
              and 'env/score' in row]
    assert info['value'] == pytest.approx(np.mean(scores[-10:]))
    assert result.best_model_path == os.path.join(result.run_dir, 'best_model.pt')
    assert runs.resolve_model_path('best', small_config(tmp_path)) == result.best_model_path
    assert runs.read_info(result.run_dir)['best']['value'] == pytest.approx(info['value'])


def test_train_seconds_stops_within_one_epoch(tmp_path):
    result = run(small_config(tmp_path, train=dict(train_seconds=3, total_timesteps=10 ** 9)))
    rows = runs.read_metrics(result.run_dir)
    # The last row is logged just before the budget check that stops the run; run.json records the end.
    assert rows[-2]['uptime'] < 3 <= runs.read_info(result.run_dir)['uptime']
    assert rows[-1]['uptime'] - rows[-2]['uptime'] < 3
    with pytest.raises(ConfigError, match='train.train_seconds = 3.*larger --train.train-seconds'):
        run(small_config(tmp_path), resume='latest')


def test_init_path_warm_starts_from_another_run_even_of_another_env(tmp_path):
    same = dict(policy={'hidden_size': 32}, env={'num_envs': 32, 'log_interval': 4})
    bandit = run(small_config(tmp_path, 'puffer_bandit', env={'num_arms': 2, 'best_arm': 1},
                              policy={'hidden_size': 32}))
    # puffer_stochastic has the same spaces as a two-armed bandit; a learning rate of 1e-30 keeps the weights.
    warm = run(small_config(tmp_path, 'puffer_stochastic', train=dict(init_path=bandit.run_dir,
                                                                       learning_rate=1e-30), **same))
    loaded, source = checkpoint.read_weights(warm.model_path), checkpoint.read_weights(bandit.model_path)
    for key, value in source.items():
        torch.testing.assert_close(loaded[key], value, rtol=1e-6, atol=1e-20)
    # With init_optimizer the optimizer state comes along (Adam's step count continues).
    again = run(small_config(tmp_path, 'puffer_bandit', env={'num_arms': 2, 'best_arm': 1}, policy={'hidden_size': 32},
                             train=dict(init_path=history.newest_checkpoint(bandit.run_dir), init_optimizer=True)))
    state = checkpoint.read_checkpoint(history.newest_checkpoint(again.run_dir))
    steps = [float(s['step']) for s in state['optimizers'][0]['state'].values()]
    assert steps and all(step > 6 for step in steps)
    # Different spaces: a ConfigError naming the mismatched parameters.
    with pytest.raises(ConfigError, match='does not fit'):
        run(small_config(tmp_path, 'puffer_squared', train=dict(init_path=bandit.run_dir), policy={'hidden_size': 32}))


# ----------------------------------------------------------------------------------------------------------------
# Saying where things are; TensorBoard; `puffer runs`; `puffer plot`
# ----------------------------------------------------------------------------------------------------------------

def test_first_and_last_lines_name_the_run_folder_model_and_commands(tmp_path):
    output = io.StringIO()
    result = run(small_config(tmp_path), output=output)
    lines = output.getvalue().strip().splitlines()
    model = os.path.join(result.run_dir, 'model.pt')
    assert lines[0].startswith('run ') and result.run_dir in lines[0] and model in lines[0]
    finished = [i for i, line in enumerate(lines) if line.startswith('finished ')][-1]
    assert model in lines[finished] and f'--load-model-path {result.run_dir}' in lines[finished + 1]
    assert f'--resume {os.path.basename(result.run_dir)}' in lines[finished + 2]


def test_tensorboard_event_files_hold_every_row_and_the_config(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    first = run(small_config(tmp_path, train={'total_timesteps': 32 * 7 * 3}))
    run(small_config(tmp_path), resume='latest', overrides={'train.total_timesteps': '1344'})
    accumulator = EventAccumulator(first.run_dir)
    accumulator.Reload()
    rows = runs.read_metrics(first.run_dir)
    scalars = accumulator.Scalars('loss/policy_loss')
    assert [event.step for event in scalars] == [row['global_step'] for row in rows]
    assert [event.value for event in scalars] == pytest.approx([row['loss/policy_loss'] for row in rows])
    assert {'sps', 'uptime', 'env/score', 'time/learn'} <= set(accumulator.Tags()['scalars'])
    text = accumulator.Tensors('config/text_summary')[0].tensor_proto.string_val[0].decode()
    assert 'total_timesteps = 672' in text and '[train]' in text


def test_tensorboard_drops_the_points_a_killed_session_wrote_after_its_checkpoint(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    first = run(small_config(tmp_path, train={'checkpoint_interval': 4}))  # checkpoints at epochs 4 and 6
    # As if killed after epoch 6 without the final checkpoint: resume from step 896 (epoch 4).
    os.remove(history.newest_checkpoint(first.run_dir))
    os.remove(first.model_path)
    run(small_config(tmp_path), resume='latest')
    accumulator = EventAccumulator(first.run_dir)
    accumulator.Reload()
    steps = [event.step for event in accumulator.Scalars('loss/policy_loss')]
    assert steps == [224 * i for i in range(1, 7)]


def test_puffer_runs_lists_finished_running_and_crashed_runs(tmp_path, capsys):
    finished = run(small_config(tmp_path, train={'experiment': 'done'}))
    crashed = os.path.join(os.path.dirname(finished.run_dir), 'died')
    shutil.copytree(finished.run_dir, crashed)
    layout.update_info(crashed, status='running', pid=999999)   # its process vanished without a word
    running = os.path.join(os.path.dirname(finished.run_dir), 'going')
    shutil.copytree(finished.run_dir, running)
    layout.update_info(running, status='running')
    holder = subprocess.Popen([sys.executable, '-c', 'import sys, time; from pufferlib.runs import lock; '
                               f'lock.RunLock({running!r}).acquire(); print("held", flush=True); time.sleep(60)'],
                              env=ENVIRONMENT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        assert cli.main(['runs', 'puffer_squared', '--data-dir', str(tmp_path / 'experiments')]) == 0
        out = capsys.readouterr().out
        status = {line.split()[0]: line.split()[-1] for line in out.splitlines()[1:4]}
        assert status == {'done': 'finished', 'died': 'crashed', 'going': 'running'}
        header, first = out.splitlines()[:2]
        assert header.split() == ['NAME', 'ENV', 'STEPS', 'WALL', 'BEST', 'LAST', 'SCORE', 'STATUS']
        assert '1,344' in first and 'puffer_squared' in first
    finally:
        holder.kill()
        holder.wait()
    assert cli.main(['runs', 'puffer_cartpole', '--data-dir', str(tmp_path / 'experiments')]) == 0
    assert 'no runs under' in capsys.readouterr().out


def test_puffer_plot_draws_a_band_over_seeds(tmp_path, capsys):
    names = []
    for seed in (1, 2, 3):
        result = run(small_config(tmp_path, train={'seed': seed, 'experiment': f'seed{seed}',
                                                   'total_timesteps': 32 * 7 * 12}))
        names.append(os.path.basename(result.run_dir))
    other = run(small_config(tmp_path, train={'experiment': 'lr', 'learning_rate': 0.05,
                                              'total_timesteps': 32 * 7 * 12}))
    output = str(tmp_path / 'curve.png')
    code = cli.main(['plot', *names, os.path.basename(other.run_dir), '--data-dir', str(tmp_path / 'experiments'),
                     '--metric', 'score', '-o', output])
    assert code == 0 and 'seed (3 seeds)' in capsys.readouterr().out
    import matplotlib.image
    image = matplotlib.image.imread(output)
    assert image.shape[0] > 200 and image.shape[1] > 300
    not_white = (image[..., :3] < 0.95).any(-1).mean()
    assert 0.02 < not_white < 0.9  # axes, two curves and a band: far from blank, far from solid
    colours = {tuple(np.round(pixel, 1)) for pixel in image[..., :3].reshape(-1, 3)[::7]}
    assert len(colours) > 10
    assert cli.main(['plot', 'nothing', '--data-dir', str(tmp_path / 'experiments')]) == 2


def test_time_left_is_measured_after_the_first_epoch_which_pays_for_compiling(monkeypatch):
    """Regression: the dashboard's estimate counted compile time (1h 22m shown for a 5-minute run)."""
    from pufferlib import trainer as trainer_module
    clock = [0.0]
    monkeypatch.setattr(trainer_module.time, 'perf_counter', lambda: clock[0])
    fake = SimpleNamespace(train_config={'total_timesteps': 1_000_000, 'train_seconds': 0.0}, global_step=10_000,
                           speed_mark=None, total_uptime=lambda: clock[0])
    clock[0] = 60.0  # the first epoch: 10k steps in 60 s, nearly all of it compiling
    first = trainer_module.Trainer.remaining_seconds(fake, sps=10_000 / 60)
    clock[0], fake.global_step = 61.0, 110_000  # then 100k steps a second
    assert trainer_module.Trainer.remaining_seconds(fake, sps=110_000 / 61) == pytest.approx(8.9)
    assert first > 5000  # before a second epoch there is nothing better than the session's average
    fake.train_config['train_seconds'] = 65.0  # a time budget that ends first wins
    assert trainer_module.Trainer.remaining_seconds(fake, sps=0) == pytest.approx(4.0)
