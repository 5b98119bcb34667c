"""Checkpoints survive a kill at any moment, load weights-only, and model paths resolve as `--load-model-path`
documents."""
import glob
import multiprocessing
import os
import random
import signal
import time

import numpy as np
import pytest
import torch

from pufferlib import checkpoint, models
from pufferlib.exceptions import ConfigError

def write_forever(path, version):
    """Rewrite one checkpoint over and over; each version is a payload filled with its own version number, so a
    torn or mixed file is detectable."""
    while True:
        version += 1
        # numpy builds the payload: a forked child must not enter torch's OpenMP pool, which fork leaves broken.
        payload = torch.from_numpy(np.full(1 << 21, float(version), np.float32))
        checkpoint.save_atomic({'version': version, 'payload': payload}, path)


def test_kill_while_writing_leaves_a_complete_checkpoint(tmp_path):
    path = str(tmp_path / 'checkpoint.pt')
    rng = random.Random(0)
    fork = multiprocessing.get_context('fork')  # torch is already imported: starting a writer is instant
    version, caught_mid_write = 0, 0
    for _ in range(20):
        writer = fork.Process(target=write_forever, args=(path, version), daemon=True)
        writer.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (os.path.exists(path) and
                                                   torch.load(path, weights_only=True)['version'] > version):
            time.sleep(0.005)  # until this writer has saved once (it is busy writing from then on)
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        caught_mid_write += bool(glob.glob(str(tmp_path / '.checkpoint.pt.*.tmp')))
        state = torch.load(path, weights_only=True)
        assert state['version'] > version
        assert torch.equal(state['payload'], torch.full((1 << 21,), float(state['version'])))
        version = state['version']
        if caught_mid_write >= 3:
            break
    assert caught_mid_write >= 1, 'no kill landed during a write; the test did not test anything'
    # The next save clears what the killed writers left behind.
    checkpoint.save_atomic({'version': 0}, path)
    assert glob.glob(str(tmp_path / '.*.tmp')) == []


def test_checkpoint_loading_refuses_pickled_code(tmp_path):
    path = str(tmp_path / 'evil.pt')
    torch.save({'model': {}, 'hook': print}, path)  # a function is not data
    with pytest.raises(Exception, match='[Ww]eights only'):
        checkpoint.load(path)


def make_policy():
    from types import SimpleNamespace
    import numpy as np
    from gymnasium import spaces
    env = SimpleNamespace(single_observation_space=spaces.Box(0, 1, (3,), np.float32),
                          single_action_space=spaces.Discrete(2))
    return models.Policy(env, hidden_size=8)


def test_model_paths(tmp_path):
    env_dir = tmp_path / 'puffer_squared'
    older, newer = env_dir / '20250101_000000', env_dir / '20250102_000000'
    older.mkdir(parents=True)
    newer.mkdir()
    policy = make_policy()
    checkpoint.save_atomic(policy.state_dict(), str(older / 'model.pt'))
    checkpoint.save_atomic({'model': policy.state_dict(), 'counters': {}}, str(newer / 'checkpoint.pt'))
    os.utime(older / 'model.pt', (1, 1))
    assert checkpoint.resolve_model_path('latest', str(env_dir)) == str(newer / 'checkpoint.pt')
    assert checkpoint.resolve_model_path(str(older), str(env_dir)) == str(older / 'model.pt')
    # A checkpoint and a bare model both load into a policy.
    for path in (older / 'model.pt', newer / 'checkpoint.pt'):
        checkpoint.load_policy_weights(make_policy(), str(path))
    with pytest.raises(ConfigError, match='no trained model'):
        checkpoint.resolve_model_path('latest', str(tmp_path / 'puffer_bandit'))
    with pytest.raises(ConfigError, match='no such file'):
        checkpoint.resolve_model_path(str(tmp_path / 'missing.pt'), str(env_dir))


def test_model_of_another_shape_is_a_config_error(tmp_path):
    path = str(tmp_path / 'model.pt')
    checkpoint.save_atomic(make_policy().state_dict(), path)
    from types import SimpleNamespace
    import numpy as np
    from gymnasium import spaces
    other = models.Policy(SimpleNamespace(single_observation_space=spaces.Box(0, 1, (5,), np.float32),
                                          single_action_space=spaces.Discrete(2)), hidden_size=8)
    with pytest.raises(ConfigError, match='does not fit this policy'):
        checkpoint.load_policy_weights(other, path)
