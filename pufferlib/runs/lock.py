"""One writer per run folder.

The lock is a POSIX record lock (`fcntl.lockf`) on `<run>/.lock`, which also records the holder's pid, host and
start time. The kernel drops the lock when its process dies however it dies, so a lock left by a crash is stale by
construction: the next writer takes it over and says whose it was. Record locks are per process and are not
inherited by forked env workers, so a worker that outlives a killed trainer cannot keep its run locked.

Two cautions that shape the code: a process that closes *any* descriptor of the lock file loses its lock, and a
process's own lock never conflicts with itself. So this process never opens a lock file it holds (`HELD`), and a
second writer inside the same process is refused through `HELD` as well.
"""
import errno
import fcntl
import json
import os
import socket
import time

from pufferlib.exceptions import PufferError
from pufferlib.runs.layout import LOCK_FILE

HELD = {}   # real path of a run folder -> the RunLock this process holds on it


class RunLockedError(PufferError, RuntimeError):
    """The run folder is being written by another process (or another trainer in this one)."""


def holder_text(holder):
    started = holder.get('started')
    since = time.strftime(' since %Y-%m-%d %H:%M:%S', time.localtime(started)) if isinstance(started, (int, float)) \
        else ''
    return f'pid {holder.get("pid", "?")} on {holder.get("host", "?")}{since}'


class RunLock:
    def __init__(self, run_dir):
        self.run_dir = os.path.realpath(run_dir)
        self.path = os.path.join(self.run_dir, LOCK_FILE)
        self.descriptor = None
        self.stale_holder = None   # the record a crashed writer left, when this lock took it over

    def acquire(self):
        if self.run_dir in HELD:
            raise RunLockedError(f'{self.run_dir} is already being written by this process (pid {os.getpid()})')
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EACCES, errno.EAGAIN):
                os.close(descriptor)
                raise
            holder = read_record(descriptor)
            os.close(descriptor)
            raise RunLockedError(f'{self.run_dir} is being written by {holder_text(holder)}; a run has one writer '
                                 'at a time: stop that process first, or start another run') from None
        previous = read_record(descriptor)
        if previous.get('pid') is not None:
            self.stale_holder = previous
        record = json.dumps(dict(pid=os.getpid(), host=socket.gethostname(), started=time.time())).encode()
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, record, 0)
        os.fsync(descriptor)
        self.descriptor = descriptor
        HELD[self.run_dir] = self
        return self

    def release(self):
        """Clear the record and drop the lock (a clean exit leaves no holder behind)."""
        if self.descriptor is None:
            return
        try:
            os.ftruncate(self.descriptor, 0)
        finally:
            os.close(self.descriptor)  # closing drops the record lock
            self.descriptor = None
            HELD.pop(self.run_dir, None)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def read_record(descriptor):
    try:
        data = os.pread(descriptor, 4096, 0)
        record = json.loads(data.decode()) if data else {}
        return record if isinstance(record, dict) else {}
    except (OSError, ValueError, UnicodeDecodeError):
        return {}


def holder(run_dir):
    """The record of the process writing `run_dir` now ({'pid', 'host', 'started'}), or None if nobody is.

    Probes with a lock attempt on a fresh descriptor; never used on a folder this process holds (see the module
    docstring), which is answered from HELD."""
    real = os.path.realpath(run_dir)
    if real in HELD:
        return dict(pid=os.getpid(), host=socket.gethostname())
    path = os.path.join(real, LOCK_FILE)
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            # A shared lock is enough to probe and needs only read access; it conflicts with the writer's lock.
            fcntl.lockf(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return read_record(descriptor) or {'pid': '?'}
        return None
    finally:
        os.close(descriptor)
