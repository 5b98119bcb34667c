"""Rules of puffer_maze (ocean/maze/): generated mazes are walled, solvable and need their keys; moves, keys, doors,
the goal and the observation crop, checked on hand-drawn mazes loaded with the binding's `set_maze` hook.

The generic checks (spaces, determinism, bounds, out-of-range actions, snapshots) run over every registered env in
tests/test_ocean.py and tests/test_ocean_state.py.
"""
import collections

import numpy as np
import pytest

import pufferlib.envs.ocean as ocean

UP, DOWN, LEFT, RIGHT = range(4)
MOVES = {UP: (0, -1), DOWN: (0, 1), LEFT: (-1, 0), RIGHT: (1, 0)}
PLANES = '#GabcABC'   # observation planes in order: wall, goal, keys a-c, doors A-C


def make(num_envs=1, seed=0, **params):
    env = ocean.make('puffer_maze', num_envs=num_envs, seed=seed, log_interval=1, **params)
    env.reset(seed)
    return env


def step(env, action):
    obs, rewards, terminals, truncations, infos = env.step(np.array([action], np.int32))
    return obs.copy(), float(rewards[0]), bool(terminals[0]), bool(truncations[0]), (infos[0] if infos else {})


def grid_of(env, index=0):
    """The maze as a list of strings (render_text without its status line)."""
    return env.vector.render_text(index).splitlines()[:-1]


def solve(grid, held=0):
    """Shortest action sequence from '@' to 'G' (keys picked up by walking on them, a door passable once its key is
    held), by breadth-first search over (cell, keys held, doors opened); None if there is none."""
    cells = {(x, y): c for y, row in enumerate(grid) for x, c in enumerate(row)}
    start = next(p for p, c in cells.items() if c == '@')
    first = (start, held, 0)
    parents = {first: None}
    queue = collections.deque([first])
    while queue:
        state = queue.popleft()
        (x, y), keys, opened = state
        for action, (dx, dy) in MOVES.items():
            p = (x + dx, y + dy)
            c = cells[p]
            k, o = keys, opened
            if c == '#':
                continue
            if c in 'abc' and not (keys >> 'abc'.index(c)) & 1 and not (opened >> 'abc'.index(c)) & 1:
                k = keys | 1 << 'abc'.index(c)
            if c in 'ABC':
                colour = 'ABC'.index(c)
                if not (opened >> colour) & 1:
                    if not (keys >> colour) & 1:
                        continue
                    o = opened | 1 << colour
            if c == 'G':
                actions = [action]
                while parents[state] is not None:
                    state, a = parents[state]
                    actions.append(a)
                return actions[::-1]
            nxt = (p, k, o)
            if nxt not in parents:
                parents[nxt] = (state, action)
                queue.append(nxt)
    return None


@pytest.mark.parametrize('params', [dict(), dict(size=8, keys=3), dict(size=6, keys=2, loops=0.3), dict(size=2)])
def test_generated_mazes_are_walled_and_need_every_key_to_solve(params):
    env = make(num_envs=64, seed=3, **params)
    size, keys = params.get('size', 5), params.get('keys', 1)
    for i in range(64):
        grid = grid_of(env, i)
        side = 2 * size + 1
        assert len(grid) == side and all(len(row) == side for row in grid)
        assert grid[0] == '#' * side and grid[-1] == '#' * side and all(r[0] == r[-1] == '#' for r in grid)
        text = ''.join(grid)
        assert text.count('@') == 1 and text.count('G') == 1
        doors = sum(text.count(d) for d in 'ABC')
        held = env.observations[i, -3:]
        free = [''.join('.' if c in 'abcABC' else c for c in row) for row in grid]
        if doors < keys and not params.get('loops'):   # fewer doors only when the path has fewer passages
            assert len(solve(free)) // 2 == doors
        for colour in range(3):   # each door's key is on the map or in hand, never both; no key without its door
            door, key = 'ABC'[colour] in text, 'abc'[colour] in text
            assert text.count('ABC'[colour]) <= 1
            assert key != bool(held[colour]) if door else not key and not held[colour]
        assert solve(grid, held=int(held @ [1, 2, 4])) is not None, '\n'.join(grid)
        if doors and not held.any():   # without its keys the goal is out of reach: the doors are on the only way
            locked = [row.replace('a', '.').replace('b', '.').replace('c', '.') for row in grid]
            assert solve(locked, held=0) is None


def test_a_perfect_maze_has_one_passage_per_room_but_one_and_loops_add_more():
    side = 2 * 6 + 1
    for loops, check in [(0.0, lambda n: n == 2 * 36 - 1), (0.5, lambda n: n > 2 * 36 - 1 + 5)]:
        env = make(num_envs=8, seed=1, size=6, keys=0, loops=loops)
        for i in range(8):
            grid = grid_of(env, i)
            assert check(sum(c != '#' for row in grid for c in row)), (loops, grid)
            assert len(grid) == side


def test_following_the_shortest_solution_reaches_the_goal_in_optimal_length_steps():
    env = make(seed=5, size=6, keys=2, step_cost=0.01, reward_goal=2.0, reward_key=0.5)
    for episode in range(5):
        grid = grid_of(env)
        plan = solve(grid, held=int(env.observations[0, -3:] @ [1, 2, 4]))
        total = 0.0
        for n, action in enumerate(plan):
            _, reward, terminal, truncation, infos = step(env, action)
            total += reward
            assert terminal == (n == len(plan) - 1) and not truncation
        assert infos['score'] == 1.0 and infos['episode_length'] == len(plan)
        assert infos['optimal_length'] == len(plan)
        keys = infos['keys_collected']
        assert total == pytest.approx(2.0 + 0.5 * keys - 0.01 * len(plan), abs=1e-4)
        assert infos['episode_return'] == pytest.approx(total, abs=1e-4)
        assert grid_of(env) != grid, 'every episode draws a new maze'


