"""Configuration: INI files layered into one plain dict (section -> key -> typed value), validated up front.

Sources, lowest to highest precedence (docs/architecture.md §2):
    config/default.ini  <  the environment's .ini  <  --config FILE (repeatable)  <  command-line flags
Values are typed by the default's type. Problems are collected and raised together as one ConfigError, each naming
the key, the value and what would be valid.
"""
import difflib
import glob
import math
import os
import re
import stat
from dataclasses import dataclass, field

from pufferlib import schedules
from pufferlib.exceptions import ConfigError, EnvironmentSetupError

SECTIONS = ('base', 'vec', 'env', 'policy', 'rnn', 'train', 'sweep', 'bc', 'selfplay')
# Keys of these sections are defined by the environment / policy, not by default.ini.
OPEN_SECTIONS = ('env', 'policy', 'rnn')
SWEEP_PREFIX = 'sweep.'
# [reward.<signal>] sections (pufferlib/rewards.py, docs/rewards.md): one per known signal, declared in default.ini.
REWARD_PREFIX = 'reward.'
SWEEP_SPACE_KEYS = ('distribution', 'min', 'max', 'mean', 'scale')
DISTRIBUTIONS = ('uniform', 'int_uniform', 'uniform_pow2', 'log_normal', 'logit_normal')
SCHEDULES = schedules.KINDS
# [train] keys replaced by the schedules, typed by their old defaults. Config files and run folders written before
# still load: each source's old keys are translated into the new ones (migrate_train_keys).
OLD_TRAIN_KEYS = {'anneal_lr': True, 'min_lr_ratio': 0.0, 'min_ent_ratio': 1.0}
NEW_SCHEDULE_KEYS = 'train.lr_schedule, lr_final_ratio, ent_schedule and ent_final_ratio'

# Keys whose default is `auto`, with the type a non-auto value must have.
AUTO_TYPES = {
    ('vec', 'num_workers'): int,
    ('vec', 'batch_size'): int,
    ('train', 'batch_size'): int,
    ('train', 'bptt_horizon'): int,
    ('train', 'device'): str,
    ('reward.extrinsic', 'gamma'): float,  # auto: train.gamma
}
CHOICES = {
    ('vec', 'backend'): ('Serial', 'Multiprocessing', 'Ray', 'PufferEnv'),
    ('train', 'optimizer'): ('adam', 'muon'),
    ('train', 'precision'): ('float32', 'bfloat16'),
    ('train', 'compile_mode'): ('default', 'reduce-overhead', 'max-autotune', 'max-autotune-no-cudagraphs'),
    ('sweep', 'method'): ('Protein', 'Random', 'PBT'),
    ('sweep', 'goal'): ('maximize', 'minimize'),
    ('sweep', 'backend'): ('local', 'ray'),
    ('train', 'restart_behavior'): ('resume', 'restart', 'overwrite'),
    ('train', 'lr_schedule'): SCHEDULES,
    ('train', 'ent_schedule'): SCHEDULES,
    ('train', 'clip_schedule'): SCHEDULES,
    ('train', 'vf_clip_schedule'): SCHEDULES,
    ('train', 'policy_mapping'): ('team', 'env'),
}
AT_LEAST_ONE = {
    ('vec', 'num_envs'), ('vec', 'num_workers'), ('vec', 'batch_size'), ('train', 'total_timesteps'),
    ('train', 'batch_size'), ('train', 'bptt_horizon'), ('train', 'minibatch_size'),
    ('train', 'max_minibatch_size'), ('train', 'update_epochs'), ('train', 'checkpoint_interval'),
    ('train', 'keep_checkpoints'), ('train', 'world_size'), ('train', 'num_policies'),
    ('sweep', 'max_runs'), ('sweep', 'workers'), ('sweep', 'curve_points'), ('sweep', 'candidates_per_point'),
    ('sweep', 'pbt_period_steps'),
    ('reward.rnd', 'hidden_size'), ('reward.rnd', 'output_size'),
    ('reward.curiosity', 'encoding_size'), ('reward.curiosity', 'hidden_size'),
    ('reward.gail', 'encoding_size'), ('reward.gail', 'hidden_size'), ('bc', 'batch_size'), ('bc', 'num_epoch'),
}
# (low, high, low inclusive, high inclusive)
RANGES = {
    ('train', 'learning_rate'): (0, math.inf, False, True),
    ('train', 'lr_final_ratio'): (0, 1, True, True),
    ('train', 'lr_adaptive_kl'): (0, math.inf, True, False),
    ('train', 'lr_adaptive_min'): (0, math.inf, False, False),
    ('train', 'lr_adaptive_max'): (0, math.inf, False, False),
    ('train', 'adam_beta1'): (0, 1, True, False),
    ('train', 'adam_beta2'): (0, 1, True, False),
    ('train', 'adam_eps'): (0, math.inf, False, True),
    ('train', 'max_grad_norm'): (0, math.inf, False, True),
    ('train', 'gamma'): (0, 1, True, True),
    ('train', 'gae_lambda'): (0, 1, True, True),
    ('train', 'clip_coef'): (0, math.inf, True, True),
    ('train', 'vf_coef'): (0, math.inf, True, True),
    ('train', 'vf_clip_coef'): (0, math.inf, True, True),
    ('train', 'ent_coef'): (0, math.inf, True, True),
    ('train', 'ent_final_ratio'): (0, 1, True, True),
    ('train', 'clip_final_ratio'): (0, 1, True, True),
    ('train', 'vf_clip_final_ratio'): (0, 1, True, True),
    ('train', 'vtrace_rho_clip'): (0, math.inf, False, True),
    ('train', 'vtrace_c_clip'): (0, math.inf, False, True),
    ('train', 'prio_alpha'): (0, math.inf, True, True),
    ('train', 'prio_beta0'): (0, 1, True, True),
    ('train', 'obs_norm_clip'): (0, math.inf, False, True),
    ('train', 'obs_scale'): (0, math.inf, False, False),
    ('train', 'obs_subtract_mean'): (-math.inf, math.inf, False, False),
    ('train', 'reward_scale'): (0, math.inf, False, False),
    ('train', 'reward_clip'): (0, math.inf, True, True),
    ('sweep', 'max_suggestion_cost'): (0, math.inf, False, True),
    ('vec', 'timeout'): (0, math.inf, True, True),
    ('vec', 'check_spaces'): (0, math.inf, True, True),
    ('train', 'train_seconds'): (0, math.inf, True, True),
    ('train', 'checkpoint_seconds'): (0, math.inf, True, True),
    ('train', 'milestone_seconds'): (0, math.inf, True, True),
    ('sweep', 'random_warmup'): (0, math.inf, True, True),
    ('sweep', 'replace_fraction'): (0, 0.5, False, True),
    ('sweep', 'mutation_rate'): (0, 1, True, True),
    ('sweep', 'resample_rate'): (0, 1, True, True),
    ('sweep', 'perturb_min'): (1, math.inf, True, False),
    ('sweep', 'perturb_max'): (1, math.inf, True, False),
    ('reward.extrinsic', 'strength'): (0, math.inf, True, False),
    ('reward.extrinsic', 'gamma'): (0, 1, True, True),
    ('reward.rnd', 'strength'): (0, math.inf, True, False),
    ('reward.rnd', 'gamma'): (0, 1, True, True),
    ('reward.rnd', 'learning_rate'): (0, math.inf, False, False),
    ('reward.curiosity', 'strength'): (0, math.inf, True, False),
    ('reward.curiosity', 'gamma'): (0, 1, True, True),
    ('reward.curiosity', 'learning_rate'): (0, math.inf, False, False),
    ('reward.gail', 'strength'): (0, math.inf, True, False),
    ('reward.gail', 'gamma'): (0, 1, True, True),
    ('reward.gail', 'learning_rate'): (0, math.inf, False, False),
    ('reward.gail', 'gradient_penalty'): (0, math.inf, True, False),
    ('bc', 'strength'): (0, math.inf, True, False),
    ('bc', 'steps'): (0, math.inf, True, False),
    ('bc', 'pretrain_steps'): (0, math.inf, True, False),
    ('bc', 'samples_per_update'): (0, math.inf, True, False),
    ('selfplay', 'save_steps'): (1, math.inf, True, False),
    ('selfplay', 'window'): (1, math.inf, True, False),
    ('selfplay', 'play_against_latest'): (0, 1, True, True),
    ('selfplay', 'swap_steps'): (1, math.inf, True, False),
    ('selfplay', 'team_change'): (0, math.inf, True, False),
    ('selfplay', 'elo_k'): (0, math.inf, False, False),
    ('selfplay', 'elo_initial'): (-math.inf, math.inf, False, False),
    ('selfplay', 'opponent_random'): (0, 1, True, True),
}
# Largest accepted value of each count: far above any real run, low enough that checking and suggesting stay instant
# and nothing allocates absurd buffers. docs/config.md lists them.
MAXIMA = {
    ('vec', 'num_envs'): 2**16,
    ('vec', 'num_workers'): 2**12,
    ('vec', 'batch_size'): 2**16,
    ('vec', 'seed'): 2**32 - 1,
    ('vec', 'check_spaces'): 2**31 - 1,
    ('train', 'seed'): 2**32 - 1,          # numpy's seeds are 32-bit
    ('train', 'total_timesteps'): 10**15,
    ('train', 'batch_size'): 2**30,
    ('train', 'bptt_horizon'): 2**20,
    ('train', 'minibatch_size'): 2**30,
    ('train', 'max_minibatch_size'): 2**30,
    ('train', 'update_epochs'): 10**4,
    ('train', 'checkpoint_interval'): 2**31 - 1,
    ('train', 'keep_checkpoints'): 10**4,
    ('train', 'world_size'): 2**16,
    ('train', 'save_best_after'): 10**15,
    ('sweep', 'max_runs'): 10**6,
    ('sweep', 'workers'): 2**10,
    ('sweep', 'random_warmup'): 10**6,
    ('sweep', 'curve_points'): 10**3,
    ('sweep', 'candidates_per_point'): 10**4,
    ('sweep', 'population_size'): 2**10,
    ('sweep', 'pbt_period_steps'): 10**15,
    ('reward.rnd', 'hidden_size'): 2**16,
    ('reward.rnd', 'output_size'): 2**16,
    ('reward.curiosity', 'encoding_size'): 2**16,
    ('reward.curiosity', 'hidden_size'): 2**16,
    ('reward.gail', 'encoding_size'): 2**16,
    ('reward.gail', 'hidden_size'): 2**16,
    ('bc', 'batch_size'): 2**24,
    ('bc', 'num_epoch'): 10**4,
    ('selfplay', 'window'): 10**4,
}
MAX_AGENT_ROWS = 2**24     # vec.num_envs x the agent rows of one env object
MAX_ENV_OBJECT_ENVS = 2**20  # [env] num_envs: envs inside one env object (Ocean, Atari)
C_INT = (-2**31, 2**31 - 1)  # Ocean parameters are C ints
# [policy] / [rnn] sizes: (smallest, largest)
MODEL_SIZES = {
    'hidden_size': (1, 2**16), 'input_size': (1, 2**16), 'num_layers': (1, 2**10), 'cnn_channels': (1, 2**12),
    'cnn_width': (1, 2**12), 'action_features': (1, 2**20), 'feature_hidden': (0, 2**16), 'cnn_layers': (1, 64),
}
# [policy] keys checked up front by a function of pufferlib.models that raises the ConfigError
POLICY_CHECKS = {'layer_sizes': 'parse_layer_sizes', 'board_shape': 'parse_board_shape',
                 'cnn_kernel': 'parse_cnn_kernel', 'cnn_padding': 'parse_cnn_padding'}
