"""Atari 2600 games through ale-py (its ROMs ship inside the package), with the standard preprocessing of
Mnih et al. 2015 and Machado et al. 2018 done in place on preallocated buffers.

`[base] env_name = atari` plays `[env] game` (Breakout when unset); `atari_<game>` (e.g. `atari_pong`) plays that
game unless `[env] game` names another. One env object runs `[env] num_envs` games one after another, so a vector
worker steps many games per message. Per agent step and game:
  frame skip     the action is repeated `frameskip` times (sticky: ALE repeats the previous action instead with
                 probability `repeat_action_probability` on each frame);
  max-pool       pixel-wise max of the last two frames (objects that flicker between frames stay visible);
  grayscale      ALE's own luminance screen, or RGB;
  resize         area averaging to height x width (exact integer weights: results match any area resize that
                 rounds halves up);
  frame stack    the last `frame_stack` frames, oldest first: observations are uint8 [frame_stack * C, H, W];
  no-op starts   each game begins with 1..noop_max no-op frames drawn at random;
  episodic life  optionally a life loss is a terminal for learning, while the game itself goes on;
  rewards        optionally clipped to their sign for learning; infos report the true game `score`.
"""
import difflib
import functools
from math import gcd

import ale_py
import numpy as np
from ale_py import roms
from gymnasium import spaces

from pufferlib.envs.contract import PufferEnv
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

GAME_PREFIX = 'atari_'
DEFAULT_GAME = 'breakout'

# Every [env] key with its default; config/atari.ini lists the same keys.
PARAMETERS = {
    'game': None,                        # None: the game named by env_name (atari_<game>), else Breakout
    'num_envs': 8,                       # games per env object
    'frameskip': 4,
    'repeat_action_probability': 0.25,
    'noop_max': 30,
    'frame_stack': 4,
    'grayscale': True,
    'height': 84,
    'width': 84,
    'episodic_life': False,
    'reward_clipping': True,
    'max_episode_frames': 108_000,       # 30 minutes of play at 60 frames per second; 0: no limit
    'full_action_space': False,
}


def game_ids():
    """Every game whose ROM ships with ale-py (e.g. 'breakout', 'space_invaders')."""
    return roms.get_all_rom_ids()


def _squash(name):
    return name.lower().replace('_', '').replace('-', '')


def resolve_game(name):
    """The ale-py ROM id of `name`, ignoring case, '-' and '_' ('SpaceInvaders' -> 'space_invaders')."""
    by_squashed = {_squash(game): game for game in game_ids()}
    game = by_squashed.get(_squash(str(name)))
    if game is None:
        close = difflib.get_close_matches(_squash(str(name)), list(by_squashed), n=3)
        hint = f'; did you mean {", ".join(by_squashed[c] for c in close)}?' if close else ''
        raise EnvironmentSetupError(f'unknown Atari game {name!r}{hint} ({len(by_squashed)} games ship with '
                                    f'ale-py; list them with `python -c "import ale_py.roms as r; '
                                    f'print(r.get_all_rom_ids())"`)')
    return game


def game_of_env_name(env_name):
    """The game an env name selects: 'atari_pong' -> 'pong'. Other names ('atari', or a user config's own name)
    select none, and [env] game decides."""
    if not env_name.startswith(GAME_PREFIX):
        return None
    return resolve_game(env_name[len(GAME_PREFIX):])


