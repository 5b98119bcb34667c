"""Search spaces: each `[sweep.<section>.<key>]` section becomes a Space that maps values of its key to and from a
normalized coordinate u in [0, 1].

u is linear in a transform of the value chosen by the distribution, so that equal steps in u are equally
meaningful steps of the parameter:

    uniform        x                     int_uniform   x, rounded to an integer
    uniform_pow2   log2 x, rounded       log_normal    log x
    logit_normal   log(x / (1 - x))      (for values inside (0, 1), such as gamma: 0.99 -> 0.999 is a big step)

The search methods work in u only. `mean` is the search centre (default: the key's current value); `scale` is a
spread in u units (auto = 0.5, i.e. half the range); `scale = time` marks train.total_timesteps as the training
budget, whose value along a run's learning curve is the number of steps reached.
"""
import copy
import math
from dataclasses import dataclass

import numpy as np

from pufferlib import config as puffer_config
from pufferlib.exceptions import ConfigError

AUTO_SCALE = 0.5
BUDGET_KEY = 'train.total_timesteps'
NORMAL_DISTRIBUTIONS = ('log_normal', 'logit_normal')


def logit(x):
    return math.log(x / (1 - x))


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


# distribution -> (transform, inverse). Integer distributions widen their range by half a step on each side so
# that every integer, the end points included, owns an equal share of [0, 1].
TRANSFORMS = {
    'uniform': (float, float),
    'int_uniform': (float, float),
    'uniform_pow2': (math.log2, lambda z: 2.0 ** z),
    'log_normal': (math.log, math.exp),
    'logit_normal': (logit, sigmoid),
}


@dataclass
class Space:
    name: str             # the key searched, 'section.key'
    distribution: str
    min: float
    max: float
    centre: float         # u of the search centre
    spread: float         # standard deviation in u of steps around a centre
    integer: bool         # the key holds integers (int_uniform and uniform_pow2 always do)
    is_budget: bool = False

    def __post_init__(self):
        forward, _ = TRANSFORMS[self.distribution]
        low, high = forward(self.min), forward(self.max)
        if self.distribution in ('int_uniform', 'uniform_pow2'):
            low, high = low - 0.5, high + 0.5
        self.low, self.high = low, high

    @property
    def key(self):
        return self.name.rsplit('.', 1)[1]

    def to_unit(self, value):
        """u of a value. Values outside [min, max] (a budget reached part-way) map outside [0, 1]."""
        forward, _ = TRANSFORMS[self.distribution]
        if self.high == self.low:
            return 0.5
        return (forward(value) - self.low) / (self.high - self.low)

    def from_unit(self, u):
        """The value at u (clipped into [0, 1]), rounded as the distribution and the key's type require."""
        _, inverse = TRANSFORMS[self.distribution]
        z = self.low + min(max(float(u), 0.0), 1.0) * (self.high - self.low)
        if self.distribution == 'int_uniform':
            return int(min(max(round(z), self.min), self.max))
        if self.distribution == 'uniform_pow2':
            exponent = min(max(round(z), round(math.log2(self.min))), round(math.log2(self.max)))
            return int(2 ** exponent)
        # 10 significant digits: 0.01 rather than 0.010000000000000004 in trial configs, with no effect on the search.
        value = min(max(float(f'{inverse(z):.10g}'), self.min), self.max)
        if self.integer:
            return int(min(max(round(value), math.ceil(self.min)), math.floor(self.max)))
        return float(value)

    def sample(self, rng):
        """A draw from the space's prior: uniform over the range, or for the *_normal distributions a normal around
        the centre with the space's spread, truncated to the range."""
        if self.distribution not in NORMAL_DISTRIBUTIONS:
            return float(rng.uniform())
        for _ in range(100):
            u = rng.normal(self.centre, self.spread)
            if 0.0 <= u <= 1.0:
                return float(u)
        return float(rng.uniform())  # a centre far outside a tiny range: fall back to uniform


