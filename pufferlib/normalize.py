"""Running statistics for normalization (train.obs_norm, train.return_norm; docs/training.md).

RunningMeanStd keeps the count, mean and variance of everything it has seen, per feature, as float64 buffers, so a
module that holds one carries its statistics in its state_dict: checkpoints, model.pt, `puffer eval` and the ONNX
export all get them with the weights. Updating is explicit (`update`); the forward pass only reads them.
"""
import torch
from torch import nn

EPSILON = 1e-8  # added to the variance before the square root: a constant feature maps to 0, not to inf


class RunningMeanStd(nn.Module):
    """Mean and variance of a stream of [N, *shape] batches, per feature; forward normalizes and clips to
    [-clip, clip] (0: no clipping). Before any update the mean is 0 and the variance 1, so forward is the identity
    up to clipping."""

    def __init__(self, shape=(), clip=0.0):
        super().__init__()
        self.shape = tuple(shape)
        self.clip = float(clip)
        self.register_buffer('count', torch.zeros((), dtype=torch.float64))
        self.register_buffer('mean', torch.zeros(self.shape, dtype=torch.float64))
        self.register_buffer('var', torch.ones(self.shape, dtype=torch.float64))

    @torch.no_grad()
    def update(self, batch, weights=None, across_ranks=False):
        """Fold a batch [N, *shape] into the statistics; rows with weight 0 (`weights` [N] of 0/1) are left out.
        `across_ranks` (data-parallel training, every rank calling alike): the batch is every rank's batch together
        (two all_reduces), so that every rank keeps the same statistics and normalizes alike.

        Chan, Golub & LeVeque's parallel combination of two (count, mean, M2) summaries, so batches of any size
        give the statistics of their concatenation."""
        batch = batch.detach().reshape(-1, *self.shape).to(self.mean.device, torch.float64)
        if weights is not None:
            batch = batch[weights.reshape(-1).to(batch.device) > 0]
        if across_ranks:
            n, batch_mean, batch_m2 = global_summary(batch)
        else:
            n = batch.shape[0]
            if n == 0:
                return
            batch_mean = batch.mean(0)
            batch_m2 = ((batch - batch_mean) ** 2).sum(0)
        if n == 0:
            return
        total = self.count + n
        delta = batch_mean - self.mean
        m2 = self.var * self.count + batch_m2 + delta ** 2 * self.count * n / total
        # In place: compiled code that reads these buffers keeps seeing the same tensors.
        self.mean.add_(delta * n / total)
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def std(self):
        return (self.var + EPSILON).sqrt()

    def forward(self, x):
        normalized = (x - self.mean.to(x.dtype)) / self.std().to(x.dtype)
        return normalized.clamp(-self.clip, self.clip) if self.clip > 0 else normalized

    def extra_repr(self):
        return f'shape={self.shape}, clip={self.clip}'


def global_summary(batch):
    """(count, mean, M2) of every rank's rows of `batch` together: the sums, then the squares about the global mean."""
    import torch.distributed as dist
    count = torch.tensor([batch.shape[0]], dtype=torch.float64, device=batch.device)
    totals = torch.cat([count, batch.sum(0).reshape(-1)])
    dist.all_reduce(totals, op=dist.ReduceOp.SUM)
    n = int(totals[0].item())
    mean = (totals[1:] / max(n, 1)).reshape(batch.shape[1:])
    m2 = ((batch - mean) ** 2).sum(0).reshape(-1)
    dist.all_reduce(m2, op=dist.ReduceOp.SUM)
    return n, mean, m2.reshape(batch.shape[1:])
