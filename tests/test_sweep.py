"""`puffer sweep` end to end: the store, learning curves read from real metrics logs, a sweep run from the command
line with parallel trials, and a sweep killed mid-trial that resumes without losing a trial."""
import glob
import io
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
from types import SimpleNamespace

import pytest

from pufferlib import config as puffer_config
from pufferlib import runs, trainer
from pufferlib.sweep import runner as sweep
from pufferlib.sweep import spaces as sweep_spaces
from pufferlib.dashboard import Dashboard
from pufferlib.exceptions import APIUsageError, ConfigError
from pufferlib.sweep.store import SweepStore
from sweep_helpers import ENV, alive, captured_sweep, children, tiny_run, wait_for

TINY = tiny_run(1024) + """
[sweep]
random_warmup = 3
curve_points = 2

[sweep.train.total_timesteps]
distribution = log_normal
min = 512
max = 2048
mean = 1024
scale = time
"""


def write_config(tmp_path, extra=''):
    path = tmp_path / 'sweep.ini'
    path.write_text(TINY + extra)
    return str(path)


def load(tmp_path, extra='', **overrides):
    """The config as `puffer sweep` hands it over: `auto` sizes left for each trial to resolve."""
    return puffer_config.load(ENV, overrides={'train.data_dir': str(tmp_path / 'experiments'), **overrides},
                              config_files=[write_config(tmp_path, extra)], resolve=False)


def puffer(*args, timeout=300):
    return subprocess.run([sys.executable, '-m', 'pufferlib.cli', *args], capture_output=True, text=True,
                          cwd='/', timeout=timeout)


def read_trials(folder):
    with sqlite3.connect(os.path.join(folder, sweep.DB_FILE)) as connection:
        return connection.execute('SELECT id, status, params, score, run_dir, error FROM trials ORDER BY id').fetchall()


# ----------------------------------------------------------------------------------------------------------------
# Pieces
# ----------------------------------------------------------------------------------------------------------------

def test_store_keeps_every_field_across_reopening(tmp_path):
    path = str(tmp_path / 'sweep.db')
    store = SweepStore(path)
    first = store.add_trial({'train.learning_rate': 0.003})
    second = store.add_trial({'train.learning_rate': 0.01})
    store.finish_trial(first.id, 'done', score=0.5, cost=12.5, curve=[(100, 0.2, 6.0), (200, 0.5, 12.5)],
                       run_dir='/runs/a')
    store.close()
    trials = SweepStore(path).trials()
    assert [t.id for t in trials] == [1, 2] and second.id == 2
    done, running = trials
    assert (done.status, done.score, done.cost, done.run_dir) == ('done', 0.5, 12.5, '/runs/a')
    assert done.curve == [(100, 0.2, 6.0), (200, 0.5, 12.5)] and done.params == {'train.learning_rate': 0.003}
    assert done.started <= done.finished
    assert (running.status, running.finished) == ('running', None)


def test_learning_curve_takes_the_latest_score_at_even_fractions_of_the_budget():
    rows = [dict(global_step=step, uptime=step / 100, **({'env/score': score} if score is not None else {}))
            for step, score in ((100, None), (200, 0.1), (300, None), (400, 0.3), (500, 0.2), (600, None))]
    # Points at 200, 400 and 600 steps; the last point takes every remaining row.
    assert sweep.learning_curve(rows, 'score', 600, 3) == [(200, 0.1, 2.0), (400, 0.3, 4.0), (600, 0.2, 6.0)]
    # Any column can be the metric; nothing logged yet means no point.
    assert sweep.learning_curve(rows, 'uptime', 600, 2)[0] == (300, 3.0, 3.0)
    assert sweep.learning_curve(rows[:1], 'score', 600, 2) == []


def fake_trial(tmp_path, rows, config):
    """A trial folder as a finished trainer leaves it, written with the trainer's own metrics log."""
    folder = tmp_path / 'trial'
    run_dir = folder / ENV / '20250101_000000'
    run_dir.mkdir(parents=True)
    runs.write_config(str(run_dir), puffer_config.to_ini(config))
    log = runs.MetricsLog(str(run_dir))
    for row in rows:
        log.append(row)
    return sweep.TrialJob(1, ENV, str(folder), config, 'score', 2)


