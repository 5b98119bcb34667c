"""Data-parallel training (pufferlib.distributed, docs/distributed.md) on the CPU with gloo.

What is tested:
- one gradient step, exactly: a minibatch split in two halves over two ranks, each rank's mean loss backpropagated
  and the gradients averaged (over the flat buffer, and per parameter as for Muon), then clipped and stepped by
  Adam, gives the weights one process gets from the mean loss of the whole minibatch, step after step; and the two
  ranks' weights stay bit-identical.
- through the whole trainer: two ranks of half the envs end five whole epochs with the weights of one process of
  all the envs and the same global batch (prio_alpha 0, minibatch = batch), to float tolerance.
- a finished two-rank run resumed with a larger budget continues from its checkpoint on every rank.
- a two-rank `puffer train --train.world-size 2` run learns puffer_cartpole, rank 0 writes the run folder alone,
  and the ranks' weights are identical at every checkpoint and at the end (the run checks it and fails otherwise).
- every rank's envs are saved in the checkpoint and resumed on that rank: paused and resumed = uninterrupted.
- a crash inside one rank's update (tests/rank_fault.py) ends every rank at once, with that rank's traceback.
- a finished rank has freed its process group: no gloo thread lives on into interpreter exit (tests/rank_exit.py).
- two torchrun launches on localhost as two nodes (c10d rendezvous) train one run together.
- the intrinsic reward signals' gradients are averaged over every rank's rows (unequal, or none on one rank), and
  with RND, curiosity and GAIL on, their networks, optimizer states and statistics stay identical on both ranks.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time

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


def join_two_ranks(rank, port):
    """This process as rank `rank` of a two-rank gloo group on this machine."""
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE='2',
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    distributed.init('cpu')


def rank_worker(rank, port, use_flat, folder):
    join_two_ranks(rank, port)
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


def weighted_worker(rank, port, folder, sizes):
    """Rank `rank` of 2 holds rows [start, start + sizes[rank]) of the data; its gradient of its mean loss (none at
    all for a rank with no rows) goes through distributed.average_weighted_gradients with a value to average."""
    join_two_ranks(rank, port)
    try:
        net = make_net()
        inputs, targets = (x[0] for x in data())
        start = sum(sizes[:rank])
        rows = slice(start, start + sizes[rank])
        value = 0.0
        if sizes[rank]:
            loss = ((net(inputs[rows]) - targets[rows]) ** 2).mean()
            loss.backward()
            value = loss.item()
        averaged = distributed.average_weighted_gradients(net.parameters(), sizes[rank], value)
        torch.save(dict(grads=[p.grad.clone() for p in net.parameters()], value=averaged),
                   os.path.join(folder, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize('sizes', [(20, 44), (0, 64)], ids=['unequal', 'one_rank_empty'])
def test_reward_signal_gradients_average_over_every_ranks_rows(tmp_path, sizes):
    """Ranks holding unequal numbers of rows (or none) get the gradient of the mean loss over all rows, as one
    process holding them all computes it, and the row-weighted mean of a value (VAIL's KL)."""
    mp.spawn(weighted_worker, args=(free_port(), str(tmp_path), sizes), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f'rank{rank}.pt', weights_only=True) for rank in range(2)]
    net = make_net()
    inputs, targets = (x[0] for x in data())
    loss = ((net(inputs) - targets) ** 2).mean()
    loss.backward()
    for index, parameter in enumerate(net.parameters()):
        assert torch.equal(ranks[0]['grads'][index], ranks[1]['grads'][index])
        torch.testing.assert_close(ranks[0]['grads'][index], parameter.grad, rtol=1e-5, atol=1e-7)
    losses = [((net(inputs[:sizes[0]]) - targets[:sizes[0]]) ** 2).mean().item() if sizes[0] else 0.0,
              ((net(inputs[sizes[0]:]) - targets[sizes[0]:]) ** 2).mean().item()]
    expected = (losses[0] * sizes[0] + losses[1] * sizes[1]) / 64
    assert ranks[0]['value'].tolist() == ranks[1]['value'].tolist() == pytest.approx([expected], rel=1e-6)


def subprocess_env(**extra):
    """The environment of a `puffer train` / torchrun subprocess: the pufferlib this test imports (installed in CI,
    whose C modules are built) on the path, one OpenMP thread per rank, no leftover launcher variables."""
    package_root = os.path.dirname(os.path.dirname(pufferlib.__file__))
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=package_root, **extra)
    for name in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'):
        env.pop(name, None)
    return env


def torchrun_script(script, args):
    """The command that runs tests/SCRIPT (a `puffer` entry point with a test hook) as two local torchrun ranks."""
    return [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2',
            os.path.join(os.path.dirname(os.path.abspath(__file__)), script), *args]


