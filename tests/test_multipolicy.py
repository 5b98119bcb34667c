"""Several policies in one run (`[train] num_policies`, `policy_mapping`; pufferlib.multipolicy, docs/selfplay.md):
each policy's rows reach only its own buffers, each keeps its own optimizer and checkpoint entry, a resumed run
continues exactly, and two policies playing the two sides of Connect Four both learn."""
import copy
import io
import json
import math
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pufferlib import arena, models, multipolicy, vector
from pufferlib import config as puffer_config
from pufferlib.dashboard import Dashboard
from pufferlib.exceptions import ConfigError
from pufferlib.runs import checkpoint, history, session
from vecenv_spy import Spy


def small_config(tmp_path, **train):
    config = puffer_config.load('puffer_connect4', overrides={
        'vec': {'backend': 'PufferEnv', 'num_envs': 1}, 'env': {'num_envs': 16, 'opponent': 1},
        'policy': {'hidden_size': 32, 'num_layers': 1},
        'train': dict(dict(total_timesteps=4096, bptt_horizon=16, batch_size=512, minibatch_size=256, device='cpu',
                           data_dir=str(tmp_path), update_epochs=1, num_policies=2, experiment='x'), **train)})
    config['base']['rnn_name'] = None
    return config


def build(config, vecenv):
    puffer_config.resolve_train_auto(config, vecenv.num_agents)
    make = lambda: models.make_policy(vecenv.driver_env, 'Policy', policy_kwargs={'hidden_size': 32,  # noqa: E731
                                                                                   'num_layers': 1})
    return multipolicy.make(config, vecenv, make(), make)


@pytest.mark.parametrize('mapping', ['team', 'env'])
def test_each_policys_rows_reach_only_its_own_buffers(tmp_path, mapping):
    config = small_config(tmp_path, policy_mapping=mapping)
    spy = Spy(vector.make_from_config(config))
    trainer = build(config, spy)
    first, second = trainer.learners
    assert first.num_agents == second.num_agents == 16 and first.segments == second.segments == 16
    trainer.reset_envs(0)
    trainer.collect()
    rows = np.arange(32)
    mine = [rows[0::2], rows[1::2]] if mapping == 'team' else [rows[:16], rows[16:]]
    # Segment i of policy p holds its i-th row, step t that row's t-th observation (a synchronous rollout).
    for t, (observations, agent_ids, masks) in enumerate(spy.batches[:16]):
        assert (agent_ids == rows).all()
        for learner, own in zip(trainer.learners, mine):
            np.testing.assert_array_equal(learner.observations[:, t].numpy(), observations[own])
            np.testing.assert_array_equal(learner.masks[:, t].numpy(), masks[own].astype(np.float32))
    if mapping == 'team':  # side 0 and side 1 of each game see the board from their own side: other data
        assert not np.array_equal(first.observations.numpy(), second.observations.numpy())
    assert trainer.global_step == 32 * 15
    losses = trainer.learn()
    assert math.isfinite(losses['policy0/loss/policy_loss']) and math.isfinite(losses['policy1/loss/policy_loss'])
    spy.close()


def test_each_policy_keeps_its_own_weights_optimizer_and_checkpoint_entry(tmp_path):
    config = small_config(tmp_path)
    trainer = build(config, vector.make_from_config(config))
    first, second = trainer.learners
    assert first.policy is not second.policy and first.optimizers[0] is not second.optimizers[0]
    shared = {id(p) for p in first.policy.parameters()} & {id(p) for p in second.policy.parameters()}
    assert not shared
    before = [copy.deepcopy(learner.policy.state_dict()) for learner in trainer.learners]
    trainer.reset_envs(0)
    trainer.collect()
    trainer.learn()
    for learner, old in zip(trainer.learners, before):  # each stepped its own optimizer
        assert any(not torch.equal(old[name], value) for name, value in learner.policy.state_dict().items())
        assert int(learner.optimizers[0].state_dict()['state'][0]['step']) == learner.minibatches_per_epoch
    state = trainer.state_dict()
    path = tmp_path / 'checkpoint.pt'
    torch.save(state, path)
    loaded = checkpoint.read_checkpoint(str(path))  # weights-only, and a valid checkpoint for the tools
    assert len(loaded['policies']) == 2 and 'envs' not in loaded['policies'][0]
    for entry, learner in zip(loaded['policies'], trainer.learners):
        for name, value in learner.policy.state_dict().items():
            assert torch.equal(entry['model'][name], value)
        exp_avg = entry['optimizers'][0]['state'][0]['exp_avg']
        assert torch.equal(exp_avg, learner.optimizers[0].state_dict()['state'][0]['exp_avg'])
    assert not torch.equal(loaded['policies'][0]['optimizers'][0]['state'][0]['exp_avg'],
                           loaded['policies'][1]['optimizers'][0]['state'][0]['exp_avg'])
    for name, value in loaded['model'].items():  # the top-level model is policy 0's
        assert torch.equal(value, loaded['policies'][0]['model'][name])
    trainer.vecenv.close()