def test_a_trial_whose_metric_ends_as_nan_or_is_never_logged_fails(tmp_path):
    config = load(tmp_path)
    rows = [dict(epoch=1, global_step=512, uptime=1.0, **{'env/score': 0.4}),
            dict(epoch=2, global_step=1024, uptime=2.0, **{'env/score': math.nan})]
    outcome = sweep.trial_outcome(fake_trial(tmp_path, rows, config), 0, 3.0)
    assert outcome['status'] == 'failed' and 'NaN' in outcome['error']
    assert outcome['curve'] == [(512, 0.4, 1.0)]  # what was learned before still counts

    config['train']['total_timesteps'] = 1024
    rows = [dict(epoch=1, global_step=1024, uptime=1.0, sps=5.0)]
    outcome = sweep.trial_outcome(fake_trial(tmp_path / 'b', rows, config), 0, 3.0)
    assert outcome['status'] == 'failed' and "'score' was never logged; logged: epoch, global_step" in outcome['error']


def test_failed_trials_count_as_the_worst_score_and_curves_set_the_budget_to_the_steps_reached(tmp_path):
    config = load(tmp_path)
    spaces = sweep_spaces.spaces_from_config(config)
    store = SweepStore(str(tmp_path / 'sweep.db'))
    params = sweep_spaces.from_units(spaces, [0.5] * len(spaces))
    done, failed = store.add_trial(params), store.add_trial(params)
    store.finish_trial(done.id, 'done', 0.8, 4.0, curve=[(512, 0.3, 2.0), (1024, 0.8, 4.0)])
    store.finish_trial(failed.id, 'failed', cost=1.0, error='boom')
    config['sweep']['goal'] = 'minimize'
    observations = sweep.Sweep(config, sweep.sweep_settings(config), spaces, None, str(tmp_path),
                               store).observations(store.trials())
    budget = next(i for i, s in enumerate(spaces) if s.is_budget)
    assert [o.score for o in observations] == [-0.3, -0.8, -0.8]  # minimized: negated; failed = worst seen
    assert [o.units[budget] for o in observations[:2]] == pytest.approx(
        [spaces[budget].to_unit(512), spaces[budget].to_unit(1024)])
    assert observations[2].cost == 1.0
    store.close()


def test_the_same_config_finds_the_same_sweep_folder(tmp_path):
    config = load(tmp_path)
    folder = sweep.sweep_folder(config)
    assert folder.startswith(str(tmp_path / 'experiments' / ENV / 'sweep_'))
    more = {**config, 'sweep': dict(config['sweep'], max_runs=500, workers=4)}
    assert sweep.sweep_folder(more) == folder  # a bigger budget continues the same sweep
    other = {**config, 'train': dict(config['train'], gamma=0.9)}
    assert sweep.sweep_folder(other) != folder


def test_a_second_sweep_process_on_the_same_folder_is_refused(tmp_path):
    config = load(tmp_path)
    folder = sweep.sweep_folder(config)
    os.makedirs(folder)
    with sweep.exclusive_lock(folder):
        with pytest.raises(APIUsageError, match='another `puffer sweep` is running this sweep'):
            sweep.sweep(config)


def test_tracker_options_are_handed_to_every_trial():
    folder = '/data/puffer_squared/sweep_0123456789'
    assert sweep.tracker_flags(SimpleNamespace(), folder) == ()
    options = SimpleNamespace(wandb=True, wandb_project=None, wandb_group=None, wandb_tag='lr', neptune=True,
                              neptune_project='me/puffer')
    assert sweep.tracker_flags(options, folder) == (
        '--wandb', '--wandb-project', 'pufferlib', '--wandb-group', 'sweep_0123456789', '--wandb-tag', 'lr',
        '--neptune', '--neptune-project', 'me/puffer')


# ----------------------------------------------------------------------------------------------------------------
# Real sweeps of real training processes
# ----------------------------------------------------------------------------------------------------------------

