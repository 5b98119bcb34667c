"""Optimizer and compiler plumbing for the trainer: how its updates are made fast, kept apart from what they compute.

- make_optimizers: Adam (over one flat buffer, see FlatParameters) or Muon for the weight matrices plus Adam.
- FlatParameters: every parameter and gradient as views into one buffer each, so clipping and the Adam step are a
  handful of ops instead of a dozen per tensor. Bit-identical to torch's own clip_grad_norm_ and Adam.step().
- compile_options: torch.compile's inductor options for train.compile_mode, with inductor's C++ wrapper on the CPU.

None of this changes a single bit of the results; each shortcut is checked against torch's plain path in
tests/test_trainer.py and timed by a bench (`python -m bench.optimizer_step`, `python -m bench.cpp_wrapper`).
"""
import numpy as np
import torch

from pufferlib.exceptions import APIUsageError, ConfigError

# Compiled code for the CPU gets a C++ wrapper (see compile_options); bench.cpp_wrapper turns it off to compare.
CPP_WRAPPER_ON_CPU = True


def compile_options(mode, device):
    """torch.compile's inductor options for train.compile_mode (what `mode=` would set), plus, on the CPU, inductor's
    C++ wrapper: the glue around the kernels (checking inputs, allocating buffers, calling each kernel) runs as
    compiled C++ instead of generated Python. The kernels are the same ones, so results are bit-identical; see
    `python -m bench.cpp_wrapper` for what it gains. Not on CUDA, where it is untested here."""
    import torch._inductor
    options = dict(torch._inductor.list_mode_options(mode))
    if CPP_WRAPPER_ON_CPU and torch.device(device).type == 'cpu':
        options['cpp_wrapper'] = True
    return options


def make_optimizers(policy, t):
    """Adam for everything, or Muon for the weight matrices and Adam for the rest (biases, log-std, conv kernels).
    Returns (optimizers, flat): with plain Adam, `flat` holds every parameter and gradient in one buffer each."""
    # fused: one kernel updates every parameter, instead of a dozen small ops per parameter.
    adam = dict(lr=t['learning_rate'], betas=(t['adam_beta1'], t['adam_beta2']), eps=t['adam_eps'], fused=True)
    parameters = list(policy.parameters())
    if t['optimizer'] == 'adam':
        flat = FlatParameters(parameters)
        return [torch.optim.Adam([flat.parameter], **adam)], flat
    if t['optimizer'] == 'muon':
        matrices = [p for p in parameters if p.ndim == 2]
        others = [p for p in parameters if p.ndim != 2]
        # match_rms_adamw scales Muon's update like Adam's, so one learning rate serves both.
        optimizers = [torch.optim.Muon(matrices, lr=t['learning_rate'], momentum=t['adam_beta1'], weight_decay=0.0,
                                       adjust_lr_fn='match_rms_adamw')]
        return optimizers + ([torch.optim.Adam(others, **adam)] if others else []), None
    raise ConfigError(f'train.optimizer = {t["optimizer"]!r} is not an optimizer; valid: adam, muon')


class FlatParameters:
    """Every parameter of a policy as a view into one buffer, and its gradient as a view into another.

    A small policy's Adam step and gradient clipping are mostly per-tensor Python overhead, more than the
    arithmetic (`python -m bench.optimizer_step` times both ways): over one buffer each is a handful of ops.
    Backward adds into the gradient views in place, so the buffer sees every gradient; the optimizer updates
    `parameter` (the whole buffer), so every module sees the new weights. Gradients are zeroed, never set to None,
    which would detach them from the buffer."""

    ALIGN = 16  # elements: each view starts 64-byte aligned, as vectorized kernels prefer

    def __init__(self, parameters):
        self.parameters = list(parameters)
        offsets, total = [], 0
        for p in self.parameters:
            offsets.append(total)
            total += -(-p.numel() // self.ALIGN) * self.ALIGN
        first = self.parameters[0]
        if any(p.dtype != first.dtype or p.device != first.device for p in self.parameters):
            raise ConfigError('train.optimizer = adam: every policy parameter must share one dtype and device')
        data = torch.zeros(total, dtype=first.dtype, device=first.device)
        self.grad = torch.zeros_like(data)
        for p, offset in zip(self.parameters, offsets):
            view = slice(offset, offset + p.numel())
            data[view].copy_(p.detach().reshape(-1))
            p.data = data[view].view_as(p)
            p.grad = self.grad[view].view_as(p)
        self.parameter = torch.nn.Parameter(data)
        self.parameter.grad = self.grad

    def zero_grad(self):
        self.grad.zero_()

    def clip_grad_norm(self, max_norm):
        """torch.nn.utils.clip_grad_norm_'s scaling (max_norm / (norm + 1e-6), at most 1) over the one buffer.

        The scale is worked out on the host in float32, in the order torch's tensor ops round it (1 / (norm +
        1e-6), times max_norm), so the gradients come out bit-identical, for one op on the buffer instead of five
        (each a dispatch costing more than its arithmetic on a small policy)."""
        norm = np.float32(torch.linalg.vector_norm(self.grad).item())
        scale = np.float32(1.0) / (norm + np.float32(1e-6)) * np.float32(max_norm)
        if scale < 1:  # clamp(max=1): multiplying by exactly 1 would change nothing
            self.grad.mul_(float(scale))
        return float(norm)

    def adam_step(self, adam):
        """`adam.step()` (a fused torch.optim.Adam over `parameter`) without its per-call bookkeeping, which on the
        CPU costs more than the kernel itself (`python -m bench.optimizer_step`). The same kernel with the same
        arguments as Adam's own fused path, so the weights and the optimizer state (which checkpoints save) are
        bit-identical; the first step goes through Adam to create that state."""
        state = adam.state.get(self.parameter)
        group = adam.param_groups[0]
        if not state or group['amsgrad'] or group['maximize'] or group['decoupled_weight_decay']:
            adam.step()
            return
        beta1, beta2 = group['betas']
        state['step'].add_(1)
        # torch's private fused-Adam op, the one Adam.step() calls for fused=True.
        torch._fused_adam_([self.parameter], [self.grad], [state['exp_avg']], [state['exp_avg_sq']], [],
                           [state['step']], amsgrad=False, lr=group['lr'], beta1=beta1, beta2=beta2,
                           weight_decay=group['weight_decay'], eps=group['eps'], maximize=False, grad_scale=None,
                           found_inf=None)

    def check_views(self):
        """Something that replaced a parameter or gradient tensor (module.to(), zero_grad(set_to_none=True))
        would silently stop training it: fail loudly instead."""
        start, end = self.grad.data_ptr(), self.grad.data_ptr() + self.grad.numel() * self.grad.element_size()
        for p in self.parameters:
            if p.grad is None or not start <= p.grad.data_ptr() < end:
                raise APIUsageError('a policy parameter\'s gradient is no longer a view of the trainer\'s gradient '
                                    'buffer (was zero_grad(set_to_none=True) or .to() called on the policy?)')
