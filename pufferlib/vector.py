"""Vectorization: many env objects behind one API, run in process, in worker processes, or on Ray
(docs/architecture.md §4).

    vecenv = pufferlib.vector.make(creator, backend='Multiprocessing', num_envs=8, num_workers=2, batch_size=4)
    vecenv.async_reset(seed=0)
    while training:
        observations, rewards, terminals, truncations, infos, agent_ids, masks = vecenv.recv()
        vecenv.send(policy(observations))

`creator(buf=None, seed=0, **env_kwargs)` builds one PufferEnv (see pufferlib.envs). The vector owns one
row per agent of every env: rows [0, num_agents), env j holding rows [j * agents_per_env, (j + 1) * agents_per_env).
`recv` hands back `batch_size` envs' rows: the arrays are views (or, for a batch that is not one contiguous block,
copies) that stay valid until the next `send`. Each round of num_envs / batch_size receives returns every env once.
For envs that declare legal-action masks (`has_action_masks`), `vecenv.action_masks` is then that batch's mask rows
[agents, action_mask_size] (valid until the next `send` too); None for envs without.

Backends, chosen by `[vec] backend`:
  Serial           every env in this process, stepped in turn;
  Multiprocessing  worker processes step their envs straight into shared memory, woken by shared flags;
  Ray              Ray actors, on this machine or on a cluster;
  PufferEnv        one env object used directly (an Ocean env already steps all its C envs in one call).
All backends give identical results for the same seed in synchronous mode (batch_size == num_envs).
"""
import ctypes
import faulthandler
import mmap
import os
import platform
import re
import secrets
import signal
import sys
import threading
import time
import traceback
import weakref
from multiprocessing import get_context, resource_tracker

import numpy as np
from gymnasium import spaces

from pufferlib.envs.contract import (BUFFER_NAMES, Buffers, EnvOutputError, action_layout, allocate_buffers,
                                   batch_action_space)
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError, PufferError

# Terminal escape sequences (colours, cursor moves, hyperlinks): Ray colours the tracebacks of its actors.
_ANSI_ESCAPE = re.compile(r'\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])')


def strip_ansi(text):
    """`text` without terminal escape sequences, so a log file or a pipe shows plain text."""
    return _ANSI_ESCAPE.sub('', text)


class WorkerError(PufferError, RuntimeError):
    """An env failed inside a worker (an exception, a hang past vec.timeout, or the worker process died). Names the
    worker and carries the worker's traceback (or, for a hang, its stack). The vecenv is closed when this is
    raised."""

    def __init__(self, worker_index, message, remote_traceback=''):
        message, remote_traceback = strip_ansi(message), strip_ansi(remote_traceback)
        self.worker_index = worker_index
        self.remote_traceback = remote_traceback
        text = f'worker {worker_index}: {message}'
        if remote_traceback:
            text += f'\n\n--- traceback in worker {worker_index} ---\n{remote_traceback}'
        super().__init__(text)


def env_seed(seed, env_index):
    """Seed of env object `env_index` of a vector seeded with `seed` (an Ocean object then seeds its C env i
    from (that seed, i)). Every backend uses this rule, which is what makes their results identical."""
    return seed + env_index


def _reset_envs(envs, seed, first_env):
    try:
        for offset, env in enumerate(envs):
            env.reset(seed=env_seed(seed, first_env + offset))
            env.rewards[:] = 0
            env.terminals[:] = False
            env.truncations[:] = False
    except EnvOutputError as error:  # from an emulated env's own check: say which env of the vector it is
        raise EnvOutputError(f'env {first_env + offset}: {error}') from None


def _set_check_spaces(envs, steps):
    """Emulated envs check the raw observations of their first `steps` steps themselves (vec.check_spaces)."""
    for env in envs:
        if hasattr(env, 'check_spaces'):
            env.check_spaces = steps


def _step_envs(envs, first_env):
    infos = []
    try:
        for env in envs:
            infos.extend(env.step(env.actions)[4])
    except EnvOutputError as error:
        raise EnvOutputError(f'env {first_env + envs.index(env)}: {error}') from None
    return infos


class _ActionCheck:
    """Checks each batch of actions against `num_agents` rows of `action_space`: shape, dtype kind and (discrete)
    range, raising an APIUsageError that names what is wrong and what would be valid. Bounds are prepared once:
    this runs on every send."""

    def __init__(self, action_space, num_agents):
        self.space = action_space
        self.shape = (num_agents, *action_layout(action_space)[0])
        self.discrete = isinstance(action_space, (spaces.Discrete, spaces.MultiDiscrete))  # else float rows
        if isinstance(action_space, spaces.Discrete):
            self.low, self.high = int(action_space.start), int(action_space.start + action_space.n)
        elif self.discrete:
            self.low, self.high = action_space.start, action_space.start + action_space.nvec

    def __call__(self, actions):
        actions = np.asarray(actions)
        if actions.shape != self.shape:
            raise APIUsageError(f'actions have shape {actions.shape}; expected {self.shape} (one row per agent of '
                                f'the batch: {self.shape[0]} agents, action space {self.space})')
        kind = actions.dtype.kind
        if not self.discrete:
            if kind != 'f':
                raise APIUsageError(f'actions for {self.space} must be floats, got dtype {actions.dtype}')
            return actions
        if kind not in 'iu':
            raise APIUsageError(f'actions for {self.space} must be integers, got dtype {actions.dtype} '
                                '(sample the distribution, do not pass logits or probabilities)')
        if isinstance(self.low, int):  # Discrete: two reductions and plain int comparisons are the cheapest check
            out_of_range = actions.min() < self.low or actions.max() >= self.high
        else:
            out_of_range = ((actions < self.low) | (actions >= self.high)).any()
        if out_of_range:
            agent = int(np.argwhere((actions < self.low) | (actions >= self.high))[0][0])
            raise APIUsageError(f'action {actions[agent].tolist()} of agent row {agent} is out of range; valid: '
                                f'{np.asarray(self.low).tolist()} <= action < {np.asarray(self.high).tolist()} '
                                f'({self.space})')
        return actions