def test_puffer_sweep_runs_parallel_trials_and_writes_a_best_ini_that_trains(tmp_path):
    data_dir = tmp_path / 'experiments'
    result = puffer('sweep', ENV, '--config', write_config(tmp_path), '--train.data-dir', str(data_dir),
                    '--sweep.max-runs', '6', '--sweep.workers', '2')
    assert result.returncode == 0, result.stdout + result.stderr
    folder = sweep.sweep_folder(load(tmp_path))
    trials = read_trials(folder)
    assert [(t[0], t[1]) for t in trials] == [(i, 'done') for i in range(1, 7)], trials
    assert all(os.path.exists(os.path.join(t[4], runs.METRICS_FILE)) for t in trials)
    best_score = max(t[3] for t in trials)
    # The plain-text table lists the best trial first, then the summary names best.ini.
    header = next(i for i, line in enumerate(result.stdout.splitlines()) if line.lstrip().startswith('trial  status'))
    first_row = result.stdout.splitlines()[header + 1].split()
    assert first_row[1] == 'done' and float(first_row[2]) == pytest.approx(best_score, rel=1e-3)
    best_ini = os.path.join(folder, sweep.BEST_FILE)
    assert f'wrote {best_ini}' in result.stdout

    # What `puffer train ENV --config best.ini` does, in this process to spare a second interpreter start.
    best_config = puffer_config.load(ENV, config_files=[best_ini])
    trained = trainer.train(best_config, dashboard=Dashboard(ENV, live=False, file=io.StringIO()))
    run_config = puffer_config.load_file(os.path.join(trained.run_dir, runs.CONFIG_FILE))
    best_params = next(json.loads(t[2]) for t in trials if t[3] == best_score)
    for name, value in best_params.items():
        section, key = name.rsplit('.', 1)
        assert run_config[section][key] == value
    assert trained.global_step >= best_params['train.total_timesteps']


def test_a_trial_whose_run_finished_before_the_sweep_recorded_it_is_read_from_its_files(tmp_path):
    """A sweep killed between a trial's run finishing and the store recording it finds the trial 'running' on
    resume; a --resume of the finished run would refuse it, so the runner reads the trial's outcome from the run's
    files (run.json says finished) without training it again."""
    command = ('sweep', ENV, '--config', write_config(tmp_path), '--train.data-dir', str(tmp_path / 'experiments'),
               '--sweep.max-runs', '1')
    assert puffer(*command).returncode == 0
    folder = sweep.sweep_folder(load(tmp_path))
    (trial,) = read_trials(folder)
    rows = runs.read_metrics(trial[4])
    with sqlite3.connect(os.path.join(folder, sweep.DB_FILE)) as connection:  # as the kill would have left it
        connection.execute("UPDATE trials SET status = 'running', score = NULL, finished = NULL WHERE id = 1")
    result = puffer(*command)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'resuming 1 interrupted trial(s): 1' in result.stdout
    (after,) = read_trials(folder)
    assert after[1] == 'done' and after[3] == pytest.approx(trial[3]) and after[4] == trial[4], after
    assert runs.read_metrics(trial[4]) == rows  # nothing trained again
    with open(os.path.join(folder, 'trials', '0001', sweep.LOG_FILE)) as file:
        assert 'had already finished' in file.read()


