"""Checkpoints and model files: written atomically, loaded weights-only.

A checkpoint is a plain dict of tensors, numbers and strings saved with torch.save, so it loads with
`torch.load(weights_only=True)`: loading a file never runs code from it. Writes go to a temporary file in the same
folder, are flushed to disk, then renamed over the old file: a kill at any moment leaves either the previous file
or the new one, never a torn one.
"""
import glob
import os

import numpy as np
import torch

from pufferlib.exceptions import APIUsageError, ConfigError

CHECKPOINT_FILE = 'checkpoint.pt'
MODEL_FILE = 'model.pt'


def temporary_path(path, pid):
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f'.{name}.{pid}.tmp')


def save_atomic(obj, path):
    """torch.save `obj` to `path` so that readers only ever see a complete file."""
    folder = os.path.dirname(os.path.abspath(path))
    for stale in glob.glob(temporary_path(path, '*')):  # left by a writer that was killed mid-write
        os.remove(stale)
    temporary = temporary_path(path, os.getpid())
    try:
        with open(temporary, 'wb') as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    # Persist the rename itself, so a power loss cannot bring back the old directory entry.
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def load(path, device='cpu'):
    """Load a checkpoint or model file without unpickling arbitrary objects."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise APIUsageError(f'no such checkpoint or model file: {path}') from None


def map_leaves(obj, kind, convert):
    """`obj` with every value of type `kind` inside nested dicts/lists replaced by convert(value)."""
    if isinstance(obj, kind):
        return convert(obj)
    if isinstance(obj, dict):
        return {key: map_leaves(value, kind, convert) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [map_leaves(value, kind, convert) for value in obj]
    return obj


def arrays_to_tensors(obj):
    """numpy arrays inside nested dicts/lists as tensors, so that weights-only loading accepts them."""
    return map_leaves(obj, np.ndarray, lambda array: torch.from_numpy(np.ascontiguousarray(array)))


def tensors_to_arrays(obj):
    """The inverse of arrays_to_tensors."""
    return map_leaves(obj, torch.Tensor, lambda tensor: tensor.cpu().numpy())


def model_state(saved):
    """The policy state_dict inside a loaded model file (a bare state_dict) or checkpoint (its 'model' entry)."""
    if isinstance(saved, dict) and isinstance(saved.get('model'), dict):
        return saved['model']
    return saved


def newest_model(env_dir):
    """Newest model.pt or checkpoint.pt under the runs of one env (`data_dir/<env>`), or None."""
    candidates = [path for name in (MODEL_FILE, CHECKPOINT_FILE)
                  for path in glob.glob(os.path.join(env_dir, '*', name))]
    return max(candidates, key=os.path.getmtime) if candidates else None


def resolve_model_path(spec, env_dir):
    """`--load-model-path`: 'latest' (newest model of this env), a run directory, or a .pt file."""
    if spec == 'latest':
        path = newest_model(env_dir)
        if path is None:
            raise ConfigError(f'--load-model-path latest: no trained model under {env_dir}; '
                              'train one first or pass a path to a .pt file')
        return path
    if os.path.isdir(spec):
        for name in (MODEL_FILE, CHECKPOINT_FILE):
            if os.path.exists(os.path.join(spec, name)):
                return os.path.join(spec, name)
        raise ConfigError(f'--load-model-path {spec}: the folder holds neither {MODEL_FILE} nor {CHECKPOINT_FILE}')
    if not os.path.exists(spec):
        raise ConfigError(f'--load-model-path {spec}: no such file; pass a .pt file, a run directory or latest')
    return spec


def load_policy_weights(policy, path):
    """Copy the weights saved at `path` into `policy`; a model of another shape is a ConfigError naming both."""
    state = model_state(load(path))
    try:
        policy.load_state_dict(state)
    except RuntimeError as error:
        raise ConfigError(f'the model at {path} does not fit this policy (different [policy]/[rnn] settings or '
                          f'environment?): {str(error).splitlines()[0]}') from None
    return path
