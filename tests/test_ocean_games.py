"""Game rules of the Ocean games (breakout, pong, snake, connect4, 2048, tetris), checked on hand-built positions.

The generic checks (determinism, bounds, any action, stats, render) run over every registered env in
tests/test_ocean.py; here each game's own rules are tested through small test hooks of its C binding
(`env.vector.set_ball`, `set_board`, ...) that load a chosen state into env 0.
"""
import math

import numpy as np
import pytest

import pufferlib.envs.ocean as ocean


def make(name, **params):
    env = ocean.make(name, num_envs=1, seed=0, log_interval=1, **params)
    env.reset(0)
    return env


def step(env, *actions):
    """One step with the given actions; returns (observations, rewards, terminals, truncations, infos) copies."""
    obs, rewards, terminals, truncations, infos = env.step(np.array(actions, np.int32))
    return obs.copy(), rewards.copy(), terminals.copy(), truncations.copy(), infos


# ---------------------------------------------------------------------------------------------------------------
# Breakout: field 576x360, bricks 32x12 from y = 48 (rows 0-5, top to bottom), ball 6 px, observation header 9.
BRICKS = slice(9, 9 + 6 * 18)
NOOP, FIRE, LEFT, RIGHT = range(4)


def brick_obs(row, col):
    return 9 + row * 18 + col


def test_breakout_bricks_score_the_points_of_their_row():
    env = make('puffer_breakout')
    env.vector.set_ball(0, 100.0, 122.0, 0.0, -4.0)   # just under the bottom row (y 108-120), column 3, going up
    obs, rewards, terminals, *_ = step(env, NOOP)
    assert rewards[0] == pytest.approx(1 / 7) and not terminals[0]   # reward = points / 7
    assert obs[0, brick_obs(5, 3)] == 0.0 and obs[0, BRICKS].sum() == 6 * 18 - 1
    assert obs[0, 5] > 0, 'the ball bounces back down'

    env = make('puffer_breakout')
    env.vector.set_ball(0, 200.0, 10.0, 0.0, 4.0)     # above the wall (y 48), column 6, coming down
    total = sum(step(env, NOOP)[1][0] for _ in range(3))
    assert total == pytest.approx(1.0)
    assert env.observations[0, brick_obs(0, 6)] == 0.0 and env.observations[0, BRICKS].sum() == 6 * 18 - 1


def test_breakout_the_paddle_returns_the_ball_and_earns_the_paddle_reward():
    env = make('puffer_breakout', paddle_reward=0.25)
    env.vector.set_ball(0, 285.0, 320.0, 0.0, 4.0)    # falling onto the middle of the centred paddle (x 256-320)
    obs, rewards, *_ = step(env, NOOP)
    assert rewards[0] == 0.25
    # The middle of the paddle sends the ball up at 15 degrees (never vertical), keeping its horizontal direction.
    assert obs[0, 5] < 0 and obs[0, 4] == pytest.approx(4.0 * math.sin(math.radians(15)) / 7.5, abs=1e-4)


@pytest.mark.parametrize('offset, degrees', [(-32.0, -45.0), (-16.0, -30.0), (16.0, 30.0), (32.0, 45.0)])
def test_breakout_where_the_ball_meets_the_paddle_sets_its_angle(offset, degrees):
    """From 15 degrees off vertical in the middle to 45 at the edges, to the side of the paddle it hit."""
    env = make('puffer_breakout')
    env.vector.set_ball(0, 288.0 + offset - 3.0, 320.0, 0.0, 4.0)   # ball centre `offset` px from the paddle's
    obs = step(env, NOOP)[0]
    angle = math.degrees(math.atan2(obs[0, 4], -obs[0, 5]))
    assert angle == pytest.approx(degrees, abs=0.5)


