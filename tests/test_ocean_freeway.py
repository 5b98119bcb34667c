"""Rules of puffer_freeway (ocean/freeway/), on states loaded with the binding's `set_state` hook.

Geometry (ocean/freeway/freeway.h): lanes 16 px high from y = 26 (top) to 186 (bottom), lane 0 at the bottom; the
chicken is 7 x 8 px in the column x = 44..50, its top edge at y = 190 at the start and crossing at y <= 18; cars are
8 x 8 px, centred in their lane. Observation: [0] progress, [1] knock-back left / 16, [2] time left, [3:13] car
offsets / 80, [13:23] lane speeds / 2.
"""
import numpy as np
import pytest

import pufferlib.envs.ocean as ocean

NOOP, UP, DOWN = range(3)
START, FINISH = 190, 18
FAR = [124.0] * 10   # 80 px from the chicken in every lane
SPEEDS = [0.5, 0.75, 1.0, 1.5, 2.0, -2.0, -1.5, -1.0, -0.75, -0.5]


def make(num_envs=1, **params):
    params = {'frameskip': 1, 'repeat_action_probability': 0.0, **params}
    env = ocean.make('puffer_freeway', num_envs=num_envs, seed=0, log_interval=1, **params)
    env.reset(0)
    return env


def step(env, action):
    obs, rewards, terminals, truncations, infos = env.step(np.full(env.num_agents, action, np.int32))
    return obs[0].copy(), float(rewards[0]), bool(terminals[0]), (infos[0] if infos else {})


def chicken_y(obs):
    return round(START - obs[0] * (START - FINISH))


def test_reaching_the_top_scores_a_point_and_starts_again_at_the_bottom():
    env = make()
    env.vector.set_state(0, FINISH + 1, FAR)
    obs, reward, *_ = step(env, UP)
    assert reward == 1.0 and chicken_y(obs) == START


def test_up_and_down_move_one_pixel_a_frame_and_the_sidewalk_stops_down():
    env = make()
    env.vector.set_state(0, START, FAR)
    assert chicken_y(step(env, DOWN)[0]) == START
    for n in range(1, 4):
        assert chicken_y(step(env, UP)[0]) == START - n
    assert chicken_y(step(env, NOOP)[0]) == START - 3
    assert chicken_y(step(env, DOWN)[0]) == START - 2


def test_a_car_knocks_the_chicken_back_two_lanes_and_it_cannot_move_meanwhile():
    env = make()
    cars = list(FAR)
    cars[2] = 40.0                                      # lane 2 (rows 142-149) moves right 1 px a frame
    env.vector.set_state(0, 144, cars)                  # chicken rows 144-151: the car's next x 41 touches x 44
    obs, reward, terminal, _ = step(env, NOOP)
    assert obs[1] == 1.0 and reward == 0.0 and not terminal
    for n in range(16):
        obs, *_ = step(env, UP)                          # ignored while knocked back
        assert chicken_y(obs) == 144 + 2 * (n + 1)
    assert obs[1] == 0.0
    assert chicken_y(step(env, UP)[0]) == 144 + 32 - 1


def test_cars_keep_their_lane_speed_and_wrap_around():
    env = make()
    env.vector.set_state(0, START, [44.0 + 79.0] * 10)   # offset 79 px: just under half a screen to the right
    obs, *_ = step(env, NOOP)
    expected = [((79.0 + s + 80) % 160 - 80) / 80 for s in SPEEDS]
    assert obs[3:13] == pytest.approx(expected, abs=1e-6)
    assert obs[13:23] == pytest.approx([s / 2 for s in SPEEDS])


def test_a_game_lasts_game_frames_and_reports_the_crossings():
    env = make(frameskip=4, game_frames=40)
    env.vector.set_state(0, FINISH + 2, FAR)
    total = 0.0
    for n in range(10):
        obs, reward, terminal, info = step(env, UP)
        total += reward
        assert terminal == (n == 9)
    assert total == 1.0 and info['score'] == 1.0 and info['episode_length'] == 10
    assert obs[2] == 1.0 and chicken_y(obs) == START, 'a new game starts'


