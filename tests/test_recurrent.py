"""Recurrent wrappers (LSTM, GRU, minGRU): a segment replayed for training (forward_sequence) matches stepping,
resets included; state is per row; minGRU's parallel scan equals its loop; GRU and minGRU learn puffer_memory."""
import pytest
import torch
from gymnasium import spaces

from pufferlib import config as puffer_config
from pufferlib import models
from pufferlib.exceptions import ConfigError
from test_learning import final_score, train
from test_models import VECTOR, SpacesOnly

WRAPPERS = models.RECURRENT_WRAPPERS
LAYERED = [(name, layers) for name in WRAPPERS for layers in (1, 2)]


def make_recurrent(rnn_name, num_layers=1, hidden=16):
    env = SpacesOnly(VECTOR, spaces.Discrete(3))
    return models.make_policy(env, 'Policy', rnn_name, dict(hidden_size=hidden), dict(num_layers=num_layers))


@pytest.mark.parametrize('rnn_name, num_layers', LAYERED)
def test_sequence_matches_steps_with_resets(rnn_name, num_layers):
    """Training over a segment (forward_sequence) sees exactly what inference saw step by step, including the
    state reset where an episode ended."""
    torch.manual_seed(0)
    policy = make_recurrent(rnn_name, num_layers)
    segments, horizon = 3, 7
    observations = torch.randn(segments, horizon, 6)
    starts = torch.zeros(segments, horizon)
    starts[0, 3] = starts[2, 1] = starts[2, 5] = 1
    state = tuple(torch.randn_like(tensor) for tensor in policy.initial_state(segments, 'cpu'))
    assert len(state) == len(policy.state_names) and state[0].shape == (segments, 16 * num_layers)
    params, values = policy.forward_sequence(observations, state, starts)

    step_params, step_values = [], []
    for t in range(horizon):
        keep = (1 - starts[:, t]).unsqueeze(1)
        p, v, state = policy.forward_step(observations[:, t], tuple(tensor * keep for tensor in state))
        step_params.append(p)
        step_values.append(v)
    torch.testing.assert_close(params.view(segments, horizon, -1), torch.stack(step_params, 1))
    torch.testing.assert_close(values.view(segments, horizon), torch.stack(step_values, 1))


@pytest.mark.parametrize('rnn_name, num_layers', LAYERED)
def test_state_is_per_row_and_reset_forgets(rnn_name, num_layers):
    torch.manual_seed(0)
    policy = make_recurrent(rnn_name, num_layers)
    observations = torch.randn(2, 6)
    zeros = policy.initial_state(2, 'cpu')
    _, value_fresh, _ = policy.forward_step(observations, zeros)
    _, _, state = policy.forward_step(torch.randn(2, 6), zeros)
    _, value_remembering, _ = policy.forward_step(observations, state)
    assert not torch.allclose(value_fresh, value_remembering)
    # Zeroing row 0 only (its episode ended) makes row 0 forget and leaves row 1 as it was.
    keep = torch.tensor([[0.0], [1.0]])
    _, value_mixed, _ = policy.forward_step(observations, tuple(tensor * keep for tensor in state))
    assert value_mixed[0] == value_fresh[0] and value_mixed[1] == value_remembering[1]


def test_mingru_scan_equals_its_loop_values_and_gradients():
    """The Hillis-Steele scan over a segment (odd length, resets, a nonzero initial state) gives the recurrence's
    values and the same gradients for the weights and the initial state."""
    torch.manual_seed(0)
    cell = models.MinGRUCell(8, 8)
    segments, horizon = 4, 37
    x = torch.randn(segments, horizon, 8)
    keep = (torch.rand(segments, horizon, 1) > 0.1).float()
    h0 = torch.randn(segments, 8, requires_grad=True)
    scanned = cell.scan(x, h0, keep)
    weights = torch.randn_like(scanned)
    scan_grads = torch.autograd.grad((scanned * weights).sum(), [h0, *cell.parameters()])

    h, looped = h0, []
    for t in range(horizon):
        h = cell(x[:, t], h * keep[:, t])
        looped.append(h)
    looped = torch.stack(looped, 1)
    loop_grads = torch.autograd.grad((looped * weights).sum(), [h0, *cell.parameters()])
    torch.testing.assert_close(scanned, looped)
    for scan_grad, loop_grad in zip(scan_grads, loop_grads):
        torch.testing.assert_close(scan_grad, loop_grad)


def test_single_layer_lstm_keeps_its_saved_parameter_names():
    """Models saved before num_layers existed still load."""
    names = set(make_recurrent('LSTMWrapper').state_dict())
    assert {'cell.weight_ih', 'cell.weight_hh', 'cell.bias_ih', 'cell.bias_hh'} <= names
    assert not any(name.startswith('deeper_cells') for name in names)
    assert any(name.startswith('deeper_cells.0.') for name in make_recurrent('LSTMWrapper', 2).state_dict())


@pytest.mark.parametrize('rnn_name', WRAPPERS)
def test_size_mismatch_is_a_config_error(rnn_name):
    env = SpacesOnly(VECTOR, spaces.Discrete(3))
    with pytest.raises(ConfigError, match='policy.hidden_size = 32'):
        models.make_policy(env, 'Policy', rnn_name, dict(hidden_size=32), dict(hidden_size=64))
    with pytest.raises(ConfigError, match='rnn.num_layers = 0'):
        models.make_policy(env, 'Policy', rnn_name, None, dict(num_layers=0))


@pytest.mark.parametrize('rnn_name', WRAPPERS)
def test_config_validates_rnn_keys(rnn_name):
    """Every wrapper is found by the validator: its [rnn] keys are checked against its signature."""
    config = puffer_config.load('puffer_memory', overrides={'base.rnn_name': rnn_name, 'rnn.num_layers': 2})
    assert config['rnn']['num_layers'] == 2
    with pytest.raises(ConfigError, match=f'unknown key rnn.num_layer for {rnn_name}; did you mean rnn.num_layers'):
        puffer_config.load('puffer_memory', overrides={'base.rnn_name': rnn_name, 'rnn.num_layer': 2})
    with pytest.raises(ConfigError, match='rnn.num_layers = 0 must be an int'):
        puffer_config.load('puffer_memory', overrides={'base.rnn_name': rnn_name, 'rnn.num_layers': 0})


# The LSTM's settings from test_learning.SANITY, with a smaller budget: with these seeds the mean score passes 0.95
# after ~30k steps (GRU), ~58k (minGRU) and ~42k (LSTM); each run takes 2-6 s.
MEMORY = {'env': {'num_envs': 256}, 'train': {'minibatch_size': 2048}}
BUDGETS = {'GRUWrapper': 100_000, 'MinGRUWrapper': 100_000}


@pytest.mark.parametrize('rnn_name', BUDGETS)
def test_recurrent_core_solves_memory(rnn_name, tmp_path):
    overrides = {'base': {'rnn_name': rnn_name}, 'env': MEMORY['env'],
                 'train': {**MEMORY['train'], 'total_timesteps': BUDGETS[rnn_name]}}
    _, result = train('puffer_memory', overrides, tmp_path)
    score = final_score(result.run_dir)
    assert score >= 0.95, f'{rnn_name}: score {score:.3f} < 0.95 after {result.global_step:,} steps'