def test_breakout_game_ends_when_the_last_ball_is_lost():
    env = make('puffer_breakout', balls=2)
    assert env.observations[0, 7] == 1.0 and env.observations[0, 6] == 0.0   # all balls left, none in play
    for ball in range(2):
        env.vector.set_ball(0, 2.0, 300.0, 0.0, 4.0)  # far left of the centred paddle, falling
        outcomes = [step(env, NOOP) for _ in range(10)]
        ends = [i for i, (_, _, terminals, _, _) in enumerate(outcomes) if terminals[0]]
        if ball == 0:
            assert not ends and env.observations[0, 7] == 0.5
        else:
            assert len(ends) == 1
            infos = outcomes[ends[0]][4]
            assert infos[0]['score'] == 0.0 and infos[0]['episode_length'] == ends[0] + 11
    assert env.observations[0, 7] == 1.0, 'the next game starts with every ball'


def test_breakout_a_ball_tracking_script_clears_both_walls_for_864_points():
    env = make('puffer_breakout', frameskip=2, max_steps=30_000, paddle_reward=0.0)
    obs = env.observations
    for _ in range(30_000):
        paddle, ball, ball_vx, in_play = obs[0, 0] * 576, obs[0, 2] * 576, obs[0, 4], obs[0, 6]
        target = ball + (6 if ball_vx > 0 else -6)   # hit with the paddle's far side to steer the ball
        action = FIRE if not in_play else RIGHT if paddle < target - 8 else LEFT if paddle > target + 8 else NOOP
        _, _, terminals, truncations, infos = env.step(np.array([action], np.int32))
        if terminals[0] or truncations[0]:
            break
    assert terminals[0], 'the game did not end'
    assert infos[0]['score'] == 864.0 and infos[0]['walls_cleared'] == 2.0
    assert infos[0]['episode_return'] == pytest.approx(864 / 7, rel=1e-4)


# ---------------------------------------------------------------------------------------------------------------
# Pong: field 200x150, agent paddle (20 px) on the right at x 192, opponent on the left at x 4, ball 4 px.
STAY, UP, DOWN = range(3)


def test_pong_a_ball_past_the_opponent_scores_for_the_agent():
    env = make('puffer_pong', opponent_speed=0.0)                # the opponent stays centred (y 65-85)
    env.vector.set_ball(0, 20.0, 10.0, -5.0, 0.0)
    rewards = [step(env, STAY)[1][0] for _ in range(3)]
    assert sorted(rewards) == [0.0, 0.0, 1.0]
    assert env.observations[0, 6] == pytest.approx(1 / 21) and env.observations[0, 7] == 0.0


def test_pong_a_ball_past_the_agent_scores_for_the_opponent_and_ends_the_game():
    env = make('puffer_pong', points_to_win=2)
    for point in range(2):
        env.vector.set_ball(0, 170.0, 10.0, 5.0, 0.0)            # high above the centred agent paddle
        outcomes = [step(env, STAY) for _ in range(3)]
        assert sum(o[1][0] for o in outcomes) == -1.0
        if point == 0:
            assert env.observations[0, 7] == 0.5
    assert any(o[2][0] for o in outcomes)
    infos = [o[4] for o in outcomes if o[4]][0]
    assert infos[0]['score'] == -2.0 and infos[0]['wins'] == 0.0


def test_pong_the_agent_paddle_returns_the_ball():
    env = make('puffer_pong')
    env.vector.set_ball(0, 180.0, 73.0, 4.0, 0.0)               # straight at the middle of the agent paddle
    obs, rewards, *_ = step(env, STAY)
    assert rewards[0] == 0.0 and obs[0, 4] < 0, 'the ball now moves left'


def test_pong_a_ball_tracking_script_beats_the_scripted_opponent():
    env = make('puffer_pong', points_to_win=5)
    obs = env.observations
    for _ in range(5000):
        paddle, ball = obs[0, 0] * 150, obs[0, 3] * 150
        action = DOWN if paddle < ball - 3 else UP if paddle > ball + 3 else STAY
        _, _, terminals, _, infos = env.step(np.array([action], np.int32))
        if terminals[0]:
            break
    assert terminals[0] and infos[0]['wins'] == 1.0 and infos[0]['score'] > 0


# ---------------------------------------------------------------------------------------------------------------
# Snake: 8 snakes per arena (40x40), vision 5: an 11x11 crop centred on the head, codes below.
EMPTY, FOOD, WALL, BODY, HEAD = range(5)
S_UP, S_DOWN, S_LEFT, S_RIGHT = range(4)
CENTER = 5


