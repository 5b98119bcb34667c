"""Where runs live and who they are: `data_dir/<env identity>/<experiment>/`.

A run's identity is its env identity plus its experiment name. The env identity is the env name plus what it
plays when one package config serves many envs: `puffer_breakout`, `atari_pong`, `gymnasium-CartPole-v1`,
`pettingzoo-butterfly_knights_archers_zombies-v11`. So `latest` means the newest run of *that* env, never the newest
run of whatever Gymnasium env ran last. The experiment name is `--train.experiment NAME`, by default the env name
plus the start time.

A run folder holds:

    config.ini          the fully resolved config
    run.json            identity, status (running / finished / interrupted / crashed), progress, best score
    metrics.jsonl       one JSON row per epoch
    events.out.tfevents.*  the same rows for TensorBoard, and the config as text
    checkpoints/        checkpoint_<step>.pt (the newest keep_checkpoints), milestone_<step>.pt (kept forever)
    best_model.pt       weights with the best running mean of save_best_metric, best_model.json beside it
    model.pt            the final weights
    .lock               held by the one process writing the run

Folders written before checkpoint histories (`checkpoint.pt` at the top, run ids that are bare start times, all
Gymnasium envs under `gymnasium/`) are still found, listed and resumed.
"""
import json
import os
import re
import time

from pufferlib.runs.checkpoint import CHECKPOINT_FILE, MODEL_FILE, fsync_folder

CONFIG_FILE = 'config.ini'
METRICS_FILE = 'metrics.jsonl'
RUN_FILE = 'run.json'
BEST_MODEL_FILE = 'best_model.pt'
BEST_INFO_FILE = 'best_model.json'
CHECKPOINT_DIR = 'checkpoints'
LOCK_FILE = '.lock'
# Names `--resume` and `--load-model-path` give a meaning of their own.
RESERVED_NAMES = ('latest', 'best', 'auto')
NAME_PATTERN = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,119}$')
MULTI_ENV_PACKAGES = ('gymnasium', 'pettingzoo')


def slug(text):
    """`text` as one safe path component."""
    return re.sub(r'[^A-Za-z0-9_.+-]+', '_', str(text)).strip('._') or 'env'


def env_folder_name(env_name):
    """The first alias of an env name (a config may list several names)."""
    return str(env_name).split()[0]


def env_identity(config):
    """The env identity of a config: its folder under data_dir (see the module docstring)."""
    base, env = config['base'], config.get('env', {})
    name = env_folder_name(base['env_name'])
    if base.get('package') == 'atari':
        game = env.get('game')
        if game not in (None, '', 'None'):
            return 'atari_' + slug(str(game).lower().replace(' ', '_'))
        return name if name.startswith('atari_') else 'atari_breakout'
    if base.get('package') in MULTI_ENV_PACKAGES and env.get('name') not in (None, ''):
        return f'{name}-{slug(env["name"])}'
    return name


def env_dir(data_dir, identity):
    return os.path.join(data_dir, identity)


def legacy_env_dirs(data_dir, config):
    """Folders where runs of this env were written before env identities: the plain env name's folder."""
    identity = env_identity(config)
    folder = env_folder_name(config['base']['env_name'])
    return [env_dir(data_dir, folder)] if folder != identity else []


def default_experiment(identity):
    return f'{identity}_{time.strftime("%Y%m%d_%H%M%S")}'


def check_experiment_name(name):
    """A ConfigError-style problem for an experiment name that cannot be a folder name, or None."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or name in RESERVED_NAMES or name.isdigit():
        shown = str(name)[:60]
        return (f'train.experiment = {shown!r} cannot name a run: use 1-120 letters, digits and _ . - + @, starting '
                f'with a letter or digit, not all digits, and none of {", ".join(RESERVED_NAMES)}')
    return None


def write_config(run_dir, ini_text):
    """The run's config.ini, replaced whole (a reader never sees half of it)."""
    temporary = os.path.join(run_dir, f'.{CONFIG_FILE}.{os.getpid()}.tmp')
    with open(temporary, 'w') as file:
        file.write(ini_text)
    os.replace(temporary, os.path.join(run_dir, CONFIG_FILE))


# ----------------------------------------------------------------------------------------------------------------
# run.json
# ----------------------------------------------------------------------------------------------------------------

def write_json_atomic(path, data):
    temporary = f'{path}.{os.getpid()}.tmp'
    with open(temporary, 'w') as file:
        json.dump(data, file, indent=1)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    fsync_folder(os.path.dirname(os.path.abspath(path)))


def read_json(path):
    """A small JSON file written by this package, or {} when it is missing or unreadable."""
    try:
        if os.path.getsize(path) > 1 << 20:
            return {}
        with open(path) as file:
            data = json.load(file)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def read_info(run_dir):
    return read_json(os.path.join(run_dir, RUN_FILE))


def update_info(run_dir, **changes):
    """Merge `changes` into run.json (only the run's writer calls this, under its lock)."""
    info = read_info(run_dir)
    info.update(changes)
    info['updated'] = time.time()
    write_json_atomic(os.path.join(run_dir, RUN_FILE), info)
    return info


def created_time(run_dir):
    """When a run started: run.json's record, else the folder's own time (runs from before run.json)."""
    created = read_info(run_dir).get('created')
    if isinstance(created, (int, float)):
        return created
    config = os.path.join(run_dir, CONFIG_FILE)
    return os.path.getmtime(config if os.path.exists(config) else run_dir)


def is_run_dir(path):
    return os.path.isdir(path) and any(os.path.exists(os.path.join(path, name))
                                       for name in (RUN_FILE, CONFIG_FILE, CHECKPOINT_FILE, MODEL_FILE))


def run_dirs_in(folder):
    """Run folders directly inside an env folder, oldest first."""
    if not os.path.isdir(folder):
        return []
    found = [os.path.join(folder, name) for name in os.listdir(folder)
             if not name.startswith('.') and is_run_dir(os.path.join(folder, name))]
    return sorted(found, key=lambda path: (created_time(path), os.path.basename(path)))
