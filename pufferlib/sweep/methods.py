"""Search methods: given what the sweep has observed, suggest the next trial as a point u in [0, 1]^d (one
coordinate per Space, see pufferlib.sweep.spaces).

Both methods are stateless: the sweep hands them every observation each time, so a resumed sweep continues exactly
where it stopped. Randomness comes from a generator seeded by (sweep seed, trial number), for the same reason.

- Random: the first trial is the search centre, then draws from each space's prior.
- Protein: cost-aware Bayesian optimization. Two Gaussian processes model the score and the log cost (training
  seconds) over u. The observed points that no other point beats on both score and cost form the Pareto front;
  candidates are drawn around front points at several step sizes (plus a few from the prior), and a cost target
  is drawn between the cheapest front point and the most expensive candidate (at most max_suggestion_cost). The
  suggestion is the candidate with the best optimistic predicted score (mean + exploration * std) among those
  whose predicted cost fits the target: cheap targets refine the fast end of the front, expensive ones its best
  scores.
"""
import math
import warnings
from dataclasses import dataclass

import numpy as np

from pufferlib.exceptions import EnvironmentSetupError

MIN_COST = 1e-3           # seconds; a trial that failed at once still has a finite log cost
MAX_OBSERVATIONS = 256    # GP fitting is cubic in the points; beyond this, the front plus a random subset
PRIOR_CANDIDATE_SHARE = 0.1
STEP_RANGE = (0.05, 1.0)  # candidate steps around a front point are spread * (log-uniform in this range)


@dataclass
class Observation:
    units: np.ndarray     # u of the parameters (for a learning-curve point, the budget is the steps reached)
    score: float          # oriented so that higher is better (a minimized metric is negated)
    cost: float           # training seconds to reach this point


class Random:
    def __init__(self, spaces):
        self.spaces = spaces

    def suggest(self, observations, trial_number, rng):
        if trial_number == 0:
            return centre(self.spaces)
        return prior_sample(self.spaces, rng)


class Protein:
    def __init__(self, spaces, random_warmup=10, candidates_per_point=16, max_suggestion_cost=math.inf,
                 exploration=2.0):
        self.spaces = spaces
        self.random_warmup = random_warmup
        self.candidates_per_point = candidates_per_point
        self.max_log_cost = math.log(max_suggestion_cost) if math.isfinite(max_suggestion_cost) else math.inf
        self.exploration = exploration
        self.spreads = np.array([space.spread for space in spaces])

    def suggest(self, observations, trial_number, rng):
        if trial_number == 0:
            return centre(self.spaces)
        if trial_number < self.random_warmup or len(observations) < 2:
            return prior_sample(self.spaces, rng)
        observations = subsample(observations, rng)
        points = np.stack([o.units for o in observations])
        scores = np.array([o.score for o in observations])
        log_costs = np.log(np.maximum([o.cost for o in observations], MIN_COST))
        score_model = fit_gaussian_process(points, scores, rng)
        cost_model = fit_gaussian_process(points, log_costs, rng)

        front = pareto_front(scores, log_costs)
        candidates = self.candidates(points[front], rng)
        mean, std = score_model.predict(candidates, return_std=True)
        predicted_log_cost = cost_model.predict(candidates)

        allowed = predicted_log_cost <= self.max_log_cost
        if not allowed.any():
            return candidates[np.argmin(predicted_log_cost)]
        low = log_costs[front].min()
        high = max(low, min(predicted_log_cost[allowed].max(), self.max_log_cost))
        target = rng.uniform(low, high)
        fits = allowed & (predicted_log_cost <= target)
        if not fits.any():
            return candidates[np.argmin(predicted_log_cost)]
        optimistic = np.where(fits, mean + self.exploration * std, -np.inf)
        return candidates[np.argmax(optimistic)]

    def candidates(self, front_points, rng):
        """Points around each front point at log-uniform step sizes, plus a share of prior draws; each snapped to
        the value it stands for (integers, powers of two), so the models are asked about what would really run."""
        count = self.candidates_per_point
        centres = np.repeat(front_points, count, axis=0)
        steps = np.exp(rng.uniform(*np.log(STEP_RANGE), size=(len(centres), 1)))
        local = np.clip(centres + rng.normal(size=centres.shape) * steps * self.spreads, 0.0, 1.0)
        prior = [prior_sample(self.spaces, rng) for _ in range(max(1, int(len(local) * PRIOR_CANDIDATE_SHARE)))]
        return np.array([snap(self.spaces, u) for u in np.vstack([local, prior])])


# ----------------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------------

def centre(spaces):
    return snap(spaces, [space.centre for space in spaces])


def prior_sample(spaces, rng):
    return snap(spaces, [space.sample(rng) for space in spaces])


def snap(spaces, units):
    return np.array([space.to_unit(space.from_unit(u)) for space, u in zip(spaces, units)])


def pareto_front(scores, log_costs):
    """Indices of the points that no other point beats on both higher score and lower cost."""
    order = np.lexsort((-scores, log_costs))  # by cost, best score first among equal costs
    front, best = [], -np.inf
    for index in order:
        if scores[index] > best:
            front.append(index)
            best = scores[index]
    return np.array(front)


def subsample(observations, rng):
    if len(observations) <= MAX_OBSERVATIONS:
        return observations
    scores = np.array([o.score for o in observations])
    log_costs = np.log(np.maximum([o.cost for o in observations], MIN_COST))
    front = set(pareto_front(scores, log_costs).tolist())
    rest = [i for i in range(len(observations)) if i not in front]
    keep = list(front) + list(rng.choice(rest, size=max(0, MAX_OBSERVATIONS - len(front)), replace=False))
    return [observations[i] for i in sorted(keep)]


def fit_gaussian_process(points, targets, rng):
    """A GP with a Matern 5/2 kernel (one length scale per parameter) and a learned noise level: RL scores are
    noisy, and some parameters matter far more than others."""
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise EnvironmentSetupError('sweep method Protein needs scikit-learn: pip install "pufferlib[sweep]" '
                                    '(or use --sweep.method Random)') from None
    dims = points.shape[1]
    kernel = (ConstantKernel(1.0, (1e-2, 1e2)) * Matern(np.full(dims, 0.3), (0.02, 20.0), nu=2.5)
              + WhiteKernel(1e-2, (1e-6, 1.0)))
    model = GaussianProcessRegressor(kernel, normalize_y=True, random_state=int(rng.integers(2**31)))
    # Small matrices: BLAS threads only contend with the trials running beside the sweep.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter('ignore', ConvergenceWarning)
        model.fit(points, targets)
    return model


def make_method(name, spaces, settings):
    if name == 'Random':
        return Random(spaces)
    return Protein(spaces, random_warmup=settings['random_warmup'],
                   candidates_per_point=settings['candidates_per_point'],
                   max_suggestion_cost=settings['max_suggestion_cost'])
