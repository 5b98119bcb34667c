"""pufferlib.vector: every backend gives the same results, batches cover every env once per round, misuse is named.

Ray runs for real: one local runtime for this module (num_cpus=2), shut down at the end.
"""
import os
import sys
import tempfile
import time

import numpy as np
import pytest
from gymnasium import spaces

import pufferlib.envs.ocean
import pufferlib.vector as vector
from pufferlib.envs.contract import PufferEnv
from pufferlib.envs import gymnasium as gymnasium_package
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

OCEAN_ENV = 'puffer_cartpole' if 'puffer_cartpole' in pufferlib.envs.ocean.list_envs() else 'puffer_squared'


class CounterEnv(PufferEnv):
    """Rows that say who they are: observation = (env seed, agent row, steps since reset), reward = action.
    Options slow steps down (by seed and step, so workers finish in changing order) or make one env fail: raise,
    or with `hang`, never return (step 0: never finish starting)."""

    def __init__(self, buf=None, seed=0, agents=2, delay=0.0, fail_seed=None, fail_at=None, hang=False):
        self.single_observation_space = spaces.Box(0, 1e9, (3,), np.float32)
        self.single_action_space = spaces.Discrete(3)
        self.num_agents = agents
        if fail_seed == seed and fail_at == 0:
            if hang:
                hang_forever()
            raise ValueError(f'env with seed {seed} refuses to start')
        super().__init__(buf)
        self.delay, self.fail_seed, self.fail_at, self.hang = delay, fail_seed, fail_at, hang
        self.seed, self.steps = seed, 0

    def reset(self, seed=None):
        self.seed, self.steps = seed, 0
        self.observations[:] = [(seed, row, 0) for row in range(self.num_agents)]
        return self.observations, []

    def step(self, actions):
        self.steps += 1
        if self.seed == self.fail_seed and self.steps == self.fail_at:
            if self.hang:
                hang_forever()
            raise ValueError(f'env with seed {self.seed} fails at step {self.steps}')
        if self.delay:
            time.sleep(self.delay * ((self.seed + self.steps) % 3))
        self.observations[:, 2] = self.steps
        self.rewards[:] = actions
        infos = [{'episode_return': float(self.seed)}] if self.steps % 5 == 0 else []
        return self.observations, self.rewards, self.terminals, self.truncations, infos


def hang_forever():
    while True:
        time.sleep(3600)


@pytest.fixture(scope='module')
def ray_runtime():
    # Ray gives its node 30 s to start (read when ray is imported); a 2-core machine busy with other jobs needs more.
    os.environ.setdefault('RAY_raylet_start_wait_time_s', '120')
    ray = pytest.importorskip('ray')
    # Actors import CounterEnv from this file, so they need this folder on their path.
    path = os.pathsep.join([os.path.dirname(__file__), os.environ.get('PYTHONPATH', '')])
    # Ray puts the driver's working directory first on its workers' path; started from a source checkout, they
    # would import the uncompiled tree instead of the installed package.
    previous = os.getcwd()
    os.chdir(tempfile.gettempdir())
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={'env_vars': {'PYTHONPATH': path}})
    finally:
        os.chdir(previous)
    yield ray
    ray.shutdown()


def rollout(vecenv, steps, seed=0):
    """Observations, rewards, terminals, truncations and infos of `steps` synchronous steps of random actions."""
    rng = np.random.default_rng(seed)
    observations, _ = vecenv.reset(seed)
    record = [observations.copy()]
    for _ in range(steps):
        observations, rewards, terminals, truncations, infos, _ = vecenv.step(_random_actions(rng, vecenv))
        record.append((observations.copy(), rewards.copy(), terminals.copy(), truncations.copy(), infos))
    return record


def _random_actions(rng, vecenv):
    space = vecenv.single_action_space
    if isinstance(space, spaces.Discrete):
        return rng.integers(0, space.n, vecenv.agents_per_batch, dtype=np.int32)
    if isinstance(space, spaces.MultiDiscrete):
        return rng.integers(0, space.nvec, (vecenv.agents_per_batch, len(space.nvec)), dtype=np.int32)
    return rng.uniform(space.low, space.high, (vecenv.agents_per_batch, *space.shape)).astype(np.float32)


def assert_same(expected, actual):
    assert np.array_equal(expected[0], actual[0])
    for step, (want, got) in enumerate(zip(expected[1:], actual[1:])):
        for name, a, b in zip(('observations', 'rewards', 'terminals', 'truncations'), want, got):
            assert np.array_equal(a, b), f'{name} differ at step {step + 1}'
        assert want[4] == got[4], f'infos differ at step {step + 1}'