def load_snakes(env, snakes, food=()):
    """Empty the arena, put snakes {index: [(x, y), ...] head first} on it, and food. Snakes not given are parked
    as length-1 snakes in row 30, where moving up keeps them clear of everything for a few steps."""
    env.vector.clear_arena(0)
    for i in range(8):
        env.vector.set_snake(0, i, snakes.get(i, [(2 + 4 * i, 30)]))
    for x, y in food:
        env.vector.set_cell(0, x, y, FOOD)


def snake_step(env, moves):
    actions = [moves.get(i, S_UP) for i in range(8)]
    obs, rewards, terminals, truncations, infos = step(env, *actions)
    return obs.reshape(8, 11, 11), rewards, terminals, truncations, infos


def test_snake_eating_food_grows_the_snake_by_one():
    env = make('puffer_snake', num_food=0, reward_food=0.5)
    load_snakes(env, {0: [(5, 5), (4, 5)]}, food=[(6, 5)])
    view, rewards, terminals, *_ = snake_step(env, {0: S_RIGHT})
    assert rewards[0] == 0.5 and not terminals.any()
    assert list(view[0, CENTER, CENTER - 2:CENTER + 1]) == [BODY, BODY, HEAD]
    assert env.render_text().count('*') == 1, 'the eaten food reappears elsewhere'
    view, rewards, *_ = snake_step(env, {0: S_RIGHT})
    assert rewards[0] == 0.0
    assert list(view[0, CENTER, CENTER - 3:CENTER + 1]) == [EMPTY, BODY, BODY, HEAD], 'length stays 3'


def test_snake_hitting_a_wall_ends_only_that_snakes_episode():
    env = make('puffer_snake', num_food=0, reward_death=-2.0)
    load_snakes(env, {0: [(0, 5)]})
    assert (env.observations.reshape(8, 11, 11)[0, :, :CENTER] == WALL).all()
    view, rewards, terminals, truncations, infos = snake_step(env, {0: S_LEFT})
    assert terminals[0] and rewards[0] == -2.0 and not terminals[1:].any() and not truncations.any()
    assert infos[0]['score'] == 1.0 and infos[0]['episode_length'] == 1.0
    assert view[0, CENTER, CENTER] == HEAD, 'the dead snake respawned and its row shows the new life'


def test_snake_heads_meeting_kill_both_and_a_head_entering_a_body_kills_only_its_snake():
    env = make('puffer_snake', num_food=0)
    load_snakes(env, {0: [(10, 10), (9, 10)], 1: [(12, 10), (13, 10)]})
    _, rewards, terminals, *_ = snake_step(env, {0: S_RIGHT, 1: S_LEFT})
    assert terminals[0] and terminals[1] and not terminals[2:].any()
    assert rewards[0] == rewards[1] == -1.0

    load_snakes(env, {0: [(10, 10), (9, 10), (8, 10)], 1: [(9, 11)]})
    _, _, terminals, *_ = snake_step(env, {0: S_RIGHT, 1: S_UP})
    assert terminals[1] and not terminals[0]


def test_snake_may_follow_a_tail_that_moves_away_and_cannot_reverse():
    env = make('puffer_snake', num_food=0)
    load_snakes(env, {0: [(10, 10), (9, 10), (8, 10)], 1: [(8, 11)]})
    _, _, terminals, *_ = snake_step(env, {0: S_RIGHT, 1: S_UP})
    assert not terminals.any()
    view, _, terminals, *_ = snake_step(env, {0: S_LEFT})          # reversing: keeps going right
    assert not terminals.any()
    assert list(view[0, CENTER, CENTER - 2:CENTER + 2]) == [BODY, BODY, HEAD, EMPTY]


def test_snake_lives_are_truncated_at_max_steps():
    env = make('puffer_snake', num_food=0, max_steps=3)
    load_snakes(env, {})
    for _ in range(2):
        _, _, terminals, truncations, _ = snake_step(env, {})
        assert not truncations.any()
    _, _, terminals, truncations, infos = snake_step(env, {})
    assert truncations.all() and not terminals.any()
    assert infos[0]['episode_length'] == 3.0


# ---------------------------------------------------------------------------------------------------------------
# Connect Four: boards drawn top row first; 'X' agent, 'O' opponent. Observation: agent plane, then opponent plane.

