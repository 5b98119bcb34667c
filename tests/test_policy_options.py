"""[policy] options of the MLP `Policy`: layer sizes, initialization, separate actor and critic towers, and the Box
action options (initial std, state-dependent std, tanh squashing). Their defaults build today's network exactly
(bench.fingerprint and tests/test_eval.py check that end to end)."""
import io
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from gymnasium import spaces

from pufferlib import config as puffer_config
from pufferlib import models, runs, trainer
from pufferlib.dashboard import Dashboard
from pufferlib.exceptions import ConfigError
from pufferlib.envs.contract import PufferEnv


class SpacesOnly(PufferEnv):
    def __init__(self, observation_space, action_space):
        self.single_observation_space = observation_space
        self.single_action_space = action_space
        self.num_agents = 1
        super().__init__()


VECTOR = spaces.Box(-1, 1, (6,), np.float32)
BOX = spaces.Box(np.array([-1.0, 0.0, -3.0], np.float32), np.array([1.0, 2.0, 5.0], np.float32))
DISCRETE = spaces.Discrete(4)


def linears(module):
    return [layer for layer in module.modules() if isinstance(layer, torch.nn.Linear)]


@pytest.mark.parametrize('layer_sizes', ['256,128', '64', (32, 16, 8), 24])
def test_layer_sizes_set_each_layer(layer_sizes):
    policy = models.Policy(SpacesOnly(VECTOR, DISCRETE), hidden_size=999, num_layers=7, layer_sizes=layer_sizes)
    expected = models.parse_layer_sizes(layer_sizes)
    widths = [layer.out_features for layer in linears(policy.encoder)]
    assert widths == list(expected) and linears(policy.encoder)[0].in_features == 6
    assert policy.hidden_size == expected[-1] and policy.value_head.in_features == expected[-1]
    params, value = policy(torch.rand(5, 6))
    assert params.shape == (5, 4) and value.shape == (5,)


def test_empty_layer_sizes_means_hidden_size_and_num_layers():
    env = SpacesOnly(VECTOR, DISCRETE)
    for unset in (None, ''):
        policy = models.Policy(env, hidden_size=16, num_layers=3, layer_sizes=unset)
        assert [layer.out_features for layer in linears(policy.encoder)] == [16, 16, 16]


def check_orthogonal(weight, gain):
    rows, columns = weight.shape
    product = weight @ weight.T if rows <= columns else weight.T @ weight
    torch.testing.assert_close(product, gain ** 2 * torch.eye(min(rows, columns)), atol=1e-4, rtol=1e-4)


def test_orthogonal_init_gains_and_zero_biases():
    policy = models.Policy(SpacesOnly(VECTOR, BOX), layer_sizes='32,16', init='orthogonal', init_gain=0.7)
    for layer in linears(policy.encoder):
        check_orthogonal(layer.weight.detach(), 0.7)
        assert not layer.bias.any()
    check_orthogonal(policy.action_head.mean.weight.detach(), 0.01)
    check_orthogonal(policy.value_head.weight.detach(), 1.0)
    assert not policy.action_head.mean.bias.any() and not policy.value_head.bias.any()


def test_torch_default_init_is_not_orthogonal():
    torch.manual_seed(0)
    policy = models.Policy(SpacesOnly(VECTOR, DISCRETE), hidden_size=32, init='torch_default')
    layer = linears(policy.encoder)[0]
    assert layer.bias.any()  # PyTorch draws biases too
    bound = 1 / math.sqrt(layer.in_features)  # nn.Linear's kaiming-uniform bound
    assert layer.weight.abs().max() <= bound


def test_separate_towers_share_no_parameters():
    policy = models.Policy(SpacesOnly(VECTOR, BOX), layer_sizes='32,16', share_actor_critic=False)
    actor = {id(p) for p in policy.encoder.parameters()} | {id(p) for p in policy.action_head.parameters()}
    critic = {id(p) for p in policy.value_encoder.parameters()} | {id(p) for p in policy.value_head.parameters()}
    assert actor and critic and not actor & critic
    assert len(list(policy.parameters())) == len(actor) + len(critic)
    # The value loss reaches only the critic's tower.
    params, value = policy(torch.rand(5, 6))
    value.sum().backward()
    assert all(p.grad is None or not p.grad.any() for p in policy.encoder.parameters())
    assert all(p.grad.any() for p in policy.value_encoder.parameters())
    assert models.observation_features(policy) is policy.observations


def test_separate_towers_cannot_go_under_an_rnn():
    env = SpacesOnly(VECTOR, DISCRETE)
    with pytest.raises(ConfigError, match='policy.share_actor_critic'):
        models.make_policy(env, 'Policy', 'GRUWrapper', {'share_actor_critic': False})


def test_initial_std_sets_the_log_std():
    head = models.Policy(SpacesOnly(VECTOR, BOX), initial_std=0.5).action_head
    torch.testing.assert_close(head.log_std.detach(), torch.full((3,), math.log(0.5)))
    head = models.Policy(SpacesOnly(VECTOR, BOX), initial_std=0.5, state_dependent_std=True).action_head
    _, log_std = head.mean_and_log_std(head.output_layer(torch.zeros(1, 128)))  # the bias alone
    torch.testing.assert_close(log_std, torch.full((1, 3), math.log(0.5)))


