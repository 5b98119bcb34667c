"""Every registered Ocean env (sanity envs, cartpole and the games): spaces, determinism, bounds, any action,
episode stats, rendering; plus the make()/registry contract and the shared C binding's checks."""
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from gymnasium import spaces

import pufferlib.envs.ocean as ocean
from pufferlib.envs.contract import allocate_buffers
from pufferlib.exceptions import APIUsageError, ConfigError, EnvironmentSetupError
from pufferlib.envs.ocean.ocean_env import action_bounds
from pufferlib.envs.ocean.registry import lookup

ENVS = ocean.list_envs()
SANITY_ENVS = ['puffer_squared', 'puffer_bandit', 'puffer_memory', 'puffer_delay', 'puffer_password',
               'puffer_stochastic', 'puffer_multiagent', 'puffer_spaces', 'puffer_continuous']
# Envs whose dynamics draw no random numbers: the seed cannot change their trajectories.
SEED_FREE_ENVS = ['puffer_password', 'puffer_stochastic', 'puffer_multiagent']
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def random_actions(rng, env):
    """Uniform actions inside the action space, in the dtype of the env's action buffer."""
    space, n = env.single_action_space, env.num_agents
    if isinstance(space, spaces.Discrete):
        return rng.integers(space.start, space.start + space.n, size=n).astype(np.int32)
    if isinstance(space, spaces.MultiDiscrete):
        return rng.integers(0, space.nvec, size=(n, *space.shape)).astype(np.int32)
    return rng.uniform(space.low, space.high, size=(n, *space.shape)).astype(np.float32)


def wild_actions(rng, env):
    """Mostly out-of-range actions: far below, far above, int32 extremes; NaN and infinities for Box."""
    space, shape = env.single_action_space, env.actions.shape
    if isinstance(space, spaces.Box):
        choices = np.array([np.nan, np.inf, -np.inf, -1e30, 1e30, -5.0, 5.0, 0.0], dtype=np.float32)
        return rng.choice(choices, size=shape).astype(np.float32)
    high = space.n if isinstance(space, spaces.Discrete) else np.broadcast_to(space.nvec, shape)
    choices = np.stack(np.broadcast_arrays(np.full(shape, -2**31), np.full(shape, 2**31 - 1),
                                           np.full(shape, -1), high, high + 7, rng.integers(-3, 10, shape)))
    return np.take_along_axis(choices, rng.integers(0, len(choices), (1, *shape)), 0)[0].astype(np.int32)


def clamped(env, actions):
    """What the C binding turns `actions` into (its documented clamp), for comparison."""
    low, high = action_bounds(env.single_action_space)
    shape = env.single_action_space.shape or (1,)
    low = np.reshape(low, shape).astype(actions.dtype)
    high = np.reshape(high, shape).astype(actions.dtype)
    if not env.single_action_space.shape:
        low, high = low[0], high[0]
    result = np.clip(actions, low, high)
    if actions.dtype == np.float32:
        result = np.where(np.isnan(actions), low, result).astype(np.float32)
    return result


def rollout(env, rng, steps, action_fn=random_actions):
    """Step with actions from `action_fn`; return copies of everything each step wrote."""
    history = []
    for _ in range(steps):
        obs, rewards, terminals, truncations, _ = env.step(action_fn(rng, env))
        history.append((obs.copy(), rewards.copy(), terminals.copy(), truncations.copy()))
    return history


@pytest.mark.parametrize('name', ENVS)
def test_spaces_match_the_registry_and_the_c_binding(name):
    spec = lookup(name)
    env = ocean.make(name, num_envs=3)
    observation_space, action_space = spec.spaces(spec.params)
    assert env.single_observation_space == observation_space
    assert env.single_action_space == action_space
    assert env.num_agents == 3 * spec.agents_per_env
    assert env.observations.shape == (env.num_agents, *observation_space.shape)
    assert env.observations.dtype == observation_space.dtype
    module = importlib.import_module(spec.module)
    assert module.OBS_DTYPE == np.dtype(observation_space.dtype).name
    assert module.ACT_SIZE == int(np.prod(action_space.shape or (1,)))
    assert env.vector.obs_size == int(np.prod(observation_space.shape))
    env.close()


