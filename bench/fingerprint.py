"""A fingerprint of puffer_breakout's first epochs: sha256 over every epoch's losses and env stats and the final
weights, trained with the shipped config (seed 42) on the CPU. A change that claims to leave training untouched must
print the same hash before and after (on the same machine: other CPUs round differently).

    python -m bench.fingerprint [--epochs 15] [--env puffer_breakout]
"""
import argparse
import hashlib
import io
import json
import tempfile
from types import SimpleNamespace

import torch

from pufferlib import config as puffer_config
from pufferlib import runs
from pufferlib.dashboard import Dashboard
from pufferlib.runs import session


def fingerprint(env_name, epochs):
    with tempfile.TemporaryDirectory() as folder:
        config = puffer_config.load(env_name, overrides={'train.data_dir': folder, 'train.device': 'cpu'})
        horizon = config['train']['bptt_horizon']
        agents = config['env'].get('num_envs', 1) * config['vec']['num_envs']
        config['train']['total_timesteps'] = epochs * agents * (horizon - 1)
        result = session.train(config, SimpleNamespace(), dashboard=Dashboard(env_name, live=False,
                                                                              file=io.StringIO()))
        digest = hashlib.sha256()
        rows = runs.read_metrics(result.run_dir)
        for row in rows:
            kept = {key: value for key, value in row.items() if key.startswith(('loss/', 'env/'))}
            digest.update(json.dumps(kept, sort_keys=True).encode())
        weights = torch.load(result.model_path, weights_only=True)
        for key in sorted(weights):
            digest.update(weights[key].numpy().tobytes())
        return len(rows), result.global_step, digest.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--env', default='puffer_breakout')
    parser.add_argument('--epochs', type=int, default=15)
    args = parser.parse_args()
    epochs, steps, digest = fingerprint(args.env, args.epochs)
    print(f'{args.env}: {epochs} epochs, {steps:,} steps, sha256 {digest}')


if __name__ == '__main__':
    main()
