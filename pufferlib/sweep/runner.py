"""`puffer sweep ENV`: search hyperparameters over the [sweep.<section>.<key>] spaces of a config.

One sweep lives in `data_dir/<env>/sweep_<hash>/`, the hash naming its config (all of it but sweep.max_runs and
sweep.workers, so raising the budget or the parallelism continues the same sweep):

    sweep.db              every trial (pufferlib.sweep.store); running the same command again resumes from it
    trials/0001/          one trial: trial.ini, train.log, and its run folder <env>/<run_id>/ (metrics, models)
    best.ini              the best trial's full config, ready for `puffer train ENV --config best.ini`

The loop: ask the method (pufferlib.sweep.methods) for a point, turn it into a trial config, run it as its own
`python -m pufferlib.cli train` process (so a crash, a NaN or a kill ends that trial only; `[sweep] workers` run
at once), read its learning curve from the metrics log, record it, repeat until max_runs trials have finished.
"""
import contextlib
import hashlib
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from pufferlib import config as puffer_config
from pufferlib import runs
from pufferlib.sweep import methods as sweep_methods
from pufferlib.sweep import spaces as sweep_spaces
from pufferlib.exceptions import APIUsageError, ConfigError, EnvironmentSetupError, PufferError
from pufferlib.sweep.store import SweepStore

# Used when a [sweep] key is missing (a config dict built by hand, or an older default.ini).
SETTING_DEFAULTS = dict(method='Protein', metric='score', goal='maximize', max_runs=100, max_suggestion_cost=3600.0,
                        workers=1, random_warmup=10, curve_points=5, candidates_per_point=16, backend='local',
                        devices='auto', population_size=4, pbt_period_steps=1_000_000, replace_fraction=0.3,
                        mutation_rate=0.15, perturb_min=1.1, perturb_max=1.5, resample_rate=0.25)
BACKENDS = ('local', 'ray')
# Settings that may change between runs of the same sweep.
RESUMABLE_CHANGES = ('max_runs', 'workers', 'backend', 'devices')
# Settings only PBT reads: they name no other sweep (so sweeps started before they existed still resume).
PBT_SETTINGS = ('population_size', 'pbt_period_steps', 'replace_fraction', 'mutation_rate', 'perturb_min',
                'perturb_max', 'resample_rate')
POLL_SECONDS = 0.2
DB_FILE, LOCK_FILE, BEST_FILE, TRIAL_FILE, LOG_FILE = 'sweep.db', 'sweep.lock', 'best.ini', 'trial.ini', 'train.log'


@dataclass
class SweepResult:
    folder: str
    trials: list                 # every Trial (pufferlib.sweep.store), in order
    best: object = None          # the best finished Trial, or None
    best_ini: str = None         # path of best.ini


def sweep(config, options=None):
    """Run (or resume) the sweep described by `config` (from pufferlib.config.load). Returns a SweepResult."""
    settings = sweep_settings(config)
    spaces = sweep_spaces.spaces_from_config(config)
    if settings['method'] == 'PBT':
        from pufferlib.sweep.pbt import PBTSweep
        kind, method = PBTSweep, None
    else:
        kind, method = Sweep, sweep_methods.make_method(settings['method'], spaces, settings)
    folder = sweep_folder(config)
    os.makedirs(os.path.join(folder, 'trials'), exist_ok=True)
    with exclusive_lock(folder):
        store = SweepStore(os.path.join(folder, DB_FILE))
        try:
            if store.get_meta('config') is None:
                store.set_meta('config', puffer_config.to_ini(config, comments=False))
            return kind(config, settings, spaces, method, folder, store, tracker_flags(options, folder)).run()
        finally:
            store.close()


