"""OceanEnv: the one PufferEnv class behind every Ocean env; it drives a C `Vector` of num_envs envs."""
import importlib
import numbers

import numpy as np
from gymnasium import spaces

from pufferlib.envs.contract import PufferEnv
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError, SnapshotError
from pufferlib.envs.ocean.registry import COMMON_PARAM_BOUNDS


def load_module(spec):
    """Import the C extension of `spec` (EnvironmentSetupError naming the build command if it is not built)."""
    try:
        return importlib.import_module(spec.module)
    except ImportError as error:
        raise EnvironmentSetupError(
            f'{spec.name}: C extension {spec.module} is not built ({error}). Build it with '
            '`python setup.py build_ext --inplace` (or reinstall pufferlib).') from error


def action_bounds(action_space):
    """Inclusive (low, high) per action element of one agent: the C binding clamps actions into them."""
    if isinstance(action_space, spaces.Discrete):
        return [int(action_space.start)], [int(action_space.start + action_space.n - 1)]
    if isinstance(action_space, spaces.MultiDiscrete):
        nvec = action_space.nvec.reshape(-1)
        return [0] * len(nvec), [int(n) - 1 for n in nvec]
    return action_space.low.reshape(-1).tolist(), action_space.high.reshape(-1).tolist()


SNAPSHOT_BUFFERS = ('observations', 'rewards', 'terminals', 'truncations', 'masks')


