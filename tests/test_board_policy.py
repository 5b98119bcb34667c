"""BoardConvolutional: convolutions over a board game's planes (docs/training.md, "Policies")."""
import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pufferlib import config as puffer_config
from pufferlib import models, runs, trainer
from pufferlib.dashboard import Dashboard
from pufferlib.envs import ocean
from pufferlib.exceptions import ConfigError


def board_policy(env_name, **kwargs):
    env = ocean.make(env_name, num_envs=1)
    try:
        return models.make_policy(env, 'BoardConvolutional', policy_kwargs=kwargs), env.single_observation_space
    finally:
        env.close()


@pytest.mark.parametrize('value, message', [
    ('', 'needs policy.board_shape'), ('2,6', 'is not a board'), ('2,x,7', 'is not a board'),
    ('0,6,7', 'is not a board'), ('3,6,7', 'more than the 84')])
def test_bad_board_shapes_are_one_line_errors(value, message):
    with pytest.raises(ConfigError, match=message) as error:
        board_policy('puffer_connect4', board_shape=value)
    assert '\n' not in str(error.value)


def test_board_shape_is_checked_with_the_config():
    with pytest.raises(ConfigError, match="policy.board_shape = '2,6'"):
        puffer_config.load('puffer_connect4', overrides={'base.policy_name': 'BoardConvolutional',
                                                         'policy.board_shape': '2,6'})
    config = puffer_config.load('puffer_connect4', overrides={'base.policy_name': 'BoardConvolutional',
                                                              'policy.board_shape': '2,6,7', 'policy.cnn_layers': 1})
    assert config['policy']['board_shape'] == '2,6,7'


def test_the_same_pattern_anywhere_on_the_board_meets_the_same_filters():
    """The convolution's point: three stones in a row give the same feature map, shifted, wherever they lie."""
    torch.manual_seed(0)
    policy, _ = board_policy('puffer_connect4', board_shape='2,6,7', cnn_layers=1, cnn_channels=8)
    boards = torch.zeros(2, 2, 6, 7)
    boards[0, 0, 5, 0:3] = 1   # bottom row, columns 0-2
    boards[1, 0, 2, 3:6] = 1   # row 2, columns 3-5
    maps = policy.convs[:-1](boards)
    torch.testing.assert_close(maps[0, :, 4:6, 0:4], maps[1, :, 1:3, 3:7])


def test_valid_four_by_four_filters_see_every_line_of_four_on_a_connect4_board():
    """cnn_kernel = 4, cnn_padding = valid: 3 x 4 filter places, and each of the board's 69 lines of four (rows,
    columns, both diagonals) lies whole inside at least one of them, so one layer can recognise any four."""
    policy, _ = board_policy('puffer_connect4', board_shape='2,6,7', cnn_layers=1, cnn_channels=8, cnn_kernel=4,
                             cnn_padding='valid')
    assert policy.convs(torch.zeros(1, 2, 6, 7)).shape == (1, 8 * 3 * 4)
    lines = [[(r + i * dr, c + i * dc) for i in range(4)] for r in range(6) for c in range(7)
             for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1))]
    lines = [line for line in lines if all(0 <= r < 6 and 0 <= c < 7 for r, c in line)]
    assert len(lines) == 69
    places = [(top, left) for top in range(3) for left in range(4)]
    for line in lines:
        assert any(all(top <= r < top + 4 and left <= c < left + 4 for r, c in line) for top, left in places), line


def test_valid_five_by_four_filters_also_see_the_squares_under_every_line_of_four():
    """cnn_kernel = 5,4 (rows,columns), valid: 2 x 4 places, and each line of four lies in one of them together with
    the square under each of its stones (or the board's bottom), so one filter can tell a three with a playable
    fourth square from one whose fourth square hangs over an empty one."""
    policy, _ = board_policy('puffer_connect4', board_shape='2,6,7', cnn_layers=1, cnn_channels=8, cnn_kernel='5,4',
                             cnn_padding='valid')
    assert policy.convs[0].kernel_size == (5, 4)
    assert policy.convs(torch.zeros(1, 2, 6, 7)).shape == (1, 8 * 2 * 4)
    lines = [[(r + i * dr, c + i * dc) for i in range(4)] for r in range(6) for c in range(7)
             for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1))]
    lines = [line for line in lines if all(0 <= r < 6 and 0 <= c < 7 for r, c in line)]
    places = [(top, left) for top in range(2) for left in range(4)]
    for line in lines:
        seen = line + [(r + 1, c) for r, c in line if r + 1 < 6]
        assert any(all(top <= r < top + 5 and left <= c < left + 4 for r, c in seen) for top, left in places), line


