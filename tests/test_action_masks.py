"""Legal-action masks (docs/policies.md): the heads never sample or choose a masked action, log-probabilities and
entropies are those of the renormalized distribution, the vectors carry the masks, the trainer keeps each step's
mask for the update, Ocean connect4 (full columns illegal) trains and evaluates without an illegal move, tetris
masks its no-op actions, emulated PettingZoo / Gymnasium envs hand their masks on, the ONNX graph takes the mask as
an input, and a policy learns through masks."""
import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import gymnasium
from gymnasium import spaces

from pufferlib import config as puffer_config
from pufferlib import evaluate, models, trainer, vector
from pufferlib.actor import Actor
from pufferlib.dashboard import Dashboard
from pufferlib.envs import load_package
from pufferlib.envs.contract import PufferEnv, action_mask_size, allocate_buffers
from pufferlib.exceptions import APIUsageError
from trainer_hooks import epoch_means


def random_masks(rows, nvec, generator):
    """Random legal-action rows with at least one legal choice in every dimension."""
    parts = []
    for n in nvec:
        mask = torch.rand(rows, n, generator=generator) < 0.4
        mask[torch.arange(rows), torch.randint(n, (rows,), generator=generator)] = True
        parts.append(mask)
    return torch.cat(parts, dim=1)


@pytest.mark.parametrize('nvec', [[7], [3, 5, 2]])
def test_masked_sampling_and_greedy_never_pick_an_illegal_action(nvec):
    generator = torch.Generator().manual_seed(0)
    head = models.CategoricalHead(8, nvec)
    rows = 100_000
    # Large logits on the illegal choices: only the mask can keep them from being drawn.
    mask = random_masks(rows, nvec, generator)
    logits = torch.randn(rows, sum(nvec), generator=generator) * 3 + 20 * (~mask).float()
    actions, logprob = head.sample(logits, head.noise(rows, 'cpu'), mask)
    greedy = head.greedy(logits, mask)
    offsets = np.cumsum([0] + nvec[:-1])
    for chosen in (actions, greedy):
        chosen = chosen.reshape(rows, len(nvec))
        columns = chosen + torch.as_tensor(offsets)
        assert mask.gather(1, columns).all()
    assert torch.isfinite(logprob).all()
    # Without the mask, those same logits pick illegal actions nearly always: the test can fail.
    unmasked, _ = head.sample(logits, head.noise(rows, 'cpu'))
    columns = unmasked.reshape(rows, len(nvec)) + torch.as_tensor(offsets)
    assert not mask.gather(1, columns).all(1).float().mean() > 0.5


def reference_logprob_entropy(logits, mask, actions, nvec):
    """By hand: each dimension's softmax restricted to its legal choices and renormalized."""
    logprob = np.zeros(len(logits))
    entropy = np.zeros(len(logits))
    start = 0
    for d, n in enumerate(nvec):
        for row in range(len(logits)):
            legal = mask[row, start:start + n]
            if not legal.any():
                legal = np.ones(n, bool)
            z = np.exp(logits[row, start:start + n].astype(np.float64)) * legal
            p = z / z.sum()
            logprob[row] += np.log(p[actions[row, d]])
            entropy[row] -= sum(q * np.log(q) for q in p if q > 0)
        start += n
    return logprob, entropy


