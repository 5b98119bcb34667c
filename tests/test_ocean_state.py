"""Ocean env snapshots read back from a file: a tampered or corrupted state is refused with one line naming the env
and the field, or it steps cleanly; it never writes memory. The same fuzz runs under ASan/UBSan through
ocean/sanitize.sh --fuzz (plain C, no Python)."""
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pufferlib.envs.ocean as ocean
from pufferlib.exceptions import APIUsageError

ENVS = ocean.list_envs()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = 16 + 32  # magic, version, num_envs, num_params (uint32 each) and the env name; then the parameters


def stepped(name, num_envs=2, steps=37, seed=5):
    env = ocean.make(name, num_envs=num_envs, seed=seed, log_interval=8)
    env.reset(seed)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        env.step(random_actions(rng, env))
    return env


def random_actions(rng, env):
    space = env.single_action_space
    if hasattr(space, 'nvec'):
        return rng.integers(0, space.nvec, size=env.actions.shape).astype(np.int32)
    if hasattr(space, 'n'):
        return rng.integers(0, space.n, size=env.num_agents).astype(np.int32)
    return rng.uniform(-2, 2, size=env.actions.shape).astype(np.float32)


def env_state_offset(env):
    """Where the first C env's fields start in c_state: after the header and its parameters (float64 each)."""
    return HEADER + 8 * len(env.params)


def squared_field(env, name):
    """Offset of a Squared field in c_state: after env 0's log (4 floats) and RNG (8 bytes), the STATE fields
    agent_row, agent_col, target_row, target_col, tick (int32 each)."""
    order = ['agent_row', 'agent_col', 'target_row', 'target_col', 'tick']
    return env_state_offset(env) + 16 + 8 + 4 * order.index(name)


def test_a_tampered_index_is_refused_by_name_and_changes_nothing():
    """The issue's exploit: target_row = 1e8 in a checkpoint made --resume write far outside the observations."""
    env = stepped('puffer_squared')
    state = env.snapshot()
    before = env.snapshot()
    at = squared_field(env, 'target_row')
    state['c_state'][at:at + 4] = np.frombuffer(struct.pack('<i', 100_000_000), np.uint8)
    with pytest.raises(APIUsageError, match=r"puffer_squared: .*env 0: field 'target_row' = 100000000 is outside "
                                            r"\[0, 6\]"):
        env.restore(state)
    after = env.snapshot()
    np.testing.assert_array_equal(after['c_state'], before['c_state'])
    np.testing.assert_array_equal(after['observations'], before['observations'])
    env.step(np.zeros(2, np.int32))


def test_parameters_never_come_from_the_file():
    """size = 1e6 in the saved parameters: refused by name (the C side compares them with the live env's)."""
    env = stepped('puffer_squared')
    state = env.snapshot()
    size_at = HEADER + 8 * list(env.params).index('size')
    state['c_state'][size_at:size_at + 8] = np.frombuffer(struct.pack('<d', 1e6), np.uint8)
    with pytest.raises(APIUsageError, match=r"saved with env parameter 'size' = 1000000; this vector has 7"):
        env.restore(state)
    state = env.snapshot()
    state['params'] = {**state['params'], 'size': 9}
    with pytest.raises(APIUsageError, match='parameters'):
        env.restore(state)
    state = env.snapshot()
    state['c_state'] = stepped('puffer_bandit').snapshot()['c_state']
    with pytest.raises(APIUsageError, match='saved by another env'):
        env.restore(state)


@pytest.mark.parametrize('change, match', [
    (lambda s: s.pop('tick'), 'missing'),
    (lambda s: s.update(tick=-1), 'tick'),
    (lambda s: s.update(observations=s['observations'][:1]), 'observations'),
    (lambda s: s.update(rewards=s['rewards'].astype(np.float64)), 'rewards'),
    (lambda s: s.update(c_state=s['c_state'][:-1]), 'bytes'),
    (lambda s: s.update(c_state=s['c_state'].astype(np.int32)), 'c_state'),
])
def test_malformed_snapshots_are_refused(change, match):
    env = stepped('puffer_squared')
    state = env.snapshot()
    change(state)
    with pytest.raises(APIUsageError, match=match):
        env.restore(state)


