"""Steps per second of every Ocean env in one process, with Gymnasium (and EnvPool, if installed) CartPole-v1 as
references measured in the same run.

    python -m bench.envs [--num-envs 1024] [--seconds 2] [--envs puffer_cartpole puffer_breakout ...]

Actions are random and generated before timing; only the step calls are timed. A "step" is one agent step, so a
call that steps 1024 two-agent envs counts 2048.
"""
import argparse
import os
import time
import warnings

import gymnasium
import numpy as np

import pufferlib.envs.ocean as ocean

ACTION_BATCHES = 64  # distinct pre-generated action arrays, cycled
# Settings that shipped config files (or self-play's agent mode) use and that change an env's cost, timed as extra
# rows.
VARIANTS = [('puffer_tetris', {'features': 1}), ('puffer_checkers', {'opponent': 1}), ('puffer_go', {'opponent': 1})]


def time_steps(step, actions, seconds):
    """(wall, cpu) agent steps per second of `step(actions[i])` calls over about `seconds` of CPU time.

    Everything timed runs in this one thread, so the CPU-time rate is what an idle core would give even while other
    processes share the machine; the wall-clock rate is what this run actually got.
    """
    for i in range(10):
        step(actions[i % len(actions)])
    calls, wall, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        for i in range(len(actions)):
            step(actions[i])
        calls += len(actions)
        cpu_elapsed = time.process_time() - cpu
        if cpu_elapsed >= seconds:
            steps = calls * actions[0].shape[0]
            return steps / (time.perf_counter() - wall), steps / cpu_elapsed


def bench_ocean(name, num_envs, seconds, **params):
    env = ocean.make(name, num_envs=num_envs, seed=0, **params)
    env.reset(0)
    actions = [env.action_space.sample().astype(env.actions.dtype) for _ in range(ACTION_BATCHES)]
    rate = time_steps(env.step, actions, seconds)
    env.close()
    return rate


def bench_gymnasium_cartpole(num_envs, seconds):
    envs = gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make('CartPole-v1') for _ in range(num_envs)])
    envs.reset(seed=0)
    actions = [envs.action_space.sample() for _ in range(ACTION_BATCHES)]
    rate = time_steps(envs.step, actions, seconds)
    envs.close()
    return rate


def bench_envpool_cartpole(num_envs, seconds):
    try:
        import envpool
    except ImportError:
        return None
    with warnings.catch_warnings():  # EnvPool builds its spaces from float64 bounds, which Gymnasium warns about
        warnings.simplefilter('ignore')
        # One worker thread: the same single core the other rows get.
        envs = envpool.make('CartPole-v1', env_type='gymnasium', num_envs=num_envs, seed=0, num_threads=1)
        envs.reset()
        actions = [np.random.randint(0, 2, num_envs) for _ in range(ACTION_BATCHES)]
        rate = time_steps(envs.step, actions, seconds)
    envs.close()
    return rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-envs', type=int, default=1024, help='C envs per Ocean env object (and Gymnasium envs)')
    parser.add_argument('--seconds', type=float, default=2.0, help='CPU-seconds of timing per env')
    parser.add_argument('--envs', nargs='*', default=None, help='Ocean envs to time (default: all registered)')
    args = parser.parse_args()

    gym = bench_gymnasium_cartpole(args.num_envs, args.seconds)
    envpool = bench_envpool_cartpole(args.num_envs, args.seconds)
    print(f'{args.num_envs} envs per process, random actions, {args.seconds:g} CPU-seconds per env; ratios use the '
          'CPU-time rates\n')
    envpool_header = ' vs EnvPool |' if envpool else ''
    print(f'| env | steps/s (CPU time) | steps/s (wall clock) | vs Gymnasium CartPole-v1 |{envpool_header}')
    print(f'| --- | ---: | ---: | ---: |{" ---: |" if envpool else ""}')

    def row(label, rates):
        wall, cpu = rates
        envpool_cell = f' {cpu / envpool[1]:.1f}x |' if envpool else ''
        print(f'| {label} | {cpu / 1e6:.2f}M | {wall / 1e6:.2f}M | {cpu / gym[1]:.0f}x |{envpool_cell}', flush=True)

    names = args.envs or ocean.list_envs()
    for name in names:
        row(name, bench_ocean(name, args.num_envs, args.seconds))
    for name, params in VARIANTS:
        if name in names:
            label = f'{name} ({", ".join(f"{key} = {value}" for key, value in params.items())})'
            row(label, bench_ocean(name, args.num_envs, args.seconds, **params))
    row('Gymnasium CartPole-v1 (SyncVectorEnv)', gym)
    if envpool:
        row('EnvPool CartPole-v1', envpool)
    else:
        print('\nEnvPool is not installed: no EnvPool reference.')
    load = os.getloadavg()
    print(f'\nLoad average during the run: {load[0]:.1f} (1 min), {load[1]:.1f} (5 min) on {os.cpu_count()} CPUs.')


if __name__ == '__main__':
    main()
