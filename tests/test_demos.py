"""Recorded demonstrations (pufferlib/demos.py, docs/rewards.md): `puffer eval --save-demos` writes them, the reader
round-trips them without pickle and checks their spaces against the env, every problem in one line."""
import io
import json
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
from gymnasium import spaces

from pufferlib import config as puffer_config
from pufferlib import demos, evaluate
from pufferlib.exceptions import APIUsageError


def record(path, env_name='puffer_squared', episodes=4, **overrides):
    config = puffer_config.load(env_name, overrides=overrides or None)
    options = SimpleNamespace(save_demos=str(path), episodes=episodes, render_mode='none')
    return config, evaluate.evaluate(config, options, output=io.StringIO())


def test_eval_records_observations_actions_rewards_and_episode_ends(tmp_path):
    path = tmp_path / 'squared.npz'
    config, result = record(path, episodes=4)
    recorded = demos.load(str(path))
    header = recorded.header
    assert header['format'] == 'pufferlib-demos' and header['version'] == demos.VERSION
    assert header['env_name'] == 'puffer_squared' and header['source'] == 'random'
    assert header['observation_space']['shape'] == [98] and header['action_space'] == dict(
        type='Discrete', shape=[], dtype='int64', n=5)
    assert len(recorded) == header['steps'] == result.steps
    assert recorded.observations.dtype == np.uint8 and recorded.actions.dtype == np.int32
    assert recorded.dones.sum() == header['episodes'] == 4 and recorded.dones[-1]
    assert len(recorded.episode_returns()) == 4
    returns = [episode['episode_return'] for episode in result.episodes]
    assert np.allclose(recorded.episode_returns(), returns)
    # The first observation is the reset one the agent acted on, and the actions are valid for the space.
    assert recorded.observations[0].any() and set(np.unique(recorded.actions)) <= set(range(5))
    with np.load(path, allow_pickle=False) as data:  # plain arrays: nothing needs pickle
        assert json.loads(bytes(data['header']))['steps'] == len(recorded)


def test_the_reader_checks_spaces_against_the_env(tmp_path):
    path = tmp_path / 'squared.npz'
    record(path, episodes=1)
    env_observations = spaces.Box(0, 255, (98,), np.uint8)
    assert len(demos.load(str(path), env_observations, spaces.Discrete(5))) > 0
    with pytest.raises(demos.DemoError) as error:
        demos.load(str(path), spaces.Box(0, 1, (3,), np.float32), spaces.Discrete(5), key='bc.demo_path')
    message = str(error.value)
    assert '\n' not in message and message.startswith(f'bc.demo_path = {path}')
    assert 'Box(shape (98,), uint8)' in message and 'Box(shape (3,), float32)' in message
    with pytest.raises(demos.DemoError, match=r'action space Discrete\(shape \(\), int64, n 5\).*n 4'):
        demos.load(str(path), env_observations, spaces.Discrete(4))


def test_bad_files_are_one_line_errors(tmp_path):
    with pytest.raises(demos.DemoError, match='no such file'):
        demos.load(str(tmp_path / 'missing.npz'))
    (tmp_path / 'text.npz').write_text('not a zip')
    with pytest.raises(demos.DemoError, match='cannot read it as a demonstrations file'):
        demos.load(str(tmp_path / 'text.npz'))
    np.savez(tmp_path / 'other.npz', x=np.zeros(3))
    with pytest.raises(demos.DemoError, match='no header'):
        demos.load(str(tmp_path / 'other.npz'))
    arrays = {name: np.zeros(2) for name in demos.ARRAYS}
    header = dict(format='pufferlib-demos', version=demos.VERSION + 1)
    demos.write(str(tmp_path / 'future.npz'), header, arrays)
    with pytest.raises(demos.DemoError, match='newer than this pufferlib reads'):
        demos.load(str(tmp_path / 'future.npz'))
    header['version'] = demos.VERSION
    demos.write(str(tmp_path / 'short.npz'), header, {**arrays, 'rewards': np.zeros(1)})
    with pytest.raises(demos.DemoError, match='disagree on the number of steps'):
        demos.load(str(tmp_path / 'short.npz'))
    with zipfile.ZipFile(tmp_path / 'pickled.npz', 'w') as archive:  # an object array needs pickle: refused
        buffer = io.BytesIO()
        np.save(buffer, np.array([{'a': 1}], dtype=object), allow_pickle=True)
        archive.writestr('header.npy', buffer.getvalue())
    with pytest.raises(demos.DemoError, match='cannot read it'):
        demos.load(str(tmp_path / 'pickled.npz'))


def test_save_demos_needs_an_npz_name(tmp_path):
    config = puffer_config.load('puffer_squared')
    with pytest.raises(APIUsageError, match='--save-demos .* must name an .npz file'):
        evaluate.evaluate(config, SimpleNamespace(save_demos=str(tmp_path / 'demos.pkl'), render_mode='none'),
                          output=io.StringIO())


def test_rows_that_are_still_playing_end_their_sequence(tmp_path):
    recorder = demos.Recorder(2)
    for step in range(3):
        recorder.add(np.full((2, 3), step, np.float32), np.array([0, 1]), np.ones(2), [False, step == 1],
                     [False, False])
    path = str(tmp_path / 'rows.npz')
    header = recorder.save(path, 'toy', spaces.Box(0, 9, (3,), np.float32), spaces.Discrete(2), 'random')
    recorded = demos.load(path)
    assert header['complete_episodes'] == 1 and header['episodes'] == 3
    # Row 0's three steps, then row 1's: each row's last step ends a sequence.
    assert recorded.dones.tolist() == [False, False, True, False, True, True]
    assert recorded.terminals.tolist() == [False, False, False, False, True, False]
