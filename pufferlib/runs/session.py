"""`puffer train`: one training session of a run, from opening its folder to its last line.

    open the run     new (experiment name, default env + start time), or existing: --resume latest|NAME|PATH|STEP,
                     or an existing --train.experiment NAME with train.restart_behavior = resume|restart|overwrite
    lock it          one writer per run folder (pufferlib.runs.lock)
    set up           process-wide torch settings, envs, policy, warm start (--train.init-path), Trainer, sinks
    epochs           collect, learn, log; best model; checkpoints every checkpoint_interval epochs and every
                     checkpoint_seconds; stop on the budget (total_timesteps or train_seconds) or a signal
    close            final checkpoint and model, run.json status, the lines that say where everything is

Resuming continues exactly: a resumed run accepts command-line changes to budgets, logging and checkpointing
(RESUME_SAFE) and refuses the others by name. A finished run resumed with a larger total_timesteps (or
train_seconds) is extended; its schedules are stretched over the new budget (they follow the fraction of the
budget done, see Trainer.progress), so the learning rate picks up where the longer schedule puts it.
"""
import io
import os
import random
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch

from pufferlib import denormals, distributed, models

from pufferlib.runs import checkpoint
from pufferlib import config as puffer_config
from pufferlib.dashboard import Dashboard, duration
from pufferlib.exceptions import ConfigError, PufferError, TrainingInterrupted
from pufferlib.runs import find, history, layout
from pufferlib.runs.lock import RunLock
from pufferlib.runs.metrics import MetricsLog, TensorBoardLog

OPTION_DEFAULTS = dict(resume=None, load_model_path=None, overrides=None, config_files=(), wandb=False,
                       wandb_project=None, wandb_group=None, wandb_tag=None, neptune=False, neptune_project=None,
                       neptune_name=None, stop_at_step=None, change_hyperparameters=False)
# What a resumed run may change: budgets, logging, checkpointing, and where it computes. The run's identity keys
# (experiment, data_dir, restart_behavior) only say which run to open. Everything else would change the model,
# the data layout or the learning itself, and is refused by name.
RESUME_SAFE = {
    'train': {'total_timesteps', 'train_seconds', 'checkpoint_interval', 'checkpoint_seconds', 'keep_checkpoints',
              'milestone_seconds', 'save_best_after', 'device', 'compile', 'compile_mode', 'experiment', 'data_dir',
              'restart_behavior', 'world_size'},
    'vec': {'timeout', 'check_spaces', 'ray_address'},
}
# What a resume may also change with --change-hyperparameters, which PBT sweeps pass at a period boundary
# (pufferlib.sweep.pbt): learning hyperparameters that every session reads afresh from the config. Not the model,
# the data layout, or Adam's betas and eps (the checkpoint's optimizer state brings its own).
HYPERPARAMETERS = {
    'train': {'learning_rate', 'lr_final_ratio', 'ent_coef', 'ent_final_ratio', 'clip_coef', 'clip_final_ratio',
              'vf_coef', 'vf_clip_coef', 'vf_clip_final_ratio', 'gamma', 'gae_lambda', 'max_grad_norm',
              'update_epochs', 'prio_alpha', 'prio_beta0', 'vtrace_rho_clip', 'vtrace_c_clip'},
}


@dataclass
class TrainResult:
    run_dir: str
    global_step: int
    epoch: int
    stats: dict       # latest mean of each environment statistic (score, episode_return, ...)
    losses: dict      # losses of the last epoch
    model_path: str
    best_model_path: str = None
    experiment: str = None


@dataclass
class OpenedRun:
    run_dir: str
    config: dict
    lock: RunLock
    state: dict = None          # the checkpoint to continue from (None: a new run, or one with no checkpoint yet)
    state_path: str = None
    rewind_to: int = None       # resuming from this older step: later checkpoints are set aside
    notes: tuple = ()
    created: bool = False       # the folder was made by this session (removed again if setting up fails)

    @property
    def name(self):
        return os.path.basename(self.run_dir)


# ----------------------------------------------------------------------------------------------------------------
# Opening a run
# ----------------------------------------------------------------------------------------------------------------