@pytest.mark.parametrize('nvec', [[5], [4, 3]])
def test_masked_logprob_and_entropy_match_a_hand_renormalized_reference(nvec):
    generator = torch.Generator().manual_seed(1)
    head = models.CategoricalHead(8, nvec)
    rows = 64
    mask = random_masks(rows, nvec, generator)
    mask[0] = False  # an absent agent's row: no legal action at all counts as every action legal
    logits = torch.randn(rows, sum(nvec), generator=generator, requires_grad=True)
    actions, sampled_logprob = head.sample(logits.detach(), head.noise(rows, 'cpu'), mask)
    actions = actions.reshape(rows, len(nvec))
    logprob, entropy = head.logprob_entropy(logits, actions, mask)
    expected_logprob, expected_entropy = reference_logprob_entropy(logits.detach().numpy(), mask.numpy(),
                                                                   actions.numpy(), nvec)
    np.testing.assert_allclose(logprob.detach().numpy(), expected_logprob, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(entropy.detach().numpy(), expected_entropy, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sampled_logprob.numpy(), expected_logprob, rtol=1e-5, atol=1e-5)
    (logprob.sum() + entropy.sum()).backward()  # 0 * log 0 must not turn into nan, in values or gradients
    assert torch.isfinite(logits.grad).all()
    assert (logits.grad[1:][~mask[1:]] == 0).all()  # illegal logits get no gradient


def test_actor_applies_the_mask_when_sampling_and_when_greedy():
    env = SimpleNamespace(single_observation_space=spaces.Box(-1, 1, (4,)),
                          single_action_space=spaces.Discrete(6))
    policy = models.Policy(env, hidden_size=16)
    observations = torch.randn(500, 4)
    mask = torch.zeros(500, 6, dtype=torch.bool)
    mask[:, 2] = True
    mask[::2, 5] = True
    for deterministic in (False, True):
        actions, logprob, _, _ = Actor(policy, env.single_action_space, deterministic=deterministic).act(
            observations, action_mask=mask.numpy())
        assert mask[torch.arange(500), actions].all()
        assert torch.allclose(logprob[1::2], torch.zeros(250), atol=1e-6)  # one legal action: probability 1
    box = SimpleNamespace(single_observation_space=env.single_observation_space,
                          single_action_space=spaces.Box(-1, 1, (2,)))
    with pytest.raises(APIUsageError, match='cannot be masked'):
        Actor(models.Policy(box, hidden_size=16), box.single_action_space).act(observations, action_mask=mask)


def test_mask_buffers_follow_the_action_space():
    assert action_mask_size(spaces.Discrete(7)) == 7
    assert action_mask_size(spaces.MultiDiscrete([3, 4])) == 7
    with pytest.raises(APIUsageError, match='Box'):
        action_mask_size(spaces.Box(-1, 1, (2,)))
    buffers = allocate_buffers(spaces.Box(0, 1, (3,)), spaces.MultiDiscrete([2, 3]), 4, action_masks=True)
    assert buffers.action_masks.shape == (4, 5) and buffers.action_masks.all()
    assert buffers.rows(1, 3).action_masks.shape == (2, 5)
    assert allocate_buffers(spaces.Box(0, 1, (3,)), spaces.Discrete(2), 4).action_masks is None


# ---- Ocean connect4: full columns are illegal ----

def connect4(num_envs=4, **kwargs):
    return load_package('ocean').env_creator('puffer_connect4')(num_envs=num_envs, **kwargs)


def full_columns(observations):
    """Columns whose top cell holds a stone of either side (observation planes are row-major from the top)."""
    board = observations.reshape(-1, 2, 6, 7)
    return board[:, :, 0, :].sum(1) > 0


def test_connect4_masks_exactly_the_full_columns():
    env = connect4(num_envs=8)
    assert env.has_action_masks and env.action_masks.shape == (8, 7)
    env.reset(seed=3)
    random = np.random.default_rng(0)
    saw_full = False
    for _ in range(300):
        np.testing.assert_array_equal(env.action_masks, ~full_columns(env.observations))
        saw_full |= bool(full_columns(env.observations).any())
        env.actions[:] = evaluate.random_legal_actions(random, env.action_masks, env.single_action_space)
        env.step(env.actions)
    assert saw_full
    env.vector.set_board(0, sum(1 << (7 * 3 + row) for row in range(0, 6, 2)),
                         sum(1 << (7 * 3 + row) for row in range(1, 6, 2)))  # column 3 full
    assert env.action_masks[0].tolist() == [True, True, True, False, True, True, True]
    state = env.snapshot()
    env.reset(seed=1)
    env.restore(state)  # the mask comes back with the board
    assert env.action_masks[0].tolist() == [True, True, True, False, True, True, True]
    env.close()


@pytest.mark.parametrize('backend', ['Serial', 'Multiprocessing', pytest.param('Ray', marks=pytest.mark.slow)])
def test_vectors_carry_the_masks_of_each_batch(backend):
    if backend == 'Ray':
        pytest.importorskip('ray')
    creator = load_package('ocean').env_creator('puffer_connect4')
    vecenv = vector.make(creator, backend=backend, num_envs=4, num_workers=2 if backend != 'Serial' else None,
                         batch_size=2, zero_copy=False, seed=5, env_kwargs=dict(num_envs=3))
    assert vecenv.has_action_masks
    vecenv.async_reset(5)
    random = np.random.default_rng(1)
    for _ in range(200):
        observations, _, _, _, _, agent_ids, _ = vecenv.recv()
        assert vecenv.action_masks.shape == (6, 7)
        np.testing.assert_array_equal(vecenv.action_masks, ~full_columns(observations))
        vecenv.send(evaluate.random_legal_actions(random, vecenv.action_masks, vecenv.single_action_space))
    vecenv.close()


def connect4_config(tmp_path, steps):
    return puffer_config.load('puffer_connect4', overrides={
        'env': {'num_envs': 32, 'log_interval': 16},
        'train': dict(total_timesteps=steps, bptt_horizon=16, minibatch_size=256, device='cpu',
                      data_dir=str(tmp_path), seed=1, checkpoint_interval=1000)})


@pytest.fixture(scope='module')
def connect4_run(tmp_path_factory):
    """A short connect4 run by the real trainer, its every Trainer watched."""
    tmp_path = tmp_path_factory.mktemp('connect4')
    built = []
    original = trainer.Trainer

    class Watched(original):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)
    trainer.Trainer = Watched
    try:
        result = trainer.train(connect4_config(tmp_path, 20_000), SimpleNamespace(),
                               dashboard=Dashboard('c4', live=False, file=io.StringIO()))
    finally:
        trainer.Trainer = original
    return SimpleNamespace(result=result, trainer=built[0], tmp_path=tmp_path)