def bitboards(*rows):
    agent = opponent = 0
    for r, line in enumerate(reversed(rows)):
        for c, cell in enumerate(line):
            bit = 1 << (7 * c + r)
            agent |= bit if cell == 'X' else 0
            opponent |= bit if cell == 'O' else 0
    return agent, opponent


def play_connect4(rows, column):
    env = make('puffer_connect4')
    env.vector.set_board(0, *bitboards(*rows))
    obs, rewards, terminals, _, infos = step(env, column)
    return env, obs, rewards[0], terminals[0], infos


@pytest.mark.parametrize('rows, column', [
    (['X......', 'XO.....', 'XO.....'], 0),                                         # vertical
    (['OOO....', 'XXX....'], 3),                                                    # horizontal
    (['..XO...', '.XOO...', 'XOOXO..'], 3),                                         # diagonal /
    (['...OX..', '...OOX.', '..OXOOX'], 3),                                         # diagonal \
], ids=['vertical', 'horizontal', 'diagonal-up', 'diagonal-down'])
def test_connect4_detects_a_win_in_every_direction(rows, column):
    _, _, reward, terminal, infos = play_connect4(rows, column)
    assert reward == 1.0 and terminal and infos[0]['score'] == 1.0


def four_in_a_row(plane):
    board = plane.reshape(6, 7) > 0
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        for r in range(6):
            for c in range(7):
                cells = [(r + k * dr, c + k * dc) for k in range(4)]
                if all(0 <= i < 6 and 0 <= j < 7 and board[i, j] for i, j in cells):
                    return True
    return False


@pytest.mark.parametrize('opponent', [0, 1])
def test_connect4_random_openings_start_games_midway_with_no_four_on_the_board(opponent):
    env = ocean.make('puffer_connect4', num_envs=256, opponent=opponent, random_opening=9)
    env.reset(seed=3)
    rows = env.observations[::1 + opponent]   # row 0's view of each game (agent mode: side 0)
    own, other = rows[:, :42].sum(1), rows[:, 42:].sum(1)
    assert (own + other).max() <= 10 and len(np.unique(own + other)) >= 8   # uniform in [0, 9], +1 in scripted mode
    assert not any(four_in_a_row(row[:42]) or four_in_a_row(row[42:]) for row in rows)
    if opponent:  # side 0 moves next when it has as many stones as side 1 and side 1 opened, or one fewer
        assert (np.abs(own - other) <= 1).all()
        to_move = env.masks[::2].astype(bool)
        assert ((own < other) <= to_move).all() and ((own > other) <= ~to_move).all()
    else:  # the agent always moves next: it has as many stones as the scripted player, or one fewer
        assert ((other - own >= 0) & (other - own <= 1)).all()
    plain = ocean.make('puffer_connect4', num_envs=256, opponent=opponent)
    plain.reset(seed=3)
    assert plain.observations.sum(1).max() <= 1   # no opening by default: an empty board or the scripted first move
    for _ in range(30):   # the games play on to their ends from those positions
        env.step(np.random.default_rng(0).integers(0, 7, env.num_agents).astype(np.int32))
    env.close()
    plain.close()


def test_connect4_opponent_takes_a_winning_move_and_blocks_a_threat():
    _, _, reward, terminal, infos = play_connect4(['......O', '......O', 'X.X...O'], 4)
    assert reward == -1.0 and terminal and infos[0]['score'] == 0.0

    _, obs, reward, terminal, _ = play_connect4(['OO.....', 'XXX....'], 5)
    assert reward == 0.0 and not terminal
    assert obs[0, 42 + 5 * 7 + 3] == 1.0, 'the opponent blocked column 3'


def test_connect4_a_full_column_loses_and_a_full_board_draws():
    _, _, reward, terminal, infos = play_connect4(['X', 'O', 'X', 'O', 'X', 'O'], 0)
    assert reward == -1.0 and terminal and infos[0]['illegal'] == 1.0

    full = ['OOXXOX.', 'XOXOOOX', 'XOXXOOO', 'OXOXXXO', 'OOOXXOX', 'XXXOOOX']
    _, _, reward, terminal, infos = play_connect4(full, 6)
    assert reward == 0.0 and terminal and infos[0]['draws'] == 1.0


