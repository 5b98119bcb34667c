"""pufferlib.envs.emulation: structured spaces round-trip through flat rows; real Gymnasium / PettingZoo envs step
exactly as they do unwrapped."""
import gymnasium
import numpy as np
import pytest
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv

import pufferlib.vector as vector
from pufferlib.envs import emulation
from pufferlib.envs.emulation import ActionLayout, GymnasiumPufferEnv, flatten, unflatten
from pufferlib.envs import gymnasium as gymnasium_package
from pufferlib.envs import pettingzoo as pettingzoo_package
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

SPACES = {
    'box_float32': spaces.Box(-1, 1, (3,), np.float32),
    'box_image': spaces.Box(0, 255, (4, 4, 3), np.uint8),
    'box_float64': spaces.Box(-np.inf, np.inf, (2, 2), np.float64),
    'discrete': spaces.Discrete(5),
    'discrete_start': spaces.Discrete(3, start=-1),
    'multi_discrete': spaces.MultiDiscrete([3, 4]),
    'multi_discrete_2d': spaces.MultiDiscrete([[2, 3], [4, 5]], start=[[1, 0], [0, -2]]),
    'multi_binary': spaces.MultiBinary([2, 3]),
    'dict': spaces.Dict({'position': spaces.Box(-1, 1, (2,), np.float32), 'heading': spaces.Discrete(4)}),
    'tuple': spaces.Tuple((spaces.Discrete(3), spaces.Box(0, 255, (2,), np.uint8))),
    'nested': spaces.Dict({
        'image': spaces.Box(0, 255, (3, 3), np.uint8),
        'inventory': spaces.Tuple((spaces.MultiBinary(4), spaces.Dict({'count': spaces.Discrete(200)}))),
    }),
    'packed': spaces.Dict({  # int64 beyond 2**53 and floats share no exact dtype: stored as raw bytes
        'big': spaces.Box(np.iinfo(np.int64).min, np.iinfo(np.int64).max, (2,), np.int64),
        'small': spaces.Box(-1, 1, (3,), np.float32),
        'flag': spaces.Discrete(2),
    }),
}


def assert_same_structure(expected, actual):
    if isinstance(expected, dict):
        assert expected.keys() == actual.keys()
        for key in expected:
            assert_same_structure(expected[key], actual[key])
    elif isinstance(expected, tuple):
        assert len(expected) == len(actual)
        for want, got in zip(expected, actual):
            assert_same_structure(want, got)
    else:
        if isinstance(actual, torch.Tensor):
            actual = actual.numpy()
        assert np.array_equal(np.asarray(expected), actual)
        assert np.asarray(expected).dtype == actual.dtype


def stack(values):
    """A list of structured values -> one structured value of batched arrays."""
    first = values[0]
    if isinstance(first, dict):
        return {key: stack([value[key] for value in values]) for key in first}
    if isinstance(first, tuple):
        return tuple(stack([value[i] for value in values]) for i in range(len(first)))
    return np.stack([np.asarray(value) for value in values])


@pytest.mark.parametrize('name', SPACES)
def test_flatten_unflatten_round_trips(name):
    space = SPACES[name]
    space.seed(0)
    values = [space.sample() for _ in range(8)]
    layout = emulation.observation_layout(space)
    rows = np.stack([flatten(value, space) for value in values])
    if not layout.packed:
        assert all(layout.box.contains(row) for row in rows)
    if isinstance(space, spaces.Box):
        assert layout.box is space  # a plain Box keeps its shape: image policies see images
    expected = stack(values)
    assert_same_structure(expected, unflatten(rows, space))
    assert_same_structure(expected, unflatten(torch.from_numpy(rows), space))
    # A batch with more leading dimensions, e.g. [segments, horizon, row] in the trainer.
    rows_2d = np.stack([rows, rows])
    structured = unflatten(torch.from_numpy(rows_2d), space)
    first_leaf = structured
    while isinstance(first_leaf, (dict, tuple)):
        first_leaf = next(iter(first_leaf.values())) if isinstance(first_leaf, dict) else first_leaf[0]
    assert first_leaf.shape[:2] == (2, 8)


