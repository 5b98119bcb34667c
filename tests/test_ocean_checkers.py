"""English draughts rules (forced captures, multi-jumps, crowning, kings, the draw rule, the scripted player) on
hand-built positions, and the two-agent contract.

Positions are loaded with the binding's test hook `set_board(index, rows, to_move)` (64 characters, top row first
in black's frame: 'b'/'B' black man/king, 'w'/'W' white man/king, '.' empty) and read back with `render_text`.
Actions are 4 * square + direction in the mover's frame (checkers.h): black's frame is the board as drawn, white's
is the board turned half round, so a white action a is the black action 127 - a of the turned position.
"""
import os
import shutil
import subprocess

import numpy as np
import pytest

import pufferlib.envs.ocean as ocean

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UP_LEFT, UP_RIGHT, DOWN_LEFT, DOWN_RIGHT = range(4)   # forward-left, forward-right, back-left, back-right
OBS = 163


def make(**params):
    params = {'opponent': 1, **params}
    env = ocean.make('puffer_checkers', num_envs=1, seed=0, log_interval=1, **params)
    env.reset(0)
    return env


def position(pieces):
    """64 characters from {(row, column): piece}; rows top first, pieces only where row + column is odd."""
    cells = [['-' if (r + c) % 2 == 0 else '.' for c in range(8)] for r in range(8)]
    for (r, c), piece in pieces.items():
        assert (r + c) % 2 == 1
        cells[r][c] = piece
    return ''.join(''.join(row) for row in cells)


def load(env, pieces, to_move='b'):
    env.vector.set_board(0, position(pieces), to_move)


def board(env):
    return ''.join(env.vector.render_text(0).splitlines()[:8])


def square(r, c):
    """Black's square number of (row, column)."""
    return 4 * r + c // 2


def action(r, c, direction, side='b'):
    """The action moving the piece on black's (row, column) in black's `direction` (UP_LEFT ...) for `side`."""
    a = 4 * square(r, c) + direction
    return a if side == 'b' else 127 - a


def mover(env):
    return int(np.flatnonzero(env.masks)[0]) if env.observations.shape[0] == 2 else 0


def play(env, a):
    """One step with action a for every row (the waiting row's is ignored); returns (rewards, terminals, infos)."""
    _, rewards, terminals, _, infos = env.step(np.full(env.observations.shape[0], a, np.int32))
    return rewards.copy(), terminals.copy(), infos


def legal(env, row=None):
    return set(np.flatnonzero(env.action_masks[mover(env) if row is None else row]).tolist())


def test_the_opening_has_the_seven_standard_moves_for_either_side():
    env = make()
    black = mover(env)
    opening = {action(5, c, d) for c in (0, 2, 4, 6) for d in (UP_LEFT, UP_RIGHT) if 0 <= c + 2 * d - 1 <= 7}
    assert len(opening) == 7 and legal(env) == opening
    assert legal(env, 1 - black) == set(), 'the waiting row has no legal action'
    play(env, action(5, 2, UP_RIGHT))
    assert legal(env) == opening, 'white sees the same opening from its side'


def test_a_capture_is_forced():
    env = make()
    load(env, {(5, 2): 'b', (4, 3): 'w', (5, 6): 'b', (0, 1): 'w'})
    assert legal(env) == {action(5, 2, UP_RIGHT)}
    play(env, action(5, 6, UP_LEFT))                  # not a capture: a random legal move (the capture) instead
    assert board(env) == position({(3, 4): 'b', (5, 6): 'b', (0, 1): 'w'})


def test_a_multi_jump_continues_with_the_same_piece_only():
    env = make()
    load(env, {(7, 0): 'b', (6, 1): 'w', (4, 1): 'w', (4, 3): 'w', (6, 7): 'b', (0, 1): 'w'})
    black = mover(env)
    play(env, action(7, 0, UP_RIGHT))
    assert mover(env) == black, 'the jumping side moves again'
    assert legal(env) == {action(5, 2, UP_LEFT), action(5, 2, UP_RIGHT)}, 'only the jumping piece, only jumps'
    obs = env.observations
    assert obs[black, 128 + square(5, 2)] == 1 and obs[black, 128:160].sum() == 1
    assert obs[1 - black, 128 + 31 - square(5, 2)] == 1, 'the other side sees it in its own frame'
    assert 'jumping: %d' % square(5, 2) in env.vector.render_text(0)
    rewards, terminals, _ = play(env, action(5, 2, UP_RIGHT))
    assert not terminals.any() and mover(env) == 1 - black
    assert board(env) == position({(3, 4): 'b', (4, 1): 'w', (6, 7): 'b', (0, 1): 'w'})


