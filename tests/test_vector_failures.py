"""How the Multiprocessing backend fails: fast, loudly, naming the worker, and leaving nothing behind.

Each case checks the error text, how long it took to surface, that no worker process is left and that /dev/shm
holds nothing of ours. Run under both the fork and the spawn start methods.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

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


def test_close_is_idempotent_and_frees_everything(clean_shm):
    v = vector.make(CounterEnv, backend='Multiprocessing', num_envs=2, num_workers=2)
    pids = [process.pid for process in v.processes]
    assert shm_files() == []  # unlinked as soon as the workers mapped it
    v.reset(0)
    v.close()
    v.close()
    assert wait_gone(pids, 5) == []


SCRIPT = textwrap.dedent('''
    import signal, sys, numpy as np
    # As in a terminal: a process started with SIGINT ignored (a background job, nohup) inherits that, and Python
    # then installs no KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import pufferlib.vector as vector
    from pufferlib.environments import gymnasium
    v = vector.make(gymnasium.make, backend='Multiprocessing', num_envs=4, num_workers=2, start_method=sys.argv[1])
    v.reset(0)
    print(' '.join(str(p.pid) for p in v.processes), flush=True)
    actions = np.zeros(4, np.int32)
    while True:
        v.step(actions)
''')


def start_script(start_method):
    process = subprocess.Popen([sys.executable, '-c', SCRIPT, start_method], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    workers = [int(pid) for pid in process.stdout.readline().split()]
    assert len(workers) == 2, process.stderr.read()
    return process, workers


@pytest.mark.parametrize('start_method', START_METHODS)
def test_workers_exit_when_the_parent_is_killed(start_method):
    parent, workers = start_script(start_method)
    parent.kill()
    parent.wait()
    assert wait_gone(workers, 5) == []
    assert shm_files(parent.pid) == []


def test_ctrl_c_ends_cleanly():
    parent, workers = start_script('fork')
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