def test_row_dtype_is_the_smallest_that_holds_every_part_exactly():
    image_and_heading = spaces.Dict({'image': spaces.Box(0, 255, (7, 7, 3), np.uint8),
                                     'direction': spaces.Discrete(4)})
    assert emulation.observation_layout(image_and_heading).box.dtype == np.uint8
    assert emulation.observation_layout(SPACES['dict']).box.dtype == np.float32
    assert emulation.observation_layout(SPACES['multi_binary']).box.dtype == np.uint8
    packed = emulation.observation_layout(SPACES['packed'])
    assert packed.packed and packed.box.dtype == np.uint8
    assert packed.box.shape[0] % 8 == 0  # every row keeps the int64 part aligned


def test_parts_without_fixed_size_are_left_out_with_a_warning():
    space = spaces.Dict({'image': spaces.Box(0, 255, (2, 2), np.uint8), 'mission': spaces.Text(10)})
    with pytest.warns(UserWarning, match=r'mission \(Text\)'):
        layout = emulation.observation_layout(space)
    row = flatten({'image': np.full((2, 2), 7, np.uint8), 'mission': 'go'}, layout.space)
    assert list(unflatten(row[None], space)) == ['image']
    with pytest.raises(APIUsageError, match='no fixed-size part'), pytest.warns(UserWarning):
        emulation.observation_layout(spaces.Dict({'mission': spaces.Text(10)}))


def test_structured_actions_become_multidiscrete():
    layout = ActionLayout(spaces.Dict({'move': spaces.Discrete(3), 'look': spaces.MultiDiscrete([2, 2]),
                                       'fire': spaces.Discrete(2, start=1)}))
    # gymnasium Dict sorts its keys: fire, look, move
    assert layout.flat == spaces.MultiDiscrete([2, 2, 2, 3])
    action = layout.to_structured(np.array([1, 0, 1, 2], np.int32))
    assert action['fire'] == 2 and action['look'].tolist() == [0, 1] and action['move'] == 2
    assert layout.space.contains(action)
    assert ActionLayout(spaces.MultiBinary(2)).flat == spaces.MultiDiscrete([2, 2])
    assert ActionLayout(spaces.Discrete(4, start=1)).to_structured(np.array(0, np.int32)) == 1
    boxes = ActionLayout(spaces.Tuple((spaces.Box(-1, 1, (2,)), spaces.Box(0, 5, (1,)))))
    assert boxes.flat == spaces.Box(np.array([-1, -1, 0], np.float32), np.array([1, 1, 5], np.float32))
    # Discrete and Box parts together: one MixedSpace row (tests/test_mixed_actions.py)
    mixed = ActionLayout(spaces.Tuple((spaces.Box(-1, 1, (1,)), spaces.Discrete(2)))).flat
    assert mixed.discrete == spaces.MultiDiscrete([2]) and mixed.box == spaces.Box(-1, 1, (1,), np.float32)
    with pytest.raises(APIUsageError, match='not supported'):
        ActionLayout(spaces.Tuple((spaces.Discrete(2), spaces.Text(3))))


def step_both(env_id, steps, seed, **kwargs):
    """Step an emulated env and the same env unwrapped with the same actions; yield both results per step."""
    reference = gymnasium.make(env_id, **kwargs)
    emulated = gymnasium_package.make(name=env_id, seed=seed, **kwargs)
    expected, _ = reference.reset(seed=seed)
    observations, _ = emulated.reset(seed)
    yield expected, observations, None, None
    action_space = reference.action_space
    action_space.seed(seed)
    for _ in range(steps):
        action = action_space.sample()
        flat_action = action if isinstance(action_space, spaces.Box) else np.int32(action)
        expected_step = reference.step(action)
        emulated_step = emulated.step(np.asarray(flat_action).reshape(emulated.actions.shape))
        if expected_step[2] or expected_step[3]:
            expected_step = (reference.reset()[0], *expected_step[1:])
        yield expected_step, emulated_step, emulated, action


