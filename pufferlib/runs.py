"""Run directories: `data_dir/<env>/<run_id>/` with config.ini, metrics.jsonl, checkpoint.pt and model.pt.

Run ids are the start time (`20250131_142501`), so sorting names sorts runs by age and `latest` is the last one.
The metrics log has one JSON object per line, one line per epoch, so a resumed run can cut it back to its
checkpoint and continue the same curve.
"""
import json
import math
import os
import time

from pufferlib.checkpoint import CHECKPOINT_FILE
from pufferlib.exceptions import ConfigError

CONFIG_FILE = 'config.ini'
METRICS_FILE = 'metrics.jsonl'


def env_folder_name(env_name):
    """The folder of an env's runs: its first alias (a config may list several names)."""
    return str(env_name).split()[0]


def env_dir(data_dir, env_name):
    return os.path.join(data_dir, env_folder_name(env_name))


def new_run(data_dir, env_name):
    """Create and return the folder of a new run."""
    parent = env_dir(data_dir, env_name)
    os.makedirs(parent, exist_ok=True)
    stamp = time.strftime('%Y%m%d_%H%M%S')
    run_id, suffix = stamp, 1
    while True:
        try:
            os.mkdir(os.path.join(parent, run_id))
            return os.path.join(parent, run_id)
        except FileExistsError:  # two runs started within one second
            suffix += 1
            run_id = f'{stamp}_{suffix}'


def resumable_runs(data_dir, env_name):
    parent = env_dir(data_dir, env_name)
    if not os.path.isdir(parent):
        return []
    return sorted(name for name in os.listdir(parent)
                  if os.path.exists(os.path.join(parent, name, CHECKPOINT_FILE)))


def find_run(data_dir, env_name, run_id):
    """Folder of the run to resume: its id, or 'latest' (the newest run of this env with a checkpoint)."""
    runs = resumable_runs(data_dir, env_name)
    where = env_dir(data_dir, env_name)
    if run_id == 'latest':
        if not runs:
            raise ConfigError(f'--resume latest: no run with a checkpoint under {where}; start one without --resume')
        run_id = runs[-1]
    elif run_id not in runs:
        hint = f'runs with a checkpoint: {", ".join(runs[-5:])}' if runs else 'there is none yet'
        raise ConfigError(f'--resume {run_id}: no checkpoint at {os.path.join(where, run_id, CHECKPOINT_FILE)}; '
                          f'{hint}')
    return os.path.join(where, run_id)


def write_config(run_dir, ini_text):
    with open(os.path.join(run_dir, CONFIG_FILE), 'w') as file:
        file.write(ini_text)


class MetricsLog:
    """Append-only JSON-lines log, one row per epoch."""

    def __init__(self, run_dir):
        self.path = os.path.join(run_dir, METRICS_FILE)

    def append(self, row):
        # Non-finite numbers are written as null: JSON has no NaN.
        clean = {key: (None if isinstance(value, float) and not math.isfinite(value) else value)
                 for key, value in row.items()}
        with open(self.path, 'a') as file:
            file.write(json.dumps(clean) + '\n')

    def truncate_after(self, epoch):
        """Drop rows written after `epoch` (by a run that died before its next checkpoint)."""
        rows = [row for row in read_metrics(self.path) if row['epoch'] <= epoch]
        temporary = self.path + '.tmp'
        with open(temporary, 'w') as file:
            file.writelines(json.dumps(row) + '\n' for row in rows)
        os.replace(temporary, self.path)


def read_metrics(path):
    """Rows of a metrics log (a run directory or the file itself); a torn last line is skipped."""
    if os.path.isdir(path):
        path = os.path.join(path, METRICS_FILE)
    if not os.path.exists(path):
        return []
    rows = []
    with open(path) as file:
        for line in file:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return rows
