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


def epoch_means(vecenv, stat, seed=None, **overrides):
    """Train an MLP policy (32 wide, no RNN) on `vecenv` with puffer_squared's config under `overrides` ({section:
    {key: value}}), torch seeded with `seed` first when given; the mean of `stat` over each epoch's finished
    episodes, one per epoch. Closes the vecenv."""
    import torch
    from pufferlib import config as puffer_config
    from pufferlib import models
    config = puffer_config.load('puffer_squared', overrides=overrides)
    config['base']['rnn_name'] = None
    if seed is not None:
        torch.manual_seed(seed)
    policy = models.make_policy(vecenv.driver_env, 'Policy', policy_kwargs={'hidden_size': 32})
    learner = trainer.Trainer(config, vecenv, policy)
    learner.reset_envs(0)
    means = []
    while learner.global_step < config['train']['total_timesteps']:
        learner.collect()
        learner.learn()
        means.append(learner.stat_sums[stat] / max(learner.stat_counts[stat], 1))
        learner.stat_sums.clear()
        learner.stat_counts.clear()
    vecenv.close()
    return means
