"""What the sweep tests (test_sweep.py, test_pbt.py) share: a tiny env and run, and waiting on a sweep process and
its trial children."""
import io
import time

ENV = 'puffer_squared'


def tiny_run(total_timesteps):
    """Config text of a run that trains in seconds: 32 agents, 8-step segments (an epoch is 256 steps), episodes of
    at most 6 steps, a score logged every 2, a checkpoint every epoch."""
    return f"""
[env]
num_envs = 32
log_interval = 2
max_steps = 6

[train]
bptt_horizon = 8
minibatch_size = 128
max_minibatch_size = 128
total_timesteps = {total_timesteps}
device = cpu
checkpoint_interval = 1
"""


def wait_for(condition, timeout=180, what='condition'):
    """condition()'s first true value, polled every 0.2 s; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f'timed out waiting for {what}')


def children(pid):
    """The pids of a process's children (Linux /proc), [] once it is gone."""
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as file:
            return [int(p) for p in file.read().split()]
    except FileNotFoundError:
        return []


def alive(pid):
    """Whether a process exists and is not a zombie."""
    try:
        with open(f'/proc/{pid}/stat') as file:
            return file.read().split()[2] != 'Z'
    except FileNotFoundError:
        return False


def captured_sweep(config, module, view_name):
    """Run a sweep in this process with its view (`module.view_name`, SweepView or PBTView) writing plain lines
    into a StringIO: (result, that StringIO)."""
    from pufferlib.sweep import runner
    output = io.StringIO()
    view = getattr(module, view_name)
    try:
        setattr(module, view_name, lambda s: view(s, file=output, live=False))
        result = runner.sweep(config)
    finally:
        setattr(module, view_name, view)
    return result, output
