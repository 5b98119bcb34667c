"""V-trace-clipped GAE over [segments, bptt_horizon] rollout buffers (docs/architecture.md §6.2).

Step t of a segment holds observation o_t, its value V_t, the importance ratio r_t of the action taken there, and
the reward / terminal / truncation that arrived together with o_t. With rho_t = min(r_t, rho_clip),
c_t = min(r_t, c_clip) and n_t = 1 - done_{t+1}:
    delta_t = rho_t (R_{t+1} + gamma V'_{t+1} - V_t),   A_t = delta_t + gamma lambda c_t n_t A_{t+1}
where V'_{t+1} is 0 after a terminal, V_t after a truncation (the episode was cut, not ended: bootstrap from the
value of its last observation) and V_{t+1} otherwise. With r = 1 this is exactly GAE (Schulman et al. 2016); the
clipped ratios are V-trace's (Espeholt et al. 2018). The last step of each segment has no successor and gets 0.

Two implementations: the native kernel `pufferlib._advantage` (CPU tensors) and a vectorized torch loop over time
(any device, e.g. CUDA, no compiler needed at install time). `compute_advantages` picks one by device.
"""
import torch

try:
    from pufferlib import _advantage
except ImportError:  # not built (e.g. a source checkout before `setup.py build_ext`): the torch path still works
    _advantage = None

BUFFER_NAMES = ('values', 'rewards', 'terminals', 'truncations', 'ratio')


def backend_for(device):
    """'native' where the C kernel serves this device, else 'torch'."""
    return 'native' if _advantage is not None and torch.device(device).type == 'cpu' else 'torch'


def compute_advantages(values, rewards, terminals, truncations, ratio, gamma, gae_lambda, rho_clip, c_clip,
                       backend=None):
    """Advantages [segments, horizon] (float32, on the inputs' device) from float32 buffers of the same shape."""
    backend = backend or backend_for(values.device)
    if backend == 'native':
        return _native(values, rewards, terminals, truncations, ratio, gamma, gae_lambda, rho_clip, c_clip)
    if backend == 'torch':
        return _torch(values, rewards, terminals, truncations, ratio, gamma, gae_lambda, rho_clip, c_clip)
    raise ValueError(f'unknown advantage backend {backend!r}; valid: native, torch')


def _native(values, rewards, terminals, truncations, ratio, gamma, gae_lambda, rho_clip, c_clip):
    if _advantage is None:
        raise ImportError('pufferlib._advantage is not built; run `python setup.py build_ext --inplace`')
    segments, horizon = values.shape
    buffers = [b.detach().float().contiguous() for b in (values, rewards, terminals, truncations, ratio)]
    advantages = torch.empty(segments, horizon, dtype=torch.float32)
    _advantage.compute(*(b.numpy() for b in buffers), advantages.numpy(), segments, horizon,
                       gamma, gae_lambda, rho_clip, c_clip)
    return advantages


def _torch(values, rewards, terminals, truncations, ratio, gamma, gae_lambda, rho_clip, c_clip):
    values, rewards, ratio = (b.detach().float() for b in (values, rewards, ratio))
    terminal, truncated = terminals.detach().bool(), truncations.detach().bool()
    # Everything except the backward recursion is computed for all steps at once.
    rho = ratio[:, :-1].clamp(max=rho_clip)
    trace = gamma * gae_lambda * ratio[:, :-1].clamp(max=c_clip) * ~(terminal[:, 1:] | truncated[:, 1:])
    next_value = torch.where(truncated[:, 1:], values[:, :-1], values[:, 1:]) * ~terminal[:, 1:]
    delta = rho * (rewards[:, 1:] + gamma * next_value - values[:, :-1])
    advantages = torch.zeros_like(values)
    running = torch.zeros_like(values[:, 0])
    for t in range(values.shape[1] - 2, -1, -1):
        running = delta[:, t] + trace[:, t] * running
        advantages[:, t] = running
    return advantages
