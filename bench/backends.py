"""Which [vec] backend steps an env config's envs fastest: Serial against Multiprocessing, as the config sets them up.

    python bench/backends.py gymnasium pettingzoo [--seconds 1] [--rounds 3]

For each config, both vecenvs are built from the config (its num_envs, num_workers, batch_size), and timed in
turns, `seconds` each, `rounds` times: synchronous steps with random valid actions drawn in advance, no policy.
A machine whose load drifts slows both alike; each backend's best turn counts. Prints agent steps per second and
Multiprocessing / Serial. Machine load is printed before and after.
"""
import argparse
import os
import time

import numpy as np

from pufferlib import config as puffer_config
from pufferlib import vector


def steps_per_second(vecenv, actions, seconds):
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        vecenv.step(actions[steps % len(actions)])
        steps += 1
    return steps * vecenv.num_agents / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('envs', nargs='+', help='env config names, e.g. gymnasium pettingzoo')
    parser.add_argument('--seconds', type=float, default=1.0)
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    print(f'{os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}')
    print('| config | env | num_envs | Serial steps/s | Multiprocessing steps/s (workers) | MP / Serial |')
    print('| --- | --- | ---: | ---: | ---: | ---: |')
    for env_name in args.envs:
        vecenvs = {}
        for backend in ('Serial', 'Multiprocessing'):
            config = puffer_config.load(env_name, overrides={'vec.backend': backend})
            vecenvs[backend] = vector.make_from_config(config)
        try:
            serial = vecenvs['Serial']
            serial.action_space.seed(0)
            actions = [np.asarray(serial.action_space.sample()).astype(serial.buffers.actions.dtype)
                       .reshape(serial.buffers.actions.shape) for _ in range(64)]
            best = dict.fromkeys(vecenvs, 0.0)
            for vecenv in vecenvs.values():
                vecenv.reset(0)
                steps_per_second(vecenv, actions, 0.2)  # warm-up
            for _ in range(args.rounds):
                for backend, vecenv in vecenvs.items():
                    best[backend] = max(best[backend], steps_per_second(vecenv, actions, args.seconds))
            workers = vecenvs['Multiprocessing'].num_workers
            print(f'| {env_name} | {config["env"].get("name")} | {serial.num_envs} | {best["Serial"]:,.0f} | '
                  f'{best["Multiprocessing"]:,.0f} ({workers}) | {best["Multiprocessing"] / best["Serial"]:.2f} |',
                  flush=True)
        finally:
            for vecenv in vecenvs.values():
                vecenv.close()
    print(f'load average after: {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