def test_a_ray_task_given_a_finished_run_reads_it_without_training(tmp_path):
    """The Ray backend's task gets the same check: a run that comes with its files already finished is not
    resumed (which would refuse it); the task returns it as it was."""
    config = {section: dict(items) for section, items in load(tmp_path).items()}
    code, output, files = sweep.run_trial_remotely(ENV, config, ())
    assert code == 0, output
    code, output, again = sweep.run_trial_remotely(ENV, config, (), files)
    assert code == 0, output
    metrics = [path for path in files if path.endswith(runs.METRICS_FILE)]
    assert metrics and all(again[path] == files[path] for path in metrics)


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='reads /proc; trials die with the sweep on Linux')
def test_a_killed_sweep_resumes_without_losing_trials(tmp_path):
    """Kill one trial process (it is recorded as failed and the sweep goes on), then SIGKILL the sweep itself in
    the middle of the next trial: its trial dies with it, and the same command again resumes that trial from its
    checkpoint and finishes the sweep."""
    # Trials of 256 epochs with a checkpoint after each, so the sweep can be killed in the middle of one (16 epochs
    # took less than wait_for's 0.2 s poll on a fast machine: the run had finished when the kill came).
    longer = tmp_path / 'longer.ini'
    longer.write_text('[sweep.train.total_timesteps]\ndistribution = log_normal\nmin = 65536\nmax = 65536\n'
                      'mean = 65536\n')
    config_files = [write_config(tmp_path), str(longer)]
    command = [sys.executable, '-m', 'pufferlib.cli', 'sweep', ENV, '--config', config_files[0], '--config',
               config_files[1], '--train.data-dir', str(tmp_path / 'experiments'), '--sweep.max-runs', '3']
    log = open(tmp_path / 'sweep.log', 'w')
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd='/')
    config = puffer_config.load(ENV, overrides={'train.data_dir': str(tmp_path / 'experiments')},
                                config_files=config_files, resolve=False)
    folder = sweep.sweep_folder(config)
    try:
        first_trial = wait_for(lambda: children(process.pid), what='trial 1 to start')[0]
        os.kill(first_trial, signal.SIGKILL)
        wait_for(lambda: os.path.exists(os.path.join(folder, sweep.DB_FILE)) and len(read_trials(folder)) == 2,
                 what='trial 2 to start')
        second_trial = wait_for(lambda: children(process.pid), what='trial 2 process')[0]
        checkpoint_of_trial_2 = os.path.join(folder, 'trials', '0002', ENV)
        wait_for(lambda: glob.glob(os.path.join(checkpoint_of_trial_2, '*', 'checkpoints', '*.pt')),
                 what='a checkpoint')
        process.kill()
        process.wait()
        wait_for(lambda: not alive(second_trial), timeout=10, what='the orphaned trial to die')
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    before = read_trials(folder)
    assert [t[1] for t in before] == ['failed', 'running'], before
    assert 'SIGKILL' in before[0][5]
    assert os.path.isdir(checkpoint_of_trial_2)
    killed_run = glob.glob(os.path.join(checkpoint_of_trial_2, '*'))[0]
    assert not sweep.reached_budget(killed_run, SimpleNamespace(config={'train': {'total_timesteps': 65536}})), \
        'trial 2 finished before the kill'

    # Two at a time now: a sweep may change its parallelism when resumed.
    result = subprocess.run(command + ['--sweep.workers', '2'], capture_output=True, text=True, cwd='/', timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'resuming 1 interrupted trial(s): 2' in result.stdout
    after = read_trials(folder)
    assert [(t[0], t[1]) for t in after] == [(1, 'failed'), (2, 'done'), (3, 'done')], [(t[1], t[5]) for t in after]
    assert after[1][2] == before[1][2]  # the same parameters: the interrupted trial itself was finished
    with open(os.path.join(folder, 'trials', '0002', sweep.LOG_FILE)) as file:
        assert '--- resuming run' in file.read()
    rows = runs.read_metrics(after[1][4])
    assert [row['epoch'] for row in rows] == list(range(1, len(rows) + 1))  # one unbroken curve
    assert rows[-1]['global_step'] >= 65536


@pytest.mark.slow
def test_ray_backend_runs_trials_as_ray_tasks(tmp_path):
    """A local Ray instance stands in for a cluster: trials run as tasks in scratch folders and their run files
    come back to the sweep folder."""
    pytest.importorskip('ray')
    config = load(tmp_path)
    config['sweep'].update(max_runs=2, workers=2, backend='ray')
    try:
        result = sweep.sweep(config)
    finally:
        import ray
        ray.shutdown()
    assert [t.status for t in result.trials] == ['done', 'done']
    for trial in result.trials:
        assert trial.run_dir.startswith(result.folder)
        assert len(runs.read_metrics(trial.run_dir)) >= 2
    assert os.path.exists(result.best_ini)


# ----------------------------------------------------------------------------------------------------------------
# sweep.devices
# ----------------------------------------------------------------------------------------------------------------

def test_a_bad_device_entry_is_a_one_line_config_error(tmp_path):
    with pytest.raises(ConfigError) as error:
        load(tmp_path, **{'sweep.devices': 'cuda:0,gpu1'})
    message = str(error.value)
    assert "sweep.devices = 'cuda:0,gpu1'" in message and "'gpu1' is not a device" in message
    assert len(message.strip().splitlines()) == 1
    assert load(tmp_path)['sweep']['devices'] == 'auto'


class FakePopen:
    """Records what LocalRunner would start, and starts nothing."""
    started = []

    def __init__(self, command, env, **kwargs):
        self.command, self.env = command, env
        FakePopen.started.append(self)

    def poll(self):
        return None


def test_running_trials_are_pinned_to_the_least_used_device(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep.subprocess, 'Popen', FakePopen)
    monkeypatch.setattr('torch.cuda.device_count', lambda: 2)
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)
    FakePopen.started = []
    config = load(tmp_path)
    runner = sweep.LocalRunner(dict(sweep.sweep_settings(config), workers=3, devices='cuda:0,cuda:1'))
    jobs = [sweep.TrialJob(i, ENV, str(tmp_path / str(i)), config, 'score', 2) for i in (1, 2, 3, 4)]
    for job in jobs[:3]:
        os.makedirs(job.folder)
        runner.start(job)
    # Three workers on two GPUs: the third trial shares the first GPU; each sees only its own.
    assert [p.env['CUDA_VISIBLE_DEVICES'] for p in FakePopen.started] == ['0', '1', '0']
    assert all(p.command[p.command.index('--train.device') + 1] == 'cuda' for p in FakePopen.started)
    del runner.running[2]  # the trial on cuda:1 finished: the next one takes its GPU
    os.makedirs(jobs[3].folder)
    runner.start(jobs[3])
    assert jobs[3].device == 'cuda:1' and FakePopen.started[-1].env['CUDA_VISIBLE_DEVICES'] == '1'
    with open(os.path.join(jobs[3].folder, sweep.LOG_FILE)) as file:
        assert '--- on cuda:1 (CUDA_VISIBLE_DEVICES=1) ---' in file.read()
    # Entries count the GPUs the sweep itself sees.
    assert sweep.cuda_visibility('cuda:1', {'CUDA_VISIBLE_DEVICES': '4,5'}) == {'CUDA_VISIBLE_DEVICES': '5'}


