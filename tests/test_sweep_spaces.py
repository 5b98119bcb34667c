"""Search spaces: every distribution maps to and from [0, 1], stays in bounds and rounds as it must; configs with
spaces the search cannot use are ConfigErrors."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pufferlib import config as puffer_config
from pufferlib.sweep import spaces as sweep_spaces
from pufferlib.exceptions import ConfigError
from pufferlib.sweep.spaces import Space

SPACES = {
    'uniform': Space('train.clip_coef', 'uniform', 0.1, 0.4, 0.5, 0.5, integer=False),
    'uniform_int_key': Space('train.update_epochs', 'uniform', 1, 6, 0.5, 0.5, integer=True),
    'int_uniform': Space('train.update_epochs', 'int_uniform', 1, 8, 0.5, 0.5, integer=True),
    'uniform_pow2': Space('train.minibatch_size', 'uniform_pow2', 256, 8192, 0.5, 0.5, integer=True),
    'log_normal': Space('train.learning_rate', 'log_normal', 1e-5, 1e-1, 0.5, 0.5, integer=False),
    'log_normal_int_key': Space('train.total_timesteps', 'log_normal', 1e5, 1e8, 0.5, 0.5, integer=True,
                                is_budget=True),
    'logit_normal': Space('train.gamma', 'logit_normal', 0.8, 0.9999, 0.5, 0.5, integer=False),
}


def test_every_config_distribution_is_covered():
    assert {space.distribution for space in SPACES.values()} == set(puffer_config.DISTRIBUTIONS)


@pytest.mark.parametrize('name', SPACES)
@settings(max_examples=200, deadline=None)
@given(u=st.floats(-1.0, 2.0))
def test_from_unit_stays_in_bounds_and_rounds(name, u):
    space = SPACES[name]
    value = space.from_unit(u)
    assert space.min <= value <= space.max
    if space.integer:
        assert isinstance(value, int)
    else:
        assert isinstance(value, float)
    if space.distribution == 'uniform_pow2':
        assert value & (value - 1) == 0, value
    # A value maps back to a point that decodes to itself: rounding is stable.
    assert space.from_unit(space.to_unit(value)) == value


@pytest.mark.parametrize('name', SPACES)
def test_to_unit_inverts_from_unit_and_is_monotonic(name):
    space = SPACES[name]
    grid = np.linspace(0, 1, 101)
    values = [space.from_unit(u) for u in grid]
    assert values[0] == pytest.approx(space.min) and values[-1] == pytest.approx(space.max)
    assert all(a <= b for a, b in zip(values, values[1:]))
    for value in values:
        assert -1e-9 <= space.to_unit(value) <= 1 + 1e-9
    if not space.integer:
        for u in grid:  # values are kept to 10 significant digits: u comes back to within a millionth
            assert space.to_unit(space.from_unit(u)) == pytest.approx(u, abs=1e-6)


def test_transforms_are_the_distributions_own():
    # Equal steps in u are equal ratios for log_normal and equal steps of log-odds for logit_normal.
    log = SPACES['log_normal']
    assert log.from_unit(0.5) == pytest.approx(1e-3)
    assert log.from_unit(0.75) / log.from_unit(0.5) == pytest.approx(10)
    logit = SPACES['logit_normal']
    middle = math.log(0.8 / 0.2) / 2 + math.log(0.9999 / 0.0001) / 2
    assert logit.from_unit(0.5) == pytest.approx(1 / (1 + math.exp(-middle)))


@pytest.mark.parametrize('name,expected', [
    ('int_uniform', list(range(1, 9))),
    ('uniform_pow2', [256, 512, 1024, 2048, 4096, 8192]),
])
def test_integer_distributions_give_every_value_an_equal_share(name, expected):
    space = SPACES[name]
    draws = [space.from_unit(u) for u in np.random.default_rng(0).uniform(size=20_000)]
    values, counts = np.unique(draws, return_counts=True)
    assert values.tolist() == expected
    share = counts / counts.sum()
    assert np.allclose(share, 1 / len(expected), atol=0.02), share


def test_prior_samples_are_in_range_and_normal_ones_centre_on_the_mean():
    rng = np.random.default_rng(0)
    centred = Space('train.learning_rate', 'log_normal', 1e-5, 1e-1, 0.75, 0.1, integer=False)
    draws = np.array([centred.sample(rng) for _ in range(2000)])
    assert draws.min() >= 0 and draws.max() <= 1
    assert abs(np.median(draws) - 0.75) < 0.02 and 0.07 < draws.std() < 0.11
    flat = SPACES['uniform']
    draws = np.array([flat.sample(rng) for _ in range(2000)])
    assert abs(draws.mean() - 0.5) < 0.03 and draws.min() >= 0 and draws.max() <= 1


def write(tmp_path, text):
    path = tmp_path / 'sweep.ini'
    path.write_text('[base]\npackage = ocean\nenv_name = puffer_squared\n\n' + text)
    return str(path)


def load(tmp_path, text):
    return puffer_config.load('puffer_squared', config_files=[write(tmp_path, text)])


def test_spaces_from_config_read_every_section_with_centre_and_spread(tmp_path):
    config = load(tmp_path, '[train]\nupdate_epochs = 3\n\n'
                            '[sweep.train.update_epochs]\ndistribution = int_uniform\nmin = 1\nmax = 8\nscale = 0.2\n')
    spaces = {space.name: space for space in sweep_spaces.spaces_from_config(config)}
    # default.ini's spaces plus this one.
    assert {'train.learning_rate', 'train.total_timesteps', 'train.update_epochs'} <= set(spaces)
    epochs = spaces['train.update_epochs']
    assert epochs.integer and epochs.spread == 0.2
    assert epochs.from_unit(epochs.centre) == 3  # no mean: the config's own value is the centre
    learning_rate = spaces['train.learning_rate']
    assert learning_rate.from_unit(learning_rate.centre) == pytest.approx(0.01)  # default.ini's mean
    assert spaces['train.total_timesteps'].is_budget and spaces['train.total_timesteps'].integer
    assert spaces['train.ent_coef'].spread == sweep_spaces.AUTO_SCALE


@pytest.mark.parametrize('text,message', [
    ('[sweep.train.gamma]\ndistribution = uniform\nmin = 0.9\nmax = 0.99\nscale = time\n',
     'scale = time marks the training budget and fits only [sweep.train.total_timesteps]'),
    ('[sweep.train.clip_coef]\ndistribution = int_uniform\nmin = 1\nmax = 3\n',
     'distribution int_uniform gives integers, but train.clip_coef holds a float'),
    ('[sweep.train.update_epochs]\ndistribution = int_uniform\nmin = 1.5\nmax = 4\n',
     'int_uniform needs whole-number bounds'),
    ('[sweep.train.minibatch_size]\ndistribution = uniform_pow2\nmin = 100\nmax = 4096\n',
     'uniform_pow2 needs powers of two, but min = 100 is not; e.g. 64 or 128'),
    ('[sweep.train.optimizer]\ndistribution = uniform\nmin = 0\nmax = 1\n',
     "searches train.optimizer = 'adam', which is not a number"),
])
def test_spaces_the_search_cannot_use_are_config_errors(tmp_path, text, message):
    config = load(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        sweep_spaces.spaces_from_config(config)
    assert message in str(error.value)


@pytest.mark.parametrize('text,message', [
    ('[sweep.train.gamma]\ndistribution = uniform\nmin = 0.99\nmax = 0.9\n', 'is greater than'),
    ('[sweep.train.gamma]\ndistribution = uniform\nmin = 0.9\nmax = 0.99\nmean = 0.5\n', 'is outside [min, max]'),
    ('[sweep.train.gamma]\ndistribution = uniform\nmin = 0.9\nmax = 0.99\nstep = 2\n', 'unknown key'),
    ('[sweep.train.gamma]\ndistribution = gaussian\nmin = 0.9\nmax = 0.99\n', 'valid distributions'),
])
def test_invalid_spaces_are_rejected_when_the_config_loads(tmp_path, text, message):
    with pytest.raises(ConfigError) as error:
        load(tmp_path, text)
    assert message in str(error.value)


def test_apply_params_sets_values_and_drops_sweep_sections(tmp_path):
    config = load(tmp_path, '')
    before = config['train']['learning_rate']
    trial = sweep_spaces.apply_params(config, {'train.learning_rate': 0.002, 'train.total_timesteps': 5000})
    assert trial['train']['learning_rate'] == 0.002 and trial['train']['total_timesteps'] == 5000
    assert not any(section.startswith('sweep') for section in trial)
    assert config['train']['learning_rate'] == before != 0.002  # the sweep's own config is untouched
