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

from pufferlib import models


from pufferlib.runs import checkpoint
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
    with pytest.raises(checkpoint.UnsafeCheckpointError, match='unpickling it would call print'):
        checkpoint.read(path)


@pytest.mark.parametrize('content, message', [
    (b'', 'cannot read'),
    (b'PK\x03\x04 torn zip', 'cannot read'),
    (None, 'no such model or checkpoint file'),
])
def test_every_unreadable_file_is_a_checkpoint_error(tmp_path, content, message):
    """One reading path: a missing, empty or torn file is a CheckpointError naming it, never a raw traceback."""
    path = tmp_path / 'model.pt'
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(checkpoint.CheckpointError, match=message) as error:
        checkpoint.read(str(path))
    assert str(path) in str(error.value)


def test_training_checkpoints_are_checked_before_use(tmp_path):
    path = str(tmp_path / 'checkpoint.pt')
    weights = make_policy().state_dict()
    torch.save(weights, path)
    with pytest.raises(checkpoint.CheckpointError, match='looks like a model file: use --train.init-path'):
        checkpoint.read_checkpoint(path)
    good = dict(model=weights, optimizers=[], counters=dict(epoch=1, global_step=10, uptime=1.0),
                rng=dict(torch=torch.get_rng_state()))
    torch.save(good, path)
    assert checkpoint.read_checkpoint(path)['counters']['global_step'] == 10
    for broken, problem in ((dict(good, counters=dict(epoch=1, global_step=-5, uptime=0.0)), 'negative'),
                            (dict(good, counters=dict(epoch=True, global_step=1, uptime=0.0)), 'counters.epoch'),
                            (dict(good, rng={'torch': torch.zeros(3)}), 'rng.torch'),
                            ({k: v for k, v in good.items() if k != 'optimizers'}, '"optimizers" is missing')):
        torch.save(broken, path)
        with pytest.raises(checkpoint.CheckpointError, match=problem):
            checkpoint.read_checkpoint(path)


def make_policy():
    from types import SimpleNamespace
    from gymnasium import spaces
    env = SimpleNamespace(single_observation_space=spaces.Box(0, 1, (3,), np.float32),
                          single_action_space=spaces.Discrete(2))
    return models.Policy(env, hidden_size=8)
