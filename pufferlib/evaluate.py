"""`puffer eval ENV`: watch, record and score a policy.

    puffer eval puffer_squared --load-model-path latest                       # a window at --fps
    puffer eval puffer_squared --load-model-path latest --render-mode rgb_array --save-video run.mp4
    puffer eval puffer_squared --render-mode ansi                             # random actions, as text
    puffer eval puffer_squared --load-model-path latest --render-mode none --save-demos demos.npz --episodes 100
    puffer eval puffer_breakout --human --save-demos mine.npz --episodes 3   # a person plays (pufferlib.keyboard)

One env object plays, with as few sub-envs as it allows ([env] num_envs = 1 where the env has that key), so the
env that is drawn (env 0) is the env that is scored. The policy and env settings come from the model's run
directory when it has one (see pufferlib.runs.saved_policy). Without --load-model-path the agent takes uniformly random
actions, and says so. Every finished episode's statistics (the info dicts of the env contract) are collected, and
a table of their mean, std, min and max is printed at the end; Ctrl-C or closing the window ends early and still
prints it.
"""
import math
import sys
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import torch

from pufferlib import demos, envs, keyboard

from pufferlib.runs import saved_policy
from pufferlib.actor import Actor
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError
from pufferlib.video import VideoWriter, Window, check_video_path

RENDER_MODES = ('human', 'rgb_array', 'ansi', 'none')
OPTION_DEFAULTS = dict(load_model_path=None, render_mode='human', save_video=None, episodes=None, fps=30,
                       deterministic=False, save_demos=None, opponent=None, tournament=None, human=False, keys=None)
# Shown first in the statistics table, in this order; the env's own statistics follow alphabetically.
LEADING_STATS = ('episode_return', 'episode_length', 'score')


@dataclass
class EvalResult:
    episodes: list          # one dict of statistics per finished episode
    summary: dict           # statistic -> {'mean', 'std', 'min', 'max'}
    steps: int              # env steps taken
    frames: int             # frames drawn (human, rgb_array) or text pictures printed (ansi)
    model_path: str = None  # None: random actions
    video_path: str = None
    run_config_path: str = None
    stopped_early: bool = False  # the window was closed or Ctrl-C pressed before the last episode
    messages: list = field(default_factory=list)


def evaluate(config, options=None, output=None):
    """Play `options.episodes` episodes of `config`'s env and print their statistics. See the module docstring.

    `output` (default stdout) receives the table and, in ansi mode, the text pictures; notes go to stderr.
    """
    options = SimpleNamespace(**{**OPTION_DEFAULTS, **vars(options or SimpleNamespace())})
    output = output or sys.stdout
    if options.opponent or options.tournament:  # two-player matches (pufferlib.arena, docs/selfplay.md)
        from pufferlib import arena
        return arena.run(config, options, output)
    check_options(options)
    model_path = saved_policy.find_model(options.load_model_path, config)
    config, run_config = saved_policy.config_for_model(config, model_path, getattr(options, 'overrides', ()))
    seed = config['vec']['seed']
    env = saved_policy.make_env(config, seed, **eval_env_overrides(config, options.render_mode))
    env_name = config['base']['env_name']
    result = EvalResult([], {}, 0, 0, model_path, options.save_video, run_config)
    window = writer = None
    try:
        if options.render_mode == 'human':  # before loading the model: no display is the likeliest failure
            window = Window(f'puffer eval {env_name}', options.fps)
        if options.human:  # after the window: pygame reads key names once its display is up
            key_map = keyboard.make_key_map(env_name, env.single_action_space, options.keys)
            window.use_keys(key_map.codes)
        if model_path is None:
            actor = RandomActor(env, seed)
            if options.human and env.num_agents > 1:
                note(result, 'no --load-model-path: the other agents take uniformly random actions')
            elif not options.human:
                note(result, 'no --load-model-path: taking uniformly random actions (pass --load-model-path latest, '
                             'a run directory or a .pt file to watch a trained policy)')
        else:
            torch.manual_seed(config['train']['seed'])
            actor = PolicyActor(saved_policy.load_policy(config, env, model_path), env, options.deterministic)
            note(result, f'policy {model_path}' + (f' (settings from {run_config})' if run_config else ''))
        if options.human:
            actor = keyboard.HumanActor(window, key_map, actor, env.actions.shape)
            note(result, 'you play agent 0: ' + key_map.describe())
        if options.save_video:
            writer = VideoWriter(options.save_video, options.fps)
        draw = Drawing(env, options.render_mode, window, writer, output, options.fps)
        recorded_rows = 1 if options.human else env.num_agents  # a person's demonstrations: agent 0's steps only
        recorder = demos.Recorder(recorded_rows) if options.save_demos else None
        play(env, actor, options.episodes, seed, draw, result, recorder)
        if recorder is not None:  # what was played, also when stopped early (pufferlib.demos, docs/rewards.md)
            source = 'human' if options.human else model_path or 'random'
            header = recorder.save(options.save_demos, env_name, env.single_observation_space,
                                   env.single_action_space, source)
            note(result, f'wrote {header["steps"]} steps, {header["complete_episodes"]} finished episodes to '
                         f'{options.save_demos}')
    finally:
        for closable in (window, writer, env):
            if closable is not None:
                closable.close()
    result.episodes = result.episodes[:options.episodes]
    result.summary = summarize(result.episodes)
    print_table(result, env_name, output)
    return result


