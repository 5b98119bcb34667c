"""How many threads torch uses on the CPU: what the user asked for, else what the work's size is worth.

A torch op split over threads pays for waking them, far more when the cores are busy with env workers or other
jobs, and gains only when the op is large. So small work gets 1 thread: on a small machine shared with other jobs,
1 thread won at every size measured, so there the user's OMP_NUM_THREADS=1 is the right call. Threads can only pay
where cores are idle, on ops of millions of multiply-adds; SMALL_WORK sits above that, at 1,024 rows of a 128-wide
layer: inference batches of a few hundred agents stay on 1 thread, learning minibatches of thousands of rows get
the cores. `python bench/threads.py` times 1 thread against more by rows and hidden size.
"""
import os

# Below this many multiply-adds per hidden layer (rows * hidden_size**2), 1 thread. Rerun bench/threads.py on an
# idle machine with many cores to move it.
SMALL_WORK = 2 ** 24

THREAD_VARIABLES = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS')


def user_threads(environ=os.environ, current=None):
    """The thread count the user chose, or None when they left it to torch.

    Chosen means: OMP_NUM_THREADS or MKL_NUM_THREADS is set (torch reads them when it starts; the current count
    is returned, as a later torch.set_num_threads wins), or torch.set_num_threads was called with a count that is
    not one torch picks by itself (the machine's physical cores, its logical CPUs, or the CPUs this process may
    run on). A call that sets one of those counts cannot be told apart from torch's default: set OMP_NUM_THREADS
    to be sure. `current` defaults to torch.get_num_threads()."""
    if current is None:
        import torch
        current = torch.get_num_threads()
    if any(str(environ.get(name, '')).strip() for name in THREAD_VARIABLES):
        return current
    return None if current in _torch_defaults() else current


def _torch_defaults():
    counts = {os.cpu_count() or 1}
    try:
        counts.add(len(os.sched_getaffinity(0)))
    except AttributeError:
        pass
    try:
        import psutil
        counts.add(psutil.cpu_count(logical=False) or 1)
    except ImportError:
        pass
    return counts


def torch_threads(backend, cores, rows, hidden_size, environ=os.environ, current=None):
    """Torch threads for CPU work on `rows` rows of a policy `hidden_size` wide: the user's choice when there is
    one (see user_threads), else 1 for small work (rows * hidden_size**2 < SMALL_WORK), else every core for
    in-process backends (PufferEnv, Serial: the envs step between torch calls, never during them) and half the
    cores beside worker processes (they step while torch runs, and an oversubscribed pool spins instead of
    working).

    The trainer calls it with the inference batch (vecenv.agents_per_batch rows) for collecting and with the
    minibatch (min(minibatch_size, max_minibatch_size) rows) for learning, when the two differ."""
    chosen = user_threads(environ, current)
    if chosen is not None:
        return chosen
    if rows * hidden_size ** 2 < SMALL_WORK:
        return 1
    return max(1, cores if backend in ('PufferEnv', 'Serial') else cores // 2)
