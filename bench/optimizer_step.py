"""The optimizer step of one minibatch, timed three ways in one run on a config's policy (default puffer_breakout):
gradient clipping and fused Adam over each parameter tensor (torch.nn.utils.clip_grad_norm_, torch.optim.Adam,
zero_grad); over the trainer's one flat buffer (pufferlib.optim.FlatParameters) with Adam.step(); and over the
flat buffer as the trainer steps it (FlatParameters.adam_step: Adam's fused kernel called directly).

    python -m bench.optimizer_step [--env puffer_breakout] [--rounds 20] [--steps 200]

The ways alternate in rounds, so a machine whose speed drifts slows them alike; the printed ratios are what the
flat buffer saves per minibatch. Gradients are copied in from fixed random tensors, as backward would leave them.
"""
import argparse
import time

import torch

from pufferlib import config as puffer_config
from pufferlib import models, optim


from pufferlib.envs import ocean
def per_tensor(policy, settings):
    parameters = list(policy.parameters())
    adam = torch.optim.Adam(parameters, lr=settings['learning_rate'], betas=(settings['adam_beta1'],
                            settings['adam_beta2']), eps=settings['adam_eps'], fused=True)

    gradients = [torch.randn_like(p) for p in parameters]

    def step():
        for p, gradient in zip(parameters, gradients):  # as backward would leave them
            if p.grad is None:
                p.grad = gradient.clone()
            else:
                p.grad.copy_(gradient)
        torch.nn.utils.clip_grad_norm_(parameters, settings['max_grad_norm'])
        adam.step()
        adam.zero_grad(set_to_none=False)  # kept, so that refilling the gradients costs the same both ways
    return step


def flat_buffer(policy, settings, direct=True):
    (adam,), flat = optim.make_optimizers(policy, dict(settings, optimizer='adam'))
    parameters = list(policy.parameters())
    gradients = [torch.randn_like(p) for p in parameters]

    def step():
        for p, gradient in zip(parameters, gradients):
            p.grad.copy_(gradient)
        flat.clip_grad_norm(settings['max_grad_norm'])
        if direct:
            flat.adam_step(adam)
        else:
            adam.step()
        flat.zero_grad()
    return step


def flat_buffer_via_adam_step(policy, settings):
    return flat_buffer(policy, settings, direct=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--env', default='puffer_breakout')
    parser.add_argument('--rounds', type=int, default=20)
    parser.add_argument('--steps', type=int, default=200, help='optimizer steps per way and round')
    args = parser.parse_args(argv)

    config = puffer_config.load(args.env)
    env = ocean.make(args.env, **config['env'])
    settings = config['train']
    steps = {}
    for name, make in (('per tensor', per_tensor), ('flat, Adam.step()', flat_buffer_via_adam_step),
                       ('flat buffer', flat_buffer)):
        torch.manual_seed(0)
        policy = models.make_policy(env, config['base']['policy_name'], config['base']['rnn_name'],
                                    config['policy'], config['rnn'])
        steps[name] = make(policy, settings)
    env.close()
    tensors = len(list(policy.parameters()))

    seconds = dict.fromkeys(steps, 0.0)
    for _ in range(args.rounds):
        for name, step in steps.items():
            step()  # warm
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            seconds[name] += time.perf_counter() - start
    print(f'{args.env}: {config["base"]["policy_name"]} with {tensors} parameter tensors, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    for name, total in seconds.items():
        print(f'{name:>17}: {1e6 * total / (args.rounds * args.steps):7.1f} us per step (gradient refill, clip, '
              f'Adam, zero)')
    print(f'the flat buffer, as the trainer steps it, saves {1 - seconds["flat buffer"] / seconds["per tensor"]:.0%} '
          f'of that time; calling Adam.step() on it instead would save '
          f'{1 - seconds["flat, Adam.step()"] / seconds["per tensor"]:.0%}')


if __name__ == '__main__':
    main()
