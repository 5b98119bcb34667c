"""`puffer eval`: a real window (headless SDL), MP4 / GIF files read back, text pictures, the statistics table,
a policy trained here by the real trainer, and safe loading of model files."""
import io
import os
import pickle
import shutil
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import pufferlib
from pufferlib import config as puffer_config
from pufferlib import actor, evaluate, models, trainer
from pufferlib.runs import saved_policy
from pufferlib.dashboard import Dashboard
from pufferlib.exceptions import APIUsageError, ConfigError, EnvironmentSetupError

ENV = 'puffer_squared'
SUBPROCESS_ENV = {**os.environ, 'PUFFER_CONFIG_PATH': '', 'OMP_NUM_THREADS': '1',
                  'PYTHONPATH': os.path.dirname(os.path.dirname(pufferlib.__file__))}


def options(**given):
    return SimpleNamespace(**{**evaluate.OPTION_DEFAULTS, 'render_mode': 'none', **given})


def squared_config(data_dir, **overrides):
    return puffer_config.load(ENV, overrides={'train.device': 'cpu', 'train.data_dir': str(data_dir), **overrides})


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A puffer_squared policy trained by the real trainer (its default budget: about 7 s, score ~1)."""
    data_dir = tmp_path_factory.mktemp('runs')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny MLP: extra threads only spin against the other processes on shared cores
    try:
        result = trainer.train(squared_config(data_dir), dashboard=Dashboard(ENV, live=False, file=io.StringIO()))
    finally:
        torch.set_num_threads(threads)
    return SimpleNamespace(data_dir=data_dir, run_dir=result.run_dir, model_path=result.model_path)


def test_trained_policy_reaches_its_score_deterministically(trained):
    config = squared_config(trained.data_dir)
    result = evaluate.evaluate(config, options(load_model_path='latest', episodes=30, deterministic=True),
                               output=io.StringIO())
    assert result.model_path == trained.model_path
    assert len(result.episodes) == 30
    # Walking straight to the target: every episode scores, well within the 21-step limit.
    assert result.summary['score']['mean'] >= 0.95
    assert result.summary['episode_length']['max'] < 21
    random = evaluate.evaluate(config, options(episodes=30), output=io.StringIO())
    assert random.model_path is None and random.summary['score']['mean'] < 0.5
    assert any('random actions' in message for message in random.messages)


def test_statistics_table_plain_text(trained):
    output = io.StringIO()
    result = evaluate.evaluate(squared_config(trained.data_dir), options(load_model_path=trained.run_dir,
                                                                         episodes=5), output=output)
    lines = output.getvalue().splitlines()
    assert lines[0].startswith(f'{ENV}: 5 episodes, {result.steps} steps ({trained.model_path})')
    assert lines[1].split() == ['statistic', 'mean', 'std', 'min', 'max']
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert list(rows) == ['episode_return', 'episode_length', 'score']
    lengths = [episode['episode_length'] for episode in result.episodes]
    assert float(rows['episode_length'][0]) == pytest.approx(np.mean(lengths), rel=1e-3)
    assert float(rows['episode_length'][2]) == min(lengths) and float(rows['episode_length'][3]) == max(lengths)


def test_human_mode_shows_hundreds_of_frames_headless(monkeypatch):
    pytest.importorskip('pygame')
    monkeypatch.setenv('SDL_VIDEODRIVER', 'dummy')
    result = evaluate.evaluate(squared_config('unused'), options(render_mode='human', episodes=15, fps=100_000),
                               output=io.StringIO())
    # Random walks rarely reach the target: most of the 15 episodes run their 21 steps.
    assert result.frames == result.steps + 1 >= 200
    assert not result.stopped_early


@pytest.mark.skipif(sys.platform != 'linux', reason='without DISPLAY, SDL still finds a display on macOS / Windows')
def test_human_mode_without_a_display_says_what_to_use(monkeypatch):
    pytest.importorskip('pygame')
    for name in ('SDL_VIDEODRIVER', 'DISPLAY', 'WAYLAND_DISPLAY'):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(EnvironmentSetupError, match='--render-mode rgb_array --save-video'):
        evaluate.evaluate(squared_config('unused'), options(render_mode='human'), output=io.StringIO())


def read_mp4(path):
    import imageio.v2
    with imageio.v2.get_reader(str(path), format='FFMPEG') as reader:
        return np.stack([frame for frame in reader])  # not list(reader): its len() is inf


def test_mp4_recorded_without_display(trained, tmp_path, monkeypatch):
    pytest.importorskip('imageio_ffmpeg')
    for name in ('SDL_VIDEODRIVER', 'DISPLAY', 'WAYLAND_DISPLAY'):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / 'videos' / 'squared.mp4'
    result = evaluate.evaluate(squared_config(trained.data_dir),
                               options(load_model_path='latest', render_mode='rgb_array', save_video=str(path),
                                       episodes=4), output=io.StringIO())
    frames = read_mp4(path)
    assert len(frames) == result.frames == result.steps + 1
    assert frames.shape[1:] == (128, 128, 3)
    assert frames.std(axis=0).max() > 10  # the agent moves and the target changes: not a still picture


def test_gif_keeps_every_frame_time(tmp_path):
    pytest.importorskip('imageio')
    from PIL import Image
    path = tmp_path / 'squared.gif'
    result = evaluate.evaluate(squared_config('unused'), options(render_mode='rgb_array', save_video=str(path),
                                                                 episodes=2, fps=25), output=io.StringIO())
    with Image.open(path) as gif:
        durations, pictures = [], []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info['duration'])
            pictures.append(np.asarray(gif.convert('RGB')))
    # Pillow merges a frame identical to the one before into it (a random walk bumps into walls), adding its time.
    assert 1 < len(pictures) <= result.frames
    assert sum(durations) == 40 * result.frames
    assert np.stack(pictures).std(axis=0).max() > 10


def test_unchosen_render_mode_records_without_a_window_when_a_video_is_asked_for(tmp_path, monkeypatch):
    pytest.importorskip('imageio_ffmpeg')
    for name in ('SDL_VIDEODRIVER', 'DISPLAY', 'WAYLAND_DISPLAY'):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / 'squared.mp4'
    result = evaluate.evaluate(squared_config('unused'), options(render_mode=None, save_video=str(path), episodes=1),
                               output=io.StringIO())
    assert path.exists() and result.frames == result.steps + 1


def test_ansi_prints_the_text_pictures():
    output = io.StringIO()
    result = evaluate.evaluate(squared_config('unused'), options(render_mode='ansi', episodes=1), output=output)
    text = output.getvalue()
    pictures = text.split(f'{ENV}: 1 episode')[0]
    assert result.frames == result.steps + 1
    assert pictures.count('step ') == result.frames  # squared writes "step t/21" under its grid
    assert 'A' in pictures and 'T' in pictures


def test_option_mistakes_are_reported_together():
    with pytest.raises(APIUsageError) as error:
        evaluate.evaluate(squared_config('unused'), options(render_mode='window', episodes=0))
    assert "--render-mode 'window'" in str(error.value) and '--episodes 0' in str(error.value)
    with pytest.raises(APIUsageError, match="use a file ending in .mp4 or .gif"):
        evaluate.evaluate(squared_config('unused'), options(render_mode='rgb_array', save_video='out.avi'))
    with pytest.raises(APIUsageError, match='--save-video needs frames'):
        evaluate.evaluate(squared_config('unused'), options(render_mode='ansi', save_video='out.mp4'))


# ----------------------------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------------------------

def test_policy_settings_come_from_the_run_config(trained, tmp_path):
    # Flags that differ from training do not matter while the model's run config is at hand ...
    config = squared_config(trained.data_dir, **{'policy.hidden_size': 16})
    result = evaluate.evaluate(config, options(load_model_path=trained.model_path, episodes=3, deterministic=True),
                               output=io.StringIO())
    assert result.run_config_path == os.path.join(trained.run_dir, 'config.ini')
    # ... but a lone model file is built from the config given, and a mismatch names each parameter and shape.
    lone = tmp_path / 'model.pt'
    shutil.copy(trained.model_path, lone)
    with pytest.raises(ConfigError) as error:
        evaluate.evaluate(config, options(load_model_path=str(lone)), output=io.StringIO())
    message = str(error.value)
    assert 'encoder.1.weight has shape [64, 98] in the file but [16, 98] in the policy' in message
    assert 'value_head.weight has shape [1, 64] in the file but [1, 16] in the policy' in message


def test_env_flags_given_to_eval_win_over_the_runs_own(trained):
    """The run's [env] is used unless the command line names a key (e.g. a connect4 model trained with random
    openings, matched from the empty board with --env.random-opening 0)."""
    trained_envs = saved_policy.config_for_model(squared_config(trained.data_dir), trained.model_path)[0]
    config = squared_config(trained.data_dir, **{'env.log_interval': 3})
    assert trained_envs['env']['log_interval'] != 3
    unnamed, _ = saved_policy.config_for_model(config, trained.model_path)
    named, _ = saved_policy.config_for_model(config, trained.model_path, {'env.log_interval': '3'})
    assert unnamed['env'] == trained_envs['env']
    assert named['env'] == {**trained_envs['env'], 'log_interval': 3}


def test_model_of_another_env_is_refused(trained):
    config = puffer_config.load('puffer_bandit', overrides={'train.data_dir': str(trained.data_dir)})
    with pytest.raises(ConfigError, match=f'was trained on {ENV}'):
        evaluate.evaluate(config, options(load_model_path=trained.model_path))


class CreatesFile:
    """Unpickling this calls open(path, 'w'): the file appearing proves the pickle's code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, 'w')