def sweep_settings(config):
    settings = {**SETTING_DEFAULTS, **config.get('sweep', {})}
    if settings['backend'] not in BACKENDS:
        raise ConfigError(f'sweep.backend = {settings["backend"]!r} is not valid; choose one of: '
                          f'{", ".join(BACKENDS)}')
    problem = puffer_config.device_list_problem(str(settings['devices']))
    if problem:
        raise ConfigError(problem)
    devices = device_list(settings['devices'])
    world_size = config.get('train', {}).get('world_size', 1)
    if settings['backend'] == 'local' and world_size > 1 and any(is_cuda(d) for d in devices or ()):
        raise ConfigError(f'sweep.devices = {settings["devices"]!r} pins each trial to one GPU, but train.world_size = '
                          f'{world_size} runs {world_size} ranks per trial, one GPU each; use sweep.devices = auto '
                          '(each trial\'s ranks take cuda:0 to cuda:N-1) or sweep.backend = ray (Ray gives each '
                          'trial world_size GPUs)')
    return settings


def device_list(devices):
    """sweep.devices as a list of device names, or None for auto (every trial uses train.device)."""
    if str(devices).strip() == 'auto':
        return None
    return [entry.strip() for entry in str(devices).split(',')]


def is_cuda(device):
    return device == 'cuda' or device.startswith('cuda:')


def sweep_folder(config):
    """`data_dir/<env>/sweep_<hash of the config>`: the same command finds the same folder."""
    identity = dict(config)
    ignored = RESUMABLE_CHANGES + (PBT_SETTINGS if config.get('sweep', {}).get('method') != 'PBT' else ())
    identity['sweep'] = {k: v for k, v in config.get('sweep', {}).items() if k not in ignored}
    digest = hashlib.sha256(puffer_config.to_ini(identity, comments=False).encode()).hexdigest()[:10]
    return os.path.join(os.path.abspath(runs.env_dir(config['train']['data_dir'],
                                                     runs.env_folder_name(config['base']['env_name']))),
                        f'sweep_{digest}')


@contextlib.contextmanager
def exclusive_lock(folder):
    """Hold the sweep folder for this process. The OS drops the lock when the process dies, however it dies."""
    import fcntl
    with open(os.path.join(folder, LOCK_FILE), 'w') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise APIUsageError(f'another `puffer sweep` is running this sweep ({folder}); wait for it to finish '
                                'or stop it first') from None
        yield


