"""Configuration: INI files layered into one plain dict (section -> key -> typed value), validated up front.

Sources, lowest to highest precedence (DESIGN §2):
    config/default.ini  <  the environment's .ini  <  --config FILE (repeatable)  <  command-line flags
Values are typed by the default's type. Problems are collected and raised together as one ConfigError, each naming
the key, the value and what would be valid.
"""
import difflib
import glob
import math
import os
import re
from dataclasses import dataclass, field

from pufferlib.exceptions import ConfigError, EnvironmentSetupError

SECTIONS = ('base', 'vec', 'env', 'policy', 'rnn', 'train', 'sweep')
# Keys of these sections are defined by the environment / policy, not by default.ini.
OPEN_SECTIONS = ('env', 'policy', 'rnn')
SWEEP_PREFIX = 'sweep.'
SWEEP_SPACE_KEYS = ('distribution', 'min', 'max', 'mean', 'scale')
DISTRIBUTIONS = ('uniform', 'int_uniform', 'uniform_pow2', 'log_normal', 'logit_normal')

# Keys whose default is `auto`, with the type a non-auto value must have.
AUTO_TYPES = {
    ('vec', 'num_workers'): int,
    ('vec', 'batch_size'): int,
    ('train', 'batch_size'): int,
    ('train', 'bptt_horizon'): int,
    ('train', 'device'): str,
}
CHOICES = {
    ('vec', 'backend'): ('Serial', 'Multiprocessing', 'Ray', 'PufferEnv'),
    ('train', 'optimizer'): ('adam', 'muon'),
    ('train', 'precision'): ('float32', 'bfloat16'),
    ('train', 'compile_mode'): ('default', 'reduce-overhead', 'max-autotune', 'max-autotune-no-cudagraphs'),
    ('sweep', 'method'): ('Protein', 'Random'),
    ('sweep', 'goal'): ('maximize', 'minimize'),
    ('sweep', 'backend'): ('local', 'ray'),
}
AT_LEAST_ONE = {
    ('vec', 'num_envs'), ('vec', 'num_workers'), ('vec', 'batch_size'), ('train', 'total_timesteps'),
    ('train', 'batch_size'), ('train', 'bptt_horizon'), ('train', 'minibatch_size'),
    ('train', 'max_minibatch_size'), ('train', 'update_epochs'), ('train', 'checkpoint_interval'),
    ('sweep', 'max_runs'), ('sweep', 'workers'), ('sweep', 'curve_points'), ('sweep', 'candidates_per_point'),
}
# (low, high, low inclusive, high inclusive)
RANGES = {
    ('train', 'learning_rate'): (0, math.inf, False, True),
    ('train', 'min_lr_ratio'): (0, 1, True, True),
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
    ('train', 'min_ent_ratio'): (0, 1, True, True),
    ('train', 'vtrace_rho_clip'): (0, math.inf, False, True),
    ('train', 'vtrace_c_clip'): (0, math.inf, False, True),
    ('train', 'prio_alpha'): (0, math.inf, True, True),
    ('train', 'prio_beta0'): (0, 1, True, True),
    ('sweep', 'max_suggestion_cost'): (0, math.inf, False, True),
    ('sweep', 'random_warmup'): (0, math.inf, True, True),
}
DEVICE_PATTERN = re.compile(r'^(auto|cpu|mps|cuda(:\d+)?)$')
SECTION_PATTERN = re.compile(r'^[a-z0-9_.]+$')
KEY_PATTERN = re.compile(r'^[a-z_][a-z0-9_]*$')


def config_dir():
    """The folder holding default.ini and the environment configs.

    An installed wheel carries them as pufferlib/configs (setup.py maps the repository's config/ there); a source
    checkout or an editable install reads the repository's config/ directly.
    """
    package = os.path.dirname(os.path.abspath(__file__))
    installed = os.path.join(package, 'configs')
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