@pytest.mark.parametrize('writer', ['torch.save', 'pickle.dump'])
def test_checkpoint_that_would_run_code_is_refused(tmp_path, writer):
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'model.pt'
    if writer == 'torch.save':
        torch.save({'model': CreatesFile(marker)}, path)
    else:
        with open(path, 'wb') as file:
            pickle.dump(CreatesFile(marker), file)
    with pytest.raises(saved_policy.UnsafeCheckpointError) as error:
        evaluate.evaluate(squared_config(tmp_path), options(load_model_path=str(path)), output=io.StringIO())
    assert f'refusing to load {path}' in str(error.value)
    assert 'unpickling it would call io.open' in str(error.value)
    assert not marker.exists()
    # The file really is malicious: a full unpickler runs it.
    if writer == 'torch.save':
        torch.load(path, weights_only=False)['model'].close()
    else:
        with open(path, 'rb') as file:
            pickle.load(file).close()
    assert marker.exists()


def test_unreadable_file_is_a_clear_error(tmp_path):
    path = tmp_path / 'model.pt'
    path.write_bytes(b'not a model at all')
    with pytest.raises(saved_policy.CheckpointError, match='it is not a pickle, not a model.pt'):
        evaluate.evaluate(squared_config(tmp_path), options(load_model_path=str(path)), output=io.StringIO())
    torch.save([1, 2, 3], path)
    with pytest.raises(saved_policy.CheckpointError, match='holds no policy weights'):
        evaluate.evaluate(squared_config(tmp_path), options(load_model_path=str(path)), output=io.StringIO())