class Sweep:
    keeps_runs = False  # a trial continues a run the sweep already holds (PBT's members), also on Ray

    def __init__(self, config, settings, spaces, method, folder, store, tracker_flags=()):
        self.config, self.settings, self.spaces, self.method = config, settings, spaces, method
        self.folder, self.store, self.tracker_flags = folder, store, tracker_flags
        self.env_name = config['base']['env_name']
        self.sign = 1.0 if settings['goal'] == 'maximize' else -1.0
        self.seed = config['train']['seed']
        self.view = SweepView(self)

    def run(self):
        runner = make_runner(self.settings, self.config)
        interrupted = False
        self.view.start()
        try:
            queue = [trial for trial in self.store.trials() if trial.status == 'running']
            if queue:
                self.view.message(f'resuming {len(queue)} interrupted trial(s): '
                                  f'{", ".join(str(t.id) for t in queue)}')
            while True:
                for trial_id, outcome in runner.poll():
                    self.record(trial_id, outcome)
                while runner.free_slots() and (queue or len(self.store.trials()) < self.settings['max_runs']):
                    trial = queue.pop(0) if queue else self.store.add_trial(self.suggest())
                    self.start(runner, trial)
                if not runner.busy():
                    break
                self.view.refresh()
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            runner.stop_all()
            self.view.stop()
        return self.finish(interrupted)

    # ------------------------------------------------------------------------------------------------------------
    # Suggesting and starting trials
    # ------------------------------------------------------------------------------------------------------------

    def suggest(self):
        trials = self.store.trials()
        rng = np.random.default_rng([self.seed, len(trials)])
        units = self.method.suggest(self.observations(trials), len(trials), rng)
        return sweep_spaces.from_units(self.spaces, units)

    def observations(self, trials):
        """Each finished trial gives one observation per learning-curve point (with the budget set to the steps
        reached, when a space has scale = time; else only its last point). A failed trial counts as the worst
        score seen, so the search learns to avoid what crashes."""
        budget = next((i for i, space in enumerate(self.spaces) if space.is_budget), None)
        observations = []
        for trial in trials:
            if trial.status == 'running':
                continue
            units = sweep_spaces.to_units(self.spaces, trial.params)
            curve = trial.curve if budget is not None else trial.curve[-1:]
            for steps, score, seconds in curve:
                point = units.copy()
                if budget is not None:
                    point[budget] = self.spaces[budget].to_unit(max(steps, 1))
                observations.append(sweep_methods.Observation(point, self.sign * score, seconds))
        if observations:
            worst = min(o.score for o in observations)
            for trial in trials:
                if trial.status == 'failed':
                    units = sweep_spaces.to_units(self.spaces, trial.params)
                    observations.append(sweep_methods.Observation(units, worst, trial.cost or sweep_methods.MIN_COST))
        return observations

    def trial_dir(self, trial_id):
        return os.path.join(self.folder, 'trials', f'{trial_id:04d}')

    def trial_flags(self, trial):
        """`puffer train` flags of this trial beyond its trial.ini (none here; PBT adds its own)."""
        return ()

    def start(self, runner, trial):
        folder = self.trial_dir(trial.id)
        os.makedirs(folder, exist_ok=True)
        trial_config = sweep_spaces.apply_params(self.config, trial.params)
        trial_config['train']['data_dir'] = folder
        try:
            puffer_config.validate(trial_config)
        except ConfigError as error:
            self.record(trial.id, dict(status='failed', error=f'invalid trial config: {error}'))
            return
        job = TrialJob(trial.id, self.env_name, folder, trial_config, self.settings['metric'],
                       self.settings['curve_points'], self.tracker_flags, extra_flags=self.trial_flags(trial),
                       keeps_run=self.keeps_runs)
        with open(job.ini_path, 'w') as file:
            file.write(puffer_config.to_ini(trial_config))
        runner.start(job)
        self.view.started(trial, job.device)

    # ------------------------------------------------------------------------------------------------------------
    # Recording results
    # ------------------------------------------------------------------------------------------------------------

    def record(self, trial_id, outcome):
        self.store.finish_trial(trial_id, outcome['status'], outcome.get('score'), outcome.get('cost'),
                                outcome.get('curve', ()), outcome.get('run_dir'), outcome.get('error'))
        trial = next(t for t in self.store.trials() if t.id == trial_id)
        best = self.best(self.store.trials())
        if best is not None and best.id == trial_id:
            self.write_best(best)
        self.view.finished(trial, best)

    def best(self, trials):
        done = [t for t in trials if t.status == 'done' and t.score is not None]
        return max(done, key=lambda t: self.sign * t.score) if done else None

    def write_best(self, trial):
        """The sweep's config with the best trial's values, as a training config (no [sweep] sections)."""
        best = sweep_spaces.apply_params(self.config, trial.params)
        path = os.path.join(self.folder, BEST_FILE)
        text = (f'# Best trial {trial.id} of sweep {self.folder}: {self.settings["metric"]} = {trial.score:.6g}\n'
                + puffer_config.to_ini(best))
        temporary = path + '.tmp'
        with open(temporary, 'w') as file:
            file.write(text)
        os.replace(temporary, path)
        return path

    def finish(self, interrupted):
        trials = self.store.trials()
        best = self.best(trials)
        best_ini = self.write_best(best) if best is not None else None
        result = SweepResult(self.folder, trials, best, best_ini)
        self.view.summary(result, interrupted)
        if interrupted:
            raise KeyboardInterrupt
        if best is None and trials:
            first = next(t for t in trials if t.status == 'failed')
            raise PufferError(f'every trial of the sweep failed; trial {first.id}: {first.error} '
                              f'(log: {os.path.join(self.trial_dir(first.id), LOG_FILE)})')
        return result


# ----------------------------------------------------------------------------------------------------------------
# Running trials
# ----------------------------------------------------------------------------------------------------------------

@dataclass
class TrialJob:
    trial_id: int
    env_name: str
    folder: str            # trials/NNNN: the trial's data_dir
    config: dict           # the trial's training config
    metric: str
    curve_points: int
    tracker_flags: tuple = ()   # --wandb / --neptune flags handed on to `puffer train`
    started: float = field(default_factory=time.monotonic)
    device: str = None          # the sweep.devices entry the trial is pinned to (None with devices = auto)
    device_slot: int = None     # its index in that list
    extra_flags: tuple = ()     # further `puffer train` flags (PBT: --stop-at-step, the period's hyperparameters)
    keeps_run: bool = False     # continue the run in `folder` on Ray too, rather than starting it over

    @property
    def world_size(self):
        return self.config['train'].get('world_size', 1)

    @property
    def ini_path(self):
        return os.path.join(self.folder, TRIAL_FILE)