def test_connect4_training_stores_the_masks_and_never_plays_a_full_column(connect4_run):
    from pufferlib import runs
    learner = connect4_run.trainer
    assert learner.action_masks is not None and learner.action_masks.shape[-1] == 7
    # The last rollout's masks are the boards': some columns filled up, and no stored action is illegal.
    stored = learner.action_masks.reshape(-1, 7)
    actions = learner.actions.reshape(-1).long()
    assert (~stored).any()
    assert stored[torch.arange(len(actions)), actions].all()
    rows = [row for row in runs.read_metrics(connect4_run.result.run_dir) if 'env/illegal' in row]
    assert rows and all(row['env/illegal'] == 0 for row in rows)


@pytest.mark.parametrize('deterministic', [False, True])
def test_connect4_eval_never_plays_a_full_column(connect4_run, deterministic):
    config = connect4_config(connect4_run.tmp_path, 20_000)
    options = SimpleNamespace(**{**evaluate.OPTION_DEFAULTS, 'render_mode': 'none', 'episodes': 40,
                                 'load_model_path': str(connect4_run.result.model_path),
                                 'deterministic': deterministic})
    result = evaluate.evaluate(config, options)
    assert len(result.episodes) >= 40
    assert all(episode['illegal'] == 0 for episode in result.episodes)


def test_random_eval_plays_legal_moves_only(tmp_path):
    config = connect4_config(tmp_path, 20_000)
    options = SimpleNamespace(**{**evaluate.OPTION_DEFAULTS, 'render_mode': 'none', 'episodes': 100})
    result = evaluate.evaluate(config, options)
    assert all(episode['illegal'] == 0 for episode in result.episodes)


# ---- learning through masks ----

class HighestLegal(PufferEnv):
    """Each step a random set of the 8 actions is legal, shown in the observation; the highest legal action pays 1,
    any other legal one 0. A masked random policy earns about 0.3; one that learns, near 1."""

    single_observation_space = spaces.Box(0, 1, (8,), np.float32)
    single_action_space = spaces.Discrete(8)
    has_action_masks = True

    def __init__(self, buf=None, seed=0, num_agents=64):
        self.num_agents = num_agents
        super().__init__(buf)
        self.random = np.random.default_rng(seed)

    def draw(self):
        legal = self.random.random((self.num_agents, 8)) < 0.4
        legal[np.arange(self.num_agents), self.random.integers(0, 8, self.num_agents)] = True
        self.action_masks[:] = legal
        self.observations[:] = legal

    def reset(self, seed=None):
        if seed is not None:
            self.random = np.random.default_rng(seed)
        self.draw()
        return self.observations, []

    def step(self, actions):
        legal = self.action_masks
        assert legal[np.arange(self.num_agents), actions].all(), 'an illegal action was taken'
        highest = 7 - np.argmax(legal[:, ::-1], axis=1)
        self.rewards[:] = actions == highest
        self.terminals[:] = True
        infos = [{'score': float(self.rewards.mean()), 'episode_return': float(self.rewards.mean()),
                  'episode_length': 1.0}]
        self.draw()
        return self.observations, self.rewards, self.terminals, self.truncations, infos


def test_policy_learns_the_best_legal_action(tmp_path):
    vecenv = vector.make(HighestLegal, backend='PufferEnv', seed=0)
    scores = epoch_means(vecenv, 'score', vec={'backend': 'PufferEnv', 'num_envs': 1}, policy={'hidden_size': 32},
                         train=dict(total_timesteps=60_000, bptt_horizon=8, batch_size=512, minibatch_size=256,
                                    device='cpu', data_dir=str(tmp_path), learning_rate=0.01, ent_coef=0.001,
                                    update_epochs=2))
    assert scores[0] < 0.5, scores[:3]
    assert np.mean(scores[-5:]) > 0.9, scores[-5:]