@pytest.mark.parametrize('env_id', ['CartPole-v1', 'Pendulum-v1'])
def test_classic_control_steps_like_gymnasium(env_id):
    episodes, length, total = 0, 0, 0.0
    for expected, emulated, env, _ in step_both(env_id, 600, seed=3):
        if env is None:
            assert np.array_equal(expected, emulated[0])
            continue
        observation, reward, terminated, truncated, _ = expected
        assert np.array_equal(observation, emulated[0][0])
        assert np.float32(reward) == emulated[1][0]
        assert (terminated, truncated) == (emulated[2][0], emulated[3][0])
        length, total = length + 1, total + float(reward)
        if terminated or truncated:
            assert emulated[4] == [{'score': pytest.approx(total), 'episode_return': pytest.approx(total),
                                    'episode_length': length}]
            episodes, length, total = episodes + 1, 0, 0.0
        else:
            assert emulated[4] == []
    assert episodes >= 2  # auto-reset was exercised


def test_minigrid_dict_observation_unflattens_to_the_original():
    with pytest.warns(UserWarning, match='mission'):
        for expected, emulated, env, _ in step_both('minigrid:MiniGrid-Empty-5x5-v0', 40, seed=1):
            if env is None:
                continue
            assert env.single_observation_space.shape == (148,) and env.single_observation_space.dtype == np.uint8
            structured = unflatten(torch.from_numpy(emulated[0]), env.structured_observation_space)
            assert np.array_equal(structured['image'][0].numpy(), expected[0]['image'])
            assert structured['direction'][0].item() == expected[0]['direction']


class Arrivals(ParallelEnv):
    """Agents come and go on a fixed schedule: a and c start, b arrives after step 2, a terminates at step 3,
    c is truncated at step 4, b terminates at step 5 (episode over). Reward = action * (agent index + 1)."""
    metadata = {'name': 'arrivals_v0'}
    possible_agents = ['a', 'b', 'c']

    def observation_space(self, agent):
        return spaces.Dict({'clock': spaces.Box(0, 100, (1,), np.float32), 'who': spaces.Discrete(3)})

    def action_space(self, agent):
        return spaces.Discrete(3)

    def _observe(self):
        return {agent: {'clock': np.array([self.clock], np.float32), 'who': self.possible_agents.index(agent)}
                for agent in self.agents}

    def reset(self, seed=None, options=None):
        self.clock, self.agents = 0, ['a', 'c']
        return self._observe(), {agent: {} for agent in self.agents}

    def step(self, actions):
        assert set(actions) == set(self.agents)
        self.clock += 1
        rewards = {agent: float(action * (self.possible_agents.index(agent) + 1)) for agent, action in actions.items()}
        if self.clock == 2:
            self.agents.append('b')
            rewards['b'] = 0.0
        terminations = {agent: (agent, self.clock) in (('a', 3), ('b', 5)) for agent in self.agents}
        truncations = {agent: (agent, self.clock) == ('c', 4) for agent in self.agents}
        observations = self._observe()
        self.agents = [agent for agent in self.agents if not (terminations[agent] or truncations[agent])]
        return observations, rewards, terminations, truncations, {agent: {} for agent in observations}