def game_seed(seed, index):
    """ALE's random seed for game `index` of an env object seeded with `seed` (drives sticky actions)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] % 2**31)


class AreaResize:
    """Area-averaging resize of a batch of frames [N, H, W(, 3)] -> [N, h, w(, 3)] uint8.

    Each axis is cut into lcm(H, h) equal cells: a source pixel spans lcm/H of them, an output pixel lcm/h, and an
    output pixel's weight on a source pixel is the number of cells they share. The weights are small integers, so
    the weighted sums are exact and the result is the true area average rounded half up. Every output pixel
    touches only a few source pixels ("taps"), so each axis costs a few gathers instead of a matrix product.
    """

    def __init__(self, source_shape, target_shape, batch, channels):
        (source_h, source_w), (self.height, self.width) = source_shape, target_shape
        self.row_index, self.row_weight, row_cells = self._taps(source_h, self.height)
        self.col_index, self.col_weight, col_cells = self._taps(source_w, self.width)
        self.divisor = row_cells * col_cells
        dtype = np.uint16 if 255 * self.divisor < 2**16 else np.uint32
        trailing = (3,) if channels == 3 else ()
        # Weights broadcast over the axes after the one they resize.
        self.row_weight = self.row_weight.astype(dtype).reshape(*self.row_weight.shape, 1, *(1,) * len(trailing))
        self.col_weight = self.col_weight.astype(dtype).reshape(*self.col_weight.shape, *(1,) * len(trailing))
        self.rows = np.empty((batch, self.height, source_w, *trailing), dtype)
        self.out = np.empty((batch, self.height, self.width, *trailing), dtype)
        self.scratch_rows = np.empty_like(self.rows)
        self.scratch_out = np.empty_like(self.out)
        self.result = np.empty(self.out.shape, np.uint8)

    @staticmethod
    def _taps(source, target):
        """(index [taps, target], weight [taps, target], cells per output pixel) for one axis."""
        per_source, per_target = target // gcd(source, target), source // gcd(source, target)
        weights = np.zeros((target, source), np.int64)
        for cell in range(source * per_source):
            weights[cell // per_target, cell // per_source] += 1
        taps = int((weights > 0).sum(axis=1).max())
        index = np.zeros((taps, target), np.intp)
        weight = np.zeros((taps, target), np.int64)  # unused taps keep weight 0 on source pixel 0
        for out in range(target):
            used = np.flatnonzero(weights[out])
            index[:len(used), out] = used
            weight[:len(used), out] = weights[out, used]
        return index, weight, per_target

    def _pass(self, frames, index, weights, axis, total, scratch):
        np.multiply(np.take(frames, index[0], axis=axis), weights[0], out=total)
        for tap in range(1, len(index)):
            np.multiply(np.take(frames, index[tap], axis=axis), weights[tap], out=scratch)
            total += scratch
        return total

    def __call__(self, frames):
        """Resized copy of `frames` (the returned array is reused by the next call)."""
        rows = self._pass(frames, self.row_index, self.row_weight, 1, self.rows, self.scratch_rows)
        total = self._pass(rows, self.col_index, self.col_weight, 2, self.out, self.scratch_out)
        total += self.divisor // 2
        np.floor_divide(total, self.divisor, out=total)
        self.result[...] = total
        return self.result


class Game:
    """One emulator and the bookkeeping of the game it is playing."""
    __slots__ = ('ale', 'grab', 'lives', 'score', 'episode_return', 'episode_length', 'lives_lost')

    def __init__(self, ale, grayscale):
        self.ale = ale
        self.grab = ale.getScreenGrayscale if grayscale else ale.getScreenRGB  # (out) fills a preallocated frame
        self.lives = self.score = self.episode_return = self.episode_length = self.lives_lost = 0


class AtariEnv(PufferEnv):
    """`num_envs` Atari games, one agent row each, with the preprocessing described in the module docstring.

    Finished games reset automatically: the row then holds the new game's first observation (its stack filled
    with that frame) together with the final reward and terminal / truncation flag. Actions outside the action
    set are clipped into it. `infos` holds one dict per finished game: `score` (true, unclipped game score),
    `episode_return` (sum of the rewards given for learning), `episode_length` (agent steps), `lives_lost`.
    """

    def __init__(self, game=DEFAULT_GAME, buf=None, seed=0, num_envs=8, frameskip=4, repeat_action_probability=0.25,
                 noop_max=30, frame_stack=4, grayscale=True, height=84, width=84, episodic_life=False,
                 reward_clipping=True, max_episode_frames=108_000, full_action_space=False):
        for name, value, low in (('num_envs', num_envs, 1), ('frameskip', frameskip, 1), ('noop_max', noop_max, 0),
                                 ('frame_stack', frame_stack, 1), ('height', height, 1), ('width', width, 1),
                                 ('max_episode_frames', max_episode_frames, 0)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise APIUsageError(f'atari: {name} must be an int >= {low}, got {value!r}')
        if not 0 <= repeat_action_probability <= 1:
            raise APIUsageError(f'atari: repeat_action_probability must be in [0, 1], got {repeat_action_probability}')
        self.game = resolve_game(game)
        self.num_envs = self.num_agents = num_envs
        self.frameskip, self.noop_max = frameskip, noop_max
        self.repeat_action_probability = float(repeat_action_probability)
        self.max_episode_frames = max_episode_frames
        self.episodic_life, self.reward_clipping = episodic_life, reward_clipping
        self.grayscale, self.channels = grayscale, 1 if grayscale else 3

        self.seed = seed
        # Loading a ROM is slow (~0.1 s), so only game 0 loads here (for the action set); the rest on first reset.
        self.games = [self._load(game_seed(seed, 0))] + [None] * (num_envs - 1)
        self._played = False  # whether the emulators' random state has advanced since they were seeded
        ale = self.games[0].ale
        actions = ale.getLegalActionSet() if full_action_space else ale.getMinimalActionSet()
        self.action_set = list(actions)
        self.single_action_space = spaces.Discrete(len(self.action_set))
        self.single_observation_space = spaces.Box(0, 255, (frame_stack * self.channels, height, width), np.uint8)
        super().__init__(buf)

        screen_h, screen_w = ale.getScreenDims()
        pixel = () if grayscale else (3,)
        # The last two frames of each game's action repeat: max-pooled into the newest stacked frame.
        self.frames = np.zeros((num_envs, 2, screen_h, screen_w, *pixel), np.uint8)
        self.pooled = np.empty((num_envs, screen_h, screen_w, *pixel), np.uint8)
        self.resize = AreaResize((screen_h, screen_w), (height, width), num_envs, self.channels)
        self.noop_rng = np.random.default_rng(seed)
        self._started = False

    def _load(self, ale_seed):
        ale = ale_py.ALEInterface()
        ale.setLoggerMode(ale_py.LoggerMode.Error)
        ale.setInt('random_seed', ale_seed)
        ale.setInt('frame_skip', 1)  # frames are repeated here, to keep the last two for max-pooling
        ale.setFloat('repeat_action_probability', self.repeat_action_probability)
        ale.setInt('max_num_frames_per_episode', self.max_episode_frames)
        ale.loadROM(roms.get_rom_path(self.game))
        return Game(ale, self.grayscale)

    def _start_game(self, index):
        """Reset game `index`, play its no-op start and put its first frame in both pooling slots."""
        game = self.games[index]
        while True:
            game.ale.reset_game()
            noops = int(self.noop_rng.integers(1, self.noop_max + 1)) if self.noop_max else 0
            for _ in range(noops):
                game.ale.act(ale_py.Action.NOOP)
            if not game.ale.game_over():  # a game that ends during its no-ops starts again
                break
        game.grab(self.frames[index, 1])
        self.frames[index, 0] = self.frames[index, 1]
        game.lives = game.ale.lives()
        game.score = game.episode_return = game.episode_length = game.lives_lost = 0

    def _write_observations(self, fresh):
        """Push the newest (pooled, resized) frame of every game onto its stack; games in `fresh` just started,
        so their whole stack becomes that frame."""
        np.maximum(self.frames[:, 0], self.frames[:, 1], out=self.pooled)
        newest = self.resize(self.pooled)
        # -> [N, C, H, W]: channels first, like the stack.
        newest = newest[:, None] if self.channels == 1 else newest.transpose(0, 3, 1, 2)
        c = self.channels
        self.observations[:, :-c] = self.observations[:, c:]
        self.observations[:, -c:] = newest
        for index in fresh:
            self.observations[index] = np.tile(newest[index], (self.observations.shape[1] // c, 1, 1))

    def reset(self, seed=None):
        """Start every game. With a seed, game i's emulator is reseeded from (seed, i) (reloading its ROM) and the
        no-op starts are redrawn from `seed`. Returns (observations, [])."""
        if seed is not None or not self._started:
            seed = self.seed if seed is None else seed
            for index in range(self.num_envs):
                # ALE takes a new seed only when it loads the ROM.
                if self.games[index] is None or self._played or seed != self.seed:
                    self.games[index] = self._load(game_seed(seed, index))
            self.seed = seed
            self.noop_rng = np.random.default_rng(seed)
        for index in range(self.num_envs):
            self._start_game(index)
        self._write_observations(range(self.num_envs))
        self.rewards[:] = 0
        self.terminals[:] = False
        self.truncations[:] = False
        self.masks[:] = True
        self._started = self._played = True
        return self.observations, []

    def step(self, actions):
        if not self._started:
            raise APIUsageError('atari: step() called before reset(); call reset(seed) first')
        choices = np.clip(np.asarray(actions).reshape(self.num_envs), 0, len(self.action_set) - 1).tolist()
        last = self.frameskip - 1
        rewards, terminals, truncations = [0.0] * self.num_envs, [False] * self.num_envs, [False] * self.num_envs
        infos, fresh = [], []
        for index, game in enumerate(self.games):
            ale, action, frames = game.ale, self.action_set[choices[index]], self.frames[index]
            reward = 0
            for repeat in range(self.frameskip):
                reward += ale.act(action)
                if repeat >= last - 1:
                    game.grab(frames[repeat - last + 1])
                if ale.game_over():
                    break
            if last == 0:
                frames[0] = frames[1]
            game.score += reward
            if self.reward_clipping:
                reward = (reward > 0) - (reward < 0)
            game.episode_return += reward
            game.episode_length += 1
            rewards[index] = reward

            lives = ale.lives()
            life_lost = lives < game.lives
            game.lives = lives
            game.lives_lost += life_lost
            terminal = ale.game_over(with_truncation=False)
            truncated = not terminal and ale.game_truncated()
            terminals[index] = terminal or (self.episodic_life and life_lost)
            truncations[index] = truncated
            if terminal or truncated:
                infos.append({'score': float(game.score), 'episode_return': float(game.episode_return),
                              'episode_length': float(game.episode_length), 'lives_lost': float(game.lives_lost)})
                self._start_game(index)
                fresh.append(index)
        self.rewards[:] = rewards
        self.terminals[:] = terminals
        self.truncations[:] = truncations
        self._write_observations(fresh)
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    def render(self):
        """The real game screen of game 0: RGB uint8 [210, 160, 3]."""
        return self.games[0].ale.getScreenRGB()

    def close(self):
        self.games = []


def make(buf=None, seed=0, game=None, default_game=DEFAULT_GAME, **env_kwargs):
    """An AtariEnv of `game`, or of `default_game` when game is None."""
    return AtariEnv(game or default_game, buf=buf, seed=seed, **env_kwargs)


def env_creator(env_name):
    """creator(buf=None, seed=0, game=None, **env_kwargs): `make` defaulting to the env name's game (picklable,
    for workers started with spawn or on Ray)."""
    return functools.partial(make, default_game=game_of_env_name(env_name) or DEFAULT_GAME)


def env_parameters(env_name):
    """Every [env] key with its default (after checking that an atari_<game> name names a game)."""
    game_of_env_name(env_name)
    return dict(PARAMETERS)


def num_agents(env_name, env_kwargs):
    """One row per game: [env] num_envs."""
    return env_kwargs.get('num_envs', PARAMETERS['num_envs'])
