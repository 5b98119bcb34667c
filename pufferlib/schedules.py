"""Schedules of the training coefficients over a run ([train] lr_schedule, ent_schedule, clip_schedule,
vf_clip_schedule) and the KL-adaptive learning rate ([train] lr_adaptive_kl).

A schedule moves a value from `start` to `final_ratio * start` as the run's progress goes 0 -> 1 (the larger of the
steps' and the training time's fraction of the budget, see Trainer.progress).
"""
import math

KINDS = ('constant', 'linear', 'cosine')

# KL-adaptive learning rate (Sample Factory's kl_adaptive_epoch, the rule of rl_games' AdaptiveScheduler): a KL
# above KL_FACTOR x target divides the rate by LR_FACTOR, one below target / KL_FACTOR multiplies it by LR_FACTOR.
KL_FACTOR = 2.0
LR_FACTOR = 1.5


def value(kind, start, final_ratio, progress):
    """The scheduled value at `progress` (clamped to 1): constant keeps `start`; linear and cosine end at
    `final_ratio * start`."""
    if kind == 'constant':
        return start
    floor = start * final_ratio
    if kind == 'linear':
        return start + (floor - start) * min(progress, 1.0)
    if kind == 'cosine':  # Loshchilov & Hutter 2017. Keep these operations and their order: runs repeat bit for bit.
        return floor + (start - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    raise ValueError(f'unknown schedule {kind!r}; valid: {", ".join(KINDS)}')


def kl_adaptive(learning_rate, approx_kl, target, low, high):
    """The next learning rate after an update that measured `approx_kl` against the `target` KL, kept in
    [low, high]; unchanged while the KL is within a factor KL_FACTOR of the target."""
    if approx_kl > KL_FACTOR * target:
        return max(learning_rate / LR_FACTOR, low)
    if approx_kl < target / KL_FACTOR:
        return min(learning_rate * LR_FACTOR, high)
    return learning_rate
