"""pufferlib PPO vs Stable-Baselines3 PPO on one Gymnasium MuJoCo env, same steps, same machine, in one run.

    python -m bench.mujoco [--env HalfCheetah-v5] [--steps 100000] [--sb3-steps N] [--rounds 1] [--seed 1]
                           [--data-dir DIR]

pufferlib runs `puffer train mujoco` (config/mujoco.ini, CleanRL's recipe) through the real command line; SB3 runs
PPO with RL Zoo's tuned HalfCheetah hyperparameters (ppo.yml, HalfCheetah: n_steps 512, batch 64, 20 epochs,
lr 2.0633e-5, clip 0.1, 256x256 ReLU actor and critic, log_std_init -2) behind VecNormalize (observations and
rewards, gamma 0.98), as RL Zoo's `normalize: true` does, with one torch thread. Each side is a fresh subprocess
timed from start to exit (imports and env creation included); the sides take turns, and with --rounds 2 or more
the order flips each round, so drift of this shared machine's speed hits both. Prints wall time, SPS and the
final return of each: the mean episodic return (the env's own reward, not normalized) of the last 10 or so
finished episodes of training. --sb3-steps gives SB3 a shorter budget than pufferlib's --steps (SB3 PPO runs at
about a quarter of pufferlib's SPS here, so 1M steps of it take 40 minutes): its wall time is then also printed
extrapolated to --steps at its measured seconds per step, and labelled as such. --data-dir keeps pufferlib's run
folder (metrics.jsonl, model.pt) there instead of in a temporary folder.
Needs `pip install "pufferlib[mujoco,bench]"`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# RL Zoo's ppo.yml entry for HalfCheetah (tuned for 1M steps).
SB3_HYPERPARAMETERS = dict(n_steps=512, batch_size=64, gamma=0.98, learning_rate=2.0633e-05, ent_coef=0.000401762,
                           clip_range=0.1, n_epochs=20, gae_lambda=0.92, max_grad_norm=0.8, vf_coef=0.58096)


def run_puffer(env_id, steps, seed, keep_dir=None):
    """(wall seconds, steps taken, final return) of `puffer train mujoco` in a subprocess; its run folder goes
    under keep_dir if given."""
    with tempfile.TemporaryDirectory(prefix='bench_mujoco_') as temporary:
        data_dir = os.path.abspath(keep_dir) if keep_dir else temporary
        experiment = f'bench-{env_id}-seed{seed}-{time.strftime("%Y%m%d_%H%M%S")}'
        command = [sys.executable, '-m', 'pufferlib.cli', 'train', 'mujoco', '--env.name', env_id,
                   '--train.total-timesteps', str(steps), '--train.seed', str(seed), '--vec.seed', str(seed),
                   '--train.data-dir', data_dir, '--train.experiment', experiment]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
        wall = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(f'puffer train failed:\n{result.stderr[-3000:]}')
        [metrics] = [os.path.join(root, name) for root, _, names in os.walk(data_dir) for name in names
                     if name == 'metrics.jsonl' and os.path.basename(root) == experiment]
        if keep_dir:
            print(f'pufferlib run folder: {os.path.dirname(metrics)}', flush=True)
        with open(metrics) as file:
            rows = [json.loads(line) for line in file if line.strip()]
    # Each logged row averages the episodes that ended in its epoch (about 2 with 8 envs of 1000-step episodes).
    returns = [row['env/episode_return'] for row in rows if 'env/episode_return' in row][-5:]
    return wall, rows[-1]['global_step'], sum(returns) / len(returns) if returns else float('nan')


def run_sb3(env_id, steps, seed):
    """(wall seconds, steps taken, final return) of SB3 PPO in a subprocess (this module's --sb3-worker mode)."""
    command = [sys.executable, '-m', 'bench.mujoco', '--sb3-worker', '--env', env_id, '--steps', str(steps),
               '--seed', str(seed)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f'SB3 PPO failed:\n{result.stderr[-3000:]}')
    taken, final = json.loads(result.stdout.strip().splitlines()[-1])
    return wall, taken, final


def sb3_worker(env_id, steps, seed):
    import torch
    import torch.nn as nn
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    # One torch thread, as pufferlib picks for a 64-wide MLP: on this busy 2-core machine SB3's update ran 6x
    # slower with torch's default of one thread per core.
    torch.set_num_threads(1)
    venv = VecNormalize(make_vec_env(env_id, n_envs=1, seed=seed), gamma=SB3_HYPERPARAMETERS['gamma'])
    policy_kwargs = dict(log_std_init=-2, ortho_init=False, activation_fn=nn.ReLU,
                         net_arch=dict(pi=[256, 256], vf=[256, 256]))
    model = PPO('MlpPolicy', venv, policy_kwargs=policy_kwargs, seed=seed, device='cpu', verbose=0,
                **SB3_HYPERPARAMETERS)
    model.learn(total_timesteps=steps)
    # The Monitor under VecNormalize records the env's own returns.
    returns = [info['r'] for info in model.ep_info_buffer][-10:]
    print(json.dumps([model.num_timesteps, sum(returns) / len(returns) if returns else float('nan')]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--env', default='HalfCheetah-v5', help='a Gymnasium MuJoCo id')
    parser.add_argument('--steps', type=int, default=100_000, help='env steps each side trains for')
    parser.add_argument('--sb3-steps', type=int, default=None,
                        help='env steps SB3 trains for (default: --steps); its wall time is also extrapolated')
    parser.add_argument('--data-dir', default=None, help="keep pufferlib's run folders here")
    parser.add_argument('--rounds', type=int, default=1, help='runs of each side; the order flips each round')
    parser.add_argument('--seed', type=int, default=1, help='seed of the first round (then seed + round)')
    parser.add_argument('--sb3-worker', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sb3_worker:
        return sb3_worker(args.env, args.steps, args.seed)
    sb3_steps = args.sb3_steps or args.steps
    sides = [('pufferlib', lambda env, seed: run_puffer(env, args.steps, seed, args.data_dir)),
             ('sb3', lambda env, seed: run_sb3(env, sb3_steps, seed))]
    print(f'{args.env}, {args.steps:,} steps per pufferlib run, {sb3_steps:,} per SB3 run, {args.rounds} round(s)')
    for round_index in range(args.rounds):
        for name, run in (sides if round_index % 2 == 0 else sides[::-1]):
            seed = args.seed + round_index
            wall, taken, final = run(args.env, seed)
            print(f'{name:10} seed {seed}: {wall:7.1f} s wall, {taken:>9,} steps, {taken / wall:7,.0f} SPS, '
                  f'final return {final:8.1f}', flush=True)
            if name == 'sb3' and sb3_steps != args.steps:
                print(f'{"":10} extrapolated, not measured: {wall / taken * args.steps:7.1f} s wall for '
                      f'{args.steps:,} steps at its {wall / taken * 1000:.2f} ms per step', flush=True)


if __name__ == '__main__':
    main()