def note(result, message):
    result.messages.append(message)
    print(f'puffer eval: {message}', file=sys.stderr)


def check_options(options):
    if options.render_mode is None:  # not chosen: record without a window when a video is asked for
        options.render_mode = 'rgb_array' if options.save_video else (
            'none' if options.save_demos and not options.human else 'human')
    if options.episodes is None:  # not chosen: a video of one episode, a table over ten
        options.episodes = 1 if options.save_video else 10
    problems = []
    if options.render_mode not in RENDER_MODES:
        problems.append(f'--render-mode {options.render_mode!r} is not a render mode; valid: '
                        f'{", ".join(RENDER_MODES)}')
    if isinstance(options.episodes, bool) or not isinstance(options.episodes, int) or options.episodes < 1:
        problems.append(f'--episodes {options.episodes!r} must be an int >= 1')
    if isinstance(options.fps, bool) or not isinstance(options.fps, (int, float)) or not options.fps > 0:
        problems.append(f'--fps {options.fps!r} must be a number > 0')
    if options.save_demos is not None and (not isinstance(options.save_demos, str) or
                                           not options.save_demos.endswith('.npz')):
        problems.append(f'--save-demos {options.save_demos!r} must name an .npz file')
    if options.human and options.render_mode != 'human':
        problems.append(f'--human plays in the window: use --render-mode human (the default), not '
                        f'{options.render_mode}')
    if options.keys is not None and not options.human:
        problems.append(f'--keys {options.keys!r} maps keys for a person playing: add --human')
    if options.save_video:
        check_video_path(options.save_video)
        if options.render_mode not in ('human', 'rgb_array'):
            problems.append(f'--save-video needs frames: use --render-mode rgb_array (no window) or human (window '
                            f'and video), not {options.render_mode}')
    if problems:
        raise APIUsageError('; '.join(problems))


def eval_env_overrides(config, render_mode):
    """[env] changes for watching one env: a single sub-env, stats read every step, frames or text switched on."""
    base = config['base']
    parameters = envs.env_parameters(base['package'], base['env_name'])
    overrides = saved_policy.single_env_overrides(config)
    if parameters is not None and 'log_interval' in parameters:
        overrides['log_interval'] = 1  # each step's info then holds exactly the episodes that just ended
    # Gymnasium / PettingZoo envs draw only in the render_mode they were made with; pygame does the showing.
    if (parameters is None or 'render_mode' in parameters) and 'render_mode' not in config['env']:
        if render_mode in ('human', 'rgb_array'):
            overrides['render_mode'] = 'rgb_array'
        elif render_mode == 'ansi':
            overrides['render_mode'] = 'ansi'
    return overrides


# ----------------------------------------------------------------------------------------------------------------
# Acting
# ----------------------------------------------------------------------------------------------------------------