def parse_ini(text, source='<string>'):
    """Parse INI text strictly. Any malformed line is a ConfigError naming the file and line."""
    ini = IniFile(source)
    problems = []
    section = None
    pending = []
    seen_sections = set()
    for number, line in enumerate(text.splitlines(), start=1):
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
                problems.append(f'{where}: section header {stripped!r} is missing its closing "]"')
                section = None
                continue
            name = normalize(stripped[1:-1])
            if not SECTION_PATTERN.match(name):
                problems.append(f'{where}: invalid section name [{stripped[1:-1]}]; use letters, digits, _ and .')
                section = None
                continue
            if name in seen_sections:
                problems.append(f'{where}: section [{name}] appears twice in this file')
            seen_sections.add(name)
            section = name
            ini.sections.setdefault(name, {})
            continue
        if '=' not in stripped:
            problems.append(f'{where}: expected "[section]" or "key = value", got {stripped!r}')
            continue
        raw_key, raw_value = stripped.split('=', 1)
        key = normalize(raw_key)
        value = re.split(r'\s[#;]', raw_value, maxsplit=1)[0].strip()
        if section is None:
            problems.append(f'{where}: key {raw_key.strip()!r} appears before any [section] header')
            continue
        if not KEY_PATTERN.match(key):
            problems.append(f'{where}: invalid key name {raw_key.strip()!r}; use letters, digits and _')
            continue
        if key in ini.sections[section]:
            problems.append(f'{where}: key {key!r} appears twice in section [{section}]')
        ini.sections[section][key] = value
        if pending:
            ini.comments[(section, key)] = ' '.join(pending)
        pending = []
    if problems:
        raise ConfigError(problems)
    return ini


def read_ini(path):
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except OSError as error:
        raise ConfigError(f'cannot read config file {path!r}: {error.strerror}') from None
    except UnicodeDecodeError:
        raise ConfigError(f'config file {path!r} is not UTF-8 text') from None
    return parse_ini(text, source=path)


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


def type_name(value):
    return 'None' if value is None else type(value).__name__


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


def list_environments():
    """[(env name, config path, description)] sorted by name, for `puffer list`."""
    rows = []
    for name, path in sorted(environment_index().items()):
        shown = os.path.relpath(path, config_dir()) if path.startswith(config_dir()) else path
        rows.append((name, shown, read_ini(path).description))
    return rows


def find_env_config(env_name):
    index = environment_index()
    if env_name in index:
        return index[env_name]
    suggestions = closest(env_name, index, n=5)
    hint = f'closest: {", ".join(suggestions)}' if suggestions else 'run `puffer list` to see every name'
    raise ConfigError(f'unknown environment {env_name!r}; {hint}')


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
            problems.append(f'{source}: unknown section [{section}]{did_you_mean(section, SECTIONS)} '
                            f'(valid: {", ".join(SECTIONS)}, sweep.<section>.<key>)')
            continue
        if is_space and section not in config and not may_define:
            problems.append(f'{source}: unknown sweep space [{section}]; define it in a config file first')
            continue
        target = config.setdefault(section, {})
        for raw_key, value in items.items():
            key = normalize(raw_key)
            name = f'{section}.{key}'
            if is_space:
                if key not in SWEEP_SPACE_KEYS:
                    problems.append(f'{source}: unknown key {name}{did_you_mean(key, SWEEP_SPACE_KEYS)} '
                                    f'(a sweep space has {", ".join(SWEEP_SPACE_KEYS)})')
                    continue
                try:
                    target[key] = coerce_space_value(key, value)
                except ValueError as error:
                    problems.append(f'{source}: {name} = {value!r}: {error}')
                continue
            if section in OPEN_SECTIONS:
                default = target.get(key)
                if key not in target and not isinstance(value, str):
                    target[key] = value
                    continue
            elif key not in schema[section]:
                problems.append(f'{source}: unknown key {name}{did_you_mean(name, all_keys(schema))}')
                continue
            else:
                default = schema[section][key]
            try:
                target[key] = coerce(value, default, name, AUTO_TYPES.get((section, key)))
            except ValueError as error:
                problems.append(f'{source}: {name} = {value!r}: {error}')


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
    """Resolve the config of `env_name`: default.ini < its .ini < `config_files` < `overrides`.

    `env_name` may be None when a config file names the environment in its [base] env_name.
    Raises ConfigError listing every problem found.
    """
    problems = []
    schema = typed_defaults()
    config = typed_defaults()
    files = [read_ini(path) for path in config_files]
    override_sections, override_problems = nested_overrides(overrides)
    problems += override_problems

    if env_name is None:
        env_name = override_sections.get('base', {}).get('env_name')
        for ini in reversed(files):
            if env_name is None:
                env_name = ini.sections.get('base', {}).get('env_name')
    env_ini = None
    if env_name is not None:
        env_name = str(env_name).split()[0] if str(env_name).split() else str(env_name)
        index = environment_index()
        if env_name in index:
            env_ini = read_ini(index[env_name])
        elif not files:
            find_env_config(env_name)  # raises with the closest names
    else:
        raise ConfigError('no environment given: pass an env name (see `puffer list`) or --config FILE '
                          'with [base] env_name')

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
    # Check even after layering problems (bad values were skipped) so every mistake is reported at once.
    check(config, problems, env_declared=env_declared)
    if problems:
        raise ConfigError(problems)
    if resolve:
        resolve_auto(config)
    return config


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
        check(config, problems, env_declared=set(config['env']))
        if problems:
            raise ConfigError(problems)
        resolve_auto(config)
        return config
    config = {section: {} for section in ini.sections}
    apply_layer(config, ini.sections, ini.source, problems, schema, may_define=True)
    if problems:
        raise ConfigError(problems)
    check_values(config, problems)
    if problems:
        raise ConfigError(problems)
    return config