def test_progress_shaping_pays_each_lane_once_per_crossing():
    env = make(reward_progress=0.25)
    env.vector.set_state(0, START, FAR)
    rewards = [step(env, UP)[1] for _ in range(32)]
    assert rewards[15] == 0.25 and rewards[31] == 0.25 and sum(rewards) == 0.5   # lanes 1 and 2, at 16 and 32 px
    for _ in range(16):
        step(env, DOWN)
    assert sum(step(env, UP)[1] for _ in range(16)) == 0.0, 'lanes already reached this crossing pay nothing'
    env.vector.set_state(0, FINISH + 1, FAR)
    assert step(env, UP)[1] == 1.0, 'the crossing itself pays the usual point'
    env = make(game_frames=8, reward_progress=0.0)
    env.vector.set_state(0, START, FAR)
    assert sum(step(env, UP)[1] for _ in range(8)) == 0.0


def test_sticky_actions_repeat_the_previous_frames_action():
    env = make(repeat_action_probability=1.0)
    env.vector.set_state(0, START, FAR)
    for _ in range(5):
        obs, *_ = step(env, UP)
    assert chicken_y(obs) == START, 'the first action (NOOP) repeats forever'


def test_holding_up_scores_about_what_it_does_on_the_atari_and_random_play_scores_nothing():
    """Atari Freeway: always-up scores in the low twenties and random play about 0 (ALE baselines)."""
    env = make(num_envs=32, frameskip=4, repeat_action_probability=0.25)
    rng = np.random.default_rng(0)
    up = random = None
    for n in range(2040):
        _, _, terminals, _, infos = env.step(np.full(32, UP, np.int32))
        if infos:
            up = infos[0]
    env = make(num_envs=32, frameskip=4, repeat_action_probability=0.25)
    for n in range(2040):
        _, _, terminals, _, infos = env.step(rng.integers(0, 3, 32).astype(np.int32))
        if infos:
            random = infos[0]
    assert up['episode_length'] == 2040 and 20 <= up['score'] <= 28
    assert random['score'] <= 1.0


def test_random_start_off_gives_the_same_traffic_every_game():
    a = make(num_envs=2, random_start=0)
    assert np.array_equal(a.observations[0], a.observations[1])
    b = make(num_envs=2)
    assert not np.array_equal(b.observations[0], b.observations[1])


def test_set_state_rejects_a_chicken_off_the_road():
    env = make()
    with pytest.raises(ValueError, match='set_state'):
        env.vector.set_state(0, START + 1, FAR)
    with pytest.raises(ValueError, match='set_state'):
        env.vector.set_state(0, START, FAR[:9])


def test_render_shows_the_traffic_moving():
    env = make()
    frame = np.zeros((210, 160, 3), np.uint8)
    env.vector.render(0, frame)
    before = frame.copy()
    step(env, UP)
    env.vector.render(0, frame)
    assert not np.array_equal(before, frame)


def test_a_short_training_run_learns_to_cross(tmp_path):
    """Random play never crosses; the shipped config crosses about 24 times a game after 1M steps (256 envs x
    2,040-step games: the second round of games ends at 1.04M steps)."""
    from test_learning import train
    _, result = train('puffer_freeway', {'train': {'total_timesteps': 1_200_000}}, tmp_path)
    assert last_games_score(result.run_dir) >= 15.0


def last_games_score(run_dir):
    """Score of the last metrics row that reports one: all envs start together and games last a fixed 2,040 steps,
    so games end in bursts and the last 15% of rows may hold none."""
    from pufferlib import runs
    return [row['env/score'] for row in runs.read_metrics(run_dir) if 'env/score' in row][-1]
