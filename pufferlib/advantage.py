"""V-trace-clipped GAE over [segments, bptt_horizon] rollout buffers (docs/architecture.md §6.2).

Step t of a segment holds observation o_t, its value V_t, the importance ratio r_t of the action taken there, and
the reward / terminal / truncation that arrived together with o_t. With rho_t = min(r_t, rho_clip),
c_t = min(r_t, c_clip) and n_t = 1 - done_{t+1}:
    delta_t = rho_t (R_{t+1} + gamma V'_{t+1} - V_t),   A_t = delta_t + gamma lambda c_t n_t A_{t+1}
where V'_{t+1} is 0 after a terminal, V_t after a truncation (the episode was cut, not ended: bootstrap from the
value of its last observation) and V_{t+1} otherwise. With r = 1 this is exactly GAE (Schulman et al. 2016); the
clipped ratios are V-trace's (Espeholt et al. 2018). The last step of each segment has no successor and gets 0.

With `masks`, a step whose mask is 0 (the row did not act: it waits for its turn in a board game, or has no agent)
is passed through: its value is never trained, so nothing bootstraps from it. There rho = c = 1, and the trace into
it uses lambda = 1, which cancels its value: the move before it is scored over both steps as one transition,
A_{t-1} = R_t + gamma R_{t+1} + gamma^2 V_{t+1} - V_{t-1} + gamma^2 lambda c A_{t+1}. With every mask 1 (or no masks)
the result is the recursion above, bit for bit.

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
                       backend=None, masks=None):
    """Advantages [segments, horizon] (float32, on the inputs' device) from float32 buffers of the same shape;
    `masks` (optional, same shape) marks the steps the row acted on."""
    backend = backend or backend_for(values.device)
    if backend == 'native':
        return _native(values, rewards, terminals, truncations, ratio, gamma, gae_lambda, rho_clip, c_clip, masks)
    if backend == 'torch':
        return _torch(values, rewards, terminals, truncations, ratio, gamma, gae_lambda, rho_clip, c_clip, masks)
    raise ValueError(f'unknown advantage backend {backend!r}; valid: native, torch')


def scored_steps(masks, terminals, truncations):
    """[segments, horizon] float: 1 where a step takes part in the losses. Only a step the row acted on, and only
    when its transition closes inside the segment: some later step is either one the row acts on (its value is
    trained, so the advantage may bootstrap from it) or an episode's end. So never the segment's last step, and in a
    turn-based row never a move followed only by waiting steps, whose values are never trained."""
    closes = ((masks > 0) | (terminals > 0) | (truncations > 0)).float()
    closes_at_or_after = closes.flip(1).cumsum(1).flip(1)
    closes_later = torch.zeros_like(closes)
    closes_later[:, :-1] = (closes_at_or_after[:, 1:] > 0).float()
    return masks * closes_later


def _native(values, rewards, terminals, truncations, ratio, gamma, gae_lambda, rho_clip, c_clip, masks=None):
    if _advantage is None:
        raise ImportError('pufferlib._advantage is not built; run `python setup.py build_ext --inplace`')
    segments, horizon = values.shape
    buffers = [b.detach().float().contiguous() for b in (values, rewards, terminals, truncations, ratio)]
    advantages = torch.empty(segments, horizon, dtype=torch.float32)
    masks = None if masks is None else masks.detach().float().contiguous().numpy()
    _advantage.compute(*(b.numpy() for b in buffers), advantages.numpy(), segments, horizon,
                       gamma, gae_lambda, rho_clip, c_clip, masks)
    return advantages


def _torch(values, rewards, terminals, truncations, ratio, gamma, gae_lambda, rho_clip, c_clip, masks=None):
    values, rewards, ratio = (b.detach().float() for b in (values, rewards, ratio))
    terminal, truncated = terminals.detach().bool(), truncations.detach().bool()
    # Everything except the backward recursion is computed for all steps at once.
    rho = ratio[:, :-1].clamp(max=rho_clip)
    c = ratio[:, :-1].clamp(max=c_clip)
    if masks is None:
        trace = gamma * gae_lambda * c * ~(terminal[:, 1:] | truncated[:, 1:])
    else:  # masked steps are passed through (see the module's docstring)
        acted = masks.detach() > 0
        rho = torch.where(acted[:, :-1], rho, torch.ones_like(rho))
        c = torch.where(acted[:, :-1], c, torch.ones_like(c))
        discount = torch.where(acted[:, 1:], torch.full_like(c, gamma * gae_lambda), torch.full_like(c, gamma))
        trace = discount * c * ~(terminal[:, 1:] | truncated[:, 1:])
    next_value = torch.where(truncated[:, 1:], values[:, :-1], values[:, 1:]) * ~terminal[:, 1:]
    delta = rho * (rewards[:, 1:] + gamma * next_value - values[:, :-1])
    advantages = torch.zeros_like(values)
    running = torch.zeros_like(values[:, 0])
    for t in range(values.shape[1] - 2, -1, -1):
        running = delta[:, t] + trace[:, t] * running
        advantages[:, t] = running
    return advantages
