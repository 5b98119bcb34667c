"""A person at the keyboard as the agent: `puffer eval ENV --human` (docs/eval.md, docs/rewards.md).

Keys map to actions through one key map per env, declared once in KEY_MAPS below (or given on the command line with
`--keys`). Each frame the window reports the keys held down and the keys pressed since the last frame; the action is
that of the most recently pressed mapped key still held (or pressed and released within the frame, so a quick tap
counts). With no mapped key down, `idle` says what happens:

    an action   the env's no-op (breakout's 0): the game runs on in real time
    repeat      the last action again (snake keeps its heading); nothing happens until the first key
    wait        the env does not step until a key is pressed, one step per press (turn-based: puffer_2048, maze)

An env with Discrete actions and no entry here takes the number keys: key k is action k (k < 10), `wait` when idle.
The person plays agent row 0; any other rows are played by the policy (--load-model-path) or at random.
"""
import numpy as np
from gymnasium import spaces

from pufferlib.exceptions import APIUsageError

IDLE_MODES = ('wait', 'repeat')
ARROWS_UDLR_1234 = {'up': 1, 'w': 1, 'down': 2, 's': 2, 'left': 3, 'a': 3, 'right': 4, 'd': 4}
ARROWS_UDLR_0123 = {'up': 0, 'w': 0, 'down': 1, 's': 1, 'left': 2, 'a': 2, 'right': 3, 'd': 3}

# env name -> (key name -> action, what no key means). Key names are pygame's (pygame.key.name): 'left', 'space',
# 'a', '1'. The action meanings are those in each env's C header (ocean/<env>/<env>.h).
KEY_MAPS = {
    'puffer_breakout': ({'space': 1, 'up': 1, 'w': 1, 'left': 2, 'a': 2, 'right': 3, 'd': 3}, 0),
    'puffer_pong': ({'up': 1, 'w': 1, 'down': 2, 's': 2}, 0),
    'puffer_freeway': ({'up': 1, 'w': 1, 'down': 2, 's': 2}, 0),
    'puffer_squared': (ARROWS_UDLR_1234, 0),
    'puffer_swarm': (ARROWS_UDLR_1234, 0),
    'puffer_pacman': (ARROWS_UDLR_1234, 0),  # 0 keeps the last wished direction
    'puffer_enduro': ({'space': 1, 'up': 1, 'w': 1, 'right': 2, 'd': 2, 'left': 3, 'a': 3, 'down': 4, 's': 4}, 0),
    'puffer_warehouse': ({'up': 1, 'w': 1, 'left': 2, 'a': 2, 'right': 3, 'd': 3, 'space': 4}, 0),
    'puffer_maze': (ARROWS_UDLR_0123, 'wait'),
    'puffer_2048': (ARROWS_UDLR_0123, 'wait'),
    'puffer_snake': (ARROWS_UDLR_0123, 'repeat'),
    'puffer_cartpole': ({'left': 0, 'a': 0, 'right': 1, 'd': 1}, 'repeat'),
}