@pytest.mark.parametrize('name', ENVS)
def test_same_seed_same_trajectory_and_different_seeds_differ(name):
    runs = []
    for seed in (5, 5, 6):
        env = ocean.make(name, num_envs=4, seed=seed)
        env.reset(seed)
        first = env.observations.copy()
        runs.append([(first,)] + rollout(env, np.random.default_rng(0), 1000))
        env.close()
    for step_a, step_b in zip(runs[0], runs[1]):
        for a, b in zip(step_a, step_b):
            np.testing.assert_array_equal(a, b)
    if name in SEED_FREE_ENVS:
        return
    assert any(not np.array_equal(a, c) for step_a, step_c in zip(runs[0], runs[2]) for a, c in zip(step_a, step_c)), \
        'seeds 5 and 6 gave the same run'


@pytest.mark.parametrize('name', ENVS)
def test_reset_with_a_seed_repeats_and_without_one_continues(name):
    """reset(seed) restarts every env's random stream, so the same actions repeat the same steps; reset() keeps the
    streams going, so the next episodes are new ones, and the same for every env object that got there alike."""
    def seeded_then_unseeded():
        env = ocean.make(name, num_envs=4, seed=1)
        env.reset(3)
        first = rollout(env, np.random.default_rng(0), 200)
        env.reset(3)
        again = rollout(env, np.random.default_rng(0), 200)
        env.reset()
        continued = [(env.observations.copy(),)] + rollout(env, np.random.default_rng(0), 200)
        env.close()
        return first, again, continued

    first, again, continued = seeded_then_unseeded()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a[0], b[0])
    for a, b in zip(continued, seeded_then_unseeded()[2]):  # where the streams went is itself deterministic
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    if name not in SEED_FREE_ENVS:
        assert any(not np.array_equal(x, y) for a, b in zip(first, continued[1:]) for x, y in zip(a, b)), \
            'reset() without a seed restarted the random streams instead of continuing them'


@pytest.mark.parametrize('name', ENVS)
def test_a_restored_snapshot_continues_exactly_like_the_original(name):
    """snapshot() mid-episode, restore() into a fresh env: both then write the same steps and episode stats."""
    env = ocean.make(name, num_envs=4, seed=2, log_interval=16)
    env.reset(2)
    rollout(env, np.random.default_rng(0), 300)
    state = env.snapshot()
    copy = ocean.make(name, num_envs=4, seed=99, log_interval=16)
    copy.restore(state)
    for buffer in ('observations', 'rewards', 'terminals', 'truncations'):
        np.testing.assert_array_equal(getattr(copy, buffer), getattr(env, buffer))
    rng = np.random.default_rng(1)
    for _ in range(500):
        actions = random_actions(rng, env)
        expected, got = env.step(actions), copy.step(actions)
        for a, b in zip(expected, got):
            if isinstance(a, list):
                assert a == b
            else:
                np.testing.assert_array_equal(a, b)
    with pytest.raises(APIUsageError, match='num_envs=4'):
        ocean.make(name, num_envs=3).restore(state)
    env.close()
    copy.close()


@pytest.mark.parametrize('name', ENVS)
def test_observations_stay_in_the_observation_space(name):
    env = ocean.make(name, num_envs=8, seed=2)
    space = env.single_observation_space
    obs, _ = env.reset(2)
    rng = np.random.default_rng(2)
    for step in range(10_000):
        assert obs.dtype == space.dtype
        if np.issubdtype(space.dtype, np.floating):
            assert not np.isnan(obs).any(), f'NaN observation at step {step}'
        inside = (obs >= space.low) & (obs <= space.high)
        assert inside.all(), f'step {step}: values {obs[~inside]} outside [{space.low.min()}, {space.high.max()}]'
        obs, rewards, terminals, truncations, _ = env.step(random_actions(rng, env))
        assert np.isfinite(rewards).all()
    env.close()


@pytest.mark.parametrize('name', ENVS)
def test_out_of_range_actions_are_clamped_into_the_action_space(name):
    wild_env = ocean.make(name, num_envs=4, seed=9)
    clamped_env = ocean.make(name, num_envs=4, seed=9)
    wild_env.reset(9)
    clamped_env.reset(9)
    rng = np.random.default_rng(9)
    for _ in range(2000):
        actions = wild_actions(rng, wild_env)
        given = actions.copy()
        wild = wild_env.step(actions)
        tame = clamped_env.step(clamped(clamped_env, actions))
        for a, b in zip(wild[:4], tame[:4]):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(actions, given)  # the caller's array is left as given
    wild_env.close()
    clamped_env.close()


