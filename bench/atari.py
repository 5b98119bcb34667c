"""Atari steps per second: pufferlib's Multiprocessing vector against Gymnasium's AsyncVectorEnv with
AtariPreprocessing and (if installed) EnvPool, in one run, with the same game, preprocessing and worker count.

    python -m bench.atari [--game breakout] [--workers 2] [--games-per-worker 8] [--seconds 10] [--rounds 5]

Preprocessing everywhere: frame skip 4 with max-pooling of the last two frames, grayscale, 84x84 area resize,
4 stacked frames, 1..30 no-op starts, sticky actions 0.25, no episodic life, no FIRE on reset, 108000-frame
cap. Gymnasium runs one env per worker process (its design); EnvPool runs `workers` threads over the same
number of games as pufferlib. The ratios compare synchronous stepping (every call steps every game); the async
rows show both libraries receiving whichever games finish first instead. Actions are random and generated before
timing; a step is one agent (game) step.
"CPU us per step" is the CPU time of this process and its workers per agent step: unlike steps/s, it hardly
changes with the load that other programs put on the machine.
Gymnasium's AtariPreprocessing needs opencv-python; a contender whose package is missing is reported and skipped.
"""
import argparse
import os
import time

import numpy as np

from pufferlib import vector
from pufferlib.envs import atari

FRAMESKIP, STICKY, NOOP_MAX, STACK, SIZE, MAX_FRAMES = 4, 0.25, 30, 4, 84, 108_000
ACTION_BATCHES = 64


def cpu_seconds():
    """CPU time used so far by this process (all its threads) and its live child processes (the workers)."""
    own = os.times()
    total = own.user + own.system
    ticks = os.sysconf('SC_CLK_TCK')
    me = str(os.getpid())
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as file:
                fields = file.read().rsplit(')', 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if fields[1] == me:  # ppid; then utime and stime are fields 11 and 12 after the name
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def time_steps(step, actions, seconds):
    """(agent steps, wall seconds, CPU seconds) of `step(actions[i])` calls over about `seconds`."""
    calls, start, cpu_start = 0, time.perf_counter(), cpu_seconds()
    while True:
        step(actions[calls % len(actions)])
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls * len(actions[0]), elapsed, cpu_seconds() - cpu_start


def random_actions(num_actions, rows, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, num_actions, rows).astype(np.int32) for _ in range(ACTION_BATCHES)]


def make_pufferlib(game, workers, games_per_worker, asynchronous=False):
    """Synchronous: every step waits for all workers. Asynchronous: each call takes the first worker to finish
    and sends it its next actions, so workers never wait for one another."""
    vecenv = vector.make(atari.env_creator('atari'), backend='Multiprocessing', num_envs=workers,
                         num_workers=workers, batch_size=1 if asynchronous else workers, seed=0,
                         env_kwargs=dict(game=game, num_envs=games_per_worker, frameskip=FRAMESKIP,
                                         repeat_action_probability=STICKY, noop_max=NOOP_MAX, frame_stack=STACK,
                                         height=SIZE, width=SIZE, max_episode_frames=MAX_FRAMES))
    actions = random_actions(vecenv.single_action_space.n, vecenv.agents_per_batch)
    if not asynchronous:
        vecenv.reset(seed=0)
        return vecenv.step, actions, vecenv.close
    vecenv.async_reset(seed=0)

    def step(batch_actions):
        vecenv.recv()
        vecenv.send(batch_actions)
    return step, actions, vecenv.close


def camel_case(game):
    return ''.join(part.capitalize() for part in game.split('_'))


def make_gymnasium(game, workers):
    import ale_py
    import gymnasium
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation
    try:
        import cv2  # noqa: F401  (AtariPreprocessing resizes with it)
    except ImportError:
        return 'opencv-python is not installed (pip install opencv-python-headless)'

    def make():
        gymnasium.register_envs(ale_py)
        env = gymnasium.make(f'ALE/{camel_case(game)}-v5', frameskip=1, repeat_action_probability=STICKY,
                             max_num_frames_per_episode=MAX_FRAMES)
        env = AtariPreprocessing(env, noop_max=NOOP_MAX, frame_skip=FRAMESKIP, screen_size=SIZE)
        return FrameStackObservation(env, STACK)

    envs = gymnasium.vector.AsyncVectorEnv([make] * workers)
    envs.reset(seed=0)
    return envs.step, random_actions(envs.single_action_space.n, workers), envs.close