def test_the_scripted_mode_agent_finishes_its_multi_jump_before_the_reply():
    env = make(opponent=0)
    load(env, {(7, 0): 'b', (6, 1): 'w', (4, 3): 'w', (0, 1): 'w'})
    play(env, action(7, 0, UP_RIGHT))
    assert board(env) == position({(5, 2): 'b', (4, 3): 'w', (0, 1): 'w'}), 'no reply in the middle of a jump'
    assert legal(env) == {action(5, 2, UP_RIGHT)}
    play(env, action(5, 2, UP_RIGHT))
    after = board(env)
    assert after[8 * 3 + 4] == 'b' and after.count('w') == 1 and after[8 * 0 + 1] == '.', 'then white replied'


def test_crowning_ends_the_move():
    env = make()
    load(env, {(2, 1): 'b', (1, 2): 'w', (1, 4): 'w', (7, 0): 'b'})
    black = mover(env)
    play(env, action(2, 1, UP_RIGHT))
    assert board(env) == position({(0, 3): 'B', (1, 4): 'w', (7, 0): 'b'}), 'crowned on the far row'
    assert mover(env) == 1 - black, 'the new king may not jump on: the turn passed'
    obs = env.observations[black]
    assert obs[32 + square(0, 3)] == 1 and obs[square(0, 3)] == 0, 'a king in the kings plane'


def test_kings_move_backwards_and_men_do_not():
    env = make()
    load(env, {(3, 2): 'B', (3, 6): 'b', (0, 1): 'w'})
    moves = legal(env)
    assert {action(3, 2, d) for d in range(4)} <= moves
    assert action(3, 6, UP_LEFT) in moves and action(3, 6, DOWN_LEFT) not in moves
    assert action(3, 6, DOWN_RIGHT) not in moves
    play(env, action(3, 2, DOWN_LEFT))
    assert board(env)[8 * 4 + 1] == 'B'
    # White's men move down the board as black draws it, which is forward in white's own frame.
    assert legal(env) == {action(0, 1, DOWN_LEFT, 'w'), action(0, 1, DOWN_RIGHT, 'w')}
    assert legal(env) == {4 * (31 - square(0, 1)) + d for d in (UP_LEFT, UP_RIGHT)}


def test_taking_the_last_piece_wins():
    env = make()
    load(env, {(5, 2): 'b', (4, 3): 'w'})
    black = mover(env)
    rewards, terminals, infos = play(env, action(5, 2, UP_RIGHT))
    assert terminals.all() and rewards[black] == 1 and rewards[1 - black] == -1
    assert infos[0]['score'] == (1 if black == 0 else 0) and infos[0]['draws'] == 0


def test_a_side_left_without_a_move_loses():
    env = make(opponent=0)
    # White's only man is blocked by black men on the bottom row (jumps would leave the board); black's men on
    # (5, 0) and (5, 2) fill the squares black would otherwise land on by taking it.
    blocked = {(6, 1): 'w', (7, 0): 'b', (7, 2): 'b', (5, 0): 'b', (5, 2): 'b', (4, 5): 'b'}
    load(env, blocked)
    assert legal(env) == {action(4, 5, UP_LEFT), action(4, 5, UP_RIGHT), action(5, 0, UP_RIGHT),
                          action(5, 2, UP_LEFT), action(5, 2, UP_RIGHT), action(7, 2, UP_RIGHT)}
    rewards, terminals, infos = play(env, action(4, 5, UP_LEFT))
    assert terminals[0] and rewards[0] == 1 and infos[0]['score'] == 1

    load(env, blocked, to_move='w')                   # the agent plays white, which cannot move
    assert legal(env) == set()
    rewards, terminals, infos = play(env, 0)
    assert terminals[0] and rewards[0] == -1 and infos[0]['score'] == 0


