"""The advantage kernels (native C, vectorized torch) against a plain reference written straight from
docs/architecture.md §6.2."""
import numpy as np
import pytest
import torch

from pufferlib import advantage


def reference(values, rewards, terminals, truncations, ratio, gamma, lam, rho_clip, c_clip, masks=None):
    """Scalar loops in float64, one segment and one step at a time. A step with mask 0 passes through: ratio 1 there,
    and lambda 1 on the trace into it."""
    segments, horizon = values.shape
    out = np.zeros((segments, horizon))
    masks = np.ones_like(values) if masks is None else masks
    for s in range(segments):
        running = 0.0
        for t in reversed(range(horizon - 1)):
            if terminals[s, t + 1]:
                next_value, done = 0.0, True
            elif truncations[s, t + 1]:
                next_value, done = values[s, t], True  # bootstrap from the last observation of the cut episode
            else:
                next_value, done = values[s, t + 1], False
            rho = min(ratio[s, t], rho_clip) if masks[s, t] else 1.0
            c = min(ratio[s, t], c_clip) if masks[s, t] else 1.0
            trace_lambda = lam if masks[s, t + 1] else 1.0
            delta = rho * (rewards[s, t + 1] + gamma * next_value - values[s, t])
            running = delta + gamma * trace_lambda * c * (0.0 if done else 1.0) * running
            out[s, t] = running
    return out


def random_rollout(seed, segments=37, horizon=23):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(segments, horizon)).astype(np.float32)
    rewards = rng.normal(size=(segments, horizon)).astype(np.float32)
    terminals = (rng.random((segments, horizon)) < 0.1).astype(np.float32)
    truncations = ((rng.random((segments, horizon)) < 0.05) & (terminals == 0)).astype(np.float32)
    truncations[0, 5] = terminals[0, 5] = 1  # both at once: the terminal wins
    ratio = rng.uniform(0.3, 2.5, size=(segments, horizon)).astype(np.float32)
    return values, rewards, terminals, truncations, ratio


BACKENDS = ['native', 'torch']
SETTINGS = [(0.99, 0.95, 1.0, 1.0), (0.9, 0.8, 0.7, 1.3), (0.995, 0.9, 2.0, 0.5), (1.0, 1.0, 1e9, 1e9)]


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('settings', SETTINGS)
@pytest.mark.parametrize('seed', range(3))
def test_matches_reference_on_cpu(backend, settings, seed):
    arrays = random_rollout(seed)
    expected = reference(*arrays, *settings)
    got = advantage.compute_advantages(*(torch.from_numpy(a) for a in arrays), *settings, backend=backend)
    assert got.dtype == torch.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('settings', SETTINGS)
def test_masked_steps_match_reference(backend, settings):
    arrays = random_rollout(5)
    masks = (np.random.default_rng(5).random(arrays[0].shape) < 0.6).astype(np.float32)
    expected = reference(*arrays, *settings, masks=masks)
    got = advantage.compute_advantages(*(torch.from_numpy(a) for a in arrays), *settings, backend=backend,
                                       masks=torch.from_numpy(masks))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('backend', BACKENDS)
def test_all_ones_masks_change_nothing(backend):
    """Every step acted: the result is the unmasked one bit for bit (the fingerprint of every plain run)."""
    arrays = [torch.from_numpy(a) for a in random_rollout(9, segments=64, horizon=32)]
    for settings in SETTINGS:
        plain = advantage.compute_advantages(*arrays, *settings, backend=backend)
        masked = advantage.compute_advantages(*arrays, *settings, backend=backend, masks=torch.ones_like(arrays[0]))
        assert torch.equal(plain, masked)