def make_runner(settings, config):
    if settings['backend'] == 'ray':
        return RayRunner(settings, config['vec'].get('ray_address'))
    return LocalRunner(settings)


def train_command(job, resume_run=None):
    """The trial's `puffer train` command. A multi-rank trial (train.world_size > 1) starts torchrun itself, as
    `puffer train --train.world-size N` would: the process the sweep stops (SIGTERM) and outlives is then torchrun,
    which stops its ranks, where `puffer train`'s relaunch would die and leave them running."""
    command = [sys.executable]
    if job.world_size > 1:
        command += ['-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', str(job.world_size)]
    command += ['-m', 'pufferlib.cli', 'train', job.env_name, '--config', job.ini_path]
    if job.device is not None:
        command += ['--train.device', trial_device(job.device)]
    return (command + list(job.tracker_flags) + list(job.extra_flags)
            + (['--resume', resume_run] if resume_run else []))


def trial_device(device):
    """The train.device of a trial pinned to a sweep.devices entry: a GPU is made the only one the trial sees
    (CUDA_VISIBLE_DEVICES, see cuda_visibility; Ray does the same), so inside the trial it is plain `cuda`."""
    return 'cuda' if is_cuda(device) else device


def cuda_visibility(device, env):
    """The CUDA_VISIBLE_DEVICES of a trial pinned to cuda:N: that GPU alone, numbered as the sweep process sees
    them (so cuda:0 is the first of the sweep's own CUDA_VISIBLE_DEVICES when that is set). Nothing in the trial
    can then touch the other GPUs (torch.cuda.get_rng_state_all in a checkpoint makes a context on every GPU it
    sees). Empty for any other entry."""
    if not device.startswith('cuda:'):
        return {}
    index = int(device.split(':')[1])
    visible = env.get('CUDA_VISIBLE_DEVICES')
    if visible is None:
        return {'CUDA_VISIBLE_DEVICES': str(index)}
    return {'CUDA_VISIBLE_DEVICES': [v.strip() for v in visible.split(',') if v.strip()][index]}


def check_gpus(devices):
    """Refuse cuda:N entries beyond this machine's GPUs up front, rather than as every trial failing."""
    indices = [int(d.split(':')[1]) for d in devices or () if d.startswith('cuda:')]
    if not indices:
        return
    import torch
    count = torch.cuda.device_count()
    if max(indices) >= count:
        raise ConfigError(f'sweep.devices = {",".join(devices)} names cuda:{max(indices)}, but this machine has '
                          f'{count} GPU(s) visible; list cuda:0 to cuda:{count - 1}' if count else
                          f'sweep.devices = {",".join(devices)} names a GPU, but this machine has none visible; '
                          'use auto or cpu')


def tracker_flags(options, folder):
    """`puffer train` flags that log every trial to wandb / Neptune when the sweep was asked to; wandb trials
    are grouped under the sweep's folder name unless a group is given."""
    flags = []
    if getattr(options, 'wandb', False):
        flags += ['--wandb', '--wandb-project', getattr(options, 'wandb_project', None) or 'pufferlib',
                  '--wandb-group', getattr(options, 'wandb_group', None) or os.path.basename(folder)]
        if getattr(options, 'wandb_tag', None):
            flags += ['--wandb-tag', options.wandb_tag]
    if getattr(options, 'neptune', False):
        flags += ['--neptune']
        if getattr(options, 'neptune_project', None):
            flags += ['--neptune-project', options.neptune_project]
    return tuple(flags)