@pytest.mark.parametrize('name', ENVS)
def test_actions_of_other_int_and_float_widths_and_lists_act_the_same(name):
    envs = [ocean.make(name, num_envs=2, seed=8) for _ in range(3)]
    for env in envs:
        env.reset(8)
    rng = np.random.default_rng(8)
    wider = np.int64 if envs[0].actions.dtype == np.int32 else np.float64
    for _ in range(100):
        actions = random_actions(rng, envs[0])
        results = [envs[0].step(actions), envs[1].step(actions.astype(wider)), envs[2].step(actions.tolist())]
        for a, b, c in zip(*(result[:4] for result in results)):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize('name', ENVS)
def test_malformed_actions_raise_api_usage_error(name):
    env = ocean.make(name, num_envs=2)
    env.reset(0)
    with pytest.raises(APIUsageError, match='shape'):
        env.step(np.zeros((env.num_agents + 1, *env.actions.shape[1:]), env.actions.dtype))
    if env.actions.dtype == np.int32:
        with pytest.raises(APIUsageError, match='dtype'):
            env.step(np.full(env.actions.shape, 0.5))
    env.close()


@pytest.mark.parametrize('name', ENVS)
def test_episode_stats_are_reported_and_plausible(name):
    env = ocean.make(name, num_envs=64, seed=4, log_interval=16)
    env.reset(4)
    rng = np.random.default_rng(4)
    reports = []
    for step in range(1, 8001):
        infos = env.step(random_actions(rng, env))[4]
        if step % 16:
            assert infos == [], 'stats must only be read every log_interval steps'
        reports += infos
        if len(reports) >= 3:
            break
    assert reports, 'no episode finished in 8000 random steps of 64 envs'
    for stats in reports:
        for key in ('score', 'episode_return', 'episode_length'):
            assert key in stats and np.isfinite(stats[key]), stats
        assert stats['episode_length'] >= 1, stats
        if name in SANITY_ENVS:
            assert 0 <= stats['score'] <= 1, stats
    env.close()


def test_sanity_env_episode_stats_have_known_values_under_a_random_policy():
    """Expected values under uniform random actions (loose bounds; 64 envs x 2000 steps)."""
    expected = {
        'puffer_bandit': ('score', 0.25), 'puffer_memory': ('score', 0.5), 'puffer_password': ('score', 1 / 32),
        'puffer_multiagent': ('score', 0.5), 'puffer_spaces': ('score', 0.25), 'puffer_stochastic': ('fraction', 0.5),
        'puffer_delay': ('score', 0.25),
    }
    for name, (key, value) in expected.items():
        env = ocean.make(name, num_envs=64, seed=0, log_interval=2000)
        env.reset(0)
        rng = np.random.default_rng(0)
        stats = [info for _ in range(2000) for info in env.step(random_actions(rng, env))[4]]
        assert abs(stats[0][key] - value) < 0.05, (name, stats[0])
        env.close()


def test_cartpole_stats_count_balanced_steps():
    env = ocean.make('puffer_cartpole', num_envs=16, log_interval=500)
    env.reset(0)
    rng = np.random.default_rng(0)
    stats = [info for _ in range(500) for info in env.step(random_actions(rng, env))[4]][0]
    assert stats['score'] == pytest.approx(stats['episode_length']) == pytest.approx(stats['episode_return'])
    assert 10 < stats['episode_length'] < 40  # random pushes balance ~22 steps
    assert stats['truncated'] == 0


