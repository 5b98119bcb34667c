"""Pinned staging of the trainer's per-step copies (pufferlib.staging, docs/training.md "GPU").

What is tested:
- the packing itself: every array of a step, of any dtype and shape, comes out of one packed copy exactly as it
  went in, each at an aligned offset; the buffer grows when a larger step comes; `to_host` hands out memory of
  its own, which the next copy does not overwrite.
- through the trainer: rollouts collected through the staging hold exactly the buffers the plain path fills
  (observations, actions, log-probabilities, values, rewards, flags, legal-action masks, recurrent state), and
  asynchronous (index) targets are the same index tensors. On the CPU the staging runs unpinned
  (forced on: the trainer never stages on the CPU); with CUDA present the same comparison runs on the GPU, pinned.
"""
import numpy as np
import pytest
import torch

from pufferlib import config as puffer_config
from pufferlib import models, trainer, vector
from pufferlib.staging import ALIGN, StepStaging, packed_layout

DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.skipif(not torch.cuda.is_available(), reason='no GPU'))]
BUFFERS = ('observations', 'actions', 'logprobs', 'values', 'rewards', 'terminals', 'truncations', 'masks',
           'action_masks')


def step_arrays(rows, seed):
    random = np.random.default_rng(seed)
    return (random.integers(0, 255, (rows, 3, 5, 7), dtype=np.uint8),   # image observations, odd sizes
            random.standard_normal(rows).astype(np.float32),         # rewards
            random.random(rows) < 0.3,                                # terminals
            None,                                                     # absent (no action masks)
            random.random((rows, 9)) < 0.5,                           # legal-action masks
            random.integers(-2**40, 2**40, rows),                     # int64 segment indices
            random.standard_normal((rows, 2)))                        # float64


def test_packed_arrays_come_out_exactly_as_they_went_in():
    staging = StepStaging('cpu', pin=False)
    for rows in (5, 3, 64, 0):  # a larger step grows the buffer; a step of no rows is fine too
        arrays = step_arrays(rows, rows)
        offsets, size = packed_layout(arrays)
        assert all(offset % ALIGN == 0 for offset in offsets if offset is not None) and size % ALIGN == 0
        staged = staging.to_device(*arrays)
        assert staged[3] is None
        for array, tensor in zip(arrays, staged):
            if array is not None:
                assert tensor.dtype == torch.from_numpy(array).dtype and tuple(tensor.shape) == array.shape
                assert np.array_equal(tensor.numpy(), array)
        assert staging.host['step'].numel() >= size


def test_to_host_returns_memory_of_its_own():
    staging = StepStaging('cpu', pin=False)
    first = staging.to_host(torch.arange(12, dtype=torch.int32).view(6, 2))
    second = staging.to_host(torch.full((6, 2), 7, dtype=torch.int32))
    assert first.tolist() == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]
    assert (second == 7).all() and first.data_ptr() != staging.host['down'].data_ptr()


def test_the_trainer_stages_only_on_cuda(tmp_path):
    vecenv, learner = build(connect4_config(tmp_path, 'cpu'))
    assert learner.staging is None  # the CPU path pays nothing for it
    vecenv.close()


def connect4_config(tmp_path, device):
    """puffer_connect4 (legal-action masks): 32 agent rows filling 64 segments, two each per rollout."""
    return puffer_config.load('puffer_connect4', overrides={
        'env': {'num_envs': 32, 'log_interval': 16},
        'train': dict(total_timesteps=10**6, bptt_horizon=16, batch_size=64 * 16, minibatch_size=256, seed=1,
                      compile=False, device=device, data_dir=str(tmp_path), checkpoint_interval=1000)})


def memory_config(tmp_path, device):
    """puffer_memory with its LSTM: the recurrent state and segment starts go through the staged flags too."""
    return puffer_config.load('puffer_memory', overrides={
        'env': {'num_envs': 32, 'log_interval': 4},
        'train': dict(total_timesteps=10**6, bptt_horizon=8, minibatch_size=128, max_minibatch_size=128, seed=1,
                      compile=False, device=device, data_dir=str(tmp_path), checkpoint_interval=1000)})


def build(config):
    torch.manual_seed(config['train']['seed'])
    vecenv = vector.make_from_config(config)
    base = config['base']
    policy = models.make_policy(vecenv.driver_env, base['policy_name'], base['rnn_name'], config['policy'],
                                config['rnn'], config['train'])
    return vecenv, trainer.Trainer(config, vecenv, policy)


def collected(config, staged):
    """The rollout buffers after three rollouts, through the staging or the plain path."""
    vecenv, learner = build(config)
    if learner.device.type == 'cpu' and staged:
        learner.staging = StepStaging('cpu', pin=False)
    if not staged:
        learner.staging = None
    learner.reset_envs(0)
    for _ in range(3):
        learner.collect()
    vecenv.close()
    if staged:  # it did go through the staging: each step's upload and its actions' way back
        assert {'step', 'down'} <= set(learner.staging.host)
    buffers = {name: getattr(learner, name) for name in BUFFERS if getattr(learner, name) is not None}
    if learner.recurrent:
        buffers.update({f'state{i}': tensor for i, tensor in enumerate(learner.state)})
        buffers.update({f'segment_state{i}': tensor for i, tensor in enumerate(learner.segment_state)})
    return {name: tensor.detach().cpu().clone() for name, tensor in buffers.items()}, learner.global_step


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('make_config', [connect4_config, memory_config], ids=['action_masks', 'lstm'])
def test_staged_rollouts_fill_the_buffers_the_plain_path_fills(tmp_path, device, make_config):
    plain, plain_steps = collected(make_config(tmp_path, device), staged=False)
    staged, staged_steps = collected(make_config(tmp_path, device), staged=True)
    assert staged_steps == plain_steps > 0 and plain.keys() == staged.keys()
    for name in plain:
        assert torch.equal(plain[name], staged[name]), name
    assert plain['rewards'].abs().sum() > 0 and plain['terminals'].sum() > 0  # episodes ended, rewards came
    if 'action_masks' in plain:
        assert not plain['action_masks'].all()  # some moves were illegal


@pytest.mark.parametrize('device', DEVICES)
def test_asynchronous_targets_go_through_their_own_slot(tmp_path, device):
    """Rows that are not consecutive segments at one step (an asynchronous vector's batches) index the buffers
    with index tensors: staged, they are the plain path's."""
    vecenv, learner = build(connect4_config(tmp_path, device))
    segment, step = np.array([5, 2, 9, 3]), np.array([1, 1, 4, 0])
    learner.staging = None
    plain = learner.buffer_target(segment, step)
    learner.staging = StepStaging(device, pin=device != 'cpu')
    staged = learner.buffer_target(segment, step)
    vecenv.close()
    assert 'index' in learner.staging.host
    for a, b in zip(plain, staged):
        assert a.device == b.device and torch.equal(a, b)
