"""The sanity envs and cartpole: their C code, which declares each one's spec, is in ocean/<env>/ (docs in
docs/ocean.md)."""
from pufferlib.envs.ocean.registry import register

for _name in ('squared', 'bandit', 'memory', 'delay', 'password', 'stochastic', 'multiagent', 'spaces',
              'continuous', 'cartpole'):
    register('puffer_' + _name)

register('puffer_cartpole_continuous', module='_cartpole', defaults={'continuous': 1},
         description='CartPole-v1 dynamics with a continuous force in [-1, 1] x 10 N')
