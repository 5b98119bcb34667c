"""The recurrent wrappers (LSTMWrapper, GRUWrapper, MinGRUWrapper) around the same MLP policy, timed in one run:
forward_step of a batch of agent rows (inference, as the trainer acts) and forward_sequence of a minibatch of
segments with its backward pass (as the trainer learns).

    python -m bench.recurrent [--hidden 128] [--layers 1] [--agents 1024] [--segments 128] [--horizon 64]
                              [--rounds 3] [--calls 5] [--device cpu]

The wrappers alternate in rounds, so a machine whose speed drifts slows them alike; ratios are against the LSTM.
The step path runs T sequential steps either way; the sequence path is where minGRU's parallel scan differs (log2 T
rounds of elementwise work instead of a loop of T cell calls).
"""
import argparse
import time

import numpy as np
import torch
from gymnasium import spaces

from pufferlib import models
from pufferlib.envs.contract import PufferEnv


class SpacesOnly(PufferEnv):
    """Just the spaces a policy is built from."""

    def __init__(self, observation_size, actions):
        self.single_observation_space = spaces.Box(-1, 1, (observation_size,), np.float32)
        self.single_action_space = spaces.Discrete(actions)
        self.num_agents = 1
        super().__init__()


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def timings(policy, args, device):
    """(step, sequence): functions that run one timed call each."""
    observations = torch.randn(args.agents, args.observation_size, device=device)
    state = policy.initial_state(args.agents, device)
    segment_obs = torch.randn(args.segments, args.horizon, args.observation_size, device=device)
    segment_state = tuple(torch.randn_like(t) for t in policy.initial_state(args.segments, device))
    starts = (torch.rand(args.segments, args.horizon, device=device) < 0.02).float()  # some episodes end

    def step():
        with torch.inference_mode():
            policy.forward_step(observations, state)

    def sequence():
        params, values = policy.forward_sequence(segment_obs, segment_state, starts)
        (params.square().mean() + values.square().mean()).backward()
        policy.zero_grad(set_to_none=False)
    return step, sequence


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hidden', type=int, default=128)
    parser.add_argument('--layers', type=int, default=1)
    parser.add_argument('--observation-size', type=int, default=32)
    parser.add_argument('--agents', type=int, default=1024, help='rows of forward_step')
    parser.add_argument('--segments', type=int, default=128, help='segments of forward_sequence')
    parser.add_argument('--horizon', type=int, default=64, help='steps per segment (bptt_horizon)')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--calls', type=int, default=5, help='timed calls per path, wrapper and round')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    device = torch.device(args.device)

    env = SpacesOnly(args.observation_size, 4)
    paths = {}
    for name in models.RECURRENT_WRAPPERS:
        torch.manual_seed(0)
        policy = models.make_policy(env, 'Policy', name, dict(hidden_size=args.hidden),
                                    dict(num_layers=args.layers)).to(device)
        paths[name] = timings(policy, args, device)

    seconds = {name: [0.0, 0.0] for name in paths}
    for _ in range(args.rounds):
        for name, functions in paths.items():
            for index, function in enumerate(functions):
                function()  # warm
                sync(device)
                start = time.perf_counter()
                for _ in range(args.calls):
                    function()
                sync(device)
                seconds[name][index] += time.perf_counter() - start

    threads = f', {torch.get_num_threads()} threads' if device.type == 'cpu' else ''
    print(f'Policy(hidden_size={args.hidden}) + {args.layers} recurrent layer(s) on {args.device}, '
          f'torch {torch.__version__}{threads}')
    print(f'{"":>14}  {f"forward_step, {args.agents} rows":>28}  '
          f'{f"forward_sequence + backward, {args.segments} x {args.horizon}":>46}')
    calls = args.rounds * args.calls
    lstm_step, lstm_sequence = seconds['LSTMWrapper']
    for name, (step, sequence) in seconds.items():
        print(f'{name:>14}  {1e3 * step / calls:9.3f} ms ({step / lstm_step:4.2f}x LSTM)  '
              f'{1e3 * sequence / calls:27.2f} ms ({sequence / lstm_sequence:4.2f}x LSTM)')


if __name__ == '__main__':
    main()