def test_two_ranks_learn_cartpole_and_only_rank0_writes(tmp_path):
    """`puffer train --train.world-size 2` relaunches itself under torchrun; two ranks of 128 carts each learn
    puffer_cartpole (a random policy's episodes last about 22 steps; the last rows average over 150, on the way to
    the cap of 500, which takes about 3M steps); one run folder, with one writer (rank 0's TensorBoard file, run.json
    naming no other process); the ranks' weights are checked identical at every checkpoint (the run fails
    otherwise). About 30 s of training on two cores."""
    env = subprocess_env()
    command = [sys.executable, '-m', 'pufferlib.cli', 'train', 'puffer_cartpole', '--train.world-size', '2',
               '--train.data-dir', str(tmp_path), '--train.total-timesteps', '800000', '--env.num-envs', '128',
               '--env.log-interval', '32', '--train.minibatch-size', '1024', '--train.checkpoint-interval', '20']
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = only_run(tmp_path, 'puffer_cartpole')
    files = sorted(os.listdir(run_dir))
    assert len([name for name in files if name.startswith('events.')]) == 1, files
    assert {'config.ini', 'metrics.jsonl', 'model.pt', 'run.json', 'checkpoints'} <= set(files), files
    assert layout.read_info(str(run_dir))['status'] == 'finished'
    rows = [json.loads(line) for line in (run_dir / 'metrics.jsonl').read_text().splitlines()]
    assert rows[0]['global_step'] == 2 * 128 * (16 - 1)  # global_step counts both ranks' steps (bptt_horizon 16)
    returns = [row['env/episode_return'] for row in rows if row.get('env/episode_return') is not None]
    assert returns[0] < 40, returns[:3]
    assert sum(returns[-5:]) / 5 > 150, returns[-10:]


def puffer_train(args, folder, timeout=300):
    """`puffer train ARGS` in a subprocess (run outside the checkout, with the pufferlib this test imports)."""
    command = [sys.executable, '-m', 'pufferlib.cli', 'train', *args]
    result = subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), timeout=timeout,
                            cwd=folder)
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


def test_every_rank_resumes_its_own_envs(tmp_path):
    """Each rank's envs are saved in rank 0's checkpoint ('ranks') and put back on that rank: a two-rank run paused
    half way (--stop-at-step) and resumed ends exactly as the same run uninterrupted (same weights, same episodes
    logged), which it would not if rank 1 restarted its envs or took rank 0's. No interval checkpoint falls inside
    (checkpoint_interval 1000), so the uninterrupted run never restarts any env."""
    common = ['puffer_squared', '--train.world-size', '2', '--env.num-envs', '32', '--train.minibatch-size', '512',
              '--train.total-timesteps', '7680', '--train.checkpoint-interval', '1000']  # 8 epochs of 960 steps
    (tmp_path / 'whole').mkdir()
    (tmp_path / 'halves').mkdir()
    puffer_train([*common, '--train.data-dir', str(tmp_path / 'whole')], tmp_path)
    puffer_train([*common, '--train.data-dir', str(tmp_path / 'halves'), '--stop-at-step', '3840'], tmp_path)
    paused = only_run(tmp_path / 'halves')
    assert layout.read_info(str(paused))['status'] == 'paused'
    from pufferlib.runs import checkpoint, history
    saved = checkpoint.read_checkpoint(history.newest_checkpoint(str(paused)))
    assert saved['counters']['global_step'] == 3840
    assert isinstance(saved['ranks'], list) and len(saved['ranks']) == 1  # rank 1's own part
    (rank0,), (rank1,) = saved['envs'], saved['ranks'][0]['envs']  # each rank's one Ocean vector (PufferEnv backend)
    assert rank1['env'] == rank0['env'] == 'puffer_squared'
    assert not torch.equal(rank1['c_state'], rank0['c_state'])  # its own envs, not a copy of rank 0's
    puffer_train([*common, '--train.data-dir', str(tmp_path / 'halves'), '--resume', paused.name], tmp_path)
    runs = [only_run(tmp_path / name) for name in ('whole', 'halves')]
    assert layout.read_info(str(runs[1]))['status'] == 'finished'
    whole, halves = ([json.loads(line) for line in (run / 'metrics.jsonl').read_text().splitlines()] for run in runs)
    assert len(whole) == len(halves) == 8
    keys = ('global_step', 'env/score', 'env/episode_return', 'env/episode_length', 'loss/value_loss',
            'loss/policy_loss')
    for row, other in zip(whole, halves):
        assert {key: row.get(key) for key in keys} == {key: other.get(key) for key in keys}, row['epoch']
    one, two = (torch.load(run / 'model.pt', weights_only=True) for run in runs)
    assert all(torch.equal(one[key], two[key]) for key in one)


