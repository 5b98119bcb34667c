"""`puffer ARGS` as one torchrun rank, with a fault injected for tests/test_distributed.py: the rank named by
PUFFER_TEST_FAULT_RANK raises inside its PPO update (in the loss, before its gradients reach the all_reduce) from
epoch PUFFER_TEST_FAULT_EPOCH on, as a bug or an out-of-memory error on one GPU would. The other ranks are left as
they are: they reach the gradient all_reduce and wait there for the rank that died.

    torchrun --standalone --nproc-per-node 2 tests/rank_fault.py train puffer_squared ...
"""
import os
import sys

from pufferlib import cli, trainer

FAULT_RANK = os.environ.get('PUFFER_TEST_FAULT_RANK')
FAULT_EPOCH = int(os.environ.get('PUFFER_TEST_FAULT_EPOCH', '2'))

if FAULT_RANK is not None and os.environ.get('RANK') == FAULT_RANK:
    ppo_losses = trainer.Trainer.ppo_losses

    def failing_ppo_losses(self, *args):
        if self.epoch >= FAULT_EPOCH:
            raise RuntimeError(f'injected fault: rank {FAULT_RANK} fails inside its update at epoch {self.epoch}')
        return ppo_losses(self, *args)

    trainer.Trainer.ppo_losses = failing_ppo_losses  # Trainer binds self.losses to it when it is built

if __name__ == '__main__':
    sys.exit(cli.main(sys.argv[1:]))