# ---- emulation: PettingZoo classic's observation Dict, Gymnasium's info['action_mask'] ----

def test_emulated_pettingzoo_classic_game_plays_only_legal_moves():
    from pettingzoo.classic import tictactoe_v3
    from pufferlib.envs.emulation import PettingZooPufferEnv, TurnBasedParallelEnv
    env = PettingZooPufferEnv(TurnBasedParallelEnv(tictactoe_v3.env()), seed=0)
    assert env.has_action_masks and env.action_masks.shape == (2, 9)
    assert env.single_observation_space.shape == (3, 3, 2)  # the board without its 'action_mask' entry
    policy = models.Policy(env, hidden_size=16)
    # A policy that prefers the corner 0 above all: only the mask keeps it off an occupied square.
    with torch.no_grad():
        policy.action_head.linear.bias[:] = torch.tensor([50.0] + [0.0] * 8)
    acting = Actor(policy, env.single_action_space, deterministic=True)
    env.reset(seed=0)
    returns, games = [], 0
    while games < 30:
        board = env.observations.reshape(2, 3, 3, 2).sum(-1).reshape(2, 9)  # both planes: occupied squares
        turn = int(env.action_masks[1].any())
        assert not (env.action_masks[turn] & (board[turn] > 0)).any()  # occupied squares are masked
        actions, _, _, _ = acting.act(env.observations, action_mask=env.action_masks)
        assert env.action_masks[turn, actions[turn]]
        env.actions[:] = acting.to_env(actions)
        _, rewards, terminals, _, infos = env.step(env.actions)
        games += len(infos)
        if terminals.any():
            returns.append(sorted(rewards.tolist()))
    # Illegal moves would end games as losses of -1 for the mover only; legal games end in a win, loss or draw.
    assert all(result in ([-1.0, 1.0], [0.0, 0.0]) for result in returns)


class InfoMaskEnv(gymnasium.Env):
    """MultiDiscrete([3, 2]) actions whose legal choices are told in info['action_mask'], one array per
    dimension (Gymnasium's convention for MultiDiscrete.sample(mask=...)); an illegal action raises."""

    observation_space = spaces.Box(0, 1, (5,), np.float32)
    action_space = spaces.MultiDiscrete([3, 2])

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return self.observe()

    def observe(self):
        self.legal = (self.np_random.random(3) < 0.5, np.array([True, False]))
        self.legal[0][self.np_random.integers(3)] = True
        observation = np.concatenate(self.legal).astype(np.float32)
        return observation, {'action_mask': tuple(part.astype(np.int8) for part in self.legal)}

    def step(self, action):
        if not (self.legal[0][action[0]] and self.legal[1][action[1]]):
            raise ValueError(f'illegal action {action}')
        observation, info = self.observe()
        return observation, 1.0, False, False, info


def test_emulated_gymnasium_info_masks_reach_the_policy():
    from pufferlib.envs.emulation import GymnasiumPufferEnv
    env = GymnasiumPufferEnv(InfoMaskEnv(), seed=0, action_masks=True)
    assert env.action_masks.shape == (1, 5)
    policy = models.Policy(env, hidden_size=16)
    acting = Actor(policy, env.single_action_space)
    env.reset(seed=0)
    for _ in range(300):
        np.testing.assert_array_equal(env.action_masks[0], env.observations[0] > 0)
        actions, _, _, _ = acting.act(env.observations, action_mask=env.action_masks)
        env.step(acting.to_env(actions))  # InfoMaskEnv raises on an illegal action
    unmasked = GymnasiumPufferEnv(InfoMaskEnv(), seed=0)
    assert not unmasked.has_action_masks and unmasked.action_masks is None


def test_emulated_mask_of_the_wrong_size_is_named():
    from pufferlib.envs.contract import EnvOutputError
    from pufferlib.envs.emulation import GymnasiumPufferEnv

    class Short(InfoMaskEnv):
        def observe(self):
            observation, _ = super().observe()
            return observation, {'action_mask': np.ones(4)}

    with pytest.raises(EnvOutputError, match='expected 5 0/1 entries'):
        GymnasiumPufferEnv(Short(), action_masks=True).reset(seed=0)
    with pytest.raises(EnvOutputError, match="no info\\['action_mask'\\]"):
        GymnasiumPufferEnv(gymnasium.make('CartPole-v1'), action_masks=True).reset(seed=0)


# ---- export: the mask is the graph's last input ----

