"""Data-parallel training on torch.distributed (docs/distributed.md): one learner process per rank, each with its own
envs and rollout buffers, gradients averaged every minibatch so that every rank takes the same update.

torchrun (or `puffer train --train.world-size N`, which starts it) sets RANK, WORLD_SIZE, LOCAL_RANK and the
rendezvous address; `init` joins the group (gloo on the CPU, NCCL on CUDA). Without them everything here is a no-op
for one process, and a single-process run is bit-identical to one that never imported this module.

Rank 0 alone writes the run folder; the other ranks follow it (see pufferlib.runs.session).
"""
import importlib
import os
import subprocess
import sys
from datetime import timedelta

import torch
import torch.distributed as dist

# A rank that waits this long on a collective (another rank hung, or died without torchrun noticing) fails with
# an error instead of blocking forever.
TIMEOUT_SECONDS = 600


def launched():
    """Whether this process is one rank of a torchrun group of more than one."""
    return int(os.environ.get('WORLD_SIZE', '1')) > 1


def active():
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank():
    return dist.get_rank() if active() else 0


def world_size():
    return dist.get_world_size() if active() else 1


def is_main():
    return rank() == 0


def local_rank():
    return int(os.environ.get('LOCAL_RANK', '0'))


def init(device):
    """Join the torchrun group, if launched under one; returns the device this rank trains on: `device` itself on
    the CPU, cuda:LOCAL_RANK for `cuda` (one GPU per process on each machine)."""
    if not launched():
        return device
    cuda = torch.device(device).type == 'cuda'
    if cuda:
        device = f'cuda:{local_rank()}'
        torch.cuda.set_device(device)  # NCCL and broadcast_object_list use the current device
    if not dist.is_initialized():
        # Imported before the group exists: its functions take group.WORLD as a default argument when first
        # imported, and torch imports it lazily (torch.use_deterministic_algorithms does, through inductor). Imported
        # after, it would hold the group for good: teardown could not free it, and its gloo threads would live on
        # into interpreter exit, where a rank then aborts now and then ('terminate called without an active
        # exception').
        importlib.import_module('torch.distributed.nn.functional')
        dist.init_process_group('nccl' if cuda else 'gloo', timeout=timedelta(seconds=TIMEOUT_SECONDS))
    return device


def barrier():
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def teardown():
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def collective_device():
    """Where small tensors for a collective live: NCCL reduces only CUDA tensors."""
    return torch.device('cuda', torch.cuda.current_device()) if dist.get_backend() == 'nccl' else torch.device('cpu')


def first_env(num_envs):
    """Index of this rank's first env in the run's global env pool: rank r holds envs [r * num_envs, (r + 1) *
    num_envs), seeded as those envs of one vector of all of them would be (pufferlib.vector.make's first_env), so
    the ranks never play the same episodes and N ranks play the episodes one process with N times the envs plays."""
    return rank() * num_envs


def shared_draw(draw, rows):
    """`draw(n)` (a tensor, or a tuple of them, of n rows) for this rank's `rows` rows. Data-parallel, every rank
    draws the rows of all ranks from its torch generator, which is seeded alike on every rank and consumed alike,
    and keeps its own slice: rank r's actions are sampled with the noise one process holding every rank's rows
    would use for them, and the generators stay in step. Drawing N times the rows costs little (a few uniform
    numbers per agent row and action); one process draws exactly `draw(rows)`."""
    if not active():
        return draw(rows)
    full = draw(rows * world_size())
    part = slice(rank() * rows, (rank() + 1) * rows)
    return tuple(x[part] for x in full) if isinstance(full, tuple) else full[part]


def global_moments(x, valid):
    """Mean and standard deviation of x over the valid cells of every rank's x: advantage normalization over the
    global minibatch, as one process holding all of it computes it (two small all_reduces)."""
    totals = torch.stack([(x * valid).sum(), valid.sum()])
    dist.all_reduce(totals, op=dist.ReduceOp.SUM)
    mean = totals[0] / totals[1].clamp(min=1)
    squares = ((x - mean) ** 2 * valid).sum().reshape(1)
    dist.all_reduce(squares, op=dist.ReduceOp.SUM)
    return mean, (squares[0] / totals[1].clamp(min=1)).sqrt()


