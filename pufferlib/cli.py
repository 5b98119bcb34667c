"""The `puffer` command: train, eval, sweep, export, runs, plot, list, config.

Every config key is a flag: `--section.key value` (or `--section.key=value`), `[base]` keys as `--key value`,
with `-` and `_` interchangeable. User mistakes end in a one-line (or one-list) message and a non-zero exit,
never a traceback.
"""
import importlib
import os
import sys
from dataclasses import dataclass
from types import SimpleNamespace

from pufferlib import config as puffer_config
from pufferlib.exceptions import APIUsageError, ConfigError, EnvironmentSetupError, PufferError, TrainingInterrupted


@dataclass(frozen=True)
class Option:
    """A command-specific flag that is not a config key (e.g. --resume)."""
    name: str
    default: object
    help: str
    metavar: str = 'VALUE'
    kind: type = None      # the value's type where the default is None (computed later)

    @property
    def is_switch(self):
        return isinstance(self.default, bool)


WANDB_OPTIONS = (
    Option('wandb', False, 'Log config, metrics and the final model to Weights & Biases.'),
    Option('wandb_project', 'pufferlib', 'wandb project.', 'NAME'),
    Option('wandb_group', None, 'wandb group (e.g. to gather the seeds of one experiment).', 'NAME'),
    Option('wandb_tag', None, 'wandb tag.', 'TAG'),
    Option('neptune', False, 'Log config, metrics and the final model to Neptune.'),
    Option('neptune_project', None, 'Neptune project (workspace/project).', 'NAME'),
    Option('neptune_name', None, 'Neptune run name.', 'NAME'),
)
LOAD_OPTION = Option('load_model_path', None,
                     'Saved weights: latest (newest of this env), best (its best model), a run name, a step of the '
                     'newest run, a run folder or a .pt file.', 'latest|best|RUN|STEP|PATH')


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    module: str = None     # pufferlib module whose `entry(config, options)` runs the command
    entry: str = None
    options: tuple = ()
    needs_env: bool = True
    # Resolve `auto` values up front; a sweep leaves them to each trial, whose sizes may differ.
    resolve: bool = True


