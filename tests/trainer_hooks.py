"""Shared by the trainer tests: see every Trainer that `puffer train` builds."""
from pufferlib import trainer


def watch_trainers(monkeypatch, on_build):
    """Call on_build(trainer) on every Trainer that train() builds, before it runs its first epoch."""
    class Watched(trainer.Trainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            on_build(self)
    monkeypatch.setattr(trainer, 'Trainer', Watched)