def test_gpu_entries_are_checked_against_the_machine_and_multi_rank_trials(tmp_path, monkeypatch):
    monkeypatch.setattr('torch.cuda.device_count', lambda: 1)
    settings = dict(sweep.sweep_settings(load(tmp_path)), devices='cuda:0,cuda:1')
    with pytest.raises(ConfigError, match=r'names cuda:1, but this machine has 1 GPU\(s\) visible'):
        sweep.LocalRunner(settings)
    config = load(tmp_path, **{'sweep.devices': 'cuda:0,cuda:1'})
    config['train']['world_size'] = 2
    with pytest.raises(ConfigError, match='train.world_size = 2 runs 2 ranks per trial'):
        sweep.sweep_settings(config)


def test_a_multi_rank_trial_runs_under_torchrun(tmp_path):
    config = load(tmp_path)
    config['train']['world_size'] = 2
    job = sweep.TrialJob(1, ENV, str(tmp_path), config, 'score', 2, device='cpu', device_slot=0)
    command = sweep.train_command(job, resume_run='run_1')
    assert command[1:7] == ['-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2', '-m']
    assert command[7:] == ['pufferlib.cli', 'train', ENV, '--config', job.ini_path, '--train.device', 'cpu',
                           '--resume', 'run_1']


def test_a_sweep_on_a_device_list_pins_each_trial(tmp_path):
    config = load(tmp_path, **{'sweep.devices': 'cpu,cpu'})
    config['train']['device'] = 'auto'
    config['sweep'].update(max_runs=2, workers=2)
    result, output = captured_sweep(config, sweep, 'SweepView')
    assert [t.status for t in result.trials] == ['done', 'done'], [t.error for t in result.trials]
    assert 'trial 1 started on cpu:' in output.getvalue() and 'trial 2 started on cpu:' in output.getvalue()
    for trial in result.trials:
        assert puffer_config.load_file(os.path.join(trial.run_dir, runs.CONFIG_FILE))['train']['device'] == 'cpu'
    # Like workers, the devices may change when the sweep is resumed.
    assert sweep.sweep_folder(dict(config, sweep=dict(config['sweep'], devices='auto'))) == result.folder
