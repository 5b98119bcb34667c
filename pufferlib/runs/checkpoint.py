"""Reading and writing `.pt` files: written atomically, read weights-only, through one path with one set of errors.

A checkpoint or model file is a plain dict of tensors, numbers and strings saved with torch.save, so it loads with
`torch.load(weights_only=True)`: loading a file never runs code from it. Every `.pt` the project opens goes through
`read` (files that are missing, torn, not PyTorch files, or would need the full unpickler become a
`CheckpointError` naming the file and what is wrong), and a training checkpoint is then checked by
`read_checkpoint` before any of it is used. Writes go to a per-writer temporary file in the same folder, are
flushed to disk, then renamed over the old file: a kill at any moment leaves either the previous file or the new
one, never a torn one.
"""
import glob
import os
import pickle
import pickletools
import re
import warnings

import numpy as np
import torch

from pufferlib.exceptions import PufferError

CHECKPOINT_FILE = 'checkpoint.pt'   # the single checkpoint of run folders written before checkpoint histories
MODEL_FILE = 'model.pt'


class CheckpointError(PufferError, RuntimeError):
    """A file that cannot be read as a pufferlib model or checkpoint (missing, corrupt, truncated, wrong format)."""


class UnsafeCheckpointError(CheckpointError):
    """A file holding pickled Python objects beyond tensors and plain data: loading it could run code."""


# ----------------------------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------------------------

def temporary_path(path, pid):
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f'.{name}.{pid}.tmp')


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def remove_orphaned_temporaries(path):
    """Delete temporary files of `path` left by writers that died mid-write; a live writer's file is its own."""
    for stale in glob.glob(temporary_path(path, '*')):
        match = re.search(r'\.(\d+)\.tmp$', stale)
        if match and int(match.group(1)) != os.getpid() and pid_alive(int(match.group(1))):
            continue
        try:
            os.remove(stale)
        except FileNotFoundError:
            pass


