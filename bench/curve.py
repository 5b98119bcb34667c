"""A run's learning curve from its metrics log: an env stat (default `score`) against steps and seconds.

    puffer train puffer_breakout --train.data-dir /tmp/runs
    python -m bench.curve /tmp/runs/puffer_breakout/<run_id> [--stat score] [--every 10e6] [--window 2.5e6]

At each mark (every `--every` steps) it prints the seconds of training when the run got there and the mean of the stat over the
metrics rows within `--window` steps of the mark (rows carry env stats only when episodes ended in that epoch),
then the mean over the last 15% of the run, the best mark, and whether the run collapsed: a mark below half the
best mark before it, once a mark has reached `--floor` (issue 25's test of a shipped config). For a collapse it
prints the loss statistics before and after it. This is how the curves in docs/training.md and the figures in
docs/ocean_games.md were read.
"""
import argparse
import sys

from pufferlib import runs

LAST_SHARE = 0.15


def curve(rows, stat, every, window):
    """[(mark, seconds, mean stat)] for each mark that has rows with the stat near it."""
    key = f'env/{stat}'
    points = []
    mark = every
    while mark <= rows[-1]['global_step'] + window:
        near = [row[key] for row in rows if key in row and abs(row['global_step'] - mark) <= window]
        reached = [row['uptime'] for row in rows if row['global_step'] >= mark] or [rows[-1]['uptime']]
        if near:
            points.append((mark, reached[0], sum(near) / len(near)))
        mark += every
    return points


def last_share_mean(rows, stat):
    key = f'env/{stat}'
    start = (1 - LAST_SHARE) * rows[-1]['global_step']
    values = [row[key] for row in rows if key in row and row['global_step'] >= start]
    return sum(values) / len(values) if values else None


def first_collapse(points, floor):
    """(mark, value, best, best mark) of the first mark below half the best before it, counting only after a mark
    reached `floor`; None if the curve never fell so far."""
    best, best_mark, passed = float('-inf'), None, False
    for mark, _, value in points:
        if passed and value < best / 2:
            return mark, value, best, best_mark
        if value > best:
            best, best_mark = value, mark
        passed = passed or value >= floor
    return None


LOSS_STATS = ('entropy', 'approx_kl', 'value_loss', 'clipfrac', 'explained_variance')


def mean_between(rows, key, low, high):
    values = [row[key] for row in rows if key in row and low <= row['global_step'] <= high]
    return sum(values) / len(values) if values else float('nan')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('run_dir', help='a run folder (data_dir/<env>/<run_id>) or its metrics.jsonl')
    parser.add_argument('--stat', default='score', help='env stat to follow (default: score)')
    parser.add_argument('--every', type=float, default=10e6, help='steps between marks (default: 10e6)')
    parser.add_argument('--window', type=float, default=2.5e6, help='steps either side of a mark (default: 2.5e6)')
    parser.add_argument('--floor', type=float, default=200, help='a collapse counts once a mark reached this')
    args = parser.parse_args(argv)
    rows = runs.read_metrics(args.run_dir)
    if not rows:
        sys.exit(f'bench.curve: no metrics rows in {args.run_dir}')
    print(f'| steps | seconds | {args.stat} |\n| --- | --- | --- |')
    points = curve(rows, args.stat, args.every, args.window)
    for mark, seconds, value in points:
        print(f'| {mark / 1e6:g}M | {seconds:.0f} | {value:.4g} |')
    final = last_share_mean(rows, args.stat)
    last = rows[-1]
    print(f'\n{last["global_step"]:,} steps in {last["uptime"]:.0f} s; mean {args.stat} over the last '
          f'{LAST_SHARE:.0%}: {"no episodes" if final is None else f"{final:.4g}"}')
    if not points:
        return
    best_mark, _, best = max(points, key=lambda point: point[2])
    collapse = first_collapse(points, args.floor)
    print(f'best mark {best:.4g} at {best_mark / 1e6:g}M; fell below half the best before it after reaching '
          f'{args.floor:g}: ' + ('no' if collapse is None else
                                 f'{collapse[1]:.4g} at {collapse[0] / 1e6:g}M (best {collapse[2]:.4g} at '
                                 f'{collapse[3] / 1e6:g}M)'))
    if collapse is not None:
        drop, _, _, peak = collapse
        for low, high, label in ((peak - 5 * args.every, peak, 'before the best'), (peak, drop, 'best to drop'),
                                 (drop, drop + 5 * args.every, 'after the drop')):
            print(f'  {label} ({low / 1e6:g}M-{high / 1e6:g}M): ' + ', '.join(
                f'{name} {mean_between(rows, "loss/" + name, low, high):.4g}' for name in LOSS_STATS))


if __name__ == '__main__':
    main()