def open_run(config, options):
    """Decide which run folder this session writes, lock it, and load what it continues from."""
    t = config['train']
    puffer_config.validate(config)  # the experiment name becomes a folder: never trust one unchecked
    identity = layout.env_identity(config)
    parent = layout.env_dir(t['data_dir'], identity)
    if options.resume:
        run_dir, step = find.find_run(config, options.resume)
        return reopen(run_dir, config, options, step)
    name = t['experiment']
    notes = []
    if name != 'auto':
        existing = os.path.join(parent, name)
        if os.path.exists(existing):
            behavior = t['restart_behavior']
            if behavior == 'resume':
                return reopen(existing, config, options, None)
            with RunLock(existing):  # never move or delete a folder that another process is writing
                pass
            if behavior == 'restart':
                aside = f'{existing}.old_{time.strftime("%Y%m%d_%H%M%S")}'
                os.replace(existing, aside)
                notes.append(f'restart_behavior = restart: moved the earlier run {name} aside to {aside}')
            else:
                notes.append(f'restart_behavior = overwrite: deleting the earlier run {existing}')
                shutil.rmtree(existing)
    run_dir = make_run_dir(parent, name if name != 'auto' else layout.default_experiment(identity), name == 'auto')
    lock = RunLock(run_dir).acquire()
    layout.update_info(run_dir, experiment=os.path.basename(run_dir), env=identity, env_name=config['base']
                       ['env_name'], package=config['base']['package'], created=time.time(), status='running',
                       pid=os.getpid())
    return OpenedRun(run_dir, config, lock, notes=tuple(notes), created=True)


def make_run_dir(parent, name, numbered):
    """Create the run folder; an automatic name started within the same second gets a suffix."""
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as error:
        raise ConfigError(f'train.data_dir: cannot create {parent}: {error.strerror}') from None
    candidate, suffix = name, 1
    while True:
        path = os.path.join(parent, candidate)
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            if not numbered:
                raise ConfigError(f'train.experiment = {name!r}: {path} appeared while starting') from None
            suffix += 1
            candidate = f'{name}_{suffix}'


def reopen(run_dir, config, options, step):
    """Lock an existing run and load its config (with the safe command-line changes) and checkpoint."""
    lock = RunLock(run_dir).acquire()
    try:
        return load_existing(run_dir, config, options, step, lock)
    except BaseException:
        lock.release()
        raise


def load_existing(run_dir, config, options, step, lock):
    name = os.path.basename(run_dir)
    config_path = os.path.join(run_dir, layout.CONFIG_FILE)
    if not os.path.exists(config_path):
        raise ConfigError(f'cannot resume {name}: {run_dir} has no config.ini (the run was stopped before its '
                          'envs were built); delete the folder, or start it again with train.restart_behavior = '
                          'overwrite')
    saved = puffer_config.load_file(config_path)
    notes = []
    if lock.stale_holder:
        notes.append(f'{name} was last written by pid {lock.stale_holder.get("pid")}, which is gone (crashed or '
                     'killed): taking over its lock')
    changes = apply_safe_overrides(saved, options.overrides or {}, name, options.change_hyperparameters)
    if changes:
        notes.append('changed on resume: ' + ', '.join(changes))
    if step is not None:
        path = history.checkpoint_at(run_dir, step)
        if path is None:
            steps = history.saved_steps(run_dir)
            raise ConfigError(f'--resume {step}: {name} has no checkpoint at step {step}; saved steps: '
                              f'{", ".join(map(str, steps[-8:])) or "none"}')
    else:
        path = history.newest_checkpoint(run_dir)
    state = checkpoint.read_checkpoint(path) if path else None
    rewind = None
    if state is not None:
        counters = state['counters']
        newest = history.checkpoints(run_dir)
        if step is not None and newest and newest[-1][0] > step:
            rewind = step
        elif finished(saved['train'], counters):
            raise ConfigError(finished_message(name, saved['train'], counters))
    else:
        notes.append(f'{name} has no checkpoint yet: starting it again from step 0 in the same folder')
    layout.update_info(run_dir, status='running', pid=os.getpid(), env=layout.env_identity(saved),
                       experiment=name)
    return OpenedRun(run_dir, saved, lock, state, path, rewind, tuple(notes))


