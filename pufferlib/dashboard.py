"""What training is doing: a live rich view on a terminal, plain log lines otherwise (files, pipes, CI).

The trainer hands `update` a snapshot dict after every epoch; redraws are rate-limited so a fast run does not spend
its time drawing.
"""
import sys
import time

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

LOSS_NAMES = ('policy_loss', 'value_loss', 'entropy', 'approx_kl', 'clipfrac', 'explained_variance')
PROFILE_NAMES = ('env', 'inference', 'copy', 'learn')


def duration(seconds):
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f'{hours}h {rest // 60:02d}m {rest % 60:02d}s' if hours else f'{rest // 60}m {rest % 60:02d}s'


def loss_columns(losses):
    """{column: {loss name: value}}: one column 'value' for a plain run; 'policy <p>' for each policy of a run with
    several (their losses arrive as policy<p>/loss/<name>)."""
    columns = {}
    for key, value in losses.items():
        column, _, name = key.rpartition('/loss/') if '/loss/' in key else ('', '', key)
        columns.setdefault(column.replace('policy', 'policy ') if column else 'value', {})[name] = value
    return columns


def number(value):
    if isinstance(value, int):
        return f'{value:,}'
    if isinstance(value, float):
        return f'{value:.4g}' if abs(value) < 1e5 else f'{value:,.0f}'
    return str(value)


class Dashboard:
    """`live=None` picks the rich view when stdout is a terminal."""

    def __init__(self, env_name, live=None, line_interval=5.0, redraw_interval=0.25, file=None):
        self.env_name = env_name
        self.file = file or sys.stdout
        self.live = self.file.isatty() if live is None else live
        self.interval = redraw_interval if self.live else line_interval
        self.last_shown = None
        self.snapshot = None
        self.run_dir = None   # shown in the live view once the run folder is known
        self.view = None
        if self.live:
            self.view = Live(console=Console(file=self.file), auto_refresh=False, transient=False)
            self.view.start()

    def update(self, snapshot, force=False):
        self.snapshot = snapshot
        now = time.monotonic()
        if not force and self.last_shown is not None and now - self.last_shown < self.interval:
            return
        self.last_shown = now
        if self.live:
            self.view.update(self.render(snapshot), refresh=True)
        else:
            print(self.line(snapshot), file=self.file, flush=True)

    def message(self, text):
        if self.live:
            self.view.console.print(text)
        else:
            print(text, file=self.file, flush=True)

    def close(self):
        """Show the final state (always, however recently the last one was shown) and release the terminal."""
        if self.snapshot is not None:
            self.update(self.snapshot, force=True)
        if self.view is not None:
            self.view.stop()
            self.view = None

    def line(self, s):
        parts = [f'{self.env_name}', f'epoch {s["epoch"]}',
                 f'steps {s["global_step"]:,}/{s["total_timesteps"]:,}', f'{s["sps"]:,.0f} SPS',
                 f'up {duration(s["uptime"])}', f'left {duration(s["remaining"])}']
        for column, losses in loss_columns(s['losses']).items():
            prefix = '' if column == 'value' else f'{column} '
            parts += [f'{prefix}{name} {number(losses[name])}' for name in LOSS_NAMES if name in losses]
        parts += [f'{key} {number(value)}' for key, value in s['stats'].items()]
        return ' | '.join(parts)

    def render(self, s):
        summary = Table(box=box.SIMPLE_HEAD, show_header=False, expand=True)
        for _ in range(4):
            summary.add_column()
        summary.add_row('env', self.env_name, 'epoch', f'{s["epoch"]:,}')
        summary.add_row('steps', f'{s["global_step"]:,} / {s["total_timesteps"]:,}', 'SPS', f'{s["sps"]:,.0f}')
        summary.add_row('uptime', duration(s['uptime']), 'remaining', duration(s['remaining']))
        if self.run_dir:
            summary.add_row('run', self.run_dir, '', '')

        profile = s['profile']
        total = sum(profile.values()) or 1.0
        timing = Table('time spent in', 'share', 'seconds', box=box.SIMPLE_HEAD, expand=True)
        for name in PROFILE_NAMES:
            seconds = profile.get(name, 0.0)
            timing.add_row(name, f'{100 * seconds / total:.1f}%', f'{seconds:.2f}')

        columns = loss_columns(s['losses'])
        losses = Table('loss', *columns, box=box.SIMPLE_HEAD, expand=True)
        for name in LOSS_NAMES:
            if any(name in column for column in columns.values()):
                losses.add_row(name, *(number(column[name]) if name in column else '' for column in columns.values()))

        stats = Table('environment stat', 'mean', box=box.SIMPLE_HEAD, expand=True)
        for key, value in s['stats'].items():
            stats.add_row(key, number(value))

        row = Table.grid(expand=True, padding=(0, 2))
        row.add_column(ratio=1)
        row.add_column(ratio=1)
        row.add_row(timing, losses)
        return Group(summary, row, stats)
