"""`puffer plot RUN... [--metric score] [--x steps|seconds] [-o curve.png]`: learning curves as a PNG.

A RUN is a run folder, a run name (looked up in every env folder under data_dir), or ENV/NAME. Runs whose configs
differ only in their seeds and names are seeds of one config: they are drawn as their mean with a shaded band from
their lowest to their highest value, each curve first interpolated onto a shared x grid over the range all of them
reach. Other runs get a line each.
"""
import os

import numpy as np

from pufferlib import config as puffer_config
from pufferlib.exceptions import ConfigError
from pufferlib.runs.layout import CONFIG_FILE, is_run_dir, run_dirs_in
from pufferlib.runs.metrics import read_metrics

X_COLUMNS = {'steps': 'global_step', 'seconds': 'uptime'}
SEED_KEYS = {('train', 'seed'), ('vec', 'seed'), ('train', 'experiment'), ('train', 'data_dir'),
             ('train', 'init_path')}


def find_run_dir(spec, data_dir):
    if is_run_dir(spec):
        return os.path.abspath(spec)
    candidate = os.path.join(data_dir, spec)
    if is_run_dir(candidate):
        return os.path.abspath(candidate)
    matches = [path for env_folder in (sorted(os.listdir(data_dir)) if os.path.isdir(data_dir) else [])
               for path in run_dirs_in(os.path.join(data_dir, env_folder)) if os.path.basename(path) == spec]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConfigError(f'puffer plot {spec}: {len(matches)} runs have that name ({", ".join(matches[:3])}); '
                          'pass ENV/NAME or the folder')
    raise ConfigError(f'puffer plot {spec}: no run folder of that name under {data_dir} (see `puffer runs`)')


def metric_column(rows, metric):
    for key in (metric, f'env/{metric}', f'loss/{metric}'):
        if any(key in row for row in rows):
            return key
    columns = sorted({key for row in rows for key in row})
    raise ConfigError(f'--metric {metric}: not logged by this run; logged: {", ".join(columns[:20])}')


def curve(run_dir, metric, x):
    rows = read_metrics(run_dir)
    if not rows:
        raise ConfigError(f'{run_dir} has no metrics yet (metrics.jsonl is empty or missing)')
    column = metric_column(rows, metric)
    points = [(row[X_COLUMNS[x]], row[column]) for row in rows
              if isinstance(row.get(column), (int, float)) and isinstance(row.get(X_COLUMNS[x]), (int, float))]
    if not points:
        raise ConfigError(f'{run_dir}: {column} was never a number')
    xs, ys = np.array(points, dtype=np.float64).T
    return xs, ys, column


def config_signature(run_dir):
    """The run's config without its seeds and name: runs with equal signatures are seeds of one config."""
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.exists(path):
        return run_dir
    config = puffer_config.load_file(path, fill_in_default=False)
    return tuple(sorted((section, key, str(value)) for section, items in config.items()
                        for key, value in items.items() if (section, key) not in SEED_KEYS))


def groups_of(run_dirs):
    groups = {}
    for run_dir in run_dirs:
        groups.setdefault(config_signature(run_dir), []).append(run_dir)
    return list(groups.values())


def label_of(members):
    names = [os.path.basename(path) for path in members]
    if len(names) == 1:
        return names[0]
    prefix = os.path.commonprefix(names).rstrip('_-') or names[0]
    return f'{prefix} ({len(names)} seeds)'


def plot(run_specs, data_dir='experiments', metric='score', x='steps', output='curve.png'):
    """Draw the curves and write `output`; returns {label: (x, mean)} of what was drawn."""
    if not run_specs:
        raise ConfigError('puffer plot needs at least one RUN (a run folder or name; see `puffer runs`)')
    if x not in X_COLUMNS:
        raise ConfigError(f'--x {x!r}; valid: {", ".join(X_COLUMNS)}')
    if not str(output).lower().endswith(('.png', '.svg', '.pdf')):
        raise ConfigError(f'-o {output}: write a .png, .svg or .pdf file')
    import matplotlib
    matplotlib.use('Agg')  # files only: no display needed
    import matplotlib.pyplot as plt

    run_dirs = list(dict.fromkeys(find_run_dir(spec, data_dir) for spec in run_specs))
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=120)
    drawn, column = {}, metric
    for members in groups_of(run_dirs):
        curves = [curve(run_dir, metric, x) for run_dir in members]
        column = curves[0][2]
        label = label_of(members)
        if len(curves) == 1:
            xs, ys, _ = curves[0]
            axes.plot(xs, ys, label=label, linewidth=1.5)
            drawn[label] = (xs, ys)
            continue
        end = min(c[0][-1] for c in curves)
        start = max(c[0][0] for c in curves)
        grid = np.linspace(start, end, 200) if end > start else np.array([start])
        stacked = np.stack([np.interp(grid, xs, ys) for xs, ys, _ in curves])
        mean = stacked.mean(0)
        line, = axes.plot(grid, mean, label=label, linewidth=1.5)
        axes.fill_between(grid, stacked.min(0), stacked.max(0), color=line.get_color(), alpha=0.25, linewidth=0)
        drawn[label] = (grid, mean)
    axes.set_xlabel('agent steps' if x == 'steps' else 'training seconds')
    axes.set_ylabel(column)
    axes.grid(alpha=0.3)
    axes.legend(loc='best', fontsize=8)
    axes.set_title(f'{column} over {"steps" if x == "steps" else "time"}')
    figure.tight_layout()
    folder = os.path.dirname(os.path.abspath(output))
    os.makedirs(folder, exist_ok=True)
    figure.savefig(output)
    plt.close(figure)
    return drawn
