"""Compiled puffer_breakout training with inductor's C++ wrapper and with its Python one, alternating in one run.

    python -m bench.cpp_wrapper [--seconds 60] [--env puffer_breakout]

Two trainers with the same config and seed, one compiled with the C++ wrapper the trainer uses on the CPU and one
with inductor's default Python wrapper, take turns at whole epochs (collect and learn), so a machine whose speed
drifts slows both alike. The kernels are the same, so the two runs must stay bit-identical: every epoch's losses
are compared, and the bench stops with an error at the first difference. Prints SPS both ways and their ratio.
"""
import argparse
import io
import shutil
import tempfile
import time

import torch

from pufferlib import denormals, models, runs, trainer, vector
from pufferlib import config as puffer_config
from pufferlib.dashboard import Dashboard


def make_trainer(env_name, cpp_wrapper, scratch_dir):
    config = puffer_config.load(env_name, overrides={'train': {'device': 'cpu', 'compile': True,
                                                               'checkpoint_interval': 10**9}})
    trainer.seed_everything(config['train']['seed'], config['train']['torch_deterministic'])
    vecenv = vector.make_from_config(config)
    puffer_config.resolve_train_auto(config, vecenv.num_agents)
    policy = models.make_policy(vecenv.driver_env, config['base']['policy_name'], config['base']['rnn_name'],
                                config['policy'], config['rnn'])
    trainer.CPP_WRAPPER_ON_CPU = cpp_wrapper  # read once, when the Trainer compiles its functions
    try:
        learner = trainer.Trainer(config, vecenv, policy, runs.new_run(scratch_dir, env_name),
                                  Dashboard(env_name, live=False, file=io.StringIO()))
    finally:
        trainer.CPP_WRAPPER_ON_CPU = True
    learner.reset_envs(config['vec']['seed'])
    return learner


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=60, help='how long to alternate, after warm-up')
    parser.add_argument('--env', default='puffer_breakout', help='an env whose config trains a compiled policy')
    args = parser.parse_args()

    scratch_dir = tempfile.mkdtemp(prefix='bench_cpp_wrapper_')
    cores = puffer_config.physical_cores()
    torch.set_num_threads(cores)
    denormals.set_flush_denormals(True)
    learners = {'C++ wrapper': make_trainer(args.env, True, scratch_dir),
                'Python wrapper': make_trainer(args.env, False, scratch_dir)}
    seconds = dict.fromkeys(learners, 0.0)
    steps = dict.fromkeys(learners, 0)
    # Each trainer draws its own stream of random numbers (both start from the seed), as if it ran alone.
    rng_states = dict.fromkeys(learners, torch.get_rng_state())
    epochs = 0
    try:
        deadline = None
        while deadline is None or time.perf_counter() < deadline:
            losses = {}
            for name, learner in learners.items():
                torch.set_rng_state(rng_states[name])
                start_step, start = learner.global_step, time.perf_counter()
                learner.collect()
                losses[name] = learner.learn()
                rng_states[name] = torch.get_rng_state()
                if deadline is not None:
                    seconds[name] += time.perf_counter() - start
                    steps[name] += learner.global_step - start_step
            first, second = losses.values()
            if first != second:
                raise SystemExit(f'epoch {epochs + 1}: the two wrappers gave different losses: {first} vs {second}')
            epochs += 1
            if deadline is None and epochs == 3:  # compiled and warmed up: start timing
                deadline = time.perf_counter() + args.seconds
    finally:
        for learner in learners.values():
            learner.vecenv.close()
        denormals.set_flush_denormals(False)
        shutil.rmtree(scratch_dir, ignore_errors=True)
    print(f'{args.env}, {cores} torch threads, {epochs} epochs each, losses identical in every epoch')
    sps = {name: steps[name] / seconds[name] for name in learners}
    for name in learners:
        print(f'{name:15} {sps[name]:>10,.0f} SPS  {1e3 * seconds[name] / (epochs - 3):6.1f} ms per epoch')
    print(f'C++ wrapper / Python wrapper: {sps["C++ wrapper"] / sps["Python wrapper"]:.3f}x')


if __name__ == '__main__':
    main()
