"""Pinned staging of the trainer's per-step copies between the host and a CUDA device (docs/training.md, "GPU").

Every env step the trainer moves the observations, rewards, terminals, truncations, masks and (for envs that have
them) legal-action masks to the device, and the actions back. Straight from the vector's numpy arrays, which are
pageable, each is a copy of its own that the driver stages through pinned memory while the host waits: six or
seven small synchronous transfers a step. `StepStaging.to_device` copies all of a step's arrays (one host memcpy
each) into one preallocated pinned byte buffer, sends it up as one non_blocking copy and hands out dtype views into
the device copy; `to_host` brings a tensor down through a pinned buffer, the one wait a step needs (the envs must
have the actions). The trainer uses it only on CUDA; on the CPU the vector's arrays are used as they are and none
of this exists.
"""
from functools import lru_cache

import numpy as np
import torch

ALIGN = 16  # bytes: each array starts on a boundary that a view of any dtype accepts


@lru_cache(maxsize=None)
def torch_dtype(dtype):
    return torch.from_numpy(np.empty(0, dtype)).dtype


def packed_layout(arrays):
    """Byte offset of each array (None skipped) in one buffer, every one aligned to ALIGN, and the buffer's size."""
    offsets, size = [], 0
    for array in arrays:
        offsets.append(None if array is None else size)
        if array is not None:
            size += -(-array.nbytes // ALIGN) * ALIGN
    return offsets, size


class StepStaging:
    """Pinned host buffers, kept from step to step, through which the trainer's per-step copies go (module doc).
    `pin=False` stages through ordinary memory: the same packing, for tests on machines without CUDA."""

    def __init__(self, device, pin=True):
        self.device = torch.device(device)
        self.pin = pin
        self.cuda = self.device.type == 'cuda'
        self.host = {}   # slot -> pinned uint8 buffer
        self.done = {}   # slot -> event after the last copy from or into that buffer: it may be rewritten once passed

    def buffer(self, slot, size):
        """The slot's host buffer of at least `size` bytes, once the copy that last used it has finished (it
        normally has: each step ends with a wait for the actions)."""
        event = self.done.get(slot)
        if event is not None:
            event.synchronize()
        host = self.host.get(slot)
        if host is None or host.numel() < size:
            host = self.host[slot] = torch.empty(max(size, 1), dtype=torch.uint8, pin_memory=self.pin)
        return host

    def record(self, slot):
        if self.cuda:
            if slot not in self.done:
                self.done[slot] = torch.cuda.Event()
            self.done[slot].record(torch.cuda.current_stream(self.device))

    def to_device(self, *arrays, slot='step'):
        """Each numpy array (None stays None) as a tensor on the device, with its dtype and shape, all of them sent
        in one copy. The tensors are views into that copy, fresh device memory every call on CUDA (on the CPU, with
        pin=False, views of the host buffer, valid until the slot's next call). A second `slot` keeps a copy made
        while the first may still be in flight from waiting for it."""
        arrays = [None if array is None else np.asarray(array) for array in arrays]
        offsets, size = packed_layout(arrays)
        host = self.buffer(slot, size)
        staged = host.numpy()
        for array, offset in zip(arrays, offsets):
            if array is not None:
                view = staged[offset:offset + array.nbytes].view(array.dtype).reshape(array.shape)
                np.copyto(view, array, casting='no')
        packed = host[:size].to(self.device, non_blocking=True)
        self.record(slot)
        return tuple(None if array is None else
                     packed[offset:offset + array.nbytes].view(torch_dtype(array.dtype)).view(array.shape)
                     for array, offset in zip(arrays, offsets))

    def to_host(self, tensor, slot='down'):
        """A device tensor as a CPU tensor of its own (the envs may keep it), copied down through a pinned buffer;
        returns once the copy, and so everything queued before it, has finished."""
        size = tensor.numel() * tensor.element_size()
        host = self.buffer(slot, size)[:size].view(tensor.dtype).view(tensor.shape)
        host.copy_(tensor, non_blocking=True)
        self.record(slot)
        if self.cuda:
            self.done[slot].synchronize()
        return host.clone()
