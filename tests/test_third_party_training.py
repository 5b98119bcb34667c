"""Generic third-party envs train end to end: any Gymnasium id through `puffer train gymnasium`, any PettingZoo
parallel env through the pettingzoo package, each for a tiny budget."""
import json
import os
import subprocess
import sys

import pytest

import pufferlib
from pufferlib import config as puffer_config
from pufferlib import trainer

pytest.importorskip('torch')
# One torch thread: the env workers already take the cores, and spinning OpenMP threads would fight them.
SUBPROCESS_ENV = {**os.environ, 'PUFFER_CONFIG_PATH': '', 'OMP_NUM_THREADS': '1',
                  'PYTHONPATH': os.path.dirname(os.path.dirname(pufferlib.__file__))}


def read_metrics(run_dir):
    with open(os.path.join(run_dir, 'metrics.jsonl')) as file:
        return [json.loads(line) for line in file if line.strip()]


def test_puffer_train_gymnasium_acrobot_from_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, '-m', 'pufferlib.cli', 'train', 'gymnasium', '--env.name', 'Acrobot-v1',
         '--env.max-episode-steps', '40', '--vec.num-envs', '4', '--vec.num-workers', '2',
         '--train.total-timesteps', '1024', '--train.bptt-horizon', '32', '--train.minibatch-size', '128',
         '--train.device', 'cpu', '--train.data-dir', str(tmp_path), '--train.checkpoint-interval', '1000'],
        capture_output=True, text=True, timeout=300, cwd='/', env=SUBPROCESS_ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    [run_dir] = list((tmp_path / 'gymnasium-Acrobot-v1').iterdir())
    rows = read_metrics(run_dir)
    assert rows[-1]['global_step'] >= 1024
    # Acrobot pays -1 per step until it swings up; episodes cut at 40 steps return between -40 and 0.
    returns = [value for row in rows for key, value in row.items() if key.endswith('episode_return')]
    assert returns and all(-40 <= value <= 0 for value in returns)
    assert (run_dir / 'model.pt').exists()


def test_pettingzoo_knights_archers_zombies_trains(tmp_path):
    pytest.importorskip('pygame')
    config = puffer_config.load('pettingzoo', overrides={
        'env.max_cycles': 30, 'vec.num_envs': 2, 'train.total_timesteps': 512, 'train.bptt_horizon': 16,
        'train.minibatch_size': 64, 'train.device': 'cpu', 'train.data_dir': str(tmp_path),
        'train.checkpoint_interval': 1000})
    result = trainer.train(config)
    assert result.global_step >= 512
    assert config['train']['batch_size'] == 8 * 16  # 2 envs x 4 agents (2 archers, 2 knights) x bptt_horizon
    assert 'episode_length' in result.stats and 0 < result.stats['episode_length'] <= 30
    assert os.path.exists(result.model_path)