def test_export_takes_the_mask_as_input_and_honours_it(connect4_run, tmp_path):
    onnxruntime = pytest.importorskip('onnxruntime')
    from pufferlib import export
    config = connect4_config(connect4_run.tmp_path, 20_000)
    path = tmp_path / 'connect4.onnx'
    result = export.export(config, SimpleNamespace(**{**export.OPTION_DEFAULTS, 'output': str(path),
                                                      'load_model_path': str(connect4_run.result.model_path)}))
    assert result.input_names == ['observations', 'action_mask']
    env = connect4(num_envs=64)
    env.reset(seed=9)
    random = np.random.default_rng(2)
    for _ in range(40):  # boards with full columns
        env.step(evaluate.random_legal_actions(random, env.action_masks, env.single_action_space))
    session = onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    mask = env.action_masks.copy()
    mask[0] = [True, False, False, False, False, False, False]  # only column 0
    mask[1] = False  # no legal action: all count as legal
    logits, _ = session.run(None, {'observations': env.observations, 'action_mask': mask})
    assert (~mask[2:]).any()
    legal = mask | ~mask.any(1, keepdims=True)
    assert (logits[~legal] == -1e9).all() and (logits[legal] > -1e8).all()
    assert legal[np.arange(64), logits.argmax(1)].all() and logits[0].argmax() == 0
    policy = connect4_run.trainer.policy
    acting = Actor(policy, env.single_action_space, deterministic=True)
    greedy, _, _, _ = acting.act(env.observations, action_mask=mask)
    np.testing.assert_array_equal(logits.argmax(1), greedy.numpy())  # eval and the graph agree
    env.close()


# ---- Ocean tetris: actions that would do nothing are masked (parameter mask_actions) ----

def tetris(**params):
    return load_package('ocean').env_creator('puffer_tetris')(num_envs=1, **params)


def outcome(env, state, action):
    env.restore(state)
    env.step(np.array([action], np.int32))
    return env.observations.copy(), env.rewards.copy()


@pytest.mark.parametrize('placement', [0, 1])
def test_tetris_masks_exactly_the_actions_that_do_nothing_new(placement):
    assert not tetris(placement=placement).has_action_masks  # off by default: training is unchanged
    env = tetris(placement=placement, mask_actions=1)
    assert env.has_action_masks and env.action_masks.shape == (1, 40 if placement else 6)
    env.reset(seed=4)
    random = np.random.default_rng(3)
    masked_seen = 0
    for _ in range(60):
        state = env.snapshot()
        legal = env.action_masks[0].copy()
        masked = np.flatnonzero(~legal)
        masked_seen += len(masked)
        # A masked move does what noop does; masked placements all drop the piece where it is, alike.
        reference = outcome(env, state, 0 if not placement else masked[0]) if len(masked) else None
        for action in masked:
            observation, reward = outcome(env, state, action)
            np.testing.assert_array_equal(observation, reference[0])
            np.testing.assert_array_equal(reward, reference[1])
        if not placement:  # and a legal left / right / rotate does move the piece
            for action in np.flatnonzero(legal[1:4]) + 1:
                assert not np.array_equal(outcome(env, state, action)[0], outcome(env, state, 0)[0])
        env.restore(state)
        env.step(evaluate.random_legal_actions(random, env.action_masks, env.single_action_space).astype(np.int32))
    assert masked_seen > 0
    env.close()


def test_update_recomputes_the_stored_log_probabilities_with_the_stored_masks(tmp_path):
    """Before any update the PPO ratio must be exactly 1: the update's log-probabilities, computed with each step's
    stored mask, are the ones sampling produced. Without the masks they would not be."""
    config = connect4_config(tmp_path, 20_000)
    vecenv = vector.make_from_config(config)
    policy = models.make_policy(vecenv.driver_env, 'Policy', policy_kwargs=config['policy'])
    learner = trainer.Trainer(config, vecenv, policy)
    learner.reset_envs(0)
    for _ in range(3):  # a few rollouts (no update): boards fill up, some columns get masked
        learner.collect()
    valid = learner.masks.bool().clone()
    valid[:, -1] = False  # a segment's last step is acted on in the next rollout
    observations = learner.observations.reshape(-1, *learner.observations.shape[2:])
    actions = learner.actions.reshape(-1)
    masks = learner.action_masks.reshape(-1, 7)
    with torch.no_grad():
        params, _ = policy(observations)
        masked, _ = policy.action_head.logprob_entropy(params, actions, masks)
        unmasked, _ = policy.action_head.logprob_entropy(params, actions)
    stored = learner.logprobs.reshape(-1)[valid.reshape(-1)]
    assert (~masks).any()
    torch.testing.assert_close(masked[valid.reshape(-1)], stored, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(unmasked[valid.reshape(-1)], stored, atol=1e-3)
    vecenv.close()