MAX_FILE_BYTES = 2**20     # config files are text written by hand or by `puffer config`
MAX_PROBLEMS = 12          # listed in one error; the rest are counted
MAX_PROBLEM_CHARS = 300
MAX_SHOWN = 60             # characters of a value quoted in a message
DEVICE_PATTERN = re.compile(r'^(auto|cpu|mps|cuda(:\d+)?)$')
SECTION_PATTERN = re.compile(r'^[a-z0-9_.]+$')
KEY_PATTERN = re.compile(r'^[a-z_][a-z0-9_]*$')


def config_dir():
    """The folder holding default.ini and the environment configs.

    An installed wheel carries them as pufferlib/config_files (setup.py maps the repository's config/ there); a source
    checkout or an editable install reads the repository's config/ directly.
    """
    package = os.path.dirname(os.path.abspath(__file__))
    installed = os.path.join(package, 'config_files')
    if os.path.exists(os.path.join(installed, 'default.ini')):
        return installed
    return os.path.join(os.path.dirname(package), 'config')


# --------------------------------------------------------------------------------------------------------------
# Reading INI text
# --------------------------------------------------------------------------------------------------------------

@dataclass
class IniFile:
    """One parsed INI source: raw string values plus the comment lines written above each key (help text)."""
    source: str
    sections: dict = field(default_factory=dict)   # section -> key -> raw string
    comments: dict = field(default_factory=dict)   # (section, key) -> comment text
    description: str = ''                          # first comment line of the file


def normalize(name):
    return name.strip().lower().replace('-', '_')


def shown(value, limit=MAX_SHOWN):
    """A value as quoted in a message (strings repr'd), cut to `limit` characters."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**limit:
        return f'{str(value)[:limit - 3]}... ({len(str(abs(value)))} digits)'
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else f'{text[:limit - 3]}...'


def cut(name, limit=40):
    """A name (of a key, section, flag) as written, cut to `limit` characters."""
    text = str(name)
    return text if len(text) <= limit else f'{text[:limit - 3]}...'


def one_line(text):
    """Escape control characters (newlines, NUL, ...) so a problem prints as one line."""
    return ''.join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def config_error(problems):
    """One ConfigError for `problems`: each made one line and cut to MAX_PROBLEM_CHARS, at most MAX_PROBLEMS listed."""
    problems = [str(p) for p in problems]
    shown_count = len(problems) if len(problems) <= MAX_PROBLEMS + 1 else MAX_PROBLEMS
    listed = []
    for problem in problems[:shown_count]:
        problem = one_line(problem)
        listed.append(problem if len(problem) <= MAX_PROBLEM_CHARS else problem[:MAX_PROBLEM_CHARS - 3] + '...')
    if len(problems) > shown_count:
        listed.append(f'... and {len(problems) - shown_count} more problems')
    return ConfigError(listed)


def parse_ini(text, source='<string>'):
    """Parse INI text strictly. Any malformed line is a ConfigError naming the file and line."""
    ini = IniFile(source)
    problems = []
    section = None
    pending = []
    seen_sections = set()
    text = text.removeprefix('\ufeff')  # a byte-order mark, as some Windows editors write
    for number, line in enumerate(text.splitlines(), start=1):
        if len(problems) >= MAX_PROBLEMS:
            problems.append(f'{source}:{number}: stopped reading after {len(problems)} problems')
            break
        where = f'{source}:{number}'
        stripped = line.strip()
        if not stripped:
            pending = []
            continue
        if stripped[0] in '#;':
            comment = stripped[1:].strip()
            if not ini.description and section is None and comment:
                ini.description = comment
            pending.append(comment)
            continue
        if stripped.startswith('['):
            pending = []
            if not stripped.endswith(']'):
                problems.append(f'{where}: section header {shown(stripped)} is missing its closing "]"')
                section = None
                continue
            name = normalize(stripped[1:-1])
            if not SECTION_PATTERN.match(name):
                problems.append(f'{where}: invalid section name {shown(stripped[1:-1])}; use letters, digits, _ and .')
                section = None
                continue
            if name in seen_sections:
                problems.append(f'{where}: section [{name}] appears twice in this file')
            seen_sections.add(name)
            section = name
            ini.sections.setdefault(name, {})
            continue
        if '=' not in stripped:
            problems.append(f'{where}: expected "[section]" or "key = value", got {shown(stripped)}')
            continue
        raw_key, raw_value = stripped.split('=', 1)
        key = normalize(raw_key)
        value = re.split(r'\s[#;]', raw_value, maxsplit=1)[0].strip()
        if section is None:
            problems.append(f'{where}: key {shown(raw_key.strip())} appears before any [section] header')
            continue
        if not KEY_PATTERN.match(key):
            problems.append(f'{where}: invalid key name {shown(raw_key.strip())}; use letters, digits and _')
            continue
        if key in ini.sections[section]:
            problems.append(f'{where}: key {key!r} appears twice in section [{section}]')
        ini.sections[section][key] = value
        if pending:
            ini.comments[(section, key)] = ' '.join(pending)
        pending = []
    if problems:
        raise config_error(problems)
    return ini


def read_ini(path):
    """Parse the INI file at `path`: a regular file of at most MAX_FILE_BYTES of UTF-8 text (a BOM is fine)."""
    where = shown(str(path))
    try:
        info = os.stat(path)  # first: opening a FIFO would wait for a writer
    except OSError as error:
        raise ConfigError(f'cannot read config file {where}: {error.strerror}') from None
    except (ValueError, UnicodeError):  # a NUL byte or an unencodable character in the path
        raise ConfigError(f'cannot read config file {where}: not a valid file name') from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f'config file {where} is a directory; pass an .ini file')
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f'config file {where} is not a regular file (a device, pipe or socket); '
                          'write the settings to an .ini file')
    if info.st_size > MAX_FILE_BYTES:
        raise ConfigError(f'config file {where} has {info.st_size} bytes; config files are limited to '
                          f'{MAX_FILE_BYTES} bytes (1 MiB)')
    try:
        with open(path, 'rb') as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ConfigError(f'cannot read config file {where}: {error.strerror}') from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f'config file {where} is over {MAX_FILE_BYTES} bytes (1 MiB), the limit for config files')
    try:
        text = data.decode('utf-8-sig')
    except UnicodeDecodeError:
        raise ConfigError(f'config file {where} is not UTF-8 text') from None
    return parse_ini(text, source=str(path))


# --------------------------------------------------------------------------------------------------------------
# Typing values
# --------------------------------------------------------------------------------------------------------------

TRUE_WORDS = ('true', '1', 'yes', 'on')
FALSE_WORDS = ('false', '0', 'no', 'off')


def parse_int(text):
    cleaned = text.strip()
    if re.fullmatch(r'[+-]?\d+(_\d+)*', cleaned):
        return int(cleaned.replace('_', ''))
    number = float(cleaned.replace('_', '')) if re.fullmatch(r'[+-]?[\d_.]+([eE][+-]?\d+)?', cleaned) else None
    if number is not None and math.isfinite(number) and number == int(number):
        return int(number)  # 1e6 is a fine way to write an integer
    raise ValueError(text)


def parse_float(text):
    cleaned = text.strip()
    if not re.fullmatch(r'[+-]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d+)?|[+-]?(inf|nan)', cleaned,
                        flags=re.IGNORECASE):
        raise ValueError(text)
    return float(cleaned.replace('_', ''))


def guess_value(text):
    """Type a value that has no default to compare with (a new [env] / [policy] / [rnn] key)."""
    if text == 'None':
        return None
    if text.lower() in ('true', 'false'):
        return text.lower() == 'true'
    if re.fullmatch(r'[+-]?\d+(_\d+)*', text):
        return int(text.replace('_', ''))
    try:
        number = parse_float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def coerce(value, default, name, auto_type=None):
    """Convert `value` (a string from a file or flag, or a Python object) to the type of `default`.

    Raises ValueError with a message naming what is expected; the caller adds the key.
    """
    if auto_type is not None:
        # Keys that accept `auto` (whatever their default) take it, or a value of their concrete type.
        if isinstance(value, str) and value.strip() == 'auto':
            return 'auto'
        return coerce(value, auto_type(), name)
    if isinstance(value, str):
        if '\n' in value:
            raise ValueError('multi-line values are not supported')
        text = value.strip()
        if default is None:
            return guess_value(text)
        if isinstance(default, bool):
            if text.lower() in TRUE_WORDS:
                return True
            if text.lower() in FALSE_WORDS:
                return False
            raise ValueError('expected a boolean: True or False')
        if isinstance(default, int):
            try:
                return parse_int(text)
            except ValueError:
                raise ValueError('expected an integer, e.g. 1024 or 1_000_000') from None
        if isinstance(default, float):
            try:
                number = parse_float(text)
            except ValueError:
                raise ValueError('expected a number, e.g. 0.0003 or 3e-4') from None
            if not math.isfinite(number):
                raise ValueError('expected a finite number')
            return number
        return text
    # A Python object set in code or from an override dict.
    if default is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ValueError('expected a boolean: True or False')
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            return int(value)
        raise ValueError('expected an integer')
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ValueError('expected a finite number')
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        raise ValueError('expected a string')
    return value


class Invalid:
    """Stands for a value that was reported as malformed, so checks of the keys that depend on it skip it."""

    def __repr__(self):
        return 'INVALID'


INVALID = Invalid()


def format_value(value):
    """Inverse of coerce for writing INI: the text loads back to the same value."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def closest(name, candidates, n=3):
    return difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.6)