def save_untrained(config, path):
    """A freshly initialized policy of `config`, saved as `puffer train` saves models."""
    env = saved_policy.make_env(config, 0, **saved_policy.single_env_overrides(config))
    policy = models.make_policy(env, config['base']['policy_name'], config['base']['rnn_name'], config['policy'],
                                config['rnn'])
    env.close()
    torch.save(policy.state_dict(), path)
    return str(path)


@pytest.mark.parametrize('env_name, overrides', [
    ('puffer_squared', {'base.rnn_name': 'LSTMWrapper', 'rnn.input_size': 64, 'rnn.hidden_size': 64}),
    ('puffer_squared', {'base.rnn_name': 'GRUWrapper'}),
    ('puffer_squared', {'base.rnn_name': 'MinGRUWrapper', 'rnn.num_layers': 2}),
    ('puffer_continuous', {}),
])
@pytest.mark.parametrize('deterministic', [False, True])
def test_recurrent_and_continuous_policies_play(tmp_path, env_name, overrides, deterministic):
    config = puffer_config.load(env_name, overrides={'train.data_dir': str(tmp_path), **overrides})
    path = save_untrained(config, tmp_path / 'model.pt')
    result = evaluate.evaluate(config, options(load_model_path=path, episodes=2, deterministic=deterministic),
                               output=io.StringIO())
    assert len(result.episodes) == 2 and result.steps >= 2