def apply_safe_overrides(saved, overrides, name, hyperparameters=False):
    """Set the command-line values of RESUME_SAFE keys (and with `hyperparameters`, of HYPERPARAMETERS) in the
    run's config; a ConfigError naming every other key whose value differs from the run's. Returns
    'key: old -> new' strings for the changes made."""
    problems, changes = [], []
    schema = puffer_config.typed_defaults()
    # Renamed keys given on the command line mean what they meant before (train.anneal_lr -> lr_schedule, ...).
    old_train = {dotted.split('.', 1)[1]: raw for dotted, raw in overrides.items()
                 if dotted.startswith('train.') and dotted.split('.', 1)[1] in puffer_config.OLD_TRAIN_KEYS}
    if old_train:
        overrides = {dotted: raw for dotted, raw in overrides.items() if dotted.split('.', 1)[-1] not in old_train}
        migrated = puffer_config.migrate_train_keys(old_train, 'command line', problems, schema['train'])
        overrides.update({f'train.{key}': value for key, value in migrated.items()})
    for dotted, raw in overrides.items():
        section, key = dotted.rsplit('.', 1) if '.' in dotted else ('base', dotted)
        if section.startswith(puffer_config.SWEEP_PREFIX) or section == 'sweep':
            continue
        old = saved.get(section, {}).get(key)
        default = schema.get(section, {}).get(key, old)
        try:
            value = puffer_config.coerce(raw, default, dotted, puffer_config.AUTO_TYPES.get((section, key)))
        except ValueError as error:
            problems.append(f'{dotted} = {str(raw)[:60]!r}: {error}')
            continue
        if value == old:
            continue
        if key in RESUME_SAFE.get(section, ()) or (hyperparameters and key in HYPERPARAMETERS.get(section, ())):
            if key in ('experiment', 'data_dir', 'restart_behavior'):
                continue  # they chose this run; they are not settings of it
            saved.setdefault(section, {})[key] = value
            changes.append(f'{dotted} {old} -> {value}')
        else:
            problems.append(f'{dotted} = {value!r} differs from run {name}\'s {old!r}: it cannot change when a run '
                            'resumes (only budgets, logging and checkpointing can: ' +
                            ', '.join(f'{s}.{k}' for s in RESUME_SAFE for k in sorted(RESUME_SAFE[s])
                                      if k not in ('experiment', 'data_dir', 'restart_behavior')) +
                            f'); start a new run with --train.init-path {name} to warm-start from it instead')
    if problems:
        raise ConfigError(problems)
    return changes


def finished(t, counters):
    return counters['global_step'] >= t['total_timesteps'] or (
        bool(t.get('train_seconds')) and counters['uptime'] >= t['train_seconds'])


def finished_message(name, t, counters):
    step = counters['global_step']
    if step >= t['total_timesteps']:
        return (f'run {name} is finished: it reached step {step:,} of train.total_timesteps = '
                f'{t["total_timesteps"]:,}. To extend it, pass a larger budget, e.g. --train.total-timesteps '
                f'{2 * t["total_timesteps"]} (its schedules are stretched over the new budget)')
    return (f'run {name} is finished: it trained {counters["uptime"]:.0f} s of train.train_seconds = '
            f'{t["train_seconds"]}. To extend it, pass a larger --train.train-seconds (or 0 for no time limit)')


def now():
    """The clock of checkpoint_seconds (a function, so tests can move it)."""
    return time.monotonic()


# ----------------------------------------------------------------------------------------------------------------
# Process-wide settings
# ----------------------------------------------------------------------------------------------------------------

def seed_everything(seed, deterministic):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')  # cuBLAS needs it for repeatable results
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic


class TorchSettings:
    """Seeds, deterministic algorithms, thread count and denormal flushing for one session, put back after."""

    def __enter__(self):
        self.deterministic = torch.are_deterministic_algorithms_enabled()
        self.threads = torch.get_num_threads()
        self.flushing = denormals.flushing_denormals()
        return self

    def __exit__(self, *exc_info):
        torch.use_deterministic_algorithms(self.deterministic)
        denormals.set_flush_denormals(self.flushing)
        torch.set_num_threads(self.threads)


def training_threads(config, num_agents):
    """Torch threads for CPU training (pufferlib.threads): the user's own setting when there is one, else by the
    size of the larger of an inference batch and a learning chunk, so a small policy is not slowed by a thread
    pool it cannot feed. One setting for both phases: switching costs more than it saves."""
    from pufferlib.threads import torch_threads
    t = config['train']
    rows = max(num_agents, min(t['minibatch_size'], t['max_minibatch_size']))
    hidden = config['policy'].get('hidden_size', 128)
    hidden = hidden if isinstance(hidden, int) and hidden > 0 else 128
    return torch_threads(config['vec']['backend'], puffer_config.physical_cores(), rows, hidden)


