"""Training throughput: pufferlib's PPO trainer on puffer_breakout and puffer_cartpole (each with its config file's
settings) against Stable-Baselines3 PPO on Gymnasium's CartPole-v1, in one run, on the CPU.

    python -m bench.train [--breakout-steps 5e6] [--cartpole-steps 3e6] [--sb3-steps 3e4] [--compile both]
                          [--compile-mode max-autotune-no-cudagraphs] [--envs puffer_breakout]

A step is one agent step, and training SPS counts everything a training run does: env simulation, inference,
copies and learning. The first epochs are left out (warm-up); SPS is measured over the rest from the run's own
metrics log. "CPU us/step" is this process's CPU time per step: unlike SPS it hardly moves with the load other
programs put on the machine, so compare it when the load average is high.
SB3 runs its CartPole-v1 PPO defaults (n_steps 2048, batch 64, 10 epochs) on 8 DummyVecEnv envs, with one torch
thread and with every physical core, each once before and once after the pufferlib runs: this machine's speed
drifts by up to 1.5x from one minute to the next, and bracketing the pufferlib runs keeps that drift out of the
ratios. Each thread count's SPS is over its two runs together; the ratios are against the faster thread count.
`--compile both` trains each pufferlib env twice, with train.compile off and on (whatever its config file says),
to measure what compiling buys.
"""
import argparse
import io
import os
import tempfile
import time
from types import SimpleNamespace

import torch

from pufferlib import config as puffer_config
from pufferlib import runs, trainer
from pufferlib.dashboard import Dashboard

WARMUP_EPOCHS = 3


def puffer_sps(env_name, steps, data_dir, compile=None, compile_mode=None):
    train = {'total_timesteps': int(steps), 'device': 'cpu', 'data_dir': data_dir, 'checkpoint_interval': 10**9}
    if compile is not None:
        train['compile'] = compile
    if compile_mode is not None:
        train['compile_mode'] = compile_mode
    config = puffer_config.load(env_name, overrides={'train': train})
    cpu_start = time.process_time()
    result = trainer.train(config, SimpleNamespace(), dashboard=Dashboard(env_name, live=False, file=io.StringIO()))
    cpu = time.process_time() - cpu_start
    rows = runs.read_metrics(result.run_dir)
    first, last = rows[min(WARMUP_EPOCHS, len(rows) - 2)], rows[-1]
    sps = (last['global_step'] - first['global_step']) / (last['uptime'] - first['uptime'])
    seconds = {name: sum(row[f'time/{name}'] for row in rows[WARMUP_EPOCHS:]) for name in trainer.PROFILE_NAMES}
    total = sum(seconds.values())
    shares = ', '.join(f'{name} {100 * value / total:.0f}%' for name, value in seconds.items())
    return dict(sps=sps, cpu_us=1e6 * cpu / result.global_step, steps=result.global_step,
                score=result.stats.get('score', float('nan')), shares=shares)


def sb3_sps(steps, threads):
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    torch.set_num_threads(threads)
    model = PPO('MlpPolicy', make_vec_env('CartPole-v1', n_envs=8, seed=0), device='cpu', seed=0, verbose=0)
    start, cpu_start = time.perf_counter(), time.process_time()
    model.learn(total_timesteps=int(steps))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return dict(sps=model.num_timesteps / seconds, cpu_us=1e6 * cpu / model.num_timesteps,
                steps=model.num_timesteps, score=float('nan'), seconds=seconds)


def combined(*runs):
    """Several runs of one program as one: SPS and CPU time per step over all their steps."""
    steps = sum(run['steps'] for run in runs)
    seconds = sum(run['seconds'] for run in runs)
    cpu_us = sum(run['cpu_us'] * run['steps'] for run in runs) / steps
    return dict(sps=steps / seconds, cpu_us=cpu_us, steps=steps, score=float('nan'), seconds=seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--breakout-steps', type=float, default=5e6)
    parser.add_argument('--cartpole-steps', type=float, default=3e6)
    parser.add_argument('--sb3-steps', type=float, default=3e4)
    parser.add_argument('--compile', choices=['config', 'both'], default='config',
                        help="config: each env's own train.compile; both: each env with compile off, then on")
    parser.add_argument('--compile-mode', default=None,
                        help='train.compile_mode for the compiled runs (default: the config\'s, "default")')
    parser.add_argument('--envs', nargs='*', default=['puffer_breakout', 'puffer_cartpole'],
                        choices=['puffer_breakout', 'puffer_cartpole'], help='pufferlib envs to train')

    args = parser.parse_args()

    cores = puffer_config.physical_cores()
    print(f'load average {" ".join(f"{x:.1f}" for x in os.getloadavg())} on {os.cpu_count()} CPUs, '
          f'torch {torch.__version__}, {cores} physical cores (the trainer with an in-process env uses all of '
          'them as torch threads)')
    results = {}
    sb3_before = {threads: sb3_sps(args.sb3_steps, threads) for threads in sorted({1, cores})}
    with tempfile.TemporaryDirectory() as data_dir:
        steps = {'puffer_breakout': args.breakout_steps, 'puffer_cartpole': args.cartpole_steps}
        for env_name in args.envs:
            if args.compile == 'config':
                results[f'pufferlib {env_name}'] = puffer_sps(env_name, steps[env_name], data_dir,
                                                              compile_mode=args.compile_mode)
                continue
            for compile in (False, True):
                label = f'pufferlib {env_name}, {"compiled" if compile else "eager"}'
                results[label] = puffer_sps(env_name, steps[env_name], data_dir, compile, args.compile_mode)
    sb3_after = {threads: sb3_sps(args.sb3_steps, threads) for threads in sb3_before}
    for threads in sb3_before:
        before, after = sb3_before[threads], sb3_after[threads]
        results[f'SB3 PPO CartPole-v1, {threads} thr, before'] = before
        results[f'SB3 PPO CartPole-v1, {threads} thr, after'] = after
        results[f'SB3 PPO CartPole-v1, {threads} thr, both'] = combined(before, after)
    reference = max(results[f'SB3 PPO CartPole-v1, {threads} thr, both']['sps'] for threads in sb3_before)

    print(f'{"run":48} {"steps":>12} {"SPS":>12} {"CPU us/step":>12} {"x SB3":>8} {"final score":>12}')
    for name, r in results.items():
        print(f'{name:48} {r["steps"]:>12,} {r["sps"]:>12,.0f} {r["cpu_us"]:>12.2f} {r["sps"] / reference:>8.1f} '
              f'{r["score"]:>12.1f}')
    for name, r in results.items():
        if 'shares' in r:
            print(f'{name}: time in {r["shares"]}')


if __name__ == '__main__':
    main()