@pytest.mark.parametrize('name', ENVS)
def test_render_draws_a_frame_that_changes_and_text_is_nonempty(name):
    spec = lookup(name)
    env = ocean.make(name, num_envs=2, seed=3)
    env.reset(3)
    first = env.render()
    assert first.shape == spec.frame_shape and first.dtype == np.uint8
    assert first.any(), 'the frame is all black'
    rng = np.random.default_rng(3)
    changed = False
    for _ in range(200):
        env.step(random_actions(rng, env))
        if not np.array_equal(env.render(), first):
            changed = True
            break
    assert changed, 'the frame never changed over 200 random steps'
    text = env.render_text()
    assert isinstance(text, str) and text.strip()
    assert env.render(env_index=1).shape == spec.frame_shape
    with pytest.raises(IndexError):
        env.render(env_index=2)
    env.close()


@pytest.mark.parametrize('name', ENVS)
def test_env_writes_into_caller_buffers_in_place(name):
    spec = lookup(name)
    observation_space, action_space = spec.spaces(spec.params)
    rows = 2 * spec.agents_per_env
    shared = allocate_buffers(observation_space, action_space, 2 * rows)
    env = ocean.make(name, num_envs=2, buf=shared.rows(rows, 2 * rows), seed=1)
    env.reset(1)
    assert np.shares_memory(env.observations, shared.observations)
    np.testing.assert_array_equal(shared.observations[rows:], env.observations)
    assert not shared.observations[:rows].any(), 'rows of another env were written'
    env.step(random_actions(np.random.default_rng(0), env))
    np.testing.assert_array_equal(shared.rewards[rows:], env.rewards)
    env.close()


def test_multiagent_env_has_two_rows_per_env_all_alive():
    env = ocean.make('puffer_multiagent', num_envs=3)
    env.reset(0)
    assert env.num_agents == 6 and env.masks.all()
    np.testing.assert_array_equal(env.observations, np.tile([[1, 0], [0, 1]], (3, 1)))
    env.step(np.array([0, 1, 1, 1, 1, 0], np.int32))
    np.testing.assert_array_equal(env.rewards, [1, 1, 0, 0, 1, 1])


def test_make_rejects_unknown_names_and_parameters_with_suggestions():
    with pytest.raises(EnvironmentSetupError, match='puffer_cartpole'):
        ocean.make('puffer_cartpol')
    with pytest.raises(ConfigError, match="did you mean 'size'.*valid parameters: max_steps, size"):
        ocean.make('puffer_squared', sise=5)
    with pytest.raises(ConfigError, match="'size' must be an int"):
        ocean.make('puffer_squared', size=5.5)
    with pytest.raises(ConfigError, match="'best_prob' must be a number"):
        ocean.make('puffer_bandit', best_prob='high')
    with pytest.raises(ValueError, match=r"'size' = 1 is out of range \[2, 63\]"):
        ocean.make('puffer_squared', size=1)
    with pytest.raises(ValueError, match=r"'best_arm' = 4 is out of range \[0, 3\]"):
        ocean.make('puffer_bandit', best_arm=4)
    with pytest.raises(APIUsageError, match='num_envs'):
        ocean.make('puffer_squared', num_envs=0)
    with pytest.raises(APIUsageError, match='seed'):
        ocean.make('puffer_squared', seed=-1)


def test_registry_is_discovered_from_the_compiled_modules():
    """Each compiled module pufferlib.envs.ocean._<env> names its envs in C (NAMES); the registry is exactly those,
    found without a Python list, and a variant's changed defaults and description come from C too."""
    import pkgutil
    declared = {}
    for info in pkgutil.iter_modules(ocean.__path__):
        if info.name.startswith('_'):
            module = importlib.import_module(f'pufferlib.envs.ocean.{info.name}')
            declared.update({name: (module.__name__, defaults) for name, _, defaults in module.NAMES})
    assert sorted(declared) == ocean.list_envs() and len(declared) >= 20
    assert {name: lookup(name).module for name in declared} == {name: module for name, (module, _) in declared.items()}
    assert lookup('puffer_2048').module == 'pufferlib.envs.ocean._g2048'
    variant, plain = lookup('puffer_cartpole_continuous'), lookup('puffer_cartpole')
    assert declared['puffer_cartpole_continuous'][1] == {'continuous': 1} and variant.params['continuous'] == 1
    assert plain.params['continuous'] == 0 and variant.description != plain.description
    assert isinstance(variant.spaces(variant.params)[1], spaces.Box)
    with pytest.raises(EnvironmentSetupError, match='Did you mean: puffer_cartpole'):
        lookup('puffer_cartpol')