def test_the_draw_rule_counts_turns_without_a_capture_or_man_move():
    env = make(draw_moves=2)                          # 2 moves per side: 4 quiet turns draw
    load(env, {(7, 0): 'B', (0, 7): 'W', (1, 2): 'b'})
    play(env, action(7, 0, UP_RIGHT))                 # king moves: quiet
    assert env.observations[:, 160].tolist() == [0.25, 0.25]
    play(env, action(0, 7, DOWN_LEFT, 'w'))
    assert env.observations[0, 160] == 0.5
    play(env, action(1, 2, UP_RIGHT))                 # a man move resets the count (and crowns it)
    assert env.observations[0, 160] == 0
    moves = [action(1, 6, UP_RIGHT, 'w'), action(6, 1, DOWN_LEFT), action(0, 7, DOWN_LEFT, 'w')]
    for a in moves:
        rewards, terminals, _ = play(env, a)
        assert not terminals.any()
    rewards, terminals, infos = play(env, action(0, 3, DOWN_LEFT))
    assert terminals.all() and (rewards == 0).all() and infos[0]['draws'] == 1 and infos[0]['score'] == 0


def test_the_move_cap_draws():
    env = make(max_moves=3)
    load(env, {(7, 0): 'B', (0, 7): 'W'})
    results = [play(env, a) for a in (action(7, 0, UP_RIGHT), action(0, 7, DOWN_LEFT, 'w'),
                                      action(6, 1, DOWN_LEFT))]
    assert [bool(t.all()) for _, t, _ in results] == [False, False, True]
    assert (results[-1][0] == 0).all()


def test_the_scripted_player_takes_the_longest_capture():
    env = make(opponent=0)
    pieces = {(5, 0): 'b', (4, 1): 'w', (7, 6): 'b', (6, 5): 'w', (4, 5): 'w', (0, 7): 'w'}
    for _ in range(20):
        load(env, pieces, to_move='w')                # the agent plays white, black replies
        play(env, action(0, 7, DOWN_LEFT, 'w'))
        after = board(env)
        assert after[8 * 3 + 6] == 'b' and after[8 * 6 + 5] == '.' and after[8 * 4 + 5] == '.'
        assert after[8 * 4 + 1] == 'w', 'the single capture was left'


def test_the_scripted_player_avoids_a_step_into_a_capture():
    env = make(opponent=0)
    seen = set()
    for _ in range(20):
        load(env, {(5, 2): 'b', (3, 4): 'w', (0, 7): 'w'}, to_move='w')
        play(env, action(0, 7, DOWN_LEFT, 'w'))
        after = board(env)
        seen.add(after[8 * 4 + 1])
        assert after[8 * 4 + 3] == '.', 'the step next to the white man would lose the man'
    assert seen == {'b'}


def test_the_scripted_player_breaks_ties_at_random():
    env = make(opponent=0)
    seen = set()
    for _ in range(30):
        load(env, {(5, 2): 'b', (0, 7): 'w'}, to_move='w')
        play(env, action(0, 7, DOWN_LEFT, 'w'))
        seen.add(board(env)[8 * 4:8 * 4 + 8])
    assert len(seen) == 2


def test_each_row_sees_the_board_from_its_own_side():
    env = make()
    rng = np.random.default_rng(0)
    for _ in range(60):
        actions = np.array([rng.choice(sorted(legal(env, row))) if legal(env, row) else 0 for row in (0, 1)],
                           np.int32)
        env.step(actions)
        obs = env.observations
        turned = lambda plane, row: obs[row, 32 * plane:32 * plane + 32][::-1]
        # Row 1's own men and kings are row 0's opponent's, turned half round, and the other way about.
        assert (obs[1, 0:32] == turned(2, 0)).all() and (obs[1, 32:64] == turned(3, 0)).all()
        assert (obs[0, 0:32] == turned(2, 1)).all() and (obs[0, 32:64] == turned(3, 1)).all()
        assert (obs[0, 128:160] == turned(4, 1)).all()
        assert obs[0, 160] == obs[1, 160] and obs[0, 161] + obs[1, 161] == 1 and obs[0, 162] + obs[1, 162] == 1
        assert (obs[:, 161] == env.masks).all()