class VecEnv:
    """What every backend shares: spaces, the reset / send / recv protocol and the choice of each batch.

    Backends see envs through "workers": a worker steps `envs_per_worker` consecutive envs together, and a batch is
    `batch_size / envs_per_worker` workers. A backend implements _reset_workers(seed), _step_workers(workers) and
    _wait(), which returns a batch chosen with _choose from the workers whose results are in, and their infos.
    """

    def __init__(self, driver_env, num_envs, envs_per_worker, batch_size, zero_copy, seed, timeout=None,
                 check_spaces=0):
        self.driver_env = driver_env
        self.timeout = timeout or None  # seconds a worker may take to answer; None: no limit
        self.single_observation_space = driver_env.single_observation_space
        self.single_action_space = driver_env.single_action_space
        self.agents_per_env = driver_env.num_agents
        self.num_envs = num_envs
        self.num_workers = num_envs // envs_per_worker
        self.envs_per_worker = envs_per_worker
        self.batch_size = batch_size
        self.zero_copy = zero_copy
        self.seed = seed
        self.first_env = 0  # this vector's first env in a larger pool (see make): added to every reset's seed
        self.num_agents = num_envs * self.agents_per_env
        self.agents_per_batch = batch_size * self.agents_per_env
        self.rows_per_worker = envs_per_worker * self.agents_per_env
        self.workers_per_batch = batch_size // envs_per_worker
        self.agent_ids = np.arange(self.num_agents)
        self.has_action_masks = bool(getattr(driver_env, 'has_action_masks', False))
        self.action_masks = None  # the last recv()'s legal-action mask rows, for envs that declare masks
        box = self.single_observation_space
        self.observation_space = spaces.Box(
            low=np.broadcast_to(box.low, (self.agents_per_batch, *box.shape)),
            high=np.broadcast_to(box.high, (self.agents_per_batch, *box.shape)), dtype=box.dtype)
        self.action_space = batch_action_space(self.single_action_space, self.agents_per_batch)
        self._check_actions = _ActionCheck(self.single_action_space, self.agents_per_batch)
        self._all_workers = np.arange(self.num_workers)
        self._returned = np.zeros(self.num_workers, bool)  # workers already handed out in this round
        self._batch = self._batch_rows = None
        self._gathered = None
        self._phase = 'reset'  # reset (nothing started) -> recv <-> send; 'closed' at the end
        self._check_output = _OutputCheck(self, check_spaces) if check_spaces else None

    # ---- the protocol ----
    def async_reset(self, seed=None):
        """Reset every env (env j seeded with seed + j; `seed` defaults to the vector's seed); then recv()."""
        self._check_open()
        self._returned[:] = False
        self._reset_workers(self.seed if seed is None else seed + self.first_env)
        self._phase = 'recv'

    def recv(self):
        """(observations, rewards, terminals, truncations, infos, agent_ids, masks) of the next batch."""
        self._check_open()
        if self._phase == 'reset':
            raise APIUsageError('recv() called before reset(); call reset(seed) or async_reset(seed) first')
        if self._phase == 'send':
            raise APIUsageError('recv() called twice without send(); send actions for the batch you received')
        batch, infos = self._wait()
        if len(batch) < self.num_workers:
            self._returned[batch] = True
            if self._returned.all():
                self._returned[:] = False
        rows = self._rows(batch)
        self._batch, self._batch_rows = batch, rows
        self._phase = 'send'
        buffers = self.buffers
        if isinstance(rows, slice):
            result = (buffers.observations[rows], buffers.rewards[rows], buffers.terminals[rows],
                      buffers.truncations[rows], infos, self.agent_ids[rows], buffers.masks[rows])
            if self.has_action_masks:
                self.action_masks = buffers.action_masks[rows]
        else:
            if self._gathered is None:
                self._gathered = allocate_buffers(self.single_observation_space, self.single_action_space,
                                                  self.agents_per_batch, action_masks=self.has_action_masks)
            out = self._gathered
            for name in ('observations', 'rewards', 'terminals', 'truncations', 'masks'):
                np.take(getattr(buffers, name), rows, axis=0, out=getattr(out, name))
            if self.has_action_masks:
                self.action_masks = np.take(buffers.action_masks, rows, axis=0, out=out.action_masks)
            result = (out.observations, out.rewards, out.terminals, out.truncations, infos, self.agent_ids[rows],
                      out.masks)
        if self._check_output is not None and not self._check_output(result):
            self._check_output = None  # every env's first check_spaces steps were fine: no cost from here on
        return result

    def send(self, actions):
        """Actions [agents_per_batch, *action_shape] for the batch the last recv() returned."""
        self._check_open()
        if self._phase == 'reset':
            raise APIUsageError('send()/step() called before reset(); call reset(seed) or async_reset(seed) first')
        if self._phase == 'recv':
            raise APIUsageError('send() called twice without recv(); each send answers the batch of one recv')
        self.buffers.actions[self._batch_rows] = self._check_actions(actions)
        self._step_workers(self._batch)
        self._phase = 'recv'

    def reset(self, seed=None):
        """Synchronous reset: (observations, infos) of the first batch (all envs when batch_size == num_envs)."""
        self.async_reset(seed)
        observations, _, _, _, infos, _, _ = self.recv()
        return observations, infos

    def step(self, actions):
        """Synchronous step of every env: (observations, rewards, terminals, truncations, infos, masks); the rows
        are all agents in order (recv's agent_ids would be arange(num_agents))."""
        if self.batch_size != self.num_envs:
            raise APIUsageError(f'step() steps every env, but batch_size={self.batch_size} < num_envs='
                                f'{self.num_envs}; use send()/recv() (recv says which agents each batch holds) '
                                f'or make the vecenv with batch_size={self.num_envs}')
        self.send(actions)
        observations, rewards, terminals, truncations, infos, _, masks = self.recv()
        return observations, rewards, terminals, truncations, infos, masks

    def snapshot(self):
        """The state of every env, taken between recv() and send(), so that restore() in a new vecenv continues
        exactly from here (a checkpoint uses it to resume without restarting episodes). None when this backend or
        one of its envs cannot save its state (only in-process Ocean envs can)."""
        return None

    def restore(self, state):
        """Continue from snapshot(): the next recv() returns the batch the snapshot was taken at, without infos
        (they were reported when that batch was first received)."""
        raise APIUsageError(f'{type(self).__name__} vecenvs cannot restore env snapshots')

    def close(self):
        """Stop workers and free shared memory. Safe to call more than once."""
        if self._phase != 'closed':
            self._phase = 'closed'
            self._close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # ---- helpers for backends ----
    def _check_open(self):
        if self._phase == 'closed':
            raise APIUsageError('this vecenv is closed')

    def _choose(self, ready):
        """The next batch among `ready` workers not yet returned this round, or None if none is complete yet.
        zero_copy: the first complete block of consecutive workers; else the first ready workers, any of them."""
        if self.workers_per_batch == self.num_workers:
            return self._all_workers if ready.all() else None
        candidates = ready & ~self._returned
        if self.zero_copy:
            complete = np.flatnonzero(candidates.reshape(-1, self.workers_per_batch).all(axis=1))
            if len(complete):
                return np.arange(complete[0] * self.workers_per_batch, (complete[0] + 1) * self.workers_per_batch)
            return None
        ready_workers = np.flatnonzero(candidates)
        return ready_workers[:self.workers_per_batch] if len(ready_workers) >= self.workers_per_batch else None

    def _rows(self, workers):
        """The agent rows of `workers`: a slice when they are consecutive, else an index array."""
        if workers[-1] - workers[0] + 1 == len(workers):
            return slice(workers[0] * self.rows_per_worker, (workers[-1] + 1) * self.rows_per_worker)
        return (workers[:, None] * self.rows_per_worker + np.arange(self.rows_per_worker)).ravel()

    def _fail(self, worker, message, remote_traceback=''):
        """Close everything, then raise: a vecenv with a broken worker cannot go on."""
        self.close()
        raise WorkerError(worker, message, remote_traceback)


