"""`puffer export`: ONNX graphs of trained and untrained policies (MLP, LSTM, GRU, minGRU, Gaussian, CNN, and the
[policy] options: layer sizes, separate towers, tanh-squashed and state-dependent Gaussians) that
onnxruntime runs to the same outputs as PyTorch, on inputs the export itself never saw."""
import io
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pufferlib import config as puffer_config
from pufferlib import export, models, runs, trainer
from pufferlib.runs import saved_policy
from pufferlib.dashboard import Dashboard
from pufferlib.exceptions import APIUsageError

onnx = pytest.importorskip('onnx')
onnxruntime = pytest.importorskip('onnxruntime')


def options(**given):
    return SimpleNamespace(**{**export.OPTION_DEFAULTS, **given})


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A short real training run of puffer_bandit: a run directory exactly as `puffer train` leaves it."""
    data_dir = tmp_path_factory.mktemp('runs')
    config = puffer_config.load('puffer_bandit', overrides={
        'train.device': 'cpu', 'train.data_dir': str(data_dir), 'train.total_timesteps': 4096})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = trainer.train(config, dashboard=Dashboard('bandit', live=False, file=io.StringIO()))
    finally:
        torch.set_num_threads(threads)
    return SimpleNamespace(config=config, run_dir=result.run_dir, model_path=result.model_path)


def untrained_run(tmp_path, env_name, overrides):
    """A run directory (config.ini and model.pt) holding a freshly initialized policy of `env_name`."""
    config = puffer_config.load(env_name, overrides={'train.data_dir': str(tmp_path), **overrides})
    run_dir = runs.new_run(str(tmp_path), env_name)
    runs.write_config(run_dir, puffer_config.to_ini(config))
    env = saved_policy.make_env(config, 0, **saved_policy.single_env_overrides(config))
    policy = saved_policy.make_policy(config, env)
    env.close()
    torch.save(policy.state_dict(), os.path.join(run_dir, 'model.pt'))
    return config, os.path.join(run_dir, 'model.pt')


def reference(config, model_path):
    """The PyTorch policy as `puffer eval` would load it, and fresh observations from its env (other seed)."""
    config, _ = saved_policy.config_for_model(config, model_path)
    env = saved_policy.make_env(config, 123, **saved_policy.single_env_overrides(config))
    policy = saved_policy.load_policy(config, env, model_path)
    observations = export.sample_observations(env, 123, 5)
    env.close()
    return policy, observations


def run_onnx(path, feeds):
    session = onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return session.run(None, {name: np.asarray(value) for name, value in feeds.items()})


def test_trained_policy_exports_and_onnxruntime_reproduces_it(trained, tmp_path):
    path = tmp_path / 'bandit.onnx'
    result = export.export(trained.config, options(load_model_path='latest', output=str(path)))
    assert result.path == str(path) and result.model_path == trained.model_path
    assert result.input_names == ['observations'] and result.output_names == ['action_params', 'value']
    assert result.max_difference < 1e-4

    policy, observations = reference(trained.config, trained.model_path)
    logits, value = run_onnx(path, {'observations': observations.numpy()})
    with torch.inference_mode():
        expected_logits, expected_value = policy(observations)
    assert logits.shape == (5, 4) and value.shape == (5,)  # a batch size the export never used
    np.testing.assert_allclose(logits, expected_logits.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(value, expected_value.numpy(), rtol=1e-4, atol=1e-5)
    # The trained bandit prefers its best arm (2) whatever it observes.
    assert (logits.argmax(1) == 2).all()

    metadata = {entry.key: entry.value for entry in onnx.load(str(path)).metadata_props}
    assert metadata['pufferlib.env_name'] == 'puffer_bandit'
    assert metadata['pufferlib.action_space'] == 'Discrete(4)'


def test_default_output_is_next_to_the_model(trained):
    result = export.export(trained.config, options(load_model_path=trained.run_dir))
    assert result.path == os.path.join(trained.run_dir, 'model.onnx') and os.path.exists(result.path)
    assert not [name for name in os.listdir(trained.run_dir) if name.endswith('.tmp')]


@pytest.mark.parametrize('env_name, overrides', [
    ('puffer_squared', {'base.rnn_name': 'LSTMWrapper', 'rnn.input_size': 64, 'rnn.hidden_size': 64}),
    ('puffer_squared', {'base.rnn_name': 'GRUWrapper', 'rnn.num_layers': 2}),
    ('puffer_squared', {'base.rnn_name': 'MinGRUWrapper', 'rnn.num_layers': 2}),
    ('puffer_continuous', {}),
    ('puffer_continuous', {'policy.tanh_squash': True, 'policy.state_dependent_std': True}),
    ('puffer_continuous', {'policy.share_actor_critic': False, 'policy.layer_sizes': '32,16',
                           'policy.init': 'torch_default'}),
    ('puffer_squared', {'base.rnn_name': 'GRUWrapper', 'policy.layer_sizes': '48,64'}),
    ('puffer_spaces', {}),
])
def test_policy_kinds_export(tmp_path, env_name, overrides):
    config, model_path = untrained_run(tmp_path, env_name, overrides)
    path = tmp_path / 'policy.onnx'
    result = export.export(config, options(load_model_path=model_path, output=str(path)))
    policy, observations = reference(config, model_path)
    feeds = {'observations': observations.numpy()}
    if policy.is_recurrent:
        names = {'LSTMWrapper': ['lstm_h', 'lstm_c'], 'GRUWrapper': ['gru_h'], 'MinGRUWrapper': ['mingru_h']}
        names = names[type(policy).__name__]
        assert result.input_names == ['observations', *names]
        assert result.output_names == ['action_params', 'value', *(f'{name}_out' for name in names)]
        # Carry the state through a few steps in both runtimes.
        state = policy.initial_state(len(observations), 'cpu')
        onnx_state = [tensor.numpy() for tensor in state]
        for _ in range(3):
            params, value, *onnx_state = run_onnx(path, {**feeds, **dict(zip(names, onnx_state))})
            with torch.inference_mode():
                expected_params, expected_value, state = policy.forward_step(observations, state)
            for onnx_tensor, tensor in zip(onnx_state, state, strict=True):
                np.testing.assert_allclose(onnx_tensor, tensor.numpy(), rtol=1e-4, atol=1e-5)
    else:
        params, value, *squashed = run_onnx(path, feeds)
        with torch.inference_mode():
            expected_params, expected_value = policy(observations)
        if getattr(policy.action_head, 'tanh_squash', False):
            assert result.output_names == ['action_params', 'value', 'action']
            greedy = policy.action_head.greedy(expected_params).numpy()
            np.testing.assert_allclose(squashed[0], greedy, rtol=1e-4, atol=1e-5)
            assert (np.abs(squashed[0]) <= 1).all()  # puffer_continuous's Box is [-1, 1]
    np.testing.assert_allclose(params, expected_params.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(value, expected_value.numpy(), rtol=1e-4, atol=1e-5)
    if isinstance(policy.action_head, models.GaussianHead):  # the mean of the 2-d Box action (and its log std)
        assert params.shape == (5, 4 if policy.action_head.state_dependent_std else 2)


def test_convolutional_atari_policy_exports(tmp_path):
    pytest.importorskip('ale_py')
    config, model_path = untrained_run(tmp_path, 'atari_pong', {'policy.hidden_size': 64})
    result = export.export(config, options(load_model_path=model_path, output=str(tmp_path / 'pong.onnx')))
    assert result.max_difference < 1e-4
    session = onnxruntime.InferenceSession(result.path, providers=['CPUExecutionProvider'])
    [observations] = session.get_inputs()
    assert observations.type == 'tensor(uint8)' and observations.shape[1:] == [4, 84, 84]


def test_export_needs_a_model_and_refuses_unsafe_files(tmp_path):
    config = puffer_config.load('puffer_bandit', overrides={'train.data_dir': str(tmp_path)})
    with pytest.raises(APIUsageError, match='needs --load-model-path'):
        export.export(config, options())

    class RunsCode:
        def __reduce__(self):
            return open, (str(tmp_path / 'code_ran'), 'w')

    torch.save(RunsCode(), tmp_path / 'model.pt')
    with pytest.raises(saved_policy.UnsafeCheckpointError):
        export.export(config, options(load_model_path=str(tmp_path / 'model.pt')))
    assert not (tmp_path / 'code_ran').exists()
    assert not list(tmp_path.glob('*.onnx'))


def test_puffer_export_command_line(trained, tmp_path, capsys):
    from pufferlib import cli
    path = tmp_path / 'cli.onnx'
    code = cli.main(['export', 'puffer_bandit', '--train.data-dir', os.path.dirname(os.path.dirname(trained.run_dir)),
                     '--load-model-path', 'latest', '--output', str(path)])
    assert code == 0, capsys.readouterr().err
    assert path.exists()
    assert f'wrote {path}' in capsys.readouterr().err
