"""Flush denormal floats to zero on every CPU thread torch computes with.

Why: once a policy has trained a while, many of its pre-activations are large. For those, the exp(-x^2/2) inside
GELU and its gradient (and, far less often, SiLU's exp(-x)) underflows into denormal floats, which this class of
CPU handles slowly. Flushing them to zero changes no result that matters (they are below 1.2e-38);
`python -m bench.denormals --model RUN_DIR` measures what it gains on a trained policy (see docs/training.md).

`torch.set_flush_denormal` sets the mode of the calling thread only, while torch's OpenMP worker threads keep the
mode they were started with, and a parallel kernel waits for its slowest thread. So `set_flush_denormals` runs
one OpenMP parallel region, through the OpenMP runtime torch loaded, and sets the mode on each of its threads.
Where that runtime cannot be found (no /proc, another runtime), it sets the calling thread and any worker thread
started afterwards, which inherits the mode.
"""
import ctypes
import os
import threading

import torch

OPENMP_LIBRARIES = ('libgomp', 'libomp', 'libiomp5')  # libomp and libiomp5 also export GOMP_parallel


def flushing_denormals():
    """Whether the calling thread flushes denormals: a denormal input multiplied by one reads as zero."""
    return (torch.tensor([1e-39]) * 1.0).item() == 0.0


def set_flush_denormals(enabled):
    """Flush (True) or keep (False) denormal floats on the calling thread and every thread of its OpenMP pool.
    Returns the number of pool threads set (0 when only the calling thread could be)."""
    if not torch.set_flush_denormal(enabled):
        return 0  # this CPU has no flush-to-zero mode
    parallel = openmp_parallel()
    if parallel is None:
        return 0
    done = set()
    lock = threading.Lock()

    @ctypes.CFUNCTYPE(None, ctypes.c_void_p)
    def on_each_thread(_):
        torch.set_flush_denormal(enabled)
        with lock:
            done.add(threading.get_ident())

    # The team torch's own kernels use: the same master thread and the same number of threads.
    parallel(ctypes.cast(on_each_thread, ctypes.c_void_p), None, torch.get_num_threads(), 0)
    return len(done)


def openmp_parallel():
    """GOMP_parallel(fn, data, num_threads, flags) of the OpenMP runtime loaded in this process, or None."""
    try:
        with open('/proc/self/maps') as maps:
            paths = {line.split()[-1] for line in maps if '/' in line}
    except OSError:
        return None
    torch_dir = os.path.dirname(torch.__file__)
    # torch's own copy first, should a second OpenMP runtime be loaded too.
    paths = sorted(paths, key=lambda path: (not path.startswith(torch_dir), path))
    for path in paths:
        if not os.path.basename(path).startswith(OPENMP_LIBRARIES):
            continue
        try:
            # The same soname and path as the loaded library: dlopen returns that library, not a second copy.
            parallel = ctypes.CDLL(path).GOMP_parallel
        except (OSError, AttributeError):
            continue
        parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
        parallel.restype = None
        return parallel
    return None
