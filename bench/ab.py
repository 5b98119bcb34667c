"""Two trainers of one env, each with its own config overrides, taking turns at epochs in one run: SPS both ways.

    python -m bench.ab puffer_breakout --a policy.activation=gelu [--b KEY=VALUE ...] [--seconds 60]

Both start from the env's config file and seed; `--a` and `--b` override keys (section.key=value, as on the
`puffer train` command line but with the dots). The trainers take turns at whole epochs (collect and learn), each
with its own stream of random numbers, so a machine whose speed drifts by a third from one minute to the next
slows both alike: on this 2-core machine, back-to-back runs of one config differ by more than most changes worth
measuring. The first epochs (compiling, warm-up) are left out. Prints each side's SPS and ms per epoch, their
ratio, and whether the two sides' losses stayed identical (they do when a change leaves the arithmetic alone).
With `selfplay.enabled=True` a side plays its opponent rows as `puffer train` does, and counts learner steps.
"""
import argparse
import io
import shutil
import tempfile
import time

import torch

from pufferlib import denormals, models, optim, runs, selfplay, trainer, vector
from pufferlib import config as puffer_config
from pufferlib.dashboard import Dashboard
from pufferlib.runs import session

WARMUP_EPOCHS = 3


def make_trainer(env_name, overrides, scratch_dir, cpp_wrapper=True):
    """A Trainer as `puffer train` builds it (envs reset with the vec seed), in a scratch run folder."""
    config = puffer_config.load(env_name, overrides={**overrides, 'train.device': 'cpu',
                                                     'train.checkpoint_interval': 10**9})
    session.seed_everything(config['train']['seed'], config['train']['torch_deterministic'])
    vecenv = selfplay.wrap(config, vector.make_from_config(config))  # as a session: learner rows only
    puffer_config.resolve_train_auto(config, vecenv.num_agents)
    policy = models.make_policy(vecenv.driver_env, config['base']['policy_name'], config['base']['rnn_name'],
                                config['policy'], config['rnn'])
    optim.CPP_WRAPPER_ON_CPU = cpp_wrapper  # read once, when the Trainer compiles its functions
    try:
        learner = trainer.Trainer(config, vecenv, policy, runs.new_run(scratch_dir, env_name),
                                  Dashboard(env_name, live=False, file=io.StringIO()))
    finally:
        optim.CPP_WRAPPER_ON_CPU = True
    learner.reset_envs(config['vec']['seed'])
    return learner


def alternate(learners, seconds):
    """Run the learners ({name: Trainer}) epoch by epoch in turn for `seconds` after the warm-up epochs. Returns
    ({name: SPS}, {name: ms per epoch}, timed epochs each, whether every epoch's losses were identical)."""
    elapsed = dict.fromkeys(learners, 0.0)
    steps = dict.fromkeys(learners, 0)
    rng_states = dict.fromkeys(learners, torch.get_rng_state())  # each draws as if it ran alone
    warmup, epochs, identical, deadline = 0, 0, True, None
    while deadline is None or time.perf_counter() < deadline:
        losses = []
        for name, learner in learners.items():
            torch.set_rng_state(rng_states[name])
            start_step, start = learner.global_step, time.perf_counter()
            learner.collect()
            losses.append(learner.learn())
            if deadline is not None:
                elapsed[name] += time.perf_counter() - start
                steps[name] += learner.global_step - start_step
            rng_states[name] = torch.get_rng_state()
        identical = identical and all(other == losses[0] for other in losses[1:])
        if deadline is not None:
            epochs += 1
        else:
            warmup += 1
            if warmup == WARMUP_EPOCHS:
                deadline = time.perf_counter() + seconds
    sps = {name: steps[name] / elapsed[name] for name in learners}
    ms = {name: 1e3 * elapsed[name] / epochs for name in learners}
    return sps, ms, epochs, identical


def parse_overrides(pairs):
    overrides = {}
    for pair in pairs:
        key, separator, value = pair.partition('=')
        if not separator or '.' not in key:
            raise SystemExit(f'override {pair!r}: expected section.key=value, e.g. policy.activation=gelu')
        overrides[key] = value
    return overrides


def run_both(env_name, sides, seconds):
    """sides: {name: (overrides, cpp_wrapper)}. Sets the threads and denormal mode training uses."""
    scratch_dir = tempfile.mkdtemp(prefix='bench_ab_')
    cores = puffer_config.physical_cores()
    threads, flushing = torch.get_num_threads(), denormals.flushing_denormals()
    torch.set_num_threads(cores)
    denormals.set_flush_denormals(True)
    learners = {}
    try:
        for name, (overrides, cpp_wrapper) in sides.items():
            learners[name] = make_trainer(env_name, overrides, scratch_dir, cpp_wrapper)
        return alternate(learners, seconds)
    finally:
        for learner in learners.values():
            learner.vecenv.close()
        denormals.set_flush_denormals(flushing)
        torch.set_num_threads(threads)
        shutil.rmtree(scratch_dir, ignore_errors=True)


def report(env_name, sps, ms, epochs, identical):
    print(f'{env_name}, {torch.get_num_threads()} torch threads, {epochs} timed epochs each, losses '
          f'{"identical in every epoch" if identical else "different"}')
    for name in sps:
        print(f'{name:40} {sps[name]:>10,.0f} SPS  {ms[name]:6.1f} ms per epoch')
    first, second = sps
    print(f'{second} / {first}: {sps[second] / sps[first]:.3f}x')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('env', help='an env name, e.g. puffer_breakout')
    parser.add_argument('--a', nargs='*', default=[], metavar='KEY=VALUE', help='overrides of side A')
    parser.add_argument('--b', nargs='*', default=[], metavar='KEY=VALUE', help='overrides of side B')
    parser.add_argument('--seconds', type=float, default=60, help='how long to alternate, after warm-up')
    args = parser.parse_args()
    a, b = parse_overrides(args.a), parse_overrides(args.b)
    names = {'A: ' + (' '.join(args.a) or 'config file'): (a, True),
             'B: ' + (' '.join(args.b) or 'config file'): (b, True)}
    report(args.env, *run_both(args.env, names, args.seconds))


if __name__ == '__main__':
    main()