def test_greedy_actions_pick_the_mode_of_each_dimension():
    head = models.CategoricalHead(4, [3, 2])
    logits = torch.tensor([[0.0, 5.0, 1.0, 2.0, -1.0], [9.0, 0.0, 0.0, -3.0, 3.0]])
    assert actor.greedy_actions(head, logits).tolist() == [[1, 0], [0, 1]]


def test_puffer_eval_command_line(trained):
    command = [sys.executable, '-m', 'pufferlib.cli', 'eval', ENV, '--train.data-dir', str(trained.data_dir),
               '--load-model-path', 'latest', '--render-mode', 'none', '--episodes', '5', '--deterministic']
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd='/', env=SUBPROCESS_ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f'{ENV}: 5 episodes' in result.stdout and 'score' in result.stdout
    assert f'policy {trained.model_path}' in result.stderr


def test_command_line_refuses_a_malicious_file_in_one_line(tmp_path, capsys):
    from pufferlib import cli
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'model.pt'
    torch.save(CreatesFile(marker), path)
    code = cli.main(['eval', ENV, '--load-model-path', str(path), '--render-mode', 'none'])
    error = capsys.readouterr().err
    assert code == 1 and not marker.exists()
    assert error.startswith(f'puffer: error: refusing to load {path}') and 'Traceback' not in error


# ----------------------------------------------------------------------------------------------------------------
# A person at the keyboard (--human, pufferlib/keyboard.py): real pygame key events, posted into its queue
# ----------------------------------------------------------------------------------------------------------------

def play_keys(monkeypatch, config, schedule, **given):
    """Evaluate with --human while `schedule` {frame: [(event type, key name), ...]} is posted into pygame's event
    queue just before the window handles frame `frame` (frame 0: the reset picture)."""
    pygame = pytest.importorskip('pygame')
    from pufferlib import video
    monkeypatch.setenv('SDL_VIDEODRIVER', 'dummy')
    show, frames = video.Window.show, []

    def posting_show(window, frame):
        for kind, name in schedule.get(len(frames), ()):
            pygame.event.post(pygame.event.Event(getattr(pygame, kind), key=pygame.key.key_code(name)))
        frames.append(frame)
        return show(window, frame)

    monkeypatch.setattr(video.Window, 'show', posting_show)
    result = evaluate.evaluate(config, options(render_mode=None, human=True, fps=100_000, **given),
                               output=io.StringIO())
    return result, frames


def test_human_plays_with_arrow_keys_and_the_steps_are_recorded(monkeypatch, tmp_path):
    """Real time (puffer_squared's no-op is 0, stay): the newest key held wins, a tap inside one frame counts,
    no key is the no-op, and the recording holds exactly the actions the keys asked for."""
    from pufferlib import demos
    schedule = {1: [('KEYDOWN', 'right')], 3: [('KEYDOWN', 'up')], 4: [('KEYUP', 'up')], 5: [('KEYUP', 'right')],
                6: [('KEYDOWN', 'a'), ('KEYUP', 'a')], 8: [('KEYDOWN', 's')], 9: [('KEYUP', 's')]}
    path = tmp_path / 'mine.npz'
    result, _ = play_keys(monkeypatch, squared_config('unused'), schedule, save_demos=str(path), episodes=1)
    recorded = demos.load(str(path))
    expected = [0, 4, 4, 1, 4, 0, 3, 0, 2, 0]  # 0 stay, 1 up, 2 down, 3 left, 4 right
    steps = min(len(recorded), len(expected))
    assert recorded.actions[:steps].tolist() == expected[:steps] and steps >= 4
    assert recorded.header['source'] == 'human' and len(recorded) == result.steps
    assert any('you play agent 0: keys (puffer_squared)' in message and 'no key: action 0' in message
               for message in result.messages)
    # The env really moved the agent as asked: right from the reset cell (unless at the right wall).
    cells = 49
    start, after = (int(recorded.observations[i, :cells].argmax()) for i in (1, 2))
    assert after == start + 1 or start % 7 == 6