def validate(config):
    """Re-check a config dict after code modified it. Raises ConfigError listing every problem."""
    problems = []
    schema = typed_defaults()
    for section, items in config.items():
        if section not in schema and not section.startswith(SWEEP_PREFIX):
            problems.append(f'unknown section [{section}]{did_you_mean(section, SECTIONS)}')
            continue
        if section in OPEN_SECTIONS or section.startswith(SWEEP_PREFIX):
            continue
        for key, value in items.items():
            name = f'{section}.{key}'
            if key not in schema[section]:
                problems.append(f'unknown key {name}{did_you_mean(name, all_keys(schema))}')
                continue
            try:
                coerce(value, schema[section][key], name, AUTO_TYPES.get((section, key)))
            except ValueError as error:
                problems.append(f'{name} = {value!r}: {error}')
    if problems:
        raise ConfigError(problems)
    check(config, problems, env_declared=None, check_environment=False)
    if problems:
        raise ConfigError(problems)
    return config


# --------------------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------------------

def check(config, problems, env_declared, check_environment=True):
    check_values(config, problems)
    check_vec(config, problems)
    check_train(config, problems)
    check_sweep_spaces(config, problems)
    if check_environment:
        check_open_sections(config, problems, env_declared)


def check_values(config, problems):
    for (section, key), choices in CHOICES.items():
        value = config.get(section, {}).get(key)
        if value is not None and value not in choices:
            problems.append(f'{section}.{key} = {value!r} is not valid; choose one of: {", ".join(choices)}'
                            f'{did_you_mean(str(value), choices)}')
    for section, key in AT_LEAST_ONE:
        value = config.get(section, {}).get(key)
        if isinstance(value, int) and value < 1:
            problems.append(f'{section}.{key} = {value} must be at least 1')
    for (section, key), (low, high, low_inclusive, high_inclusive) in RANGES.items():
        value = config.get(section, {}).get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        too_low = value < low or (value == low and not low_inclusive)
        too_high = value > high or (value == high and not high_inclusive)
        if too_low or too_high or math.isnan(value):
            interval = f'{"[" if low_inclusive else "("}{low}, {high}{"]" if high_inclusive else ")"}'
            problems.append(f'{section}.{key} = {value} is out of range; valid: {interval}')
    device = config.get('train', {}).get('device')
    if isinstance(device, str) and not DEVICE_PATTERN.match(device):
        problems.append(f'train.device = {device!r} is not valid; use auto, cpu, cuda or cuda:N')
    seed = config.get('vec', {}).get('seed')
    if isinstance(seed, int) and seed < 0:
        problems.append(f'vec.seed = {seed} must be non-negative')
    seed = config.get('train', {}).get('seed')
    if isinstance(seed, int) and seed < 0:
        problems.append(f'train.seed = {seed} must be non-negative')


def divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def short_list(values, limit=8):
    values = list(values)
    text = ', '.join(str(v) for v in values[:limit])
    return text + (', ...' if len(values) > limit else '')


def check_vec(config, problems):
    vec = config.get('vec', {})
    num_envs, workers, batch = vec.get('num_envs'), vec.get('num_workers'), vec.get('batch_size')
    if not isinstance(num_envs, int) or num_envs < 1:
        return
    if vec.get('backend') == 'PufferEnv' and num_envs != 1:
        problems.append(f'vec.num_envs = {num_envs} with vec.backend = PufferEnv: the native backend drives one '
                        'env object; set vec.num_envs = 1 (and raise [env] num_envs) or use Multiprocessing')
    if isinstance(workers, int) and workers >= 1:
        if num_envs % workers:
            problems.append(f'vec.num_workers = {workers} does not divide vec.num_envs = {num_envs}; '
                            f'valid num_workers: {short_list(divisors(num_envs))}')
            return
        per_worker = num_envs // workers
        if isinstance(batch, int) and batch >= 1:
            valid = [b for b in divisors(num_envs) if b % per_worker == 0]
            if batch not in valid:
                problems.append(
                    f'vec.batch_size = {batch} must divide vec.num_envs = {num_envs} and be a multiple of the envs '
                    f'per worker ({num_envs} / {workers} workers = {per_worker}); valid: {short_list(valid)}')
    elif isinstance(batch, int) and batch >= 1 and num_envs % batch:
        problems.append(f'vec.batch_size = {batch} does not divide vec.num_envs = {num_envs}; '
                        f'valid: {short_list(divisors(num_envs))}')