# ----------------------------------------------------------------------------------------------------------------
# Signals
# ----------------------------------------------------------------------------------------------------------------

class StopSignals:
    """Ctrl-C and SIGTERM ask the loop to stop at the end of the epoch, after a checkpoint; a second Ctrl-C stops
    at once (KeyboardInterrupt), losing the steps since the last checkpoint. Installed only in the main thread."""

    def __init__(self, dashboard):
        self.dashboard = dashboard
        self.requested = None   # 'SIGINT' or 'SIGTERM'
        self.previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self.previous[number] = signal.signal(number, self.handle)
        return self

    def __exit__(self, *exc_info):
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    def handle(self, number, frame):
        name = signal.Signals(number).name
        if self.requested == 'SIGINT' and number == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = self.requested or name
        self.dashboard.message(f'{name}: stopping after this epoch with a checkpoint'
                               + (' (Ctrl-C again stops at once, losing the steps since the last checkpoint)'
                                  if number == signal.SIGINT else ''))


class HeldTerm:
    """SIGTERM held back while a rank of a data-parallel run records how it ended: torchrun sends it to every other
    rank a tenth of a second after one fails, and a rank 0 killed half way through closing would leave its run
    folder saying `running`. A SIGTERM that arrived is delivered afterwards, except after a crash (the process is
    ending with its error already)."""

    def __init__(self, active, redeliver):
        self.active = active and threading.current_thread() is threading.main_thread()
        self.redeliver = redeliver
        self.received = False
        self.previous = None

    def __enter__(self):
        if self.active:
            self.previous = signal.signal(signal.SIGTERM, self.hold)
        return self

    def hold(self, number, frame):
        self.received = True

    def __exit__(self, *exc_info):
        if self.active:
            signal.signal(signal.SIGTERM, self.previous)
            if self.received and self.redeliver:
                signal.raise_signal(signal.SIGTERM)


# ----------------------------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------------------------

def train(config, options=None, dashboard=None):
    """Train `config` (from pufferlib.config.load) and return a TrainResult. See the module docstring.

    options: resume (None, or latest / a run name / a run folder / a step), overrides (the command line's
    {'section.key': value}: on resume, the ones that may change are applied), load_model_path (same as
    train.init_path), and the --wandb / --neptune flags. `dashboard` defaults to a live view on a terminal and plain
    lines otherwise."""
    options = SimpleNamespace(**{**OPTION_DEFAULTS, **vars(options or SimpleNamespace())})
    if options.stop_at_step is not None and options.stop_at_step < 1:
        raise ConfigError(f'--stop-at-step {options.stop_at_step} must be at least 1 (agent steps)')
    config = {section: dict(items) for section, items in config.items()}
    if distributed.launched():
        distributed.init(puffer_config.resolve_device(config['train']['device']))
        # Torn down after a clean finish only. A rank that fails leaves its group to its process's exit: the other
        # ranks see it fail only once it has exited, so torchrun names it, not them, as the root cause.
        result = train_rank(config, options, dashboard)
        distributed.barrier()  # no rank tears the group down while another still uses it (gloo aborts then)
        distributed.teardown()
        return result
    opened = open_run(config, options)
    try:
        return Session(opened, options, dashboard).run()
    finally:
        opened.lock.release()


class NoLock:
    """The run lock of a rank other than 0: rank 0 holds the real one for the whole group."""

    def release(self):
        pass


def train_rank(config, options, dashboard):
    """One rank of a data-parallel run (docs/distributed.md): rank 0 opens and locks the run folder and hands every
    other rank the run's config and checkpoint, each rank with its own envs' state from it; they follow it with a
    quiet dashboard and write nothing. A rank 0 that fails to open the run tells the others, which stop too."""
    opened = failure = None
    if distributed.is_main():
        try:
            opened = open_run(config, options)
        except BaseException as error:
            failure = error
        state = opened.state if opened else None
        if state is not None:  # what is the same on every rank; each rank's own part follows (scatter_rank_states)
            state = {key: value for key, value in state.items() if key not in distributed.RANK_KEYS + ('ranks',)}
        distributed.broadcast_object(None if failure else (opened.run_dir, opened.config, state, opened.state_path))
        if failure is not None:
            raise failure
        if state is not None:
            distributed.scatter_rank_states(opened.state)
    else:
        shared = distributed.broadcast_object(None)
        if shared is None:
            raise PufferError('rank 0 could not open the run (its error says why); this rank stops too')
        run_dir, config, state, state_path = shared
        if state is not None:
            state = dict(state, **distributed.scatter_rank_states(None))
        opened = OpenedRun(run_dir, config, NoLock(), state, state_path)
        dashboard = Dashboard(layout.env_identity(config), live=False, file=io.StringIO())
    try:
        return Session(opened, options, dashboard).run()
    finally:
        opened.lock.release()


