"""Optional experiment trackers (`--wandb`, `--neptune`): each logs the config, one row of metrics per epoch and the
final model. Both are optional dependencies (`pip install pufferlib[wandb]` / `pufferlib[neptune]`).

Their own environment variables pick the mode: WANDB_MODE=offline writes under `<run dir>/wandb/`,
NEPTUNE_MODE=offline under `./.neptune/`; `wandb sync` / `neptune sync` upload those later.
"""
import hashlib
import os

from pufferlib.exceptions import EnvironmentSetupError


def import_optional(name, extra):
    try:
        return __import__(name)
    except ImportError:
        raise EnvironmentSetupError(f'--{extra} needs the {name} package: pip install "pufferlib[{extra}]"') from None


class WandbLogger:
    def __init__(self, config, run_dir, run_key, project, group=None, tag=None):
        wandb = import_optional('wandb', 'wandb')
        self.wandb = wandb
        self.run_key = run_key
        # The id is the run's own, so `--resume` continues the same tracker run.
        self.run = wandb.init(project=project, group=group, tags=[tag] if tag else None, config=config,
                              name=run_key, id=run_key, resume='allow', dir=run_dir)

    def log(self, row, step):
        self.run.log(row, step=step)

    def log_model(self, path):
        artifact = self.wandb.Artifact(f'model-{self.run_key}', type='model')
        artifact.add_file(path)
        self.run.log_artifact(artifact)

    def close(self):
        self.run.finish()


class NeptuneLogger:
    def __init__(self, config, run_key, project, name=None):
        neptune = import_optional('neptune', 'neptune')
        from neptune.utils import stringify_unsupported
        self.run = neptune.init_run(project=project, name=name or run_key, custom_run_id=run_key,
                                    capture_hardware_metrics=False)
        # Neptune stores numbers, strings and bools; None and the like become strings.
        self.run['config'] = stringify_unsupported(config)

    def log(self, row, step):
        for key, value in row.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.run[f'metrics/{key}'].append(value, step=step)

    def log_model(self, path):
        self.run['model'].upload(path, wait=True)

    def close(self):
        self.run.stop()


def make_loggers(options, config, run_dir):
    """The trackers asked for on the command line (none by default)."""
    loggers = []
    env_folder, run_id = os.path.split(os.path.normpath(run_dir))
    # The folder's hash keeps parallel runs (e.g. sweep trials started in the same second) apart in the trackers.
    folder_hash = hashlib.sha1(os.path.abspath(run_dir).encode()).hexdigest()[:6]
    run_key = f'{os.path.basename(env_folder)}-{run_id}-{folder_hash}'
    if getattr(options, 'wandb', False):
        loggers.append(WandbLogger(config, run_dir, run_key, getattr(options, 'wandb_project', None) or 'pufferlib',
                                   getattr(options, 'wandb_group', None), getattr(options, 'wandb_tag', None)))
    if getattr(options, 'neptune', False):
        loggers.append(NeptuneLogger(config, run_key, getattr(options, 'neptune_project', None),
                                     getattr(options, 'neptune_name', None)))
    return loggers
