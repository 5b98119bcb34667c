"""Search methods on synthetic objectives with a cost: Protein against Random on the same budget and seeds, the
Pareto front, the cost cap, and repeatable suggestions (what resuming relies on)."""
import math

import numpy as np
import pytest

from pufferlib.sweep import methods as sweep_methods

from pufferlib.sweep import spaces as sweep_spaces
from pufferlib.sweep.methods import Observation, Protein, Random, pareto_front
from pufferlib.sweep.spaces import Space

SEEDS = range(5)
MAX_TRIALS = 40
CURVE_POINTS = 3
SECONDS_PER_STEP = 1e-4


def make_spaces():
    """Learning rate and gamma around a centre that is not the optimum, and a training budget."""
    spaces = [Space('train.learning_rate', 'log_normal', 1e-5, 1e-1, 0, 0.5, integer=False),
              Space('train.gamma', 'logit_normal', 0.8, 0.9999, 0, 0.5, integer=False),
              Space('train.total_timesteps', 'log_normal', 1e5, 1e7, 0, 0.5, integer=True, is_budget=True)]
    for space, centre in zip(spaces, (1e-2, 0.98, 1e6)):
        space.centre = space.to_unit(centre)
    return spaces


def synthetic_score(spaces, params):
    """A smooth bump in (learning rate, gamma), peaking at (1e-3, 0.995), times a learning curve that saturates
    with the steps trained. Its optimum, at the largest budget, is 1 - e^-10."""
    u = sweep_spaces.to_units(spaces, params)
    quality = math.exp(-((u[0] - spaces[0].to_unit(1e-3)) / 0.4) ** 2 - ((u[1] - spaces[1].to_unit(0.995)) / 0.4) ** 2)
    return quality * (1 - math.exp(-params['train.total_timesteps'] / 1e6))


OPTIMUM = 1 - math.exp(-10)


def trials_to_reach(method, spaces, seed, fraction=0.95):
    """Trials the method needs until one scores within 5% of the optimum (MAX_TRIALS if none does). Every trial
    reports CURVE_POINTS points of its learning curve, with a cost proportional to the steps trained."""
    observations = []
    noise = np.random.default_rng(seed + 1000)
    for number in range(MAX_TRIALS):
        params = sweep_spaces.from_units(spaces, method.suggest(observations, number,
                                                                np.random.default_rng([seed, number])))
        budget = params['train.total_timesteps']
        for point in range(1, CURVE_POINTS + 1):
            partial = dict(params, **{'train.total_timesteps': budget * point / CURVE_POINTS})
            score = synthetic_score(spaces, partial) + 0.01 * noise.normal()
            cost = partial['train.total_timesteps'] * SECONDS_PER_STEP
            observations.append(Observation(sweep_spaces.to_units(spaces, partial), score, cost))
        if synthetic_score(spaces, params) >= fraction * OPTIMUM:
            return number + 1
    return MAX_TRIALS


def test_protein_reaches_the_optimum_in_fewer_trials_than_random():
    spaces = make_spaces()
    protein = [trials_to_reach(Protein(spaces, random_warmup=5), spaces, seed) for seed in SEEDS]
    random = [trials_to_reach(Random(spaces), spaces, seed) for seed in SEEDS]
    print(f'trials to within 5% of the optimum: Protein {protein}, Random {random}')
    assert np.mean(protein) < np.mean(random)
    assert sum(n < MAX_TRIALS for n in protein) >= 4, protein  # Protein gets there on (nearly) every seed


def test_first_trial_is_the_centre_for_both_methods():
    spaces = make_spaces()
    rng = np.random.default_rng(0)
    for method in (Random(spaces), Protein(spaces)):
        params = sweep_spaces.from_units(spaces, method.suggest([], 0, rng))
        assert params['train.learning_rate'] == pytest.approx(1e-2)
        assert params['train.gamma'] == pytest.approx(0.98)
        assert params['train.total_timesteps'] == 1_000_000


def observed(spaces, count, seed):
    rng = np.random.default_rng(seed)
    observations = []
    for _ in range(count):
        units = sweep_methods.prior_sample(spaces, rng)
        params = sweep_spaces.from_units(spaces, units)
        observations.append(Observation(units, synthetic_score(spaces, params),
                                        params['train.total_timesteps'] * SECONDS_PER_STEP))
    return observations


def test_protein_suggestions_respect_max_suggestion_cost():
    spaces = make_spaces()
    cap = 1e6 * SECONDS_PER_STEP  # a tenth of the largest budget
    protein = Protein(spaces, random_warmup=0, max_suggestion_cost=cap)
    observations = observed(spaces, 20, seed=0)
    costs = []
    for number in range(1, 9):
        params = sweep_spaces.from_units(spaces, protein.suggest(observations, number,
                                                                 np.random.default_rng([0, number])))
        costs.append(params['train.total_timesteps'] * SECONDS_PER_STEP)
    # The cost model is fitted, not exact: allow it a modest error around the cap.
    assert max(costs) <= 1.5 * cap, costs


def test_suggestions_repeat_for_the_same_history_and_seed():
    """A resumed sweep rebuilds the same observations and seeds, so it must get the same suggestion."""
    spaces = make_spaces()
    observations = observed(spaces, 12, seed=1)
    first = Protein(spaces, random_warmup=5).suggest(observations, 12, np.random.default_rng([7, 12]))
    again = Protein(spaces, random_warmup=5).suggest(observations, 12, np.random.default_rng([7, 12]))
    assert np.array_equal(first, again)
    other = Protein(spaces, random_warmup=5).suggest(observations, 12, np.random.default_rng([8, 12]))
    assert not np.array_equal(first, other)


def test_pareto_front_keeps_points_no_other_beats_on_score_and_cost():
    scores = np.array([0.1, 0.5, 0.4, 0.9, 0.9, 0.2])
    log_costs = np.log([1.0, 2.0, 3.0, 5.0, 6.0, 0.5])
    # 0.4 at cost 3 is beaten by 0.5 at cost 2; 0.9 at cost 6 by 0.9 at cost 5; 0.1 at cost 1 by 0.2 at 0.5.
    assert sorted(pareto_front(scores, log_costs).tolist()) == [1, 3, 5]


def test_protein_samples_the_prior_until_it_has_two_observations():
    spaces = make_spaces()
    protein = Protein(spaces, random_warmup=0)
    units = protein.suggest(observed(spaces, 1, seed=2), 5, np.random.default_rng(3))
    assert np.array_equal(units, sweep_methods.prior_sample(spaces, np.random.default_rng(3)))