def shm_files():
    return {name for name in os.listdir('/dev/shm') if name.startswith(f'puffer_{os.getpid()}_')}


STEPS = 1000
CASES = {
    'ocean': (pufferlib.envs.ocean.env_creator(OCEAN_ENV), {'num_envs': 8, 'log_interval': 16}),
    'gymnasium': (gymnasium_package.make, {'name': 'CartPole-v1'}),
}


@pytest.mark.parametrize('case', CASES)
def test_every_backend_gives_identical_results(case):
    creator, env_kwargs = CASES[case]
    # One env object: the PufferEnv backend uses it directly, Serial and Multiprocessing must match it.
    single = {}
    for backend in ('PufferEnv', 'Serial', 'Multiprocessing'):
        with vector.make(creator, backend=backend, num_envs=1, seed=7, env_kwargs=env_kwargs) as v:
            single[backend] = rollout(v, STEPS, seed=7)
    assert_same(single['PufferEnv'], single['Serial'])
    assert_same(single['PufferEnv'], single['Multiprocessing'])
    # Four env objects on two workers; env 0 of a vector is seeded like a vector's only env.
    expected = serial_rollout(case)
    with vector.make(creator, backend='Multiprocessing', num_envs=4, num_workers=2, seed=7,
                     env_kwargs=env_kwargs) as v:
        assert_same(expected, rollout(v, STEPS, seed=7))
    assert np.array_equal(expected[0][:single['Serial'][0].shape[0]], single['Serial'][0])
    assert shm_files() == set()


@pytest.mark.parametrize('case', CASES)
def test_ray_gives_identical_results(case, ray_runtime):
    creator, env_kwargs = CASES[case]
    with vector.make(creator, backend='Ray', num_envs=4, num_workers=2, seed=7, env_kwargs=env_kwargs) as v:
        assert_same(serial_rollout(case), rollout(v, STEPS, seed=7))


def serial_rollout(case):
    creator, env_kwargs = CASES[case]
    with vector.make(creator, backend='Serial', num_envs=4, seed=7, env_kwargs=env_kwargs) as v:
        return rollout(v, STEPS, seed=7)


def test_spawn_matches_serial():
    kwargs = dict(num_envs=4, seed=3, env_kwargs={'name': 'CartPole-v1'})
    with vector.make(gymnasium_package.make, backend='Serial', **kwargs) as v:
        expected = rollout(v, 200, seed=3)
    with vector.make(gymnasium_package.make, backend='Multiprocessing', num_workers=2, start_method='spawn',
                     **kwargs) as v:
        assert_same(expected, rollout(v, 200, seed=3))