def _observation_layout(env):
    from pufferlib.envs.emulation import observation_layout
    return getattr(env, 'observation_layout', None) or observation_layout(env.single_observation_space)


class _OutputCheck:
    """vec.check_spaces: checks what every env returns in its first `steps` steps (recv / step / reset) against
    its spaces, on any backend: each observation part within its bounds and free of NaN (for agents that are
    present), each reward finite. Emulated envs also check the wrapped env's raw values (shape, dtype) themselves.
    Called with recv's result; returns False once the checking is over."""

    def __init__(self, vecenv, steps):
        self.vecenv = vecenv
        self.steps = steps
        self.receives_left = (steps + 1) * (vecenv.num_envs // vecenv.batch_size)  # the reset, then `steps`
        self.layout = _observation_layout(vecenv.driver_env)
        # Per part: whether to look for NaN, whether to compare with the bounds, and the bounds as two scalars
        # when every element shares them (then one minimum and one maximum test the whole batch; else None).
        self.parts = []
        for leaf, values, low, high in self.layout.stored_parts(vecenv.driver_env.observations[:1]):
            if values.dtype.kind == 'f':
                bounded = bool(np.isfinite(low).any() or np.isfinite(high).any())
            else:
                info = np.iinfo(values.dtype) if values.dtype.kind in 'iu' else None
                bounded = info is not None and bool((low > info.min).any() or (high < info.max).any())
            uniform = bool(np.all(low == np.min(low)) and np.all(high == np.max(high)))
            self.parts.append((values.dtype.kind == 'f', bounded, (np.min(low), np.max(high)) if uniform else None))

    @staticmethod
    def _suspect(values, low, high, has_nan, bounded, scalar_bounds):
        """The quick test (reductions, no temporary arrays where possible): may `values` hold a bad element?"""
        if not values.size:
            return False
        smallest, largest = values.min(), values.max()  # NaN shows in both
        if has_nan and (np.isnan(smallest) or np.isnan(largest)):
            return True
        if not bounded:
            return False
        if scalar_bounds is not None:
            return bool(smallest < scalar_bounds[0] or largest > scalar_bounds[1])
        return bool((values < low).any() or (values > high).any())

    def __call__(self, result):
        observations, rewards, _, _, _, agent_ids, masks = result
        present = None if masks.all() else masks  # absent agents' rows hold zeros, whatever the bounds
        for (leaf, values, low, high), (has_nan, bounded, scalar_bounds) in zip(
                self.layout.stored_parts(observations), self.parts):
            if not (has_nan or bounded) or not self._suspect(values if present is None else values[present], low,
                                                             high, has_nan, bounded, scalar_bounds):
                continue
            bad = np.isnan(values) if has_nan else np.zeros(values.shape, bool)
            if bounded:
                bad |= (values < low) | (values > high)
            if present is not None:
                bad[~present] = False
            if bad.any():
                row, *index = np.argwhere(bad)[0]
                value = values[(row, *index)]
                low, high = (np.broadcast_to(bound, leaf.shape)[tuple(index)] for bound in (low, high))
                problem = ('is NaN' if np.isnan(value) else f'is {_shown(value, leaf)!r}, outside '
                           f'[{_shown(low, leaf)!r}, {_shown(high, leaf)!r}]')
                self._raise(agent_ids[row], f'{self._part(leaf, index)} {problem} (its space: {leaf.space})')
        if not np.isfinite(rewards).all():
            row = int(np.flatnonzero(~np.isfinite(rewards))[0])
            self._raise(agent_ids[row], f'the reward is {rewards[row].item()!r}')
        self.receives_left -= 1
        return self.receives_left > 0

    def _part(self, leaf, index):
        from pufferlib.envs.emulation import part_name
        return 'observation ' + part_name(leaf.path, index)

    def _raise(self, agent_row, problem):
        from pufferlib.envs.emulation import env_name
        vecenv = self.vecenv
        env, agent = divmod(int(agent_row), vecenv.agents_per_env)
        who = f'env {env}'
        if vecenv.envs_per_worker > 1 or isinstance(vecenv, (Multiprocessing, Ray)):
            who += f' (worker {env // vecenv.envs_per_worker})'
        who += f', agent row {int(agent_row)}'
        names = getattr(vecenv.driver_env, 'possible_agents', None)
        if names is not None and vecenv.agents_per_env > 1:
            who += f' (agent {names[agent]!r})'
        raise EnvOutputError(f'{env_name(vecenv.driver_env)} {who}: {problem}. Checked in the first '
                             f'{self.steps} steps of every env (vec.check_spaces = {self.steps}; 0 turns the check '
                             'off).')


def _shown(number, leaf):
    """A stored number as the part's own dtype would show it (a Discrete 9 stored in a float32 row: 9, not 9.0)."""
    number = np.asarray(number)
    if leaf.dtype.kind in 'biu' and np.isfinite(number) and number == np.round(number):
        return int(number)
    return number.item()


def describe_nonfinite(observations, rewards, values=None, env=None, index_names=None):
    """Which input is NaN or inf, for an error message: "the rewards hold nan at [segment 3, step 17]", "the
    observations hold inf at [segment 0, step 5], key 'position' at [1]", ...; None when all are finite.

    observations [..., *obs_shape], rewards [...] and values [...] are numpy arrays or torch tensors (any device)
    with the same leading dimensions, named by `index_names` (e.g. ('segment', 'step')). `env` (e.g.
    vecenv.driver_env) lets flattened observations be named by their original keys. Rewards and observations
    come first: when they hold NaN, the values (the policy's output) follow from them."""
    rewards = _as_numpy(rewards)
    observations = _as_numpy(observations)
    leading = rewards.ndim

    def where(index):
        index = [int(i) for i in index]
        names = index_names or [''] * len(index)
        return '[' + ', '.join(f'{name} {i}'.strip() for name, i in zip(names, index)) + ']'

    bad = ~np.isfinite(rewards)
    if bad.any():
        index = np.argwhere(bad)[0]
        return f'the rewards hold {rewards[tuple(index)].item()} at {where(index)}'
    parts = [(None, observations, None, None)] if env is None else _observation_layout(env).stored_parts(observations)
    for leaf, part, _, _ in parts:
        if part.dtype.kind != 'f':
            continue
        bad = ~np.isfinite(part)
        if bad.any():
            index = np.argwhere(bad)[0]
            text = f'the observations hold {part[tuple(index)].item()} at {where(index[:leading])}'
            if leaf is not None:
                from pufferlib.envs.emulation import part_name
                text += ', ' + part_name(leaf.path, index[leading:])
            return text
    if values is not None:
        values = _as_numpy(values)
        bad = ~np.isfinite(values)
        if bad.any():
            index = np.argwhere(bad)[0]
            return (f'the values (the policy\'s output) hold {values[tuple(index)].item()} at {where(index)}, '
                    'while the rewards and observations are finite')
    return None


def _as_numpy(array):
    if hasattr(array, 'detach'):  # a torch tensor, maybe on a GPU, maybe bfloat16 (which numpy lacks)
        array = array.detach()
        if array.is_floating_point() and array.element_size() < 4:
            array = array.float()
        return array.cpu().numpy()
    return np.asarray(array)


class Serial(VecEnv):
    """Every env in this process, each its own worker; send() steps the batch at once. env 0 is the driver env.
    Also the PufferEnv backend: then `envs` is just the one env, used directly on its own buffers."""

    def __init__(self, envs, buffers, driver_env, batch_size, zero_copy, seed, check_spaces=0):
        super().__init__(driver_env, len(envs), 1, batch_size, zero_copy, seed, None, check_spaces)
        _set_check_spaces(envs, check_spaces)
        self.envs = envs
        self.buffers = buffers
        self._infos = [[] for _ in envs]
        self._all_ready = np.ones(len(envs), bool)

    def _reset_workers(self, seed):
        _reset_envs(self.envs, seed, 0)
        self._infos = [[] for _ in self.envs]

    def _step_workers(self, workers):
        for worker in workers:
            self._infos[worker] = _step_envs([self.envs[worker]], worker)

    def _wait(self):
        batch = self._choose(self._all_ready)
        return batch, [info for worker in batch for info in self._infos[worker]]

    def snapshot(self):
        # One batch of every env: a recv() then always returns the whole vector, so no batch bookkeeping to save.
        if (self._phase != 'send' or self.batch_size != self.num_envs
                or not all(hasattr(env, 'snapshot') for env in self.envs)):
            return None
        return [env.snapshot() for env in self.envs]

    def restore(self, state):
        self._check_open()
        if (self.batch_size != self.num_envs or not isinstance(state, list) or len(state) != len(self.envs)
                or not all(hasattr(env, 'restore') for env in self.envs)):
            raise APIUsageError(f'this Serial vecenv ({len(self.envs)} envs, batch_size {self.batch_size}) cannot '
                                'restore this snapshot: it needs the same envs, all stepped in one batch')
        for env, env_state in zip(self.envs, state):
            env.restore(env_state)
        self._infos = [[] for _ in self.envs]
        self._returned[:] = False
        self._phase = 'recv'

    def _close(self):
        for env in self.envs:  # the driver env is env 0
            env.close()


# ---- Multiprocessing ----
# A worker's flag (in shared memory) holds a command from the parent (> 0) or the worker's answer (<= 0).
STEP, RESET, CLOSE = 1, 2, 3
DONE, DONE_WITH_INFOS, FAILED = 0, -1, -2
FLAG_STRIDE = 16  # int32s between two flags: a 64-byte cache line each, so no two processes write the same line
SHM_DIR = '/dev/shm'
# Spin-then-sleep: check in a tight loop this long before sleeping, but only while the last answer came within
# this window. On a busy machine (or while the parent runs the policy) answers come later, spinning would take the
# CPU the others need to answer, and it switches itself off.
SPIN_SECONDS = 2e-5
SLEEP_SECONDS = 0.02  # longest sleep between checks that the other side is still alive

_SYS_FUTEX = {'x86_64': 202, 'aarch64': 98}.get(platform.machine()) if sys.platform == 'linux' else None
_FUTEX_WAIT, _FUTEX_WAKE = 0, 1
_syscall = ctypes.CDLL(None, use_errno=True).syscall if _SYS_FUTEX else None


class _Timespec(ctypes.Structure):
    _fields_ = [('seconds', ctypes.c_long), ('nanoseconds', ctypes.c_long)]


class _Bell:
    """One int32 word of shared memory that a process sleeps on until another process changes it and rings: a
    Linux futex, so a waiting process uses no CPU and wakes within microseconds (elsewhere: short sleeps)."""

    def __init__(self, array, index):
        self.address = ctypes.c_void_p(array.ctypes.data + int(index) * array.itemsize)
        self.timeout = ctypes.byref(_Timespec(0, int(SLEEP_SECONDS * 1e9)))

    def wait(self, expected):
        """Sleep while the word still holds `expected`, at most SLEEP_SECONDS."""
        if _syscall is None:
            time.sleep(1e-4)
        else:
            _syscall(ctypes.c_long(_SYS_FUTEX), self.address, ctypes.c_long(_FUTEX_WAIT), ctypes.c_long(expected),
                     self.timeout, None, ctypes.c_long(0))

    def ring(self):
        """Wake whoever waits on the word (call after changing it)."""
        if _syscall is not None:
            _syscall(ctypes.c_long(_SYS_FUTEX), self.address, ctypes.c_long(_FUTEX_WAKE),
                     ctypes.c_long(2 ** 31 - 1), None, None, ctypes.c_long(0))


def _wait_for_command(flags, slot, bell, spin, parent_pid):
    """(the next command for this worker, whether to spin next time). Exits (CLOSE) if the parent is gone, even
    killed by SIGKILL."""
    start = time.perf_counter()
    while True:
        command = int(flags[slot])
        if command > 0:
            return command, time.perf_counter() - start < SPIN_SECONDS
        if not spin or time.perf_counter() - start > SPIN_SECONDS:
            bell.wait(command)
            if os.getppid() != parent_pid:
                return CLOSE, False


# A worker dumps the stack of its threads into its pipe on this signal: how the parent shows where an env hangs.
STACK_SIGNAL = signal.SIGUSR1
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid):
    """Have the kernel SIGKILL this process when its parent dies (Linux), so a worker stuck in an env's step
    cannot outlive a parent killed by SIGKILL (idle workers also notice in _wait_for_command). Exits at once if
    the parent died before this was set."""
    if sys.platform == 'linux':
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(0)