def global_count(valid):
    """The valid cells of every rank's minibatch divided by the world size: each rank divides its loss sum by it,
    so the mean of the ranks' gradients is the gradient of the mean loss over all cells, also when the ranks'
    minibatches hold different numbers of valid cells."""
    total = valid.sum().reshape(1)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return (total[0] / world_size()).clamp(min=1)


def broadcast_object(value):
    """Rank 0's `value` on every rank (any picklable object)."""
    if not active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def broadcast_module(module):
    """Copy rank 0's parameters and buffers into every rank's `module`, in place (views stay views)."""
    if not active():
        return
    for tensor in module.state_dict().values():
        dist.broadcast(tensor, src=0)


def average_gradients(trainer):
    """Every rank's gradients replaced by their mean over the ranks: one collective over the flat gradient buffer
    (plain Adam), or one per parameter (Muon). Each rank's loss is the mean over its own minibatch, so with equal
    minibatches the mean of the gradients is the gradient of the mean loss over all of them."""
    size = dist.get_world_size()
    if trainer.flat is not None:
        grads = [trainer.flat.grad]
    else:
        grads = []
        for p in trainer.policy.parameters():
            if p.grad is None:  # unused on this rank's minibatch: it must still take part in the collective
                p.grad = torch.zeros_like(p)
            grads.append(p.grad)
    for grad in grads:
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        grad.div_(size)


def max_over_ranks(value):
    """The largest of every rank's integer `value` (one collective)."""
    values = torch.tensor([int(value)], dtype=torch.int64, device=collective_device())
    dist.all_reduce(values, op=dist.ReduceOp.MAX)
    return int(values.item())


def average_weighted_gradients(parameters, rows, *values):
    """For the intrinsic reward signals' own optimizers (pufferlib.rewards): each rank's gradients of its mean loss
    over its `rows` rows (a number or a 0-d tensor, possibly 0) replaced by the mean over every rank's rows, which is
    the gradient of the mean loss over all of them, in one collective. A parameter without a gradient (a rank with
    no rows) counts as zero. `values` (floats or 0-d tensors) come back as the same row-weighted means over the
    ranks, as a float64 tensor."""
    parameters = [p for p in parameters if p.requires_grad]
    device = parameters[0].device
    for p in parameters:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    rows = torch.as_tensor(rows, dtype=torch.float64, device=device).reshape(1)
    extra = torch.cat([rows] + [torch.as_tensor(v, dtype=torch.float64, device=device).reshape(1) * rows
                                for v in values])
    flat = torch.cat([p.grad.reshape(-1).double() * rows for p in parameters] + [extra])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    summed = flat[-len(extra):]
    total = summed[0].clamp(min=1)
    start = 0
    for p in parameters:
        p.grad.copy_((flat[start:start + p.numel()] / total).view_as(p))
        start += p.numel()
    return summed[1:] / total


def decided_by_rank0(*flags):
    """Rank 0's booleans on every rank, in one collective: what follows rank 0's clock (the time budget, a
    checkpoint every train.checkpoint_seconds) must be decided alike by all ranks, as they differ in time."""
    values = torch.tensor([int(bool(flag)) if is_main() else 0 for flag in flags], dtype=torch.int64,
                          device=collective_device())
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return [bool(value) for value in values.tolist()]


# What each rank keeps of its own in a checkpoint: its envs and what follows from its envs' episodes (the recurrent
# state of its agent rows, its self-play ratings and returns, the running intrinsic return of each of its segment
# rows; the reward signals' networks in there are the same on every rank). Everything else in a checkpoint is the
# same on every rank.
RANK_KEYS = ('envs', 'recurrent_state', 'selfplay', 'reward_signals')


