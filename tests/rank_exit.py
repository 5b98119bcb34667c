"""`puffer ARGS` as one torchrun rank, for tests/test_distributed.py: once the command returns (its process group
torn down), print the names of the OS threads still alive in this process, as the line 'threads left: NAME ...'.
A communication thread still alive here lives on into interpreter exit.

    torchrun --standalone --nproc-per-node 2 tests/rank_exit.py train puffer_squared ...
"""
import os
import sys

from pufferlib import cli


def thread_names():
    names = []
    for task in sorted(os.listdir('/proc/self/task')):
        with open(f'/proc/self/task/{task}/comm') as comm:
            names.append(comm.read().strip())
    return names


if __name__ == '__main__':
    code = cli.main(sys.argv[1:])
    print(f'threads left: {" ".join(thread_names())}', flush=True)
    sys.exit(code)
