"""Policies: shapes for every action space, distributions against torch.distributions, images and structured
observations. The recurrent wrappers are tested in test_recurrent.py."""
import gymnasium
import numpy as np
import pytest
import torch
from gymnasium import spaces

from pufferlib import models

from pufferlib.envs import emulation
from pufferlib.envs.contract import PufferEnv
from pufferlib.exceptions import ConfigError


class SpacesOnly(PufferEnv):
    """Just the spaces a policy is built from."""

    def __init__(self, observation_space, action_space, num_agents=1):
        self.single_observation_space = observation_space
        self.single_action_space = action_space
        self.num_agents = num_agents
        super().__init__()


VECTOR = spaces.Box(-1, 1, (6,), np.float32)
ACTION_SPACES = {
    'discrete': spaces.Discrete(5),
    'multidiscrete': spaces.MultiDiscrete([3, 2, 4]),
    'continuous': spaces.Box(-1, 1, (2,), np.float32),
}


def check_actions(policy, env, observations):
    params, value = policy(observations)
    assert value.shape == (len(observations),)
    actions, logprob = policy.action_head.sample(params)
    assert logprob.shape == (len(observations),)
    space = env.single_action_space
    if isinstance(space, spaces.Box):
        assert actions.shape == (len(observations), *space.shape) and actions.is_floating_point()
    elif isinstance(space, spaces.MultiDiscrete):
        assert actions.shape == (len(observations), len(space.nvec))
        assert ((actions >= 0) & (actions < torch.as_tensor(space.nvec))).all()
    else:
        assert actions.shape == (len(observations),)
        assert ((actions >= 0) & (actions < space.n)).all()
    again, entropy = policy.action_head.logprob_entropy(params, actions)
    torch.testing.assert_close(again, logprob)
    assert entropy.shape == (len(observations),) and (entropy > 0).all()


@pytest.mark.parametrize('action', ACTION_SPACES)
def test_mlp_every_action_space(action):
    env = SpacesOnly(VECTOR, ACTION_SPACES[action])
    policy = models.Policy(env, hidden_size=32, num_layers=2)
    check_actions(policy, env, torch.rand(9, 6) * 2 - 1)


def test_categorical_matches_torch_distributions():
    head = models.CategoricalHead(8, [3, 2, 4])
    logits = torch.randn(10, 9)
    actions = torch.stack([torch.randint(0, n, (10,)) for n in (3, 2, 4)], dim=1)
    logprob, entropy = head.logprob_entropy(logits, actions)
    parts = [torch.distributions.Categorical(logits=chunk) for chunk in logits.split([3, 2, 4], dim=1)]
    torch.testing.assert_close(logprob, sum(d.log_prob(actions[:, i]) for i, d in enumerate(parts)))
    torch.testing.assert_close(entropy, sum(d.entropy() for d in parts))


def test_categorical_samples_follow_the_probabilities():
    torch.manual_seed(0)
    head = models.CategoricalHead(4, [3])
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.1]])).expand(20000, 3)
    actions, _ = head.sample(logits)
    frequencies = torch.bincount(actions, minlength=3).float() / len(actions)
    torch.testing.assert_close(frequencies, torch.tensor([0.6, 0.3, 0.1]), atol=0.015, rtol=0)


def test_gaussian_matches_torch_distributions():
    head = models.GaussianHead(8, (3,))
    with torch.no_grad():
        head.log_std.copy_(torch.tensor([-0.5, 0.0, 0.7]))
    mean = torch.randn(10, 3)
    actions = torch.randn(10, 3)
    logprob, entropy = head.logprob_entropy(mean, actions)
    normal = torch.distributions.Normal(mean, head.log_std.exp())
    torch.testing.assert_close(logprob, normal.log_prob(actions).sum(1))
    torch.testing.assert_close(entropy, normal.entropy().sum(1))


@pytest.mark.parametrize('shape', [(84, 84, 4), (4, 84, 84), (64, 64, 3), (84, 84)])
@pytest.mark.parametrize('name', ['Convolutional', 'ProcgenResnet'])
def test_image_policies(name, shape):
    env = SpacesOnly(spaces.Box(0, 255, shape, np.uint8), spaces.Discrete(6))
    policy = getattr(models, name)(env, hidden_size=64)
    observations = torch.randint(0, 256, (3, *shape), dtype=torch.uint8)
    check_actions(policy, env, observations)


def test_image_policy_rejects_flat_observations():
    with pytest.raises(ConfigError, match='policy_name = Policy'):
        models.Convolutional(SpacesOnly(VECTOR, spaces.Discrete(2)))


def test_channels_last_frames_are_read_as_images():
    """An [H, W, C] frame and the same frame as [C, H, W] give the same output with the same weights."""
    torch.manual_seed(0)
    last = models.Convolutional(SpacesOnly(spaces.Box(0, 255, (64, 64, 3), np.uint8), spaces.Discrete(2)))
    first = models.Convolutional(SpacesOnly(spaces.Box(0, 255, (3, 64, 64), np.uint8), spaces.Discrete(2)))
    first.load_state_dict(last.state_dict())
    frames = torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8)
    torch.testing.assert_close(last(frames)[1], first(frames.permute(0, 3, 1, 2).contiguous())[1])