def make_envpool(game, workers, games_per_worker, asynchronous=False):
    """Asynchronous: each call receives the first half of the games to finish and sends them their actions."""
    try:
        import envpool
    except ImportError:
        return 'envpool is not installed'
    num_envs = workers * games_per_worker
    batch = num_envs // workers if asynchronous else num_envs
    envs = envpool.make(f'{camel_case(game)}-v5', env_type='gymnasium', num_envs=num_envs, num_threads=workers,
                        batch_size=batch, seed=0, frame_skip=FRAMESKIP, repeat_action_probability=STICKY, noop_max=NOOP_MAX,
                        stack_num=STACK, img_height=SIZE, img_width=SIZE, gray_scale=True,
                        use_inter_area_resize=True, use_fire_reset=False, episodic_life=False, reward_clip=True,
                        max_episode_steps=MAX_FRAMES // FRAMESKIP)
    actions = random_actions(envs.action_space.n, batch)
    if not asynchronous:
        envs.reset()
        return envs.step, actions, envs.close
    envs.async_reset()

    def step(batch_actions):
        *_, info = envs.recv()
        envs.send(batch_actions, info['env_id'])
    return step, actions, envs.close


def take_turns(contenders, seconds, rounds):
    """Build every contender (idle ones sleep), then time them in turns. Returns ({label: (agent steps, wall
    seconds, CPU seconds)}, {label: why it was skipped})."""
    built, totals = {}, {}
    try:
        for label, make in contenders.items():
            built[label] = make()
        running = {label: value for label, value in built.items() if not isinstance(value, str)}
        for step, actions, _ in running.values():
            for i in range(20):  # warm-up
                step(actions[i % len(actions)])
        for _ in range(rounds):
            for label, (step, actions, _) in running.items():
                sample = time_steps(step, actions, seconds / rounds)
                totals[label] = [a + b for a, b in zip(totals.get(label, (0, 0.0, 0.0)), sample)]
    finally:
        for value in built.values():
            if not isinstance(value, str):
                value[2]()
    return totals, {label: value for label, value in built.items() if isinstance(value, str)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--game', default='breakout', help='ale-py ROM id')
    parser.add_argument('--workers', type=int, default=2, help='worker processes (EnvPool: threads)')
    parser.add_argument('--games-per-worker', type=int, default=8, help='games per pufferlib worker (and EnvPool)')
    parser.add_argument('--seconds', type=float, default=10.0, help='timing per contender, split over the rounds')
    parser.add_argument('--rounds', type=int, default=5, help='contenders take turns this many times, so that '
                        'load from other processes falls on all of them alike')
    args = parser.parse_args()
    game, workers, per_worker = atari.resolve_game(args.game), args.workers, args.games_per_worker
    games = workers * per_worker

    gymnasium_label = 'Gymnasium AsyncVectorEnv + AtariPreprocessing, 1 env/worker'
    envpool_label = f'EnvPool, {workers} threads, {games} games'
    contenders = {
        f'pufferlib Multiprocessing, {per_worker} games/worker': lambda: make_pufferlib(game, workers, per_worker),
        f'pufferlib Multiprocessing async (recv 1 of {workers} workers), {per_worker} games/worker':
            lambda: make_pufferlib(game, workers, per_worker, asynchronous=True),
        'pufferlib Multiprocessing, 1 game/worker': lambda: make_pufferlib(game, workers, 1),
        gymnasium_label: lambda: make_gymnasium(game, workers),
        envpool_label: lambda: make_envpool(game, workers, per_worker),
        f'EnvPool async (recv {per_worker} of {games} games), {workers} threads':
            lambda: make_envpool(game, workers, per_worker, asynchronous=True),
    }
    load_before = os.getloadavg()[0]
    totals, skipped = take_turns(contenders, args.seconds, args.rounds)
    rates = {label: steps / seconds for label, (steps, seconds, _) in totals.items()}
    cpu_per_step = {label: cpu / steps * 1e6 for label, (steps, _, cpu) in totals.items()}
    gymnasium_rate, envpool_rate = rates.get(gymnasium_label), rates.get(envpool_label)

    print(f'{game}, {workers} workers, {args.seconds:g} s each in {args.rounds} turns, {os.cpu_count()} CPUs, '
          f'load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after\n')
    print('| vectorization | agent steps/s | vs Gymnasium | vs EnvPool | CPU us per step |')
    print('| --- | ---: | ---: | ---: | ---: |')
    for label in contenders:
        if label in skipped:
            print(f'| {label} | skipped: {skipped[label]} | | | |')
            continue
        versus = [f'{rates[label] / ref:.2f}x' if ref else '-' for ref in (gymnasium_rate, envpool_rate)]
        print(f'| {label} | {rates[label]:,.0f} | {versus[0]} | {versus[1]} | {cpu_per_step[label]:,.0f} |')


if __name__ == '__main__':
    main()