def spaces_from_config(config):
    """Every [sweep.<section>.<key>] of a resolved config as a Space, checked for what the search needs beyond what
    pufferlib.config already checks. Raises ConfigError listing every problem."""
    problems = []
    spaces = []
    prefix = puffer_config.SWEEP_PREFIX
    for section, settings in config.items():
        if not section.startswith(prefix):
            continue
        name = section[len(prefix):]
        target_section, key = name.rsplit('.', 1)
        space = make_space(name, settings, config[target_section].get(key), problems)
        if space is not None:
            spaces.append(space)
    if not spaces and not problems:
        problems.append('the sweep has no search space: add a section such as [sweep.train.learning_rate] with '
                        'distribution = log_normal, min = 1e-5, max = 1e-1 to a config file')
    if problems:
        raise ConfigError(problems)
    return spaces


def make_space(name, settings, current, problems):
    where = f'[sweep.{name}]'
    problems_before = len(problems)
    distribution, low, high = settings['distribution'], settings['min'], settings['max']
    section, key = name.rsplit('.', 1)
    integer_key = isinstance(current, int) and not isinstance(current, bool)
    if current == 'auto':
        integer_key = puffer_config.AUTO_TYPES.get((section, key)) is int
    elif not integer_key and not isinstance(current, float):
        problems.append(f'{where} searches {name} = {current!r}, which is not a number; only numeric keys can be '
                        'swept')
        return None
    if distribution in ('int_uniform', 'uniform_pow2') and not integer_key:
        problems.append(f'{where}: distribution {distribution} gives integers, but {name} holds a float; use '
                        'uniform or log_normal')
    if distribution == 'int_uniform' and (low != int(low) or high != int(high)):
        problems.append(f'{where}: int_uniform needs whole-number bounds, got min = {low:g}, max = {high:g}; '
                        f'e.g. min = {math.ceil(low)}, max = {math.floor(high)}')
    if distribution == 'uniform_pow2':
        for bound, value in (('min', low), ('max', high)):
            if value > 0 and math.log2(value) != round(math.log2(value)):
                below = 2 ** math.floor(math.log2(value))
                problems.append(f'{where}: uniform_pow2 needs powers of two, but {bound} = {value:g} is not; '
                                f'e.g. {below} or {below * 2}')
    if integer_key and math.floor(high) < math.ceil(low):
        problems.append(f'{where}: [min, max] = [{low:g}, {high:g}] holds no integer, but {name} is an integer')
    scale = settings.get('scale', 'auto')
    is_budget = scale == 'time'
    if is_budget and name != BUDGET_KEY:
        problems.append(f'{where}: scale = time marks the training budget and fits only [sweep.{BUDGET_KEY}]; '
                        'use a number or auto here')
    if len(problems) > problems_before:
        return None
    spread = AUTO_SCALE if scale in ('auto', 'time') else float(scale)
    space = Space(name, distribution, float(low), float(high), 0.5, spread, integer_key, is_budget)
    centre = settings.get('mean')
    if centre is None and isinstance(current, (int, float)) and low <= current <= high:
        centre = current  # no explicit centre: search around the value the config already uses
    space.centre = min(max(space.to_unit(centre), 0.0), 1.0) if centre is not None else 0.5
    return space


def to_units(spaces, params):
    return np.array([space.to_unit(params[space.name]) for space in spaces], dtype=float)


def from_units(spaces, units):
    return {space.name: space.from_unit(u) for space, u in zip(spaces, units)}


def apply_params(config, params):
    """A copy of `config` with each 'section.key' of `params` set, and without the [sweep] sections (the result is
    a training config)."""
    trial = {section: dict(items) for section, items in copy.deepcopy(config).items()
             if section != 'sweep' and not section.startswith(puffer_config.SWEEP_PREFIX)}
    for name, value in params.items():
        section, key = name.rsplit('.', 1)
        trial[section][key] = value
    return trial