def test_connect4_either_side_may_move_first():
    env = ocean.make('puffer_connect4', num_envs=64, seed=0)
    env.reset(0)
    opening_stones = env.observations[:, 42:].sum(axis=1)
    assert set(opening_stones) == {0.0, 1.0}


# ---------------------------------------------------------------------------------------------------------------
# 2048: boards as exponents (1 = tile 2), row-major; observation one-hot with 18 values per cell.
G_UP, G_DOWN, G_LEFT, G_RIGHT = range(4)


def board_of(obs):
    return obs.reshape(16, 18).argmax(axis=1)


def play_2048(board, action):
    env = make('puffer_2048')
    env.vector.set_board(0, list(np.ravel(board)))
    obs, rewards, terminals, _, infos = step(env, action)
    return env, board_of(obs[0]).reshape(4, 4), rewards[0], terminals[0], infos


def without_spawn(before_move_result, after):
    """`after` must equal the expected board plus exactly one new 2 or 4 on a cell the move left empty."""
    expected = np.array(before_move_result)
    new = np.argwhere(after != expected)
    assert len(new) == 1, f'expected one spawned tile, got\n{after}\nvs\n{expected}'
    r, c = new[0]
    assert expected[r, c] == 0 and after[r, c] in (1, 2)


def test_2048_tiles_slide_and_merge_once_per_move():
    board = [[1, 1, 1, 1], [1, 1, 2, 0], [2, 0, 2, 3], [0, 0, 0, 1]]
    env, after, reward, terminal, _ = play_2048(board, G_LEFT)
    without_spawn([[2, 2, 0, 0], [2, 2, 0, 0], [3, 3, 0, 0], [1, 0, 0, 0]], after)
    assert reward == pytest.approx((2 + 2 + 2 + 3) / 11) and not terminal
    assert env.render_text().startswith('score 20\n')   # merged values 4 + 4 + 4 + 8


@pytest.mark.parametrize('action, expected', [
    (G_UP, [[2, 3, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]),
    (G_DOWN, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 3, 0, 0], [2, 1, 0, 0]]),
    (G_RIGHT, [[0, 0, 1, 2], [0, 0, 0, 1], [0, 0, 0, 2], [0, 0, 0, 1]]),
])
def test_2048_every_direction_slides_toward_its_edge(action, expected):
    board = [[1, 2, 0, 0], [1, 0, 0, 0], [0, 2, 0, 0], [0, 1, 0, 0]]
    _, after, _, _, _ = play_2048(board, action)
    without_spawn(expected, after)


