"""Torch threads on the CPU: a policy's forward (inference) and forward + backward (learning), 1 thread against
more, by rows and hidden size. Picks pufferlib.threads.SMALL_WORK.

    python bench/threads.py [--seconds 0.1] [--hidden 64 128 256] [--rows 16 64 256 1024 4096]

Each cell alternates the thread counts in one process, a slice of `seconds` at a time, five times over, and keeps
each count's best slice: a machine whose load drifts slows every variant alike. Prints µs per call and the ratio
of 1 thread's time to the others' (above 1: more threads help). Work = rows * hidden_size**2, what
pufferlib.threads compares with SMALL_WORK. Machine load is printed before and after.
"""
import argparse
import os
import time

import numpy as np
import torch
from gymnasium import spaces

from pufferlib import models
from pufferlib.envs.contract import PufferEnv
from pufferlib.threads import SMALL_WORK


class Shapes(PufferEnv):
    """Only the spaces of an env: breakout's 117 floats and 3 actions."""
    single_observation_space = spaces.Box(-1, 1, (117,), np.float32)
    single_action_space = spaces.Discrete(3)


def per_call(call, seconds):
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call()
        calls += 1
    return (time.perf_counter() - start) / calls


def cell(policy, rows, learn, counts, seconds, rounds=5):
    observations = torch.rand(rows, 117) * 2 - 1

    def infer():
        with torch.inference_mode():
            policy(observations)

    def train():
        logits, value = policy(observations)
        (logits.sum() + value.sum()).backward()

    call = train if learn else infer
    best = dict.fromkeys(counts, float('inf'))
    for _ in range(rounds):
        for threads in counts:
            torch.set_num_threads(threads)
            call()  # the pool wakes up at the new size
            best[threads] = min(best[threads], per_call(call, seconds))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=0.1)
    parser.add_argument('--hidden', type=int, nargs='+', default=[64, 128, 256])
    parser.add_argument('--rows', type=int, nargs='+', default=[16, 64, 256, 1024, 4096])
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    counts = sorted({1, 2, cores} - {0})
    print(f'{cores} cores, torch {torch.__version__}, load average before: {os.getloadavg()[0]:.2f}; '
          f'SMALL_WORK = {SMALL_WORK:,}')
    header = ' '.join(f'{f"{n} thr µs":>10}' for n in counts)
    ratios = ' '.join(f'{f"1/{n}":>6}' for n in counts[1:])
    print(f'{"mode":>7} {"hidden":>6} {"rows":>6} {"work":>12} {header} {ratios}')
    for learn in (False, True):
        for hidden in args.hidden:
            policy = models.Policy(Shapes(), hidden_size=hidden)
            for rows in args.rows:
                best = cell(policy, rows, learn, counts, args.seconds)
                times = ' '.join(f'{best[n] * 1e6:10.1f}' for n in counts)
                gains = ' '.join(f'{best[1] / best[n]:6.2f}' for n in counts[1:])
                print(f'{"learn" if learn else "infer":>7} {hidden:6} {rows:6} {rows * hidden ** 2:12,} {times} '
                      f'{gains}', flush=True)
    print(f'load average after: {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
