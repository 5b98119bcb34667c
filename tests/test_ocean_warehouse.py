"""Multi-robot warehouse (RWARE rules) on hand-built situations, through the binding's test hooks
(env.vector.set_robot, set_requests, get_state), plus determinism, bounds, any action, rendering and snapshots.

The default layout is RWARE's "tiny" one: 10 x 11 cells, shelves in columns 1, 2, 7, 8 of rows 1-8 (shelf index
(y - 1) * 4 + [0, 1, 2, 3] for x = 1, 2, 7, 8), corridors elsewhere, goals at (4, 10) and (5, 10).
"""
import numpy as np
import pytest

import pufferlib.envs.ocean as ocean

UP, LEFT, DOWN, RIGHT = range(4)
NOOP, FORWARD, TURN_LEFT, TURN_RIGHT, TOGGLE = range(5)
ROBOTS = 4


def make(**params):
    env = ocean.make('puffer_warehouse', num_envs=1, seed=0, log_interval=1, **params)
    env.reset(0)
    return env


def place(env, robots):
    """Put robots {index: (x, y, direction)}; the others wait in the top corridor (row 0, from x = 9 leftwards)."""
    taken = {r[:2] for r in env.vector.get_state(0)['robots']}
    staging = next(y for y in (0, 9, 10) if not taken & {(x, y) for x in range(6, 10)})
    for i in range(ROBOTS):                          # first into a free row, so no two robots ever share a cell
        env.vector.set_robot(0, i, 9 - i, staging, UP)
    parked = {i: (9 - i, 0, UP) for i in range(ROBOTS) if i not in robots}
    for i, (x, y, d) in {**parked, **robots}.items():
        env.vector.set_robot(0, i, x, y, d)


def step(env, actions):
    """actions {robot: action}, the others noop; returns rewards, truncations, infos."""
    row = np.array([actions.get(i, NOOP) for i in range(ROBOTS)], np.int32)
    _, rewards, terminals, truncations, infos = env.step(row)
    assert not terminals.any()
    return rewards.copy(), truncations.copy(), infos


def robots(env):
    return [r[:3] for r in env.vector.get_state(0)['robots']]


def test_layout_matches_rwares_sizes():
    state = make().vector.get_state(0)
    assert (state['width'], state['height']) == (10, 11) and len(state['shelves']) == 32
    assert state['goals'] == [(4, 10), (5, 10)]
    for rows, columns, size in [(2, 3, (10, 20)), (2, 5, (16, 20)), (3, 5, (16, 29))]:   # small, medium, large
        state = make(shelf_rows=rows, shelf_columns=columns).vector.get_state(0)
        assert (state['width'], state['height']) == size


def test_fetch_deliver_and_return_a_requested_shelf():
    env = make()
    place(env, {0: (1, 8, DOWN)})
    env.vector.set_requests(0, [28, 0, 1, 2])        # shelf 28 stands at (1, 8)
    step(env, {0: TOGGLE})
    assert env.vector.get_state(0)['robots'][0][3] == 28
    for action in [FORWARD, TURN_LEFT, FORWARD, FORWARD, FORWARD, TURN_RIGHT]:
        rewards, *_ = step(env, {0: action})
        assert rewards.sum() == 0
    assert robots(env)[0] == (4, 9, DOWN)
    rewards, *_ = step(env, {0: FORWARD})            # onto the goal with a requested shelf
    state = env.vector.get_state(0)
    assert list(rewards) == [1, 0, 0, 0] and state['deliveries'] == 1
    assert 28 not in state['requests'] and len(set(state['requests'])) == 4 and state['requests'][1:] == [0, 1, 2]
    rewards, *_ = step(env, {0: TOGGLE})             # no unloading on a corridor, and no second reward
    assert rewards.sum() == 0 and env.vector.get_state(0)['robots'][0][3] == 28
    for action in [TURN_LEFT, TURN_LEFT, FORWARD, TURN_LEFT, FORWARD, FORWARD, FORWARD, TURN_RIGHT, FORWARD]:
        step(env, {0: action})
    assert robots(env)[0] == (1, 8, UP)
    step(env, {0: TOGGLE})                           # back on a free shelf cell: unloads
    state = env.vector.get_state(0)
    assert state['robots'][0][3] == -1 and state['shelves'][28] == (1, 8)