class KeyMap:
    """Key codes -> actions, and what no key means (an action, 'repeat' or 'wait')."""

    def __init__(self, actions, idle, action_space, source):
        self.space, self.source = action_space, source
        self.names = dict(actions)
        try:
            import pygame
        except ImportError:
            raise APIUsageError('--human needs pygame: pip install "pufferlib[eval]"') from None
        self.codes = {}
        for name, action in actions.items():
            try:
                code = pygame.key.key_code(name)
            except (ValueError, pygame.error):
                raise APIUsageError(f'--keys {name}={action}: {name!r} is not a key name (pygame\'s names, e.g. '
                                    'left, space, a, 1)') from None
            if code == pygame.K_ESCAPE:
                raise APIUsageError(f'--keys {name}={action}: Esc stops the game; map another key')
            self.codes[code] = self.check(action, f'--keys {name}')
        self.idle = idle if idle in IDLE_MODES else self.check(idle, '--keys none')
        self.last = None

    def check(self, action, where):
        given = np.asarray(action)
        discrete = not isinstance(self.space, spaces.Box)
        if given.size != int(np.prod(self.space.shape)) or (discrete and not np.issubdtype(given.dtype, np.integer)):
            raise APIUsageError(f'{where}={given.tolist()}: not an action of {self.space}')
        action = given.astype(self.space.dtype).reshape(self.space.shape)
        if not self.space.contains(action):
            raise APIUsageError(f'{where}={given.tolist()}: not an action of {self.space}')
        return action

    def action(self, held, pressed):
        """The action for this frame from the keys held (in the order pressed) and the keys pressed since the last
        frame, or None: do not step (idle 'wait' or 'repeat' before any key)."""
        recent = [key for key in pressed if key in self.codes]
        down = [key for key in held if key in self.codes]
        mode = self.idle if isinstance(self.idle, str) else 'action'
        if recent:
            self.last = self.codes[recent[-1]]
        elif down and mode != 'wait':  # turn-based: one step per press, not one per frame while held
            self.last = self.codes[down[-1]]
        elif mode == 'wait':
            return None
        elif mode == 'action':
            return self.idle
        return self.last

    def describe(self):
        keys = ', '.join(f'{name} {np.asarray(action).tolist()}' for name, action in self.names.items())
        idle = self.idle if isinstance(self.idle, str) else f'action {self.idle.tolist()}'
        return f'keys ({self.source}): {keys}; no key: {idle}; Esc stops'


def parse_keys(text):
    """`--keys 'left=2,right=3,space=1,none=0'` -> ({key name: action}, idle or None). A vector action (MultiDiscrete,
    Box) is written with slashes: `left=0/1`."""
    actions, idle = {}, None
    for item in filter(None, (part.strip() for part in str(text).split(','))):
        name, _, value = item.partition('=')
        name, value = name.strip().lower(), value.strip()
        if not name or not value:
            raise APIUsageError(f'--keys {text!r}: {item!r} is not KEY=ACTION (e.g. left=2,right=3,none=0)')
        if name == 'none' and value in IDLE_MODES:
            idle = value
            continue
        try:
            action = [float(part) if '.' in part else int(part) for part in value.split('/')]
        except ValueError:
            raise APIUsageError(f'--keys {item}: the action must be a number (or numbers joined by /), or '
                                f'{" / ".join(IDLE_MODES)} for none') from None
        action = action[0] if len(action) == 1 else action
        if name == 'none':
            idle = action
        else:
            actions[name] = action
    return actions, idle


def make_key_map(env_name, action_space, keys=None):
    """The key map for `env_name`: --keys when given (its `none` falling back to the table's, then `wait`), else
    KEY_MAPS, else number keys for a Discrete space with at most 10 actions."""
    table = KEY_MAPS.get(env_name)
    if keys:
        actions, idle = parse_keys(keys)
        if not actions:
            raise APIUsageError(f'--keys {keys!r} maps no key to an action')
        idle = idle if idle is not None else (table[1] if table else 'wait')
        return KeyMap(actions, idle, action_space, '--keys')
    if table is not None:
        return KeyMap(table[0], table[1], action_space, env_name)
    if isinstance(action_space, spaces.Discrete) and action_space.n <= 10:
        return KeyMap({str(k): k for k in range(int(action_space.n))}, 'wait', action_space, 'number keys')
    raise APIUsageError(f'--human: {env_name} has no key map and its actions ({action_space}) are not Discrete with '
                        'at most 10 choices; give one with --keys KEY=ACTION,... (e.g. left=0,right=1,none=wait)')


class HumanActor:
    """Agent row 0 from the keyboard (the window's keys, through `key_map`); the other rows from `others`.
    Returns None where the key map says not to step."""

    def __init__(self, window, key_map, others, shape):
        self.window, self.key_map, self.others = window, key_map, others
        self.shape = shape

    def __call__(self, observations, done):
        action = self.key_map.action(self.window.held, self.window.pressed)
        if action is None:
            return None
        actions = np.array(self.others(observations, done)).reshape(self.shape)
        actions[0] = action
        return actions
