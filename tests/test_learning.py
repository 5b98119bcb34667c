"""The honest learning tests: each Ocean sanity env is solved to its success threshold within a fixed step budget and
seed, with the settings of its config file (a few budgets raised here, noted below). Scores are success rates.

The runs are deterministic (fixed seeds; the trainer fixes the torch thread count per machine), so a failure here
is a change in learning, not noise.
"""
import io
from types import SimpleNamespace

import pytest

from pufferlib import config as puffer_config
from pufferlib import runs, trainer
from pufferlib.dashboard import Dashboard

# env: (overrides of its config file, success threshold on the mean score at the end of training). Budgets are
# pinned here so that retuning a config file cannot quietly change what these tests demand.
SANITY = {
    # More agents per batch: broader exploration of the 24 targets in the same number of steps.
    'puffer_squared': ({'env': {'num_envs': 256}, 'train': {'minibatch_size': 1024, 'total_timesteps': 400_000}},
                       0.95),
    'puffer_bandit': ({'train': {'total_timesteps': 50_000}}, 0.95),
    # The LSTM run is cheaper per step with larger batches; it is solved after ~110k steps.
    'puffer_memory': ({'env': {'num_envs': 256}, 'train': {'minibatch_size': 2048, 'total_timesteps': 150_000}},
                      0.95),
    'puffer_password': ({'train': {'total_timesteps': 200_000}}, 0.95),
    'puffer_stochastic': ({'train': {'total_timesteps': 150_000}}, 0.85),
    'puffer_multiagent': ({'train': {'total_timesteps': 50_000}}, 0.95),
    'puffer_spaces': ({'train': {'total_timesteps': 150_000}}, 0.9),
    'puffer_continuous': ({'train': {'total_timesteps': 200_000}}, 0.95),
}


def train(env_name, overrides, tmp_path, recurrent=True):
    overrides = {section: dict(values) for section, values in overrides.items()}
    overrides.setdefault('train', {}).update(device='cpu', data_dir=str(tmp_path), seed=1)
    config = puffer_config.load(env_name, overrides=overrides)
    if not recurrent:
        config['base']['rnn_name'], config['rnn'] = None, {}
    result = trainer.train(config, SimpleNamespace(), dashboard=Dashboard(env_name, live=False, file=io.StringIO()))
    return config, result


def final_score(run_dir, key='env/score', fraction=0.15):
    """Mean score over the rows of the last `fraction` of training that report one."""
    rows = runs.read_metrics(run_dir)
    tail = [row[key] for row in rows[int(len(rows) * (1 - fraction)):] if key in row]
    assert tail, 'no episode finished near the end of training'
    return sum(tail) / len(tail)


@pytest.mark.parametrize('env_name', SANITY)
def test_sanity_env_is_solved(env_name, tmp_path):
    overrides, threshold = SANITY[env_name]
    config, result = train(env_name, overrides, tmp_path)
    score = final_score(result.run_dir)
    assert score >= threshold, f'{env_name}: score {score:.3f} < {threshold} after {result.global_step:,} steps'


def test_memory_needs_the_lstm(tmp_path):
    """The same budget without the LSTM stays near chance: the test above measures memory, not luck."""
    overrides = {'env': {'num_envs': 256}, 'train': {'minibatch_size': 2048, 'total_timesteps': 60_000}}
    _, result = train('puffer_memory', overrides, tmp_path, recurrent=False)
    assert final_score(result.run_dir, fraction=0.5) < 0.7


def test_cartpole_is_solved(tmp_path):
    """The config file's own run (3M steps, about 12 s): the mean return reaches 475 (over five consecutive log
    rows) and the last 30% of training holds at least 400."""
    _, result = train('puffer_cartpole', {}, tmp_path)
    returns = [row['env/episode_return'] for row in runs.read_metrics(result.run_dir) if 'env/episode_return' in row]
    best = max(sum(returns[i:i + 5]) / 5 for i in range(len(returns) - 4))
    assert best >= 475, f'the mean return peaked at {best:.1f}'
    assert final_score(result.run_dir, 'env/episode_return', fraction=0.3) >= 400