class Session:
    def __init__(self, opened, options, dashboard):
        self.opened = opened
        self.options = options
        self.config = opened.config
        self.run_dir = opened.run_dir
        self.name = opened.name
        self.identity = layout.env_identity(self.config)
        self.dashboard = dashboard or Dashboard(self.identity)
        self.dashboard.run_dir = self.run_dir
        self.trainer = None
        self.sinks = []
        self.history = None
        self.best = None
        self.last_milestone_uptime = 0.0
        self.main = distributed.is_main()            # rank 0, or a single process: writes the run folder
        self.data_parallel = distributed.active()

    def run(self):
        config, t = self.config, self.config['train']
        for note in self.opened.notes:
            self.dashboard.message(note)
        status, error = 'crashed', None
        with TorchSettings():
            # Every rank seeds torch alike and draws every rank's sampling noise, keeping its own share of it;
            # its envs are its share of the global env pool (pufferlib.distributed.shared_draw and first_env).
            seed_everything(t['seed'], t['torch_deterministic'])
            from pufferlib import vector
            vecenv = None
            try:
                if self.data_parallel:
                    vecenv = vector.make_from_config(
                        config, first_env=distributed.first_env(config['vec']['num_envs']))
                else:
                    vecenv = vector.make_from_config(config)
                self.trainer = self.build(vecenv)
                self.dashboard.message(self.where_line('run'))
                with StopSignals(self.dashboard) as signals:
                    stopped = self.epochs(signals)
                if self.data_parallel:
                    distributed.check_identical(self.trainer.policy)
                self.save_checkpoint(restart_envs=False)
                if stopped:
                    status = 'interrupted'
                    raise TrainingInterrupted(self.interrupted_text(stopped), 130 if stopped == 'SIGINT' else 143)
                model_path = self.save_model()
                status = 'paused' if self.paused() else 'finished'
                return TrainResult(self.run_dir, self.trainer.global_step, self.trainer.epoch,
                                   dict(self.trainer.latest_stats), dict(self.trainer.latest_losses), model_path,
                                   self.best_path(), self.name)
            except KeyboardInterrupt:
                status, error = 'interrupted', 'stopped at once by a second Ctrl-C'
                self.dashboard.message(self.lost_text())
                raise
            except TrainingInterrupted:
                raise
            except BaseException as exception:
                error = checkpoint.first_line(exception)
                raise
            finally:
                with HeldTerm(self.data_parallel, redeliver=status != 'crashed'):
                    if vecenv is not None:
                        vecenv.close()
                    self.close(status, error)

    # Setting up ------------------------------------------------------------------------------------------------

    def build(self, vecenv):
        from pufferlib.trainer import Trainer
        config, t = self.config, self.config['train']
        opened = self.opened
        from pufferlib import selfplay
        vecenv = selfplay.wrap(config, vecenv)  # [selfplay] on: the trainer sees the learner's rows only
        puffer_config.resolve_train_auto(config, vecenv.num_agents)  # and validates the whole config with them
        t['device'] = distributed.init(puffer_config.resolve_device(t['device']))  # cuda:LOCAL_RANK for a rank
        if torch.device(t['device']).type == 'cpu':
            torch.set_num_threads(training_threads(config, vecenv.num_agents))
        denormals.set_flush_denormals(True)  # a trained policy's activations underflow into slow denormals
        def make_policy():
            policy = models.make_policy(vecenv.driver_env, config['base']['policy_name'], config['base']['rnn_name'],
                                        config['policy'], config['rnn'], config['train'])
            return policy, self.warm_start(policy) if opened.state is None else None

        policy, init_state = make_policy()
        if self.main and (opened.state is None or opened.notes):
            # Written once the auto sizes are known; budgets changed on resume become part of the run's config.
            layout.write_config(self.run_dir, puffer_config.to_ini(config))
        if t.get('num_policies', 1) > 1:  # several policies, each a Trainer of its own rows (pufferlib.multipolicy)
            from pufferlib import multipolicy
            trainer = multipolicy.make(config, vecenv, policy, lambda: make_policy()[0], self.run_dir, self.dashboard)
        else:
            trainer = Trainer(config, vecenv, policy, self.run_dir, self.dashboard)
        distributed.broadcast_module(trainer.policy)  # every rank starts from rank 0's weights
        if init_state is not None and t['init_optimizer']:
            self.load_init_optimizer(trainer, init_state)
        self.history = history.CheckpointHistory(self.run_dir, t['keep_checkpoints'], t['milestone_seconds'])
        self.best = history.BestModel(t['save_best_metric'], t['save_best_after'])
        metrics = MetricsLog(self.run_dir)
        resume_step = None
        if opened.state is not None:
            trainer.load_state_dict(opened.state, opened.state_path)  # rank 0's random state, shared by every rank
            trainer.last_checkpoint = opened.state_path
            runs_state = opened.state.get('run', {}) if isinstance(opened.state.get('run'), dict) else {}
            self.best.load_state_dict(runs_state.get('best', {}))
            self.last_milestone_uptime = float(runs_state.get('last_milestone_uptime', 0.0))
            if self.main:
                metrics.truncate_after(trainer.epoch)
            resume_step = trainer.global_step
            if self.main and opened.rewind_to is not None:
                aside = self.history.set_aside_after(opened.rewind_to)
                if aside:
                    self.dashboard.message(f'resumed from step {opened.rewind_to}: the later checkpoints are kept '
                                           f'in {aside}')
        else:
            if self.main and os.path.exists(metrics.path):  # a run restarted from step 0 in its own folder
                metrics.truncate_after(0)
                resume_step = 0
            trainer.reset_envs(config['vec']['seed'])
            if trainer.imitation is not None and config['bc']['pretrain_steps'] > 0:  # docs/rewards.md
                first, last = trainer.imitation.pretrain(config['bc']['pretrain_steps'], trainer.zero_grad)
                self.dashboard.message(f'bc: {config["bc"]["pretrain_steps"]} pre-training steps on '
                                       f'{config["bc"]["demo_path"]}, loss {first:.3f} -> {last:.3f}')
        if self.main:
            self.sinks = [metrics, TensorBoardLog(self.run_dir, puffer_config.to_ini(config, comments=False),
                                                  resume_step)]
            from pufferlib.loggers import make_loggers
            self.sinks += make_loggers(self.options, config, self.run_dir)
        trainer.sinks = self.sinks
        self.last_checkpoint_time = now()
        return trainer

    def warm_start(self, policy):
        """--train.init-path (or --load-model-path): weights from another run or file, possibly of another env with
        the same spaces. Returns the loaded checkpoint when it was a full one (for init_optimizer), else None."""
        from pufferlib.runs import saved_policy
        spec = self.config['train'].get('init_path') or self.options.load_model_path
        if spec in (None, '', 'None'):
            return None
        flag = '--train.init-path' if self.config['train'].get('init_path') else '--load-model-path'
        path = find.resolve_model_path(spec, self.config, flag)
        saved = checkpoint.read(path)
        weights = checkpoint.model_state(saved)
        if not checkpoint.is_state_dict(weights):
            raise checkpoint.CheckpointError(f'{flag} {spec}: {path} holds no policy weights')
        saved_policy.load_weights(policy, weights, path)
        self.dashboard.message(f'warm start: weights from {path}')
        return saved if isinstance(saved, dict) and 'optimizers' in saved else None

    def load_init_optimizer(self, trainer, state):
        for learner in getattr(trainer, 'learners', [trainer]):  # each policy of a multi-policy run
            try:
                for optimizer, saved in zip(learner.optimizers, state['optimizers']):
                    optimizer.load_state_dict(saved)
            except (ValueError, KeyError, TypeError, RuntimeError) as error:
                raise ConfigError(f'train.init_optimizer = True: the optimizer state of the init checkpoint does '
                                  f'not fit ({checkpoint.first_line(error)}); set train.init_optimizer = '
                                  'False') from None
            if learner.flat is not None:
                learner.flat.check_views()

    # The loop --------------------------------------------------------------------------------------------------

    def epochs(self, signals):
        """Train until the budget is spent or a signal asks to stop; returns that signal's name or None."""
        trainer, t = self.trainer, self.config['train']
        spent = distributed.broadcast_object(self.budget_spent())  # rank 0's clock decides, for every rank
        while not spent:
            before = trainer.global_step
            trainer.collect()
            if self.data_parallel:  # every rank's steps, counted before the update: schedules follow the run's progress
                trainer.global_step = before + distributed.agree(trainer.global_step - before, False)[0]
            losses = trainer.learn()
            requested = signals.requested
            if self.data_parallel:
                losses, requested, spent, time_checkpoint = self.agree(before, losses, requested)
            else:
                spent = self.budget_spent()
            row = trainer.log(losses)
            self.check_best(row)
            if requested:
                return requested
            if trainer.epoch % t['checkpoint_interval'] == 0:
                if self.data_parallel:
                    distributed.check_identical(trainer.policy)
                self.save_checkpoint(restart_envs=True)
            elif (time_checkpoint if self.data_parallel else self.time_checkpoint_due()):
                self.save_checkpoint(restart_envs=False)
        return None

    def time_checkpoint_due(self):
        t = self.config['train']
        return bool(t['checkpoint_seconds']) and now() - self.last_checkpoint_time >= t['checkpoint_seconds']

    def budget_spent(self):
        """The run's budget, or this session's --stop-at-step (a PBT sweep trains a member a period at a time)."""
        stop = self.options.stop_at_step
        return self.trainer.budget_spent() or (stop is not None and self.trainer.global_step >= stop)

    def paused(self):
        """Stopped at --stop-at-step with budget left: the run continues with the next --resume."""
        return self.options.stop_at_step is not None and not self.trainer.budget_spent()

    def agree(self, before, losses, requested):
        """The ranks' common view of the epoch just done (global_step already counts every rank's steps, see
        epochs): the row holds every rank's episodes and mean losses, and all stop together (a signal on any rank, or
        rank 0's budget); a checkpoint by time is taken by all when rank 0's clock says so (it gathers every rank's
        envs)."""
        trainer = self.trainer
        _, signalled = distributed.agree(0, requested)
        distributed.gather_stats(trainer)
        losses = distributed.average_losses(losses)
        spent, time_checkpoint = distributed.decided_by_rank0(self.main and self.budget_spent(),
                                                              self.main and self.time_checkpoint_due())
        return losses, requested or ('SIGTERM' if signalled else None), spent, time_checkpoint

    def check_best(self, row):
        if not self.main:
            return
        best = self.best.observe(row)
        if best is None:
            return
        history.save_best(self.run_dir, self.trainer.model_weights(), self.best.best, self.best.metric)

    def save_checkpoint(self, restart_envs):
        """Write a checkpoint and record progress in run.json. In deterministic mode, envs that cannot be
        snapshotted restart after an interval checkpoint from a seed fixed by the epoch, so that a run resumed from
        it sees the episodes an uninterrupted run sees (time-based checkpoints fall at no fixed epoch and skip
        this: resuming from one of them is exact except for such envs). Data-parallel, every rank takes part: rank 0
        writes the checkpoint with the other ranks' envs in it (pufferlib.distributed.gather_rank_states)."""
        trainer = self.trainer
        state = trainer.state_dict()
        if self.data_parallel:
            distributed.gather_rank_states(state)
        if not self.main:
            if restart_envs and self.config['train']['torch_deterministic'] and state['envs'] is None:
                trainer.restart_envs()
            return None
        uptime = state['counters']['uptime']
        state['run'] = dict(best=self.best.state_dict(), last_milestone_uptime=self.last_milestone_uptime)
        path, self.last_milestone_uptime = self.history.save(state, trainer.global_step, uptime,
                                                             self.last_milestone_uptime)
        trainer.last_checkpoint = path
        self.last_checkpoint_time = now()
        for sink in self.sinks:
            if hasattr(sink, 'flush'):
                sink.flush()
        self.record_progress()
        if restart_envs and self.config['train']['torch_deterministic'] and state['envs'] is None:
            trainer.restart_envs()
        return path

    def record_progress(self, **changes):
        trainer = self.trainer
        best = self.best.best if self.best else None
        layout.update_info(self.run_dir, global_step=trainer.global_step, epoch=trainer.epoch,
                           total_timesteps=self.config['train']['total_timesteps'], uptime=trainer.total_uptime(),
                           score=trainer.latest_stats.get('score'),
                           best=dict(metric=self.best.metric, value=best[0], step=best[1]) if best else None,
                           **changes)

    def save_model(self):
        path = os.path.join(self.run_dir, checkpoint.MODEL_FILE)
        if not self.main:
            return path
        checkpoint.save_atomic(self.trainer.model_weights(), path)
        if hasattr(self.trainer, 'all_model_weights'):  # the other policies of a multi-policy run
            from pufferlib import multipolicy
            for index, weights in enumerate(self.trainer.all_model_weights()[1:], 1):
                checkpoint.save_atomic(weights, os.path.join(self.run_dir, multipolicy.model_file(index)))
        for logger in self.sinks:
            if hasattr(logger, 'log_model'):
                logger.log_model(path)
        return path

    def best_path(self):
        path = os.path.join(self.run_dir, layout.BEST_MODEL_FILE)
        return path if os.path.exists(path) else None

    # Closing ---------------------------------------------------------------------------------------------------

    def close(self, status, error):
        if not self.main:
            self.dashboard.close()
            return
        if self.trainer is None and self.opened.created:
            shutil.rmtree(self.run_dir, ignore_errors=True)  # set-up failed (a config error): leave no empty run
            return
        if self.trainer is not None:
            self.dashboard.close()
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:  # a tracker failing to close must not hide why training ended
                pass
        changes = dict(status=status, pid=None, error=error)
        if self.trainer is not None:
            self.record_progress(**changes)
        else:
            layout.update_info(self.run_dir, **changes)
        if status == 'finished':
            self.dashboard.message(self.finished_text())
        elif status == 'paused':
            self.dashboard.message(f'paused {self.name} at step {self.trainer.global_step:,} of '
                                   f'{self.config["train"]["total_timesteps"]:,} (--stop-at-step); continue: '
                                   f'{self.command("train", resume=True)}')
        elif status == 'crashed':
            kept = self.trainer.last_checkpoint if self.trainer else None
            self.dashboard.message(f'run {self.name} crashed; folder {self.run_dir}; '
                                   + (f'last checkpoint {kept}; resume: {self.command("train", resume=True)}'
                                      if kept else 'no checkpoint was written'))

    def where_line(self, word):
        return (f'{word} {self.name}: folder {self.run_dir}; model {os.path.join(self.run_dir, "model.pt")} '
                f'(TensorBoard: tensorboard --logdir {self.config["train"]["data_dir"]})')

    def command(self, verb, resume=False, extend=False):
        """The puffer command that resumes or evaluates this run, with what identifies its env."""
        config = self.config
        parts = ['puffer', verb, layout.env_folder_name(config['base']['env_name'])]
        for path in self.options.config_files or ():  # a config file of the user's own defines the env
            parts += ['--config', os.path.abspath(path)]
        env = config.get('env', {})
        if config['base']['package'] in layout.MULTI_ENV_PACKAGES and env.get('name'):
            parts += ['--env.name', str(env['name'])]
        if config['base']['package'] == 'atari' and env.get('game') not in (None, 'None'):
            parts += ['--env.game', str(env['game'])]
        if os.path.normpath(config['train']['data_dir']) != 'experiments':
            parts += ['--train.data-dir', config['train']['data_dir']]
        if resume:
            parts += ['--resume', self.name]
        if extend:
            parts += ['--train.total-timesteps', str(2 * config['train']['total_timesteps'])]
        if verb == 'eval':
            parts += ['--load-model-path', self.run_dir]
        return ' '.join(parts)

    def finished_text(self):
        trainer = self.trainer
        best = self.best.best
        best_text = (f'; best {self.best.metric} {best[0]:.4g} at step {best[1]:,} in '
                     f'{os.path.join(self.run_dir, layout.BEST_MODEL_FILE)}' if best else '')
        return '\n'.join([
            f'finished {self.name}: {trainer.global_step:,} steps in {duration(trainer.total_uptime())}; model '
            f'{os.path.join(self.run_dir, checkpoint.MODEL_FILE)}{best_text}',
            f'  evaluate: {self.command("eval")}',
            f'  extend:   {self.command("train", resume=True, extend=True)}'])

    def interrupted_text(self, name):
        return (f'{name}: run {self.name} stopped at step {self.trainer.global_step:,} with a checkpoint at '
                f'{self.trainer.last_checkpoint}; nothing was lost. Resume: {self.command("train", resume=True)}')

    def lost_text(self):
        kept = self.trainer.last_checkpoint if self.trainer else None
        if kept:
            return (f'stopped at once: the steps since the last checkpoint ({kept}) are lost; resume from it: '
                    f'{self.command("train", resume=True)}')
        return f'stopped at once before the first checkpoint of {self.run_dir}: nothing of this run was saved'