def test_a_module_that_does_not_import_is_named_and_hides_no_other(tmp_path):
    """A stale or broken build of one env leaves the others usable, and asking for it says which module to rebuild."""
    import importlib.machinery
    import pufferlib
    shutil.copytree(os.path.dirname(pufferlib.__file__), tmp_path / 'pufferlib',
                    ignore=shutil.ignore_patterns('__pycache__'))
    (tmp_path / 'pufferlib' / 'envs' / 'ocean' / ('_zzz' + importlib.machinery.EXTENSION_SUFFIXES[0])).write_text('x')
    script = ('import pufferlib.envs.ocean as o\nprint(len(o.list_envs()))\n'
              'try:\n    o.lookup("puffer_zzz")\nexcept Exception as error:\n    print(error)\n')
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, 'PYTHONPATH': str(tmp_path)}, timeout=120)
    count, message = result.stdout.split('\n', 1)
    assert int(count) == len(ENVS), result.stderr
    assert "unknown Ocean env 'puffer_zzz'" in message and 'would not import (rebuild them)' in message
    assert 'pufferlib.envs.ocean._zzz' in message


def test_package_contract():
    assert 'puffer_cartpole' in ocean.list_envs() and ocean.list_envs() == sorted(ocean.list_envs())
    assert ocean.env_parameters('puffer_squared') == {'num_envs': 1, 'log_interval': 128, 'size': 7, 'max_steps': 21}
    assert ocean.num_agents('puffer_multiagent', {'num_envs': 8}) == 16
    env = ocean.env_creator('puffer_squared')(buf=None, seed=3, num_envs=5, size=9)
    assert env.num_agents == 5 and env.observations.shape == (5, 162)
    with pytest.raises(EnvironmentSetupError):
        ocean.env_creator('nope')


def test_float_params_accept_ints_and_params_change_the_spaces():
    env = ocean.make('puffer_bandit', num_arms=6, best_arm=5, best_prob=1, other_prob=0)
    assert env.single_action_space == spaces.Discrete(6)
    env.reset(0)
    env.step(np.array([5], np.int32))
    assert env.rewards[0] == 1.0
    env.step(np.array([4], np.int32))
    assert env.rewards[0] == 0.0


def test_c_vector_checks_buffers_and_parameters():
    module = importlib.import_module('pufferlib.envs.ocean._squared')
    buffers = allocate_buffers(spaces.Box(0, 1, (98,), np.uint8), spaces.Discrete(5), 4)
    args = [buffers.observations, buffers.actions, buffers.rewards, buffers.terminals, buffers.truncations]
    params = {'size': 7, 'max_steps': 21}
    module.Vector(*args, 4, params, [0], [4])
    with pytest.raises(ValueError, match=r'observations buffer has 392 elements; expected 490 = num_envs 5'):
        module.Vector(*args, 5, params, [0], [4])
    with pytest.raises(TypeError, match='observations buffer has element format'):
        module.Vector(np.zeros((4, 98), np.float32), *args[1:], 4, params, [0], [4])
    with pytest.raises(TypeError, match='rewards buffer'):
        module.Vector(*args[:2], np.zeros(4, np.float64), *args[3:], 4, params, [0], [4])
    with pytest.raises(TypeError, match="missing env parameter 'max_steps'"):
        module.Vector(*args, 4, {'size': 7}, [0], [4])
    with pytest.raises(TypeError, match="'bogus' is not read by the C env"):
        module.Vector(*args, 4, {**params, 'bogus': 1}, [0], [4])
    with pytest.raises(TypeError, match="'size' must be an int"):
        module.Vector(*args, 4, {**params, 'size': True}, [0], [4])
    with pytest.raises(ValueError, match='action_low has 2 values; expected ACT_SIZE = 1'):
        module.Vector(*args, 4, params, [0, 0], [4])
    vector = module.Vector(*args, 4, params, [0], [4])
    vector.close()
    with pytest.raises(RuntimeError, match='closed'):
        vector.step()