def _worker_main(index, creator, env_kwargs, envs_per_worker, rows_per_env, shm_path, layout, connection,
                 parent_pid, die_with_parent=True, check_spaces=0):
    # Ctrl-C goes to the whole process group; only the parent handles it, then closes the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    faulthandler.register(STACK_SIGNAL, file=connection.fileno(), all_threads=True)
    if parent_pid is None:  # forkserver: the parent process is the fork server, which exits with the real parent
        parent_pid = os.getppid()
    if die_with_parent:
        _die_with_parent(parent_pid)
    arrays = _map_shared(shm_path, layout)
    flags, seeds = arrays.pop('flags'), arrays.pop('seeds')
    buffers = Buffers(**arrays)
    slot = index * FLAG_STRIDE
    my_bell, parent_bell = _Bell(flags, slot), _Bell(flags, len(flags) - FLAG_STRIDE)

    def answer(value):
        flags[slot] = value
        flags[-FLAG_STRIDE] = 1  # the parent's doorbell: "some answer changed"
        parent_bell.ring()

    first_env = index * envs_per_worker
    envs = []
    try:
        for env_index in range(first_env, first_env + envs_per_worker):
            envs.append(creator(buf=buffers.rows(env_index * rows_per_env, (env_index + 1) * rows_per_env),
                                seed=env_seed(int(seeds[index]), env_index), **env_kwargs))
        _set_check_spaces(envs, check_spaces)
        answer(DONE)
        spin = True
        while True:
            command, spin = _wait_for_command(flags, slot, my_bell, spin, parent_pid)
            if command == CLOSE:
                break
            if command == RESET:
                _reset_envs(envs, int(seeds[index]), first_env)
                infos = []
            else:
                infos = _step_envs(envs, first_env)
            # Flag first, then send: the parent reads the pipe only after seeing the flag, so a message larger
            # than the pipe's buffer would otherwise block both sides.
            answer(DONE_WITH_INFOS if infos else DONE)
            if infos:
                connection.send(infos)
    except Exception:
        answer(FAILED)
        connection.send(traceback.format_exc())
    finally:
        faulthandler.unregister(STACK_SIGNAL)
        for env in envs:
            env.close()
        connection.close()