@pytest.mark.parametrize('value, kernel', [(3, (3, 3)), ('4', (4, 4)), ('5,4', (5, 4)), (' 2 , 3 ', (2, 3)),
                                           ((1, 7), (1, 7))])
def test_a_filter_size_is_a_square_or_rows_and_columns(value, kernel):
    assert models.parse_cnn_kernel(value) == kernel


@pytest.mark.parametrize('overrides, message', [
    ({'policy.cnn_padding': 'full'}, "policy.cnn_padding = 'full' is not a padding; use same or valid"),
    ({'policy.cnn_kernel': 0}, r'policy.cnn_kernel = 0 is not a filter size; give an int in \[1, 64\] \(a square\) '
                                r'or rows,columns \(e.g. 5,4\)$'),
    ({'policy.cnn_kernel': '5,4,3'}, r"policy.cnn_kernel = '5,4,3' is not a filter size"),
    ({'policy.cnn_kernel': True}, 'policy.cnn_kernel = True is not a filter size'),
    ({'policy.cnn_kernel': '7,4', 'policy.cnn_padding': 'valid', 'policy.cnn_layers': 1},
     'policy.cnn_kernel = 7,4 does not fit a 6x7 board with 1 valid-padded layer; use 1 .. 6 rows and 1 .. 7 '
     'columns$'),
    ({'policy.cnn_kernel': 4, 'policy.cnn_padding': 'valid', 'policy.cnn_layers': 2},
     'policy.cnn_kernel = 4 does not fit a 6x7 board with 2 valid-padded layers; use 1 .. 6 and fewer valid'),
    ({'policy.cnn_kernel': 7},
     'policy.cnn_kernel = 7 does not fit a 6x7 board with 2 same-padded layers; use 1 .. 6$')])
def test_bad_filter_settings_are_one_line_errors(overrides, message):
    with pytest.raises(ConfigError, match=message) as error:
        config = puffer_config.load('puffer_connect4', overrides={
            'base.policy_name': 'BoardConvolutional', 'policy.board_shape': '2,6,7', **overrides})
        board_policy('puffer_connect4', **config['policy'])
    assert '\n' not in str(error.value)


def test_numbers_after_the_board_reach_the_output():
    """Go's observation is 3 planes of 9 x 9 and 2 more numbers; those go around the convolutions."""
    torch.manual_seed(0)
    policy, space = board_policy('puffer_go', board_shape='3,9,9')
    observations = torch.zeros(2, *space.shape)
    observations[1, -2:] = 1
    logits, value = policy(observations)
    assert logits.shape == (2, 82) and value.shape == (2,)
    assert not torch.allclose(logits[0], logits[1])


def test_connect4_learns_against_the_scripted_opponent(tmp_path):
    """A short run: the win rate against the scripted player rises clearly above random play's (about 2%)."""
    config = puffer_config.load('puffer_connect4', overrides={
        'train.device': 'cpu', 'train.data_dir': str(tmp_path), 'train.seed': 1, 'train.total_timesteps': 300_000,
        'env.num_envs': 128, 'train.bptt_horizon': 32, 'train.minibatch_size': 2048, 'train.learning_rate': 0.002,
        'base.policy_name': 'BoardConvolutional', 'policy.board_shape': '2,6,7', 'policy.cnn_layers': 1,
        'policy.cnn_channels': 16, 'policy.hidden_size': 64})
    result = trainer.train(config, SimpleNamespace(), dashboard=Dashboard('c4', live=False, file=io.StringIO()))
    scores = [row['env/score'] for row in runs.read_metrics(result.run_dir) if 'env/score' in row]
    assert np.mean(scores[-3:]) > 0.25, scores