@pytest.mark.parametrize('backend', BACKENDS)
def test_turn_based_rows_skip_the_waiting_steps(backend):
    """A board-game row acts on every other step. Its advantages must not depend on the (never trained) values of
    the waiting steps, and must equal GAE over its own moves with each move-to-move transition discounted by
    gamma^2 and paying the rewards of both steps."""
    rng = np.random.default_rng(3)
    horizon, gamma, lam = 41, 0.9, 0.8  # moves at the even steps, the segment's first and last step among them
    values = rng.normal(size=(1, horizon)).astype(np.float32)
    rewards = rng.normal(size=(1, horizon)).astype(np.float32)
    zeros, ones = np.zeros_like(values), np.ones_like(values)
    ratio = rng.uniform(0.5, 1.5, size=(1, horizon)).astype(np.float32)
    masks = (np.arange(horizon) % 2 == 0)[None].astype(np.float32)
    run = lambda v: advantage.compute_advantages(  # noqa: E731
        *(torch.from_numpy(a) for a in (v, rewards, zeros, zeros, ratio)), gamma, lam, 10.0, 10.0,
        backend=backend, masks=torch.from_numpy(masks)).numpy()
    got = run(values)
    noisy = values.copy()
    noisy[0, 1::2] = rng.normal(scale=100.0, size=horizon // 2)
    np.testing.assert_allclose(run(noisy)[0, ::2], got[0, ::2], rtol=1e-5, atol=1e-4)
    # GAE over the moves alone: transition k -> k + 1 pays R_{2k+1} + gamma R_{2k+2}, discounted gamma^2
    moves = values[0, ::2].astype(np.float64)
    paid = rewards[0, 1::2] + gamma * rewards[0, 2::2]
    expected, running = np.zeros(len(moves)), 0.0
    for k in reversed(range(len(moves) - 1)):
        delta = ratio[0, 2 * k] * (paid[k] + gamma ** 2 * moves[k + 1] - moves[k])
        running = delta + gamma ** 2 * lam * ratio[0, 2 * k] * running
        expected[k] = running
    np.testing.assert_allclose(got[0, ::2], expected, rtol=1e-4, atol=1e-4)


def test_ratio_one_is_plain_gae():
    """With on-policy data (ratio 1) and no truncations the result is textbook GAE."""
    values, rewards, terminals, _, _ = random_rollout(7, segments=4, horizon=50)
    gamma, lam = 0.99, 0.95
    ones, zeros = np.ones_like(values), np.zeros_like(values)
    gae = np.zeros_like(values, dtype=np.float64)
    for s in range(4):
        last = 0.0
        for t in reversed(range(49)):
            nonterminal = 1.0 - terminals[s, t + 1]
            delta = rewards[s, t + 1] + gamma * values[s, t + 1] * nonterminal - values[s, t]
            last = delta + gamma * lam * nonterminal * last
            gae[s, t] = last
    got = advantage.compute_advantages(*(torch.from_numpy(a) for a in (values, rewards, terminals, zeros, ones)),
                                       gamma, lam, 1.0, 1.0)
    np.testing.assert_allclose(got.numpy(), gae, rtol=1e-4, atol=1e-4)


def test_truncation_bootstraps_instead_of_ending():
    """A truncated step keeps the value of the last observation; a terminal one does not."""
    values = torch.tensor([[5.0, 7.0, 0.0]])
    rewards = torch.tensor([[0.0, 1.0, 0.0]])
    zeros, ones = torch.zeros(1, 3), torch.ones(1, 3)
    flag = torch.tensor([[0.0, 1.0, 0.0]])
    truncated = advantage.compute_advantages(values, rewards, zeros, flag, ones, 0.5, 1.0, 1.0, 1.0)
    terminal = advantage.compute_advantages(values, rewards, flag, zeros, ones, 0.5, 1.0, 1.0, 1.0)
    assert truncated[0, 0].item() == pytest.approx(1.0 + 0.5 * 5.0 - 5.0)
    assert terminal[0, 0].item() == pytest.approx(1.0 - 5.0)


def test_native_rejects_wrong_dtype_and_shape():
    if advantage._advantage is None:
        pytest.skip('native kernel not built')
    good = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match='float32'):
        advantage._advantage.compute(good.astype(np.float64), good, good, good, good, good.copy(), 2, 3,
                                     0.9, 0.9, 1.0, 1.0)
    with pytest.raises(ValueError, match='expected segments'):
        advantage._advantage.compute(good, good, good, good, good, good.copy(), 3, 3, 0.9, 0.9, 1.0, 1.0)


def test_native_kernel_is_used_on_cpu():
    assert advantage._advantage is not None, 'build it: python setup.py build_ext --inplace'
    assert advantage.backend_for('cpu') == 'native'


@pytest.mark.skipif(not torch.cuda.is_available(), reason='no GPU')
@pytest.mark.parametrize('settings', SETTINGS)
def test_gpu_path_matches_reference(settings):
    arrays = random_rollout(11, segments=512, horizon=64)
    expected = reference(*arrays, *settings)
    assert advantage.backend_for('cuda') == 'torch'
    got = advantage.compute_advantages(*(torch.from_numpy(a).cuda() for a in arrays), *settings)
    assert got.device.type == 'cuda'
    np.testing.assert_allclose(got.cpu().numpy(), expected, rtol=1e-4, atol=1e-4)


def test_scored_steps_leave_out_moves_whose_transition_does_not_close_in_the_segment():
    """A move followed only by waiting steps up to the segment's end would bootstrap from a waiting step's value,
    which is never trained: it takes no part in the losses. A later move or an episode end closes it."""
    masks = torch.tensor([[1, 0, 1, 0, 1, 0],     # the last move (step 4) is followed only by a waiting step
                          [1, 0, 1, 0, 1, 0],     # the same, but its game ends at step 5 (the opponent won)
                          [0, 1, 0, 1, 0, 1],     # the last step is a move: it has no successor
                          [1, 1, 1, 1, 1, 1]], dtype=torch.float32)   # every step acted: only the last is left out
    terminals = torch.zeros_like(masks)
    terminals[1, 5] = 1
    scored = advantage.scored_steps(masks, terminals, torch.zeros_like(masks))
    assert scored.tolist() == [[1, 0, 1, 0, 0, 0], [1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 0, 0], [1, 1, 1, 1, 1, 0]]