def test_a_position_and_its_colour_swapped_turn_look_the_same_to_the_mover():
    env = make(opponent=0)
    pieces = {(5, 2): 'b', (4, 3): 'w', (6, 5): 'B', (2, 1): 'w', (1, 6): 'W', (4, 7): 'b'}
    swapped = {k: {'b': 'w', 'w': 'b', 'B': 'W', 'W': 'B'}[p] for k, p in
               {(7 - r, 7 - c): p for (r, c), p in pieces.items()}.items()}
    load(env, pieces, 'b')
    obs_black, mask_black = env.observations.copy(), env.action_masks.copy()
    load(env, swapped, 'w')
    assert (env.observations[:, :162] == obs_black[:, :162]).all() and (env.action_masks == mask_black).all()
    assert obs_black[0, 162] == 1 and env.observations[0, 162] == 0


def test_an_illegal_or_out_of_range_action_plays_a_random_legal_move():
    outcomes = set()
    opening = [action(5, c, d) for c in (0, 2, 4, 6) for d in (UP_LEFT, UP_RIGHT) if 0 <= c + 2 * d - 1 <= 7]
    expected = set()
    for a in opening:
        env = make()
        play(env, a)
        expected.add(board(env))
    env = ocean.make('puffer_checkers', num_envs=1, seed=0, opponent=1)
    for seed in range(40):
        env.reset(seed)
        play(env, [0, -5, 10**6, 127][seed % 4])
        outcomes.add(board(env))
    assert outcomes <= expected and len(outcomes) > 3


def test_observation_bounds_and_stats_under_any_action():
    env = ocean.make('puffer_checkers', num_envs=16, seed=0, log_interval=1)
    env.reset(0)
    rng = np.random.default_rng(1)
    infos = []
    for _ in range(1500):
        obs, rewards, terminals, truncations, info = env.step(rng.integers(-10**6, 10**6, 16).astype(np.int32))
        assert ((obs == 0) | (obs == 1))[:, np.r_[0:160, 161:163]].all()
        assert ((obs[:, 160] >= 0) & (obs[:, 160] < 1)).all()
        assert not (obs[:, 0:64] * obs[:, 64:128]).any() and not (obs[:, 0:32] * obs[:, 32:64]).any()
        assert set(np.unique(rewards)) <= {-1, 0, 1} and not truncations.any()
        assert env.action_masks.any(1).all(), 'the agent always has a move'
        infos += info
    assert infos and infos[-1]['illegal'] > 0 and 0 <= infos[-1]['score'] <= 1


def test_legal_random_play_makes_no_illegal_moves_and_loses_to_the_scripted_player():
    env = ocean.make('puffer_checkers', num_envs=32, seed=0, log_interval=10**9)
    env.reset(0)
    rng = np.random.default_rng(0)
    for _ in range(1500):
        masks = env.action_masks
        env.step(np.array([rng.choice(np.flatnonzero(m)) for m in masks], np.int32))
    stats = env.vector.log()
    assert stats['illegal'] == 0 and stats['score'] < 0.25 and 0.3 < stats['black'] < 0.7


def test_same_seed_same_games():
    def run(seed):
        env = ocean.make('puffer_checkers', num_envs=4, seed=seed)
        env.reset(seed)
        rng = np.random.default_rng(0)
        out = []
        for _ in range(300):
            obs, rewards, *_ = env.step(rng.integers(0, 128, size=4).astype(np.int32))
            out.append((obs.copy(), rewards.copy()))
        return out
    a, b, c = run(5), run(5), run(6)
    assert all((x[0] == y[0]).all() and (x[1] == y[1]).all() for x, y in zip(a, b))
    assert any((x[0] != y[0]).any() for x, y in zip(a, c))


def test_agent_mode_alternates_and_pays_zero_sum():
    env = ocean.make('puffer_checkers', num_envs=16, seed=3, opponent=1)
    env.reset(3)
    assert env.observations.shape == (32, OBS) and env.action_masks.shape == (32, 128)
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(1500):
        pairs = env.masks.reshape(-1, 2)
        assert (pairs.sum(1) == 1).all()
        assert (env.action_masks.any(1) == env.masks.astype(bool)).all(), 'only the mover has legal actions'
        actions = np.array([rng.choice(np.flatnonzero(m)) if m.any() else 0 for m in env.action_masks], np.int32)
        _, rewards, terminals, _, _ = env.step(actions)
        assert (rewards.reshape(-1, 2).sum(1) == 0).all()
        ended = terminals.reshape(-1, 2)
        assert (ended[:, 0] == ended[:, 1]).all()
        finished += int(ended[:, 0].sum())
    assert finished > 0