class RandomActor:
    """Uniformly random actions over every agent row (over the legal ones, for an env with action masks)."""

    def __init__(self, env, seed):
        self.env = env
        self.space = env.action_space
        self.space.seed(seed)
        self.dtype = env.actions.dtype
        self.shape = env.actions.shape
        self.random = np.random.default_rng(seed)

    def __call__(self, observations, done):
        action_masks = getattr(self.env, 'action_masks', None)
        actions = np.asarray(self.space.sample(), dtype=self.dtype).reshape(self.shape)
        if action_masks is None:
            return actions
        space = self.env.single_action_space
        discrete = getattr(space, 'discrete', space)  # a MixedSpace's choices come first in its rows
        legal = random_legal_actions(self.random, action_masks, discrete).astype(self.dtype)
        if discrete is space:
            return legal.reshape(self.shape)
        actions[:, :space.num_discrete] = legal.reshape(len(actions), -1)
        return actions


def random_legal_actions(random, action_masks, action_space):
    """A uniformly random legal choice for every row and action dimension (all choices when none is legal)."""
    nvec = [action_space.n] if hasattr(action_space, 'n') else list(action_space.nvec.reshape(-1))
    columns = np.split(np.asarray(action_masks, bool), np.cumsum(nvec)[:-1], axis=1)
    choices = []
    for legal in columns:
        legal = legal | ~legal.any(1, keepdims=True)
        weights = (random.random(legal.shape) + 1) * legal  # the largest uniform draw among the legal choices
        choices.append(weights.argmax(1))
    return np.stack(choices, 1) if len(choices) > 1 else choices[0]


class PolicyActor:
    """A policy's actions through its Actor (pufferlib.actor): sampled, or the most likely ones (`deterministic`).
    A recurrent policy keeps its state per agent row and starts a row from zeros when that row's episode has just
    ended."""

    def __init__(self, policy, env, deterministic):
        self.actor = Actor(policy, env.single_action_space, 'cpu', deterministic, dtype=env.actions.dtype)
        self.env = env
        self.shape = env.actions.shape
        self.state = self.actor.initial_state(env.num_agents)

    def __call__(self, observations, done):
        action_masks = getattr(self.env, 'action_masks', None)  # the env's legal actions (docs/policies.md)
        actions, _, _, self.state = self.actor.act(observations, self.state, done, action_mask=action_masks)
        return self.actor.to_env(actions).reshape(self.shape)


# ----------------------------------------------------------------------------------------------------------------
# Playing and drawing
# ----------------------------------------------------------------------------------------------------------------

class Drawing:
    """Draws env 0 in the chosen render mode: a frame for the window and / or the video, or a text picture."""

    def __init__(self, env, render_mode, window, writer, output, fps):
        self.env, self.mode = env, render_mode
        self.window, self.writer = window, writer
        self.output, self.fps = output, fps
        # Text is paced and redrawn in place only for a person watching a terminal; pipes get every picture.
        self.live_text = render_mode == 'ansi' and output.isatty()
        self.last_text = None
        self.last_frame = None

    def again(self):
        """Show the last frame once more (the env did not step): keeps the window and its keys live; no video
        frame. Returns whether the window is still open."""
        return self.window is None or self.window.show(self.last_frame)

    def __call__(self):
        """Draw one picture; returns (window still open, pictures drawn)."""
        if self.mode in ('human', 'rgb_array'):
            frame = self.env.render()
            if frame is None:
                raise EnvironmentSetupError(f'{type(self.env).__name__} draws no frames (render() returned None); '
                                            'use --render-mode ansi or none')
            self.last_frame = frame
            if self.writer is not None:
                self.writer.write(frame)
            if self.window is not None and not self.window.show(frame):
                return False, 0
            return True, 1
        if self.mode == 'ansi':
            text = self.env.render_text()
            if not text:
                raise EnvironmentSetupError(f'{type(self.env).__name__} has no text picture (render_text() is '
                                            'empty); use --render-mode human, rgb_array or none')
            if self.live_text:
                if self.last_text is not None:  # keep the previous picture up for one frame time
                    time.sleep(max(0.0, 1 / self.fps - (time.monotonic() - self.last_text)))
                self.last_text = time.monotonic()
                self.output.write('\x1b[H\x1b[2J')  # cursor home, clear screen
            self.output.write(text.rstrip('\n') + '\n' + ('' if self.live_text else '\n'))
            self.output.flush()
            return True, 1
        return True, 0


