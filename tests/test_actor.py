"""The Actor (pufferlib.actor): greedy and sampled choice, Box clipping, the env's dtype, recurrent state reset on
done, and training, `puffer eval` and `puffer export` all acting through it."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from gymnasium import spaces

from pufferlib import config as puffer_config
from pufferlib import evaluate, export, models, trainer
from pufferlib.actor import Actor

OBSERVATIONS = spaces.Box(-1, 1, (4,), np.float32)


def fake_env(action_space, num_agents=3):
    dtype = np.float32 if isinstance(action_space, spaces.Box) else np.int32  # as PufferEnv buffers hold them
    actions = np.zeros((num_agents, *action_space.shape), dtype=dtype)
    return SimpleNamespace(single_observation_space=OBSERVATIONS, single_action_space=action_space,
                           num_agents=num_agents, actions=actions)


def policy_for(action_space, rnn_name=None):
    torch.manual_seed(0)
    return models.make_policy(fake_env(action_space), 'Policy', rnn_name, dict(hidden_size=16))


def observations(rows=3, seed=1):
    return torch.from_numpy(np.random.default_rng(seed).uniform(-1, 1, (rows, 4)).astype(np.float32))


def test_greedy_takes_the_mode_and_sampling_follows_the_noise():
    space = spaces.MultiDiscrete([3, 2])
    policy = policy_for(space)
    obs = observations()
    with torch.inference_mode():
        params, value = policy(obs)
    greedy, logprob, greedy_value, state = Actor(policy, space, deterministic=True).act(obs)
    assert greedy.tolist() == [[int(p[:3].argmax()), int(p[3:].argmax())] for p in params]
    assert state is None and torch.equal(greedy_value, value)
    assert torch.allclose(logprob, policy.action_head.logprob_entropy(params, greedy)[0])

    sampler = Actor(policy, space)
    noise = policy.action_head.noise(len(obs), 'cpu')
    actions, logprob, _, _ = sampler.act(obs, noise=noise)
    expected, expected_logprob = policy.action_head.sample(params, noise)
    assert torch.equal(actions, expected) and torch.equal(logprob, expected_logprob)
    torch.manual_seed(3)
    drawn = torch.stack([sampler.act(obs)[0] for _ in range(50)])
    assert len({tuple(row.flatten().tolist()) for row in drawn}) > 1  # sampled, not always the mode


def test_box_actions_are_clipped_and_take_the_env_dtype():
    space = spaces.Box(-1, 1, (2,), np.float32)
    actor = Actor(policy_for(space), space)
    env_actions = actor.to_env(torch.tensor([[5.0, -5.0], [0.5, 0.0]]))
    assert env_actions.dtype == np.float32 and env_actions.tolist() == [[1.0, -1.0], [0.5, 0.0]]
    assert Actor(actor.policy, space, dtype=np.float64).to_env(torch.tensor([[2.0, 0.25]])).dtype == np.float64
    greedy = Actor(actor.policy, space, deterministic=True).act(observations())[0]
    assert greedy.shape == (3, 2)  # the Gaussian mean, shaped as sampled actions are

    discrete = spaces.Discrete(4)
    actor = Actor(policy_for(discrete), discrete)
    assert actor.to_env(torch.tensor([3, 0, 1])).dtype == np.int32  # what the vectors hold
    assert Actor(actor.policy, discrete, dtype=np.int64).to_env(torch.tensor([3])).dtype == np.int64


@pytest.mark.parametrize('rnn_name', ['LSTMWrapper', 'GRUWrapper', 'MinGRUWrapper'])
def test_recurrent_state_restarts_from_zeros_on_done(rnn_name):
    space = spaces.Discrete(3)
    actor = Actor(policy_for(space, rnn_name), space, deterministic=True)
    obs = observations(2)
    zeros = actor.initial_state(2)
    assert all(tensor.shape == (2, 16) and not tensor.any() for tensor in zeros)
    state = tuple(torch.randn_like(tensor) for tensor in zeros)
    _, _, value, new_state = actor.act(obs, state, done=np.array([True, False]))
    _, _, fresh_value, fresh_state = actor.act(obs, zeros)
    _, _, kept_value, kept_state = actor.act(obs, state)
    assert value[0] == fresh_value[0] and value[1] == kept_value[1]
    for new, fresh, kept in zip(new_state, fresh_state, kept_state):
        assert torch.equal(new[0], fresh[0]) and torch.equal(new[1], kept[1])
    assert not torch.equal(fresh_state[0][1], kept_state[0][1])  # the state does matter


class ScriptedVector:
    """Two agents in one synchronous batch: random observations in, every sent action recorded."""

    def __init__(self, action_space):
        self.single_observation_space, self.single_action_space = OBSERVATIONS, action_space
        self.num_agents = 2
        self.rng = np.random.default_rng(0)
        self.received, self.sent = [], []

    def recv(self):
        obs = self.rng.uniform(-1, 1, (2, 4)).astype(np.float32)
        self.received.append(obs)
        zeros = np.zeros(2, np.float32)
        return obs, zeros, zeros, zeros, [], np.arange(2), np.ones(2, np.float32)

    def send(self, actions):
        self.sent.append(actions.copy())


@pytest.mark.parametrize('space', [spaces.Discrete(3), spaces.Box(-0.01, 0.01, (2,), np.float32)])
def test_training_eval_and_export_act_alike(space):
    config = puffer_config.load('puffer_squared', overrides={'train.device': 'cpu', 'train.compile': False})
    config['train'].update(bptt_horizon=4, batch_size=8, minibatch_size=8)  # 2 segments for the 2 scripted agents
    vector = ScriptedVector(space)
    learner = trainer.Trainer(config, vector, policy_for(space))
    assert isinstance(learner.actor, Actor) and learner.actor.policy is learner.policy
    torch.manual_seed(7)
    learner.collect()
    assert len(vector.sent) == 3

    # The actions training sent are what eval's actor draws from the same observations and random numbers.
    env = fake_env(space, num_agents=2)
    player = evaluate.PolicyActor(learner.policy, env, deterministic=False)
    torch.manual_seed(7)
    for obs, sent in zip(vector.received, vector.sent):
        played = player(obs, np.zeros(2, bool))
        np.testing.assert_array_equal(played, sent)
        assert played.dtype == sent.dtype
        if isinstance(space, spaces.Box):
            assert np.abs(sent).max() <= 0.01  # clipped into the tiny bounds

    # Greedy eval acts on the action parameters the exported graph computes.
    obs = torch.from_numpy(vector.received[0])
    greedy = evaluate.PolicyActor(learner.policy, env, deterministic=True)(vector.received[0], np.zeros(2, bool))
    with torch.inference_mode():
        params, _ = export.OnnxPolicy(Actor(learner.policy, space)).eval()(obs)
    if isinstance(space, spaces.Box):
        np.testing.assert_array_equal(greedy, np.clip(params.numpy(), space.low, space.high))
    else:
        np.testing.assert_array_equal(greedy, params.argmax(1).numpy())
