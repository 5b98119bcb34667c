"""`puffer export ENV --load-model-path PATH|latest [--output FILE]`: a trained policy as an ONNX graph.

The graph maps a batch of raw observations (the env's own dtype and shape; scaling and flattening are inside) to
  action_params  [batch, sum(nvec)] logits of each action dimension, one after another (Discrete: nvec = [n]),
                 or [batch, n] the Gaussian mean of a Box action (its std is exp(log_std), a constant), or
                 with `[policy] state_dependent_std` [batch, 2n]: the mean, then the log std;
  value          [batch] the value estimate;
  action         with `[policy] tanh_squash` only: [batch, n] the greedy Box action, the mean squashed into the Box;
and, for a recurrent policy, takes its state (`lstm_h`, `lstm_c` for LSTMWrapper, `gru_h` for GRUWrapper,
`mingru_h` for MinGRUWrapper; each [batch, num_layers * hidden]) and also returns it after the step (`lstm_h_out`,
...). Start from zeros, and zero an agent's state when its episode ends.

For an env with legal-action masks (docs/policies.md) the graph takes one more input, last: `action_mask` [batch,
sum(nvec)] bool, True where an action is legal (the env's `action_masks` rows), and `action_params` then holds -1e9
for every illegal choice, so an argmax or a softmax sample over it only takes legal actions. A row (or an action
dimension) with no legal choice counts as all legal; feed all True to act unmasked.

It is written with PyTorch's TorchScript-based exporter (the torch.export-based one needs the onnxscript package),
then checked: onnxruntime must reproduce PyTorch's outputs on observations taken from the env, or nothing is
written. Default output: the model file's path with .onnx instead of .pt.
"""
import os
import sys
import warnings
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from pufferlib.runs import saved_policy
from pufferlib.actor import Actor
from pufferlib.exceptions import APIUsageError, PufferError

OPTION_DEFAULTS = dict(load_model_path=None, output=None)
OPSET = 17
TOLERANCE = 1e-4       # absolute and relative, float32 through two runtimes
CHECK_ROWS = 32        # observations the ONNX graph is checked on


class ExportError(PufferError, RuntimeError):
    """The policy could not be exported, or the exported graph does not reproduce PyTorch's outputs."""


@dataclass
class ExportResult:
    path: str
    input_names: list
    output_names: list
    max_difference: float   # largest |onnxruntime - PyTorch| over the checked outputs; None if not checked
    model_path: str


class OnnxPolicy(nn.Module):
    """The Actor's single-step forward pass (pufferlib.actor) with plain tensors in and out, as ONNX needs."""

    def __init__(self, actor, action_mask=False):
        super().__init__()
        self.policy = actor.policy  # a submodule, so that its weights are the graph's
        self.actor = actor
        self.action_mask = action_mask  # the last input is the legal-action mask

    def forward(self, observations, *inputs):
        state = inputs[:-1] if self.action_mask else inputs
        params, value, state = self.actor.forward(observations, state or None)
        if self.action_mask:
            params = self.policy.action_head.masked(params, inputs[-1])
        squashed = (self.policy.action_head.greedy(params),) if tanh_squashed(self.policy) else ()
        return (params, value, *squashed) if state is None else (params, value, *squashed, *state)


def tanh_squashed(policy):
    return getattr(policy.action_head, 'tanh_squash', False)


def export(config, options=None):
    """Write `options.load_model_path`'s policy as ONNX to `options.output` and check it; see the module docstring."""
    options = SimpleNamespace(**{**OPTION_DEFAULTS, **vars(options or SimpleNamespace())})
    if not options.load_model_path:
        raise APIUsageError('puffer export needs --load-model-path: latest, a run directory or a .pt file')
    model_path = saved_policy.find_model(options.load_model_path, config)
    config, _ = saved_policy.config_for_model(config, model_path)
    output = str(options.output or os.path.splitext(model_path)[0] + '.onnx')
    seed = config['vec']['seed']
    env = saved_policy.make_env(config, seed, **saved_policy.single_env_overrides(config))
    try:
        policy = saved_policy.load_policy(config, env, model_path)
        observations, action_masks = sample_rows(env, seed, CHECK_ROWS)
    finally:
        env.close()
    module = OnnxPolicy(Actor(policy, env.single_action_space), action_masks is not None).eval()
    inputs, input_names, output_names = example_inputs(policy, observations, action_masks)

    folder = os.path.dirname(os.path.abspath(output))
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f'.{os.path.basename(output)}.{os.getpid()}.tmp')
    try:
        write_onnx(module, inputs, input_names, output_names, temporary)
        describe(temporary, config, env, model_path)
        difference = check_with_onnxruntime(module, inputs, input_names, output_names, temporary)
        os.replace(temporary, output)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    checked = 'not checked: pip install onnxruntime' if difference is None else \
        f'onnxruntime matches PyTorch (max difference {difference:.2e})'
    print(f'puffer export: wrote {output} (inputs {", ".join(input_names)}; outputs {", ".join(output_names)}; '
          f'{checked})', file=sys.stderr)
    return ExportResult(output, input_names, output_names, difference, model_path)