def _map_shared(path, layout):
    """Named numpy arrays over the shared file at `path`, laid out as [(name, shape, dtype, offset)]."""
    fd = os.open(path, os.O_RDWR)
    try:
        memory = mmap.mmap(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
    return {name: np.ndarray(shape, dtype, buffer=memory, offset=offset) for name, shape, dtype, offset in layout}


class _SharedFile:
    """One shared-memory file holding every buffer. It is unlinked as soon as the workers have mapped it, so
    nothing is left in /dev/shm even if this process is killed later; until then the resource tracker (a separate
    process) unlinks it if this process dies."""

    def __init__(self, arrays):
        self.name = f'/puffer_{os.getpid()}_{secrets.token_hex(4)}'
        self.path = SHM_DIR + self.name
        self.layout, size = [], 0
        for name, shape, dtype in arrays:
            size = -(-size // 64) * 64
            self.layout.append((name, shape, np.dtype(dtype), size))
            size += int(np.prod(shape)) * np.dtype(dtype).itemsize
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        resource_tracker.register(self.name, 'shared_memory')
        self.linked = True
        try:
            os.ftruncate(fd, max(size, 1))
        finally:
            os.close(fd)

    def unlink(self):
        if self.linked:
            self.linked = False
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            resource_tracker.unregister(self.name, 'shared_memory')


def _stop_workers(processes, flags, shared_file, connections):
    """Close workers (asking first, then SIGTERM, then SIGKILL) and unlink shared memory. Runs once, from close(),
    garbage collection or interpreter exit."""
    commands = flags[:-FLAG_STRIDE:FLAG_STRIDE]
    started = [process for process in processes if process.pid is not None]
    deadline = time.monotonic() + 2
    while any(process.is_alive() for process in started) and time.monotonic() < deadline:
        # A worker busy with a step answers over the CLOSE command when it finishes: repeat it until all exit.
        for worker in np.flatnonzero(commands != CLOSE):
            commands[worker] = CLOSE
            _Bell(flags, worker * FLAG_STRIDE).ring()
        time.sleep(0.002)
    for process in started:
        if process.is_alive():
            process.terminate()
            process.join(1)
        if process.is_alive():
            process.kill()
        process.join()
    for connection in connections:
        connection.close()
    shared_file.unlink()


def _read_stack(process, connection, wait=1.0):
    """The stack of every thread of a hung worker: it dumps them into its pipe (faulthandler, in C, so even an env
    stuck in C code holding the GIL answers). '' if the worker cannot say."""
    try:
        os.kill(process.pid, STACK_SIGNAL)
        if not connection.poll(wait):
            return ''
        chunks = []
        while connection.poll(0.1) and len(chunks) < 64:
            chunk = os.read(connection.fileno(), 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    except (OSError, ValueError):
        return ''
    return b''.join(chunks).decode(errors='replace')


def _describe_exit(exitcode):
    if exitcode is not None and exitcode < 0:
        return f'was killed by signal {signal.Signals(-exitcode).name}'
    return (f'exited with code {exitcode} without reporting an error; its output above says why (with the spawn '
            "or forkserver start method, a script must keep its code under `if __name__ == '__main__':`)")


class Multiprocessing(VecEnv):
    """Worker processes each step `envs_per_worker` envs straight into one shared-memory block. Commands and
    answers are shared flags (no pipe traffic per step); infos and tracebacks go over a pipe when there are any."""

    def __init__(self, creator, env_kwargs, driver_env, num_envs, num_workers, batch_size, zero_copy, seed,
                 start_method=None, timeout=None, check_spaces=0):
        super().__init__(driver_env, num_envs, num_envs // num_workers, batch_size, zero_copy, seed, timeout,
                         check_spaces)
        if not os.path.isdir(SHM_DIR):
            raise EnvironmentSetupError(f'the Multiprocessing backend needs {SHM_DIR} (Linux); use Serial or Ray')
        context = get_context(start_method)
        self._spin = True
        template = allocate_buffers(self.single_observation_space, self.single_action_space, self.num_agents,
                                    allocator=np.empty, action_masks=self.has_action_masks)  # only shapes, dtypes
        names = BUFFER_NAMES + (('action_masks',) if self.has_action_masks else ())
        shared_file = _SharedFile([(name, getattr(template, name).shape, getattr(template, name).dtype)
                                   for name in names]
                                  + [('flags', ((self.num_workers + 1) * FLAG_STRIDE,), np.int32),
                                     ('seeds', (self.num_workers,), np.int64)])
        arrays = _map_shared(shared_file.path, shared_file.layout)
        flags, self._seeds = arrays.pop('flags'), arrays.pop('seeds')
        self._answers = flags[:-FLAG_STRIDE:FLAG_STRIDE]  # one flag per worker; the last line is the doorbell
        self._doorbell = flags[-FLAG_STRIDE:-FLAG_STRIDE + 1]
        self._parent_bell = _Bell(flags, len(flags) - FLAG_STRIDE)
        self._worker_bells = [_Bell(flags, worker * FLAG_STRIDE) for worker in range(self.num_workers)]
        self._answers[:] = RESET  # "busy" until each worker answers DONE once its envs exist
        self._seeds[:] = seed
        self.buffers = Buffers(**arrays)
        self.buffers.masks[:] = True
        if self.has_action_masks:
            self.buffers.action_masks[:] = True
        self.processes, self._connections = [], []
        self._finalizer = weakref.finalize(self, _stop_workers, self.processes, flags, shared_file,
                                           self._connections)
        # The kernel's parent-death signal follows the thread that started a worker, not the process: from any
        # other thread, it would kill the workers when that thread ends. There, idle workers still notice.
        die_with_parent = threading.current_thread() is threading.main_thread()
        parent_pid = None if context.get_start_method() == 'forkserver' else os.getpid()
        self._sent_at = np.full(self.num_workers, time.monotonic())  # when each worker got its last command
        try:
            for worker in range(self.num_workers):
                receiver, sender = context.Pipe(duplex=False)
                self._connections.append(receiver)
                process = context.Process(
                    target=_worker_main, daemon=True, name=f'puffer-worker-{worker}',
                    args=(worker, creator, env_kwargs, self.envs_per_worker, self.agents_per_env, shared_file.path,
                          shared_file.layout, sender, parent_pid, die_with_parent, check_spaces))
                self.processes.append(process)
                process.start()
                sender.close()  # the worker holds the only writing end, so its death reads as EOF here
            self._started = False
            self._poll(lambda status: True if (status <= DONE).all() else None)
            self._started = True
        except BaseException:
            self._finalizer()
            raise
        shared_file.unlink()

    def _reset_workers(self, seed):
        # A worker still busy with a step would answer over the RESET command: let every step finish first.
        status, _ = self._poll(lambda status: True if (status <= DONE).all() else None)
        for worker in np.flatnonzero(status == DONE_WITH_INFOS):
            self._receive(worker)
        self._seeds[:] = seed
        self._command(np.arange(self.num_workers), RESET)

    def _step_workers(self, workers):
        self._command(workers, STEP)

    def _command(self, workers, command):
        self._sent_at[workers] = time.monotonic()
        self._answers[workers] = command
        for worker in workers:
            self._worker_bells[worker].ring()

    def _wait(self):
        status, batch = self._poll(lambda status: self._choose(status <= DONE))
        infos = []
        for worker in batch:
            if status[worker] == DONE_WITH_INFOS:
                infos.extend(self._receive(worker))
        return batch, infos

    def _receive(self, worker):
        """What `worker` sent over its pipe (infos or a traceback); marks its infos as read."""
        try:
            message = self._connections[worker].recv()
        except (EOFError, OSError):
            process = self.processes[worker]
            process.join(1)
            self._fail(worker, f'process {process.pid} {_describe_exit(process.exitcode)} while reporting')
        if self._answers[worker] == DONE_WITH_INFOS:
            self._answers[worker] = DONE  # the worker is idle until its next command: this cannot race
        return message

    def _poll(self, outcome):
        """Read the workers' answers until `outcome(answers)` is not None; return (answers, outcome). Checks in a
        tight loop for a moment, then sleeps on the doorbell; raises WorkerError as soon as a worker fails or dies."""
        start = time.perf_counter()
        next_health_check = time.monotonic() + SLEEP_SECONDS
        while True:
            self._doorbell[0] = 0  # before reading: an answer arriving after the read rings again
            status = self._answers.copy()
            if (status == FAILED).any():
                worker = int(np.flatnonzero(status == FAILED)[0])
                self._fail(worker, 'an env raised an exception', self._receive(worker))
            result = outcome(status)
            if result is not None:
                self._spin = time.perf_counter() - start < SPIN_SECONDS
                return status, result
            if self._spin and time.perf_counter() - start < SPIN_SECONDS:
                continue
            self._parent_bell.wait(0)
            now = time.monotonic()
            if now > next_health_check:
                next_health_check = now + SLEEP_SECONDS
                for worker, process in enumerate(self.processes):
                    if status[worker] > DONE and process.exitcode is not None:
                        self._fail(worker, f'process {process.pid} {_describe_exit(process.exitcode)}')
                if self.timeout is not None:
                    late = np.flatnonzero((status > DONE) & (now - self._sent_at > self.timeout))
                    if len(late):
                        self._fail_hung(int(late[0]))

    def _fail_hung(self, worker):
        process = self.processes[worker]
        stack = _read_stack(process, self._connections[worker])
        process.kill()  # it would not answer close() either
        what = 'its envs did not start' if not self._started else 'its envs did not finish a step or reset'
        self._fail(worker, f'no answer from process {process.pid} within vec.timeout = {self.timeout:g} s: {what}. '
                           'The stack below shows where it was; raise vec.timeout if the env is just slow (0: no '
                           'limit).', f'(stack of the worker when it was stopped)\n{stack}' if stack else '')

    def _close(self):
        self._finalizer()
        self.driver_env.close()


# ---- Ray ----
class _RayWorker:
    """The envs of one Ray worker on buffers of its own; results travel back through Ray's object store."""

    def __init__(self, creator, env_kwargs, first_env, envs_per_worker, observation_space, action_space,
                 agents_per_env, seed, check_spaces=0, action_masks=False):
        self.first_env = first_env
        self.buffers = allocate_buffers(observation_space, action_space, envs_per_worker * agents_per_env,
                                        action_masks=action_masks)
        self.envs = [creator(buf=self.buffers.rows(offset * agents_per_env, (offset + 1) * agents_per_env),
                             seed=env_seed(seed, first_env + offset), **env_kwargs)
                     for offset in range(envs_per_worker)]
        _set_check_spaces(self.envs, check_spaces)

    def ready(self):
        return True

    def stack(self):
        """The stack of the thread running this actor's envs (stuck in a step): runs in a concurrency group of its
        own, so it answers while step() hangs, as long as the env lets go of the GIL. Ray's own idle threads are
        left out unless no thread is in the envs."""
        me = threading.get_ident()
        stacks = {ident: traceback.extract_stack(frame) for ident, frame in sys._current_frames().items()
                  if ident != me}
        ours = {ident: stack for ident, stack in stacks.items() if any(f.filename == __file__ for f in stack)}
        return '\n'.join(f'Thread {ident:#x} (most recent call last):\n' + ''.join(stack.format())
                         for ident, stack in (ours or stacks).items())

    def reset(self, seed):
        _reset_envs(self.envs, seed, self.first_env)
        return self._results([])

    def step(self, actions):
        self.buffers.actions[:] = actions
        return self._results(_step_envs(self.envs, self.first_env))

    def _results(self, infos):
        buffers = self.buffers
        return (buffers.observations, buffers.rewards, buffers.terminals, buffers.truncations, buffers.masks,
                buffers.action_masks, infos)


def _import_ray():
    try:
        import ray
    except ImportError as error:
        raise EnvironmentSetupError('the Ray backend needs the ray package: pip install "pufferlib[ray]"') from error
    return ray


class Ray(VecEnv):
    """Ray actors, each stepping `envs_per_worker` envs; results are copied into this process's buffers.
    Joins the Ray runtime already started in this process, else starts one (local, or `address` of a cluster)."""

    def __init__(self, creator, env_kwargs, driver_env, num_envs, num_workers, batch_size, zero_copy, seed,
                 address=None, timeout=None, check_spaces=0):
        super().__init__(driver_env, num_envs, num_envs // num_workers, batch_size, zero_copy, seed, timeout,
                         check_spaces)
        ray = self._ray = _import_ray()
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False)
        self.buffers = allocate_buffers(self.single_observation_space, self.single_action_space, self.num_agents,
                                        action_masks=self.has_action_masks)
        # step / reset run one at a time (the default group); stack() has a thread of its own to answer a hang
        actor = ray.remote(concurrency_groups={'inspect': 1})(_RayWorker)
        self._actors = [actor.remote(creator, env_kwargs, worker * self.envs_per_worker, self.envs_per_worker,
                                     self.single_observation_space, self.single_action_space, self.agents_per_env,
                                     seed, check_spaces, self.has_action_masks)
                        for worker in range(self.num_workers)]
        self._sent_at = np.full(self.num_workers, time.monotonic())
        self._started = False
        for worker, handle in enumerate(self._actors):
            self._get(worker, handle.ready.remote(), self._sent_at[worker])
        self._started = True
        self._futures = [None] * self.num_workers
        self._answered = np.zeros(self.num_workers, bool)
        self._worker_rows = [self._rows(np.array([worker])) for worker in range(self.num_workers)]

    def _reset_workers(self, seed):
        self._futures = [handle.reset.remote(seed) for handle in self._actors]
        self._sent_at[:] = time.monotonic()
        self._answered[:] = False

    def _step_workers(self, workers):
        for worker in workers:
            self._futures[worker] = self._actors[worker].step.remote(self.buffers.actions[self._worker_rows[worker]])
        self._sent_at[workers] = time.monotonic()
        self._answered[workers] = False

    def _wait(self):
        while (batch := self._choose(self._answered)) is None:
            waiting = {self._futures[worker]: worker for worker in np.flatnonzero(~self._answered & ~self._returned)}
            oldest = min(waiting.values(), key=lambda worker: self._sent_at[worker])
            timeout = None if self.timeout is None else max(0.0, self._sent_at[oldest] + self.timeout
                                                            - time.monotonic())
            finished, _ = self._ray.wait(list(waiting), num_returns=1, timeout=timeout)
            if not finished:
                self._fail_hung(oldest)
            self._answered[[waiting[future] for future in finished]] = True
        infos = []
        for worker in batch:
            *arrays, worker_infos = self._get(worker, self._futures[worker])
            for name, array in zip(('observations', 'rewards', 'terminals', 'truncations', 'masks', 'action_masks'),
                                   arrays):
                if array is not None:
                    getattr(self.buffers, name)[self._worker_rows[worker]] = array
            infos.extend(worker_infos)
        return batch, infos

    def _get(self, worker, future, sent_at=None):
        """The result of `future`; with `sent_at`, waiting at most until vec.timeout after it."""
        timeout = None if sent_at is None or self.timeout is None else max(0.0, sent_at + self.timeout
                                                                            - time.monotonic())
        try:
            return self._ray.get(future, timeout=timeout)
        except self._ray.exceptions.GetTimeoutError:
            self._fail_hung(worker)
        except self._ray.exceptions.RayTaskError as error:
            self._fail(worker, 'an env raised an exception', str(error))
        except self._ray.exceptions.RayActorError as error:
            self._fail(worker, f'the Ray actor died: {error}')

    def _fail_hung(self, worker):
        try:
            stack = self._ray.get(self._actors[worker].stack.options(concurrency_group='inspect').remote(),
                                  timeout=5)
        except Exception:  # an env holding the GIL, or a dead actor: report without the stack
            stack = ''
        what = 'its envs did not start' if not self._started else 'its envs did not finish a step or reset'
        self._fail(worker, f'no answer from Ray actor {worker} within vec.timeout = {self.timeout:g} s: {what}. '
                           'The stack below shows where it was; raise vec.timeout if the env is just slow (0: no '
                           'limit).', f'(stack of the actor when it was stopped)\n{stack}' if stack else '')

    def _close(self):
        for handle in self._actors:
            self._ray.kill(handle)
        self.driver_env.close()


# ---- building a vecenv ----
BACKENDS = ('Serial', 'Multiprocessing', 'Ray', 'PufferEnv')


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def _is_count(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def check_sizes(backend, num_envs, num_workers=None, batch_size=None):
    """(num_workers, batch_size) resolved for `backend`, or an APIUsageError naming the numbers and valid choices.

    A worker steps num_envs / num_workers envs; a batch is a whole number of workers, and a round a whole number of
    batches. Serial has no worker processes (each env counts as one worker, num_workers is ignored); PufferEnv is
    one env object. None means: as many workers as fit the CPUs, and batch_size = num_envs (synchronous).
    """
    if backend not in BACKENDS:
        raise APIUsageError(f'backend {backend!r} is not one of {", ".join(BACKENDS)}')
    if not _is_count(num_envs):
        raise APIUsageError(f'num_envs must be an int >= 1, got {num_envs!r}')
    if backend == 'PufferEnv':
        if num_envs != 1 or batch_size not in (None, 1):
            raise APIUsageError(f'backend PufferEnv uses one env object directly, so num_envs and batch_size must '
                                f'be 1 (got num_envs={num_envs}, batch_size={batch_size}); use Serial or '
                                "Multiprocessing for several objects, or raise the env's own [env] num_envs")
        return 1, 1
    if backend == 'Serial':
        num_workers = num_envs
    elif num_workers is None:
        num_workers = max(d for d in _divisors(num_envs) if d <= len(os.sched_getaffinity(0)))
    elif not _is_count(num_workers) or num_envs % num_workers:
        raise APIUsageError(f'num_envs={num_envs} must split evenly over num_workers={num_workers!r}; valid '
                            f'num_workers: {_divisors(num_envs)}')
    envs_per_worker = num_envs // num_workers
    valid = [envs_per_worker * d for d in _divisors(num_workers)]
    if batch_size is None:
        batch_size = num_envs
    if batch_size not in valid:
        raise APIUsageError(f'batch_size={batch_size!r} does not fit num_envs={num_envs} with num_workers='
                            f'{num_workers} ({envs_per_worker} envs each): a batch must be whole workers and '
                            f'num_envs a whole number of batches; valid batch_size: {valid}')
    return num_workers, int(batch_size)


DEFAULT_TIMEOUT = 60.0
DEFAULT_CHECK_SPACES = 100


def make(env_creator, backend='Serial', num_envs=1, num_workers=None, batch_size=None, zero_copy=True, seed=0,
         env_kwargs=None, start_method=None, ray_address=None, timeout=DEFAULT_TIMEOUT,
         check_spaces=DEFAULT_CHECK_SPACES, first_env=0):
    """A vecenv of `num_envs` env objects built by `env_creator(buf=None, seed=0, **env_kwargs)` (a PufferEnv).

    backend: Serial, Multiprocessing, Ray or PufferEnv. num_workers: worker processes / actors (None: fit the
    CPUs). batch_size: envs per recv (None: num_envs, synchronous). zero_copy: batches are fixed blocks of
    consecutive workers handed over as views; False: any workers that are ready first (copied when not
    consecutive). seed: env j is seeded with seed + j. start_method: fork, spawn or forkserver (None: Python's
    default) for Multiprocessing. ray_address: an existing Ray cluster (None: local) for Ray. timeout: seconds a
    worker may take to start its envs or to answer a step / reset before recv() raises WorkerError with its
    stack (Multiprocessing and Ray; 0 or None: no limit). check_spaces: check every env's first this many steps
    against its spaces (bounds, NaN, dtype, finite rewards) and raise EnvOutputError naming the env, agent row
    and observation key (0: no check). first_env: this vector is envs [first_env, first_env + num_envs) of a larger
    pool (a data-parallel rank's share, pufferlib.distributed) and seeds them as a vector of the whole pool would:
    env objects j from seed + first_env + j; with the PufferEnv backend (the pool one native vector of equal parts),
    C env i from (seed, first_env * its C envs + i).
    """
    from pufferlib.envs.contract import PufferEnv
    num_workers, batch_size = check_sizes(backend, num_envs, num_workers, batch_size)
    if not callable(env_creator):
        raise APIUsageError(f'env_creator must be callable (creator(buf=None, seed=0, **env_kwargs)), '
                            f'got {env_creator!r}')
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise APIUsageError(f'seed must be an int >= 0, got {seed!r}')
    if timeout is not None and (not isinstance(timeout, (int, float, np.number)) or isinstance(timeout, bool)
                                or not timeout >= 0):
        raise APIUsageError(f'timeout must be a number of seconds >= 0 (0 or None: no limit), got {timeout!r}')
    if not isinstance(check_spaces, (int, np.integer)) or isinstance(check_spaces, bool) or check_spaces < 0:
        raise APIUsageError(f'check_spaces must be an int >= 0 (steps to check; 0: off), got {check_spaces!r}')
    if not isinstance(first_env, (int, np.integer)) or isinstance(first_env, bool) or first_env < 0:
        raise APIUsageError(f'first_env must be an int >= 0, got {first_env!r}')
    timeout = float(timeout) if timeout else None
    env_kwargs = dict(env_kwargs or {})
    if backend != 'PufferEnv':  # env objects j of this vector are envs first_env + j of the pool
        seed += first_env
    driver = env_creator(buf=None, seed=env_seed(seed, 0), **env_kwargs)
    if not isinstance(driver, PufferEnv):
        raise APIUsageError(f'env_creator returned {type(driver).__name__}, not a PufferEnv; wrap Gymnasium / '
                            'PettingZoo envs with pufferlib.envs.emulation (GymnasiumPufferEnv, PettingZooPufferEnv)')
    try:
        if backend == 'PufferEnv':
            if first_env:
                native = getattr(driver, 'vector', None)
                if not hasattr(native, 'set_first_env'):
                    raise APIUsageError(f'first_env {first_env}: {type(driver).__name__} cannot offset its envs\' '
                                        'seeds (only Ocean envs can); use the Serial or Multiprocessing backend')
                native.set_first_env(first_env * driver.num_envs)
            return Serial([driver], driver.buffers, driver, 1, zero_copy, seed, check_spaces)
        if backend == 'Serial':
            rows = driver.num_agents
            buffers = allocate_buffers(driver.single_observation_space, driver.single_action_space,
                                       num_envs * rows, action_masks=getattr(driver, 'has_action_masks', False))
            envs = [env_creator(buf=buffers.rows(j * rows, (j + 1) * rows), seed=env_seed(seed, j), **env_kwargs)
                    for j in range(num_envs)]
            driver.close()  # env 0 takes its place, so driver_env.render() shows an env that is being stepped
            return _offset(Serial(envs, buffers, envs[0], batch_size, zero_copy, seed, check_spaces), first_env)
        if backend == 'Multiprocessing':
            return _offset(Multiprocessing(env_creator, env_kwargs, driver, num_envs, num_workers, batch_size,
                                           zero_copy, seed, start_method, timeout, check_spaces), first_env)
        return _offset(Ray(env_creator, env_kwargs, driver, num_envs, num_workers, batch_size, zero_copy, seed,
                           ray_address, timeout, check_spaces), first_env)
    except BaseException:
        driver.close()
        raise


def _offset(vecenv, first_env):
    """A vector of Python-level env objects built from seed + first_env: later resets add first_env too."""
    vecenv.first_env = first_env
    return vecenv


def make_from_config(config, **kwargs):
    """The vecenv a loaded config describes: env from [base] package / env_name with [env] as its parameters,
    vectorized as [vec] says. `kwargs` (e.g. start_method) go to make()."""
    from pufferlib.envs import load_package
    base, vec = config['base'], config['vec']
    creator = load_package(base['package']).env_creator(base['env_name'])

    def given(key):
        value = vec.get(key)
        return None if value == 'auto' else value

    return make(creator, backend=vec['backend'], num_envs=vec['num_envs'], num_workers=given('num_workers'),
                batch_size=given('batch_size'), zero_copy=vec.get('zero_copy', True), seed=vec.get('seed', 0),
                env_kwargs=config.get('env') or {}, ray_address=given('ray_address'),
                timeout=vec.get('timeout', DEFAULT_TIMEOUT), check_spaces=vec.get('check_spaces', DEFAULT_CHECK_SPACES),
                **kwargs)