class OceanEnv(PufferEnv):
    """`num_envs` copies of one C env stepped together; rows are num_envs * agents_per_env agents.

    Actions out of the action space are clamped into it by the C binding (Discrete n: into [0, n-1]; Box: into
    [low, high], NaN to low), so every value is accepted; int32/int64 (float32/float64 for Box) arrays are read in
    place without a copy. Episode stats are read from C every `log_interval` steps
    and returned as `infos = [means]` on that step (empty list on other steps or when no episode finished).
    step(), render() and snapshot() need a reset() first (or a restore()): APIUsageError otherwise.
    """

    def __init__(self, spec, num_envs=1, buf=None, seed=0, log_interval=128, **params):
        for key, value in (('num_envs', num_envs), ('log_interval', log_interval)):
            _, low, high = COMMON_PARAM_BOUNDS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise APIUsageError(f'{spec.name}: {key} must be an int in [{low}, {high}], got {value!r}')
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**63:
            raise APIUsageError(f'{spec.name}: seed must be an int in [0, 2**63), got {seed!r}')
        self.spec = spec
        self.params = spec.resolve_params(params)
        self.single_observation_space, self.single_action_space = spec.spaces(self.params)
        self.num_envs = num_envs
        self.num_agents = num_envs * spec.agents_for(self.params)
        self.log_interval = log_interval
        module = load_module(spec)
        # ACTION_MASK in the C binding, on for these parameters (docs/policies.md)
        self.has_action_masks = bool(getattr(module, 'ACTION_MASK', 0)) and module.spec(self.params)['action_mask']
        self.snapshot_buffers = SNAPSHOT_BUFFERS + (('action_masks',) if self.has_action_masks else ())
        super().__init__(buf)
        self.masks[:] = True  # before the C envs attach: a two-player env in agent mode writes its own (turns)
        low, high = action_bounds(self.single_action_space)
        self.vector = module.Vector(self.observations, self.actions, self.rewards, self.terminals, self.truncations,
                                    num_envs, self.params, low, high, int(seed),
                                    masks=self.masks,
                                    **({'action_mask': self.action_masks} if self.has_action_masks else {}))
        self.tick = 0
        self.started = False  # reset() or restore() has run: episodes are under way

    def reset(self, seed=None):
        """Reset every C env; with a seed, env i is reseeded from (seed, i). Returns (observations, [])."""
        self.masks[:] = True
        self.vector.reset(seed)  # a two-player env in agent mode then marks the rows waiting their turn
        self.tick = 0
        self.started = True
        return self.observations, []

    def _check_started(self, what):
        if not self.started:
            raise APIUsageError(f'{self.spec.name}: {what}() called before reset(); call reset(seed) first')

    def step(self, actions):
        if not self.started:
            self._check_started('step')
        try:
            self.vector.step(actions)  # C reads int32/float32 rows in place: no copy
        except (TypeError, ValueError, BufferError):
            self.vector.step(self._coerce_actions(actions))
        self.tick += 1
        infos = []
        if self.tick % self.log_interval == 0:
            stats = self.vector.log()
            if stats:
                infos.append(stats)
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    def _coerce_actions(self, actions):
        """Actions the C vector could not read directly (another dtype, a list, ...) as a contiguous array of the
        action buffer's dtype; APIUsageError for a wrong shape or an unsafe cast (float actions for a discrete
        space)."""
        array = np.asarray(actions)
        if array.shape != self.actions.shape:
            raise APIUsageError(f'{self.spec.name}: actions have shape {array.shape}; expected {self.actions.shape} '
                                '(num_agents, *action_shape)')
        if not np.can_cast(array.dtype, self.actions.dtype, casting='same_kind'):
            raise APIUsageError(f'{self.spec.name}: actions of dtype {array.dtype} cannot be used as '
                                f'{self.actions.dtype} actions of {self.single_action_space}')
        return np.ascontiguousarray(array, dtype=self.actions.dtype)

    def snapshot(self):
        """The state of every C env, this env's buffers and its log counter, as numpy arrays and ints: restore()
        on an env made with the same name, num_envs and parameters continues exactly from here."""
        self._check_started('snapshot')
        state = dict(env=self.spec.name, num_envs=self.num_envs, params=dict(self.params), tick=self.tick,
                     c_state=np.frombuffer(self.vector.snapshot(), np.uint8).copy())
        for name in self.snapshot_buffers:
            state[name] = getattr(self, name).copy()
        return state

    def restore(self, state):
        """Continue from a snapshot(), which may come from a file: everything is checked before anything changes.
        APIUsageError (one line naming the env and what is wrong) for a snapshot of another env, num_envs or
        parameters, or one whose buffers, counter or C state are malformed or out of range (the C binding checks
        every field of every env against this env's parameters); the env is then left as it was."""
        name = self.spec.name
        keys = {'env', 'num_envs', 'params', 'tick', 'c_state', *self.snapshot_buffers}
        if not isinstance(state, dict) or not keys <= set(state):
            missing = sorted(keys - set(state)) if isinstance(state, dict) else 'not a dict'
            raise SnapshotError(f'{name}: cannot restore a malformed snapshot (missing: {missing})')
        saved = (state['env'], state['num_envs'], state['params'])
        if saved != (name, self.num_envs, self.params):
            raise SnapshotError(f'{name}: cannot restore a snapshot of {saved[0]} with num_envs={saved[1]} '
                                f'and parameters {saved[2]} into num_envs={self.num_envs}, parameters {self.params}')
        tick = state['tick']
        if isinstance(tick, (bool, np.bool_)) or not isinstance(tick, numbers.Integral) or tick < 0:
            raise SnapshotError(f'{name}: cannot restore a snapshot whose tick is {tick!r}; expected an int >= 0')
        for key in self.snapshot_buffers:
            own, saved_buffer = getattr(self, key), state[key]
            if (not isinstance(saved_buffer, np.ndarray) or saved_buffer.shape != own.shape
                    or saved_buffer.dtype != own.dtype):
                got = (f'{saved_buffer.dtype}{list(saved_buffer.shape)}' if isinstance(saved_buffer, np.ndarray)
                       else type(saved_buffer).__name__)
                raise SnapshotError(f'{name}: cannot restore a snapshot whose {key} are {got}; expected '
                                    f'{own.dtype}{list(own.shape)}')
        c_state = state['c_state']
        if isinstance(c_state, bytes):
            c_state = np.frombuffer(c_state, np.uint8)
        if not isinstance(c_state, np.ndarray) or c_state.dtype != np.uint8:
            raise SnapshotError(f'{name}: cannot restore a snapshot whose c_state is not uint8 bytes')
        try:
            self.vector.restore(np.ascontiguousarray(c_state).reshape(-1))
        except ValueError as error:
            raise SnapshotError(f'{name}: cannot restore this snapshot: {error}') from None
        for key in self.snapshot_buffers:
            getattr(self, key)[...] = state[key]
        self.tick = int(tick)
        self.started = True

    def render(self, env_index=0):
        """RGB uint8 frame [H, W, 3] of C env `env_index` (a new array each call)."""
        self._check_started('render')
        frame = np.zeros(self.spec.frame_shape, np.uint8)
        self.vector.render(env_index, frame)
        return frame

    def render_text(self, env_index=0):
        self._check_started('render_text')
        return self.vector.render_text(env_index)

    def close(self):
        self.vector.close()
