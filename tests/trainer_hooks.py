"""Shared by the trainer tests: a config that trains in seconds, and a look at every Trainer `puffer train` builds."""
from pufferlib import trainer


def watch_trainers(monkeypatch, on_build):
    """Call on_build(trainer) on every Trainer that train() builds, before it runs its first epoch."""
    class Watched(trainer.Trainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            on_build(self)
    monkeypatch.setattr(trainer, 'Trainer', Watched)


def small_config(tmp_path, env_name='puffer_squared', **sections):
    """Six epochs: 32 agents, 8-step segments (7 new steps per agent and epoch), minibatches of 128 steps."""
    from pufferlib import config as puffer_config
    overrides = {
        'env': {'num_envs': 32, 'log_interval': 4},
        'train': dict(total_timesteps=32 * 7 * 6, bptt_horizon=8, minibatch_size=128, max_minibatch_size=128,
                      device='cpu', data_dir=str(tmp_path / 'experiments'), checkpoint_interval=2),
    }
    for section, values in sections.items():
        overrides.setdefault(section, {}).update(values)
    return puffer_config.load(env_name, overrides=overrides)