def test_loaded_robots_cannot_pass_under_standing_shelves_but_empty_ones_can():
    env = make()
    place(env, {0: (0, 5, RIGHT), 1: (0, 6, RIGHT)})
    env.vector.set_robot(0, 0, 1, 8, DOWN, 28)       # robot 0 takes shelf 28 ...
    env.vector.set_robot(0, 0, 0, 5, RIGHT)          # ... out to the corridor
    step(env, {0: FORWARD, 1: FORWARD})
    assert robots(env)[0] == (0, 5, RIGHT), '(1, 5) holds a shelf'
    assert robots(env)[1] == (1, 6, RIGHT), 'an empty robot drives under it'


def test_two_robots_wanting_one_cell_the_longer_queue_wins():
    env = make()
    place(env, {0: (3, 9, RIGHT), 1: (5, 9, LEFT)})
    step(env, {0: FORWARD, 1: FORWARD})
    assert robots(env)[:2] == [(4, 9, RIGHT), (5, 9, LEFT)], 'a tie goes to the lower index'

    place(env, {0: (3, 9, RIGHT), 1: (5, 9, LEFT), 2: (6, 9, LEFT)})
    step(env, {0: FORWARD, 1: FORWARD, 2: FORWARD})
    assert robots(env)[:3] == [(3, 9, RIGHT), (4, 9, LEFT), (5, 9, LEFT)], 'robot 1 also unblocks robot 2'


def test_swaps_and_robots_behind_a_stationary_one_stay_while_trains_and_loops_move():
    env = make()
    place(env, {0: (3, 9, RIGHT), 1: (4, 9, LEFT)})
    step(env, {0: FORWARD, 1: FORWARD})
    assert robots(env)[:2] == [(3, 9, RIGHT), (4, 9, LEFT)], 'no swapping through each other'

    place(env, {0: (3, 9, RIGHT), 1: (4, 9, RIGHT), 2: (5, 9, RIGHT)})
    step(env, {0: FORWARD, 1: FORWARD, 2: FORWARD})
    assert robots(env)[:3] == [(4, 9, RIGHT), (5, 9, RIGHT), (6, 9, RIGHT)], 'a train moves as one'

    place(env, {0: (3, 9, RIGHT), 1: (4, 9, RIGHT)})
    step(env, {0: FORWARD, 1: TURN_LEFT})
    assert robots(env)[:2] == [(3, 9, RIGHT), (4, 9, UP)], 'the cell ahead stays taken'

    place(env, {0: (3, 0, RIGHT), 1: (4, 0, DOWN), 2: (4, 1, LEFT), 3: (3, 1, UP)})
    step(env, {i: FORWARD for i in range(4)})
    assert robots(env) == [(4, 0, RIGHT), (4, 1, DOWN), (3, 1, LEFT), (3, 0, UP)], 'a loop of four turns'


def test_global_reward_pays_every_robot_and_episodes_are_truncated():
    env = make(global_reward=1, max_steps=3)
    place(env, {0: (4, 9, DOWN)})
    env.vector.set_robot(0, 0, 1, 8, DOWN, 28)
    env.vector.set_robot(0, 0, 4, 9, DOWN)
    env.vector.set_requests(0, [28, 0, 1, 2])
    rewards, truncations, _ = step(env, {0: FORWARD})
    assert list(rewards) == [1, 1, 1, 1] and not truncations.any()
    step(env, {})
    rewards, truncations, infos = step(env, {})
    assert truncations.all()
    assert infos[0]['score'] == 1 and infos[0]['episode_return'] == 1 and infos[0]['episode_length'] == 3
    assert infos[0]['deliveries'] == 0.25, 'one of the four robots delivered'
    assert env.vector.get_state(0)['steps'] == 0, 'a new episode began'


