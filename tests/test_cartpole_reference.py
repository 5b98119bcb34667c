"""Ocean CartPole against Gymnasium's CartPole-v1, step by step from identical states (docs/architecture.md §3.2,
STYLE habit 5)."""
import math

import gymnasium
import numpy as np
import pytest

import pufferlib.envs.ocean as ocean

X_THRESHOLD, THETA_THRESHOLD = 2.4, 12 * 2 * math.pi / 360


def puffer_cartpole(name='puffer_cartpole'):
    env = ocean.make(name, num_envs=1, log_interval=1)
    env.reset(0)
    return env


def test_one_step_from_many_states_matches_gymnasium():
    """Single steps from random states, including ones past the thresholds and with large angles."""
    reference = gymnasium.make('CartPole-v1').unwrapped
    reference.reset(seed=0)
    env = puffer_cartpole()
    rng = np.random.default_rng(0)
    scales = np.array([2.6, 3.0, 0.25, 3.0])
    for trial in range(2000):
        state = rng.uniform(-1, 1, 4) * scales * (4 if trial % 10 == 0 else 1)  # 1 in 10 far outside (libm path)
        action = int(rng.integers(0, 2))
        reference.state = state.copy()
        reference.steps_beyond_terminated = None
        ref_obs, ref_reward, ref_terminated, _, _ = reference.step(action)
        env.vector.set_state(0, *state)
        _, rewards, terminals, truncations, _ = env.step(np.array([action], np.int32))
        assert rewards[0] == ref_reward == 1.0
        assert bool(terminals[0]) == ref_terminated and not truncations[0]
        if not ref_terminated:  # on termination our env has already reset to a new episode
            np.testing.assert_allclose(env.vector.get_state(0)[:4], reference.state, rtol=0, atol=1e-12)
            np.testing.assert_allclose(env.observations[0], ref_obs, rtol=0, atol=1e-5)


def test_episodes_match_gymnasium_including_termination_and_truncation_at_500():
    """Whole episodes with a noisy balancing controller: some fall (termination), some reach 500 (truncation).

    Both envs get the same action, so a difference of one rounding step would grow like the unstable pole (x1.08 per
    step) whatever the controller does; after each compared step our state is set to Gymnasium's exact double state
    (keeping our step counter), so every one of the steps is checked from identical states.
    """
    reference = gymnasium.make('CartPole-v1')  # with its TimeLimit(500)
    env = puffer_cartpole()
    rng = np.random.default_rng(1)
    outcomes = {'terminated': 0, 'truncated': 0}
    for episode in range(30):
        obs, _ = reference.reset(seed=episode)
        env.vector.set_state(0, *reference.unwrapped.state)
        np.testing.assert_array_equal(env.observations[0], obs)
        noise = 0.02 if episode % 2 == 0 else 0.4  # even episodes balance to the limit, odd ones fall
        for step in range(1, 501):
            x, x_dot, theta, theta_dot = obs
            action = int(theta + 0.5 * theta_dot + 0.01 * x + 0.1 * x_dot > 0)
            if rng.random() < noise:
                action = 1 - action
            obs, reward, terminated, truncated, _ = reference.step(action)
            _, rewards, terminals, truncations, infos = env.step(np.array([action], np.int32))
            assert (rewards[0], bool(terminals[0]), bool(truncations[0])) == (reward, terminated, truncated), step
            if terminated or truncated:
                assert infos[0]['episode_length'] == step and infos[0]['truncated'] == float(truncated)
                outcomes['truncated' if truncated else 'terminated'] += 1
                break
            np.testing.assert_allclose(env.observations[0], obs, rtol=0, atol=1e-5)
            np.testing.assert_allclose(env.vector.get_state(0)[:4], reference.unwrapped.state, rtol=0, atol=1e-12)
            env.vector.set_state(0, *reference.unwrapped.state, env.vector.get_state(0)[4])
        assert (terminated or truncated) and (step == 500) == truncated
    assert outcomes['terminated'] >= 5 and outcomes['truncated'] >= 5, outcomes


def test_reset_state_is_uniform_in_gymnasium_range():
    env = ocean.make('puffer_cartpole', num_envs=4096)
    obs, _ = env.reset(0)
    assert np.abs(obs).max() <= 0.05 and np.abs(obs).max() > 0.049
    assert abs(obs.mean()) < 0.002


@pytest.mark.parametrize('max_steps', [1, 37])
def test_step_limit_is_a_truncation_not_a_termination(max_steps):
    env = ocean.make('puffer_cartpole', num_envs=1, max_steps=max_steps)
    env.reset(0)
    for step in range(1, max_steps + 1):
        env.vector.set_state(0, 0.0, 0.0, 0.0, 0.0, env.vector.get_state(0)[4])
        _, _, terminals, truncations, _ = env.step(np.array([step % 2], np.int32))
        assert not terminals[0] and bool(truncations[0]) == (step == max_steps)


def test_continuous_force_of_one_equals_the_discrete_push():
    discrete, continuous = puffer_cartpole(), puffer_cartpole('puffer_cartpole_continuous')
    rng = np.random.default_rng(2)
    for _ in range(300):
        push = int(rng.integers(0, 2))
        a = discrete.step(np.array([push], np.int32))
        b = continuous.step(np.array([[2.0 * push - 1.0]], np.float32))
        for left, right in zip(a[:4], b[:4]):
            np.testing.assert_array_equal(left, right)
    half = puffer_cartpole('puffer_cartpole_continuous')
    half.vector.set_state(0, 0.0, 0.0, 0.0, 0.0)
    half.step(np.array([[0.5]], np.float32))
    temp = 5.0 / 1.1  # half of force_mag over the total mass, from rest: x_acc = temp * (1 + m l / (l (4/3 - m/M)) / M)
    x_acc = temp * (1 + 0.05 / (0.5 * (4 / 3 - 0.1 / 1.1)) / 1.1)
    assert half.vector.get_state(0)[1] == pytest.approx(0.02 * x_acc, rel=1e-12)
