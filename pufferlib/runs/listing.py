"""`puffer runs [ENV]`: every run under data_dir (or one env's), newest last, with its status.

    NAME  ENV  STEPS  WALL  BEST  LAST SCORE  STATUS  [LINEAGE]

PBT members (in their sweep's folder) are listed too, with a LINEAGE column: `m2<-m1@12.3k` is member 2, which
copied member 1's checkpoint at step 12,288 (more copies follow in order).

Status comes from run.json and the run's lock: `running` while a process holds the lock, `finished` or
`interrupted` as the session recorded it on the way out (`paused`: stopped at --stop-at-step, as PBT members
are between periods), and `crashed` when run.json still says running but nobody
holds the lock (the process died without closing: a kill -9, a power loss, an uncaught crash). Folders from before
run.json are `finished` with a model.pt and `stopped` without one.
"""
import math
import os
from dataclasses import dataclass

from pufferlib.runs.checkpoint import MODEL_FILE
from pufferlib.dashboard import duration
from pufferlib.runs import find, history, lock
from pufferlib.runs.layout import created_time, read_info, run_dirs_in
from pufferlib.runs.metrics import read_metrics


@dataclass
class RunRow:
    name: str
    env: str
    steps: int
    seconds: float
    best: float
    score: float
    status: str
    path: str
    created: float
    lineage: str = ''   # PBT members: who they copied and when (pufferlib.runs.history.lineage)


def status_of(run_dir, info):
    if lock.holder(run_dir) is not None:
        return 'running'
    recorded = info.get('status')
    if recorded == 'running':
        return 'crashed'
    if recorded in ('finished', 'paused', 'interrupted', 'crashed'):
        return recorded
    return 'finished' if os.path.exists(os.path.join(run_dir, MODEL_FILE)) else 'stopped'


def describe(run_dir):
    info = read_info(run_dir)
    rows = read_metrics(run_dir)
    last = rows[-1] if rows else {}
    scores = [row['env/score'] for row in rows if isinstance(row.get('env/score'), (int, float))]
    best = info.get('best') or {}
    best_value = best.get('value') if isinstance(best, dict) else None
    if best_value is None and scores:  # runs from before best models: the best ten-epoch mean of the log
        window = min(10, len(scores))
        best_value = max(sum(scores[i:i + window]) / window for i in range(len(scores) - window + 1))
    return RunRow(name=os.path.basename(run_dir), env=info.get('env') or find.run_identity(run_dir) or '?',
                  steps=int(last.get('global_step', info.get('global_step', 0)) or 0),
                  seconds=float(last.get('uptime', info.get('uptime', 0.0)) or 0.0), best=best_value,
                  score=scores[-1] if scores else None, status=status_of(run_dir, info), path=run_dir,
                  created=created_time(run_dir), lineage=history.lineage(info))


def all_runs(data_dir, env_filter=None):
    """RunRows of every run folder two levels under data_dir, oldest first; env_filter keeps one env's (its
    identity, or a plain env name, which also matches that env's identities such as gymnasium-CartPole-v1)."""
    found = []
    if not os.path.isdir(data_dir):
        return found
    for env_folder in sorted(os.listdir(data_dir)):
        env_path = os.path.join(data_dir, env_folder)
        for run_dir in run_dirs_in(env_path) + find.sweep_member_runs(env_path):
            row = describe(run_dir)
            if env_filter and not (row.env == env_filter or row.env.startswith(env_filter + '-')
                                   or env_folder == env_filter):
                continue
            found.append(row)
    return sorted(found, key=lambda row: row.created)


def number(value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return '-'
    return f'{value:,.4g}' if abs(value) < 1e5 else f'{value:,.0f}'


def table(rows):
    header = ('NAME', 'ENV', 'STEPS', 'WALL', 'BEST', 'LAST SCORE', 'STATUS')
    cells = [(r.name, r.env, f'{r.steps:,}', duration(r.seconds), number(r.best), number(r.score), r.status)
             for r in rows]
    if any(r.lineage for r in rows):  # PBT members: "m2<-m1@12.3k", member 2 copied member 1 at step 12,288
        header += ('LINEAGE',)
        cells = [c + (r.lineage,) for c, r in zip(cells, rows)]
    widths = [max(len(str(c[i])) for c in [header] + cells) for i in range(len(header))]
    right = (2, 3, 4, 5)
    lines = ['  '.join(str(c[i]).rjust(widths[i]) if i in right else str(c[i]).ljust(widths[i])
                       for i in range(len(header))).rstrip() for c in [header] + cells]
    return '\n'.join(lines)


def list_runs(data_dir, env=None, output=None):
    import sys
    output = output or sys.stdout
    rows = all_runs(data_dir, env)
    if not rows:
        where = os.path.join(data_dir, env) if env else data_dir
        print(f'no runs under {where}' + ('' if os.path.isdir(data_dir) else ' (the folder does not exist)'),
              file=output)
        return rows
    print(table(rows), file=output)
    print(f'\n{len(rows)} runs under {os.path.abspath(data_dir)}; `puffer plot NAME ...` draws their curves',
          file=output)
    return rows