def did_you_mean(name, candidates):
    matches = closest(name, candidates, n=1)
    return f'; did you mean {matches[0]}?' if matches else ''


# --------------------------------------------------------------------------------------------------------------
# The schema (default.ini) and the environment index
# --------------------------------------------------------------------------------------------------------------

_cache = {}


def default_ini():
    if 'default' not in _cache:
        _cache['default'] = read_ini(os.path.join(config_dir(), 'default.ini'))
    return _cache['default']


def typed_defaults():
    """default.ini as a typed dict: the schema every other source is checked against."""
    ini = default_ini()
    config = {}
    for section, items in ini.sections.items():
        config[section] = {key: guess_value(raw) for key, raw in items.items()}
    for section in SECTIONS:
        config.setdefault(section, {})
    return config


def help_text(section, key):
    ini = default_ini()
    if section.startswith(SWEEP_PREFIX):
        for (s, k), text in ini.comments.items():
            if s.startswith(SWEEP_PREFIX) and k == key:
                return text
    return ini.comments.get((section, key), '')


def config_search_path():
    """Folders scanned for environment configs: the package's own, then those in $PUFFER_CONFIG_PATH
    (os.pathsep-separated), so users can add environments without touching the installed package."""
    extra = [p for p in os.environ.get('PUFFER_CONFIG_PATH', '').split(os.pathsep) if p]
    return [config_dir()] + extra


def environment_index():
    """{env name: path of its .ini} over the config search path; the first folder that names an env wins."""
    key = ('index', tuple(config_search_path()))
    if key not in _cache:
        index = {}
        for root in config_search_path():
            for path in sorted(glob.glob(os.path.join(root, '**', '*.ini'), recursive=True)):
                if os.path.abspath(path) == os.path.join(config_dir(), 'default.ini'):
                    continue
                ini = read_ini(path)
                for name in ini.sections.get('base', {}).get('env_name', '').split():
                    index.setdefault(name, path)
        _cache[key] = index
    return _cache[key]


def ocean_env_names():
    """Every Ocean env the compiled modules declare (pufferlib.envs.ocean discovers them); [] if it cannot import.
    Those without a config file of their own load with OCEAN_INI."""
    try:
        from pufferlib.envs import ocean
        return ocean.list_envs()
    except (ImportError, EnvironmentSetupError):
        return []


# The config of an Ocean env that has no .ini of its own (a new env: its folder is all it needs).
OCEAN_INI = 'ocean.ini'


def list_environments():
    """[(env name, config path, description)] sorted by name, for `puffer list`: the envs of the config files and
    every Ocean env (an Ocean env without a file of its own shows OCEAN_INI and its C description)."""
    rows = []
    index = environment_index()
    for name, path in index.items():
        shown = os.path.relpath(path, config_dir()) if path.startswith(config_dir()) else path
        rows.append((name, shown, read_ini(path).description))
    from pufferlib.envs import ocean
    for name in ocean_env_names():
        if name not in index:
            rows.append((name, OCEAN_INI, ocean.lookup(name).description))
    return sorted(rows)


def find_env_config(env_name):
    index = environment_index()
    if env_name in index:
        return index[env_name]
    suggestions = closest(env_name, list(index) + [name for name in ocean_env_names() if name not in index], n=5)
    hint = f'closest: {", ".join(suggestions)}' if suggestions else 'run `puffer list` to see every name'
    raise ConfigError(f'unknown environment {shown(env_name)}; {hint}')


# --------------------------------------------------------------------------------------------------------------
# Layering sources
# --------------------------------------------------------------------------------------------------------------

def all_keys(config):
    return [f'{s}.{k}' for s, items in config.items() for k in items]


def apply_layer(config, sections, source, problems, schema, may_define):
    """Merge one source's {section: {key: value}} into `config`, typing each value by what it overrides.

    `may_define`: this source may introduce new keys in the open sections ([env], [policy], [rnn]) and new
    [sweep.*] spaces. default.ini, environment configs and user files may; flags and overrides may not add sweep
    spaces but can still set [env] keys (those are checked against the environment later).
    """
    for raw_section, items in sections.items():
        section = normalize(raw_section)
        is_space = section.startswith(SWEEP_PREFIX)
        if section not in schema and not is_space:
            problems.append(f'{source}: {unknown_section(section, schema)}')
            continue
        if is_space and section not in config and not may_define:
            problems.append(f'{source}: unknown sweep space [{cut(section)}]; define it in a config file first')
            continue
        if section == 'train':
            items = migrate_train_keys(items, source, problems, schema['train'])
        target = config.setdefault(section, {})
        for raw_key, value in items.items():
            key = normalize(raw_key)
            name = f'{section}.{key}'
            if is_space:
                if key not in SWEEP_SPACE_KEYS:
                    problems.append(f'{source}: unknown key {cut(name)}{did_you_mean(key, SWEEP_SPACE_KEYS)} '
                                    f'(a sweep space has {", ".join(SWEEP_SPACE_KEYS)})')
                    continue
                try:
                    target[key] = coerce_space_value(key, value)
                except ValueError as error:
                    problems.append(f'{source}: {name} = {shown(value)}: {error}')
                    target[key] = INVALID
                continue
            if section in OPEN_SECTIONS:
                default = target.get(key)
                if key not in target and not isinstance(value, str):
                    target[key] = value
                    continue
            elif key not in schema[section]:
                problems.append(f'{source}: {unknown_key(section, key, schema)}')
                continue
            else:
                default = schema[section][key]
            try:
                target[key] = coerce(value, default, name, AUTO_TYPES.get((section, key)))
            except ValueError as error:
                problems.append(f'{source}: {name} = {shown(value)}: {error}')
                target[key] = INVALID  # reported; the checks of what depends on this key skip it