def test_optional_pickup_shaping_pays_once_per_request():
    env = make(reward_pickup=0.25)
    place(env, {0: (1, 8, DOWN)})
    env.vector.set_requests(0, [28, 0, 1, 2])
    rewards, *_ = step(env, {0: TOGGLE})
    assert list(rewards) == [0.25, 0, 0, 0]
    step(env, {0: TOGGLE})                           # set it down on its shelf cell and lift it again: no more
    rewards, *_ = step(env, {0: TOGGLE})
    assert rewards.sum() == 0 and env.vector.get_state(0)['robots'][0][3] == 28
    env.vector.set_robot(0, 1, 2, 8, UP)             # an unrequested shelf pays nothing
    rewards, *_ = step(env, {1: TOGGLE})
    assert rewards.sum() == 0 and env.vector.get_state(0)['robots'][1][3] == 29


def test_observation_layout():
    env = make()
    place(env, {0: (0, 1, LEFT), 1: (0, 2, UP)})
    env.vector.set_requests(0, [0, 4, 8, 12])        # shelves at (1, 1), (1, 2), (1, 3), (1, 4)
    obs = env.observations[0]
    assert list(obs[:10]) == [0, pytest.approx(1 / 10), 0, 1, 0, 0, 0, 0, 1, 0]
    cells = obs[10:].reshape(3, 3, 6)                # rows y 0-2, columns x -1..1
    assert list(cells[1, 0]) == [1, 0, 0, 0, 0, 0], 'outside the warehouse'
    assert list(cells[1, 2]) == [0, 0, 0, 0, 1, 1], 'a requested shelf to the right'
    assert list(cells[2, 1]) == [0, 0, 1, 0, 0, 0], 'robot 1 below'
    assert cells[0, 2, 4] == 0, '(1, 0) is a corridor'


def test_same_seed_same_episode_bounds_and_any_action():
    traces = []
    for _ in range(2):
        env = ocean.make('puffer_warehouse', num_envs=8, seed=5, sensor_range=2)
        env.reset(5)
        rng = np.random.default_rng(0)
        trace = []
        for t in range(1200):
            actions = rng.integers(-3, 9, env.num_agents).astype(np.int32)
            obs, rewards, *_ = env.step(actions)
            assert obs.min() >= 0 and obs.max() <= 1
            trace.append((obs.copy(), rewards.copy()))
        traces.append(trace)
    assert all((a[0] == b[0]).all() and (a[1] == b[1]).all() for a, b in zip(*traces))


def test_render_changes_and_snapshots_continue_or_are_refused():
    env = make()
    first = env.render().copy()
    rng = np.random.default_rng(0)
    for _ in range(10):
        env.step(rng.integers(0, 5, ROBOTS).astype(np.int32))
    assert (env.render() != first).any()
    saved = env.vector.snapshot()
    actions = [rng.integers(0, 5, ROBOTS).astype(np.int32) for _ in range(100)]
    after = [env.step(a)[0].copy() for a in actions]
    env.vector.restore(saved)
    assert all((a == env.step(b)[0]).all() for a, b in zip(after, actions))

    place(env, {0: (0, 0, UP), 1: (0, 1, UP)})
    good = env.vector.snapshot()
    cells = np.array([0, 10], np.int32).tobytes()    # robot_cell[0..1] = (0, 0), (0, 1)
    index = good.find(cells)
    bad = bytearray(good)
    bad[index + 4:index + 8] = np.int32(0).tobytes()
    with pytest.raises(ValueError, match='share cell'):
        env.vector.restore(bytes(bad))