@pytest.mark.skipif(not os.path.isdir('/proc/self/task'), reason='reads the threads of a process from /proc')
def test_a_rank_leaves_no_gloo_thread_alive_after_its_run(tmp_path):
    """A finished rank has freed its process group before the interpreter exits: no gloo thread is left. One
    left alive is torn down during interpreter exit, where a rank aborted now and then in CI ('terminate called
    without an active exception', exit -6, after a run that had saved everything). The group was held for good by
    torch.distributed.nn.functional, whose functions take group.WORLD as a default argument when first imported,
    which a session did after joining the group (torch.use_deterministic_algorithms imports it)."""
    command = torchrun_script('rank_exit.py', [
        'train', 'puffer_squared', '--train.data-dir', str(tmp_path), '--env.num-envs', '32',
        '--train.minibatch-size', '512', '--train.total-timesteps', '1920'])
    result = subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # One report per rank; torchrun may run the two ranks' lines together.
    reports = [part.split('\n', 1)[0] for part in result.stdout.split('threads left:')[1:]]
    assert len(reports) == 2, result.stdout[-2000:]
    assert not any('gloo' in report for report in reports), reports


@pytest.mark.parametrize('fault_rank', [1, 0])
def test_a_crash_inside_one_ranks_update_ends_every_rank_with_its_traceback(tmp_path, fault_rank):
    """A real two-rank torchrun run whose rank `fault_rank` raises inside its PPO update at epoch 2
    (tests/rank_fault.py), while the other rank waits for it in the gradient all_reduce: every rank ends within
    seconds (no hang until the collective timeout), the exit code is non-zero, the failing rank's traceback is
    shown with its rank and torchrun names it as the root cause, and run.json says crashed."""
    env = subprocess_env(PUFFER_TEST_FAULT_RANK=str(fault_rank), PUFFER_TEST_FAULT_EPOCH='2')
    command = torchrun_script('rank_fault.py', [
        'train', 'puffer_squared', '--train.data-dir', str(tmp_path), '--env.num-envs', '32',
        '--train.minibatch-size', '512', '--train.total-timesteps', '10000000', '--train.checkpoint-interval', '1'])
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    assert elapsed < 60, elapsed  # start-up, two epochs and the crash; a hang would wait out TIMEOUT_SECONDS
    message = f'injected fault: rank {fault_rank} fails inside its update at epoch 2'
    assert f'[rank{fault_rank}]: RuntimeError: {message}' in result.stderr, result.stderr[-3000:]
    assert f'[rank{fault_rank}]:   File' in result.stderr  # the traceback itself, with its rank
    root_cause = result.stderr.split('Root Cause', 1)[-1]
    assert re.search(rf'rank\s*:\s*{fault_rank} ', root_cause), result.stderr[-2000:]
    run_dir = only_run(tmp_path)
    info = layout.read_info(str(run_dir))
    assert info['status'] == 'crashed' and info['epoch'] == 2, info
    assert info['error'] and (fault_rank != 0 or message in info['error']), info['error']


@pytest.mark.parametrize('rendezvous', ['c10d', 'static'])
def test_two_torchrun_nodes_on_localhost_train_one_run(tmp_path, rendezvous):
    """Two torchrun launches, one rank each, joined as two nodes through torchrun's rendezvous (c10d, as
    docs/distributed.md shows for two machines, where torchrun picks the node of rank 0; or static, where
    --node-rank 0 is rank 0): they train one run together (global_step counts both nodes' steps), and only rank 0's
    node writes anything: each launch has its own data dir, and the other one is never created."""
    env = subprocess_env()
    port = free_port()
    if rendezvous == 'c10d':
        join = ['--rdzv-backend', 'c10d', '--rdzv-endpoint', f'127.0.0.1:{port}', '--rdzv-id', f'test{port}']
    else:
        join = ['--master-addr', '127.0.0.1', '--master-port', str(port)]
    launches = []
    for node in range(2):
        node_rank = ['--node-rank', str(node)] if rendezvous == 'static' else []
        command = [sys.executable, '-m', 'torch.distributed.run', '--nnodes', '2', '--nproc-per-node', '1',
                   *node_rank, *join, '-m', 'pufferlib.cli', 'train', 'puffer_squared',
                   '--train.data-dir', str(tmp_path / f'node{node}'), '--env.num-envs', '32',
                   '--train.minibatch-size', '512', '--train.total-timesteps', '9600', '--train.checkpoint-interval',
                   '4']
        launches.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         env=env, cwd=tmp_path))
    try:
        outputs = [launch.communicate(timeout=240) for launch in launches]
    finally:
        for launch in launches:
            if launch.poll() is None:
                launch.kill()
    for launch, (_, stderr) in zip(launches, outputs):
        assert launch.returncode == 0, stderr[-3000:]
    written = [node for node in range(2) if (tmp_path / f'node{node}').exists()]
    assert len(written) == 1, written
    if rendezvous == 'static':
        assert written == [0]
    run_dir = only_run(tmp_path / f'node{written[0]}')
    files = os.listdir(run_dir)
    assert len([name for name in files if name.startswith('events.')]) == 1, files
    assert layout.read_info(str(run_dir))['status'] == 'finished'
    rows = [json.loads(line) for line in (run_dir / 'metrics.jsonl').read_text().splitlines()]
    assert [row['global_step'] for row in rows] == [2 * 32 * 15 * epoch for epoch in range(1, 11)]
    assert 'finished' in outputs[written[0]][0] and 'finished' not in outputs[1 - written[0]][0]


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