def reward_sections(schema):
    return [section for section in schema if section.startswith(REWARD_PREFIX)]


def unknown_section(section, schema):
    """The one-line message for a section that default.ini does not declare."""
    if section.startswith(REWARD_PREFIX) or section == 'reward':
        known = reward_sections(schema)
        return (f'unknown reward signal [{cut(section)}]{did_you_mean(section, known)} (known: '
                f'{", ".join(known)}; docs/rewards.md)')
    return (f'unknown section [{cut(section)}]{did_you_mean(section, SECTIONS)} '
            f'(valid: {", ".join(SECTIONS)}, sweep.<section>.<key>, reward.<signal>)')


def unknown_key(section, key, schema):
    name = f'{section}.{key}'
    if section.startswith(REWARD_PREFIX):  # suggest from the signal's own keys
        keys = list(schema[section])
        return f'unknown key {cut(name)}{did_you_mean(key, keys)} ([{section}] has {", ".join(keys)})'
    return f'unknown key {cut(name)}{did_you_mean(name, all_keys(schema))}'


def migrate_train_keys(items, source, problems, train_schema):
    """One source's [train] `items` with the old anneal_lr / min_lr_ratio / min_ent_ratio translated to the schedule
    keys they meant: anneal_lr = False is lr_schedule = constant (True: cosine), min_lr_ratio is lr_final_ratio, and
    min_ent_ratio below 1 is a cosine entropy schedule to that ratio (1: constant). A source that also sets the new
    key to something else is reported, naming both."""
    items = {normalize(key): value for key, value in items.items()}
    old = {}
    for key, default in OLD_TRAIN_KEYS.items():
        if key not in items:
            continue
        raw = items.pop(key)
        try:
            old[key] = coerce(raw, default, f'train.{key}')
        except ValueError as error:
            problems.append(f'{source}: train.{key} = {shown(raw)}: {error}')
            continue
        if key != 'anneal_lr' and not 0 <= old[key] <= 1:  # NaN too
            problems.append(f'{source}: train.{key} = {shown(old[key])} is out of range; valid: [0, 1]')
            del old[key]
    translated = {}  # new key: (value, the old key it comes from)
    if 'anneal_lr' in old:
        translated['lr_schedule'] = ('cosine' if old['anneal_lr'] else 'constant', 'anneal_lr')
    if 'min_lr_ratio' in old:
        translated['lr_final_ratio'] = (old['min_lr_ratio'], 'min_lr_ratio')
    if 'min_ent_ratio' in old:
        ratio = old['min_ent_ratio']
        translated['ent_schedule'] = ('constant' if ratio == 1 else 'cosine', 'min_ent_ratio')
        if ratio != 1:
            translated['ent_final_ratio'] = (ratio, 'min_ent_ratio')
    for key, (value, old_key) in translated.items():
        if key in items:
            try:
                given = coerce(items[key], train_schema[key], f'train.{key}')
            except ValueError:
                continue  # reported when the new key is applied
            if given != value:
                problems.append(f'{source}: train.{old_key} = {shown(old[old_key])} means train.{key} = '
                                f'{shown(value)}, but train.{key} = {shown(given)} is also set; keep only the new '
                                f'keys ({NEW_SCHEDULE_KEYS} replace anneal_lr, min_lr_ratio and min_ent_ratio)')
            continue
        items[key] = value
    return items


def coerce_space_value(key, value):
    text = value.strip() if isinstance(value, str) else value
    if key == 'distribution':
        if text not in DISTRIBUTIONS:
            raise ValueError(f'valid distributions: {", ".join(DISTRIBUTIONS)}')
        return text
    if key == 'scale' and text in ('auto', 'time'):
        return text
    try:
        return coerce(text, 0.0, key)
    except ValueError:
        extra = ', auto or time' if key == 'scale' else ''
        raise ValueError(f'expected a number{extra}') from None


MODEL_SECTIONS = {'policy': 'policy_name', 'rnn': 'rnn_name'}


def drop_other_model_keys(config, env_models, later_layers):
    """A config file or flag that picks another policy (or rnn) class than the environment's config file starts that
    section afresh: the environment file's [policy] keys were written for its own class. Keys a later layer sets
    itself are kept (and checked against the new class as usual)."""
    for section, class_key in MODEL_SECTIONS.items():
        env_class, env_keys = env_models[section]
        if config['base'][class_key] == env_class:
            continue
        kept = {normalize(key) for layer in later_layers for name, items in layer.items()
                if normalize(name) == section for key in items}
        for key in env_keys - kept:
            config[section].pop(key, None)


def nested_overrides(overrides):
    """Accept {'train': {'learning_rate': 3e-4}} or {'train.learning_rate': 3e-4} (or 'learning-rate' spelling)."""
    sections = {}
    problems = []
    for name, value in (overrides or {}).items():
        if isinstance(value, dict):
            sections.setdefault(normalize(name), {}).update({normalize(k): v for k, v in value.items()})
            continue
        name = normalize(name)
        if '.' in name:
            section, key = name.rsplit('.', 1)
        else:
            section, key = 'base', name
        sections.setdefault(section, {})[key] = value
    return sections, problems


# --------------------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------------------

def load(env_name=None, overrides=None, config_files=(), resolve=True):
    """Resolve the config of `env_name`: default.ini < its .ini < `config_files` < `overrides`. An Ocean env
    without an .ini of its own takes config/ocean.ini; every Ocean env's [env] starts from its C defaults.

    `env_name` may be None when a config file names the environment in its [base] env_name. An env name that no
    config file in the search path declares (a user's own env, named in a --config file) inherits the config of
    its [base] package instead (config/gymnasium.ini for `package = gymnasium`). Raises ConfigError listing every
    problem found.
    """
    problems = []
    schema = typed_defaults()
    config = typed_defaults()
    files = []
    for path in config_files:
        try:
            files.append(read_ini(path))
        except ConfigError as error:  # reported with the rest
            problems += error.problems
    override_sections, override_problems = nested_overrides(overrides)
    problems += override_problems

    if env_name is None:
        env_name = override_sections.get('base', {}).get('env_name')
        for ini in reversed(files):
            if env_name is None:
                env_name = ini.sections.get('base', {}).get('env_name')
    if env_name is None:
        raise config_error(problems or ['no environment given: pass an env name (see `puffer list`) or '
                                        '--config FILE with [base] env_name'])
    env_name = str(env_name).split()[0] if str(env_name).split() else str(env_name)
    index = environment_index()
    if env_name in index:
        env_ini = read_ini(index[env_name])
    elif (env_name in ocean_env_names()
          and layered_package([ini.sections for ini in files] + [override_sections]) == 'ocean'):
        env_ini = read_ini(os.path.join(config_dir(), OCEAN_INI))  # an Ocean env without a config file of its own
    elif config_files:
        env_ini = package_ini([ini.sections for ini in files] + [override_sections], index)
    else:
        find_env_config(env_name)  # raises with the closest names

    # The env's declared parameters are the lowest [env] layer: its .ini lists only what it changes, and every key
    # is still shown, typed by its default and open to sweeps.
    layers = [env_ini.sections if env_ini is not None else {}] + [ini.sections for ini in files] + [override_sections]
    config['env'] = {**declared_env_parameters(layered_package(layers), env_name), **config['env']}
    if env_ini is not None:
        apply_layer(config, env_ini.sections, env_ini.source, problems, schema, may_define=True)
    env_models = {section: (config['base'][class_key], set(config[section]))
                  for section, class_key in MODEL_SECTIONS.items()}
    for ini in files:
        apply_layer(config, ini.sections, ini.source, problems, schema, may_define=True)
    env_declared = set(config['env'])
    apply_layer(config, override_sections, 'command line', problems, schema, may_define=False)
    drop_other_model_keys(config, env_models, [ini.sections for ini in files] + [override_sections])
    # The name the user asked for wins over the first alias listed in the file.
    config['base']['env_name'] = env_name
    # Check even after layering problems (bad values were marked INVALID) so every mistake is reported at once.
    problems += config_problems(config, env_declared=env_declared)
    if problems:
        raise config_error(problems)
    if resolve:
        resolve_auto(config)
    return config


def package_ini(layers, index):
    """The config file of the [base] package the given layers pick (highest precedence last), if there is one:
    a user's own Gymnasium env inherits config/gymnasium.ini, its tuned defaults and its [env] name."""
    package = layered_package(layers)
    if package not in index:
        return None
    ini = read_ini(index[package])
    return ini if ini.sections.get('base', {}).get('package') == package else None


def layered_package(layers):
    """The [base] package the given layers ({section: {key: value}}, highest precedence last) pick; default ocean."""
    package = 'ocean'
    for sections in layers:
        for section, items in sections.items():
            if normalize(str(section)) == 'base':
                for key, value in items.items():
                    if normalize(str(key)) == 'package' and isinstance(value, str):
                        package = value.strip()
    return package


