"""One process against two data-parallel ranks (torchrun, gloo) on this machine, side by side in one run: agent
steps per second and the score reached per wall second, for the same per-rank config (two ranks play twice the
envs and take twice the batch per update).

    python -m bench.distributed [--env puffer_squared] [--timesteps 200000]

On a machine with fewer free cores than ranks x (env + learner threads) the two ranks share cores, so this shows
the overhead of the collectives more than any speed-up; see docs/distributed.md.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def run(env_name, world_size, timesteps, folder):
    command = [sys.executable, '-m', 'pufferlib.cli', 'train', env_name, '--train.world-size', str(world_size),
               '--train.data-dir', folder, '--train.total-timesteps', str(timesteps)]
    environment = dict(os.environ, OMP_NUM_THREADS='1')
    environment.pop('WORLD_SIZE', None)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=environment)
    wall = time.perf_counter() - start
    run_dir = os.path.join(folder, env_name, os.listdir(os.path.join(folder, env_name))[0])
    with open(os.path.join(run_dir, 'metrics.jsonl')) as file:
        rows = [json.loads(line) for line in file]
    scores = [row['env/score'] for row in rows if row.get('env/score') is not None]
    return dict(wall=wall, sps=rows[-1]['sps'], steps=rows[-1]['global_step'], score=scores[-1] if scores else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--env', default='puffer_squared')
    parser.add_argument('--timesteps', type=int, default=200_000)
    args = parser.parse_args()
    results = {}
    for world_size in (1, 2):
        with tempfile.TemporaryDirectory() as folder:
            results[world_size] = run(args.env, world_size, args.timesteps, folder)
    print(f'{args.env}, {args.timesteps:,} agent steps in all, {os.cpu_count()} CPUs')
    print(f'{"ranks":>5} {"steps":>9} {"SPS":>9} {"wall s":>7} {"score":>6} {"score/wall s":>12}')
    for world_size, r in results.items():
        score = r['score'] if r['score'] is not None else float('nan')
        print(f'{world_size:>5} {r["steps"]:>9,} {r["sps"]:>9,.0f} {r["wall"]:>7.1f} {score:>6.3f} '
              f'{score / r["wall"]:>12.4f}')
    print(f'SPS ratio 2 ranks / 1 process: {results[2]["sps"] / results[1]["sps"]:.2f}')


if __name__ == '__main__':
    main()