def test_render_frames_follow_the_game():
    env = make(opponent=0)
    frames = [env.render()]
    for a in (action(5, 2, UP_RIGHT), action(6, 1, UP_RIGHT)):
        if a in legal(env):
            play(env, a)
        else:
            play(env, sorted(legal(env))[0])
        frames.append(env.render())
    assert frames[0].shape == (320, 320, 3)
    assert (frames[0] != frames[1]).any() and (frames[1] != frames[2]).any()


def test_set_board_refuses_bad_positions():
    env = make()
    with pytest.raises(ValueError, match='64 characters'):
        env.vector.set_board(0, 'b' * 10, 'b')
    with pytest.raises(ValueError, match='light square'):
        env.vector.set_board(0, 'b' + '.' * 63, 'b')
    with pytest.raises(ValueError, match='crowns on'):
        load(env, {(0, 1): 'b'})


def test_a_snapshot_taken_in_the_middle_of_a_jump_restores_it():
    env = make()
    load(env, {(7, 0): 'b', (6, 1): 'w', (4, 3): 'w', (0, 1): 'w'})
    play(env, action(7, 0, UP_RIGHT))
    saved, masks = env.vector.snapshot(), env.action_masks.copy()
    play(env, action(5, 2, UP_RIGHT))
    assert 'jumping: -' in env.vector.render_text(0)
    env.vector.restore(saved)
    assert 'jumping: %d' % square(5, 2) in env.vector.render_text(0)
    play(env, action(5, 2, UP_RIGHT))
    assert board(env) == position({(3, 4): 'b', (0, 1): 'w'})


@pytest.mark.skipif(shutil.which('gcc') is None, reason='needs gcc')
@pytest.mark.parametrize('params', [['opponent=1', 'draw_moves=3', 'max_moves=0'],
                                    ['opponent=0', 'draw_moves=2', 'max_moves=40']])
def test_sanitizer_run_in_both_modes(tmp_path, params):
    """ocean/sanitize.c under ASan + UBSan with the modes and draw settings the registry-wide run does not cover."""
    binary = str(tmp_path / 'checkers')
    build = subprocess.run(['gcc', '-std=gnu11', '-O1', '-g', '-fno-omit-frame-pointer',
                            '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-DPUFFER_NO_PYTHON',
                            '-DBINDING="checkers/binding.c"', '-Iocean', '-Iocean/checkers', 'ocean/sanitize.c',
                            '-o', binary, '-lm'], cwd=REPO, capture_output=True, text=True)
    if build.returncode != 0 and 'sanitize' in build.stderr:
        pytest.skip('gcc without ASan/UBSan')
    assert build.returncode == 0, build.stderr
    for args in (['30000', '1'], ['3000', '3'], ['--fuzz', '100', '64', '2']):
        run = subprocess.run([binary, *args, 'int', '0', '127', *params], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        assert 'failed' not in run.stdout.replace(' 0 failed', '')


@pytest.mark.slow
def test_the_shipped_config_learns_to_win_against_the_scripted_player(tmp_path):
    """Uniform legal moves win 0.1% of their games against the scripted player; the shipped config won 41% of its
    training games over the end of its 6M steps (docs/ocean_games.md)."""
    from test_learning import final_score, train
    _, result = train('puffer_checkers', {}, tmp_path, recurrent=False)
    assert final_score(result.run_dir) >= 0.25


def test_a_short_run_of_the_shipped_config_beats_random_play(tmp_path):
    """About 10 s of training against the scripted player with the shipped config (128 games x 32 steps,
    minibatches of 2,048), cut to 300k steps. The model then plays the uniform legal-move player 400 times, taking
    either side in turn, and so does a second random player as the baseline (which wins about half). Measured:
    91% wins (85-95% with training seeds 2-4)."""
    from test_learning import train
    from pufferlib import arena
    config, result = train('puffer_checkers', {'train': {'total_timesteps': 300_000}}, tmp_path, recurrent=False)
    model, model_config = arena.load_player(result.model_path, config, False, 0)
    wins, draws, losses = arena.play(model_config, model, arena.Player('random', seed=1), 400, seed=7)
    baseline, _, _ = arena.play(model_config, arena.Player('random', seed=2), arena.Player('random', seed=1), 400,
                                seed=7)
    assert wins >= 280 and wins >= baseline + 80, (wins, draws, losses, baseline)