COMMANDS = {c.name: c for c in (
    Command('train', 'Train a policy on an environment with PPO.', 'pufferlib.runs.session', 'train', (
        Option('resume', None, 'Continue a run of this env: latest, its name, its folder, a saved step of the '
               'newest run, or best (rewound to its last checkpoint before its best model). Budget, logging and '
               'checkpoint flags apply to it; others must match the run.', 'latest|best|RUN|PATH|STEP'),
        Option('load_model_path', None, 'Start a new run from saved weights (the same as --train.init-path): '
               'latest, best, a run name, a step, a run folder or a .pt file.', 'latest|best|RUN|STEP|PATH'),
        Option('stop_at_step', None, 'Stop this session once the run reaches this many agent steps, with a '
               'checkpoint (status paused); the budget and its schedules stay those of the run. PBT sweeps train '
               'members a period at a time with it.', 'STEP', int),
        Option('change_hyperparameters', False, 'With --resume, also accept changed learning hyperparameters '
               '(learning rate, coefficients, gamma, gae_lambda, ...: session.HYPERPARAMETERS), as a PBT sweep '
               'does at a period boundary.'))
        + WANDB_OPTIONS),
    Command('eval', 'Watch, record and score a policy.', 'pufferlib.evaluate', 'evaluate', (
        LOAD_OPTION,
        Option('render_mode', None, 'human (a window), rgb_array (frames, for --save-video), ansi (text), none; '
               'default: human, or rgb_array with --save-video.', 'MODE'),
        Option('save_video', None, 'Write the frames to an .mp4 or .gif file.', 'FILE'),
        Option('episodes', None, 'Episodes to play before printing the statistics table; None: 10, or 1 with '
               '--save-video.', 'N', int),
        Option('fps', 30.0, 'Frames per second of the window and the video.', 'F'),
        Option('deterministic', False, 'Take the most likely action instead of sampling.'),
        Option('save_demos', None, 'Record every step (observations, actions, rewards, episode ends) to this .npz '
               'demonstrations file for bc.demo_path and reward.gail.demo_path (docs/rewards.md).', 'FILE'),
        Option('human', False, 'Play agent 0 yourself in the window with the keyboard (arrows / WASD / space, or '
               'number keys; the env\'s key map is printed; docs/eval.md); with --save-demos your steps are '
               'recorded.'),
        Option('keys', None, 'With --human: your own key map, KEY=ACTION pairs (pygame key names) and '
               'none=ACTION|wait|repeat for no key, e.g. left=2,right=3,space=1,none=0.', 'KEY=ACTION,...'),
        Option('opponent', None, 'Two-player envs: play --load-model-path against this player (scripted, random, '
               'or a model) for --episodes games (default 1000) and print win/draw/loss with 95% Wilson intervals '
               '(docs/selfplay.md).', 'scripted|random|MODEL'),
        Option('tournament', None, 'Two-player envs: round robin of these players (comma-separated; a run folder '
               'stands for its checkpoints and final model), --episodes games a pair, and a Bradley-Terry Elo '
               'table.', 'RUN|MODEL,...'))),
    Command('sweep', 'Search hyperparameters with the [sweep] settings.', 'pufferlib.sweep.runner', 'sweep',
            WANDB_OPTIONS, resolve=False),
    Command('export', 'Write a trained policy as ONNX.', 'pufferlib.export', 'export', (
        LOAD_OPTION, Option('output', None, 'Path of the .onnx file to write.', 'FILE'))),
    Command('runs', 'List runs with their env, steps, wall time, best and last score and status.',
            needs_env=False),
    Command('plot', 'Draw learning curves of runs as an image (several seeds of one config as a band).',
            needs_env=False),
    Command('config', 'Print the resolved config of an environment as INI.'),
    Command('list', 'List every environment with its config file and description.', needs_env=False),
)}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(argv)
    except ConfigError as error:
        print_error(error)
        return 2
    except TrainingInterrupted as error:  # Ctrl-C or SIGTERM, after a checkpoint: the message says how to resume
        print(str(error), file=sys.stderr)
        return error.exit_code
    except (EnvironmentSetupError, APIUsageError) as error:
        print_error(error)
        return 2
    except PufferError as error:
        print_error(error)
        return 1
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    except BrokenPipeError:  # `puffer list | head`
        return 0


def print_error(error):
    if isinstance(error, ConfigError):  # one line per problem, each cut short, at most a dozen listed
        error = puffer_config.config_error(error.problems)
    print(f'puffer: error: {error}', file=sys.stderr)


def run(argv):
    if not argv or argv[0] in ('-h', '--help', 'help'):
        print(top_level_help())
        return 0 if argv else 2
    if argv[0] in ('-V', '--version'):
        from pufferlib import __version__
        print(f'pufferlib {__version__}')
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        suggestion = puffer_config.did_you_mean(name, COMMANDS)
        raise ConfigError(f'unknown command {name!r}{suggestion} (commands: {", ".join(COMMANDS)})')
    command = COMMANDS[name]
    if name == 'list':
        if rest and rest[0] not in ('-h', '--help'):
            raise ConfigError(f'puffer list takes no arguments, got {" ".join(rest)}')
        if rest:
            print('usage: puffer list\n\nList every environment with its config file and description.')
            return 0
        print_environment_list()
        return 0
    if name in ('runs', 'plot'):
        return run_runs_command(name, rest)

    parsed = parse_command_line(command, rest)
    if parsed.help:
        print(command_help(command, parsed))
        return 0
    config = load_config(parsed, resolve=command.resolve)
    if name == 'config':
        print(puffer_config.to_ini(config), end='')
        return 0
    if name == 'train' and config['train']['world_size'] > 1 and 'WORLD_SIZE' not in os.environ:
        from pufferlib import distributed  # N learner ranks: the same command again, under torchrun
        return distributed.relaunch(argv, config['train']['world_size'])
    parsed.options.overrides = dict(parsed.overrides)  # `--resume` applies the safe ones to the run's own config
    parsed.options.config_files = list(parsed.config_files)  # named again in the commands a run prints
    entry = load_entry(command)
    result = entry(config, parsed.options)
    return result if isinstance(result, int) else 0


