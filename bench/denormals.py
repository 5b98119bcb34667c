"""puffer_breakout training epochs with denormal floats flushed to zero and with them kept, alternating in one run.

    python -m bench.denormals [--model latest|RUN_DIR|MODEL.pt] [--rounds 30] [--data-dir experiments]

A freshly initialized policy has small pre-activations and makes no denormals, so both ways cost the same. A
trained one (`--model latest`: the newest model of a finished `puffer train puffer_breakout`) has many
pre-activations far from zero, where the exp(-x^2/2) of GELU and of its gradient underflows into denormals (a
model from a run directory is timed with its run's policy settings, so a GELU model with GELU). The
bench prints how the first layer's pre-activations spread, then the seconds per epoch each way and their ratio.
Training flushes them (pufferlib.denormals); the epochs alternate, so a machine whose speed drifts slows both alike.
"""
import argparse
import io
import shutil
import tempfile
import time

import torch

from pufferlib import denormals, models, runs, trainer, vector

from pufferlib.runs import checkpoint

from pufferlib.runs import saved_policy
from pufferlib import config as puffer_config
from pufferlib.dashboard import Dashboard
from pufferlib.runs import session

ENV = 'puffer_breakout'


def make_trainer(model, data_dir, scratch_dir):
    config = puffer_config.load(ENV, overrides={'train': {'device': 'cpu', 'data_dir': data_dir,
                                                          'checkpoint_interval': 10**9}})
    path = runs.resolve_model_path(model, config) if model else None
    # A model from a run directory brings its run's policy settings (e.g. a GELU model of the config before SiLU).
    config, _ = saved_policy.config_for_model(config, path)
    session.seed_everything(config['train']['seed'], config['train']['torch_deterministic'])
    vecenv = vector.make_from_config(config)
    puffer_config.resolve_train_auto(config, vecenv.num_agents)
    torch.set_num_threads(session.training_threads(config, vecenv.num_agents))
    policy = models.make_policy(vecenv.driver_env, config['base']['policy_name'], None, config['policy'],
                                config['rnn'])
    if path:
        saved_policy.load_weights(policy, checkpoint.read_weights(path), path)
        print(f'policy: {path} ({config["policy"].get("activation", "gelu")})')
    else:
        print('policy: freshly initialized (pass --model to time a trained one)')
    scratch = runs.new_run(scratch_dir, ENV)  # the trainer's run folder, deleted at the end
    return trainer.Trainer(config, vecenv, policy, scratch, Dashboard(ENV, live=False, file=io.StringIO()))


def first_layer_spread(learner):
    """Standard deviation of the first layer's pre-activations over the last rollout, and the share beyond 13,
    where exp(-x^2/2) falls below float32's smallest normal number."""
    policy = learner.policy
    with torch.no_grad():
        flat = policy.encoder[0](learner.observations.reshape(-1, *learner.observations.shape[2:]))
        pre = policy.encoder[1](flat)
    return pre.std().item(), (pre.abs() > 13.2).float().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', default=None, help='latest, a run folder or a .pt file (default: a fresh policy)')
    parser.add_argument('--rounds', type=int, default=30, help='epochs each way')
    parser.add_argument('--data-dir', default='experiments', help='where --model latest looks (train.data_dir)')
    args = parser.parse_args()

    scratch_dir = tempfile.mkdtemp(prefix='bench_denormals_')
    learner = make_trainer(args.model, args.data_dir, scratch_dir)
    learner.reset_envs(0)
    try:
        for _ in range(3):  # compile and warm up
            learner.collect()
            learner.learn()
        std, beyond = first_layer_spread(learner)
        print(f'first-layer pre-activations: standard deviation {std:.2f}, {100 * beyond:.0f}% beyond |x| = 13.2')
        seconds = {False: 0.0, True: 0.0}
        for _ in range(args.rounds):
            for flush in (False, True):
                denormals.set_flush_denormals(flush)
                start = time.perf_counter()
                learner.collect()
                learner.learn()
                seconds[flush] += time.perf_counter() - start
    finally:
        denormals.set_flush_denormals(False)
        learner.vecenv.close()
        shutil.rmtree(scratch_dir, ignore_errors=True)
    kept, flushed = (1e3 * seconds[flag] / args.rounds for flag in (False, True))
    print(f'denormals kept:    {kept:6.1f} ms per epoch')
    print(f'denormals flushed: {flushed:6.1f} ms per epoch ({kept / flushed:.2f}x)')


if __name__ == '__main__':
    main()
