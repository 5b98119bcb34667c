"""vec.check_spaces: bad values from a user's env are named (env, agent row, original key, value) on every backend,
only during each env's first N steps, and describe_nonfinite names the input behind NaN advantages."""
import gymnasium
import numpy as np
import pytest
import torch
from gymnasium import spaces

import pufferlib.vector as vector
from pufferlib.envs.emulation import GymnasiumPufferEnv, PettingZooPufferEnv
from pufferlib.envs.contract import EnvOutputError

DICT_SPACE = spaces.Dict({'position': spaces.Box(-1, 1, (2,), np.float32), 'direction': spaces.Discrete(4)})
# An int64 part with a range no float holds exactly: the flat row packs raw bytes.
PACKED_SPACE = spaces.Dict({'count': spaces.Box(-2 ** 62, 2 ** 62, (1,), np.int64),
                            'position': spaces.Box(-1, 1, (2,), np.float32)})
BYTES_SPACE = spaces.Box(0, 255, (3,), np.uint8)


class BadEnv(gymnasium.Env):
    """Good observations, except that the env with seed `bad_seed` returns `bad` at step `bad_at`."""

    def __init__(self, space='dict', bad=None, bad_at=3, bad_seed=1):
        self.observation_space = {'dict': DICT_SPACE, 'packed': PACKED_SPACE, 'bytes': BYTES_SPACE}[space]
        self.action_space = spaces.Discrete(2)
        self.bad, self.bad_at, self.bad_seed = bad, bad_at, bad_seed

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.seed = seed
        self.steps = 0
        return self.good(), {}

    def good(self):
        if self.observation_space is BYTES_SPACE:
            return np.array([1, 2, 3], np.uint8)
        if self.observation_space is PACKED_SPACE:
            return {'count': np.array([self.steps]), 'position': np.zeros(2, np.float32)}
        return {'position': np.array([0.5, -0.5], np.float32), 'direction': 2}

    def step(self, action):
        self.steps += 1
        observation, reward = self.good(), 1.0
        if self.seed == self.bad_seed and self.steps == self.bad_at:
            if self.bad == 'direction':
                observation['direction'] = np.int64(7)
            elif self.bad == 'nan':
                observation['position'][1] = np.nan
            elif self.bad == 'count':
                observation['count'][0] = 2 ** 63 - 1
            elif self.bad == 'reward':
                reward = float('inf')
            elif self.bad == 'wraps':
                observation = np.array([1, 300, 2], np.int64)
            elif self.bad == 'floats':
                observation = np.array([1.5, 2, 3], np.float64)
        return observation, reward, False, False, {}


def creator(buf=None, seed=0, **kwargs):
    return GymnasiumPufferEnv(BadEnv(**kwargs), buf=buf, seed=seed)


def run(steps, **kwargs):
    env_kwargs = {key: kwargs.pop(key) for key in ('space', 'bad', 'bad_at') if key in kwargs}
    with vector.make(creator, num_envs=4, env_kwargs=env_kwargs, **kwargs) as v:
        v.reset(0)
        for _ in range(steps):
            v.step(np.zeros(v.num_agents, np.int32))


@pytest.mark.parametrize('backend', ['Serial', 'Multiprocessing'])
def test_out_of_range_discrete_part_is_named_by_its_key(backend):
    with pytest.raises(EnvOutputError) as error:
        run(5, backend=backend, num_workers=2, bad='direction')
    message = str(error.value)
    assert "BadEnv env 1" in message and 'agent row 1' in message
    assert "observation key 'direction' is 7, outside [0, 3] (its space: Discrete(4))" in message
    assert 'vec.check_spaces = 100' in message
    if backend == 'Multiprocessing':
        assert '(worker 0)' in message  # 4 envs on 2 workers: env 1 is the second env of worker 0


def test_nan_in_a_float_part_is_named_with_its_index():
    with pytest.raises(EnvOutputError, match=r"observation key 'position' at \[1\] is NaN"):
        run(5, backend='Serial', bad='nan')


def test_packed_parts_are_checked_in_their_own_dtype():
    with pytest.raises(EnvOutputError, match=r"key 'count' at \[0\] is 9223372036854775807, outside"):
        run(5, backend='Serial', space='packed', bad='count')
    with pytest.raises(EnvOutputError, match=r"key 'position' at \[1\] is NaN"):
        run(5, backend='Serial', space='packed', bad='nan')