def fsync_folder(folder):
    """Persist renames and deletions in `folder`, so a power loss cannot bring back an old directory entry."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def save_atomic(obj, path):
    """torch.save `obj` to `path` so that readers only ever see a complete file."""
    remove_orphaned_temporaries(path)
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
    fsync_folder(os.path.dirname(os.path.abspath(path)))


# ----------------------------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------------------------

def read(path, device='cpu'):
    """The object saved at `path`, loaded weights-only; CheckpointError (or UnsafeCheckpointError) otherwise."""
    if not os.path.exists(path):
        raise CheckpointError(f'no such model or checkpoint file: {path}')
    if not os.path.isfile(path):
        raise CheckpointError(f'{path} is not a file')
    try:
        with warnings.catch_warnings():
            # torch warns about the pickle protocol of foreign files before failing on them; the error says it all.
            warnings.simplefilter('ignore', UserWarning)
            return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as error:
        raise refusal(path, error) from None
    except (RuntimeError, KeyError, EOFError, ValueError, TypeError, OSError, AttributeError, IndexError,
            MemoryError, OverflowError, UnicodeDecodeError) as error:
        raise CheckpointError(f'cannot read {path} as a PyTorch file ({type(error).__name__}: {first_line(error)}); '
                              'is it a model.pt or checkpoint written by `puffer train`?') from None


def load(path, device='cpu'):
    """Kept for callers of the old name: `read`."""
    return read(path, device)


def refusal(path, error):
    """The error for a file the weights-only unpickler refused: unsafe when it would import Python objects, else
    simply not a model file."""
    message = str(error)
    imports = re.findall(r'GLOBAL ([\w.]+)', message)
    if not imports and 'Unsupported operand' in message:  # not torch.save's format: a raw pickle, or no pickle
        imports = pickled_imports(path)
        if not imports:
            what = 'a plain pickle' if imports is not None else 'not a pickle'
            return CheckpointError(f'cannot read {path}: it is {what}, not a model.pt / checkpoint written by '
                                   '`puffer train` (torch.save)')
    reason = f'unpickling it would call {", ".join(imports[:3])}' if imports else first_line(error)
    return UnsafeCheckpointError(
        f'refusing to load {path}: it holds pickled Python objects other than tensors and plain data ({reason}), '
        'and reading those could run code stored in the file. Only weights-only files (the model.pt / '
        'checkpoints that `puffer train` writes) are loaded.')


def pickled_imports(path):
    """'module.name' of every object a pickle file imports, read from its opcodes without running any of them;
    None if the file is not a well-formed pickle."""
    imports, strings = [], []
    try:
        with open(path, 'rb') as file:
            for opcode, argument, _ in pickletools.genops(file):
                if opcode.name in ('GLOBAL', 'INST'):
                    imports.append(argument.replace(' ', '.'))
                elif opcode.name == 'STACK_GLOBAL':  # module and name are the two strings pushed just before
                    imports.append('.'.join(strings[-2:]) or 'an object named at run time')
                elif isinstance(argument, str):
                    strings.append(argument)
    except (ValueError, EOFError, UnicodeDecodeError):
        return None
    return imports


def first_line(error):
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]


def model_state(saved):
    """The policy state_dict inside a loaded model file (a bare state_dict) or checkpoint (its 'model' entry)."""
    if isinstance(saved, dict) and isinstance(saved.get('model'), dict):
        return saved['model']
    return saved


def is_state_dict(value):
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                           for k, v in value.items())


def read_weights(path):
    """The policy state_dict saved at `path` (a model file or a training checkpoint)."""
    state = model_state(read(path))
    if not is_state_dict(state):
        raise CheckpointError(f'{path} holds no policy weights (expected a state_dict of tensors, or a checkpoint '
                              f'with a "model" entry; found {type(state).__name__})')
    return state


# The entries every training checkpoint has, with their types; read_checkpoint checks them before use.
CHECKPOINT_ENTRIES = {'model': dict, 'optimizers': list, 'counters': dict, 'rng': dict}
COUNTERS = {'epoch': int, 'global_step': int, 'uptime': (int, float)}


def read_checkpoint(path, device='cpu'):
    """A training checkpoint at `path`, its structure checked: CheckpointError naming the first missing or
    mistyped entry. (The env state inside is checked field by field when the envs restore it.)"""
    state = read(path, device)
    if not isinstance(state, dict):
        raise CheckpointError(f'{path} is not a training checkpoint (found a {type(state).__name__}); pass a run '
                              'folder or a checkpoint written by `puffer train`')
    problems = [f'"{key}" is missing' if key not in state else f'"{key}" is a {type(state[key]).__name__}'
                for key, kind in CHECKPOINT_ENTRIES.items() if not isinstance(state.get(key), kind)]
    if not problems:
        if not is_state_dict(state['model']):
            problems.append('"model" is not a state_dict of tensors')
        counters = state['counters']
        problems += [f'counters.{key} is missing or not a number' for key, kind in COUNTERS.items()
                     if not isinstance(counters.get(key), kind) or isinstance(counters.get(key), bool)]
        if not problems and (state['counters']['epoch'] < 0 or state['counters']['global_step'] < 0):
            problems.append('the counters are negative')
        if not isinstance(state['rng'].get('torch'), torch.Tensor) or state['rng']['torch'].dtype != torch.uint8:
            problems.append('rng.torch is not a byte tensor')
        ranks = state.get('ranks')  # ranks 1..N-1's own envs in a data-parallel run (pufferlib.distributed)
        if ranks is not None and (not isinstance(ranks, list) or not all(isinstance(part, dict) for part in ranks)):
            problems.append('"ranks" is not a list of each rank\'s env state')
    if problems:
        model_only = ' (it looks like a model file: use --train.init-path to start from its weights)' \
            if is_state_dict(state) else ''
        raise CheckpointError(f'{path} is not a usable training checkpoint: {"; ".join(problems[:4])}{model_only}')
    return state


# ----------------------------------------------------------------------------------------------------------------
# numpy inside checkpoints
# ----------------------------------------------------------------------------------------------------------------

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


# ----------------------------------------------------------------------------------------------------------------
# Env state written by other versions of the envs
# ----------------------------------------------------------------------------------------------------------------

# What names the envs a snapshot belongs to: a difference means other envs, not damaged data.
ENV_IDENTITY = ('env', 'num_envs', 'params')
# The C state starts with the magic "PFFS" and its format version (uint32 each; ocean/vecenv.h).
C_STATE_MAGIC = np.frombuffer(b'PFFS', np.uint8)


def env_state_misfit(saved, live, where='envs'):
    """Why the env snapshot `saved` (numpy, from a checkpoint) cannot be meant for the envs whose fresh snapshot
    is `live`: other envs, parameters, buffers, shapes or C state size or format version, as written by an older
    build (e.g. connect4 before action masks). None when both have one layout, so that envs refusing `saved` means
    damaged or tampered values. Nothing of `saved` is used here, only its structure."""
    if isinstance(live, dict):
        if not isinstance(saved, dict):
            return f'{where} is a {type(saved).__name__}, not a dict'
        if set(saved) != set(live):
            missing, extra = sorted(set(live) - set(saved)), sorted(set(saved) - set(live))
            return f'{where} has {"no " + ", ".join(missing) if missing else ""}' \
                   f'{"; " if missing and extra else ""}{"extra " + ", ".join(extra) if extra else ""}'
        for key in ENV_IDENTITY:
            if key in live and not values_equal(saved[key], live[key]):
                return f'{where}.{key} is {saved[key]!r}, these envs have {live[key]!r}'
        for key in live:
            if key not in ENV_IDENTITY:
                problem = env_state_misfit(saved[key], live[key], f'{where}.{key}')
                if problem:
                    return problem
        return None
    if isinstance(live, (list, tuple)):
        if not isinstance(saved, (list, tuple)) or len(saved) != len(live):
            return f'{where} holds {len(saved) if isinstance(saved, (list, tuple)) else "no list of"} env ' \
                   f'states, these envs {len(live)}'
        for index, (saved_item, live_item) in enumerate(zip(saved, live)):
            problem = env_state_misfit(saved_item, live_item, f'{where}[{index}]')
            if problem:
                return problem
        return None
    if isinstance(live, np.ndarray):
        if not isinstance(saved, np.ndarray):
            return f'{where} is a {type(saved).__name__}, not an array'
        if saved.shape != live.shape or saved.dtype != live.dtype:
            return f'{where} is {saved.dtype}{list(saved.shape)}, these envs have {live.dtype}{list(live.shape)}'
        if where.endswith('.c_state') and live.size >= 8 and np.array_equal(live[:4], C_STATE_MAGIC) \
                and np.array_equal(saved[:4], C_STATE_MAGIC) and not np.array_equal(saved[4:8], live[4:8]):
            return f'{where} is of format version {c_state_version(saved)}, these envs write {c_state_version(live)}'
    return None


def c_state_version(state):
    return int(np.frombuffer(state[4:8].tobytes(), np.uint32)[0])


def values_equal(a, b):
    try:
        return bool(a == b)
    except (ValueError, TypeError):  # arrays compare element-wise
        return False
