"""A run's checkpoint history and its best model.

Checkpoints are `checkpoints/checkpoint_<step>.pt`, the newest `keep_checkpoints` kept: a new one is written and
made durable (pufferlib.runs.checkpoint.save_atomic) before the oldest is removed, so a kill at any moment leaves at least
one complete checkpoint. Every `milestone_seconds` of training one of them is also linked as
`milestone_<step>.pt`, which rotation never removes. A run folder from before histories has a single
`checkpoint.pt` at its top; it counts as the oldest entry and rotates out once newer ones exist.
"""
import glob
import os
import re
import shutil
import time
from collections import deque

from pufferlib.runs import checkpoint
from pufferlib.runs.layout import (BEST_INFO_FILE, BEST_MODEL_FILE, CHECKPOINT_DIR, read_json,
                                   write_json_atomic)

CHECKPOINT_PATTERN = re.compile(r'^checkpoint_(\d+)\.pt$')
MILESTONE_PATTERN = re.compile(r'^milestone_(\d+)\.pt$')


def checkpoint_name(step):
    return f'checkpoint_{step:012d}.pt'


def checkpoints(run_dir):
    """[(step, path)] of the run's rotating checkpoints, oldest first (a legacy checkpoint.pt as step -1)."""
    found = []
    folder = os.path.join(run_dir, CHECKPOINT_DIR)
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            match = CHECKPOINT_PATTERN.match(name)
            if match:
                found.append((int(match.group(1)), os.path.join(folder, name)))
    legacy = os.path.join(run_dir, checkpoint.CHECKPOINT_FILE)
    if os.path.exists(legacy):
        found.append((-1, legacy))
    return sorted(found)


def milestones(run_dir):
    folder = os.path.join(run_dir, CHECKPOINT_DIR)
    names = os.listdir(folder) if os.path.isdir(folder) else []
    return sorted((int(m.group(1)), os.path.join(folder, name)) for name in names
                  for m in [MILESTONE_PATTERN.match(name)] if m)


def newest_checkpoint(run_dir):
    found = checkpoints(run_dir)
    return found[-1][1] if found else None


def checkpoint_at(run_dir, step):
    """The checkpoint (rotating or milestone) written at `step`, or None."""
    for saved_step, path in checkpoints(run_dir) + milestones(run_dir):
        if saved_step == step:
            return path
    return None


def saved_steps(run_dir):
    return sorted({step for step, _ in checkpoints(run_dir) + milestones(run_dir) if step >= 0})


class CheckpointHistory:
    def __init__(self, run_dir, keep, milestone_seconds=0):
        self.run_dir = run_dir
        self.folder = os.path.join(run_dir, CHECKPOINT_DIR)
        self.keep = keep
        self.milestone_seconds = milestone_seconds

    def save(self, state, step, uptime, last_milestone_uptime):
        """Write `state` as the checkpoint of `step`, link a milestone when one is due, then rotate. Returns
        (path, uptime of the latest milestone)."""
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, checkpoint_name(step))
        checkpoint.save_atomic(state, path)
        if self.milestone_seconds and uptime - last_milestone_uptime >= self.milestone_seconds:
            self.keep_as_milestone(path, step)
            last_milestone_uptime = uptime
        self.rotate()
        return path, last_milestone_uptime

    def keep_as_milestone(self, path, step):
        milestone = os.path.join(self.folder, f'milestone_{step:012d}.pt')
        if os.path.exists(milestone):
            return
        try:
            os.link(path, milestone)  # the same file under a second name: rotation removes only the first
        except OSError:
            temporary = checkpoint.temporary_path(milestone, os.getpid())
            shutil.copyfile(path, temporary)
            os.replace(temporary, milestone)
        checkpoint.fsync_folder(self.folder)

    def rotate(self):
        """Remove the oldest checkpoints beyond `keep`; called only after the newest one is durable."""
        found = checkpoints(self.run_dir)
        for _, path in found[:max(0, len(found) - self.keep)]:
            os.remove(path)
        checkpoint.fsync_folder(self.folder)

    def set_aside_after(self, step):
        """Move the checkpoints written after `step` into `checkpoints/rewound_<time>/` (resuming from an older
        step must not leave newer ones to be mistaken for the newest; nothing is deleted). Returns that folder."""
        later = [path for saved, path in checkpoints(self.run_dir) + milestones(self.run_dir) if saved > step]
        if not later:
            return None
        aside = os.path.join(self.folder, time.strftime('rewound_%Y%m%d_%H%M%S'))
        os.makedirs(aside, exist_ok=True)
        for path in later:
            os.replace(path, os.path.join(aside, os.path.basename(path)))
        checkpoint.fsync_folder(self.folder)
        return aside