def sample_observations(env, seed, rows):
    """`rows` observation rows met by random actions: realistic inputs for checking the graph."""
    return sample_rows(env, seed, rows)[0]


def sample_rows(env, seed, rows):
    """`rows` observation rows met by random actions, and their legal-action masks (None for an env without)."""
    space = env.action_space
    space.seed(seed)
    env.reset(seed=seed)
    masks = getattr(env, 'action_masks', None)
    collected = [env.observations.copy()]
    collected_masks = [] if masks is None else [masks.copy()]
    while sum(len(block) for block in collected) < rows:
        env.actions[:] = np.asarray(space.sample(), dtype=env.actions.dtype).reshape(env.actions.shape)
        env.step(env.actions)
        collected.append(env.observations.copy())
        if masks is not None:
            collected_masks.append(masks.copy())
    observations = torch.from_numpy(np.concatenate(collected)[:rows])
    return observations, None if masks is None else torch.from_numpy(np.concatenate(collected_masks)[:rows])


def example_inputs(policy, observations, action_masks=None):
    """(inputs, input names, output names); a recurrent policy's state inputs hold random values, so the check
    covers a state that is not all zeros. `action_masks`: the legal-action mask input, last."""
    outputs = ['action_params', 'value', *(['action'] if tanh_squashed(policy) else [])]
    mask = () if action_masks is None else (action_masks,)
    mask_name = [] if action_masks is None else ['action_mask']
    if not policy.is_recurrent:
        return (observations, *mask), ['observations', *mask_name], outputs
    generator = torch.Generator().manual_seed(0)
    state = [torch.randn(tensor.shape, generator=generator) for tensor in policy.initial_state(len(observations),
                                                                                               'cpu')]
    return ((observations, *state, *mask), ['observations', *policy.state_names, *mask_name],
            [*outputs, *(f'{name}_out' for name in policy.state_names)])


def write_onnx(module, inputs, input_names, output_names, path):
    batch = {0: 'batch'}
    try:
        with warnings.catch_warnings():
            # The TorchScript-based exporter is deprecated in favour of one that needs onnxscript; it still works.
            warnings.simplefilter('ignore', DeprecationWarning)
            torch.onnx.export(module, inputs, path, dynamo=False, opset_version=OPSET, input_names=input_names,
                              output_names=output_names,
                              dynamic_axes={name: batch for name in input_names + output_names})
    except Exception as error:  # the exporter raises many types; any of them means this policy cannot be exported
        raise ExportError(f'torch.onnx.export failed for {type(module.policy).__name__}: '
                          f'{type(error).__name__}: {str(error).strip().splitlines()[0]}') from error


def describe(path, config, env, model_path):
    """Validate the graph and record what it is for in its metadata (when the onnx package is installed)."""
    try:
        import onnx
    except ImportError:
        return
    model = onnx.load(path)
    onnx.checker.check_model(model)
    space = env.single_observation_space
    metadata = {
        'pufferlib.env_name': str(config['base']['env_name']),
        'pufferlib.policy': f'{config["base"]["policy_name"]} rnn={config["base"]["rnn_name"]}',
        'pufferlib.observation': f'{list(space.shape)} {space.dtype}',
        'pufferlib.action_space': str(env.single_action_space),
        **({'pufferlib.action_mask': 'input action_mask: bool [batch, sum(nvec)], True = legal; illegal '
            'action_params are -1e9'} if getattr(env, 'has_action_masks', False) else {}),
        'pufferlib.model_path': str(model_path),
    }
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, path)


def check_with_onnxruntime(module, inputs, input_names, output_names, path):
    """Largest |onnxruntime - PyTorch| over every output; an ExportError when beyond TOLERANCE. None when
    onnxruntime is not installed."""
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])
    got = session.run(output_names, {name: tensor.numpy() for name, tensor in zip(input_names, inputs)})
    with torch.inference_mode():
        expected = [tensor.numpy() for tensor in module(*inputs)]
    largest = 0.0
    for name, onnx_value, torch_value in zip(output_names, got, expected):
        if onnx_value.shape != torch_value.shape:
            raise ExportError(f'ONNX output {name} has shape {onnx_value.shape}, PyTorch {torch_value.shape}')
        largest = max(largest, float(np.abs(onnx_value - torch_value).max(initial=0.0)))
        if not np.allclose(onnx_value, torch_value, rtol=TOLERANCE, atol=TOLERANCE):
            raise ExportError(f'the ONNX graph does not reproduce PyTorch: output {name} differs by up to '
                              f'{np.abs(onnx_value - torch_value).max():.3g}; nothing was written')
    return largest