def declared_env_parameters(package, env_name):
    """{key: default} of every [env] parameter `package` declares for `env_name`; {} when it accepts any keyword
    or cannot tell here (an unknown package or name, an optional dependency missing: the validator reports it)."""
    from pufferlib import envs
    try:
        return dict(envs.env_parameters(package, env_name) or {})
    except (EnvironmentSetupError, ImportError, KeyError, ValueError, TypeError):
        return {}


def load_file(path, fill_in_default=True):
    """Load one INI file. With fill_in_default, missing keys come from default.ini; without, only the file's keys.

    Keys are still checked against default.ini's names and typed by its defaults either way.
    """
    ini = read_ini(path)
    schema = typed_defaults()
    problems = []
    if fill_in_default:
        config = typed_defaults()
        apply_layer(config, ini.sections, ini.source, problems, schema, may_define=True)
        problems += config_problems(config, env_declared=set(config['env']))
        if problems:
            raise config_error(problems)
        resolve_auto(config)
        return config
    config = {section: {} for section in ini.sections}
    apply_layer(config, ini.sections, ini.source, problems, schema, may_define=True)
    check_values(config, problems)
    if problems:
        raise config_error(problems)
    return config


def validate(config, num_agents=None):
    """Check a whole config: what `load` returns, before or after `auto` values are resolved, or as code modified it.

    One pass over everything: names and types, choices, ranges and maxima, the sizes that must fit together (the
    vectorization's as pufferlib.vector builds it, the train sizes with `num_agents` agent rows, or with the count
    the environment tells without being built), the environment's parameters (with its own range checks), the
    policy's sizes and train.data_dir. `puffer config`, `train`, `eval` and `sweep` all run it, so whatever one
    accepts the others run. Raises one ConfigError listing every problem; returns `config` unchanged.
    """
    problems = config_problems(config, num_agents=num_agents)
    if problems:
        raise config_error(problems)
    return config


# --------------------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------------------

def config_problems(config, num_agents=None, env_declared=None):
    """Every problem of `config` as one-line messages (see `validate`). `env_declared`: [env] keys that config
    files declared, trusted when the env's package cannot be imported here."""
    problems = []
    config = typed_copy(config, problems)
    check_values(config, problems)
    check_vec(config, problems)
    env_ok = check_open_sections(config, problems, env_declared)
    if num_agents is None and env_ok:
        num_agents = known_num_agents(config)
    check_agent_rows(config, problems, num_agents)
    check_train(config, problems, num_agents)
    check_sweep_spaces(config, problems)
    check_data_dir(config, problems)
    check_run_keys(config, problems)
    check_world_size(config, problems)
    check_adaptive_lr(config, problems)
    check_demo_paths(config, problems)
    check_pbt(config, problems)
    check_policies(config, problems)
    return problems


def check_policies(config, problems):
    """train.num_policies > 1 (pufferlib.multipolicy) with what assumes one learning policy. How the rows split
    between the policies is checked when the envs exist (multipolicy.check_layout)."""
    count = config.get('train', {}).get('num_policies')
    if not isinstance(count, int) or isinstance(count, bool) or count < 2:
        return
    if config.get('selfplay', {}).get('enabled') is True:
        problems.append(f'train.num_policies = {count} with selfplay.enabled = True: self-play trains one policy '
                        'against its snapshots; for both sides learning set selfplay.enabled = False and keep '
                        'num_policies = 2 with policy_mapping = team')
    world_size = config.get('train', {}).get('world_size')
    if isinstance(world_size, int) and world_size > 1:
        problems.append(f'train.num_policies = {count} with train.world_size = {world_size}: several policies train '
                        'in one process only; set train.world_size = 1')
    pretrain = config.get('bc', {}).get('pretrain_steps')
    if isinstance(pretrain, int) and pretrain > 0:
        problems.append(f'train.num_policies = {count} with bc.pretrain_steps = {pretrain}: pre-training before the '
                        'first epoch is for one policy; set bc.pretrain_steps = 0 (bc.strength still applies to '
                        'every policy)')


def check_pbt(config, problems):
    """The PBT settings that must fit together (pufferlib.sweep.pbt); each alone is checked with the others."""
    sweep, train = config.get('sweep', {}), config.get('train', {})
    low, high = sweep.get('perturb_min'), sweep.get('perturb_max')
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
        problems.append(f'sweep.perturb_min = {low} is above sweep.perturb_max = {high}; PBT draws its factors '
                        'from [perturb_min, perturb_max]')
    size = sweep.get('population_size')
    if isinstance(size, int) and not isinstance(size, bool) and size < 2:
        problems.append(f'sweep.population_size = {size} must be at least 2 (PBT copies better members into worse)')
    period, total = sweep.get('pbt_period_steps'), train.get('total_timesteps')
    if sweep.get('method') == 'PBT' and isinstance(period, int) and isinstance(total, int) and period >= total:
        problems.append(f'sweep.pbt_period_steps = {period} leaves no boundary inside train.total_timesteps = '
                        f'{total}, so PBT would never exploit; use a period below it, e.g. {max(1, total // 10)}')


def check_demo_paths(config, problems):
    """bc.demo_path and reward.gail.demo_path name a file (None: none); GAIL switched on needs one. Whether the file
    fits the env is checked where it is read (pufferlib.demos)."""
    for section in ('bc', 'reward.gail'):
        path = config.get(section, {}).get('demo_path')
        if path is not None and path is not INVALID and (not isinstance(path, str) or not path.strip()):
            problems.append(f'{section}.demo_path = {shown(path)} must be the path of a demonstrations file '
                            '(written by `puffer eval ENV --save-demos FILE`) or None')
    gail = config.get('reward.gail', {})
    strength = gail.get('strength', 0.0)
    if isinstance(strength, (int, float)) and strength > 0 and gail.get('demo_path') is None:
        problems.append(f'reward.gail.strength = {shown(strength)} needs reward.gail.demo_path: a demonstrations '
                        'file written by `puffer eval ENV --save-demos FILE`')


def check_world_size(config, problems):
    """train.world_size against the torchrun group this process is in (its WORLD_SIZE), when it is in one: 1 lets
    torchrun decide, any other value must match."""
    wanted, launched = config.get('train', {}).get('world_size'), os.environ.get('WORLD_SIZE')
    if isinstance(wanted, int) and wanted > 1 and launched and launched.isdigit() and int(launched) != wanted:
        problems.append(f'train.world_size = {wanted} but torchrun started {launched} ranks; pass '
                        f'--train.world-size {launched} (or 1, to follow torchrun), or launch {wanted} ranks')


def check_adaptive_lr(config, problems):
    """A KL-adaptive learning rate (train.lr_adaptive_kl > 0) moves the rate itself: no schedule on top of it."""
    train = config.get('train', {})
    target = train.get('lr_adaptive_kl')
    if not isinstance(target, float) or not target > 0:
        return
    schedule = train.get('lr_schedule')
    if schedule in SCHEDULES and schedule != 'constant':
        problems.append(f'train.lr_adaptive_kl = {target} adapts the learning rate to the KL, which '
                        f'train.lr_schedule = {schedule} would fight; set train.lr_schedule = constant, or '
                        'train.lr_adaptive_kl = 0 to keep the schedule')
    low, high = train.get('lr_adaptive_min'), train.get('lr_adaptive_max')
    if isinstance(low, float) and isinstance(high, float) and low > high:
        problems.append(f'train.lr_adaptive_min = {low} is above train.lr_adaptive_max = {high}; the adaptive '
                        'learning rate is kept between them')


def check_run_keys(config, problems):
    """The run's name and warm start (pufferlib.runs): a name that can be a folder, a save_best_after >= 0."""
    from pufferlib.runs.layout import check_experiment_name
    train = config.get('train', {})
    name = train.get('experiment', 'auto')
    if name not in ('auto', INVALID):
        problem = check_experiment_name(name)
        if problem:
            problems.append(problem)
    after = train.get('save_best_after')
    if isinstance(after, int) and not isinstance(after, bool) and after < 0:
        problems.append(f'train.save_best_after = {after} must be at least 0 (agent steps)')


def typed_copy(config, problems):
    """A copy of `config` in which every key is known and of its default's type; others are reported and INVALID."""
    schema = typed_defaults()
    typed = {}
    for section, items in config.items():
        if section not in schema and not str(section).startswith(SWEEP_PREFIX):
            problems.append(unknown_section(str(section), schema))
            continue
        typed[section] = dict(items)
        if section in OPEN_SECTIONS or section.startswith(SWEEP_PREFIX):
            continue
        for key, value in items.items():
            name = f'{section}.{key}'
            if key not in schema[section]:
                replaced = section == 'train' and key in OLD_TRAIN_KEYS
                problems.append(f'unknown key {cut(name)}; it was replaced by {NEW_SCHEDULE_KEYS}' if replaced
                                else unknown_key(section, key, schema))
                del typed[section][key]
            elif value is not INVALID:
                try:
                    typed[section][key] = coerce(value, schema[section][key], name, AUTO_TYPES.get((section, key)))
                except ValueError as error:
                    problems.append(f'{name} = {shown(value)}: {error}')
                    typed[section][key] = INVALID
    for section in SECTIONS:
        typed.setdefault(section, {})
    for key in schema['base']:
        typed['base'].setdefault(key, schema['base'][key])
    return typed


