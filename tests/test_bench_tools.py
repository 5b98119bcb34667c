"""The measuring tools whose figures the docs quote: the collapse test of bench/curve.py and the Connect Four
tactics counts of bench/connect4_tactics.py (and the scripted rule of bench/connect4_pipeline.py)."""
import sys
from pathlib import Path

import numpy as np
import pytest

import pufferlib  # noqa: E402,F401  (first: the installed package, not the checkout's unbuilt sources)

# bench/ is scripts, not an installed package: reachable only while importing them. Left on sys.path, the checkout
# would be inherited by spawned workers of later tests, which would then import its unbuilt pufferlib.
ROOT = str(Path(__file__).resolve().parents[1])
sys.path.append(ROOT)
try:
    from bench import connect4_pipeline, connect4_tactics, curve  # noqa: E402
finally:
    sys.path.remove(ROOT)

ROWS, COLUMNS = 6, 7


def points(values, every=1e6):
    return [(every * (i + 1), float(i), value) for i, value in enumerate(values)]


def test_collapse_counts_only_after_the_floor_and_against_the_best_so_far():
    assert curve.first_collapse(points([50, 150, 40, 300, 160]), floor=200) is None  # 40 came before reaching 200
    assert curve.first_collapse(points([50, 250, 300, 149, 400]), floor=200) == (4e6, 149, 300, 3e6)
    assert curve.first_collapse(points([50, 250, 300, 150.5]), floor=200) is None  # not below half
    assert curve.first_collapse(points([10, 20, 5]), floor=15) == (3e6, 5, 20, 2e6)


def board(rows):
    """Text rows from the top ('x' the mover, 'o' the opponent, '.' empty) -> (mine, theirs) [1, 6, 7] bool."""
    cells = np.array([list(row) for row in rows])
    return (cells == 'x')[None], (cells == 'o')[None]


def observation(mine, theirs):
    return np.concatenate([mine.reshape(1, -1), theirs.reshape(1, -1)], 1).astype(np.float32)


# The mover x (to move, equal counts) can complete a vertical four in column 0; o threatens the bottom row at column 4.
POSITION = ['.......',
            '.......',
            '.......',
            'x......',
            'x......',
            'xooo...']
# x to move (o opened) must block o's vertical three in column 0; x has no four to complete.
BLOCK = ['.......',
         '.......',
         '.......',
         'o......',
         'o......',
         'ox.x...']


def test_completing_columns_respects_gravity_and_every_direction():
    mine, theirs = board(POSITION)
    occupied = mine | theirs
    assert np.flatnonzero(connect4_tactics.completing_columns(mine, occupied)[0]).tolist() == [0]
    assert np.flatnonzero(connect4_tactics.completing_columns(theirs, occupied)[0]).tolist() == [4]
    # x holds (2,3), (3,2), (4,1) of a diagonal whose ends are o's (5,0) and (1,4), a cell column 4 cannot reach
    # until it holds four stones: no column completes it
    floating = board(['.......', '.......', '...x...', '..xo...', '.xoo...', 'oooxx..'])
    assert not connect4_tactics.completing_columns(floating[0], floating[0] | floating[1]).any()
    # x holds (5,0), (4,1), (3,2); (2,3) is column 3's landing cell
    reachable = board(['.......', '.......', '.......', '..xo...', '.xoo...', 'xoox...'])
    assert np.flatnonzero(connect4_tactics.completing_columns(reachable[0],
                                                              reachable[0] | reachable[1])[0]).tolist() == [3]
    full = np.ones((1, ROWS, COLUMNS), bool)
    assert not connect4_tactics.completing_columns(full & False, full).any()  # no legal column, nothing completes


def test_tally_counts_wins_taken_then_single_blocks():
    tally = connect4_tactics.Tally()
    mine, theirs = board(POSITION)
    tally.add(observation(mine, theirs), np.array([0]))   # a win available, taken
    tally.add(observation(mine, theirs), np.array([1]))   # a win available, missed
    tally.add(observation(theirs, mine), np.array([4]))   # o's view: its own win at column 4, taken
    tally.add(observation(*board(BLOCK)), np.array([0]))  # the only threat, blocked
    tally.add(observation(*board(BLOCK)), np.array([2]))  # missed
    assert tally.counts.tolist() == [3, 2, 2, 1]


def test_scripted_rule_wins_first_then_blocks_then_plays_a_legal_column():
    random = np.random.default_rng(0)
    mine, theirs = board(POSITION)
    assert connect4_pipeline.scripted_columns(observation(mine, theirs), random).tolist() == [0]  # win over block
    assert connect4_pipeline.scripted_columns(observation(*board(BLOCK)), random).tolist() == [0]
    only_column_3 = board(['xox.xox', 'oxo.oxo', 'xox.xox', 'xox.xox', 'oxoxoxo', 'xoxoxox'])
    choices = {int(connect4_pipeline.scripted_columns(observation(*only_column_3), random)[0]) for _ in range(20)}
    assert choices == {3}
    empty = board(['.......'] * ROWS)
    choices = {int(connect4_pipeline.scripted_columns(observation(*empty), random)[0]) for _ in range(200)}
    assert choices == set(range(COLUMNS))   # otherwise uniformly random over the legal columns


@pytest.mark.parametrize('seed', [0, 1])
def test_random_positions_are_what_they_claim(seed):
    wins, blocks = connect4_tactics.random_positions(50, seed)
    for observations, wants_win in ((wins, True), (blocks, False)):
        mine, theirs = connect4_tactics.planes(observations)
        occupied = mine | theirs
        own = connect4_tactics.completing_columns(mine, occupied)
        threats = connect4_tactics.completing_columns(theirs, occupied)
        assert (mine.sum((1, 2)) - theirs.sum((1, 2)) <= 0).all()   # the mover has at most as many stones
        if wants_win:
            assert own.any(1).all()
        else:
            assert (~own.any(1)).all() and (threats.sum(1) == 1).all()