def gather_rank_states(state):
    """Collective at every checkpoint: rank 0's checkpoint `state` gains 'ranks', the own part (RANK_KEYS) of
    ranks 1..N-1 in order, so that a resumed run puts every rank's envs back where they were."""
    own = on_cpu({key: state[key] for key in RANK_KEYS if key in state})
    parts = [None] * world_size() if is_main() else None
    dist.gather_object(own, parts, dst=0)
    if is_main():
        state['ranks'] = parts[1:]


def on_cpu(value):
    """`value` with every tensor inside its dicts, lists and tuples on the CPU (object collectives pickle them, and
    a CUDA tensor would unpickle onto the sender's device), containers kept as they are (an optimizer's betas)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return type(value)((key, on_cpu(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        items = [on_cpu(item) for item in value]
        return type(value)(*items) if hasattr(value, '_fields') else type(value)(items)
    return value


def scatter_rank_states(state):
    """Collective on resume: rank 0 passes the checkpoint it read, every rank gets its own part (RANK_KEYS) of it:
    rank 0 its own, rank r the r-th saved one. A rank the checkpoint has no part for (it was written by fewer ranks,
    or before ranks saved their envs) gets no envs, which then restart from the checkpoint's epoch seed, and keeps
    rank 0's self-play and reward-signal state."""
    parts = None
    if is_main():
        saved = state.get('ranks') if isinstance(state.get('ranks'), list) else []
        parts = [{key: state.get(key) for key in RANK_KEYS if key in state}]
        for index in range(1, world_size()):
            part = saved[index - 1] if index - 1 < len(saved) and isinstance(saved[index - 1], dict) else None
            parts.append(part if part is not None else dict(parts[0], envs=None, recurrent_state=None))
    box = [None]
    dist.scatter_object_list(box, on_cpu(parts) if parts is not None else None, src=0)
    return box[0]


def agree(steps, stop):
    """The epoch's agreement, one collective: the agent steps of every rank summed, and whether to stop (a signal
    on any rank, or the budget as rank 0 sees it: ranks' clocks differ, so train_seconds must not be read on each)."""
    values = torch.tensor([steps, int(bool(stop))], dtype=torch.int64, device=collective_device())
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    values = values.tolist()
    return values[0], bool(values[1])


def gather_stats(trainer):
    """Merge every rank's episode statistics of this epoch into rank 0's trainer, so its row is the mean over all
    of them; the losses are averaged over the ranks."""
    parts = [None] * dist.get_world_size()
    dist.all_gather_object(parts, (dict(trainer.stat_sums), dict(trainer.stat_counts)))
    if not is_main():
        return
    trainer.stat_sums.clear()
    trainer.stat_counts.clear()
    for sums, counts in parts:
        for key, value in sums.items():
            trainer.stat_sums[key] += value
            trainer.stat_counts[key] += counts[key]


def average_losses(losses):
    names = sorted(losses)
    values = torch.tensor([float(losses[name]) for name in names], dtype=torch.float64, device=collective_device())
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return dict(zip(names, (values / dist.get_world_size()).tolist()))


def check_identical(module):
    """Raise when the ranks' weights differ (they must stay identical: a difference means a rank updated on its own)."""
    with torch.no_grad():
        total = torch.stack([t.detach().double().sum() for t in module.state_dict().values()
                             if t.is_floating_point()]).sum().reshape(1)
    totals = [torch.zeros_like(total) for _ in range(dist.get_world_size())]
    dist.all_gather(totals, total)
    if any(not torch.equal(other, totals[0]) for other in totals):
        raise RuntimeError(f'the ranks\' weights differ (checksums {[float(t) for t in totals]}): training is no '
                           'longer data-parallel')


def relaunch(argv, nproc):
    """Run `puffer <argv>` as `nproc` ranks on this machine under torchrun; returns its exit code."""
    command = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', str(nproc),
               '-m', 'pufferlib.cli', *argv]
    return subprocess.call(command)