def load_config(parsed, resolve=True):
    """Load the config; flag problems found while parsing are reported together with the loader's own."""
    try:
        config = puffer_config.load(parsed.env_name, overrides=parsed.overrides, config_files=parsed.config_files,
                                    resolve=resolve)
    except ConfigError as error:
        raise ConfigError(parsed.problems + error.problems) from None
    if parsed.problems:
        raise ConfigError(parsed.problems)
    return config


def load_entry(command):
    """The function behind a command. A command whose module is not part of this build says so in one line."""
    try:
        module = importlib.import_module(command.module)
    except ModuleNotFoundError as error:
        if error.name != command.module:
            raise
        raise PufferError(f'`puffer {command.name}` is not available in this version of pufferlib yet') from None
    return getattr(module, command.entry)


# --------------------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------------------

@dataclass
class ParsedCommandLine:
    env_name: str
    config_files: list
    overrides: dict      # 'section.key' -> raw string (or True for a bare switch)
    options: SimpleNamespace
    help: bool
    problems: list       # flag mistakes, reported together with the config loader's


def flag_name(token):
    return token[2:].strip().lower().replace('-', '_')


def parse_command_line(command, args):
    """Split args into env name, --config files, config overrides and command options.

    Every unknown or malformed flag is collected, then reported together with the closest valid names.
    """
    problems = []
    env_name = None
    config_files, overrides = [], {}
    options = {o.name: o.default for o in command.options}
    by_name = {o.name: o for o in command.options}
    schema = puffer_config.typed_defaults()
    want_help = False
    i = 0
    while i < len(args):
        token = args[i]
        i += 1
        if token in ('-h', '--help'):
            want_help = True
            continue
        if not token.startswith('--'):
            if env_name is None and command.needs_env and not token.startswith('-'):
                env_name = token
            else:
                problems.append(f'unexpected argument {token!r}; flags look like --section.key value')
            continue
        name, value = flag_name(token), None
        if '=' in name:
            name, value = token[2:].split('=', 1)
            name = name.strip().lower().replace('-', '_')
        elif i < len(args) and not args[i].startswith('--'):
            value = args[i]
            i += 1
        if name == 'config':
            if value is None:
                problems.append('--config needs a file path')
            else:
                config_files.append(value)
            continue
        if name in by_name:
            option = by_name[name]
            if option.is_switch:
                if value is None:
                    options[name] = True
                else:
                    try:
                        options[name] = puffer_config.coerce(value, False, name)
                    except ValueError as error:
                        problems.append(f'--{name.replace("_", "-")} {value!r}: {error}')
            elif value is None:
                problems.append(f'--{name.replace("_", "-")} needs a value ({option.metavar})')
            else:
                options[name] = coerce_option(option, value, problems)
            continue
        section, key = name.rsplit('.', 1) if '.' in name else ('base', name)
        if section == 'base' and key not in schema['base']:
            candidates = list(by_name) + ['config'] + puffer_config.all_keys(schema)
            problems.append(f'unknown flag {token.split("=")[0]}'
                            f'{puffer_config.did_you_mean(name, candidates)}')
            continue
        if value is None:
            default = schema.get(section, {}).get(key)
            if section in schema and key in schema[section] and not isinstance(default, bool):
                problems.append(f'--{section}.{key.replace("_", "-")} needs a value')
                continue
            value = 'True'
        overrides[f'{section}.{key}'] = value
    if command.needs_env and env_name is None and not config_files and 'base.env_name' not in overrides \
            and not want_help:
        problems.append(f'puffer {command.name} needs an environment name (see `puffer list`) '
                        'or --config FILE with [base] env_name')
        raise ConfigError(problems)
    return ParsedCommandLine(env_name, config_files, overrides, SimpleNamespace(**options), want_help, problems)