def read_rows(run_dir):
    return [json.loads(line) for line in open(os.path.join(run_dir, 'metrics.jsonl'))]


def quiet():
    return Dashboard('puffer_connect4', live=False, file=io.StringIO())


@pytest.mark.parametrize('rnn_name', [None, 'LSTMWrapper'])
def test_a_two_policy_run_resumes_exactly(tmp_path, rnn_name):
    def run(folder, *sessions):
        config = small_config(tmp_path / folder, total_timesteps=480 * 6)
        config['base']['rnn_name'] = rnn_name
        for options in sessions:
            result = session.train(copy.deepcopy(config), SimpleNamespace(**options), quiet())
        return read_rows(result.run_dir), result.run_dir

    whole, whole_dir = run('whole', {})
    resumed, resumed_dir = run('resumed', dict(stop_at_step=480 * 3), dict(resume='x'))
    assert len(whole) == len(resumed) == 6
    keys = [key for key in whole[-1] if key.startswith(('policy0/', 'policy1/', 'env/'))]
    assert 'policy1/loss/policy_loss' in keys
    for uninterrupted, continued in zip(whole, resumed):
        assert {key: uninterrupted.get(key) for key in keys} == {key: continued.get(key) for key in keys}
    for index in range(2):
        name = multipolicy.model_file(index)
        a, b = (checkpoint.read(os.path.join(folder, name)) for folder in (whole_dir, resumed_dir))
        assert all(torch.equal(a[key], b[key]) for key in a)
    final = checkpoint.read_checkpoint(history.newest_checkpoint(resumed_dir))
    one, two = (checkpoint.read(os.path.join(resumed_dir, multipolicy.model_file(i))) for i in range(2))
    assert all(torch.equal(final['policies'][1]['model'][key], two[key]) for key in two)
    assert any(not torch.equal(one[key], two[key]) for key in one)  # two policies, not one


def test_one_policy_runs_the_plain_trainer(tmp_path):
    config = small_config(tmp_path, num_policies=1, total_timesteps=480)
    result = session.train(config, SimpleNamespace(), quiet())
    rows = read_rows(result.run_dir)
    assert 'loss/policy_loss' in rows[-1] and not any(key.startswith('policy0/') for key in rows[-1])
    assert not os.path.exists(os.path.join(result.run_dir, multipolicy.model_file(1)))


def test_policy_settings_are_checked_with_one_line_errors(tmp_path):
    with pytest.raises(ConfigError) as error:
        puffer_config.load('puffer_connect4', overrides={'train.num_policies': 0, 'train.policy_mapping': 'side'})
    assert 'train.num_policies = 0' in str(error.value) and 'train.policy_mapping' in str(error.value)
    with pytest.raises(ConfigError, match='selfplay.enabled = True'):
        puffer_config.load('puffer_connect4', overrides={'train.num_policies': 2, 'selfplay.enabled': True,
                                                          'env.opponent': 1})
    config = small_config(tmp_path)
    config['train']['num_policies'] = 3    # 32 rows cannot be shared by 3 policies
    vecenv = vector.make_from_config(config)
    with pytest.raises(ConfigError, match='train.num_policies = 3 must divide the 32 agent rows'):
        multipolicy.check_layout(config, vecenv)
    vecenv.close()
    config = small_config(tmp_path, policy_mapping='env')
    config['env']['num_envs'] = 3          # 6 rows: blocks of 3 would split a game of 2 rows
    vecenv = vector.make_from_config(config)
    with pytest.raises(ConfigError, match='would split a game'):
        multipolicy.check_layout(config, vecenv)
    vecenv.close()
    config = small_config(tmp_path, batch_size=1536, minibatch_size=48)   # 24 each: not a multiple of 16
    with pytest.raises(ConfigError, match='train.minibatch_size = 48 split between'):
        multipolicy.policy_config(config, 0.5)


def test_two_policies_playing_both_sides_both_learn(tmp_path):
    """Connect Four, side 0 and side 1 of every game each a learning policy (~30 s): both end up beating a random
    player in most games, having never met one in training."""
    config = puffer_config.load('puffer_connect4', overrides={
        'env': {'num_envs': 256, 'opponent': 1}, 'policy': {'hidden_size': 64},
        'train': dict(total_timesteps=800_000, bptt_horizon=32, minibatch_size=8192, learning_rate=0.003,
                      update_epochs=2, device='cpu', data_dir=str(tmp_path), num_policies=2, experiment='both')})
    result = session.train(config, SimpleNamespace(), quiet())
    for index in range(2):
        config = puffer_config.load('puffer_connect4', overrides={'train': {'data_dir': str(tmp_path)}})
        player, model_config = arena.load_player(os.path.join(result.run_dir, multipolicy.model_file(index)),
                                                 config, False, 0)
        other, _ = arena.load_player('random', model_config, False, 1)
        wins, draws, losses = arena.play(model_config, player, other, 400, seed=7)
        assert wins >= 0.7 * 400, (index, wins, draws, losses)