def test_2048_a_move_that_changes_nothing_adds_no_tile_and_a_stuck_board_ends_the_game():
    board = [[1, 2, 3, 4], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    _, after, reward, terminal, _ = play_2048(board, G_LEFT)
    np.testing.assert_array_equal(after, board)
    assert reward == 0.0 and not terminal

    stuck = [[1, 2, 1, 2], [2, 1, 2, 1], [1, 2, 1, 2], [2, 1, 2, 3]]
    _, _, _, terminal, infos = play_2048(stuck, G_LEFT)
    assert terminal and infos[0]['max_tile'] == 8.0 and infos[0]['score'] == 0.0


# ---------------------------------------------------------------------------------------------------------------
# Tetris: 10x20 board, rows top first with bit c = column c; pieces I O T S Z J L = 0..6.
T_NOOP, T_LEFT, T_RIGHT, T_ROTATE, T_SOFT_DROP, T_HARD_DROP = range(6)
FULL_BUT_LAST = 0b0111111111


def load_tetris(env, bottom_rows, piece, rotation, x, y=0):
    rows = [0] * (20 - len(bottom_rows)) + list(bottom_rows)
    env.vector.set_state(0, rows, piece, rotation, x, y)


def board_cells(obs):
    return obs[0, :200].reshape(20, 10)


def test_tetris_a_vertical_i_piece_clears_four_rows():
    env = make('puffer_tetris', placement=0, reward_piece=0.0)
    load_tetris(env, [FULL_BUT_LAST] * 4, piece=0, rotation=1, x=7)   # the I's column 2 is board column 9
    obs, rewards, terminals, *_ = step(env, T_HARD_DROP)
    assert rewards[0] == pytest.approx(0.8) and not terminals[0]
    assert (board_cells(obs) == 1.0).sum() == 0, 'every locked cell was in a cleared row'
    assert (board_cells(obs) == 0.5).sum() == 4, 'the next piece is falling'
    assert env.render_text().startswith('lines 4 ')


def test_tetris_rows_above_a_cleared_row_move_down():
    env = make('puffer_tetris', placement=0, reward_piece=0.02)
    load_tetris(env, [0b0011111111], piece=1, rotation=0, x=7)         # the O covers columns 8 and 9
    obs, rewards, *_ = step(env, T_HARD_DROP)
    assert rewards[0] == pytest.approx(0.1 + 0.02)
    locked = board_cells(obs) == 1.0
    assert locked.sum() == 2 and locked[19, 8] and locked[19, 9]


def test_tetris_line_and_hole_rewards_follow_their_parameters():
    """reward_line scales the row rewards; reward_hole is charged per hole a lock adds and paid back per hole it
    opens up again."""
    env = make('puffer_tetris', placement=0, reward_piece=0.0, reward_line=1.0)
    load_tetris(env, [FULL_BUT_LAST] * 4, piece=0, rotation=1, x=7)
    assert step(env, T_HARD_DROP)[1][0] == pytest.approx(8.0)

    env = make('puffer_tetris', placement=0, reward_piece=0.0, reward_hole=0.25)
    load_tetris(env, [0b0000000001], piece=1, rotation=0, x=-1)       # the O lands on column 0's block
    assert step(env, T_HARD_DROP)[1][0] == pytest.approx(-0.25), 'one hole under column 1'

    # Column 9 has a hole under the second row from the bottom; the O completes that row, whose clearing uncovers
    # the hole (+0.25), and the row pays 0.1.
    env = make('puffer_tetris', placement=0, reward_piece=0.0, reward_hole=0.25)
    load_tetris(env, [0b1111111100, 0b0111111111], piece=1, rotation=0, x=-1)
    assert step(env, T_HARD_DROP)[1][0] == pytest.approx(0.1 + 0.25)


def test_tetris_hole_rewards_sum_to_zero_over_a_lost_game():
    """The hole term is potential-based: with no other rewards, every finished game's return is 0."""
    env = ocean.make('puffer_tetris', num_envs=16, reward_piece=0.0, reward_line=0.0, reward_hole=0.3,
                     log_interval=100)
    env.reset(0)
    rng = np.random.default_rng(0)
    returns = []
    for _ in range(2000):
        infos = env.step(rng.integers(0, env.single_action_space.n, 16).astype(np.int32))[4]
        returns += [info['episode_return'] for info in infos]
    assert len(returns) > 5 and max(abs(r) for r in returns) < 1e-3, returns


def test_tetris_placement_actions_put_a_whole_piece_in_one_step():
    """With placement = 1 an action is rotation * 10 + leftmost column; the piece drops there and locks at once."""
    env = make('puffer_tetris', placement=1, reward_piece=0.0)
    assert env.single_action_space.n == 40
    load_tetris(env, [FULL_BUT_LAST] * 4, piece=0, rotation=0, x=3)   # a flat I at the top
    obs, rewards, terminals, *_ = step(env, 1 * 10 + 9)               # turned upright, in column 9
    assert rewards[0] == pytest.approx(0.8) and not terminals[0], 'the I filled column 9 and cleared four rows'
    assert (board_cells(obs) == 1.0).sum() == 0

    env = make('puffer_tetris', placement=1)
    load_tetris(env, [], piece=1, rotation=0, x=3)                     # the O
    obs = step(env, 0 * 10 + 0)[0]
    assert set(map(tuple, np.argwhere(board_cells(obs) == 1.0))) == {(18, 0), (18, 1), (19, 0), (19, 1)}
    # A flat I cannot start in column 8 (it would stick out of the board): it drops where it appeared.
    load_tetris(env, [], piece=0, rotation=0, x=3)
    obs = step(env, 0 * 10 + 8)[0]
    assert set(map(tuple, np.argwhere(board_cells(obs) == 1.0))) == {(19, 3), (19, 4), (19, 5), (19, 6)}


def tetris_surface(locked):
    """(holes, summed heights, bumpiness, tallest column) of a [20, 10] boolean board, computed the slow way."""
    heights = [20 - int(np.argmax(column)) if column.any() else 0 for column in locked.T]
    holes = sum(int((~column[np.argmax(column):]).sum()) for column in locked.T if column.any())
    return holes, sum(heights), sum(abs(a - b) for a, b in zip(heights, heights[1:])), max(heights)


@pytest.mark.parametrize('placement', [1, 0])
def test_tetris_features_predict_every_placement(placement):
    """With features = 1, block a of the observation's tail is exactly what placement a leads to: rows cleared,
    then holes, heights, bumpiness and the tallest column of the board left behind. Checked from many positions of
    random games (a game ending is skipped: its board is already a new game's) by trying each action from a
    snapshot. With placement = 0 the features describe a hard drop after that turn and shift."""
    env = ocean.make('puffer_tetris', num_envs=1, seed=3, log_interval=1, features=1, placement=placement,
                     reward_piece=0.0, reward_line=1.0)
    assert env.single_observation_space.shape == (215 + 200,)
    obs = env.reset(3)[0].copy()
    rng = np.random.default_rng(0)
    line_rewards = {0.0: 0, 1.0: 1, 3.0: 2, 5.0: 3, 8.0: 4}
    checked = cleared_seen = 0
    for position in range(120):
        if position % 4 == 0:   # a stack of rows one cell short of full, so that many placements clear rows
            rows = [0] * 20
            for row in range(20 - int(rng.integers(2, 9)), 20):
                rows[row] = 0b1111111111 & ~(1 << int(rng.integers(10)))
            env.vector.set_state(0, rows, int(rng.integers(7)), 0, 3, 0)
            obs = env.observations.copy()
        features = obs[0, 215:].reshape(40, 5)
        if placement == 1:
            snapshot = env.snapshot()
            for action in range(40):
                env.restore(snapshot)
                after, rewards, terminals, *_ = step(env, action)
                if terminals[0]:
                    continue
                cleared = line_rewards[float(rewards[0])]
                holes, total, bumpiness, tallest = tetris_surface(board_cells(after) == 1.0)
                expected = [cleared / 4, holes / 10, total / 50, bumpiness / 20, tallest / 10]
                assert features[action] == pytest.approx(expected, abs=1e-6), (position, action)
                checked += 1
                cleared_seen += cleared > 0
            env.restore(snapshot)
        else:
            assert env.single_observation_space.contains(obs[0])
        obs = step(env, int(rng.integers(env.single_action_space.n)))[0]
    if placement == 1:
        assert checked > 2000 and cleared_seen > 0, (checked, cleared_seen)


def test_tetris_features_are_off_by_default():
    env = make('puffer_tetris')
    assert env.single_observation_space.shape == (215,)


def test_tetris_pieces_fall_move_and_stop_at_the_walls():
    env = make('puffer_tetris', placement=0, fall_interval=2)
    load_tetris(env, [], piece=2, rotation=0, x=3)                     # T: one cell on top of three
    obs, *_ = step(env, T_NOOP)
    assert np.argwhere(board_cells(obs) == 0.5)[:, 0].min() == 0, 'no fall before fall_interval steps'
    obs, *_ = step(env, T_NOOP)
    assert np.argwhere(board_cells(obs) == 0.5)[:, 0].min() == 1
    for _ in range(6):
        obs, *_ = step(env, T_LEFT)
    assert np.argwhere(board_cells(obs) == 0.5)[:, 1].min() == 0
    assert obs[0, 200 + 2] == 1.0, 'current piece one-hot: T'


def test_tetris_game_ends_when_a_new_piece_has_no_room():
    env = make('puffer_tetris', placement=0)
    rows = [0, 0b0001111000] + [0] * 18                               # blocks every piece's spawn cells
    env.vector.set_state(0, rows, 1, 0, 7, 0)
    _, _, terminals, _, infos = step(env, T_HARD_DROP)
    assert terminals[0] and infos[0]['score'] == 0.0 and infos[0]['pieces'] == 1.0