def test_game_invariants_are_checked_beyond_field_ranges():
    """Fields can each be in range and still disagree: a snake's body must follow its cells, tetris's piece fit."""
    env = stepped('puffer_snake', num_envs=1, steps=20)
    state = env.snapshot()
    cells = env_state_offset(env) + 16 + 8  # the padded arena; its first cell is wall
    state['c_state'][cells] = 0
    with pytest.raises(APIUsageError, match=r'puffer_snake: .*env 0: cell \(-5, -5\) is not a wall'):
        env.restore(state)
    env = stepped('puffer_tetris', num_envs=1, steps=20)
    state = env.snapshot()
    rows = env_state_offset(env) + 20 + 8  # 20 board rows then 4 floor rows (uint32 each)
    state['c_state'][rows + 4 * 22:rows + 4 * 23] = 0
    with pytest.raises(APIUsageError, match=r'rows\[22\] = 0 has broken walls or floor'):
        env.restore(state)


# ---------------------------------------------------------------------------------------------------------------
# Fuzz: corrupt a real snapshot at random, restore, then render and step.

_SNAPSHOTS = {}


def snapshot_of(name):
    if name not in _SNAPSHOTS:
        env = stepped(name)
        _SNAPSHOTS[name] = env.snapshot()
        env.close()
    return _SNAPSHOTS[name]


INTERESTING = [struct.pack('<i', v) for v in (-1, -2**31, 2**31 - 1, 100_000_000, 1_000_000, 256, 64, 7, 1, 0)]
INTERESTING += [struct.pack('<f', v) for v in (float('nan'), float('inf'), -float('inf'), 1e30, -1e30, 1e8)]
EDIT = st.one_of(
    st.tuples(st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=8)),
    st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from(INTERESTING)),
    st.tuples(st.floats(0, 1, exclude_max=True), st.integers(-3, 3)),
)


def corrupt(c_state, edits, skip):
    """Apply edits at fractions of the state past `skip` bytes: raw bytes, an interesting int/float at an aligned
    offset, or an aligned int32 nudged by a little."""
    data = bytearray(c_state.tobytes())
    for where, edit in edits:
        at = skip + int(where * (len(data) - skip))
        if isinstance(edit, int):
            at &= ~3
            if at + 4 <= len(data):
                (value,) = struct.unpack_from('<i', data, at)
                struct.pack_into('<i', data, at, (value + edit + 2**31) % 2**32 - 2**31)
            continue
        if len(edit) == 4:
            at &= ~3
        data[at:at + len(edit)] = edit[:len(data) - at]
    return np.frombuffer(bytes(data), np.uint8)


@pytest.mark.parametrize('name', ENVS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(edits=st.lists(EDIT, min_size=1, max_size=3), header=st.booleans())
def test_a_corrupted_snapshot_is_refused_or_steps_cleanly(name, edits, header):
    state = dict(snapshot_of(name))
    env = ocean.make(name, num_envs=2, seed=1, log_interval=8)
    skip = 0 if header else env_state_offset(env)
    state['c_state'] = corrupt(state['c_state'], edits, skip)
    try:
        env.restore(state)
    except APIUsageError as error:
        message = str(error)
        assert message.startswith(f'{name}: ') and '\n' not in message
        with pytest.raises(APIUsageError, match='before reset'):
            env.step(np.zeros_like(env.actions))  # a refused restore left the env as it was: never reset
        return
    space = env.single_observation_space
    rng = np.random.default_rng(0)
    for index in range(2):
        assert env.render(index).shape == env.spec.frame_shape
        assert isinstance(env.render_text(index), str)
    for _ in range(25):
        obs, rewards, terminals, truncations, infos = env.step(random_actions(rng, env))
        assert np.isfinite(rewards).all()
        assert set(np.unique(terminals)) <= {0, 1} and set(np.unique(truncations)) <= {0, 1}
        if np.issubdtype(space.dtype, np.floating):
            assert not np.isnan(obs).any()
    env.close()


def _has_sanitizers():
    if shutil.which('gcc') is None:
        return False
    probe = subprocess.run(['gcc', '-fsanitize=address,undefined', '-x', 'c', '-', '-o', os.devnull],
                           input='int main(void) { return 0; }', capture_output=True, text=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _has_sanitizers(), reason='needs gcc with ASan and UBSan')
def test_corrupted_snapshots_under_the_sanitizers():
    """ocean/sanitize.sh --fuzz: every registered env, built with ASan + UBSan, loads 60 corrupted saved states
    (each then rendered and stepped 32 times if accepted) with zero reports, crashes or hangs."""
    result = subprocess.run(['bash', os.path.join(REPO, 'ocean', 'sanitize.sh'), '--fuzz', '60', '32'],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if 'restore fuzz' in line]
    assert len(lines) >= len(ENVS), lines  # one per registry entry, plus shipped configs that differ
    assert all(line.endswith(' 0 failed') for line in lines), lines
    assert 'all envs clean' in result.stdout
