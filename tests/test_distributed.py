"""Data-parallel training (pufferlib.distributed, docs/distributed.md) on the CPU with gloo.

What is tested:
- one gradient step, exactly: a minibatch split in two halves over two ranks, each rank's mean loss backpropagated
  and the gradients averaged (over the flat buffer, and per parameter as for Muon), then clipped and stepped by
  Adam, gives the weights one process gets from the mean loss of the whole minibatch, step after step; and the two
  ranks' weights stay bit-identical.
- through the whole trainer: two ranks of half the envs end five whole epochs with the weights of one process of
  all the envs and the same global batch (prio_alpha 0, minibatch = batch), to float tolerance.
- a finished two-rank run resumed with a larger budget continues from its checkpoint on every rank.
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


def puffer_train(args, folder, timeout=300):
    """`puffer train ARGS` in a subprocess (run outside the checkout, with the pufferlib this test imports)."""
    package_root = os.path.dirname(os.path.dirname(pufferlib.__file__))
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=package_root)
    env.pop('WORLD_SIZE', None)
    command = [sys.executable, '-m', 'pufferlib.cli', 'train', *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def only_run(folder, env_name='puffer_squared'):
    runs = os.listdir(folder / env_name)
    assert len(runs) == 1, runs
    return folder / env_name / runs[0]


# Five whole epochs (collect, advantages, update_epochs full-batch minibatches) of puffer_squared: 960 agent steps
# each for 64 envs of bptt_horizon 16. prio_alpha 0 and minibatch = batch: every segment is in every minibatch.
EQUIVALENCE = ['--train.total-timesteps', '4800', '--train.prio-alpha', '0', '--train.update-epochs', '2',
               '--train.checkpoint-interval', '1000']


def test_two_ranks_take_the_updates_of_one_process_over_whole_epochs(tmp_path):
    """Two ranks of 32 envs each (envs 0-31 and 32-63 of the pool, sampling with their share of the shared noise,
    advantages normalized over both) end five epochs with the weights of one process of 64 envs and the same
    global batch, to float tolerance (the ranks sum their gradients in another order)."""
    (tmp_path / 'one').mkdir()
    (tmp_path / 'two').mkdir()
    puffer_train(['puffer_squared', '--train.data-dir', str(tmp_path / 'one'), '--env.num-envs', '64',
                  '--train.minibatch-size', '1024', *EQUIVALENCE], tmp_path)
    puffer_train(['puffer_squared', '--train.world-size', '2', '--train.data-dir', str(tmp_path / 'two'),
                  '--env.num-envs', '32', '--train.minibatch-size', '512', *EQUIVALENCE], tmp_path)
    runs = [only_run(tmp_path / name) for name in ('one', 'two')]
    one, two = (torch.load(run / 'model.pt', weights_only=True) for run in runs)
    difference = max((one[key].double() - two[key].double()).abs().max().item() for key in one)
    assert difference < 1e-4, difference
    rows = [[json.loads(line) for line in (run / 'metrics.jsonl').read_text().splitlines()] for run in runs]
    assert [row['global_step'] for row in rows[0]] == [row['global_step'] for row in rows[1]]
    assert len(rows[0]) == 5
    # The same episodes: the logged episode statistics match too (the actions taken were the same), up to the way
    # rows merge each rank's means of its own envs' episodes.
    for single, ranks in zip(rows[0], rows[1]):
        assert ranks['loss/value_loss'] == pytest.approx(single['loss/value_loss'], rel=1e-4)
        if single.get('env/score') is not None:
            assert ranks['env/score'] == pytest.approx(single['env/score'], rel=1e-3)


def test_two_ranks_resume_from_one_checkpoint_with_a_larger_budget(tmp_path):
    """A two-rank run stopped by its step budget and resumed with a larger one: every rank loads the same
    checkpoint (the run checks at every checkpoint and at the end that the ranks' weights are identical, and fails
    otherwise), and the counters continue from where it stopped."""
    common = ['--env.num-envs', '32', '--train.minibatch-size', '512', '--train.checkpoint-interval', '2']
    puffer_train(['puffer_squared', '--train.world-size', '2', '--train.data-dir', str(tmp_path),
                  '--train.total-timesteps', '4000', *common], tmp_path)
    run_dir = only_run(tmp_path)
    first = [json.loads(line) for line in (run_dir / 'metrics.jsonl').read_text().splitlines()]
    assert layout.read_info(str(run_dir))['status'] == 'finished'
    saved = torch.load(run_dir / 'model.pt', weights_only=True)
    puffer_train(['puffer_squared', '--train.world-size', '2', '--train.data-dir', str(tmp_path),
                  '--resume', run_dir.name, '--train.total-timesteps', '8000', *common], tmp_path)
    rows = [json.loads(line) for line in (run_dir / 'metrics.jsonl').read_text().splitlines()]
    assert rows[:len(first)] == first
    resumed = rows[len(first):]
    assert resumed and resumed[0]['epoch'] == first[-1]['epoch'] + 1
    assert resumed[0]['global_step'] == first[-1]['global_step'] + 2 * 32 * 15
    assert rows[-1]['global_step'] >= 8000
    info = layout.read_info(str(run_dir))
    assert info['status'] == 'finished' and info['global_step'] == rows[-1]['global_step']
    weights = torch.load(run_dir / 'model.pt', weights_only=True)
    assert any(not torch.equal(saved[key], weights[key]) for key in saved)  # it trained on after resuming


@pytest.mark.parametrize('backend', ['PufferEnv', 'Serial'])
def test_a_ranks_envs_are_its_share_of_one_pool(backend):
    """vector.make(first_env=...) seeds a rank's envs as the matching part of one vector of all of them (C envs
    through set_first_env with the PufferEnv backend, env objects from seed + index with Serial), also after a
    reseeding reset; the other share plays other episodes."""
    import numpy as np
    from pufferlib import vector
    from pufferlib.envs import load_package
    creator = load_package('ocean').env_creator('puffer_squared')
    if backend == 'PufferEnv':
        whole = vector.make(creator, backend=backend, env_kwargs=dict(num_envs=8))
        share = vector.make(creator, backend=backend, env_kwargs=dict(num_envs=4), first_env=1)
    else:
        whole = vector.make(creator, backend=backend, num_envs=8, env_kwargs=dict(num_envs=2))
        share = vector.make(creator, backend=backend, num_envs=4, env_kwargs=dict(num_envs=2), first_env=4)
    half = whole.num_agents // 2
    rng = np.random.default_rng(0)
    for seed in (3, 11):
        whole.async_reset(seed)
        share.async_reset(seed)
        observations = whole.recv()[0]
        assert np.array_equal(share.recv()[0], observations[half:])
        assert not np.array_equal(observations[:half], observations[half:])
        for _ in range(30):
            actions = rng.integers(0, 5, size=whole.num_agents).astype(np.int32)
            whole.send(actions)
            share.send(actions[half:])
            ours, theirs = whole.recv(), share.recv()
            assert np.array_equal(theirs[0], ours[0][half:]) and np.array_equal(theirs[1], ours[1][half:])
    whole.close()
    share.close()


def test_two_ranks_normalize_alike_with_obs_and_return_norm(tmp_path):
    """train.obs_norm and train.return_norm statistics are folded over every rank's batch, so the ranks keep the
    same statistics (which live in the weights' state_dict) and the run's checksum check at the end passes."""
    puffer_train(['puffer_squared', '--train.world-size', '2', '--train.data-dir', str(tmp_path),
                  '--env.num-envs', '32', '--train.minibatch-size', '512', '--train.total-timesteps', '4000',
                  '--train.obs-norm', 'True', '--train.return-norm', 'True'], tmp_path)
    run_dir = only_run(tmp_path)
    weights = torch.load(run_dir / 'model.pt', weights_only=True)
    epochs = len((run_dir / 'metrics.jsonl').read_text().splitlines())
    counts = [value for key, value in weights.items() if key.endswith('normalizer.count')]
    assert counts and float(counts[0]) == 2 * 32 * 15 * epochs, counts  # both ranks' valid steps of every epoch