HAND = ['#######',
        '#@.a#G#',
        '#.###A#',
        '#.....#',
        '#######',
        '#######',
        '#######']


def test_walls_block_keys_are_picked_up_and_open_their_door_once():
    env = make(size=3, vision=1, keys=1, reward_key=0.25, step_cost=0.125)
    env.vector.set_maze(0, HAND)
    obs, reward, *_ = step(env, UP)             # wall: no move
    assert reward == -0.125 and grid_of(env)[1] == '#@.a#G#'
    step(env, RIGHT)
    obs, reward, *_ = step(env, RIGHT)          # onto the key
    assert reward == pytest.approx(0.25 - 0.125)
    assert grid_of(env)[1] == '#..@#G#' and list(obs[0, -3:]) == [1, 0, 0]
    env.vector.set_maze(0, ['#######', '#....G#', '#.###A#', '#....@#'] + ['#######'] * 3)
    obs, reward, terminal, *_ = step(env, UP)   # a locked door blocks
    assert grid_of(env)[3] == '#....@#' and not terminal
    env.vector.set_maze(0, ['#######', '#....G#', '#.###A#', '#....@#'] + ['#######'] * 3, 1)
    step(env, UP)                               # the key opens it and the agent walks in
    assert grid_of(env)[2] == '#.###@#'
    step(env, DOWN)
    assert grid_of(env)[2] == '#.###.#', 'an opened door stays open'
    step(env, UP)
    obs, reward, terminal, truncation, infos = step(env, UP)
    assert terminal and not truncation and reward == pytest.approx(1.0 - 0.125)
    assert infos['score'] == 1.0 and infos['doors_opened'] == 1.0


def test_a_key_of_another_colour_does_not_open_a_door():
    env = make(size=3, vision=1, keys=2)
    env.vector.set_maze(0, ['#######', '#....G#', '#.###B#', '#....@#'] + ['#######'] * 3, 1)   # holds key a
    step(env, UP)
    assert grid_of(env)[3] == '#....@#'


def test_the_observation_is_the_crop_around_the_agent_one_plane_per_object():
    env = make(size=3, vision=2, keys=2)
    env.vector.set_maze(0, ['#######',
                            '#.b..G#',
                            '#.#.#A#',
                            '#..@..#',
                            '#.###.#',
                            '#.....#',
                            '#######'], 0b10)
    obs = env.observations[0]
    side, area = 5, 25
    planes = obs[:len(PLANES) * area].reshape(len(PLANES), side, side)
    grid = grid_of(env)
    for p, code in enumerate(PLANES):
        for row in range(side):
            for col in range(side):
                y, x = 3 + row - 2, 3 + col - 2
                inside = 0 <= x < 7 and 0 <= y < 7
                expected = grid[y][x] == code if inside else code == '#'
                assert planes[p, row, col] == expected, (code, row, col)
    assert list(obs[-3:]) == [0, 1, 0]
    assert obs.size == 8 * 25 + 3


def test_an_episode_is_truncated_after_max_steps():
    env = make(size=3, vision=1, max_steps=4)
    env.vector.set_maze(0, HAND)
    for n in range(4):
        _, _, terminal, truncation, infos = step(env, UP)
        assert not terminal and truncation == (n == 3)
    assert infos['score'] == 0.0 and infos['episode_length'] == 4


def test_mazes_depend_on_the_seed_only():
    a, b, c = make(num_envs=4, seed=7), make(num_envs=4, seed=7), make(num_envs=4, seed=8)
    assert [grid_of(a, i) for i in range(4)] == [grid_of(b, i) for i in range(4)]
    assert [grid_of(a, i) for i in range(4)] != [grid_of(c, i) for i in range(4)]
    actions = np.random.default_rng(0).integers(-3, 8, (300, 4)).astype(np.int32)   # out-of-range ones too
    for row in actions:
        a.step(row)
        b.step(row)
    assert np.array_equal(a.observations, b.observations)
    assert [grid_of(a, i) for i in range(4)] == [grid_of(b, i) for i in range(4)]


def test_set_maze_rejects_a_broken_maze():
    env = make(size=3)
    with pytest.raises(ValueError, match='set_maze'):
        env.vector.set_maze(0, ['#######', '#@....#'] + ['#######'] * 4)          # too few rows
    with pytest.raises(ValueError, match='set_maze'):
        env.vector.set_maze(0, ['##.####', '#@....#'] + ['#######'] * 5)          # a hole in the outer wall
    with pytest.raises(ValueError, match='set_maze'):
        env.vector.set_maze(0, ['#######', '#.....#'] + ['#######'] * 5)          # no agent


def test_render_shows_the_agent_moving():
    env = make(size=3, vision=1)
    env.vector.set_maze(0, HAND)
    frame = np.zeros((320, 320, 3), np.uint8)
    env.vector.render(0, frame)
    before = frame.copy()
    step(env, RIGHT)
    env.vector.render(0, frame)
    assert not np.array_equal(before, frame) and frame.any()


def test_a_short_training_run_beats_random_play(tmp_path):
    """Random play solves 15.5% of default mazes within 100 steps; the shipped config reaches about 31% after 1M
    steps (36% at its full 6M)."""
    from test_learning import final_score, train
    _, result = train('puffer_maze', {'train': {'total_timesteps': 1_000_000}}, tmp_path)
    assert final_score(result.run_dir) >= 0.22
