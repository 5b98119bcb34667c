"""Registry entries of the sanity envs and cartpole (their C code is in ocean/<env>/; docs in docs/ocean.md)."""
import math

import numpy as np
from gymnasium import spaces

from pufferlib.ocean.registry import register

SANITY_FRAME = (128, 128, 3)

register(
    'puffer_squared',
    description='Sanity: walk from the centre of a grid to a target on its border',
    observation_space=lambda p: spaces.Box(0, 1, (2 * p['size'] * p['size'],), np.uint8),  # agent, target planes
    action_space=spaces.Discrete(5),
    frame_shape=SANITY_FRAME,
    params={'size': 7, 'max_steps': 21},
)

register(
    'puffer_bandit',
    description='Sanity: find the best arm of a bandit from noisy rewards',
    observation_space=spaces.Box(0, 1, (1,), np.float32),
    action_space=lambda p: spaces.Discrete(p['num_arms']),
    frame_shape=SANITY_FRAME,
    params={'num_arms': 4, 'best_arm': 2, 'best_prob': 0.8, 'other_prob': 0.2},
)

register(
    'puffer_memory',
    description='Sanity: recall a bit shown `delay` steps earlier (needs an RNN)',
    observation_space=spaces.Box(-1, 1, (2,), np.float32),
    action_space=spaces.Discrete(2),
    frame_shape=SANITY_FRAME,
    params={'delay': 4},
)

register(
    'puffer_password',
    description='Sanity: find one exact sequence of binary actions from a sparse reward',
    observation_space=lambda p: spaces.Box(0, 1, (p['length'],), np.float32),
    action_space=spaces.Discrete(2),
    frame_shape=SANITY_FRAME,
    params={'length': 5, 'password_seed': 42},
)

register(
    'puffer_stochastic',
    description='Sanity: only a random (non-deterministic) policy can score',
    observation_space=spaces.Box(0, 1, (1,), np.float32),
    action_space=spaces.Discrete(2),
    frame_shape=SANITY_FRAME,
    params={'p': 0.75, 'horizon': 32, 'tolerance': 0.15},
)

register(
    'puffer_multiagent',
    description='Sanity: two agents sharing a policy must act differently',
    observation_space=spaces.Box(0, 1, (2,), np.float32),
    action_space=spaces.Discrete(2),
    frame_shape=SANITY_FRAME,
    params={'horizon': 4},
    agents_per_env=2,
)

register(
    'puffer_spaces',
    description='Sanity: read an image part and a vector part, answer with MultiDiscrete actions',
    observation_space=spaces.Box(-1, 1, (28,), np.float32),
    action_space=spaces.MultiDiscrete([2, 2]),
    frame_shape=SANITY_FRAME,
)

register(
    'puffer_continuous',
    description='Sanity: move a Box action onto a target point',
    observation_space=spaces.Box(-1, 1, (2,), np.float32),
    action_space=spaces.Box(-1, 1, (2,), np.float32),
    frame_shape=SANITY_FRAME,
    params={'tolerance': 0.2},
)

# Gymnasium's CartPole-v1 bounds: |x| <= 2 * 2.4, |theta| <= 2 * 12 degrees, velocities unbounded.
_CARTPOLE_HIGH = np.array([2.4 * 2, np.inf, 12 * 2 * math.pi / 360 * 2, np.inf], dtype=np.float32)
_CARTPOLE_OBSERVATION = spaces.Box(-_CARTPOLE_HIGH, _CARTPOLE_HIGH, dtype=np.float32)


def _cartpole_actions(params):
    if params['continuous']:
        return spaces.Box(-1, 1, (1,), np.float32)
    return spaces.Discrete(2)


register(
    'puffer_cartpole',
    description='CartPole-v1 with Gymnasium-identical dynamics (discrete pushes; continuous=1 for a force)',
    observation_space=_CARTPOLE_OBSERVATION,
    action_space=_cartpole_actions,
    frame_shape=(200, 300, 3),
    params={'continuous': 0, 'max_steps': 500},
)

register(
    'puffer_cartpole_continuous',
    description='CartPole-v1 dynamics with a continuous force in [-1, 1] x 10 N',
    observation_space=_CARTPOLE_OBSERVATION,
    action_space=_cartpole_actions,
    frame_shape=(200, 300, 3),
    params={'continuous': 1, 'max_steps': 500},
    module='_cartpole',
)