def check_rounds(vecenv, rounds, seed=0):
    """Drive send/recv for `rounds` rounds; every agent comes back exactly once per round, and its row holds its
    own data (observation = env seed, agent row, steps). Returns the order in which workers came back."""
    vecenv.async_reset(seed)
    batches_per_round = vecenv.num_envs // vecenv.batch_size
    agents = vecenv.agents_per_env
    order = []
    for _ in range(rounds):
        seen = []
        for _ in range(batches_per_round):
            observations, rewards, terminals, truncations, infos, agent_ids, masks = vecenv.recv()
            assert len(agent_ids) == vecenv.agents_per_batch == len(observations)
            env_index = observations[:, 0].astype(int) - seed
            assert np.array_equal(env_index * agents + observations[:, 1].astype(int), agent_ids)
            seen.extend(agent_ids.tolist())
            order.append(int(agent_ids[0]) // vecenv.rows_per_worker)
            vecenv.send(np.ones(len(agent_ids), np.int32))
        assert sorted(seen) == list(range(vecenv.num_agents))
    return order


@pytest.mark.parametrize('zero_copy', [True, False])
def test_async_returns_every_env_once_per_round(zero_copy):
    with vector.make(CounterEnv, backend='Multiprocessing', num_envs=8, num_workers=4, batch_size=4,
                     zero_copy=zero_copy, env_kwargs={'delay': 0.002}) as v:
        order = check_rounds(v, rounds=15)
    if zero_copy:
        assert set(order) <= {0, 2}  # fixed blocks: workers 0-1 or workers 2-3
    with vector.make(CounterEnv, backend='Serial', num_envs=6, batch_size=2, zero_copy=zero_copy) as v:
        assert check_rounds(v, rounds=3) == [0, 2, 4] * 3


def test_ray_async_rounds_then_worker_exception(ray_runtime):
    v = vector.make(CounterEnv, backend='Ray', num_envs=4, num_workers=2, batch_size=2, zero_copy=False,
                    env_kwargs={'delay': 0.002, 'fail_seed': 3, 'fail_at': 6})
    check_rounds(v, rounds=5)  # every env has now stepped 5 times
    with pytest.raises(vector.WorkerError, match='env with seed 3 fails at step 6') as error:
        for _ in range(4):  # within two rounds the env with seed 3 (worker 1) takes its 6th step
            v.send(np.zeros(len(v.recv()[5]), np.int32))
    assert error.value.worker_index == 1
    assert '\x1b' not in str(error.value)  # Ray colours its tracebacks; a log file must not get the escapes
    with pytest.raises(APIUsageError, match='closed'):
        v.recv()


def test_ray_hung_worker_times_out_with_its_stack(ray_runtime):
    v = vector.make(CounterEnv, backend='Ray', num_envs=2, num_workers=2,
                    env_kwargs={'fail_seed': 1, 'fail_at': 2, 'hang': True})
    v.timeout = 1.0  # after start-up, which takes Ray seconds on a busy machine
    actions = np.zeros(v.num_agents, np.int32)
    v.reset(0)
    v.step(actions)
    start = time.monotonic()
    with pytest.raises(vector.WorkerError) as error:
        v.step(actions)
    assert 1.0 <= time.monotonic() - start < 8
    assert error.value.worker_index == 1
    message = str(error.value)
    assert 'worker 1: no answer from Ray actor 1 within vec.timeout = 1 s' in message
    assert 'hang_forever' in message and 'in step' in message  # the actor's stack, down to the hanging line
    with pytest.raises(APIUsageError, match='closed'):
        v.recv()


def test_worker_error_strips_terminal_colours():
    error = vector.WorkerError(2, '\x1b[1mbold\x1b[0m', '\x1b[36mTraceback\x1b[39m\n\x1b[31mValueError\x1b[0m: '
                                                          'boom \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\')
    assert str(error) == ('worker 2: bold\n\n--- traceback in worker 2 ---\nTraceback\nValueError: boom link')
    assert error.remote_traceback == 'Traceback\nValueError: boom link'


def test_reset_and_close_while_workers_are_busy():
    v = vector.make(CounterEnv, backend='Multiprocessing', num_envs=4, num_workers=4, batch_size=1,
                    env_kwargs={'delay': 0.02})
    v.async_reset(0)
    for _ in range(3):  # leave three workers in the middle of a step
        v.send(np.zeros(len(v.recv()[5]), np.int32))
    v.async_reset(10)
    for received in range(8):
        observations, _, _, _, _, agent_ids, _ = v.recv()
        assert observations[0, 0] == 10 + agent_ids[0] // 2  # reseeded...
        if received < 4:
            assert observations[0, 2] == 0  # ...and the first round holds the reset, not a stale step
        v.send(np.zeros(len(agent_ids), np.int32))
    start = time.monotonic()
    v.close()  # every worker is busy stepping right now
    assert time.monotonic() - start < 1


def cpu_seconds(pid):
    with open(f'/proc/{pid}/stat') as stat:
        fields = stat.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')  # utime + stime


def test_idle_workers_sleep_instead_of_spinning():
    with vector.make(CounterEnv, backend='Multiprocessing', num_envs=2, num_workers=2) as v:
        v.reset(0)
        before = [cpu_seconds(process.pid) for process in v.processes]
        time.sleep(1)
        used = [cpu_seconds(process.pid) - spent for process, spent in zip(v.processes, before)]
    assert max(used) < 0.1, used


def test_ray_backend_without_ray_installed_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'ray', None)  # what `import ray` sees when ray is not installed
    with pytest.raises(EnvironmentSetupError, match=r'pip install "pufferlib\[ray\]"'):
        vector.make(CounterEnv, backend='Ray', num_envs=2)


def test_zero_copy_batches_are_views_of_shared_memory():
    with vector.make(CounterEnv, backend='Multiprocessing', num_envs=4, num_workers=2, batch_size=2) as v:
        v.async_reset(0)
        observations = v.recv()[0]
        assert np.shares_memory(observations, v.buffers.observations)


def test_misuse_raises_api_usage_errors():
    with vector.make(CounterEnv, backend='Serial', num_envs=2) as v:
        with pytest.raises(APIUsageError, match='before reset'):
            v.step(np.zeros(4, np.int32))
        with pytest.raises(APIUsageError, match='before reset'):
            v.recv()
        v.reset()
        with pytest.raises(APIUsageError, match=r'shape \(3,\); expected \(4,\)'):
            v.step(np.zeros(3, np.int32))
        with pytest.raises(APIUsageError, match='must be integers, got dtype float32'):
            v.step(np.zeros(4, np.float32))
        with pytest.raises(APIUsageError, match=r'action 3 of agent row 2 is out of range; valid: 0 <= action < 3'):
            v.step(np.array([0, 1, 3, 0], np.int32))
        with pytest.raises(APIUsageError, match='twice without send'):
            v.recv()
        v.send(np.zeros(4, np.int32))
        with pytest.raises(APIUsageError, match='twice without recv'):
            v.send(np.zeros(4, np.int32))
    with pytest.raises(APIUsageError, match='closed'):
        v.reset()
    with vector.make(CounterEnv, backend='Serial', num_envs=2, batch_size=1) as v:
        v.reset()
        with pytest.raises(APIUsageError, match='batch_size=1 < num_envs=2; use send'):
            v.step(np.zeros(2, np.int32))


@pytest.mark.parametrize('backend, num_envs, num_workers, batch_size, message', [
    ('Multiprocessing', 6, 4, None, r'num_envs=6 must split evenly over num_workers=4; valid num_workers: '
                                    r'\[1, 2, 3, 6\]'),
    ('Multiprocessing', 6, 3, 3, r'batch_size=3 does not fit num_envs=6 with num_workers=3 \(2 envs each\).*'
                                 r'valid batch_size: \[2, 6\]'),
    ('Serial', 6, None, 4, r'valid batch_size: \[1, 2, 3, 6\]'),
    ('PufferEnv', 2, None, None, 'num_envs and batch_size must be 1'),
    ('Threads', 2, None, None, 'not one of Serial, Multiprocessing, Ray, PufferEnv'),
    ('Serial', 0, None, None, 'num_envs must be an int >= 1'),
])
def test_impossible_sizes_name_the_numbers(backend, num_envs, num_workers, batch_size, message):
    with pytest.raises(APIUsageError, match=message):
        vector.make(CounterEnv, backend=backend, num_envs=num_envs, num_workers=num_workers, batch_size=batch_size)


@pytest.mark.parametrize('backend, num_envs', [('PufferEnv', 1), ('Serial', 3)])
def test_a_restored_snapshot_continues_like_the_original(backend, num_envs):
    """Ocean envs stepped in this process can be snapshotted after a recv(); restore() into a new vecenv repeats
    that batch (without its infos, already reported) and every step after it."""
    creator, kwargs = pufferlib.envs.ocean.env_creator('puffer_breakout'), {'num_envs': 4, 'log_interval': 8}
    make = lambda: vector.make(creator, backend=backend, num_envs=num_envs, env_kwargs=kwargs, seed=3)  # noqa: E731
    original, copy = make(), make()
    rng = np.random.default_rng(0)
    original.reset(3)
    for _ in range(200):
        original.step(_random_actions(rng, original))
    state = original.snapshot()
    copy.restore(state)
    batch = copy.recv()
    assert np.array_equal(batch[0], original.buffers.observations)
    assert batch[4] == []
    copy.send(actions := _random_actions(rng, copy))
    original.send(actions)
    for _ in range(300):
        want, got = original.recv(), copy.recv()
        for a, b in zip(want, got):
            assert a == b if isinstance(a, list) else np.array_equal(a, b)
        actions = _random_actions(rng, original)
        original.send(actions)
        copy.send(actions)
    original.close()
    copy.close()


def test_envs_in_worker_processes_or_without_snapshots_cannot_be_snapshotted():
    ocean = pufferlib.envs.ocean.env_creator('puffer_breakout')
    with vector.make(ocean, backend='Multiprocessing', num_envs=2, num_workers=2) as workers:
        workers.reset(0)
        assert workers.snapshot() is None
        with pytest.raises(APIUsageError, match='cannot restore'):
            workers.restore([])
    with vector.make(gymnasium_package.make, backend='Serial', num_envs=2) as gym_envs:
        gym_envs.reset(0)
        assert gym_envs.snapshot() is None


def test_make_from_config():
    config = {'base': {'package': 'gymnasium', 'env_name': 'gymnasium'},
              'vec': {'backend': 'Multiprocessing', 'num_envs': 4, 'num_workers': 'auto', 'batch_size': 2,
                      'zero_copy': True, 'seed': 5, 'ray_address': None, 'timeout': 7.5, 'check_spaces': 3},
              'env': {'name': 'Pendulum-v1'}}
    with vector.make_from_config(config) as v:
        assert (v.num_envs, v.batch_size, v.agents_per_batch) == (4, 2, 2)
        assert v.timeout == 7.5 and v._check_output.steps == 3
        assert isinstance(v.single_action_space, spaces.Box)
        v.async_reset()
        observations, rewards, terminals, truncations, infos, agent_ids, masks = v.recv()
        assert observations.shape == (2, 3) and masks.all()
        v.send(np.zeros((2, 1), np.float32))