def is_count(value, section, key, low=1):
    """An int in [low, MAXIMA] for this key (anything else is reported by check_values)."""
    return (isinstance(value, int) and not isinstance(value, bool) and
            low <= value <= MAXIMA.get((section, key), math.inf))


def check_values(config, problems):
    for (section, key), choices in CHOICES.items():
        value = config.get(section, {}).get(key)
        if value is not None and value is not INVALID and value not in choices:
            problems.append(f'{section}.{key} = {shown(value)} is not valid; choose one of: {", ".join(choices)}'
                            f'{did_you_mean(str(value), choices)}')
    for section, key in AT_LEAST_ONE:
        value = config.get(section, {}).get(key)
        if isinstance(value, int) and value < 1:
            problems.append(f'{section}.{key} = {shown(value)} must be at least 1')
    for (section, key), high in MAXIMA.items():
        value = config.get(section, {}).get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > high:
            problems.append(f'{section}.{key} = {shown(value)} is above its maximum {high}')
    for (section, key), (low, high, low_inclusive, high_inclusive) in RANGES.items():
        value = config.get(section, {}).get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        too_low = value < low or (value == low and not low_inclusive)
        too_high = value > high or (value == high and not high_inclusive)
        if too_low or too_high or (isinstance(value, float) and math.isnan(value)):
            interval = f'{"[" if low_inclusive else "("}{low}, {high}{"]" if high_inclusive else ")"}'
            problems.append(f'{section}.{key} = {shown(value)} is out of range; valid: {interval}')
    device = config.get('train', {}).get('device')
    if isinstance(device, str) and not DEVICE_PATTERN.match(device):
        problems.append(f'train.device = {shown(device)} is not valid; use auto, cpu, cuda or cuda:N')
    devices = config.get('sweep', {}).get('devices')
    if isinstance(devices, str):
        problem = device_list_problem(devices)
        if problem:
            problems.append(problem)
    for section in ('vec', 'train'):
        seed = config.get(section, {}).get('seed')
        if isinstance(seed, int) and seed < 0:
            problems.append(f'{section}.seed = {shown(seed)} must be non-negative')


def device_list_problem(devices):
    """What is wrong with a sweep.devices value (auto, or a comma list of train.device values other than auto), or
    None."""
    if devices.strip() == 'auto':
        return None
    bad = [entry.strip() for entry in devices.split(',') if entry.strip() == 'auto' or not DEVICE_PATTERN.match(
        entry.strip())]
    if not bad:
        return None
    return (f'sweep.devices = {shown(devices)} is not valid ({shown(bad[0])} is not a device); use auto or a comma '
            'list of cpu, mps, cuda or cuda:N, e.g. cuda:0,cuda:1')


