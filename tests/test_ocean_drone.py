"""Physics and rules of puffer_drone (ocean/drone/), on flight states loaded with the binding's `set_state` hook.

Observation layout: [0:3] (target - position) / (2 arena), [3:6] velocity / 10, [6:15] rotation matrix row-major,
[15:18] angular velocity / 20, [18:21] target velocity / 2, [21:24] position / arena.
"""
import math

import numpy as np
import pytest

import pufferlib.envs.ocean as ocean

DT, G, ARM, IXX = 0.02, 9.81, 0.15, 0.01
T_MAX = 1.0 * G / 2
LEVEL = (1.0, 0.0, 0.0, 0.0)
ZERO = (0.0, 0.0, 0.0)


def make(num_envs=1, **params):
    env = ocean.make('puffer_drone', num_envs=num_envs, seed=0, log_interval=1, **params)
    env.reset(0)
    return env


def place(env, pos=ZERO, vel=ZERO, quat=LEVEL, omega=ZERO, target=(3.0, 3.0, 3.0), target_vel=ZERO):
    env.vector.set_state(0, pos, vel, quat, omega, target, target_vel)


def step(env, action):
    obs, rewards, terminals, truncations, infos = env.step(np.array([action], np.float32))
    return obs[0].copy(), float(rewards[0]), bool(terminals[0]), bool(truncations[0]), (infos[0] if infos else {})


def test_zero_actions_hover_in_place():
    env = make(target_speed=0.0)
    place(env, pos=(1.0, -2.0, 0.5))
    for _ in range(200):
        obs, reward, terminal, *_ = step(env, [0, 0, 0, 0])
        assert not terminal and reward == pytest.approx(0.0, abs=1e-6)
    assert obs[21:24] * 5 == pytest.approx([1.0, -2.0, 0.5], abs=1e-4)
    assert obs[3:6] == pytest.approx([0, 0, 0], abs=1e-5)


@pytest.mark.parametrize('action, accel', [(1.0, G), (-1.0, -G), (0.5, 0.5 * G)])
def test_collective_thrust_accelerates_vertically(action, accel):
    """Four rotors at (a + 1) / 2 of T_max = m g / 2 against gravity: a = 1 climbs at g, a = -1 falls freely."""
    env = make()
    place(env)
    obs, *_ = step(env, [action] * 4)
    assert obs[5] * 10 == pytest.approx(accel * DT, rel=1e-4)
    assert obs[23] * 5 == pytest.approx(accel * DT * DT, rel=1e-3)   # semi-implicit Euler: the new velocity moves it
    assert obs[3] == obs[4] == 0.0


def test_rotor_differences_roll_pitch_and_yaw_the_drone_the_right_way():
    env = make()
    place(env)
    obs, *_ = step(env, [0, 1, 0, -1])          # rotor on +y at full, on -y off: roll about +x
    assert obs[15] * 20 == pytest.approx(DT * ARM * T_MAX / IXX, rel=1e-4) and obs[16] == obs[17] == 0
    for _ in range(10):
        obs, *_ = step(env, [0, 0, 0, 0])
    assert obs[4] < 0 and abs(obs[3]) < 1e-6, 'rolling about +x tilts the thrust toward -y'

    place(env)
    step(env, [-1, 0, 1, 0])                    # rotor on -x stronger: pitch about +y, thrust tilts toward +x
    for _ in range(10):
        obs, *_ = step(env, [0, 0, 0, 0])
    assert obs[3] > 0 and abs(obs[4]) < 1e-6

    place(env)
    obs, *_ = step(env, [1, -1, 1, -1])         # same total thrust as hovering, all of it as yaw torque
    assert obs[17] > 0 and obs[15] == obs[16] == 0.0
    assert obs[5] == pytest.approx(0.0, abs=1e-6), 'the total thrust still equals the weight'


def test_the_orientation_stays_a_rotation_under_random_actions():
    env = make(num_envs=64)
    rng = np.random.default_rng(0)
    for _ in range(300):
        env.step(rng.uniform(-1, 1, (64, 4)).astype(np.float32))
        r = env.observations[:, 6:15].reshape(64, 3, 3)
        assert np.allclose(r @ r.transpose(0, 2, 1), np.eye(3), atol=1e-4)


