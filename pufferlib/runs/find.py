"""Finding runs and the files in them from what a user types: `latest`, `best`, a step, a run name or a path.

    --resume latest | best | NAME | PATH | STEP   a run to continue (STEP: a saved step of the newest run; best:
                                                  the newest run rewound to its last checkpoint before its best model)
    --load-model-path / --train.init-path
        latest | best | NAME | PATH | STEP        weights: the newest run's newest weights, its best model, a named
                                                  run's, a run folder's, a file, a saved step of the newest run

Only runs of the config's env identity are candidates (pufferlib.runs.layout), so `latest` never picks up another
env's run. Runs in the folders used before env identities are found when their own config names this env.
"""
import os

from pufferlib import config as puffer_config
from pufferlib.runs.checkpoint import MODEL_FILE
from pufferlib.exceptions import ConfigError
from pufferlib.runs import history
from pufferlib.runs.layout import (BEST_MODEL_FILE, CONFIG_FILE, env_dir, env_identity, is_run_dir,
                                   legacy_env_dirs, read_info, run_dirs_in)


def run_identity(run_dir):
    """The env identity a run folder belongs to: run.json's record, else computed from its config.ini."""
    identity = read_info(run_dir).get('env')
    if isinstance(identity, str):
        return identity
    try:
        return env_identity(puffer_config.load_file(os.path.join(run_dir, CONFIG_FILE), fill_in_default=False))
    except Exception:  # an unreadable config: not a run of anything we can name
        return None


def runs_of(config):
    """Run folders of `config`'s env identity, oldest first."""
    data_dir, identity = config['train']['data_dir'], env_identity(config)
    found = run_dirs_in(env_dir(data_dir, identity))
    for folder in legacy_env_dirs(data_dir, config):
        found += [path for path in run_dirs_in(folder) if run_identity(path) == identity]
    from pufferlib.runs.layout import created_time
    return sorted(found, key=lambda path: (created_time(path), os.path.basename(path)))


def sweep_member_runs(env_folder):
    """Run folders of the PBT members of the sweeps in one env folder (`sweep_*/members/NN/<env>/<run>`, see
    pufferlib.sweep.pbt), so that `puffer runs` lists them with their lineage."""
    import glob
    found = []
    for member_env in sorted(glob.glob(os.path.join(glob.escape(env_folder), 'sweep_*', 'members', '*', '*'))):
        found += run_dirs_in(member_env)
    return found


def recent_names(config, count=5):
    names = [os.path.basename(path) for path in runs_of(config)[-count:]]
    return ', '.join(names) if names else 'none yet'


def named_run(config, name):
    """The run folder `name` of this env identity, or None."""
    for path in reversed(runs_of(config)):
        if os.path.basename(path) == name:
            return path
    return None


def as_step(spec):
    text = str(spec).replace('_', '')
    return int(text) if text.isdigit() else None


def find_run(config, spec, flag='--resume'):
    """The run folder `spec` names: latest, a run name, a path to a run folder (or to a file inside one), or a
    step of the newest run (returned with that step). Returns (run_dir, step or None)."""
    spec = str(spec)
    where = env_dir(config['train']['data_dir'], env_identity(config))
    path = named_run(config, spec)  # names first: run ids from before experiment names are digits too
    if path is not None:
        return path, None
    if spec == 'latest' or as_step(spec) is not None:
        found = runs_of(config)
        if not found:
            raise ConfigError(f'{flag} {spec}: there is no run of {env_identity(config)} under {where} yet; start '
                              f'one without {flag}')
        return found[-1], as_step(spec)
    if spec == 'best':
        return best_resume_point(config, flag)
    if os.path.exists(spec):
        run_dir = spec if os.path.isdir(spec) else os.path.dirname(os.path.abspath(spec))
        if os.path.basename(run_dir) == history.CHECKPOINT_DIR:
            run_dir = os.path.dirname(run_dir)
        if not is_run_dir(run_dir):
            raise ConfigError(f'{flag} {spec}: not a run folder (it holds no config.ini or run.json)')
        identity = run_identity(run_dir)
        if identity not in (None, env_identity(config)):
            raise ConfigError(f'{flag} {spec}: that is a run of {identity}, not of {env_identity(config)}; pass '
                              f'{identity.split("-")[0]} as the environment')
        step = None
        if os.path.isfile(spec):
            step = next((saved for saved, file in history.checkpoints(run_dir) + history.milestones(run_dir)
                         if os.path.samefile(file, spec)), None)
        return run_dir, step
    raise ConfigError(f'{flag} {spec}: no run of that name under {where} and no such path; recent runs: '
                      f'{recent_names(config)} (or pass latest)')


def best_resume_point(config, flag):
    """`--resume best`: the newest run with a best model, rewound to its last checkpoint at or before the best
    model's step (best_model.pt itself holds weights only; a run continues from a full checkpoint)."""
    for run_dir in reversed(runs_of(config)):
        best = history.best_info(run_dir)
        if not isinstance(best.get('step'), int):
            continue
        steps = [step for step in history.saved_steps(run_dir) if step <= best['step']]
        if not steps:
            raise ConfigError(f'{flag} best: {run_dir} keeps no checkpoint at or before its best model (step '
                              f'{best["step"]:,}); raise train.keep_checkpoints or set milestone_seconds, or start a '
                              'new run from the best weights with --train.init-path best')
        return run_dir, steps[-1]
    raise ConfigError(f'{flag} best: no run of {env_identity(config)} has a best model yet '
                      '(see train.save_best_after)')


def weights_in(run_dir):
    """The newest weights of a run: model.pt or its newest checkpoint, whichever was written last."""
    candidates = [path for path in (os.path.join(run_dir, MODEL_FILE), history.newest_checkpoint(run_dir))
                  if path and os.path.exists(path)]
    return max(candidates, key=os.path.getmtime) if candidates else None


def resolve_model_path(spec, config, flag='--load-model-path'):
    """The weights file `spec` names (see the module docstring)."""
    spec = str(spec)
    identity = env_identity(config)
    where = env_dir(config['train']['data_dir'], identity)
    if spec in ('latest', 'best') or (as_step(spec) is not None and named_run(config, spec) is None):
        for run_dir in reversed(runs_of(config)):
            if spec == 'latest':
                path = weights_in(run_dir)
            elif spec == 'best':
                path = os.path.join(run_dir, BEST_MODEL_FILE)
            else:
                path = history.checkpoint_at(run_dir, as_step(spec))
            if path and os.path.exists(path):
                return path
            if as_step(spec) is not None:  # a step refers to the newest run only
                steps = history.saved_steps(run_dir)
                raise ConfigError(f'{flag} {spec}: the newest run {run_dir} has no checkpoint at step {spec}; saved '
                                  f'steps: {", ".join(map(str, steps[-8:])) or "none"}')
        what = {'latest': 'trained model', 'best': 'best model (best_model.pt)'}.get(spec, 'run')
        raise ConfigError(f'{flag} {spec}: no {what} of {identity} under {where}; train one first or pass a path '
                          'to a .pt file or a run folder')
    run_dir = named_run(config, spec)
    if run_dir is None and os.path.isdir(spec):
        run_dir = spec
    if run_dir is not None:
        path = weights_in(run_dir)
        if path is None:
            raise ConfigError(f'{flag} {spec}: the run folder {run_dir} holds no model.pt or checkpoint yet')
        return path
    if os.path.exists(spec):
        return spec
    raise ConfigError(f'{flag} {spec}: no such file or run; pass latest, best, a run name (recent: '
                      f'{recent_names(config)}), a run folder or a .pt file')