def child_environment(workers):
    """The trial processes' environment: this very pufferlib importable first (trials run in their own folders, so a
    source tree in the sweep's folder cannot shadow it), then the sweep's folder for the user's own env modules,
    and the machine's cores shared among the trials running at once instead of each BLAS/OpenMP pool claiming all
    of them."""
    env = dict(os.environ)
    import pufferlib
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(pufferlib.__file__)))
    env['PYTHONPATH'] = os.pathsep.join(p for p in (package_root, env.get('PYTHONPATH'), os.getcwd()) if p)
    env.setdefault('OMP_NUM_THREADS', str(max(1, (os.cpu_count() or 1) // workers)))
    return env


def die_with_parent():
    """Runs in the trial process before it starts: if the sweep process dies (even by SIGKILL), the kernel kills
    the trial too, so a resumed sweep never races an orphan writing the same run folder. Linux only."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Runner:
    """Slots for `workers` trials at once; subclasses fill `self.running` with the trials in flight and list their
    jobs in `jobs()`."""

    def free_slots(self):
        return self.workers - len(self.running)

    def busy(self):
        return bool(self.running)

    def pin(self, job):
        """With sweep.devices set, pin `job` to the entry with the fewest running trials (the first such): every
        running trial has its own entry until `workers` exceeds the list."""
        if not self.devices:
            return
        held = [other.device_slot for other in self.jobs()]
        job.device_slot = min(range(len(self.devices)), key=held.count)
        job.device = self.devices[job.device_slot]


class LocalRunner(Runner):
    """Trials as `python -m pufferlib.cli train` processes on this machine, `workers` at a time."""

    def __init__(self, settings):
        self.workers = settings['workers']
        self.devices = device_list(settings['devices'])
        check_gpus(self.devices)
        self.env = child_environment(self.workers)
        self.running = {}  # trial id -> (job, Popen, log file)

    def jobs(self):
        return [job for job, _, _ in self.running.values()]

    def start(self, job):
        env_folder = os.path.join(job.folder, runs.env_identity(job.config))
        earlier = runs.runs_of(trial_data_config(job))
        resumable = [path for path in earlier if os.path.exists(os.path.join(path, runs.CONFIG_FILE))]
        if not resumable and os.path.isdir(env_folder):
            shutil.rmtree(env_folder)  # a run cut short before it wrote its config: start it over
        log = open(os.path.join(job.folder, LOG_FILE), 'a')
        self.pin(job)
        command, note = trial_command(job, resumable)  # after pin(), which picks the trial's device
        log.write(note)
        env = self.env
        if job.device is not None:
            visibility = cuda_visibility(job.device, self.env)
            env = {**self.env, **visibility}
            log.write(f'--- on {job.device}'
                      + ''.join(f' ({key}={value})' for key, value in visibility.items()) + ' ---\n')
        log.flush()
        process = subprocess.Popen(command, stdout=log, cwd=job.folder,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                   preexec_fn=die_with_parent if sys.platform.startswith('linux') else None)
        self.running[job.trial_id] = (job, process, log)

    def poll(self):
        finished = []
        for trial_id, (job, process, log) in list(self.running.items()):
            code = process.poll()
            if code is None:
                continue
            log.close()
            del self.running[trial_id]
            if code in (130, -signal.SIGINT):
                raise KeyboardInterrupt  # Ctrl-C reached the trial: the user is stopping the sweep
            finished.append((trial_id, trial_outcome(job, code, time.monotonic() - job.started)))
        return finished

    def stop_all(self):
        for job, process, log in self.running.values():
            if process.poll() is None:
                process.terminate()
        for job, process, log in self.running.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
        self.running.clear()


def run_trial_remotely(env_name, trial_config, flags, files=None):
    """A Ray task: train one trial in a scratch folder of the node it runs on, and return its exit code, log and
    run files, since cluster nodes need not share a file system with the sweep. `files` ({relative path: bytes})
    is a run to continue (a PBT member's), laid out in the scratch folder first."""
    with tempfile.TemporaryDirectory(prefix='puffer_trial_') as folder:
        trial_config = {section: dict(items) for section, items in trial_config.items()}
        trial_config['train']['data_dir'] = folder
        job = TrialJob(0, env_name, folder, trial_config, '', 0, flags)
        with open(job.ini_path, 'w') as file:
            file.write(puffer_config.to_ini(trial_config))
        for relative, content in (files or {}).items():
            path = os.path.join(folder, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'wb') as file:
                file.write(content)
        resumable = [path for path in runs.runs_of(trial_data_config(job))
                     if os.path.exists(os.path.join(path, runs.CONFIG_FILE))]
        command, _ = trial_command(job, resumable)
        result = subprocess.run(command, capture_output=True, text=True, cwd=folder,
                                stdin=subprocess.DEVNULL, env=child_environment(1))
        return result.returncode, result.stdout + result.stderr, read_files(folder, runs.env_identity(trial_config))


def read_files(folder, identity):
    """{path relative to folder: bytes} of every file of the env folder `identity` in `folder`."""
    files = {}
    for root, _, names in os.walk(os.path.join(folder, identity)):
        for name in names:
            path = os.path.join(root, name)
            with open(path, 'rb') as file:
                files[os.path.relpath(path, folder)] = file.read()
    return files


class RayRunner(Runner):
    """Trials as Ray tasks on a cluster (`vec.ray_address`, or a local Ray started here), `workers` at a time.
    Each node needs pufferlib installed. An interrupted trial is run again from its start; a trial that keeps its
    run (a PBT member's period) takes the run's files along and continues it."""

    def __init__(self, settings, address):
        try:
            import ray
        except ImportError:
            raise EnvironmentSetupError('sweep.backend = ray needs the ray package: pip install "pufferlib[ray]"') \
                from None
        self.ray = ray
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self.task = ray.remote(num_cpus=1, max_retries=0)(run_trial_remotely)
        self.workers = settings['workers']
        self.devices = device_list(settings['devices'])
        self.running = {}  # ObjectRef -> job

    def jobs(self):
        return list(self.running.values())

    def start(self, job):
        identity = runs.env_identity(job.config)
        env_folder = os.path.join(job.folder, identity)
        files = read_files(job.folder, identity) if job.keeps_run else {}
        if os.path.isdir(env_folder) and not job.keeps_run:
            shutil.rmtree(env_folder)
        self.pin(job)
        task, flags = self.task, job.tracker_flags
        if job.device is not None:
            flags = ('--train.device', trial_device(job.device)) + tuple(flags)
            if is_cuda(job.device):  # Ray picks the node and GPUs, and sets the task's CUDA_VISIBLE_DEVICES
                task = self.task.options(num_gpus=job.world_size)
        self.running[task.remote(job.env_name, job.config, tuple(flags) + tuple(job.extra_flags), files)] = job

    def poll(self):
        if not self.running:
            return []
        ready, _ = self.ray.wait(list(self.running), num_returns=len(self.running), timeout=0)
        finished = []
        for reference in ready:
            job = self.running.pop(reference)
            try:
                code, log, files = self.ray.get(reference)
            except self.ray.exceptions.RayError as error:
                code, log, files = 1, f'the Ray task failed: {error}\n', {}
            with open(os.path.join(job.folder, LOG_FILE), 'a') as file:
                file.write(log)
            if files:  # the task's copy of the run is now the run (rotated-out checkpoints included)
                shutil.rmtree(os.path.join(job.folder, runs.env_identity(job.config)), ignore_errors=True)
            for relative, content in files.items():
                path = os.path.join(job.folder, relative)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, 'wb') as file:
                    file.write(content)
            finished.append((job.trial_id, trial_outcome(job, code, time.monotonic() - job.started)))
        return finished

    def stop_all(self):
        for reference in self.running:
            self.ray.cancel(reference, force=True)
        self.running.clear()


# ----------------------------------------------------------------------------------------------------------------
# Reading a finished trial
# ----------------------------------------------------------------------------------------------------------------

def trial_data_config(job):
    """The trial's config with its own folder as data_dir, where its run lives."""
    return {**job.config, 'train': {**job.config['train'], 'data_dir': job.folder}}


def trial_command(job, resumable):
    """(command, log line) of a trial given its earlier runs that can be resumed: a new run, the newest one resumed,
    or, when that run had already finished (a sweep killed after the run ended but before it recorded the trial: a
    --resume would refuse a finished run), a no-op child, whose exit lets the runner read the run's results."""
    if not resumable:
        return train_command(job), ''
    resume = os.path.basename(resumable[-1])
    if reached_budget(resumable[-1], job):
        return [sys.executable, '-c', ''], f'\n--- run {resume} had already finished ---\n'
    return train_command(job, resume), f'\n--- resuming run {resume} ---\n'


def reached_budget(run_dir, job):
    """Whether a trial's run finished training (run.json says so, or its step reached the trial's budget)."""
    info = runs.layout.read_info(run_dir)
    step = info.get('global_step')
    return info.get('status') == 'finished' or (isinstance(step, int) and
                                                 step >= job.config['train']['total_timesteps'])


def trial_outcome(job, exit_code, wall_seconds):
    """What a finished trial process left behind: status, score, cost, learning curve, run folder, error."""
    run_dirs = runs.runs_of(trial_data_config(job))
    run_dir = run_dirs[-1] if run_dirs else None
    rows = runs.read_metrics(run_dir) if run_dir else []
    curve = learning_curve(rows, job.metric, job.config['train']['total_timesteps'], job.curve_points)
    outcome = dict(run_dir=run_dir, curve=curve, cost=rows[-1]['uptime'] if rows else wall_seconds)
    if exit_code != 0:
        return dict(outcome, status='failed', error=error_from_log(job, exit_code))
    logged = [metric_value(row, job.metric) for row in rows if metric_key(row, job.metric) is not None]
    if logged and logged[-1] is None:
        return dict(outcome, status='failed', error=f'the metric {job.metric!r} ended as NaN or inf')
    if not curve:
        columns = sorted({key for row in rows for key in row})
        return dict(outcome, status='failed', error=f'the metric {job.metric!r} was never logged; logged: '
                                                    f'{", ".join(columns) or "nothing"}')
    return dict(outcome, status='done', score=curve[-1][1])


def metric_key(row, metric):
    """The column of `metric` in a metrics row: an env stat (`score` is `env/score`) or any other column."""
    for key in (metric, f'env/{metric}'):
        if key in row:
            return key
    return None


def metric_value(row, metric):
    """The metric in a metrics row as a finite float, or None (not logged this epoch, or NaN / inf)."""
    value = row.get(metric_key(row, metric))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def learning_curve(rows, metric, total_timesteps, points):
    """[(steps, score, seconds)] at `points` evenly spaced fractions of the training budget: the latest value of
    the metric logged by then (no point while that is NaN or nothing is logged yet), with the steps and training
    seconds of that moment."""
    curve = []
    latest = None
    index = 0
    for point in range(1, points + 1):
        boundary = total_timesteps * point / points
        row = None
        while index < len(rows) and (rows[index]['global_step'] <= boundary or point == points):
            row = rows[index]
            if metric_key(row, metric) is not None:
                latest = metric_value(row, metric)  # a NaN is not carried over by an older value
            index += 1
        if row is not None and latest is not None:
            curve.append((int(row['global_step']), latest, float(row['uptime'])))
    return curve


def error_from_log(job, exit_code):
    """The trial's own error line (`puffer: error: ...` or the last traceback line), else how it ended."""
    try:
        with open(os.path.join(job.folder, LOG_FILE), errors='replace') as file:
            lines = [line.strip() for line in file.read().splitlines()[-200:] if line.strip()]
    except OSError:
        lines = []
    errors = [line for line in lines if line.startswith('puffer: error:')]
    if errors:
        return errors[-1][len('puffer: error:'):].strip()[:500]
    if exit_code < 0:
        return f'killed by signal {signal.Signals(-exit_code).name}'
    return (lines[-1] if lines else f'exit code {exit_code}')[:500]


# ----------------------------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------------------------

def format_number(value):
    if value is None:
        return '-'
    if isinstance(value, int):
        return f'{value:,}'
    return f'{value:.4g}'


class SweepView:
    """A live table of trials (best first) on a terminal; plain lines, one per event, otherwise."""

    def __init__(self, sweep, file=None, live=None):
        self.sweep = sweep
        self.file = file or sys.stdout
        self.live = self.file.isatty() if live is None else live
        self.view = None

    def start(self):
        s = self.sweep
        self.message(f'sweep {s.env_name}: {s.settings["method"]}, {s.settings["goal"]} {s.settings["metric"]}, '
                     f'{s.settings["max_runs"]} trials, {s.settings["workers"]} at a time\n  folder: {s.folder}')
        devices = device_list(s.settings['devices'])
        if devices and s.settings['workers'] > len(devices):
            self.message(f'  {s.settings["workers"]} workers on {len(devices)} devices ({",".join(devices)}): '
                         'some trials share a device')
        if self.live:
            from rich.console import Console
            from rich.live import Live
            self.view = Live(console=Console(file=self.file), auto_refresh=False)
            self.view.start()

    def message(self, text):
        if self.view is not None:
            self.view.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.file, flush=True)

    def started(self, trial, device=None):
        if not self.live:
            where = f' on {device}' if device is not None else ''
            self.message(f'trial {trial.id} started{where}: {params_text(trial.params)}')

    def finished(self, trial, best):
        if self.live:
            self.refresh()
            return
        if trial.status == 'done':
            self.message(f'trial {trial.id} done: {self.sweep.settings["metric"]} {format_number(trial.score)} '
                         f'in {format_number(trial.cost)} s (best: trial {best.id}, {format_number(best.score)})')
        else:
            self.message(f'trial {trial.id} failed: {trial.error}')

    def refresh(self):
        if self.view is not None:
            self.view.update(self.table(self.sweep.store.trials()), refresh=True)

    def stop(self):
        if self.view is not None:
            self.refresh()
            self.view.stop()
            self.view = None

    def table(self, trials, limit=25):
        from rich import box
        from rich.table import Table
        s = self.sweep
        done = sum(t.status == 'done' for t in trials)
        failed = sum(t.status == 'failed' for t in trials)
        running = sum(t.status == 'running' for t in trials)
        title = (f'sweep {s.env_name} ({s.settings["method"]}): {done} done, {failed} failed, {running} running '
                 f'of {s.settings["max_runs"]}')
        table = Table(title=title, box=box.SIMPLE_HEAD)
        for column in self.columns():
            table.add_column(column, justify='left' if column == 'status' else 'right')
        ordered = self.ordered(trials)
        for row in ordered[:limit]:
            table.add_row(*self.cells(row))
        if len(ordered) > limit:
            table.caption = f'{len(ordered) - limit} more trials in {os.path.join(s.folder, DB_FILE)}'
        return table

    def columns(self):
        keys = [space.key for space in self.sweep.spaces]
        # A key name alone unless two sections share it (vec.num_envs, env.num_envs).
        names = [space.key if keys.count(space.key) == 1 else space.name for space in self.sweep.spaces]
        return ['trial', 'status', self.sweep.settings['metric'], 'seconds'] + names

    def cells(self, trial):
        return [str(trial.id), trial.status, format_number(trial.score), format_number(trial.cost)] + [
            format_number(trial.params.get(space.name)) for space in self.sweep.spaces]

    def ordered(self, trials):
        """Finished trials best first, then running ones, then failed ones."""
        sign = self.sweep.sign
        rank = {'done': 0, 'running': 1, 'failed': 2}
        return sorted(trials, key=lambda t: (rank[t.status], -sign * t.score if t.score is not None else 0, t.id))

    def summary(self, result, interrupted=False):
        if not self.live:
            table = self.plain_table(result.trials)
            self.message(table)
        if interrupted:
            self.message('sweep interrupted; run the same command again to resume it')
        if result.best is None:
            return
        self.message(f'best: trial {result.best.id}, {self.sweep.settings["metric"]} '
                     f'{format_number(result.best.score)}\n  {params_text(result.best.params)}\n'
                     f'  wrote {result.best_ini}\n'
                     f'  train it: puffer train {self.sweep.env_name} --config {result.best_ini}')

    def plain_table(self, trials):
        rows = [self.columns()] + [self.cells(t) for t in self.ordered(trials)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        return '\n'.join('  '.join(cell.rjust(width) if i != 1 else cell.ljust(width)
                                   for i, (cell, width) in enumerate(zip(row, widths))) for row in rows)


def params_text(params):
    return ' '.join(f'{name}={format_number(value)}' for name, value in params.items())