def check_train(config, problems, num_agents=None):
    train = config.get('train', {})
    batch, horizon = train.get('batch_size'), train.get('bptt_horizon')
    minibatch, max_minibatch = train.get('minibatch_size'), train.get('max_minibatch_size')
    if batch == 'auto' and horizon == 'auto':
        problems.append('train.batch_size and train.bptt_horizon are both auto; set one of them '
                        '(e.g. train.bptt_horizon = 64) so the other can be derived from the number of agents')
        return
    ints = all(isinstance(v, int) and v >= 1 for v in (batch, horizon, minibatch, max_minibatch))
    if isinstance(horizon, int) and horizon >= 1:
        if isinstance(minibatch, int) and minibatch >= 1 and minibatch % horizon:
            problems.append(f'train.minibatch_size = {minibatch} must be a multiple of train.bptt_horizon = '
                            f'{horizon} (whole segments); e.g. {max(horizon, minibatch // horizon * horizon)}')
        if (isinstance(max_minibatch, int) and max_minibatch >= 1 and isinstance(minibatch, int)
                and minibatch > max_minibatch and max_minibatch % horizon):
            problems.append(f'train.max_minibatch_size = {max_minibatch} must be a multiple of '
                            f'train.bptt_horizon = {horizon}; e.g. {max(horizon, max_minibatch // horizon * horizon)}')
    if (isinstance(minibatch, int) and isinstance(max_minibatch, int) and minibatch >= 1 and max_minibatch >= 1
            and minibatch > max_minibatch and minibatch % max_minibatch):
        valid = [d for d in divisors(minibatch) if d <= max_minibatch and
                 (not isinstance(horizon, int) or horizon < 1 or d % horizon == 0)]
        problems.append(f'train.minibatch_size = {minibatch} is above train.max_minibatch_size = {max_minibatch} '
                        f'so gradients are accumulated over chunks, but {max_minibatch} does not divide {minibatch}; '
                        f'valid max_minibatch_size: {short_list(valid) or "a divisor of minibatch_size"}')
    if ints:
        if batch % horizon:
            problems.append(f'train.batch_size = {batch} must be a multiple of train.bptt_horizon = {horizon} '
                            f'(segments of {horizon} steps); e.g. {max(horizon, batch // horizon * horizon)}')
        elif minibatch > batch:
            problems.append(f'train.minibatch_size = {minibatch} exceeds train.batch_size = {batch}; '
                            f'use at most {batch}')
        elif batch % minibatch:
            valid = [d for d in divisors(batch) if d % horizon == 0]
            problems.append(f'train.minibatch_size = {minibatch} does not divide train.batch_size = {batch}; '
                            f'valid: {short_list(valid)}')
        if num_agents is not None and batch % horizon == 0 and (batch // horizon) % num_agents:
            problems.append(
                f'train.batch_size = {batch} gives {batch // horizon} segments of train.bptt_horizon = {horizon}, '
                f'not a multiple of the {num_agents} agents; use a multiple of {num_agents * horizon}, '
                f'e.g. {num_agents * horizon}')


def check_sweep_spaces(config, problems):
    for section, space in config.items():
        if not section.startswith(SWEEP_PREFIX):
            continue
        target = section[len(SWEEP_PREFIX):]
        if '.' not in target:
            problems.append(f'[{section}] must name a key as [sweep.<section>.<key>], e.g. [sweep.train.gamma]')
            continue
        target_section, target_key = target.rsplit('.', 1)
        if target_key not in config.get(target_section, {}):
            problems.append(f'[{section}] searches {target}, which is not a config key'
                            f'{did_you_mean(target, all_keys({s: i for s, i in config.items() if not s.startswith(SWEEP_PREFIX)}))}')
            continue
        missing = [k for k in ('distribution', 'min', 'max') if k not in space]
        if missing:
            problems.append(f'[{section}] is missing {", ".join(missing)}')
            continue
        dist, low, high = space['distribution'], space['min'], space['max']
        mean = space.get('mean')
        if low > high:
            problems.append(f'{section}.min = {low} is greater than {section}.max = {high}; swap them')
            continue
        if mean is not None and not low <= mean <= high:
            problems.append(f'{section}.mean = {mean} is outside [min, max] = [{low}, {high}]')
        if dist in ('log_normal', 'uniform_pow2') and low <= 0:
            problems.append(f'{section}.min = {low} must be > 0 for distribution {dist}')
        if dist == 'logit_normal' and not (0 < low and high < 1):
            problems.append(f'{section}: distribution logit_normal needs 0 < min and max < 1, got [{low}, {high}]')
        scale = space.get('scale', 'auto')
        if isinstance(scale, (int, float)) and scale <= 0:
            problems.append(f'{section}.scale = {scale} must be > 0 (or auto, or time)')


def check_open_sections(config, problems, env_declared):
    """Keys of [env] must be ones the environment accepts; [policy] / [rnn] ones the policy classes accept."""
    from pufferlib import environments
    base = config['base']
    try:
        environments.load_package(base['package'])
        package_available = True
    except EnvironmentSetupError as error:
        if base['package'] not in environments.PACKAGES:
            problems.append(str(error))
            return
        package_available = False  # optional dependency missing here: trust the env's own config file
    accepted = set(env_declared)
    if package_available:
        try:
            parameters = environments.env_parameters(base['package'], base['env_name'])
        except (EnvironmentSetupError, KeyError, ValueError, TypeError) as error:
            problems.append(f'base.env_name = {base["env_name"]!r}: {error}')
            return
        accepted = None if parameters is None else set(parameters)
    if accepted is not None:
        for key in config['env']:
            if key not in accepted:
                problems.append(f'unknown key env.{key} for {base["env_name"]}'
                                f'{did_you_mean(f"env.{key}", [f"env.{k}" for k in accepted])} '
                                f'(valid: {short_list(sorted(accepted), 12) or "none"})')
    for section, class_key in (('policy', 'policy_name'), ('rnn', 'rnn_name')):
        class_name = base.get(class_key)
        if class_name is None:
            if config[section] and section == 'rnn':
                problems.append(f'[rnn] sets {", ".join(config["rnn"])} but base.rnn_name = None; '
                                'set base.rnn_name = LSTMWrapper or remove the [rnn] keys')
            continue
        valid = model_parameters(class_name, problems, class_key)
        if valid is None:
            continue
        for key in config[section]:
            if key not in valid:
                problems.append(f'unknown key {section}.{key} for {class_name}'
                                f'{did_you_mean(f"{section}.{key}", [f"{section}.{k}" for k in valid])} '
                                f'(valid: {short_list(sorted(valid), 12) or "none"})')


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
            continue  # DESIGN §5: a policy exposes both halves of its forward pass
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
    """Fill the `auto` values that need only the config: vec.num_workers, vec.batch_size, and the train sizes
    when the environment package can tell its agent count without being built."""
    vec = config['vec']
    if vec.get('num_workers') == 'auto':
        if vec.get('backend') == 'Serial':
            vec['num_workers'] = vec['num_envs']  # in process: each env is its own worker, any batch of envs works
        else:
            limit = 1 if vec.get('backend') == 'PufferEnv' else physical_cores()
            vec['num_workers'] = max(d for d in divisors(vec['num_envs']) if d <= max(1, limit))
    if vec.get('batch_size') == 'auto':
        vec['batch_size'] = vec['num_envs']
    if 'auto' in (config['train'].get('batch_size'), config['train'].get('bptt_horizon')):
        agents = known_num_agents(config)
        if agents is not None:
            resolve_train_auto(config, agents)
    return config


def known_num_agents(config):
    try:
        from pufferlib import environments
        per_object = environments.num_agents(config['base']['package'], config['base']['env_name'], config['env'])
    except Exception:  # an env package that cannot say; resolved when the env is built
        return None
    return None if per_object is None else per_object * config['vec']['num_envs']


def resolve_train_auto(config, num_agents):
    """Fill train.batch_size / train.bptt_horizon from the number of agent rows and check what depends on them."""
    train = config['train']
    problems = []
    if train['batch_size'] == 'auto' and train['bptt_horizon'] == 'auto':
        check_train(config, problems)
        raise ConfigError(problems)
    if train['batch_size'] == 'auto':
        train['batch_size'] = num_agents * train['bptt_horizon']
    elif train['bptt_horizon'] == 'auto':
        if train['batch_size'] % num_agents:
            raise ConfigError(f'train.bptt_horizon = auto needs train.batch_size = {train["batch_size"]} to be a '
                              f'multiple of the {num_agents} agents; e.g. {num_agents * 64}')
        train['bptt_horizon'] = train['batch_size'] // num_agents
    check_train(config, problems, num_agents=num_agents)
    if problems:
        raise ConfigError(problems)
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
