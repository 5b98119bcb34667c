"""Data-parallel training (pufferlib.distributed, docs/distributed.md) on the CPU with gloo.

What is tested:
- one gradient step, exactly: a minibatch split in two halves over two ranks, each rank's mean loss backpropagated
  and the gradients averaged (over the flat buffer, and per parameter as for Muon), then clipped and stepped by
  Adam, gives the weights one process gets from the mean loss of the whole minibatch, step after step; and the two
  ranks' weights stay bit-identical. (Through the whole trainer the two are not the same update: each rank draws
  its own prioritized segments and normalizes its own advantages, as DDP PPO does.)
- a two-rank `puffer train --train.world-size 2` run of puffer_squared learns, rank 0 writes the run folder alone,
  and the ranks' weights are identical at every checkpoint and at the end (the run checks it and fails otherwise).
"""
import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import pufferlib
from pufferlib import distributed, optim
from pufferlib.runs import layout

STEPS = 5


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def make_net():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.Tanh(), torch.nn.Linear(32, 3))


def data():
    generator = torch.Generator().manual_seed(2)
    return torch.randn(STEPS, 64, 6, generator=generator), torch.randn(STEPS, 64, 3, generator=generator)


def train_steps(net, flat, optimizers, inputs, targets, average=None):
    """STEPS updates as Trainer.learn makes them: mean loss, backward, (average over ranks), clip, Adam."""
    parameters = list(net.parameters())
    for x, y in zip(inputs, targets):
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        if average is not None:
            average()
        if flat is not None:
            flat.clip_grad_norm(0.5)
            flat.adam_step(optimizers[0])
            flat.zero_grad()
        else:
            torch.nn.utils.clip_grad_norm_(parameters, 0.5)
            optimizers[0].step()
            optimizers[0].zero_grad(set_to_none=True)
    return {key: value.clone() for key, value in net.state_dict().items()}


def make_optimizer(net, use_flat):
    if use_flat:
        flat = optim.FlatParameters(net.parameters())
        return flat, [torch.optim.Adam([flat.parameter], lr=0.01, fused=True)]
    return None, [torch.optim.Adam(net.parameters(), lr=0.01)]


def rank_worker(rank, port, use_flat, folder):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE='2',
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    distributed.init('cpu')
    try:
        net = make_net()
        flat, optimizers = make_optimizer(net, use_flat)
        trainer = type('Trainer', (), dict(flat=flat, policy=net))  # what average_gradients reads
        inputs, targets = data()
        half = slice(rank * 32, (rank + 1) * 32)
        weights = train_steps(net, flat, optimizers, inputs[:, half], targets[:, half],
                              average=lambda: distributed.average_gradients(trainer))
        torch.save(weights, os.path.join(folder, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize('use_flat', [True, False], ids=['flat_buffer', 'per_parameter'])
def test_split_minibatch_over_two_ranks_matches_one_process(tmp_path, use_flat):
    mp.spawn(rank_worker, args=(free_port(), use_flat, str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f'rank{rank}.pt', weights_only=True) for rank in range(2)]
    net = make_net()
    flat, optimizers = make_optimizer(net, use_flat)
    single = train_steps(net, flat, optimizers, *data())
    for key in single:
        assert torch.equal(ranks[0][key], ranks[1][key]), f'{key} differs between the ranks'
        assert torch.allclose(ranks[0][key], single[key], rtol=1e-5, atol=1e-6), key
    assert not torch.equal(single['0.weight'], make_net().state_dict()['0.weight'])  # it did train


def test_two_ranks_learn_squared_and_only_rank0_writes(tmp_path):
    """`puffer train --train.world-size 2` relaunches itself under torchrun; the run learns; one run folder, with
    one writer (rank 0's TensorBoard file, run.json naming no other process)."""
    # The pufferlib this test imports (installed in CI, whose C modules are built), run outside the checkout.
    package_root = os.path.dirname(os.path.dirname(pufferlib.__file__))
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=package_root)
    env.pop('WORLD_SIZE', None)
    command = [sys.executable, '-m', 'pufferlib.cli', 'train', 'puffer_squared', '--train.world-size', '2',
               '--train.data-dir', str(tmp_path), '--train.total-timesteps', '150000', '--env.num-envs', '128',
               '--train.minibatch-size', '1024', '--train.checkpoint-interval', '20']
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = os.listdir(tmp_path / 'puffer_squared')
    assert len(runs) == 1, runs
    run_dir = tmp_path / 'puffer_squared' / runs[0]
    files = sorted(os.listdir(run_dir))
    assert len([name for name in files if name.startswith('events.')]) == 1, files
    assert {'config.ini', 'metrics.jsonl', 'model.pt', 'run.json', 'checkpoints'} <= set(files), files
    assert layout.read_info(str(run_dir))['status'] == 'finished'
    rows = [json.loads(line) for line in (run_dir / 'metrics.jsonl').read_text().splitlines()]
    steps_per_epoch = 2 * 128 * (16 - 1)  # two ranks of 128 agents, bptt_horizon 16
    assert rows[0]['global_step'] == steps_per_epoch  # global_step counts both ranks' steps
    scores = [row['env/score'] for row in rows if row.get('env/score') is not None]
    assert scores[0] < 0.3 and scores[-1] > 0.6, (scores[:3], scores[-3:])  # a random walk scores ~0.1