@pytest.mark.skipif(shutil.which('gcc') is None, reason='needs gcc')
def test_sanitizer_build_reports_nothing():
    """ocean/sanitize.sh (ASan + UBSan, no Python): every registered env for 100,000 steps of random and
    out-of-range actions, with zero reports."""
    result = subprocess.run(['bash', os.path.join(REPO, 'ocean', 'sanitize.sh'), '100000'], capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'all envs clean' in result.stdout


# ---------------------------------------------------------------------------------------------------------------
# Parameter ranges as data, allocation failures, use before reset.

def test_float_range_errors_print_the_bounds():
    """PyErr_Format has no %g: the binding formats float bounds itself."""
    with pytest.raises(ValueError, match=r"continuous: env parameter 'tolerance' = 3.0 is out of range \[0, 2\]$"):
        ocean.make('puffer_continuous', tolerance=3.0)
    with pytest.raises(ValueError, match=r"'reward_food' = 1000.5 is out of range \[-100, 100\]$"):
        ocean.make('puffer_snake', reward_food=1000.5)
    with pytest.raises(ValueError, match=r"'p' = nan is out of range \[0, 1\]"):
        ocean.make('puffer_stochastic', p=float('nan'))
    with pytest.raises(ValueError, match=r"'max_steps' = 100000000000000000000 is out of range \[1, 1000000\]"):
        ocean.make('puffer_squared', max_steps=10**20)


@pytest.mark.parametrize('name', ENVS)
def test_param_bounds_come_from_c_and_match_what_it_accepts(name):
    """Every C parameter has a range in param_bounds(), read from the compiled binding; its ends are accepted and
    the values just outside them refused (by make() and by check_params() alike)."""
    spec = lookup(name)
    bounds = spec.param_bounds()
    assert set(bounds) == set(spec.params) | {'num_envs', 'log_interval'}
    assert spec.check_params({}) == []
    for key, (kind, low, high) in bounds.items():
        if key in ('num_envs', 'log_interval'):
            continue
        assert kind == ('int' if isinstance(spec.params[key], int) else 'float') and low <= spec.params[key] <= high
        step = 1 if kind == 'int' else max(1e-3, 1e-3 * abs(high - low))
        for value, valid in ((low, True), (high, True), (low - step, False), (high + step, False)):
            value = int(value) if kind == 'int' else float(value)
            problems = spec.check_params({key: value})
            own = [problem for problem in problems if problem.startswith(f'env.{key} = {value!r} is outside [')]
            if valid:
                assert not own, problems
                if not problems:  # else another parameter's default is now out of its range (bandit's best_arm)
                    ocean.make(name, **{key: value}).close()
            else:
                assert own, problems
                with pytest.raises(ValueError, match=f"'{key}' = .* is out of range"):
                    ocean.make(name, **{key: value})


def test_check_params_reports_every_problem_in_one_line_each_without_raising():
    problems = lookup('puffer_squared').check_params({'size': 100, 'sise': 5, 'max_steps': 2.5, 'num_envs': 0,
                                                      'log_interval': 'often'})
    assert problems == [
        "env.sise is not a parameter of puffer_squared (did you mean env.size?); valid: max_steps, size, "
        "log_interval, num_envs",
        "env.max_steps = 2.5 must be an int like its default 21 for puffer_squared",
        "env.num_envs = 0 is outside [1, 1048576] for puffer_squared",
        "env.log_interval = 'often' must be an int like its default 128 for puffer_squared",
        "env.size = 100 is outside [2, 63] for puffer_squared",
    ]
    # A bound that depends on another parameter: best_arm < num_arms, with best_arm left at its default 2.
    assert ocean.check_params('puffer_bandit', {'num_arms': 2}) == [
        'env.best_arm = 2 is outside [0, 1] for puffer_bandit']
    assert ocean.check_params('puffer_continuous', {'tolerance': 2.5}) == [
        'env.tolerance = 2.5 is outside [0, 2] for puffer_continuous']
    assert ocean.check_params('puffer_squared', {'num_envs': 2**21, 'log_interval': 10**10}) == [
        'env.num_envs = 2097152 is outside [1, 1048576] for puffer_squared',
        'env.log_interval = 10000000000 is outside [1, 1000000000] for puffer_squared']


def test_num_envs_and_log_interval_are_bounded():
    with pytest.raises(APIUsageError, match=r'num_envs must be an int in \[1, 1048576\], got 2097152'):
        ocean.make('puffer_squared', num_envs=2**21)
    with pytest.raises(APIUsageError, match='log_interval'):
        ocean.make('puffer_squared', log_interval=0)
    module = importlib.import_module('pufferlib.envs.ocean._squared')
    assert module.MAX_ENVS == ocean.registry.MAX_NUM_ENVS
    buffers = allocate_buffers(spaces.Box(0, 1, (98,), np.uint8), spaces.Discrete(5), 1)
    args = [buffers.observations, buffers.actions, buffers.rewards, buffers.terminals, buffers.truncations]
    with pytest.raises(ValueError, match=r'num_envs must be in \[1, 1048576\]'):
        module.Vector(*args, 2**21, {'size': 7, 'max_steps': 21}, [0], [4])


@pytest.mark.parametrize('name', ENVS)
def test_stepping_rendering_or_saving_before_reset_is_an_error(name):
    env = ocean.make(name, num_envs=2)
    for call in (lambda: env.step(np.zeros_like(env.actions)), env.render, env.render_text, env.snapshot):
        with pytest.raises(APIUsageError, match=r'called before reset\(\); call reset\(seed\) first'):
            call()
    with pytest.raises(RuntimeError, match=r'step\(\) called before reset\(\)'):
        env.vector.step()
    with pytest.raises(RuntimeError, match=r'render\(\) called before reset\(\)'):
        env.vector.render(0, np.zeros(env.spec.frame_shape, np.uint8))
    env.reset(0)
    env.step(np.zeros_like(env.actions))
    env.render()
    env.close()


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs RLIMIT_AS (POSIX)')
def test_a_failed_c_allocation_is_a_memory_error():
    """Under a memory limit, snake's c_init (3 arena arrays per env, ~200 KB at 256 x 256) runs out of memory while
    the Python buffers (9 observation bytes per snake) still fit: MemoryError, not a segfault."""
    script = '''
import resource
import pufferlib.envs.ocean as ocean
ocean.make('puffer_snake').close()
with open('/proc/self/status') as status:
    used = next(int(line.split()[1]) for line in status if line.startswith('VmSize:')) * 1024
resource.setrlimit(resource.RLIMIT_AS, (used + 200 * 2**20, resource.RLIM_INFINITY))
try:
    ocean.make('puffer_snake', num_envs=4000, width=256, height=256, vision=1)
except MemoryError:
    print('MemoryError')
'''
    if not os.path.exists('/proc/self/status'):
        pytest.skip('needs /proc to size the memory limit')
    # Outside the checkout, with the pufferlib this test imports (the installed one in CI, whose C modules are
    # built; a source tree without built modules would shadow it from the current folder).
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(ocean.__file__)))
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=120,
                            cwd=tempfile.gettempdir(), env={**os.environ, 'PYTHONPATH': package_root})
    assert result.returncode == 0 and result.stdout.strip() == 'MemoryError', result.stdout + result.stderr


