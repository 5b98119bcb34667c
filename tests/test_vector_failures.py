"""How the Multiprocessing backend fails: fast, loudly, naming the worker, and leaving nothing behind.

Each case checks the error text, how long it took to surface, that no worker process is left and that /dev/shm
holds nothing of ours. Run under both the fork and the spawn start methods.
"""
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest

import pufferlib
import pufferlib.vector as vector
from test_vector import CounterEnv

START_METHODS = ['fork', 'spawn']


def gone(pid):
    """True once `pid` has exited (a zombie waiting to be reaped counts as exited)."""
    try:
        with open(f'/proc/{pid}/stat') as stat:
            return stat.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except FileNotFoundError:
        return True


def wait_gone(pids, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(gone(pid) for pid in pids):
        time.sleep(0.05)
    return [pid for pid in pids if not gone(pid)]


def shm_files(pid=None):
    prefix = f'puffer_{pid or os.getpid()}_'
    return [name for name in os.listdir('/dev/shm') if name.startswith(prefix) or name.startswith('sem.')]


@pytest.fixture
def clean_shm():
    before = set(shm_files())
    yield
    assert set(shm_files()) - before == set()


@pytest.mark.parametrize('start_method', START_METHODS)
def test_worker_exception_is_raised_with_index_and_traceback(start_method, clean_shm):
    v = vector.make(CounterEnv, backend='Multiprocessing', num_envs=4, num_workers=2, start_method=start_method,
                    env_kwargs={'fail_seed': 3, 'fail_at': 3})
    pids = [process.pid for process in v.processes]
    v.reset(0)
    actions = np.zeros(v.num_agents, np.int32)
    v.step(actions)
    v.step(actions)
    start = time.monotonic()
    with pytest.raises(vector.WorkerError) as error:
        v.step(actions)
    assert time.monotonic() - start < 5
    assert error.value.worker_index == 1
    message = str(error.value)
    assert 'worker 1: an env raised an exception' in message
    assert 'ValueError: env with seed 3 fails at step 3' in message
    assert 'in step' in message  # the worker's traceback, down to the failing line
    assert wait_gone(pids, 5) == []
    v.close()  # already closed by the error: closing again is harmless
    with pytest.raises(vector.APIUsageError, match='closed'):
        v.step(actions)


def test_worker_failing_to_start_is_raised_from_make(clean_shm):
    start = time.monotonic()
    with pytest.raises(vector.WorkerError, match=r'(?s)worker 1: an env raised.*env with seed 2 refuses to start'):
        vector.make(CounterEnv, backend='Multiprocessing', num_envs=4, num_workers=2, seed=0,
                    env_kwargs={'fail_seed': 2, 'fail_at': 0})
    assert time.monotonic() - start < 5


@pytest.mark.parametrize('start_method', START_METHODS)
def test_killed_worker_is_reported(start_method, clean_shm):
    v = vector.make(CounterEnv, backend='Multiprocessing', num_envs=2, num_workers=2, start_method=start_method)
    v.reset(0)
    victim = v.processes[1]
    os.kill(victim.pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(vector.WorkerError, match=f'worker 1: process {victim.pid} was killed by signal SIGKILL'):
        v.step(np.zeros(v.num_agents, np.int32))
    assert time.monotonic() - start < 5
    assert wait_gone([process.pid for process in v.processes], 5) == []


@pytest.mark.parametrize('start_method', START_METHODS)
def test_hung_worker_times_out_with_its_stack(start_method, clean_shm):
    v = vector.make(CounterEnv, backend='Multiprocessing', num_envs=4, num_workers=2, start_method=start_method,
                    env_kwargs={'fail_seed': 3, 'fail_at': 2, 'hang': True})
    v.timeout = 1  # after start-up: spawned workers take a while to import on a busy machine
    pids = [process.pid for process in v.processes]
    actions = np.zeros(v.num_agents, np.int32)
    v.reset(0)
    v.step(actions)
    start = time.monotonic()
    with pytest.raises(vector.WorkerError) as error:
        v.step(actions)  # env 3 (worker 1) sleeps forever in its second step
    assert 1 <= time.monotonic() - start < 4
    assert error.value.worker_index == 1
    message = str(error.value)
    assert f'worker 1: no answer from process {pids[1]} within vec.timeout = 1 s' in message
    assert 'did not finish a step or reset' in message
    assert 'in hang_forever' in message and 'in step' in message  # the worker's stack, down to the hanging line
    assert wait_gone(pids, 5) == []
    with pytest.raises(vector.APIUsageError, match='closed'):
        v.step(actions)


def test_env_hanging_at_start_times_out_in_make(clean_shm):
    start = time.monotonic()
    with pytest.raises(vector.WorkerError, match=r'(?s)worker 1: no answer .*did not start.*in __init__'):
        vector.make(CounterEnv, backend='Multiprocessing', num_envs=2, num_workers=2, timeout=0.5,
                    env_kwargs={'fail_seed': 1, 'fail_at': 0, 'hang': True})
    assert time.monotonic() - start < 4


def test_no_timeout_when_zero():
    with vector.make(CounterEnv, backend='Multiprocessing', num_envs=2, num_workers=2, timeout=0) as v:
        assert v.timeout is None
    with pytest.raises(vector.APIUsageError, match='timeout must be a number of seconds >= 0'):
        vector.make(CounterEnv, backend='Multiprocessing', num_envs=2, timeout=-1)


def test_close_is_idempotent_and_frees_everything(clean_shm):
    v = vector.make(CounterEnv, backend='Multiprocessing', num_envs=2, num_workers=2)
    pids = [process.pid for process in v.processes]
    assert shm_files() == []  # unlinked as soon as the workers mapped it
    v.reset(0)
    v.close()
    v.close()
    assert wait_gone(pids, 5) == []


SCRIPT = textwrap.dedent('''
    import signal, sys, time, numpy as np
    from multiprocessing import resource_tracker
    # As in a terminal: a process started with SIGINT ignored (a background job, nohup) inherits that, and Python
    # then installs no KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import pufferlib.vector as vector
    from pufferlib.envs import gymnasium
    from test_vector import CounterEnv
    if sys.argv[2] == 'stepping':
        v = vector.make(gymnasium.make, backend='Multiprocessing', num_envs=4, num_workers=2,
                        start_method=sys.argv[1])
    else:  # the env of worker 1 never returns from its first step
        v = vector.make(CounterEnv, backend='Multiprocessing', num_envs=2, num_workers=2, start_method=sys.argv[1],
                        env_kwargs={'fail_seed': 1, 'fail_at': 1, 'hang': True})
    v.reset(0)
    actions = np.zeros(v.num_agents, np.int32)
    if sys.argv[2] == 'hung':
        v.send(actions)
    print(' '.join(str(p.pid) for p in v.processes), resource_tracker._resource_tracker._pid, flush=True)
    while True:
        if sys.argv[2] == 'stepping':
            v.step(actions)
        else:
            time.sleep(1)
''')


def start_script(start_method, mode='stepping'):
    """The script above in a process of its own, its worker pids and the pid of its resource tracker."""
    # Run outside the checkout, on the pufferlib this test imports: the checkout's sources lack the compiled envs
    # when CI installs a wheel.
    package_root = os.path.dirname(os.path.dirname(pufferlib.__file__))
    paths = [os.path.dirname(os.path.abspath(__file__)), package_root, os.environ.get('PYTHONPATH', '')]
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(paths)}
    process = subprocess.Popen([sys.executable, '-c', SCRIPT, start_method, mode], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True, env=env,
                               cwd=tempfile.gettempdir())
    *workers, tracker = [int(pid) for pid in process.stdout.readline().split()]
    assert len(workers) == 2, process.stderr.read()
    return process, workers, tracker


@pytest.mark.parametrize('mode', ['stepping', 'hung'])
@pytest.mark.parametrize('start_method', START_METHODS)
def test_workers_exit_when_the_parent_is_killed(start_method, mode):
    # 'hung': one worker is stuck in an env's step and never looks at its parent: the kernel's parent-death
    # signal ends it. The resource tracker ends once no worker holds its pipe.
    parent, workers, tracker = start_script(start_method, mode)
    parent.kill()
    parent.wait()
    try:
        assert wait_gone(workers, 5) == []
        assert wait_gone([tracker], 5) == []
        assert shm_files(parent.pid) == []
    finally:  # a failed test must not leave workers behind
        for pid in workers:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_ctrl_c_ends_cleanly():
    parent, workers, _ = start_script('fork')
    time.sleep(0.3)
    os.killpg(parent.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    try:
        _, stderr = parent.communicate(timeout=10)
    finally:
        if parent.poll() is None:  # a failed test must not leave the script stepping forever
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait()
    assert 'KeyboardInterrupt' in stderr
    assert stderr.count('Traceback') == 1, stderr  # the parent's own, nothing from the workers
    assert wait_gone(workers, 5) == []
    assert shm_files(parent.pid) == []
