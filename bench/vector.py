"""Vectorization throughput: agent steps per second, synchronous, actions fixed in advance (no policy cost).

    python bench/vector.py [--envs 32] [--seconds 3]

1. Gymnasium CartPole-v1 x envs: our Multiprocessing (2 workers) against Gymnasium's AsyncVectorEnv and
   Stable-Baselines3's SubprocVecEnv (both run one process per env: that is their design), plus our Serial.
2. An Ocean env through Serial and Multiprocessing: 2 env objects on 2 workers, and 1 object on 1 worker (the
   difference per round between the last two is the cost of handing a round to a worker process).
Ratios are against the faster of AsyncVectorEnv / SubprocVecEnv (part 1) and against Serial (part 2); a round is
one synchronous step of every env.
Machine load is printed before and after: rerun if other work shares the cores.
"""
import argparse
import os
import platform
import sys
import time

import gymnasium
import numpy as np

import pufferlib.envs.ocean
import pufferlib.vector as vector
from pufferlib.envs import gymnasium as gymnasium_package


def steps_per_second(step, agents, seconds):
    """Agent steps per second of `step()` over about `seconds`, after a short warm-up."""
    for _ in range(20):
        step()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(20):
            step()
        calls += 20
    return calls * agents / (time.perf_counter() - start)


def make_cartpole():
    return gymnasium.make('CartPole-v1')


def puffer(creator, backend, num_envs, seconds, **kwargs):
    with vector.make(creator, backend=backend, num_envs=num_envs, seed=0, **kwargs) as vecenv:
        vecenv.reset()
        actions = np.zeros(vecenv.action_space.shape, np.int32)
        return steps_per_second(lambda: vecenv.step(actions), vecenv.num_agents, seconds)


def gymnasium_async(num_envs, seconds):
    envs = gymnasium.vector.AsyncVectorEnv([make_cartpole] * num_envs)
    envs.reset(seed=0)
    actions = np.zeros(num_envs, np.int64)
    try:
        return steps_per_second(lambda: envs.step(actions), num_envs, seconds)
    finally:
        envs.close()


def sb3_subproc(num_envs, seconds):
    from stable_baselines3.common.vec_env import SubprocVecEnv
    envs = SubprocVecEnv([make_cartpole] * num_envs)
    envs.reset()
    actions = np.zeros(num_envs, np.int64)
    try:
        return steps_per_second(lambda: envs.step(actions), num_envs, seconds)
    finally:
        envs.close()


def table(title, rows, reference):
    """rows: (name, agents per round, agent steps per second)."""
    print(f'\n{title}\n')
    print('| vectorization | agent steps/s | µs per round | ratio |')
    print('| --- | ---: | ---: | ---: |')
    for name, agents, sps in rows:
        print(f'| {name} | {sps:,.0f} | {agents / sps * 1e6:,.1f} | {sps / reference:.2f}x |')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--envs', type=int, default=32, help='Gymnasium CartPole envs')
    parser.add_argument('--seconds', type=float, default=3.0, help='measuring time per row')
    parser.add_argument('--ocean-env', default='puffer_cartpole' if 'puffer_cartpole' in pufferlib.envs.ocean.list_envs()
                        else 'puffer_squared')
    parser.add_argument('--ocean-envs-per-object', type=int, default=4096, help='[env] num_envs of one object')
    args = parser.parse_args()
    print(f'command: python {" ".join(sys.argv)}')
    print(f'machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; '
          f'load average before: {os.getloadavg()[0]:.2f}')

    n = args.envs
    ours = [('pufferlib Multiprocessing (2 workers)', n,
             puffer(gymnasium_package.make, 'Multiprocessing', n, args.seconds, num_workers=2)),
            ('pufferlib Serial (in process)', n, puffer(gymnasium_package.make, 'Serial', n, args.seconds))]
    theirs = [(f'Gymnasium AsyncVectorEnv ({n} processes)', n, gymnasium_async(n, args.seconds)),
              (f'SB3 SubprocVecEnv ({n} processes)', n, sb3_subproc(n, args.seconds))]
    table(f'Gymnasium CartPole-v1 x {n}', ours + theirs, max(sps for _, _, sps in theirs))

    creator = pufferlib.envs.ocean.env_creator(args.ocean_env)
    per_object = args.ocean_envs_per_object
    env_kwargs = {'num_envs': per_object}
    rows = [('pufferlib Serial, 2 objects', 2 * per_object, puffer(creator, 'Serial', 2, args.seconds,
                                                                    env_kwargs=env_kwargs)),
            ('pufferlib Multiprocessing, 2 objects on 2 workers', 2 * per_object,
             puffer(creator, 'Multiprocessing', 2, args.seconds, num_workers=2, env_kwargs=env_kwargs)),
            ('pufferlib Serial, 1 object', per_object, puffer(creator, 'Serial', 1, args.seconds,
                                                               env_kwargs=env_kwargs)),
            ('pufferlib Multiprocessing, 1 object on 1 worker', per_object,
             puffer(creator, 'Multiprocessing', 1, args.seconds, num_workers=1, env_kwargs=env_kwargs))]
    table(f'Ocean {args.ocean_env}, objects of {per_object} envs', rows, rows[0][2])
    print(f'\nload average after: {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
