"""One process against two data-parallel ranks (torchrun, gloo) on this machine, side by side in one run.

    python -m bench.distributed [--env puffer_squared] [--timesteps 200000] [--target 0.95]
    python -m bench.distributed --env puffer_cartpole --timesteps 2000000 --target 400

Three runs of the same total agent steps: one process with the env's config; two ranks with that config each (twice
the envs, twice the batch: half as many updates per agent step); and two ranks with half the envs and half the
minibatch each, which take the updates of the one process (docs/distributed.md, "The same updates as one
process"), so that only their speed differs. Printed per run: agent steps per second of training, the process's
wall time and how much of it is spent outside training (start-up: imports, torchrun, building envs and policy;
shut-down: saving and closing; that is, wall time minus the run's training seconds), the last logged score, and
the training seconds and agent steps until the score first reached `--target` (how fast each learns per second and
per step). On a machine with fewer free cores than ranks x (env + learner threads) the
ranks share cores, so this shows the cost of the collectives and the extra process more than any speed-up; see
docs/distributed.md.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def run(env_name, world_size, timesteps, target, folder, flags=()):
    command = [sys.executable, '-m', 'pufferlib.cli', 'train', env_name, '--train.world-size', str(world_size),
               '--train.data-dir', folder, '--train.total-timesteps', str(timesteps), *flags]
    environment = dict(os.environ, OMP_NUM_THREADS='1')
    environment.pop('WORLD_SIZE', None)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=environment)
    wall = time.perf_counter() - start
    run_dir = os.path.join(folder, env_name, os.listdir(os.path.join(folder, env_name))[0])
    with open(os.path.join(run_dir, 'metrics.jsonl')) as file:
        rows = [json.loads(line) for line in file]
    scored = [row for row in rows if row.get('env/score') is not None]
    reached = next((row for row in scored if row['env/score'] >= target), None)
    return dict(wall=wall, startup=wall - rows[-1]['uptime'], sps=rows[-1]['sps'], steps=rows[-1]['global_step'],
                score=scored[-1]['env/score'] if scored else float('nan'),
                target_seconds=reached['uptime'] if reached else None,
                target_steps=reached['global_step'] if reached else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--env', default='puffer_squared', help='the env to train, with its config file')
    parser.add_argument('--timesteps', type=int, default=200_000, help='agent steps of each run, all ranks together')
    parser.add_argument('--target', type=float, default=0.95,
                        help='the score whose first logged arrival is timed (puffer_squared: the fraction of '
                             'episodes that reach their target; puffer_cartpole: steps balanced, at most 500)')
    args = parser.parse_args()
    from pufferlib import config as puffer_config
    config = puffer_config.load(args.env)
    halves = ['--env.num-envs', str(config['env']['num_envs'] // 2),
              '--train.minibatch-size', str(config['train']['minibatch_size'] // 2)]
    runs = {'1 process': (1, []), '2 ranks': (2, []), '2 ranks, halves': (2, halves)}
    results = {}
    for label, (world_size, flags) in runs.items():
        with tempfile.TemporaryDirectory() as folder:
            results[label] = run(args.env, world_size, args.timesteps, args.target, folder, flags)
    print(f'{args.env}, {args.timesteps:,} agent steps in all, {os.cpu_count()} CPUs, '
          f'score target {args.target:g}')
    print(f'{"run":<16} {"steps":>10} {"SPS":>9} {"wall s":>7} {"outside s":>9} {"score":>7} '
          f'{"to target: s":>12} {"steps":>10}')
    for label, r in results.items():
        seconds = f'{r["target_seconds"]:.1f}' if r['target_seconds'] is not None else 'never'
        steps = f'{r["target_steps"]:,}' if r['target_steps'] is not None else '-'
        print(f'{label:<16} {r["steps"]:>10,} {r["sps"]:>9,.0f} {r["wall"]:>7.1f} {r["startup"]:>9.1f} '
              f'{r["score"]:>7.3f} {seconds:>12} {steps:>10}')
    print(f'SPS ratio 2 ranks / 1 process: {results["2 ranks"]["sps"] / results["1 process"]["sps"]:.2f}, '
          f'with halves: {results["2 ranks, halves"]["sps"] / results["1 process"]["sps"]:.2f}')


if __name__ == '__main__':
    main()