@pytest.mark.parametrize('name', ocean.list_envs())
def test_registry_entry_is_the_c_spec(name):
    """Every registry field comes from the binding's spec(): the module constants, the defaults and the spaces agree."""
    spec = ocean.registry.lookup(name)
    module = importlib.import_module(spec.module)
    declared = module.spec()
    assert spec.agents_per_env == module.NUM_AGENTS and spec.frame_shape == (module.FRAME_H, module.FRAME_W, 3)
    assert set(spec.params) == set(declared['defaults']) and spec.description
    observation_space, action_space = spec.spaces(spec.params)
    assert observation_space.dtype == np.dtype(module.OBS_DTYPE)
    assert np.all(observation_space.low <= observation_space.high)


# ---------------------------------------------------------------------------------------------------------------
# puffer_delay: a cue, `delay` blank steps, then the query; only the answer to the query counts.

def delay_episode(env, answer, delay):
    """Steps one env through a whole episode, answering `answer(cue)` on the query and 0 before; returns the cue,
    the observations seen, the (reward, terminal) of each step and the last step's infos."""
    cue = int(np.argmax(env.observations[0, :-1]))
    seen, results = [env.observations[0].copy()], []
    for _ in range(delay + 2):
        query = env.observations[0, -1] == 1
        infos = env.step(np.array([answer(cue) if query else 0], np.int32))[4]
        seen.append(env.observations[0].copy())
        results.append((float(env.rewards[0]), bool(env.terminals[0])))
    return cue, seen, results, infos