def test_turn_based_env_waits_for_each_key_press(monkeypatch, tmp_path):
    """puffer_maze has no no-op: the env stands still until a key is pressed, and holding it steps once. q (not a
    maze key) stops early, and the finished steps are still recorded."""
    from pufferlib import demos
    schedule = {3: [('KEYDOWN', 'up')], 8: [('KEYUP', 'up')], 10: [('KEYDOWN', 'left'), ('KEYUP', 'left')],
                13: [('KEYDOWN', 'q')]}
    path = tmp_path / 'maze.npz'
    config = puffer_config.load('puffer_maze', overrides={'train.data_dir': 'unused'})
    result, frames = play_keys(monkeypatch, config, schedule, save_demos=str(path), episodes=5)
    assert result.stopped_early and len(frames) == 14
    assert result.steps == 2 and demos.load(str(path)).actions.tolist() == [0, 2]  # 0 up, 2 left


def test_number_keys_and_own_key_maps(monkeypatch):
    """An env without an entry in KEY_MAPS gets number keys; --keys replaces the map and says what no key does."""
    pygame = pytest.importorskip('pygame')
    from pufferlib import keyboard
    from gymnasium import spaces
    monkeypatch.setenv('SDL_VIDEODRIVER', 'dummy')
    pygame.display.init()
    try:
        digits = keyboard.make_key_map('puffer_bandit', spaces.Discrete(4))
        assert sorted(digits.codes) == [pygame.K_0, pygame.K_1, pygame.K_2, pygame.K_3] and digits.idle == 'wait'
        assert digits.action([pygame.K_2], [pygame.K_2]) == 2 and digits.action([pygame.K_2], []) is None
        own = keyboard.make_key_map('puffer_squared', spaces.Discrete(5), 'j=3, l=4, none=repeat')
        assert own.action([], []) is None  # repeat: nothing to repeat before the first key
        assert own.action([pygame.K_l], [pygame.K_l]) == 4 and own.action([], []) == 4
        vector = keyboard.make_key_map('toy', spaces.MultiDiscrete([3, 2]), 'left=0/1,none=2/0')
        assert vector.action([], []).tolist() == [2, 0] and vector.action([], [pygame.K_LEFT]).tolist() == [0, 1]
        for keys, message in [('left=7', r'left=7: not an action of Discrete\(5\)'),
                              ('lft=1', "'lft' is not a key name"), ('left=1.5', 'not an action'),
                              ('escape=1', 'Esc stops the game'), ('left', 'is not KEY=ACTION'),
                              ('none=0', 'maps no key')]:
            with pytest.raises(APIUsageError, match=message):
                keyboard.make_key_map('puffer_squared', spaces.Discrete(5), keys)
        with pytest.raises(APIUsageError, match='has no key map.*--keys'):
            keyboard.make_key_map('toy', spaces.Box(-1, 1, (2,)))
        from pufferlib import video
        window = video.Window('keys', 1000)
        window.use_keys(keyboard.make_key_map('toy', spaces.Discrete(2), 'q=1').codes)  # q plays: only Esc stops
        frame = np.zeros((8, 8, 3), np.uint8)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q))
        assert window.show(frame) and window.held == window.pressed == [pygame.K_q]
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE))
        assert not window.show(frame)
    finally:
        pygame.display.quit()


def test_human_option_mistakes(tmp_path):
    with pytest.raises(APIUsageError) as error:
        evaluate.evaluate(squared_config('unused'), options(render_mode='none', human=True))
    assert '--human plays in the window: use --render-mode human' in str(error.value)
    with pytest.raises(APIUsageError, match='--keys .* add --human'):
        evaluate.evaluate(squared_config('unused'), options(keys='left=1'))
    command = [sys.executable, '-m', 'pufferlib.cli', 'eval', ENV, '--human', '--render-mode', 'ansi']
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd='/', env=SUBPROCESS_ENV)
    assert result.returncode != 0 and result.stderr.count('\n') == 1 and '--human plays in the window' in result.stderr