def play(env, actor, episodes, seed, draw, result, recorder=None):
    """Step `env` with `actor` until `episodes` episodes have finished (or the viewer stops), recording into
    `result` (and every step of the first agent rows it has room for into `recorder`, a pufferlib.demos.Recorder).
    An actor that returns None (a person who has not pressed a key in a turn-based game) leaves the env where it
    is for one frame."""
    env.reset(seed=seed)
    done = np.zeros(env.num_agents, dtype=bool)
    rows = None if recorder is None else len(recorder.rows)
    try:
        still_open, drawn = draw()
        result.frames += drawn
        while still_open and len(result.episodes) < episodes:
            actions = actor(env.observations, done)
            if actions is None:
                still_open = draw.again()
                continue
            env.actions[:] = actions
            seen = None if recorder is None else np.array(env.observations[:rows])
            _, rewards, terminals, truncations, infos = env.step(env.actions)
            if recorder is not None:
                recorder.add(seen, env.actions[:rows], rewards[:rows], terminals[:rows], truncations[:rows])
            result.steps += 1
            done = np.logical_or(terminals, truncations)
            result.episodes.extend(episode_stats(infos))
            still_open, drawn = draw()
            result.frames += drawn
        result.stopped_early = not still_open
    except KeyboardInterrupt:
        result.stopped_early = True
    if result.stopped_early:
        print(f'puffer eval: stopped after {len(result.episodes)} of {episodes} episodes', file=sys.stderr)


def episode_stats(infos):
    """The numeric statistics of each info dict (one per finished episode, or per step on which episodes ended)."""
    if isinstance(infos, dict):
        infos = [infos]
    stats = []
    for info in infos or ():
        if isinstance(info, (list, tuple)):
            stats.extend(episode_stats(info))
            continue
        numbers = {key: float(value) for key, value in info.items()
                   if isinstance(value, (int, float, np.number)) and not isinstance(value, bool)}
        if numbers:
            stats.append(numbers)
    return stats


# ----------------------------------------------------------------------------------------------------------------
# Statistics table
# ----------------------------------------------------------------------------------------------------------------

def summarize(episodes):
    """statistic -> mean, std (population), min, max over the episodes that report it; common ones first."""
    keys = {key for episode in episodes for key in episode}
    ordered = [key for key in LEADING_STATS if key in keys] + sorted(keys - set(LEADING_STATS))
    summary = {}
    for key in ordered:
        values = np.array([episode[key] for episode in episodes if key in episode], dtype=np.float64)
        summary[key] = dict(mean=float(values.mean()), std=float(values.std()), min=float(values.min()),
                            max=float(values.max()))
    return summary


def format_number(value):
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e9:
        return str(int(value))
    return f'{value:.4g}' if abs(value) < 1e5 else f'{value:,.0f}'


def print_table(result, env_name, output):
    who = 'random actions' if result.model_path is None else result.model_path
    count = len(result.episodes)
    title = f'{env_name}: {count} episode{"" if count == 1 else "s"}, {result.steps} steps ({who})'
    columns = ('mean', 'std', 'min', 'max')
    rows = [(key, *(format_number(stats[column]) for column in columns)) for key, stats in result.summary.items()]
    if result.video_path and result.frames:
        title += f'\nvideo: {result.video_path} ({result.frames} frames)'
    if not rows:
        output.write(f'{title}\nno episode finished\n')
        return
    if output.isatty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
        table = Table()
        table.add_column('statistic')
        for column in columns:
            table.add_column(column, justify='right')
        for row in rows:
            table.add_row(*row)
        console = Console(file=output, highlight=False)
        console.print(Text(title, style='bold'))  # Text: a path with [brackets] is not rich markup
        console.print(table)
        return
    header = ('statistic', *columns)
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [title] + ['  '.join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                                 for i, cell in enumerate(row)) for row in (header, *rows)]
    output.write('\n'.join(lines) + '\n')