def coerce_option(option, value, problems):
    default = option.default if option.kind is None else option.kind()
    if default is None or isinstance(default, str):
        return value
    try:
        return puffer_config.coerce(value, default, option.name)
    except ValueError as error:
        problems.append(f'--{option.name.replace("_", "-")} {value!r}: {error}')
        return option.default


RUNS_USAGE = '''usage: puffer runs [ENV] [--data-dir DIR]

List every run under DIR (default: experiments), or only ENV's, oldest first: name, env, steps, wall time, best
and last score, and status (running, finished, interrupted, crashed).'''
PLOT_USAGE = '''usage: puffer plot RUN [RUN ...] [--metric score] [--x steps|seconds] [-o curve.png] [--data-dir DIR]

Draw the learning curves of runs (run folders, run names, or ENV/NAME) into an image. Runs whose configs differ
only in their seeds are drawn as one mean curve with a band from their lowest to highest value.'''


def run_runs_command(name, args):
    '''`puffer runs` and `puffer plot`: they read run folders, so they take folder flags, not config keys.'''
    values = {'data_dir': 'experiments', 'metric': 'score', 'x': 'steps', 'output': 'curve.png'}
    allowed = {'runs': ('data_dir',), 'plot': ('data_dir', 'metric', 'x', 'output')}[name]
    positional, problems, i = [], [], 0
    while i < len(args):
        token = args[i]
        i += 1
        if token in ('-h', '--help'):
            print(RUNS_USAGE if name == 'runs' else PLOT_USAGE)
            return 0
        if not token.startswith('-'):
            positional.append(token)
            continue
        key, value = (token.lstrip('-').split('=', 1) + [None])[:2]
        key = key.replace('-', '_')
        key = {'o': 'output', 'train.data_dir': 'data_dir'}.get(key, key)
        if key not in allowed:
            problems.append(f'unknown flag {token.split("=")[0][:60]} for puffer {name} (flags: '
                            f'{", ".join("--" + k.replace("_", "-") for k in allowed)})')
            continue
        if value is None:
            if i >= len(args):
                problems.append(f'{token} needs a value')
                continue
            value, i = args[i], i + 1
        values[key] = value
    if name == 'runs' and len(positional) > 1:
        problems.append(f'puffer runs takes at most one ENV, got {" ".join(positional)[:100]}')
    if problems:
        raise ConfigError(problems)
    if name == 'runs':
        from pufferlib.runs import listing
        listing.list_runs(values['data_dir'], positional[0] if positional else None)
        return 0
    from pufferlib.runs import plot
    drawn = plot.plot(positional, values['data_dir'], values['metric'], values['x'], values['output'])
    print(f'wrote {values["output"]}: ' + ', '.join(drawn))
    return 0


# --------------------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------------------

def top_level_help():
    width = max(len(n) for n in COMMANDS)
    lines = ['usage: puffer COMMAND [ENV] [--config FILE] [--section.key VALUE ...]', '',
             'Fast, INI-configured reinforcement learning.', '', 'commands:']
    lines += [f'  {c.name:<{width}}  {c.summary}' for c in COMMANDS.values()]
    lines += ['', 'Examples:',
              '  puffer list',
              '  puffer train puffer_breakout',
              '  puffer train puffer_cartpole --train.learning-rate 3e-4 --vec.num-envs 2',
              '  puffer config puffer_cartpole --train.total-timesteps 1e6',
              '  puffer runs puffer_cartpole',
              '  puffer plot RUN_NAME --metric score -o curve.png',
              '', 'Run `puffer COMMAND ENV --help` to see every option with its default and help text.']
    return '\n'.join(lines)


