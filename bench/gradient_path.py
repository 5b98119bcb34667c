"""puffer_breakout training epochs with each minibatch's gradient from torch.func (what compiled training uses) and
from the loss's backward(), alternating in one run.

    python -m bench.gradient_path [--model latest|RUN_DIR|MODEL.pt] [--rounds 30] [--data-dir experiments]

Both ways run compiled code. With torch.func.grad the forward and backward passes are one compiled graph and one
call per minibatch; with backward() they are a compiled forward call, then the autograd engine running the
compiled backward and accumulating each parameter's gradient. One trainer switches between them epoch by epoch
(same policy, same data), so a machine whose speed drifts slows both alike. Prints ms per epoch each way (and the
learning part of it) and their ratio.
"""
import argparse
import shutil
import tempfile
import time

from bench.denormals import make_trainer
from pufferlib import denormals


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', default=None, help='latest, a run folder or a .pt file (default: a fresh policy)')
    parser.add_argument('--rounds', type=int, default=30, help='epochs each way')
    parser.add_argument('--data-dir', default='experiments', help='where --model latest looks (train.data_dir)')
    args = parser.parse_args()

    scratch_dir = tempfile.mkdtemp(prefix='bench_gradient_path_')
    learner = make_trainer(args.model, args.data_dir, scratch_dir)
    if not learner.functional_gradient:
        raise SystemExit('this config does not take gradients from torch.func (needs train.compile, plain Adam and '
                         'a policy without an LSTM)')
    denormals.set_flush_denormals(True)  # as training does
    learner.reset_envs(0)
    ways = {'torch.func.grad': True, 'backward()': False}
    epoch_seconds, learn_seconds = dict.fromkeys(ways, 0.0), dict.fromkeys(ways, 0.0)
    try:
        for functional in (True, False, True, False):  # compile both and warm up
            learner.functional_gradient = functional
            learner.collect()
            learner.learn()
        for _ in range(args.rounds):
            for name, functional in ways.items():
                learner.functional_gradient = functional
                start = time.perf_counter()
                learner.collect()
                collected = time.perf_counter()
                learner.learn()
                end = time.perf_counter()
                epoch_seconds[name] += end - start
                learn_seconds[name] += end - collected
    finally:
        denormals.set_flush_denormals(False)
        learner.vecenv.close()
        shutil.rmtree(scratch_dir, ignore_errors=True)
    for name in ways:
        print(f'{name:>16}: {1e3 * epoch_seconds[name] / args.rounds:6.1f} ms per epoch, of which learning '
              f'{1e3 * learn_seconds[name] / args.rounds:5.1f} ms')
    print(f'torch.func.grad is {epoch_seconds["backward()"] / epoch_seconds["torch.func.grad"]:.2f}x as fast per '
          f'epoch ({learn_seconds["backward()"] / learn_seconds["torch.func.grad"]:.2f}x in learning)')


if __name__ == '__main__':
    main()
