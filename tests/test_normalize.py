"""Normalization (train.obs_norm, obs_subtract_mean / obs_scale, return_norm, reward_scale / reward_clip): the running
statistics against numpy, their place in model.pt, checkpoints, `puffer eval` and the ONNX export, and learning."""
import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pufferlib import evaluate, models, runs

from pufferlib.runs import checkpoint

from pufferlib.runs import saved_policy
from pufferlib import config as puffer_config
from pufferlib.dashboard import Dashboard
from pufferlib.normalize import RunningMeanStd
from pufferlib.runs import history, session
from trainer_hooks import watch_trainers

NORMALIZED = dict(obs_norm=True, obs_norm_clip=5.0, return_norm=True)


def small_config(tmp_path, env_name='puffer_squared', **train):
    """Six epochs of 224 agent steps (32 agents, 8-step segments), a checkpoint every 2 epochs."""
    return puffer_config.load(env_name, overrides={
        'env': {'num_envs': 32, 'log_interval': 4},
        'train': dict(dict(total_timesteps=32 * 7 * 6, bptt_horizon=8, minibatch_size=128, max_minibatch_size=128,
                           device='cpu', data_dir=str(tmp_path / 'experiments'), checkpoint_interval=2), **train)})


def run(config, **options):
    return session.train(config, SimpleNamespace(**options), dashboard=Dashboard('test', live=False,
                                                                                   file=io.StringIO()))


# ----------------------------------------------------------------------------------------------------------------
# RunningMeanStd
# ----------------------------------------------------------------------------------------------------------------