def test_state_dependent_std_changes_with_the_input():
    torch.manual_seed(0)
    policy = models.Policy(SpacesOnly(VECTOR, BOX), hidden_size=32, state_dependent_std=True)
    assert not hasattr(policy.action_head, 'log_std')
    with torch.no_grad():
        policy.action_head.mean_log_std.weight.normal_()  # 0.01-gain init makes the variation tiny
    params, _ = policy(torch.rand(8, 6) * 2 - 1)
    assert params.shape == (8, 6)
    _, log_std = policy.action_head.mean_and_log_std(params)
    assert log_std.std(0).min() > 1e-3
    actions, logprob = policy.action_head.sample(params)
    again, entropy = policy.action_head.logprob_entropy(params, actions)
    torch.testing.assert_close(again, logprob)
    torch.testing.assert_close(entropy, (0.5 + 0.5 * math.log(2 * math.pi) + log_std).sum(-1))


def test_tanh_squash_stays_in_the_box_and_matches_the_reference():
    torch.manual_seed(0)
    policy = models.Policy(SpacesOnly(VECTOR, BOX), hidden_size=32, tanh_squash=True, initial_std=0.8)
    head = policy.action_head
    params, _ = policy(torch.rand(2000, 6) * 2 - 1)
    actions, logprob = head.sample(params)
    low, high = torch.as_tensor(BOX.low), torch.as_tensor(BOX.high)
    assert ((actions >= low) & (actions <= high)).all()
    # The change of variables done by torch.distributions: Normal -> tanh -> affine into the Box.
    mean, log_std = head.mean_and_log_std(params)
    reference = torch.distributions.TransformedDistribution(
        torch.distributions.Normal(mean, log_std.exp()),
        [torch.distributions.TanhTransform(), torch.distributions.AffineTransform((low + high) / 2, (high - low) / 2)])
    inside = ((actions - low) / (high - low) - 0.5).abs().max(-1).values < 0.49  # away from float saturation
    assert inside.float().mean() > 0.5
    expected = reference.log_prob(actions).sum(-1)
    torch.testing.assert_close(logprob[inside], expected[inside], atol=2e-3, rtol=1e-4)
    # The PPO update recomputes the same log-probability from the stored actions, saturated ones included.
    again, entropy = head.logprob_entropy(params, actions)
    torch.testing.assert_close(again, logprob)
    assert torch.isfinite(again).all() and torch.isfinite(entropy).all()
    greedy = head.greedy(params)
    torch.testing.assert_close(greedy, low + (torch.tanh(mean) + 1) * (high - low) / 2)


@pytest.mark.parametrize('options, key', [
    ({'layer_sizes': '256,abc'}, 'policy.layer_sizes'),
    ({'layer_sizes': '0'}, 'policy.layer_sizes'),
    ({'init': 'xavier'}, 'policy.init'),
    ({'init_gain': -1.0}, 'policy.init_gain'),
    ({'share_actor_critic': 'yes'}, 'policy.share_actor_critic'),
    ({'initial_std': 0.0}, 'policy.initial_std'),
    ({'tanh_squash': True, 'action': DISCRETE}, 'policy.tanh_squash'),
    ({'state_dependent_std': True, 'action': DISCRETE}, 'policy.state_dependent_std'),
    ({'tanh_squash': True, 'action': spaces.Box(-np.inf, np.inf, (2,), np.float32)}, 'policy.tanh_squash'),
])
def test_bad_options_are_one_line_config_errors(options, key):
    options = dict(options)
    env = SpacesOnly(VECTOR, options.pop('action', BOX))
    with pytest.raises(ConfigError) as error:
        models.Policy(env, **options)
    assert str(error.value).startswith(key) and '\n' not in str(error.value)


def test_options_are_policy_keys_in_the_config():
    config = puffer_config.load('puffer_continuous', overrides={
        'policy.layer_sizes': '32,16', 'policy.share_actor_critic': False, 'policy.tanh_squash': True})
    assert config['policy']['layer_sizes'] == '32,16' and config['policy']['tanh_squash'] is True
    with pytest.raises(ConfigError, match='policy.tanh_squahs'):
        puffer_config.load('puffer_continuous', overrides={'policy.tanh_squahs': True})
    with pytest.raises(ConfigError, match="policy.layer_sizes = '32,x'"):  # found by the validator, up front
        puffer_config.load('puffer_continuous', overrides={'policy.layer_sizes': '32,x'})


def test_continuous_learns_with_separate_towers_and_tanh_squash(tmp_path):
    """A short run (seconds): the score clearly rises from its start."""
    config = puffer_config.load('puffer_continuous', overrides={
        'train.device': 'cpu', 'train.data_dir': str(tmp_path), 'train.seed': 1, 'train.total_timesteps': 60_000,
        'policy.share_actor_critic': False, 'policy.tanh_squash': True})
    result = trainer.train(config, SimpleNamespace(),
                           dashboard=Dashboard('continuous', live=False, file=io.StringIO()))
    scores = [row['env/score'] for row in runs.read_metrics(result.run_dir) if 'env/score' in row]
    assert len(scores) >= 4
    first, last = np.mean(scores[:2]), np.mean(scores[-2:])
    assert last > first + 0.2, f'score {first:.3f} -> {last:.3f}'