def test_a_checkpoint_with_malformed_rank_states_is_refused(tmp_path):
    """'ranks' (ranks 1..N-1's own env state) must be a list of dicts: anything else is named before resuming."""
    from pufferlib.runs import checkpoint
    state = dict(model={'w': torch.zeros(2)}, optimizers=[], counters=dict(epoch=1, global_step=10, uptime=1.0),
                 rng=dict(torch=torch.get_rng_state()), envs=None)
    path = tmp_path / 'checkpoint.pt'
    for ranks in ([dict(envs=None, recurrent_state=None)], None):
        torch.save(dict(state, ranks=ranks), path)
        assert checkpoint.read_checkpoint(str(path))['ranks'] == ranks
    for ranks in ('rank 1', [None], {'1': {}}):
        torch.save(dict(state, ranks=ranks), path)
        with pytest.raises(checkpoint.CheckpointError, match='"ranks" is not a list'):
            checkpoint.read_checkpoint(str(path))


def test_two_ranks_keep_the_reward_signals_networks_identical(tmp_path):
    """RND, curiosity and GAIL (with VAIL's beta) on two ranks: each signal's input and return statistics are folded
    over both ranks' rows and its gradients averaged over both ranks' rows before each step, so its networks, their
    statistics and VAIL's beta are the same on both ranks at every checkpoint (rank 1's come back in the
    checkpoint's 'ranks'), after they did train."""
    from test_imitation import record_expert
    record_expert(tmp_path / 'expert.npz', 20)
    puffer_train(['puffer_squared', '--train.world-size', '2', '--train.data-dir', str(tmp_path),
                  '--env.num-envs', '32', '--train.minibatch-size', '512', '--train.total-timesteps', '4800',
                  '--train.checkpoint-interval', '2', '--train.keep-checkpoints', '5',
                  '--reward.rnd.strength', '0.1', '--reward.curiosity.strength', '0.1', '--reward.gail.strength', '0.1',
                  '--reward.gail.demo-path', str(tmp_path / 'expert.npz'), '--reward.gail.use-actions', 'True',
                  '--reward.gail.use-vail', 'True'], tmp_path)
    from pufferlib.runs import checkpoint, history
    saved = [checkpoint.read_checkpoint(path) for _, path in history.checkpoints(str(only_run(tmp_path)))]
    assert len(saved) == 3  # epochs 2, 4 and the end (5)
    for state in saved:
        ours, theirs = state['reward_signals'], state['ranks'][0]['reward_signals']
        assert sorted(ours) == sorted(theirs) == ['curiosity', 'gail', 'rnd']
        for name in ours:
            for key, tensor in ours[name]['networks'].items():
                assert torch.equal(tensor, theirs[name]['networks'][key]), f'{name} {key}'
            assert ours[name]['optimizer']['state'].keys() == theirs[name]['optimizer']['state'].keys()
            for index, moments in ours[name]['optimizer']['state'].items():
                assert all(torch.equal(moments[key], theirs[name]['optimizer']['state'][index][key])
                           for key in moments), f'{name} optimizer state {index}'
        assert torch.equal(ours['gail']['beta'], theirs['gail']['beta'])
        # The running return of each segment row follows that rank's own episodes.
        assert not torch.equal(ours['rnd']['forward_return'], theirs['rnd']['forward_return'])
    first, last = saved[0]['reward_signals'], saved[-1]['reward_signals']
    # RND's input statistics hold both ranks' rows: the first rollout chunk (32 segments of 16 steps on each rank)
    # that sets their scale, then every epoch's valid steps (32 rows x 15 steps on each rank).
    assert float(last['rnd']['networks']['obs_stats.count']) == 2 * 32 * 16 + 5 * 2 * 32 * 15
    for name, key in (('rnd', 'predictor.0.weight'), ('curiosity', 'forward_model.0.weight'),
                      ('gail', 'body.0.weight'), ('gail', 'critic.0.weight')):
        assert not torch.equal(first[name]['networks'][key], last[name]['networks'][key]), f'{name} {key}'
    assert float(last['gail']['beta']) > 0