def metavar_of(section, key, value):
    auto_type = puffer_config.AUTO_TYPES.get((section, key))
    if auto_type is not None:
        return f'{metavar_of(section, None, auto_type())}|auto'
    if isinstance(value, bool):
        return 'BOOL'
    if isinstance(value, int):
        return 'INT'
    if isinstance(value, float):
        return 'FLOAT'
    return 'STR'


def command_help(command, parsed):
    try:
        config = puffer_config.load(parsed.env_name, overrides=parsed.overrides,
                                    config_files=parsed.config_files, resolve=False)
        source = f'defaults for {config["base"]["env_name"]}'
    except ConfigError:
        if parsed.env_name is not None or parsed.config_files:
            raise
        config = puffer_config.typed_defaults()
        source = 'defaults of config/default.ini; pass ENV to see its own'
    lines = [f'usage: puffer {command.name}' + (' ENV' if command.needs_env else '') +
             ' [--config FILE] [--section.key VALUE ...] [options]', '', command.summary, '',
             '  --config FILE  Layer an INI file over the env config (repeatable; later files win).']
    if command.options:
        lines += ['', f'{command.name} options:']
        for option in command.options:
            flag = f'--{option.name.replace("_", "-")}' + ('' if option.is_switch else f' {option.metavar}')
            lines.append(f'  {flag:<34} {option.help} (default: {option.default})')
    lines += ['', f'config options ({source}):']
    unset = class_defaults(config)
    for section, items in config.items():
        items = {**items, **unset.get(section, {})}
        if not items:
            continue
        lines.append(f'  [{section}]')
        for key, value in items.items():
            if section == 'base':
                flag = f'--{key.replace("_", "-")}'
            elif section.startswith(puffer_config.SWEEP_PREFIX):
                continue
            else:
                flag = f'--{section}.{key.replace("_", "-")}'
            text = puffer_config.help_text(section, key)
            if key in unset.get(section, {}):
                text = f'{config["base"][MODEL_CLASS_KEYS[section]]}\'s own default (docs/training.md)'
            shown = f'{flag} {metavar_of(section, key, value)}'
            lines.append(f'  {shown:<40} {puffer_config.format_value(value):<14} {text}')
    spaces = [s for s in config if s.startswith(puffer_config.SWEEP_PREFIX)]
    if spaces:
        lines += ['', 'sweep spaces (set in config files): ' + ', '.join(s[len('sweep.'):] for s in spaces)]
    return '\n'.join(lines)


MODEL_CLASS_KEYS = {'policy': 'policy_name', 'rnn': 'rnn_name'}


def class_defaults(config):
    """{section: {key: default}} of the [policy] / [rnn] keyword arguments the config leaves at the class's own
    default, so that --help lists every option of the chosen classes, not only those a config file sets."""
    import inspect
    unset = {}
    for section, class_key in MODEL_CLASS_KEYS.items():
        name = config.get('base', {}).get(class_key)
        if name in (None, 'None'):
            continue
        try:
            cls = puffer_config.model_classes(class_key).get(str(name))
        except ImportError:
            cls = None
        if cls is None:
            continue
        for parameter in inspect.signature(cls.__init__).parameters.values():
            if parameter.name in ('self', 'env', 'policy') or parameter.default is parameter.empty:
                continue
            if parameter.name not in config.get(section, {}):
                unset.setdefault(section, {})[parameter.name] = parameter.default
    return unset


def print_environment_list():
    rows = puffer_config.list_environments()
    name_width = max((len(r[0]) for r in rows), default=4)
    path_width = max((len(r[1]) for r in rows), default=4)
    print(f'{"ENV":<{name_width}}  {"CONFIG":<{path_width}}  DESCRIPTION')
    for name, path, description in rows:
        print(f'{name:<{name_width}}  {path:<{path_width}}  {description}')
    print(f'\n{len(rows)} environments; config files in {puffer_config.config_dir()}')


if __name__ == '__main__':
    sys.exit(main())