def test_closing_in_is_rewarded_by_the_distance_gained():
    env = make(target_speed=0.0, reward_distance=0.5)
    place(env, vel=(2.0, 0.0, 0.0), target=(3.0, 0.0, 0.0))
    before = np.linalg.norm(env.observations[0, 0:3]) * 10
    obs, reward, *_ = step(env, [0, 0, 0, 0])
    after = np.linalg.norm(obs[0:3]) * 10
    assert reward == pytest.approx(0.5 * (before - after), abs=1e-5) and reward > 0


def test_reaching_a_target_scores_it_and_draws_a_new_one():
    env = make(target_speed=0.0, reward_reach=2.0, reward_distance=0.0, max_steps=3)
    place(env, target=(0.3, 0.0, 0.0))
    obs, reward, terminal, truncation, _ = step(env, [0, 0, 0, 0])
    assert reward == 2.0 and not terminal
    assert np.linalg.norm(obs[0:3]) * 10 > 0.0 and obs[0] != pytest.approx(0.03, abs=1e-3), 'a new target'
    place(env, target=(0.0, 0.0, -0.4))
    step(env, [0, 0, 0, 0])
    _, _, terminal, truncation, info = step(env, [0, 0, 0, 0])
    assert truncation and not terminal and info['score'] == 2.0 and info['crashes'] == 0.0


def test_leaving_the_arena_is_a_crash():
    env = make(reward_crash=-3.0, reward_distance=0.0)
    place(env, pos=(4.99, 0.0, 0.0), vel=(5.0, 0.0, 0.0))
    obs, reward, terminal, truncation, info = step(env, [0, 0, 0, 0])
    assert terminal and not truncation and reward == -3.0
    assert info['crashes'] == 1.0 and info['score'] == 0.0
    assert np.all(np.abs(obs[21:24]) <= 0.5), 'the next episode starts inside half the arena'
    assert np.all(obs[3:6] == 0.0) and np.allclose(obs[6:15], np.eye(3).ravel())


def test_the_target_bounces_off_the_faces_of_its_box():
    env = make(target_speed=1.0)
    box = 0.8 * 5.0
    place(env, target=(box - 0.001, 0.0, 0.0), target_vel=(1.0, 0.0, 0.0))
    obs, *_ = step(env, [0, 0, 0, 0])
    assert obs[18] == -0.5 and obs[0] * 10 < box


def test_any_action_keeps_the_observation_finite_and_in_bounds():
    env = make(num_envs=8)
    bad = np.array([math.nan, math.inf, -math.inf, 1e9, -1e9, 0.5, -7.0, 3.0], np.float32)
    rng = np.random.default_rng(1)
    for _ in range(500):
        env.step(rng.choice(bad, (8, 4)))
        assert np.isfinite(env.observations).all() and np.abs(env.observations).max() <= 1.0
        assert np.isfinite(env.rewards).all()


def test_set_state_rejects_impossible_states():
    env = make()
    with pytest.raises(ValueError, match='set_state'):
        place(env, pos=(6.0, 0.0, 0.0))
    with pytest.raises(ValueError, match='set_state'):
        place(env, quat=(0.0, 0.0, 0.0, 0.0))


def test_render_shows_the_drone_moving():
    env = make()
    place(env)
    frame = np.zeros((160, 320, 3), np.uint8)
    env.vector.render(0, frame)
    before = frame.copy()
    for _ in range(20):
        step(env, [1, 1, 1, 1])
    env.vector.render(0, frame)
    assert not np.array_equal(before, frame)


def test_a_short_training_run_reaches_targets(tmp_path):
    """Random play reaches 0.009 targets per episode and crashes; the shipped config reached 0.6 (seed 1) and 2.6
    (seed 42) targets per episode after 2M steps, 11 at its full 10M."""
    from test_learning import final_score, train
    _, result = train('puffer_drone', {'train': {'total_timesteps': 2_000_000}}, tmp_path)
    assert final_score(result.run_dir) >= 0.3
