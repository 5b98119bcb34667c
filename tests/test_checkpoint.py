"""Checkpoints survive a kill at any moment, load weights-only, and model paths resolve as `--load-model-path`
documents; env state written by an older build of the envs restarts them, damaged env state is refused."""
import copy
import glob
import io
import multiprocessing
import os
import random
import signal
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pufferlib import models, runs, trainer
from pufferlib.dashboard import Dashboard
from pufferlib.runs import checkpoint, history, session
from trainer_hooks import small_config


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


# ----------------------------------------------------------------------------------------------------------------
# Env state that no longer fits the envs
# ----------------------------------------------------------------------------------------------------------------

def train(config, **options):
    return session.train(config, SimpleNamespace(**options), dashboard=Dashboard('test', live=False,
                                                                                 file=io.StringIO()))


def connect4_checkpoint(tmp_path):
    """A real run's newest checkpoint (connect4: legal-move masks in its env state), as read back."""
    first = train(small_config(tmp_path, 'puffer_connect4'))
    path = history.newest_checkpoint(first.run_dir)
    state = checkpoint.read_checkpoint(path)
    [env_state] = state['envs']
    assert env_state['env'] == 'puffer_connect4' and 'action_masks' in env_state
    return first.run_dir, path, state, env_state


def header_bytes(env_state):
    """Bytes of the C state before the first env's: magic, version, counts (4 uint32), name, parameters (double)."""
    return 4 * 4 + 32 + 8 * len(env_state['params'])


@pytest.mark.parametrize('change, reason', [
    # As connect4 saved before it had action masks: no mask buffer, fewer bytes of C state per env.
    ('older build', 'has no action_masks'),
    ('format version', 'c_state is of format version 0, these envs write 1'),
    ('observation shape', 'observations is float32[32, 42], these envs have float32[32, 84]'),
])
def test_env_state_that_no_longer_fits_restarts_the_envs_and_keeps_the_rest(tmp_path, monkeypatch, capfd, change,
                                                                            reason):
    run_dir, path, state, env_state = connect4_checkpoint(tmp_path)
    if change == 'older build':
        del env_state['action_masks']
        env_state['c_state'] = env_state['c_state'][:-32 * 8]
    elif change == 'format version':
        env_state['c_state'][4:8] = torch.zeros(4, dtype=torch.uint8)
    else:
        env_state['observations'] = env_state['observations'][:, :42].clone()
    torch.save(state, path)

    loaded = {}

    class Recording(trainer.Trainer):
        def load_state_dict(self, *args, **kwargs):
            super().load_state_dict(*args, **kwargs)
            loaded.update(weights={k: v.clone() for k, v in self.policy.state_dict().items()},
                          optimizer=copy.deepcopy(self.optimizers[0].state_dict()), counters=(self.epoch, self.global_step))
    monkeypatch.setattr(trainer, 'Trainer', Recording)
    capfd.readouterr()
    resumed = train(small_config(tmp_path, 'puffer_connect4'), resume='latest',
                    overrides={'train.total_timesteps': str(32 * 7 * 8)})
    warnings = [line for line in capfd.readouterr().err.splitlines() if line.startswith('Resume:')]
    assert len(warnings) == 1, warnings
    assert path in warnings[0] and reason in warnings[0] and 'restarting the envs' in warnings[0]
    # Policy, optimizer and counters are the checkpoint's; the run goes on from there to its new budget.
    assert all(torch.equal(loaded['weights'][k], v) for k, v in state['model'].items())
    saved_moments = state['optimizers'][0]['state']
    assert saved_moments and all(torch.equal(loaded['optimizer']['state'][k]['exp_avg'], v['exp_avg'])
                                 for k, v in saved_moments.items())
    assert loaded['counters'] == (state['counters']['epoch'], state['counters']['global_step'])
    assert resumed.run_dir == run_dir and resumed.global_step >= 32 * 7 * 8
    assert [row['epoch'] for row in runs.read_metrics(run_dir)] == list(range(1, 9))


def test_env_state_of_the_envs_own_layout_with_bad_values_is_refused(tmp_path):
    """Same layout, values out of range (a damaged or tampered file): nothing of it reaches the C envs."""
    _, path, state, env_state = connect4_checkpoint(tmp_path)
    env_state['c_state'][header_bytes(env_state):] = 0x7f
    torch.save(state, path)
    with pytest.raises(checkpoint.CheckpointError, match='the saved env state is invalid: .*outside'):
        train(small_config(tmp_path, 'puffer_connect4'), resume='latest',
              overrides={'train.total_timesteps': str(32 * 7 * 8)})


def test_env_state_misfit_names_what_differs():
    live = [dict(env='puffer_connect4', num_envs=2, params={'opponent': 0}, tick=3,
                 c_state=np.frombuffer(b'PFFS' + bytes([1, 0, 0, 0]) + bytes(40), np.uint8).copy(),
                 observations=np.zeros((2, 84), np.uint8))]
    same = [dict(live[0], tick=9, c_state=np.full(48, 0x7f, np.uint8))]  # other values, one layout
    assert checkpoint.env_state_misfit(same, live) is None
    for saved, reason in (([], 'holds 0 env states, these envs 1'),
                          ([dict(live[0], params={'opponent': 1})], "params is {'opponent': 1}"),
                          ([dict(live[0], env='puffer_pong')], "env is 'puffer_pong'"),
                          ([{k: v for k, v in live[0].items() if k != 'observations'}], 'has no observations'),
                          ([dict(live[0], extra=np.zeros(1))], 'has extra extra'),
                          ([dict(live[0], observations=np.zeros((2, 84), np.float32))], 'float32[2, 84]'),
                          ([dict(live[0], c_state=live[0]['c_state'][:40])], 'c_state is uint8[40]')):
        assert reason in checkpoint.env_state_misfit(saved, live)