def divisors(n):
    """Divisors of n in increasing order, in O(sqrt(n)) steps."""
    small, large = [], []
    d = 1
    while d * d <= n:
        if n % d == 0:
            small.append(d)
            if d * d != n:
                large.append(n // d)
        d += 1
    return small + large[::-1]


def short_list(values, limit=8, near=None):
    """Values as text; over `limit` of them, the `limit` nearest to `near` (default: the first ones)."""
    values = sorted(values)
    if len(values) <= limit:
        return ', '.join(str(v) for v in values)
    if near is None:
        start = 0
    else:
        nearest = min(range(len(values)), key=lambda i: (abs(values[i] - near), values[i]))
        start = min(max(0, nearest - limit // 2), len(values) - limit)
    text = ', '.join(str(v) for v in values[start:start + limit])
    return ('..., ' if start else '') + text + (', ...' if start + limit < len(values) else '')


def nearest(values, target):
    return min(values, key=lambda v: (abs(v - target), v))


def nearest_multiple(value, unit, high):
    """The multiple of `unit` in [unit, high] nearest to `value`, or None if there is none."""
    if unit > high:
        return None
    return min(max(1, (value + unit // 2) // unit), high // unit) * unit


def resolved_workers(vec):
    """vec.num_workers with `auto` resolved as resolve_auto does (num_envs must be a valid count)."""
    workers, num_envs, backend = vec.get('num_workers'), vec['num_envs'], vec.get('backend')
    if backend == 'Serial':
        return num_envs  # in process: each env is its own worker (pufferlib.vector ignores num_workers)
    if workers != 'auto':
        return workers
    limit = 1 if backend == 'PufferEnv' else physical_cores()
    return max(d for d in divisors(num_envs) if d <= max(1, limit))


def check_vec(config, problems):
    """The rules of pufferlib.vector.check_sizes, on the values pufferlib.vector.make_from_config will pass it."""
    vec = config.get('vec', {})
    num_envs, batch, backend = vec.get('num_envs'), vec.get('batch_size'), vec.get('backend')
    if not is_count(num_envs, 'vec', 'num_envs') or backend not in CHOICES[('vec', 'backend')]:
        return
    if backend == 'PufferEnv':
        if num_envs != 1:
            problems.append(f'vec.num_envs = {num_envs} with vec.backend = PufferEnv: the native backend drives one '
                            'env object; set vec.num_envs = 1 (and raise [env] num_envs) or use Multiprocessing')
        if batch not in ('auto', 1) and is_count(batch, 'vec', 'batch_size'):
            problems.append(f'vec.batch_size = {batch} with vec.backend = PufferEnv must be 1 (or auto): the native '
                            'backend steps its one env object at once')
        return
    workers = resolved_workers(vec)
    if not is_count(workers, 'vec', 'num_workers'):
        return
    if num_envs % workers:
        problems.append(f'vec.num_workers = {workers} does not divide vec.num_envs = {num_envs}; '
                        f'valid num_workers: {short_list(divisors(num_envs), near=workers)}')
        return
    if not is_count(batch, 'vec', 'batch_size'):
        return
    per_worker = num_envs // workers
    valid = [per_worker * d for d in divisors(workers)]
    if batch in valid:
        return
    if per_worker == 1:
        problems.append(f'vec.batch_size = {batch} does not divide vec.num_envs = {num_envs}; '
                        f'valid: {short_list(valid, near=batch)}')
    else:
        chosen = '' if vec.get('num_workers') != 'auto' else ' (auto on this machine)'
        problems.append(
            f'vec.batch_size = {batch} must divide vec.num_envs = {num_envs} and be a multiple of the envs '
            f'per worker ({num_envs} / {workers} workers{chosen} = {per_worker}); '
            f'valid: {short_list(valid, near=batch)}')


def check_agent_rows(config, problems, num_agents):
    if isinstance(num_agents, int) and num_agents > MAX_AGENT_ROWS:
        problems.append(f'vec.num_envs = {config["vec"]["num_envs"]} env objects make {num_agents} agent rows, above '
                        f'the maximum {MAX_AGENT_ROWS}; lower vec.num_envs or the env\'s [env] num_envs')


def valid_minibatches(batch, horizon, max_minibatch):
    """Minibatch sizes that fit `batch` (whole segments, dividing it) and the chunking by `max_minibatch`."""
    chunk_ok = is_count(max_minibatch, 'train', 'max_minibatch_size') and max_minibatch % horizon == 0
    return [d for d in divisors(batch) if d % horizon == 0 and
            (not chunk_ok or d <= max_minibatch or d % max_minibatch == 0)]


def check_train(config, problems, num_agents=None):
    """The train sizes, on the values training will use: `auto` is resolved with `num_agents` when known.

    Each rule is reported on one key, with suggestions that pass given the other keys; following the suggestions one
    problem after another ends in a valid config (tests/test_config.py checks that)."""
    train = config.get('train', {})
    batch, horizon = train.get('batch_size'), train.get('bptt_horizon')
    minibatch, max_minibatch = train.get('minibatch_size'), train.get('max_minibatch_size')
    if batch == 'auto' and horizon == 'auto':
        problems.append('train.batch_size and train.bptt_horizon are both auto; set one of them '
                        '(e.g. train.bptt_horizon = 64) so the other can be derived from the number of agents')
        return
    agents = num_agents if isinstance(num_agents, int) and 1 <= num_agents <= MAX_AGENT_ROWS else None
    max_batch = MAXIMA[('train', 'batch_size')]

    # The segment length: 2+ steps, since a segment's last step only bootstraps the value of the one before it.
    steps = None
    if horizon == 'auto':
        if agents is not None and is_count(batch, 'train', 'batch_size'):
            if batch % agents or batch // agents < 2:
                example = nearest_multiple(max(batch, 2 * agents), agents, max_batch)
                problems.append(f'train.batch_size = {batch} with train.bptt_horizon = auto must be a multiple of the '
                                f'{agents} agent rows, at least {2 * agents} (segments of 2+ steps)'
                                + (f'; e.g. {example}' if example else ''))
            else:
                steps = batch // agents
    elif is_count(horizon, 'train', 'bptt_horizon'):
        if horizon < 2:
            problems.append(f'train.bptt_horizon = {horizon} must be at least 2: the last step of a segment has no '
                            'successor to bootstrap from, so a 1-step segment teaches nothing; e.g. 16')
        else:
            steps = horizon

    # The batch: whole segments, and the same number of them for every agent row.
    rows = None  # batch_size once it is known to be valid
    if batch == 'auto':
        if agents is not None and steps is not None:
            if agents * steps > max_batch:
                problems.append(f'train.batch_size = auto is {agents} agent rows x train.bptt_horizon = {steps} = '
                                f'{agents * steps}, above its maximum {max_batch}; lower bptt_horizon or the agents')
            else:
                rows = agents * steps
    elif is_count(batch, 'train', 'batch_size') and steps is not None:
        if horizon == 'auto':
            rows = batch
        else:
            unit = steps * (agents or 1)
            fitting = unit
            if is_count(minibatch, 'train', 'minibatch_size') and minibatch % steps == 0:
                fitting = math.lcm(unit, minibatch)  # keep minibatch_size valid as well, where the maximum allows
                fitting = fitting if fitting <= max_batch else unit
            example = nearest_multiple(batch, fitting, max_batch)
            if batch % steps:
                per_agent = f', for each of the {agents} agent rows' if agents and agents > 1 else ''
                problems.append(f'train.batch_size = {batch} must be a multiple of train.bptt_horizon = {steps} '
                                f'(segments of {steps} steps{per_agent})' + (f'; e.g. {example}' if example else ''))
            elif agents and (batch // steps) % agents:
                problems.append(
                    f'train.batch_size = {batch} gives {batch // steps} segments of train.bptt_horizon = {steps}, '
                    f'not a multiple of the {agents} agents; use a multiple of {unit}'
                    + (f', e.g. {example}' if example else ''))
            else:
                rows = batch

    # Minibatches: whole segments that split the batch evenly.
    if not is_count(minibatch, 'train', 'minibatch_size') or steps is None:
        pass
    elif minibatch % steps:
        if rows is not None:
            example = nearest(valid_minibatches(rows, steps, max_minibatch), minibatch)
        else:
            example = nearest_multiple(minibatch, steps, MAXIMA[('train', 'minibatch_size')])
        problems.append(f'train.minibatch_size = {minibatch} must be a multiple of train.bptt_horizon = {steps} '
                        f'(whole segments); e.g. {example}')
    elif rows is not None and (minibatch > rows or rows % minibatch):
        valid = valid_minibatches(rows, steps, max_minibatch)
        if minibatch > rows:
            example = nearest(valid, minibatch)
            problems.append(f'train.minibatch_size = {minibatch} exceeds train.batch_size = {rows}; use at most '
                            f'{rows}' + (f', e.g. {example}' if example != rows else ''))
        else:
            problems.append(f'train.minibatch_size = {minibatch} does not divide train.batch_size = {rows}; '
                            f'valid: {short_list(valid, near=minibatch)}')

    # Gradient accumulation: above max_minibatch_size a minibatch is processed in chunks of whole segments.
    if (is_count(max_minibatch, 'train', 'max_minibatch_size') and is_count(minibatch, 'train', 'minibatch_size')
            and minibatch > max_minibatch):
        if steps is not None and max_minibatch % steps:
            valid = [d for d in divisors(minibatch) if d % steps == 0 and d <= max_minibatch] or [
                nearest_multiple(max_minibatch, steps, MAXIMA[('train', 'max_minibatch_size')])]
            problems.append(f'train.max_minibatch_size = {max_minibatch} must be a multiple of train.bptt_horizon = '
                            f'{steps}; e.g. {nearest(valid, max_minibatch)}')
        elif minibatch % max_minibatch and (steps is None or minibatch % steps == 0):
            valid = [d for d in divisors(minibatch) if d <= max_minibatch and (steps is None or d % steps == 0)]
            problems.append(f'train.minibatch_size = {minibatch} is above train.max_minibatch_size = {max_minibatch} '
                            f'so gradients are accumulated over chunks, but {max_minibatch} does not divide '
                            f'{minibatch}; valid max_minibatch_size: '
                            f'{short_list(valid, near=max_minibatch) if valid else f"{minibatch} or more"}')


def check_sweep_spaces(config, problems):
    for section, space in config.items():
        if not section.startswith(SWEEP_PREFIX):
            continue
        target = section[len(SWEEP_PREFIX):]
        if '.' not in target:
            problems.append(f'[{cut(section)}] must name a key as [sweep.<section>.<key>], e.g. [sweep.train.gamma]')
            continue
        target_section, target_key = target.rsplit('.', 1)
        if target_key not in config.get(target_section, {}):
            keys = all_keys({s: i for s, i in config.items() if not s.startswith(SWEEP_PREFIX)})
            problems.append(f'[{cut(section)}] searches {cut(target)}, which is not a config key'
                            f'{did_you_mean(target, keys)}')
            continue
        missing = [k for k in ('distribution', 'min', 'max') if k not in space]
        if missing:
            problems.append(f'[{section}] is missing {", ".join(missing)}')
            continue
        dist, low, high = space['distribution'], space['min'], space['max']
        mean = space.get('mean')
        if INVALID in (dist, low, high, mean, space.get('scale')):
            continue
        if low > high:
            problems.append(f'{section}.min = {low} is greater than {section}.max = {high}; swap them')
            continue
        if mean is not None and not low <= mean <= high:
            problems.append(f'{section}.mean = {mean} is outside [min, max] = [{low}, {high}]')
        if dist in ('log_normal', 'uniform_pow2') and low <= 0:
            problems.append(f'{section}.min = {low} must be > 0 for distribution {dist}')
        if dist == 'logit_normal' and not (0 < low and high < 1):
            problems.append(f'{section}: distribution logit_normal needs 0 < min and max < 1, got [{low}, {high}]')
        maximum = MAXIMA.get((target_section, target_key))
        if maximum is not None and high > maximum:
            problems.append(f'{section}.max = {high} is above the maximum of {target}, {maximum}')
        scale = space.get('scale', 'auto')
        if isinstance(scale, (int, float)) and scale <= 0:
            problems.append(f'{section}.scale = {scale} must be > 0 (or auto, or time)')


def check_data_dir(config, problems):
    """train.data_dir must be a folder, or one that can be created: run folders are made in it when training starts."""
    path = config.get('train', {}).get('data_dir')
    if not isinstance(path, str):
        return
    name = f'train.data_dir = {shown(path)}'
    try:
        encoded = os.fsencode(path)
    except UnicodeError:
        problems.append(f'{name} is not a valid file name here')
        return
    if b'\0' in encoded:
        problems.append(f'{name} holds a NUL character; choose a folder, e.g. experiments')
        return
    if len(encoded) > 4000 or any(len(part) > 255 for part in encoded.split(os.fsencode(os.sep))):
        problems.append(f'{name} is too long for a path (at most 255 bytes per folder name)')
        return
    probe = os.path.abspath(path)
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        what = ('is not a folder' if probe == os.path.abspath(path) else
                f'is under {shown(probe)}, which is not a folder')
        problems.append(f'{name} {what}; choose a folder (existing or to be created), e.g. experiments')
    elif not os.access(probe, os.W_OK | os.X_OK):
        problems.append(f'{name}: cannot create run folders in {shown(probe)} (permission denied); choose a writable '
                        'folder')


def check_open_sections(config, problems, env_declared):
    """Keys of [env] must be ones the environment accepts, with values in its ranges; [policy] / [rnn] ones the
    policy classes accept, with sizes >= 1. Returns whether [base] and [env] are fine (the agent count can be asked)."""
    from pufferlib import envs
    base = config['base']
    before = len(problems)
    if not isinstance(base.get('package'), str) or not isinstance(base.get('env_name'), str):
        return False  # reported as a type problem
    try:
        envs.load_package(base['package'])
        package_available = True
    except EnvironmentSetupError as error:
        if base['package'] not in envs.PACKAGES:
            problems.append(str(error))
            return False
        package_available = False  # optional dependency missing here: trust the env's own config file
    accepted = set(env_declared) if env_declared is not None else None
    parameters = None
    if package_available:
        try:
            parameters = envs.env_parameters(base['package'], base['env_name'])
        except (EnvironmentSetupError, KeyError, ValueError, TypeError) as error:
            problems.append(f'base.env_name = {shown(base["env_name"])}: {error}')
            return False
        accepted = None if parameters is None else set(parameters)
    if accepted is not None:
        for key in config['env']:
            if key not in accepted:
                problems.append(f'unknown key env.{cut(key)} for {base["env_name"]}'
                                f'{did_you_mean(f"env.{key}", [f"env.{k}" for k in accepted])} '
                                f'(valid: {short_list(sorted(accepted), 12) or "none"})')
    if package_available and len(problems) == before:
        check_env_values(config, problems, parameters)
    env_ok = len(problems) == before
    check_model_sections(config, problems)
    return env_ok


def check_env_values(config, problems, parameters):
    """[env] values: Ocean's are C ints and floats; env objects hold 1..MAX_ENV_OBJECT_ENVS envs; then whatever the
    package itself checks (an Ocean env's parameter ranges, a Gymnasium id) before anything is built."""
    from pufferlib import envs
    base, env = config['base'], config['env']
    for key, value in env.items():
        name = f'env.{key} = {shown(value)}'
        if value is INVALID:
            continue
        if key == 'num_envs' and parameters is not None and 'num_envs' in parameters:
            if not is_int(value) or not 1 <= value <= MAX_ENV_OBJECT_ENVS:
                problems.append(f'{name} must be an int in [1, {MAX_ENV_OBJECT_ENVS}]: envs run by one env object')
            continue
        if base['package'] != 'ocean' or parameters is None or key not in parameters:
            continue
        default = parameters[key]
        if is_int(default):
            if not is_int(value):
                problems.append(f'{name} must be an int like its default {default}')
            elif not C_INT[0] <= value <= C_INT[1] or (key == 'log_interval' and value < 1):
                low = 1 if key == 'log_interval' else C_INT[0]
                problems.append(f'{name} is out of range; valid: [{low}, {C_INT[1]}]')
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                problems.append(f'{name} must be a finite number like its default {default}')
    if problems:
        return
    try:
        given = {key: value for key, value in env.items() if value is not INVALID}
        problems += [str(p) for p in envs.check_params(base['package'], base['env_name'], given)]
    except (ConfigError, EnvironmentSetupError) as error:
        problems += getattr(error, 'problems', [str(error)])


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check_model_sections(config, problems):
    base = config['base']
    for section, class_key in (('policy', 'policy_name'), ('rnn', 'rnn_name')):
        class_name = base.get(class_key)
        if class_name is None:
            if config[section] and section == 'rnn':
                problems.append(f'[rnn] sets {", ".join(config["rnn"])} but base.rnn_name = None; '
                                'set base.rnn_name = LSTMWrapper (or GRUWrapper, MinGRUWrapper) or remove the [rnn] '
                                'keys')
            continue
        valid = model_parameters(class_name, problems, class_key)
        if valid is None:
            continue
        for key, value in config[section].items():
            if key not in valid:
                problems.append(f'unknown key {section}.{cut(key)} for {class_name}'
                                f'{did_you_mean(f"{section}.{key}", [f"{section}.{k}" for k in valid])} '
                                f'(valid: {short_list(sorted(valid), 12) or "none"})')
            elif key in MODEL_SIZES and value is not INVALID and not (value is None and section == 'rnn'):
                low, high = MODEL_SIZES[key]
                if not is_int(value) or not low <= value <= high:
                    problems.append(f'{section}.{key} = {shown(value)} must be an int in [{low}, {high}]')
            elif section == 'policy' and key in POLICY_CHECKS and value is not INVALID:
                from pufferlib import models
                try:
                    getattr(models, POLICY_CHECKS[key])(value)
                except ConfigError as error:
                    problems.append(str(error))
    check_rnn_width(config, problems)


def check_rnn_width(config, problems):
    """The RNN reads the policy's encoder output and feeds its decoder, so its sizes are the policy's hidden_size."""
    import inspect
    base = config['base']
    if base.get('rnn_name') is None:
        return
    classes = model_classes('policy_name')
    policy_class = classes.get(str(base.get('policy_name')))
    if policy_class is None:
        return
    hidden = config['policy'].get('hidden_size',
                                  inspect.signature(policy_class.__init__).parameters.get('hidden_size'))
    if isinstance(hidden, inspect.Parameter):
        hidden = hidden.default
    if not is_int(hidden):
        return
    for key in ('input_size', 'hidden_size'):
        value = config['rnn'].get(key)
        if is_int(value) and value != hidden:
            problems.append(f'rnn.{key} = {value} must equal policy.hidden_size = {hidden} (the RNN sits between '
                            f'the encoder and the decoder); set it to {hidden} or None')


def model_classes(kind):
    """Classes of pufferlib.models usable as a policy (built from `env`) or an rnn wrapper (from `env, policy`)."""
    import inspect
    from pufferlib import models
    leading = ['env'] if kind == 'policy_name' else ['env', 'policy']
    classes = {}
    for name, value in vars(models).items():
        if not inspect.isclass(value) or value.__module__ != models.__name__ or name.startswith('_'):
            continue
        if kind == 'policy_name' and not (hasattr(value, 'encode_observations') and
                                          hasattr(value, 'decode_actions')):
            continue  # docs/architecture.md §5: a policy exposes both halves of its forward pass
        params = list(inspect.signature(value.__init__).parameters.values())[1:]
        names = [p.name for p in params]
        buildable = all(p.default is not p.empty for p in params[len(leading):])
        if names[:len(leading)] == leading and names[len(leading):len(leading) + 1] != ['policy'] and buildable:
            classes[name] = value
    return classes


def model_parameters(class_name, problems, class_key):
    """Keyword parameters of a policy (or rnn) class in pufferlib.models, or None if there is no such class."""
    import inspect
    try:
        classes = model_classes(class_key)
    except ImportError:
        return None
    cls = classes.get(str(class_name))
    if cls is None:
        problems.append(f'base.{class_key} = {class_name!r} is not a {class_key[:-5]} class in pufferlib.models'
                        f'{did_you_mean(str(class_name), classes)} (valid: {", ".join(sorted(classes))})')
        return None
    skip = {'self', 'env', 'policy'}
    return {name for name, p in inspect.signature(cls.__init__).parameters.items()
            if name not in skip and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


# --------------------------------------------------------------------------------------------------------------
# `auto` values
# --------------------------------------------------------------------------------------------------------------

def physical_cores():
    try:
        import psutil
        cores = psutil.cpu_count(logical=False)
        if cores:
            return cores
    except ImportError:
        pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def resolve_auto(config):
    """Fill the `auto` values that need only the config (a validated one): vec.num_workers, vec.batch_size, and the
    train sizes when the environment package can tell its agent count without being built."""
    vec = config['vec']
    if vec.get('num_workers') == 'auto':
        vec['num_workers'] = resolved_workers(vec)
    if vec.get('batch_size') == 'auto':
        vec['batch_size'] = vec['num_envs']
    if 'auto' in (config['train'].get('batch_size'), config['train'].get('bptt_horizon')):
        agents = known_num_agents(config)
        if agents is not None:
            fill_train_auto(config, agents)
    return config


def known_num_agents(config):
    """Agent rows of the whole vector if the env package can tell without building the env, else None."""
    try:
        from pufferlib import envs
        per_object = envs.num_agents(config['base']['package'], config['base']['env_name'], config['env'])
        num_envs = config['vec']['num_envs']
    except Exception:  # an env package that cannot say; resolved when the env is built
        return None
    if not (is_int(per_object) and per_object >= 1 and is_count(num_envs, 'vec', 'num_envs')):
        return None
    if config.get('selfplay', {}).get('enabled') is True and per_object % 2 == 0:
        return per_object * num_envs // 2  # the trainer sees the learner's side only (pufferlib.selfplay)
    return per_object * num_envs


def fill_train_auto(config, num_agents):
    train = config['train']
    if train['batch_size'] == 'auto' and is_int(train['bptt_horizon']):
        train['batch_size'] = num_agents * train['bptt_horizon']
    elif train['bptt_horizon'] == 'auto' and is_int(train['batch_size']):
        train['bptt_horizon'] = train['batch_size'] // num_agents


def resolve_train_auto(config, num_agents):
    """Fill train.batch_size / train.bptt_horizon from the number of agent rows, then validate the whole config with
    that count (what the trainer needs of the sizes included). Raises ConfigError listing every problem."""
    problems = config_problems(config, num_agents=num_agents)
    if problems:
        raise config_error(problems)
    fill_train_auto(config, num_agents)
    return config


def resolve_device(device):
    """`auto` means cuda when available, else cpu."""
    if device != 'auto':
        return device
    import torch
    return 'cuda' if torch.cuda.is_available() else 'cpu'


# --------------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------------

def to_ini(config, comments=True):
    """Serialize a config dict as INI text that loads back (load_file) to the same values."""
    lines = []
    ordered = [s for s in SECTIONS if s in config] + sorted(s for s in config if s not in SECTIONS)
    for section in ordered:
        if lines:
            lines.append('')
        lines.append(f'[{section}]')
        for key, value in config[section].items():
            text = help_text(section, key) if comments else ''
            if text:
                lines.append(f'# {text}')
            lines.append(f'{key} = {format_value(value)}')
    return '\n'.join(lines) + '\n'