@pytest.mark.parametrize('delay, num_cues', [(8, 4), (1, 2), (3, 16)])
def test_delay_pays_only_the_right_answer_on_the_query(delay, num_cues):
    env = ocean.make('puffer_delay', num_envs=1, seed=3, log_interval=1, delay=delay, num_cues=num_cues)
    assert env.single_observation_space.shape == (num_cues + 1,) and env.single_action_space.n == num_cues
    env.reset(3)
    for right in (True, False, True):
        cue, seen, results, infos = delay_episode(env, lambda c: c if right else (c + 1) % num_cues, delay)
        assert seen[0].tolist() == [float(k == cue) for k in range(num_cues)] + [0.0]  # the cue, one-hot
        assert all(not obs.any() for obs in seen[1:delay + 1])                        # delay blank steps
        assert seen[delay + 1].tolist() == [0.0] * num_cues + [1.0]                     # then the query
        assert seen[delay + 2][:-1].sum() == 1 and seen[delay + 2][-1] == 0             # next episode's cue
        assert results[:-1] == [(0.0, False)] * (delay + 1)
        assert results[-1] == (1.0 if right else 0.0, True)
        assert infos == [{'score': float(right), 'episode_return': float(right), 'episode_length': delay + 2.0}]
    env.close()


def test_delay_ignores_actions_before_the_query_and_scores_the_success_rate():
    """Wrong actions on the cue and the blank steps cost nothing; the score is the mean of right answers."""
    env = ocean.make('puffer_delay', num_envs=1, seed=0, log_interval=10**9, delay=2, num_cues=4)
    env.reset(0)
    for right in (True, True, False, True):
        cue = int(np.argmax(env.observations[0, :-1]))
        for _ in range(3):  # the cue and two blank steps: act wrongly on purpose
            env.step(np.array([(cue + 1) % 4], np.int32))
        env.step(np.array([cue if right else (cue + 2) % 4], np.int32))
        assert env.terminals[0] and env.rewards[0] == float(right)
    stats = env.vector.log()
    assert stats == {'score': 0.75, 'episode_return': 0.75, 'episode_length': 4.0}
    env.close()


def test_delay_is_deterministic_per_seed():
    def run(seed):
        env = ocean.make('puffer_delay', num_envs=8, seed=seed, delay=5, num_cues=6)
        env.reset(seed)
        rng = np.random.default_rng(1)
        trace = []
        for _ in range(200):
            observations, rewards, terminals, _, _ = env.step(random_actions(rng, env))
            trace.append((observations.copy(), rewards.copy(), terminals.copy()))
        env.close()
        return trace
    first, again, other = run(11), run(11), run(12)
    assert all(all(np.array_equal(x, y) for x, y in zip(a, b)) for a, b in zip(first, again))
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, other))


def train_delay(tmp_path, recurrent):
    """Its shipped config (LSTM, 300k steps); with `recurrent` False the same run without the LSTM."""
    import io
    from types import SimpleNamespace
    from pufferlib import config as puffer_config, runs, trainer
    from pufferlib.dashboard import Dashboard
    config = puffer_config.load('puffer_delay', overrides={'train.device': 'cpu', 'train.seed': 1,
                                                           'train.data_dir': str(tmp_path)})
    if not recurrent:
        config['base']['rnn_name'], config['rnn'] = None, {}
    result = trainer.train(config, SimpleNamespace(), dashboard=Dashboard('puffer_delay', live=False,
                                                                          file=io.StringIO()))
    scores = [row['env/score'] for row in runs.read_metrics(result.run_dir) if 'env/score' in row]
    return sum(scores[-5:]) / 5


def test_delay_is_solved_with_an_lstm_and_not_without(tmp_path):
    """The shipped config carries the cue across 9 steps to a success rate of at least 0.95 (about 20 s); a
    feed-forward policy with the same budget stays at chance (1/4): the score measures memory, not luck."""
    assert train_delay(tmp_path / 'lstm', recurrent=True) >= 0.95
    assert train_delay(tmp_path / 'mlp', recurrent=False) < 0.35
