"""The PPO trainer end to end on real Ocean envs: run folders, determinism, resume after a kill, options, NaN guard,
dashboard and the `puffer train` command line."""
import io
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

import pufferlib
import torch

from pufferlib import models, optim, runs, schedules, trainer

from pufferlib.runs import checkpoint
from pufferlib.runs import history
from pufferlib import config as puffer_config
from pufferlib.dashboard import Dashboard
from pufferlib.exceptions import APIUsageError, ConfigError
from trainer_hooks import small_config, watch_trainers

# Subprocesses import the same pufferlib as this test (the installed one in CI, the checkout in development); they
# run outside the repository, where `python -m` would otherwise find the uncompiled source tree first.
PACKAGE_ROOT = os.path.dirname(os.path.dirname(pufferlib.__file__))
TIMING_KEYS = ('sps', 'uptime')


def quiet():
    return Dashboard('test', live=False, file=io.StringIO())


def run(config, **options):
    return trainer.train(config, SimpleNamespace(**options), dashboard=quiet())


def comparable(rows):
    """Metrics rows without wall-clock fields, which differ between runs by nature."""
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS and not k.startswith('time/')} for row in rows]


def test_run_folder_holds_config_metrics_checkpoint_and_model(tmp_path):
    config = small_config(tmp_path)
    result = run(config)
    assert result.global_step == 32 * 7 * 6 and result.epoch == 6
    assert os.path.dirname(result.run_dir) == str(tmp_path / 'experiments' / 'puffer_squared')
    assert os.path.basename(result.run_dir).startswith('puffer_squared_')

    # The resolved config reloads to the same values (train.batch_size was auto and is now a number).
    saved = puffer_config.load_file(os.path.join(result.run_dir, 'config.ini'))
    assert saved['train']['batch_size'] == 32 * 8
    assert saved['train'] == {**config['train'], 'batch_size': 256}
    assert saved['env'] == config['env'] and saved['policy'] == config['policy']

    rows = runs.read_metrics(result.run_dir)
    assert [row['epoch'] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert [row['global_step'] for row in rows] == [224 * i for i in range(1, 7)]
    for key in ('sps', 'uptime', 'loss/policy_loss', 'loss/value_loss', 'loss/entropy', 'loss/approx_kl',
                'loss/clipfrac', 'loss/explained_variance', 'loss/learning_rate', 'loss/ent_coef', 'time/env',
                'time/learn'):
        assert key in rows[-1], key
    assert any('env/score' in row for row in rows)

    # Checkpoints (every 2 epochs, the newest 3 kept) and the model load weights-only; the model fits a freshly
    # built policy.
    assert [step for step, _ in history.checkpoints(result.run_dir)] == [224 * 2, 224 * 4, 224 * 6]
    state = torch.load(history.newest_checkpoint(result.run_dir), weights_only=True)
    assert state['counters']['epoch'] == 6 and state['counters']['global_step'] == 1344
    assert set(state) == {'model', 'optimizers', 'scheduler', 'counters', 'rng', 'envs', 'recurrent_state', 'run'}
    info = runs.read_info(result.run_dir)
    assert info['status'] == 'finished' and info['global_step'] == 1344 and info['env'] == 'puffer_squared'
    policy = models.Policy(SimpleNamespace(single_observation_space=_squared_space(),
                                           single_action_space=_squared_actions()), hidden_size=64)
    policy.load_state_dict(torch.load(result.model_path, weights_only=True))


def _squared_space():
    from pufferlib.envs import ocean
    return ocean.make('puffer_squared').single_observation_space


def _squared_actions():
    from pufferlib.envs import ocean
    return ocean.make('puffer_squared').single_action_space


def test_same_seed_same_losses(tmp_path):
    first = run(small_config(tmp_path))
    second = run(small_config(tmp_path))
    assert first.run_dir != second.run_dir
    assert comparable(runs.read_metrics(first.run_dir)) == comparable(runs.read_metrics(second.run_dir))
    other_seed = run(small_config(tmp_path, train={'seed': 7}))
    assert comparable(runs.read_metrics(other_seed.run_dir)) != comparable(runs.read_metrics(first.run_dir))


def test_gradient_accumulation_matches_one_big_minibatch(tmp_path):
    """minibatch_size 256 in chunks of 64 takes the same optimizer steps as 256 at once (up to float rounding)."""
    whole = run(small_config(tmp_path, train={'minibatch_size': 256, 'max_minibatch_size': 256}))
    chunked = run(small_config(tmp_path, train={'minibatch_size': 256, 'max_minibatch_size': 64}))
    for a, b in zip(runs.read_metrics(whole.run_dir), runs.read_metrics(chunked.run_dir)):
        for key in ('loss/policy_loss', 'loss/value_loss', 'loss/entropy'):
            assert a[key] == pytest.approx(b[key], rel=1e-3, abs=1e-5), key


def test_muon_trains(tmp_path):
    rows = runs.read_metrics(run(small_config(tmp_path, train={'optimizer': 'muon'})).run_dir)
    assert len(rows) == 6
    assert all(isinstance(row['loss/policy_loss'], float) for row in rows)  # finite (NaN is written as null)


def test_bfloat16_runs_the_forward_passes_in_bfloat16(tmp_path, monkeypatch):
    """precision = bfloat16: the policy's layers compute in bfloat16 under autocast, while collecting and learning,
    and the losses differ from float32's; float32 keeps every layer in float32."""
    def train(precision):
        dtypes = set()
        record = lambda module, inputs, output: dtypes.add(output.dtype)  # noqa: E731
        with monkeypatch.context() as patch:
            watch_trainers(patch, lambda learner: [module.register_forward_hook(record)
                                                   for module in learner.policy.modules()
                                                   if isinstance(module, torch.nn.Linear)])
            config = small_config(tmp_path / precision, train={'precision': precision, 'total_timesteps': 448})
            return dtypes, comparable(runs.read_metrics(run(config).run_dir))

    dtypes, bfloat16 = train('bfloat16')
    assert dtypes == {torch.bfloat16}
    dtypes, float32 = train('float32')
    assert dtypes == {torch.float32}
    assert all(isinstance(row['loss/policy_loss'], float) for row in bfloat16)  # finite (NaN is written as null)
    assert bfloat16[0]['loss/value_loss'] != float32[0]['loss/value_loss']


def test_offload_decision():
    assert trainer.offloads_observations({'cpu_offload': True}, 'cuda')
    assert trainer.offloads_observations({'cpu_offload': True}, torch.device('cuda', 0))
    assert not trainer.offloads_observations({'cpu_offload': True}, 'cpu')
    assert not trainer.offloads_observations({'cpu_offload': False}, 'cuda')


def test_cpu_offload_keeps_observations_in_pinned_host_memory_and_moves_minibatches(tmp_path, monkeypatch):
    """With offload on (forced here, as this CPU device would not offload), the observation buffer lives on the
    host and is pinned, and every minibatch of observations is moved to the training device before the forward."""
    monkeypatch.setattr(trainer, 'offloads_observations', lambda train_config, device: True)
    pinned = []
    if not torch.cuda.is_available():  # pinning needs CUDA: record the call instead
        monkeypatch.setattr(torch.Tensor, 'pin_memory', lambda tensor: pinned.append(tensor) or tensor)

    class Moved(torch.Tensor):
        """The observation buffer, recording where the tensors taken from it are moved to."""
        devices = []

        def to(self, *args, **kwargs):
            Moved.devices.append(torch.device(args[0] if args else kwargs['device']))
            return super().to(*args, **kwargs).as_subclass(torch.Tensor)

    learners = []

    def watch(learner):
        assert learner.observations.device.type == 'cpu'
        if torch.cuda.is_available():
            assert learner.observations.is_pinned()
        else:
            assert len(pinned) == 1 and pinned[0].shape == learner.observations.shape
        learner.observations = learner.observations.as_subclass(Moved)
        learners.append(learner)

    watch_trainers(monkeypatch, watch)
    rows = runs.read_metrics(run(small_config(tmp_path, train={'update_epochs': 2})).run_dir)
    assert len(rows) == 6 and all(isinstance(row['loss/policy_loss'], float) for row in rows)
    (learner,) = learners
    # Two update epochs of 2 minibatches each, for each of the 6 epochs: each moves its observations once.
    assert Moved.devices == [learner.device] * (6 * learner.minibatches_per_epoch)


def test_learning_rate_is_constant_without_annealing_and_decreases_with_it(tmp_path):
    """lr_schedule = constant keeps train.learning_rate in every epoch (here with uniform segment sampling and
    V-trace clips below 1); lr_schedule = cosine follows the cosine down to lr_final_ratio."""
    constant = run(small_config(tmp_path, train={'lr_schedule': 'constant', 'learning_rate': 0.01, 'prio_alpha': 0.0,
                                                 'vtrace_rho_clip': 0.5, 'vtrace_c_clip': 0.5}))
    rows = runs.read_metrics(constant.run_dir)
    assert len(rows) == 6 and all(isinstance(row['loss/policy_loss'], float) for row in rows)
    assert [row['loss/learning_rate'] for row in rows] == [0.01] * 6
    annealed = run(small_config(tmp_path, train={'lr_schedule': 'cosine', 'learning_rate': 0.01,
                                                 'lr_final_ratio': 0.1}))
    rates = [row['loss/learning_rate'] for row in runs.read_metrics(annealed.run_dir)]
    assert all(later < earlier for earlier, later in zip(rates, rates[1:]))
    assert rates == pytest.approx([schedules.value('cosine', 0.01, 0.1, k / 6) for k in range(1, 7)])


def test_muon_uses_torch_muon_for_matrices():
    policy = models.Policy(SimpleNamespace(single_observation_space=_squared_space(),
                                           single_action_space=_squared_actions()), hidden_size=16)
    settings = dict(optimizer='muon', learning_rate=0.01, adam_beta1=0.9, adam_beta2=0.999, adam_eps=1e-8)
    (muon, adam), flat = optim.make_optimizers(policy, settings)
    assert flat is None
    assert isinstance(muon, torch.optim.Muon) and isinstance(adam, torch.optim.Adam)
    assert all(p.ndim == 2 for group in muon.param_groups for p in group['params'])
    assert all(p.ndim != 2 for group in adam.param_groups for p in group['params'])


def test_flat_parameters_step_like_adam_over_each_parameter():
    """Plain Adam runs over one buffer of every parameter (and one of every gradient): the same steps, clipping
    included, as torch's Adam and clip_grad_norm_ over the separate tensors."""
    torch.manual_seed(0)
    env = SimpleNamespace(single_observation_space=_squared_space(), single_action_space=_squared_actions())
    flat_policy = models.Policy(env, hidden_size=16)
    plain_policy = models.Policy(env, hidden_size=16)
    plain_policy.load_state_dict(flat_policy.state_dict())
    settings = dict(optimizer='adam', learning_rate=0.01, adam_beta1=0.9, adam_beta2=0.999, adam_eps=1e-8)
    (flat_adam,), flat = optim.make_optimizers(flat_policy, settings)
    plain_adam = torch.optim.Adam(plain_policy.parameters(), lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    observations = torch.rand(64, *env.single_observation_space.shape)
    before = flat_policy.encoder[1].weight.detach().clone()
    for _ in range(5):
        for policy in (flat_policy, plain_policy):
            logits, values = policy(observations)
            (logits.square().sum() + 10 * values.sum()).backward()  # large enough to be clipped
        assert flat.clip_grad_norm(0.5) > 0.5
        torch.nn.utils.clip_grad_norm_(plain_policy.parameters(), 0.5)
        flat.adam_step(flat_adam), plain_adam.step()
        flat.zero_grad(), plain_adam.zero_grad()
    for name, parameter in plain_policy.named_parameters():
        torch.testing.assert_close(flat_policy.get_parameter(name), parameter, msg=name)
    assert not torch.equal(flat_policy.encoder[1].weight, before)  # the module's own tensors were updated

    flat.check_views()
    flat_policy.zero_grad(set_to_none=True)  # would silently stop training: caught
    with pytest.raises(APIUsageError, match='no longer a view'):
        flat.check_views()


def test_flat_clipping_and_adam_step_are_bit_identical_to_torchs_own():
    """The trainer's shortcuts (the clip scale worked out on the host, Adam's fused kernel called without
    Adam.step()'s bookkeeping) change no bit: weights and Adam state equal those of clipping with tensor ops and
    calling Adam.step(), over steps that are clipped and steps that are not."""
    torch.manual_seed(0)
    env = SimpleNamespace(single_observation_space=_squared_space(), single_action_space=_squared_actions())
    policies = [models.Policy(env, hidden_size=16) for _ in range(2)]
    policies[1].load_state_dict(policies[0].state_dict())
    settings = dict(optimizer='adam', learning_rate=0.01, adam_beta1=0.9, adam_beta2=0.999, adam_eps=1e-5)
    (torch_adam,), torch_flat = optim.make_optimizers(policies[0], settings)
    (our_adam,), our_flat = optim.make_optimizers(policies[1], settings)
    observations = torch.rand(64, *env.single_observation_space.shape)
    clipped = []
    for step in range(8):
        for policy in policies:
            logits, values = policy(observations)
            ((logits.square().sum() + 10 * values.sum()) * (1 if step % 2 else 1e-4)).backward()
        norm = torch.linalg.vector_norm(torch_flat.grad)
        torch_flat.grad.mul_(torch.clamp(0.5 / (norm + 1e-6), max=1.0))
        clipped.append(our_flat.clip_grad_norm(0.5) > 0.5)
        assert torch.equal(our_flat.grad, torch_flat.grad)
        for group in torch_adam.param_groups + our_adam.param_groups:
            group['lr'] = 0.01 * (1 - step / 10)  # as annealing sets it
        torch_adam.step()
        our_flat.adam_step(our_adam)
        torch_flat.zero_grad(), our_flat.zero_grad()
    assert any(clipped) and not all(clipped)
    assert torch.equal(our_flat.parameter, torch_flat.parameter)
    ours, theirs = our_adam.state[our_flat.parameter], torch_adam.state[torch_flat.parameter]
    for key in ('step', 'exp_avg', 'exp_avg_sq'):
        assert torch.equal(ours[key], theirs[key]), key
    assert ours['step'].item() == 8


def test_training_flushes_denormals_on_every_thread_and_restores_the_mode(tmp_path):
    """Denormals are flushed on torch's worker threads too, not just the calling one (a parallel kernel waits for
    its slowest thread), and train() leaves the mode as it found it."""
    from pufferlib import denormals
    denormals_in = torch.full((1 << 20,), 1e-39)  # big enough for every thread to take a part of the product
    assert (denormals_in * 1.0 != 0).all(), 'denormals kept before anything is set'
    assert denormals.set_flush_denormals(True) == torch.get_num_threads()
    assert denormals.flushing_denormals() and (denormals_in * 1.0 == 0).all()
    denormals.set_flush_denormals(False)
    assert not denormals.flushing_denormals() and (denormals_in * 1.0 != 0).all()
    run(small_config(tmp_path, train={'total_timesteps': 32 * 7}))
    assert not denormals.flushing_denormals() and (denormals_in * 1.0 != 0).all()


def test_compiled_training_matches_eager_and_reproduces(tmp_path, monkeypatch):
    """compile = True compiles the policy and the losses: the same training up to float rounding, and two compiled
    runs with one seed agree exactly. On the CPU inductor's C++ wrapper replaces its Python one around the same
    kernels, so a run compiled with the Python wrapper agrees exactly too."""
    def losses(name, compile, cpp_wrapper=True):
        monkeypatch.setattr(optim, 'CPP_WRAPPER_ON_CPU', cpp_wrapper)
        config = small_config(tmp_path / name, train={'compile': compile, 'total_timesteps': 448})
        return comparable(runs.read_metrics(run(config).run_dir))

    eager, compiled, again = losses('eager', False), losses('compiled', True), losses('again', True)
    assert compiled == again
    assert losses('python_wrapper', True, cpp_wrapper=False) == compiled
    assert len(compiled) == 2
    for key, value in eager[0].items():
        if key.startswith('loss/'):
            assert compiled[0][key] == pytest.approx(value, rel=1e-3, abs=1e-5), key


def test_compile_options_add_the_cpp_wrapper_on_cpu_only(monkeypatch):
    assert optim.compile_options('default', 'cpu') == {'cpp_wrapper': True}
    assert optim.compile_options('max-autotune-no-cudagraphs', torch.device('cpu')) == {
        'max_autotune': True, 'coordinate_descent_tuning': True, 'cpp_wrapper': True}
    assert 'cpp_wrapper' not in optim.compile_options('reduce-overhead', 'cuda')
    monkeypatch.setattr(optim, 'CPP_WRAPPER_ON_CPU', False)
    assert optim.compile_options('default', 'cpu') == {}


def test_entropy_weight_follows_its_schedule(tmp_path):
    """ent_schedule = cosine anneals ent_coef to ent_final_ratio over training; the default keeps it constant."""
    rows = runs.read_metrics(run(small_config(tmp_path, train=dict(ent_coef=0.02, ent_schedule='cosine',
                                                                   ent_final_ratio=0.1))).run_dir)
    weights = [row['loss/ent_coef'] for row in rows]
    # Epoch k of 6 updates after collecting its steps, at progress k / 6.
    assert weights == pytest.approx([schedules.value('cosine', 0.02, 0.1, k / 6) for k in range(1, 7)])
    assert weights[-1] == pytest.approx(0.002)
    constant = runs.read_metrics(run(small_config(tmp_path / 'constant', train=dict(ent_coef=0.02))).run_dir)
    assert {row['loss/ent_coef'] for row in constant} == {0.02}


def test_advantages_are_normalized_per_minibatch_unless_adv_norm_is_off(tmp_path):
    """On (the default) a minibatch's advantages have zero mean and unit variance; off they keep the returns' scale,
    so a policy whose values predict its returns almost exactly gets an almost zero policy gradient."""
    segments, horizon = 4, 8
    advantages = 0.3 + 0.01 * torch.randn(segments, horizon, generator=torch.Generator().manual_seed(0))
    owner = SimpleNamespace(train_config={'prio_alpha': 0.0}, segments=segments, minibatch_segments=segments,
                            values=torch.zeros(segments, horizon), data_parallel=False)
    targets = lambda: trainer.Trainer.minibatch_targets(  # noqa: E731
        owner, advantages, torch.ones(segments), torch.ones(segments, horizon), 1.0)
    index, normalized, _, _ = targets()
    assert normalized.mean().item() == pytest.approx(0.0, abs=1e-5)
    assert normalized.std(unbiased=False).item() == pytest.approx(1.0, rel=1e-3)
    owner.train_config['adv_norm'] = False
    index, raw, returns, _ = targets()
    assert torch.allclose(raw, advantages[index]) and torch.allclose(returns, advantages[index])
    default = runs.read_metrics(run(small_config(tmp_path)).run_dir)
    off = runs.read_metrics(run(small_config(tmp_path, train={'adv_norm': False})).run_dir)
    assert [row['loss/policy_loss'] for row in off] != [row['loss/policy_loss'] for row in default]


def test_lstm_and_multiagent_envs_train(tmp_path):
    """Memory with an LSTM; snake's 8 snakes per arena share one policy over all their agent rows."""
    memory = run(small_config(tmp_path, 'puffer_memory'))
    assert memory.epoch == 6
    snake = run(small_config(tmp_path, 'puffer_snake', env={'num_envs': 4},
                             train={'total_timesteps': 32 * 7 * 2, 'minibatch_size': 256,
                                    'max_minibatch_size': 256}))
    assert snake.global_step == 32 * 7 * 2


def test_asynchronous_vector(tmp_path):
    """Multiprocessing with batch_size < num_envs: each recv returns half of the agents."""
    config = small_config(tmp_path, vec={'backend': 'Multiprocessing', 'num_envs': 4, 'num_workers': 2,
                                         'batch_size': 2}, env={'num_envs': 8})
    result = run(config)
    assert result.global_step >= 32 * 7 * 6
    assert len(runs.read_metrics(result.run_dir)) == 6


def test_load_model_path_latest_starts_from_that_envs_newest_model(tmp_path):
    first = run(small_config(tmp_path))
    # A newer model of another env must not be picked.
    run(small_config(tmp_path, 'puffer_bandit'))
    # With a learning rate of 1e-30 the weights stay what was loaded (to float precision).
    second = run(small_config(tmp_path, train={'learning_rate': 1e-30}), load_model_path='latest')
    loaded = torch.load(second.model_path, weights_only=True)
    for key, value in torch.load(first.model_path, weights_only=True).items():
        torch.testing.assert_close(loaded[key], value, rtol=1e-6, atol=1e-20)
    with pytest.raises(ConfigError, match='no trained model'):
        run(small_config(tmp_path, 'puffer_password'), load_model_path='latest')


def test_nan_stops_training_and_keeps_last_good_checkpoint(tmp_path):
    """A learning rate of 1e30 makes every weight huge after the first update: epoch 2's forward pass is inf/NaN."""
    config = small_config(tmp_path, train={'learning_rate': 1e30, 'lr_schedule': 'constant', 'max_grad_norm': 1e30,
                                           'minibatch_size': 256, 'max_minibatch_size': 256,
                                           'update_epochs': 1, 'checkpoint_interval': 1})
    with pytest.raises(trainer.NonFiniteLossError, match='epoch 2') as error:
        run(config)
    run_dir, _ = runs.find_run(config, 'latest')
    assert 'last good checkpoint' in str(error.value) and run_dir in str(error.value)
    assert runs.read_info(run_dir)['status'] == 'crashed'
    state = checkpoint.read(history.newest_checkpoint(run_dir))
    assert state['counters']['epoch'] == 1
    assert all(torch.isfinite(value).all() for value in state['model'].values())
    assert not os.path.exists(os.path.join(run_dir, 'model.pt'))


def test_trainer_specific_config_errors(tmp_path):
    with pytest.raises(ConfigError, match='at least 2'):
        run(small_config(tmp_path, train={'bptt_horizon': 1, 'minibatch_size': 32, 'max_minibatch_size': 32}))


def test_resume_errors(tmp_path):
    with pytest.raises(ConfigError, match='there is no run of puffer_squared'):
        run(small_config(tmp_path), resume='latest')
    first = run(small_config(tmp_path))
    with pytest.raises(ConfigError, match=f'recent runs: {os.path.basename(first.run_dir)}'):
        run(small_config(tmp_path), resume='no_such_run')
    with pytest.raises(ConfigError, match='has no checkpoint at step 19990101000000; saved steps: 448, 896, 1344'):
        run(small_config(tmp_path), resume='19990101_000000')


def cli(tmp_path, *args):
    command = [sys.executable, '-m', 'pufferlib.cli', 'train', 'puffer_squared', '--env.num-envs', '32',
               '--train.bptt-horizon', '8', '--train.minibatch-size', '128', '--train.device', 'cpu',
               '--train.data-dir', str(tmp_path / 'experiments'), *args]
    return command


# In-process Ocean envs are snapshotted into the checkpoint; worker processes are not, so their envs restart from
# the checkpoint's epoch seed in both runs. Either way the resumed run must equal the uninterrupted one.
RESUME_BACKENDS = {
    'snapshot': [],
    'restart': ['--vec.backend', 'Multiprocessing', '--vec.num-envs', '2', '--vec.num-workers', '2',
                '--env.num-envs', '16'],
}


@pytest.mark.parametrize('envs', RESUME_BACKENDS)
def test_resume_after_kill_matches_uninterrupted_run(tmp_path, envs):
    """Kill a run between checkpoints, resume it: its metrics log equals an uninterrupted run's."""
    settings = ['--train.total-timesteps', str(224 * 24), '--train.checkpoint-interval', '4', *RESUME_BACKENDS[envs]]
    environment = {**os.environ, 'PYTHONPATH': PACKAGE_ROOT}
    subprocess.run(cli(tmp_path / 'a', *settings), check=True, env=environment, capture_output=True, timeout=300,
                   cwd=tmp_path)
    [uninterrupted] = [os.path.join(root, d) for root, dirs, _ in os.walk(tmp_path / 'a') for d in dirs
                       if os.path.exists(os.path.join(root, d, 'model.pt'))]
    assert runs.read_info(uninterrupted)['status'] == 'finished'

    process = subprocess.Popen(cli(tmp_path / 'b', *settings), env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=tmp_path)
    env_dir = tmp_path / 'b' / 'experiments' / 'puffer_squared'
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        run_dirs = list(env_dir.glob('*')) if env_dir.exists() else []
        if run_dirs and len(runs.read_metrics(str(run_dirs[0]))) >= 10:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    [killed] = list(env_dir.glob('*'))
    killed_at = len(runs.read_metrics(str(killed)))
    assert 10 <= killed_at < 24 and not (killed / 'model.pt').exists()
    assert runs.read_info(str(killed))['status'] == 'running'  # a kill -9 leaves no word: `puffer runs` says crashed
    from pufferlib.runs import listing
    assert listing.describe(str(killed)).status == 'crashed'

    subprocess.run(cli(tmp_path / 'b', *settings, '--resume', 'latest'), check=True, env=environment,
                   capture_output=True, timeout=300, cwd=tmp_path)
    resumed = runs.read_metrics(str(killed))
    assert [row['epoch'] for row in resumed] == list(range(1, 25))
    assert comparable(resumed) == comparable(runs.read_metrics(uninterrupted))
    final = torch.load(killed / 'model.pt', weights_only=True)
    for key, value in torch.load(os.path.join(uninterrupted, 'model.pt'), weights_only=True).items():
        assert torch.equal(final[key], value), key


def test_checkpoints_do_not_cut_episodes_short(tmp_path):
    """A checkpoint every epoch (8-step segments) in deterministic mode: Ocean envs are saved with it, not restarted,
    so breakout games, which last about 100 steps even under a random policy, still finish and are reported."""
    config = small_config(tmp_path, 'puffer_breakout', train=dict(
        total_timesteps=32 * 7 * 40, checkpoint_interval=1, torch_deterministic=True))
    result = run(config)
    lengths = [row['env/episode_length'] for row in runs.read_metrics(result.run_dir) if 'env/episode_length' in row]
    assert lengths and max(lengths) > 50, lengths
    saved = checkpoint.read(history.newest_checkpoint(result.run_dir))
    [env_state] = saved['envs']
    assert env_state['env'] == 'puffer_breakout' and env_state['num_envs'] == 32


def test_puffer_train_command_line(tmp_path):
    completed = subprocess.run(cli(tmp_path, '--train.total-timesteps', '1024'), capture_output=True, text=True,
                               env={**os.environ, 'PYTHONPATH': PACKAGE_ROOT}, timeout=300, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert 'puffer_squared' in completed.stdout and 'SPS' in completed.stdout  # plain lines: not a terminal
    [run_dir] = list((tmp_path / 'experiments' / 'puffer_squared').glob('*'))
    assert (run_dir / 'model.pt').exists() and (run_dir / 'config.ini').exists()
    # The saved config is a valid --config for a new run.
    again = subprocess.run(cli(tmp_path, '--config', str(run_dir / 'config.ini'), '--train.total-timesteps', '512'),
                           capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': PACKAGE_ROOT}, timeout=300,
                           cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_dashboard_plain_lines_and_rich_view():
    snapshot = dict(epoch=3, global_step=12_288, total_timesteps=100_000, sps=51_234.0, uptime=75.0,
                    remaining=3725.0, profile={'env': 1.0, 'inference': 2.0, 'copy': 0.5, 'learn': 4.5},
                    losses={'policy_loss': -0.01, 'value_loss': 0.2, 'entropy': 1.2, 'approx_kl': 0.003,
                            'clipfrac': 0.1, 'explained_variance': 0.5}, stats={'score': 0.75})
    out = io.StringIO()
    plain = Dashboard('puffer_squared', live=False, file=out)
    plain.update(snapshot)
    plain.close()
    line = out.getvalue().splitlines()[0]
    for text in ('puffer_squared', 'epoch 3', '12,288/100,000', '51,234 SPS', '1m 15s', '1h 02m 05s',
                 'entropy 1.2', 'score 0.75'):
        assert text in line, text

    screen = io.StringIO()
    live = Dashboard('puffer_squared', live=True, file=screen)
    live.update(snapshot)
    live.close()
    text = screen.getvalue()
    for word in ('SPS', 'remaining', 'inference', 'learn', '56.2%', 'explained_variance', 'score'):
        assert word in text, word
