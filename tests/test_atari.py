"""Atari through ale-py: observations match a reference built directly on ale_py.ALEInterface, games run through
the vector backends with the right shapes and scores, and `puffer train atari` runs from the command line."""
import json
import os
import subprocess
import sys
from collections import deque

import numpy as np
import pytest

ale_py = pytest.importorskip('ale_py')

import pufferlib  # noqa: E402
from pufferlib import config as puffer_config  # noqa: E402
from pufferlib import trainer, vector  # noqa: E402
from pufferlib.envs import atari  # noqa: E402
from pufferlib.exceptions import ConfigError, EnvironmentSetupError  # noqa: E402


# ---- an independent reference: ALE stepped by hand, resized by averaging on a common fine grid ----

def area_resize_reference(frame, height, width):
    """Area average by upsampling both axes to lcm(H, h) x lcm(W, w) cells and taking block means."""
    source_h, source_w = frame.shape
    lcm_h, lcm_w = np.lcm(source_h, height), np.lcm(source_w, width)
    fine = np.repeat(np.repeat(frame.astype(np.float64), lcm_h // source_h, 0), lcm_w // source_w, 1)
    means = fine.reshape(height, lcm_h // height, width, lcm_w // width).mean(axis=(1, 3))
    return np.floor(means + 0.5).astype(np.uint8)


class ReferenceGame:
    """One game with frame skip, max-pool of the last two frames, grayscale, resize and frame stack, no no-ops."""

    def __init__(self, game, ale_seed, sticky, frameskip=4, stack=4, size=(84, 84)):
        self.ale = ale_py.ALEInterface()
        self.ale.setLoggerMode(ale_py.LoggerMode.Error)
        self.ale.setInt('random_seed', ale_seed)
        self.ale.setFloat('repeat_action_probability', sticky)
        self.ale.loadROM(ale_py.roms.get_rom_path(game))
        self.actions = self.ale.getMinimalActionSet()
        self.frameskip, self.size = frameskip, size
        self.stack = deque(maxlen=stack)
        self.start()

    def start(self):
        self.ale.reset_game()
        first = area_resize_reference(self.ale.getScreenGrayscale(), *self.size)
        self.stack.extend([first] * self.stack.maxlen)
        self.score = 0

    def step(self, action):
        """(observation, raw reward, game over, score of the game that just ended or None)."""
        reward, screens = 0, []
        for _ in range(self.frameskip):
            reward += self.ale.act(self.actions[action])
            screens.append(self.ale.getScreenGrayscale())
            if self.ale.game_over():
                break
        self.score += reward
        if self.ale.game_over():
            final = self.score
            self.start()
            return np.stack(self.stack), reward, True, final
        pooled = np.maximum(*screens[-2:]) if len(screens) > 1 else screens[0]
        self.stack.append(area_resize_reference(pooled, *self.size))
        return np.stack(self.stack), reward, False, None


@pytest.mark.parametrize('game, steps', [('breakout', 400), ('pong', 150)])
def test_observations_rewards_and_scores_match_ale_reference(game, steps):
    seed, sticky = 7, 0.25
    env = atari.AtariEnv(game, seed=seed, num_envs=2, noop_max=0, repeat_action_probability=sticky)
    references = [ReferenceGame(game, atari.game_seed(seed, i), sticky) for i in range(2)]
    observations, _ = env.reset(seed)
    for i, reference in enumerate(references):
        np.testing.assert_array_equal(observations[i], np.stack(reference.stack))
    rng = np.random.default_rng(0)
    finished = 0
    for step in range(steps):
        actions = rng.integers(0, env.single_action_space.n, 2).astype(np.int32)
        observations, rewards, terminals, truncations, infos = env.step(actions)
        scores = []
        for i, reference in enumerate(references):
            expected, raw_reward, over, score = reference.step(actions[i])
            np.testing.assert_array_equal(observations[i], expected, err_msg=f'game {i} step {step}')
            assert rewards[i] == np.sign(raw_reward)  # clipped for learning
            assert terminals[i] == over and not truncations[i]
            if over:
                scores.append(score)
        assert sorted(info['score'] for info in infos) == sorted(scores)  # the true, unclipped score
        finished += len(scores)
    if game == 'breakout':
        assert finished >= 1  # random Breakout ends within 400 steps: the auto-reset path is covered too
    env.close()


def test_matches_gymnasium_atari_preprocessing():
    """Gymnasium's wrappers resize with OpenCV, whose float weights round exact halves to even: a few pixels may
    differ by one gray level. Everything else, including when the game ends, must agree."""
    pytest.importorskip('cv2')
    import gymnasium
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation
    gymnasium.register_envs(ale_py)
    reference = FrameStackObservation(AtariPreprocessing(
        gymnasium.make('ALE/Breakout-v5', frameskip=1, repeat_action_probability=0.0), noop_max=0), 4)
    expected, _ = reference.reset(seed=0)
    env = atari.AtariEnv('breakout', num_envs=1, noop_max=0, repeat_action_probability=0.0, reward_clipping=False)
    observations, _ = env.reset(0)
    rng = np.random.default_rng(0)
    differing = []
    for step in range(400):
        action = int(rng.integers(0, 4))
        expected, reward, terminated, truncated, _ = reference.step(action)
        observations, rewards, terminals, _, infos = env.step(np.array([action], np.int32))
        assert rewards[0] == reward and terminals[0] == terminated and not truncated
        if terminated:
            break
        difference = np.abs(expected.astype(int) - observations[0])
        assert difference.max() <= 1
        differing.append((difference > 0).mean())
    assert terminated, 'random Breakout should end within 400 steps'
    assert np.mean(differing) < 1e-3
    reference.close()
    env.close()


def test_area_resize_matches_reference_for_odd_sizes_and_rgb():
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (2, 210, 160, 3), dtype=np.uint8)
    for height, width in ((84, 84), (64, 48), (105, 160), (53, 96), (210, 160)):
        resize = atari.AreaResize((210, 160), (height, width), batch=2, channels=3)
        result = resize(frames)
        for i in range(2):
            for c in range(3):
                np.testing.assert_array_equal(result[i, :, :, c],
                                              area_resize_reference(frames[i, :, :, c], height, width))


def test_seeds_repeat_and_differ():
    env = atari.AtariEnv('breakout', seed=0, num_envs=2)
    actions = np.random.default_rng(0).integers(0, 4, (60, 2)).astype(np.int32)

    def play(seed):
        trace = [env.reset(seed)[0].copy()]
        trace += [env.step(a)[0].copy() for a in actions]
        return np.stack(trace)

    first, again, other = play(3), play(3), play(4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first[:, 0], first[:, 1])  # the two games of one object differ (own seeds, no-ops)
    env.close()


def test_episodic_life_signals_each_life_but_reports_whole_games():
    env = atari.AtariEnv('breakout', seed=1, num_envs=1, episodic_life=True, reward_clipping=False)
    env.reset()
    rng = np.random.default_rng(0)
    life_terminals, games = 0, []
    for _ in range(3000):
        _, _, terminals, _, infos = env.step(rng.integers(0, 4, 1).astype(np.int32))
        life_terminals += int(terminals[0])
        games += infos
        if games:
            break
    assert len(games) == 1 and games[0]['lives_lost'] == 5
    assert life_terminals == 5  # four lost lives inside the game, then the game over itself
    assert games[0]['episode_return'] == games[0]['score']  # unclipped rewards: the return is the score
    env.close()


def test_truncation_after_max_episode_frames():
    env = atari.AtariEnv('pong', seed=0, num_envs=1, noop_max=0, max_episode_frames=400)
    env.reset()
    for step in range(1, 101):
        _, _, terminals, truncations, infos = env.step(np.zeros(1, np.int32))
        if truncations[0]:
            break
    assert step == 100 and not terminals[0]  # 400 frames at frameskip 4
    assert infos[0]['episode_length'] == 100
    env.close()


def test_rgb_observations_and_render():
    env = atari.AtariEnv('pong', seed=0, num_envs=1, grayscale=False, frame_stack=2, height=42, width=32)
    observations, _ = env.reset()
    assert observations.shape == (1, 6, 42, 32) and env.single_observation_space.shape == (6, 42, 32)
    frame = env.render()
    assert frame.shape == (210, 160, 3) and frame.dtype == np.uint8
    # The newest stacked frame is the real screen (reset: no max-pool partner), averaged down.
    expected = np.stack([area_resize_reference(frame[:, :, c], 42, 32) for c in range(3)])
    np.testing.assert_array_equal(observations[0, 3:], expected)
    env.close()


def test_out_of_range_actions_are_clipped_not_fatal():
    env = atari.AtariEnv('pong', seed=0, num_envs=2, full_action_space=True)
    assert env.single_action_space.n == 18
    env.reset()
    env.step(np.array([-5, 99], np.int32))
    env.close()


# ---- names, config, vectorization ----

def test_env_names_select_games():
    assert atari.game_of_env_name('atari') is None
    assert atari.game_of_env_name('atari_space_invaders') == 'space_invaders'
    assert atari.resolve_game('SpaceInvaders') == 'space_invaders'
    assert atari.game_of_env_name('my_atari_setup') is None  # a user config's own name: [env] game decides
    with pytest.raises(EnvironmentSetupError, match='did you mean breakout'):
        atari.resolve_game('breakuot')
    with pytest.raises(EnvironmentSetupError, match='did you mean pong'):
        atari.env_parameters('atari_pnog')


def test_config_aliases_and_env_game_flag():
    for name, overrides, game in (('atari', {}, 'breakout'), ('atari_pong', {}, 'pong'),
                                  ('atari', {'env.game': 'pong'}, 'pong'),
                                  ('atari_breakout', {'env.game': 'space_invaders'}, 'space_invaders')):
        config = puffer_config.load(name, overrides=overrides)
        env = atari.env_creator(config['base']['env_name'])(**config['env'])
        assert env.game == game, name
        env.close()
    assert set(puffer_config.load('atari')['env']) == set(atari.PARAMETERS)  # the ini lists every parameter
    with pytest.raises(ConfigError, match='env.frame_skip'):
        puffer_config.load('atari', overrides={'env.frame_skip': 3})


@pytest.mark.parametrize('game, reward_clipping', [('breakout', False), ('pong', True)])
def test_games_through_multiprocessing_match_serial(game, reward_clipping):
    kwargs = dict(game=game, num_envs=2, reward_clipping=reward_clipping, max_episode_frames=600)
    creator = atari.env_creator('atari')
    results = {}
    for backend in ('Serial', 'Multiprocessing'):
        vecenv = vector.make(creator, backend=backend, num_envs=2, num_workers=2 if backend != 'Serial' else 1,
                             seed=5, env_kwargs=kwargs)
        try:
            assert vecenv.num_agents == 4 and vecenv.single_observation_space.shape == (4, 84, 84)
            observations, *_ = vecenv.reset(seed=5)
            trace, returns, scores = [observations.copy()], np.zeros(4), []
            actions = np.random.default_rng(0).integers(0, vecenv.single_action_space.n, (160, 4)).astype(np.int32)
            for step_actions in actions:
                observations, rewards, terminals, truncations, infos, *_ = vecenv.step(step_actions)
                assert observations.shape == (4, 4, 84, 84) and observations.dtype == np.uint8
                returns += rewards
                for row in np.flatnonzero(terminals | truncations):
                    scores.append(returns[row])
                    returns[row] = 0
                scores_from_infos = [info['score'] for info in infos]
                assert sorted(scores_from_infos) == sorted(scores[len(scores) - len(scores_from_infos):])
                trace.append(observations.copy())
            results[backend] = (np.stack(trace), sorted(scores))
        finally:
            vecenv.close()
    np.testing.assert_array_equal(results['Serial'][0], results['Multiprocessing'][0])
    scores = results['Serial'][1]
    assert len(scores) >= 4  # every game ends by 600 frames = 150 steps
    if game == 'pong':
        assert all(-21 <= s <= 0 for s in scores) and min(scores) < 0  # a random player loses points


def test_puffer_train_atari_from_command_line(tmp_path):
    package_root = os.path.dirname(os.path.dirname(pufferlib.__file__))  # installed or a source checkout
    # One torch thread: torch's spinning OpenMP threads would fight the env workers for the cores.
    env = {**os.environ, 'PUFFER_CONFIG_PATH': '', 'PYTHONPATH': package_root, 'OMP_NUM_THREADS': '1'}
    result = subprocess.run(
        [sys.executable, '-m', 'pufferlib.cli', 'train', 'atari', '--vec.num-envs', '2', '--env.num-envs', '2',
         '--env.max-episode-frames', '160', '--train.total-timesteps', '256', '--train.bptt-horizon', '16',
         '--train.minibatch-size', '64', '--train.update-epochs', '1', '--train.device', 'cpu',
         '--train.data-dir', str(tmp_path), '--train.checkpoint-interval', '1000', '--policy.hidden-size', '64'],
        capture_output=True, text=True, timeout=300, cwd='/', env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    [run_dir] = list((tmp_path / 'atari_breakout').iterdir())  # atari plays Breakout by default
    assert (run_dir / 'model.pt').exists()
    with open(run_dir / 'metrics.jsonl') as file:
        rows = [json.loads(line) for line in file if line.strip()]
    assert rows[-1]['global_step'] >= 256
    # Games are cut at 160 frames = 40 steps, so Breakout scores arrive; a few bricks at most.
    scores = [value for row in rows for key, value in row.items() if key.endswith('score')]
    assert scores and all(0 <= value < 50 for value in scores)


@pytest.fixture
def one_torch_thread():
    """Spinning OpenMP threads on a busy 2-core machine make each conv take ~100x longer."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_procgen_resnet_with_lstm_trains_on_atari(tmp_path, one_torch_thread):
    config = puffer_config.load('atari', overrides={
        'base.policy_name': 'ProcgenResnet', 'base.rnn_name': 'LSTMWrapper', 'policy.hidden_size': 64,
        'rnn.input_size': 64, 'rnn.hidden_size': 64, 'vec.backend': 'Serial', 'vec.num_envs': 1,
        'env.num_envs': 2, 'train.total_timesteps': 32, 'train.bptt_horizon': 8, 'train.minibatch_size': 16,
        'train.device': 'cpu', 'train.data_dir': str(tmp_path), 'train.checkpoint_interval': 1000})
    result = trainer.train(config)
    assert result.global_step >= 32 and os.path.exists(result.model_path)