def test_running_statistics_match_numpy_over_batches_of_any_size():
    generator = np.random.default_rng(0)
    stats = RunningMeanStd((3,))
    seen = []
    for size in (1, 7, 1000, 3, 250, 1):
        batch = generator.normal([5.0, -300.0, 0.01], [2.0, 50.0, 0.001], size=(size, 3))
        stats.update(torch.from_numpy(batch).float())
        seen.append(batch.astype(np.float32).astype(np.float64))  # what the module saw, summed in float64
    seen = np.concatenate(seen)
    assert stats.count.item() == len(seen)
    np.testing.assert_allclose(stats.mean.numpy(), seen.mean(0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(stats.var.numpy(), seen.var(0), rtol=1e-9, atol=1e-15)


def test_weights_leave_rows_out_and_scalars_work():
    stats = RunningMeanStd()
    values = torch.tensor([1.0, 2.0, 100.0, 3.0])
    stats.update(values, torch.tensor([1.0, 1.0, 0.0, 1.0]))
    stats.update(torch.tensor([4.0, 5.0]))
    assert stats.count.item() == 5
    assert stats.mean.item() == pytest.approx(3.0) and stats.var.item() == pytest.approx(2.0)
    stats.update(torch.zeros(0))  # an empty batch changes nothing
    assert stats.count.item() == 5


def test_forward_normalizes_and_clips():
    stats = RunningMeanStd((2,), clip=2.0)
    x = torch.tensor([[0.5, -3.0], [10.0, 7.0]])
    assert torch.equal(stats(x), x.clamp(-2, 2))  # no statistics yet: identity up to clipping
    stats.update(torch.tensor([[0.0, 10.0], [2.0, 30.0]]))  # mean (1, 20), std (1, 10)
    expected = torch.tensor([[-0.5, -2.0], [2.0, -1.3]])
    torch.testing.assert_close(stats(x), expected, rtol=1e-6, atol=1e-6)
    unclipped = RunningMeanStd((2,))
    unclipped.load_state_dict(stats.state_dict())
    assert unclipped(x)[1, 0].item() == pytest.approx(9.0)


def test_defaults_add_nothing_to_the_policy_and_obs_norm_adds_buffers(tmp_path):
    config = small_config(tmp_path)
    env = saved_policy.make_env(config, 0, **saved_policy.single_env_overrides(config))
    plain = models.make_policy(env, 'Policy', None, config['policy'], config['rnn'], config['train'])
    assert not [name for name in plain.state_dict() if 'normalizer' in name]
    normalized = models.make_policy(env, 'Policy', 'LSTMWrapper', config['policy'], config['rnn'],
                                    dict(NORMALIZED, obs_subtract_mean=1.0, obs_scale=4.0))
    names = [name for name in normalized.state_dict() if 'normalizer' in name]
    assert sorted(name.rsplit('.', 1)[1] for name in names) == ['count', 'mean', 'var']
    features = models.observation_features(normalized)
    observations = torch.from_numpy(env.observations.copy())
    torch.testing.assert_close(features.features(observations), (observations.float() - 1.0) / 4.0)
    env.close()


# ----------------------------------------------------------------------------------------------------------------
# Saved and restored: checkpoints, model.pt, eval, ONNX
# ----------------------------------------------------------------------------------------------------------------

def normalizer_state(weights):
    return {name: value for name, value in weights.items() if 'normalizer' in name}


@pytest.fixture(scope='module')
def normalized_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('normalized')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = run(small_config(tmp_path, **NORMALIZED))
    finally:
        torch.set_num_threads(threads)
    return SimpleNamespace(tmp_path=tmp_path, result=result)


def test_statistics_are_in_model_and_checkpoint_and_resume_continues_exactly(normalized_run, tmp_path):
    result = normalized_run.result
    saved = normalizer_state(checkpoint.read_weights(result.model_path))
    assert saved and all(torch.isfinite(value).all() for value in saved.values())
    count = next(value for name, value in saved.items() if name.endswith('count'))
    assert count.item() > 32 * 6 * 5  # every epoch's valid observations were folded in
    state = checkpoint.read_checkpoint(history.checkpoints(result.run_dir)[-1][1])
    assert state['return_stats']['count'].item() > 0

    # Resumed from its epoch-2 checkpoint, a run redoes epochs 3 to 6 exactly: weights and statistics.
    whole = checkpoint.read_weights(result.model_path)
    first = run(small_config(tmp_path, **NORMALIZED))
    assert first.global_step == result.global_step
    resumed = run(small_config(tmp_path, **NORMALIZED), resume='448')
    assert resumed.run_dir == first.run_dir and resumed.global_step == result.global_step
    continued = checkpoint.read_weights(resumed.model_path)
    assert whole.keys() == continued.keys()
    for name in whole:
        assert torch.equal(whole[name], continued[name]), name


def test_checkpoints_without_return_statistics_still_load(tmp_path):
    """A checkpoint written before return_norm existed (or with it off) resumes with fresh return statistics."""
    first = run(small_config(tmp_path, total_timesteps=32 * 7 * 2, **NORMALIZED))
    path = history.checkpoints(first.run_dir)[-1][1]
    state = checkpoint.read_checkpoint(path)
    del state['return_stats']
    torch.save(state, path)
    resumed = run(small_config(tmp_path, **NORMALIZED), resume='latest',
                  overrides={'train.total_timesteps': str(32 * 7 * 4)})
    assert resumed.run_dir == first.run_dir and resumed.global_step == 32 * 7 * 4
    assert all(row['loss/return_scale'] > 0 for row in runs.read_metrics(first.run_dir))


def test_eval_and_onnx_export_use_the_saved_statistics(normalized_run, tmp_path):
    onnxruntime = pytest.importorskip('onnxruntime')
    pytest.importorskip('onnx')
    from pufferlib import export
    result = normalized_run.result
    # A config without obs_norm: the run's config.ini brings it back.
    config = small_config(normalized_run.tmp_path)
    loaded, _ = saved_policy.config_for_model(config, result.model_path)
    assert loaded['train']['obs_norm'] is True
    env = saved_policy.make_env(loaded, 5, **saved_policy.single_env_overrides(loaded))
    policy = saved_policy.load_policy(loaded, env, result.model_path)
    stats = models.observation_features(policy).normalizer
    saved = normalizer_state(checkpoint.read_weights(result.model_path))
    assert torch.equal(stats.mean, next(v for k, v in saved.items() if k.endswith('mean')))
    observations = export.sample_observations(env, 5, 16)
    env.close()

    played = evaluate.evaluate(config, SimpleNamespace(**{**evaluate.OPTION_DEFAULTS, 'render_mode': 'none',
                                                          'load_model_path': result.model_path, 'episodes': 3}),
                               output=io.StringIO())
    assert len(played.episodes) == 3 and played.run_config_path is not None

    path = tmp_path / 'normalized.onnx'
    exported = export.export(config, SimpleNamespace(**{**export.OPTION_DEFAULTS,
                                                        'load_model_path': result.model_path, 'output': str(path)}))
    assert exported.max_difference < 1e-4
    session_ = onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    logits, value = session_.run(None, {'observations': observations.numpy()})
    with torch.inference_mode():
        expected_logits, expected_value = policy(observations)
        stats.mean.add_(1.0)  # the statistics matter: other statistics, other outputs
        shifted_logits, _ = policy(observations)
    np.testing.assert_allclose(logits, expected_logits.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(value, expected_value.numpy(), rtol=1e-4, atol=1e-5)
    assert not np.allclose(logits, shifted_logits.numpy(), rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------------------------
# Rewards and learning
# ----------------------------------------------------------------------------------------------------------------

def test_reward_scale_and_clip_shape_what_is_learned_but_not_what_is_logged(tmp_path, monkeypatch):
    seen = []

    def watch(learner):
        original = learner.learned_rewards

        def recorded(rewards):
            shaped = original(rewards)
            seen.append((np.array(rewards, copy=True), np.array(shaped, copy=True)))
            return shaped
        learner.learned_rewards = recorded
        learner_collect = learner.collect

        def collect():
            learner_collect()
            assert learner.rewards.abs().max().item() <= 0.3 + 1e-7
        learner.collect = collect
    watch_trainers(monkeypatch, watch)
    result = run(small_config(tmp_path, reward_scale=0.5, reward_clip=0.3))
    raw = np.concatenate([r for r, _ in seen])
    shaped = np.concatenate([s for _, s in seen])
    np.testing.assert_array_equal(shaped, np.clip(raw * np.float32(0.5), -0.3, 0.3))
    assert np.abs(raw).max() > 0.6  # rewards the clip cut down
    returns = [row['env/episode_return'] for row in runs.read_metrics(result.run_dir) if 'env/episode_return' in row]
    assert returns and max(returns) > 0.3  # the env's own returns


def test_obs_norm_learns_an_env_with_unnormalized_observations(tmp_path):
    """puffer_cartpole with its observations blown up 100 times (obs_scale = 0.01) still learns with obs_norm, which
    brings them back to unit scale: episodes grow from ~20 steps to over 80 in 300k steps (~20 s)."""
    config = puffer_config.load('puffer_cartpole', overrides={'train': dict(
        device='cpu', data_dir=str(tmp_path), seed=1, total_timesteps=300_000, obs_scale=0.01, obs_norm=True)})
    result = run(config)
    lengths = [row['env/episode_length'] for row in runs.read_metrics(result.run_dir) if 'env/episode_length' in row]
    assert len(lengths) >= 3 and lengths[-1] > 80 and lengths[-1] > 3 * lengths[0], lengths
