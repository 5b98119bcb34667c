"""`puffer config` and `puffer train` driven with random flags: every outcome is exit 0 or a short `puffer: error:`
message (exit 2), never a traceback, never slow."""
import contextlib
import io
import signal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pufferlib import cli, config as puffer_config

ENVS = sorted(puffer_config.environment_index())
SCHEMA = puffer_config.typed_defaults()
KEYS = [(s, k) for s, items in SCHEMA.items() if not s.startswith('sweep.') for k in items]
KEYS += [('env', k) for k in ('num_envs', 'log_interval', 'width', 'size', 'max_steps', 'name', 'frameskip')]
KEYS += [('policy', k) for k in ('hidden_size', 'num_layers', 'activation')] + [('rnn', 'hidden_size')]
VALUES = st.one_of(
    st.sampled_from(['0', '-1', '-4', '1', '2', '3', '16', '1024', 'auto', 'None', 'True', 'false', 'nan', 'inf',
                     '1e12', '1e400', '2147483648', '9223372036854775808', '1' * 400, 'x' * 5000, '', ' ', '3e-4',
                     '0.5', '/dev/null', '/dev/zero', 'Multiprocessing', 'PufferEnv', 'bfloat16', 'cuda:0',
                     'garbage', '\u00e9\u6f22', '\n', '=', 'mymodule:MyEnv-v0']),
    st.integers(-2**70, 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=30),
)
FLAG = st.builds(lambda key, value, dash: [f'--{key[1]}' if key[0] == 'base' else
                                           f'--{key[0]}.{key[1].replace("_", "-" if dash else "_")}', value],
                 st.sampled_from(KEYS), VALUES, st.booleans())
ENV_NAME = st.one_of(st.sampled_from(ENVS), st.sampled_from(['nope', 'x' * 300, '\u00e9']))
SECONDS = 5  # per command; a hang fails the test instead of stalling the run
MAX_ERROR_CHARS = 5000


class Deadline(Exception):
    pass


@pytest.fixture(scope='module', autouse=True)
def imported():
    """Import what the commands import (torch, the env packages, the trainer) before any deadline runs."""
    import importlib
    importlib.import_module(cli.COMMANDS['train'].module)
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(['config', 'puffer_cartpole']) == 0


def puffer(argv, seconds=SECONDS):
    """(exit code, stdout, stderr) of `puffer ARGV` run in process, stopped after `seconds`."""
    def expire(signum, frame):
        raise Deadline(f'puffer {" ".join(argv)[:200]} took over {seconds} s')
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, out.getvalue(), err.getvalue()


def assert_clean(argv, code, stderr):
    assert code in (0, 2), (argv, code, stderr[-2000:])
    assert 'Traceback' not in stderr, (argv, stderr[-2000:])
    if code == 2:
        lines = stderr.rstrip('\n').split('\n')
        assert lines[0].startswith('puffer: error: '), (argv, stderr[:500])
        assert len(stderr) < MAX_ERROR_CHARS, (argv, len(stderr))
        assert len(lines) <= puffer_config.MAX_PROBLEMS + 3, (argv, len(lines))
        assert all(line.startswith('  - ') for line in lines[1:]), (argv, stderr[:500])


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(env=ENV_NAME, flags=st.lists(FLAG, min_size=1, max_size=6))
def test_puffer_config_with_random_flags_exits_cleanly(env, flags):
    argv = ['config', env] + [token for flag in flags for token in flag]
    code, _, stderr = puffer(argv)
    assert_clean(argv, code, stderr)


# Flags that change the sizes of a short run, valid or not.
TRAIN_FLAGS = st.lists(st.one_of(
    st.tuples(st.just('--train.bptt-horizon'), st.sampled_from(['1', '2', '4', '8', 'auto', '0', '3'])),
    st.tuples(st.just('--train.minibatch-size'), st.sampled_from(['8', '16', '32', '64', '100', '1e12'])),
    st.tuples(st.just('--train.batch-size'), st.sampled_from(['auto', '16', '32', '64', '48', '-64'])),
    st.tuples(st.just('--env.num-envs'), st.sampled_from(['1', '2', '4', '0', '-4'])),
    st.tuples(st.just('--vec.num-envs'), st.sampled_from(['1', '2', '3'])),
    st.tuples(st.just('--vec.batch-size'), st.sampled_from(['auto', '1', '2'])),
    st.tuples(st.just('--policy.hidden-size'), st.sampled_from(['0', '8', '-1'])),
    st.tuples(st.just('--train.update-epochs'), st.sampled_from(['1', '0'])),
), max_size=4)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(env=st.sampled_from(['puffer_squared', 'puffer_cartpole', 'puffer_bandit']), flags=TRAIN_FLAGS)
def test_short_puffer_train_with_random_sizes_exits_cleanly(tmp_path_factory, env, flags):
    data_dir = tmp_path_factory.mktemp('runs')
    argv = ['train', env, '--train.total-timesteps', '64', '--train.data-dir', str(data_dir), '--vec.backend',
            'Serial', '--env.num-envs', '2', '--train.bptt-horizon', '8', '--train.minibatch-size', '16',
            '--train.checkpoint-interval', '1000', '--train.device', 'cpu']
    argv += [token for flag in flags for token in flag]
    code, _, stderr = puffer(argv, seconds=60)
    assert_clean(argv, code, stderr)


@pytest.mark.parametrize('flags', [
    ['--train.minibatch-size', '1e12'],
    ['--vec.num-envs', '100000000000', '--vec.backend', 'Multiprocessing'],
    ['--vec.num-envs', '2147483647', '--vec.batch-size', '2147483648'],
    ['--config', '/dev/zero'],
    ['--env.num-envs', '0', '--train.bptt-horizon', 'auto', '--train.batch-size', '1024'],
    ['--train.data-dir', '/dev/null'],
    ['--policy.hidden-size', '0'],
    ['--vec.num-envs', '3', '--vec.batch-size', '1', '--vec.backend', 'Multiprocessing'],
    ['--env.num-envs', '-4'],
    ['--train.bptt-horizon', '1'],
])
def test_reported_hangs_and_tracebacks_end_in_one_short_error(flags):
    argv = ['config', 'puffer_cartpole'] + flags
    code, _, stderr = puffer(argv, seconds=3)
    assert code == 2, stderr
    assert_clean(argv, code, stderr)


def test_eval_records_one_episode_by_default_when_saving_a_video(tmp_path):
    from types import SimpleNamespace
    from pufferlib import evaluate
    parsed = cli.parse_command_line(cli.COMMANDS['eval'], ['puffer_squared', '--save-video',
                                                           str(tmp_path / 'a.mp4')])
    options = SimpleNamespace(**{**evaluate.OPTION_DEFAULTS, **vars(parsed.options)})
    evaluate.check_options(options)
    assert options.episodes == 1
    parsed = cli.parse_command_line(cli.COMMANDS['eval'], ['puffer_squared', '--episodes', '3', '--save-video',
                                                           str(tmp_path / 'a.mp4')])
    assert parsed.options.episodes == 3
    options = SimpleNamespace(**{**evaluate.OPTION_DEFAULTS, 'render_mode': 'none'})
    evaluate.check_options(options)
    assert options.episodes == 10
