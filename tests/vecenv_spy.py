"""A vecenv wrapper for tests that check which rows reach which buffers (test_selfplay.py, test_multipolicy.py)."""
import numpy as np


class Spy:
    """Wraps a vecenv and keeps a copy of (observations, agent_ids, masks) of every batch recv() returns."""

    def __init__(self, vecenv):
        self.inner, self.batches = vecenv, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def recv(self):
        batch = self.inner.recv()
        self.batches.append((batch[0].copy(), np.asarray(batch[5]).copy(), batch[6].copy()))
        return batch