def test_pettingzoo_agents_appear_and_disappear():
    env = pettingzoo_package.make(name='test_emulation:Arrivals')  # also: loading by module path
    assert env.num_agents == 3 and env.single_action_space == spaces.Discrete(3)
    with pytest.raises(APIUsageError, match='before reset'):
        env.step(np.zeros(3, np.int32))
    observations, _ = env.reset(0)
    assert env.masks.tolist() == [True, False, True]
    assert np.array_equal(observations[1], np.zeros_like(observations[1]))  # b is not there yet
    schedule = [  # masks, terminals, truncations after each step
        ([True, False, True], [False, False, False], [False, False, False]),
        ([True, True, True], [False, False, False], [False, False, False]),
        ([True, True, True], [True, False, False], [False, False, False]),
        ([False, True, True], [False, False, False], [False, False, True]),
    ]
    for clock, (masks, terminals, truncations) in enumerate(schedule, start=1):
        _, rewards, step_terminals, step_truncations, infos = env.step(np.array([1, 2, 2], np.int32))
        assert env.masks.tolist() == masks, clock
        assert step_terminals.tolist() == terminals and step_truncations.tolist() == truncations
        assert rewards.tolist() == [m * r for m, r in zip(masks, [1.0, 0.0 if clock == 2 else 4.0, 6.0])]
        structured = unflatten(env.observations, env.structured_observation_space)
        assert structured['clock'][np.array(masks) & ~np.array(terminals) & ~np.array(truncations), 0].tolist() == \
            [clock] * int(sum(np.array(masks) & ~np.array(terminals) & ~np.array(truncations)))
        assert infos == []
    # Step 5: b terminates, nobody is left: the episode resets in place, a and c observe clock 0 again.
    _, rewards, step_terminals, _, infos = env.step(np.array([0, 1, 0], np.int32))
    assert step_terminals.tolist() == [False, True, False] and rewards.tolist() == [0.0, 2.0, 0.0]
    mean_return = pytest.approx((3.0 + 10.0 + 24.0) / 3)
    assert infos == [{'score': mean_return, 'episode_return': mean_return, 'episode_length': 5}]
    assert env.masks.tolist() == [True, True, True]  # b for its final step, a and c for the new episode
    assert unflatten(env.observations, env.structured_observation_space)['who'].tolist() == [0, 0, 2]


def test_pettingzoo_package_runs_knights_archers_zombies_vectorized():
    creator = pettingzoo_package.env_creator('pettingzoo')
    assert pettingzoo_package.num_agents('pettingzoo', {}) == 4
    with vector.make(creator, backend='Serial', num_envs=2, seed=0) as vecenv:
        assert vecenv.num_agents == 8 and vecenv.single_observation_space.shape == (27, 5)
        vecenv.reset(0)
        rng = np.random.default_rng(0)
        for _ in range(50):
            observations, rewards, terminals, truncations, infos, masks = vecenv.step(
                rng.integers(0, 6, 8, dtype=np.int32))
            assert np.array_equal(masks, vecenv.buffers.masks)
            assert np.all(observations[~masks] == 0)


def test_pettingzoo_classic_discrete_observations():
    env = pettingzoo_package.make(name='classic/rps-v2', num_actions=3, max_cycles=4)
    assert env.single_observation_space == spaces.Box(0, 3, (1,), np.uint8)
    env.reset(0)
    for _ in range(3):
        _, rewards, *_ = env.step(np.array([0, 1], np.int32))  # rock loses to paper
        assert rewards.tolist() == [-1.0, 1.0]
        assert env.observations.ravel().tolist() == [1, 0]  # each sees the other's last move


def test_packages_report_setup_mistakes():
    with pytest.raises(EnvironmentSetupError, match="cannot make 'NoSuchEnv-v0'"):
        gymnasium_package.make(name='NoSuchEnv-v0')
    with pytest.raises(EnvironmentSetupError, match="'classic/nope-v1'.*not found"):
        pettingzoo_package.make(name='classic/nope-v1')
    with pytest.raises(EnvironmentSetupError, match='cannot load PettingZoo env'):
        pettingzoo_package.make(name='pettingzoo.nothing_here:parallel_env')
    assert gymnasium_package.env_parameters('gymnasium') is None
    assert pettingzoo_package.env_parameters('pettingzoo') is None


def test_gymnasium_env_must_be_reset_first():
    env = GymnasiumPufferEnv(gymnasium.make('CartPole-v1'))
    with pytest.raises(APIUsageError, match='before reset'):
        env.step(np.zeros(1, np.int32))