class BestModel:
    """Tracks the running mean of one logged metric and says when it beats the best so far.

    The running mean is over the last `window` epochs that reported the metric (an episode statistic arrives only
    in epochs where episodes ended). Higher is better. Nothing is saved before `after_steps` steps
    (train.save_best_after), so one lucky early episode cannot set the bar."""

    def __init__(self, metric, after_steps, window=10):
        self.metric = metric
        self.after_steps = after_steps
        self.window = window
        self.recent = deque(maxlen=window)
        self.best = None        # (value, step, epoch) of the saved best model

    def column(self, row):
        for key in (self.metric, f'env/{self.metric}', f'loss/{self.metric}'):
            if key in row:
                return key
        return None

    def observe(self, row):
        """Feed one metrics row; returns the new best running mean when it improved (save then), else None."""
        key = self.column(row)
        value = row.get(key) if key else None
        if not isinstance(value, (int, float)) or value != value:  # missing or NaN
            return None
        self.recent.append(float(value))
        if row['global_step'] < self.after_steps:
            return None
        mean = sum(self.recent) / len(self.recent)
        if self.best is None or mean > self.best[0]:
            self.best = (mean, row['global_step'], row['epoch'])
            return mean
        return None

    def state_dict(self):
        return dict(recent=list(self.recent), best=list(self.best) if self.best else None)

    def load_state_dict(self, state):
        self.recent = deque((float(v) for v in state.get('recent', [])), maxlen=self.window)
        best = state.get('best')
        self.best = tuple(best) if best else None


def save_best(run_dir, weights, best, metric):
    """Write best_model.pt and, beside it, best_model.json with the metric, value, step and epoch."""
    value, step, epoch = best
    checkpoint.save_atomic(weights, os.path.join(run_dir, BEST_MODEL_FILE))
    write_json_atomic(os.path.join(run_dir, BEST_INFO_FILE), dict(metric=metric, value=value, step=step,
                                                                  epoch=epoch, saved=time.time()))


def best_info(run_dir):
    return read_json(os.path.join(run_dir, BEST_INFO_FILE))


def all_checkpoint_files(run_dir):
    return glob.glob(os.path.join(run_dir, CHECKPOINT_DIR, '*.pt'))


def lineage(info):
    """A PBT member run's lineage from its run.json (`pbt`, written by pufferlib.sweep.pbt): `m2` for member 2, then
    `<-m1@12.3k` for each exploit step that made it copy member 1's checkpoint of step 12,288, oldest first. '' for
    runs that are not PBT members: where a run's weights came from is part of what it is."""
    pbt = info.get('pbt')
    if not isinstance(pbt, dict) or not isinstance(pbt.get('member'), int):
        return ''
    copies = ''.join(f'<-m{copy["parent"]}@{short_steps(copy["step"])}' for copy in pbt.get('copies', ())
                     if isinstance(copy, dict) and isinstance(copy.get('parent'), int) and
                     isinstance(copy.get('step'), int))
    return f'm{pbt["member"]}{copies}'


def short_steps(steps):
    """12288 -> '12.3k', 1_500_000 -> '1.5M': agent steps, short enough for a table cell."""
    for size, unit in ((1_000_000_000, 'G'), (1_000_000, 'M'), (1000, 'k')):
        if steps >= size:
            return f'{steps / size:.3g}{unit}'
    return str(steps)