def test_mlp_activation_is_a_choice():
    env = SpacesOnly(VECTOR, spaces.Discrete(3))
    assert isinstance(models.Policy(env, activation='relu').encoder[2], torch.nn.ReLU)
    with pytest.raises(ConfigError, match="policy.activation = 'swish'.*valid: gelu, silu, relu, tanh"):
        models.Policy(env, activation='swish')


@pytest.mark.parametrize('feature_hidden', [0, 8])
def test_action_feature_policy_scores_each_action_from_its_own_block(feature_hidden):
    """Observations end with one block of features per action; the same scorer reads every block, so equal blocks
    get equal logits up to the state's own per-action term, and changing one block moves only that action."""
    env = SpacesOnly(spaces.Box(0, 1, (6 + 4 * 3,), np.float32), spaces.Discrete(4))
    policy = models.make_policy(env, 'ActionFeaturePolicy', None, dict(hidden_size=16, action_features=3,
                                                                         feature_hidden=feature_hidden))
    check_actions(policy, env, torch.rand(9, 18))
    observations = torch.rand(5, 18)
    changed = observations.clone()
    changed[:, 6 + 3 * 2:6 + 3 * 3] += 0.5   # action 2's features
    with torch.no_grad():
        before, value = policy(observations)
        after, value_after = policy(changed)
        scores = policy.encode_observations(observations)[:, 16:]
    moved = (after - before).abs().amax(0)
    assert moved[2] > 0 and moved[[0, 1, 3]].max() == 0
    torch.testing.assert_close(value, value_after)   # the value reads the state part only
    shared = torch.rand(5, 1, 3).expand(5, 4, 3).reshape(5, 12)
    with torch.no_grad():
        same = policy.encode_observations(torch.cat([observations[:, :6], shared], 1))[:, 16:]
    torch.testing.assert_close(same, same[:, :1].expand(5, 4))
    assert scores.shape == (5, 4)


def test_action_feature_policy_errors_name_the_problem():
    env = SpacesOnly(spaces.Box(0, 1, (10,), np.float32), spaces.Discrete(4))
    with pytest.raises(ConfigError, match='policy.action_features = 3: 4 actions'):
        models.make_policy(env, 'ActionFeaturePolicy', None, dict(action_features=3))
    with pytest.raises(ConfigError, match='policy.feature_hidden = -1 must be 0'):
        models.make_policy(env, 'ActionFeaturePolicy', None, dict(action_features=2, feature_hidden=-1))
    with pytest.raises(ConfigError, match='needs a Discrete action space'):
        models.make_policy(SpacesOnly(VECTOR, ACTION_SPACES['continuous']), 'ActionFeaturePolicy')
    env = SpacesOnly(spaces.Box(0, 1, (12,), np.float32), spaces.Discrete(4))
    with pytest.raises(ConfigError, match='cannot wrap ActionFeaturePolicy'):
        models.make_policy(env, 'ActionFeaturePolicy', 'LSTMWrapper', dict(action_features=2))


def test_unknown_names_are_config_errors():
    env = SpacesOnly(VECTOR, spaces.Discrete(3))
    with pytest.raises(ConfigError, match='valid: Policy'):
        models.make_policy(env, 'Transformer')
    with pytest.raises(ConfigError, match='LSTMWrapper'):
        models.make_policy(env, 'Policy', 'GRU')


class MixedObservations(gymnasium.Env):
    """A Dict observation whose parts need different dtypes, so emulation packs them as raw bytes."""
    observation_space = spaces.Dict({
        'position': spaces.Box(-1e6, 1e6, (3,), np.float64),
        'count': spaces.Box(0, 2**60, (1,), np.int64),  # no float holds every int64 exactly
        'grid': spaces.Box(0, 255, (2, 2), np.uint8),
    })
    action_space = spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def test_structured_observations_are_unpacked():
    torch.manual_seed(1)  # untrained logits of these 1e5-sized inputs can saturate (zero entropy) for some seeds
    env = emulation.GymnasiumPufferEnv(MixedObservations())
    assert emulation.observation_layout(env.structured_observation_space).packed
    value = {'position': np.array([1.5, -2.0, 1e5]), 'count': np.array([777]),
             'grid': np.array([[1, 2], [3, 250]], np.uint8)}
    row = emulation.flatten(value, env.structured_observation_space)
    flat = models.FlatObservations(env)
    assert flat.size == 3 + 1 + 4
    features = flat(torch.from_numpy(np.stack([row, row])))
    # Parts in the order of the (key-sorted) Dict space: count, grid, position.
    expected = torch.tensor([777, 1, 2, 3, 250, 1.5, -2.0, 1e5])
    torch.testing.assert_close(features, torch.stack([expected, expected]))
    policy = models.Policy(env, hidden_size=16)
    check_actions(policy, env, torch.from_numpy(np.stack([row] * 4)))
