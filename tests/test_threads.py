"""pufferlib.threads: the user's thread settings win; otherwise small work gets 1 thread."""
import os

import torch

from pufferlib import threads
from pufferlib.threads import SMALL_WORK, torch_threads

DEFAULT = os.cpu_count()  # one of the counts torch picks by itself


def test_small_work_gets_one_thread():
    assert torch_threads('Serial', 16, rows=16, hidden_size=128, environ={}, current=DEFAULT) == 1
    assert torch_threads('Multiprocessing', 16, rows=16, hidden_size=128, environ={}, current=DEFAULT) == 1


def test_large_work_gets_the_cores_the_backend_leaves_free():
    rows = SMALL_WORK // 128 ** 2
    assert torch_threads('Serial', 16, rows=rows, hidden_size=128, environ={}, current=DEFAULT) == 16
    assert torch_threads('PufferEnv', 16, rows=rows, hidden_size=128, environ={}, current=DEFAULT) == 16
    assert torch_threads('Multiprocessing', 16, rows=rows, hidden_size=128, environ={}, current=DEFAULT) == 8
    assert torch_threads('Ray', 1, rows=rows, hidden_size=128, environ={}, current=DEFAULT) == 1


def test_environment_variables_win():
    for name in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        # torch read the variable when it started, so the current count is what the user asked for
        assert torch_threads('Serial', 16, rows=16, hidden_size=128, environ={name: '3'}, current=3) == 3
        assert torch_threads('Serial', 16, rows=10 ** 6, hidden_size=512, environ={name: '1'}, current=1) == 1


def test_set_num_threads_called_by_the_user_wins():
    unusual = max(threads._torch_defaults()) + 5
    assert torch_threads('Serial', 16, rows=16, hidden_size=128, environ={}, current=unusual) == unusual
    assert threads.user_threads({}, current=DEFAULT) is None


def test_reads_torch_when_not_told():
    assert threads.user_threads({'OMP_NUM_THREADS': '2'}) == torch.get_num_threads()