def test_non_finite_reward():
    with pytest.raises(EnvOutputError, match=r'BadEnv env 1, agent row 1: the reward is inf'):
        run(5, backend='Serial', bad='reward')


@pytest.mark.parametrize('bad, problem', [('wraps', 'holds 300, which does not fit its stored dtype uint8'),
                                          ('floats', r'holds floats \(dtype float64\) for the integer space')])
def test_values_that_writing_would_change_are_caught_in_the_env(bad, problem):
    with pytest.raises(EnvOutputError, match='env 1: BadEnv returned a bad observation: the observation ' + problem):
        run(5, backend='Serial', space='bytes', bad=bad)
    # In a worker process the env's error comes back as a WorkerError with the same text.
    with pytest.raises(vector.WorkerError, match=problem):
        run(5, backend='Multiprocessing', num_workers=2, space='bytes', bad=bad)


def test_only_the_first_steps_are_checked_and_zero_turns_it_off():
    run(8, backend='Serial', bad='direction', bad_at=6, check_spaces=5)  # after the checked steps: not seen
    run(8, backend='Serial', space='bytes', bad='wraps', bad_at=6, check_spaces=5)
    run(5, backend='Serial', bad='direction', check_spaces=0)
    with pytest.raises(EnvOutputError):
        run(8, backend='Serial', bad='direction', bad_at=6, check_spaces=6)


def test_async_batches_check_every_envs_first_steps():
    # 4 envs in batches of 2: each env's step 3 arrives in the 7th or 8th receive.
    with vector.make(creator, backend='Serial', num_envs=4, batch_size=2, check_spaces=3,
                     env_kwargs={'bad': 'direction', 'bad_at': 3}) as v:
        v.async_reset(0)
        with pytest.raises(EnvOutputError, match='env 1'):
            for _ in range(8):
                v.send(np.zeros(len(v.recv()[5]), np.int32))


class TwoAgents:
    """A PettingZoo-style parallel env whose agent 'blue' sees direction 9 at step 2."""
    possible_agents = ['red', 'blue']
    metadata = {'name': 'two_agents_v0'}

    def observation_space(self, agent):
        return DICT_SPACE

    def action_space(self, agent):
        return spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        self.agents, self.steps = list(self.possible_agents), 0
        return {agent: {'position': np.zeros(2, np.float32), 'direction': 0} for agent in self.agents}, {}

    def step(self, actions):
        self.steps += 1
        observations = {agent: {'position': np.zeros(2, np.float32), 'direction': 0} for agent in self.agents}
        if self.steps == 2:
            observations['blue']['direction'] = 9
        zeros = dict.fromkeys(self.agents, 0)
        return observations, zeros, dict.fromkeys(self.agents, False), dict.fromkeys(self.agents, False), zeros

    def close(self):
        pass


def test_multi_agent_rows_are_named_by_agent():
    def two_agents(buf=None, seed=0):
        return PettingZooPufferEnv(TwoAgents(), buf=buf, seed=seed)

    with vector.make(two_agents, backend='Serial', num_envs=2) as v:
        v.reset(0)
        v.step(np.zeros(4, np.int32))
        with pytest.raises(EnvOutputError, match=r"two_agents_v0 env 0, agent row 1 \(agent 'blue'\): observation "
                                                 r"key 'direction' is 9, outside \[0, 3\]"):
            v.step(np.zeros(4, np.int32))


def test_describe_nonfinite_names_the_source():
    env = creator()
    observations = np.zeros((2, 3, 3), np.float32)  # [segment, step, flat row]: direction, position (Dict sorts)
    rewards = np.zeros((2, 3), np.float32)
    values = np.zeros((2, 3), np.float32)
    names = ('segment', 'step')
    assert vector.describe_nonfinite(observations, rewards, values, env=env, index_names=names) is None
    values[0, 1] = np.nan
    assert 'values' in vector.describe_nonfinite(observations, rewards, values, env=env, index_names=names)
    observations[1, 2, 2] = np.inf
    assert (vector.describe_nonfinite(torch.from_numpy(observations), torch.from_numpy(rewards), values, env=env,
                                      index_names=names)
            == "the observations hold inf at [segment 1, step 2], key 'position' at [1]")
    rewards[0, 2] = np.nan
    assert (vector.describe_nonfinite(observations, torch.from_numpy(rewards).bfloat16(), env=env, index_names=names)
            == 'the rewards hold nan at [segment 0, step 2]')
    assert vector.describe_nonfinite(np.full((2, 4), np.nan), np.zeros(2)) == 'the observations hold nan at [0]'
