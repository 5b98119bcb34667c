"""Crafter's score for puffer_crafter runs.

The C env reports, per finished episode, `score` (how many of the 22 achievements it unlocked) and one stat per
achievement (1 if unlocked), so each achievement's logged mean is its success rate. Crafter's own score (Hafner,
"Benchmarking the Spectrum of Agent Capabilities", 2021) is the geometric mean of the success rates in percent,
S = exp(mean_i ln(1 + s_i)) - 1, which rewards unlocking many achievements over perfecting a few. It needs the
rates, so it is computed here, from a run's metrics log:

    python -m pufferlib.envs.ocean.crafter RUN_DIR [--last 0.15]
"""
import argparse
import math
import sys

ACHIEVEMENTS = (
    'collect_coal', 'collect_diamond', 'collect_drink', 'collect_iron', 'collect_sapling', 'collect_stone',
    'collect_wood', 'defeat_skeleton', 'defeat_zombie', 'eat_cow', 'eat_plant', 'make_iron_pickaxe',
    'make_iron_sword', 'make_stone_pickaxe', 'make_stone_sword', 'make_wood_pickaxe', 'make_wood_sword',
    'place_furnace', 'place_plant', 'place_stone', 'place_table', 'wake_up')


def crafter_score(success_rates):
    """Crafter's score in percent (0 to 100) from the 22 achievements' success rates in [0, 1]: a mapping by
    achievement name (all 22 needed) or a sequence in ACHIEVEMENTS order."""
    if isinstance(success_rates, dict):
        missing = [name for name in ACHIEVEMENTS if name not in success_rates]
        if missing:
            raise ValueError(f'crafter_score: missing success rates for {", ".join(missing)}')
        success_rates = [success_rates[name] for name in ACHIEVEMENTS]
    rates = [float(rate) for rate in success_rates]
    if len(rates) != len(ACHIEVEMENTS):
        raise ValueError(f'crafter_score: expected {len(ACHIEVEMENTS)} success rates, got {len(rates)}')
    bad = [rate for rate in rates if not 0.0 <= rate <= 1.0]
    if bad:
        raise ValueError(f'crafter_score: success rates must lie in [0, 1], got {bad[0]!r}')
    return math.exp(sum(math.log(1.0 + 100.0 * rate) for rate in rates) / len(rates)) - 1.0


def success_rates(rows, last=0.15):
    """{achievement: mean logged rate} over the metrics rows of the last `last` share of a run's steps (each row is
    a mean over the episodes that ended in one epoch, so this weights epochs, not episodes, equally)."""
    start = (1.0 - last) * rows[-1]['global_step']
    kept = [row for row in rows if row['global_step'] >= start and f'env/{ACHIEVEMENTS[0]}' in row]
    if not kept:
        raise ValueError('no episodes ended in that part of the run')
    return {name: sum(row[f'env/{name}'] for row in kept) / len(kept) for name in ACHIEVEMENTS}


def main(argv=None):
    from pufferlib import runs
    parser = argparse.ArgumentParser(description='Crafter score of a puffer_crafter run from its metrics log')
    parser.add_argument('run_dir', help='a run folder (data_dir/puffer_crafter/<run_id>) or its metrics.jsonl')
    parser.add_argument('--last', type=float, default=0.15, help='share of the run to average over (default 0.15)')
    args = parser.parse_args(argv)
    rows = runs.read_metrics(args.run_dir)
    if not rows:
        sys.exit(f'crafter: no metrics rows in {args.run_dir}')
    try:
        rates = success_rates(rows, args.last)
    except ValueError as error:
        sys.exit(f'crafter: {error}')
    for name in ACHIEVEMENTS:
        print(f'{name:20s} {100 * rates[name]:6.2f}%')
    print(f'Crafter score {crafter_score(rates):.2f}% (last {args.last:.0%} of {rows[-1]["global_step"]:,} steps)')


if __name__ == '__main__':
    main()
