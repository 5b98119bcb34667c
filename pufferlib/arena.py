"""Matches between players of a two-player env: `puffer eval ENV --opponent ...` and `--tournament ...`
(docs/selfplay.md).

A player is a saved policy, `scripted` (the env's own scripted opponent: the env is built with opponent = 0 and the
other player drives its single row) or `random` (uniform over the legal actions). Games run in many C envs at once;
in env i the first player takes side i % 2, so neither player keeps the side that moves first or the right paddle.
A game's result is the sign of the first player's episode return (win, draw, loss).

The tournament plays every pair and fits Bradley-Terry strengths by the minorization-maximization iteration (Hunter
2004), a draw counting half a win for each and every pair given one extra drawn game so that an unbeaten player
keeps a finite rating; ratings are 400 log10(strength) on the Elo scale, shifted so that their mean is 1200.
"""
import math
import os
import sys

import numpy as np
import torch

from pufferlib import selfplay
from pufferlib.actor import Actor
from pufferlib.exceptions import APIUsageError, ConfigError
from pufferlib.runs import saved_policy

BUILT_IN = ('scripted', 'random')
MAX_PARALLEL_GAMES = 256


class Player:
    """A named source of actions for agent rows: a policy (through its Actor) or uniform random legal actions."""

    def __init__(self, name, policy=None, deterministic=False, seed=0):
        self.name = name
        self.policy = policy
        self.actor = None if policy is None else Actor(policy, None, 'cpu', deterministic)
        self.random = np.random.default_rng(seed)

    def act(self, env, rows, done):
        observations = env.observations[rows]
        masks = env.action_masks[rows] if getattr(env, 'has_action_masks', False) else None
        if self.actor is None:
            if masks is not None:
                from pufferlib.evaluate import random_legal_actions
                return random_legal_actions(self.random, masks, env.single_action_space)
            return self.random.integers(0, env.single_action_space.n, len(rows))
        if self.actor.recurrent:
            raise APIUsageError(f'{self.name}: recurrent policies cannot play matches yet; use a feed-forward one')
        actions, _, _, _ = self.actor.act(observations, action_mask=masks)
        return actions.cpu().numpy().reshape(len(rows), *env.actions.shape[1:])


def load_player(name, config, deterministic, seed, explicit=()):
    """`scripted`, `random`, or a model (a .pt file, a run folder, latest) as a Player, and the config of its run
    (the given one for the built-in players); `explicit` env flags override the run's (config_for_model)."""
    if name in BUILT_IN:
        return Player(name, seed=seed), config
    model_path = saved_policy.find_model(name, config)
    model_config, _ = saved_policy.config_for_model(config, model_path, explicit)
    env = saved_policy.make_env(model_config, seed, num_envs=1)
    try:
        policy = saved_policy.load_policy(model_config, env, model_path)
    finally:
        env.close()
    torch.manual_seed(seed)
    return Player(short_name(model_path), policy, deterministic, seed), model_config


def short_name(path):
    """The model's path from its run folder's parent (run/checkpoints/checkpoint_N.pt, run/model.pt)."""
    parts = os.path.abspath(path).split(os.sep)
    return os.sep.join(parts[-3:] if parts[-2] == 'checkpoints' else parts[-2:])


def play(config, first, second, games, seed=0):
    """[wins, draws, losses] of player `first` over `games` games against `second` (a Player or 'scripted')."""
    if getattr(first, 'name', None) == 'scripted':
        wins, draws, losses = play(config, second, first, games, seed)
        return [losses, draws, wins]
    scripted = getattr(second, 'name', None) == 'scripted'
    parallel = min(games, MAX_PARALLEL_GAMES)
    env_config = dict(config['env'], num_envs=parallel, opponent=0 if scripted else 1)
    env_config.pop('log_interval', None)
    env = saved_policy.make_env(dict(config, env=env_config), seed)
    try:
        if 'opponent' not in env.params:
            raise ConfigError(f'{config["base"]["env_name"]} is not a two-player env (it has no env.opponent); '
                              'matches need connect4, pong or another env following "Two-player games"')
        return _play(env, first, None if scripted else second, games, seed)
    finally:
        env.close()


def _play(env, first, second, games, seed):
    rows = np.arange(env.num_agents)
    if second is None:   # one row per game: the first player's, against the env's scripted side
        first_rows, second_rows = rows, rows[:0]
    else:                # game i: the first player on side i % 2
        games_index = rows // 2
        first_rows = rows[(rows % 2) == (games_index % 2)]
        second_rows = rows[(rows % 2) != (games_index % 2)]
    env.reset(seed)
    returns = np.zeros(len(first_rows))
    results = [0, 0, 0]
    done = np.zeros(env.num_agents, bool)
    steps = 0
    while sum(results) < games:
        actions = np.zeros_like(env.actions)
        actions[first_rows] = first.act(env, first_rows, done[first_rows]).reshape(actions[first_rows].shape)
        if len(second_rows):
            actions[second_rows] = second.act(env, second_rows, done[second_rows]).reshape(actions[second_rows].shape)
        env.step(actions)
        steps += 1
        returns += env.rewards[first_rows]
        done = np.logical_or(env.terminals, env.truncations)
        for index in np.flatnonzero(done[first_rows]):
            results[int(1 - np.sign(returns[index]))] += 1
            returns[index] = 0
        if steps > 10_000_000:
            raise APIUsageError(f'{games} games did not finish in {steps} steps')
    return _trim(results, games)


def _trim(results, games):
    """Games finish several at a time: drop the extra ones, last category first, so exactly `games` count."""
    extra = sum(results) - games
    for index in (2, 1, 0):
        cut = min(extra, results[index])
        results[index] -= cut
        extra -= cut
    return results


def format_match(first, second, results):
    wins, draws, losses = results
    games = sum(results)
    lines = [f'{first} vs {second}: {games} games']
    for label, count in (('win', wins), ('draw', draws), ('loss', losses)):
        low, high = selfplay.wilson_interval(count, games)
        lines.append(f'  {label:<5} {count:>6}  {count / games:7.1%}  95% CI [{low:.1%}, {high:.1%}] (Wilson)')
    return '\n'.join(lines)


def bradley_terry(names, scores, iterations=2000, initial=1200.0):
    """Elo-scale ratings fitted to `scores[i][j]` (points of i against j: 1 per win, 0.5 per draw) by Hunter's MM
    iteration; each pair gets one extra drawn game (a prior that keeps unbeaten players finite)."""
    n = len(names)
    points = np.asarray(scores, float) + 0.5 * (1 - np.eye(n))
    played = points + points.T
    strength = np.ones(n)
    for _ in range(iterations):
        denominator = (played / (strength[:, None] + strength[None, :])).sum(1)
        strength = points.sum(1) / denominator
        strength /= math.exp(np.log(strength).mean())
    ratings = 400 * np.log10(strength)
    return ratings - ratings.mean() + initial


def tournament_players(specs, config):
    """Model paths of the --tournament arguments: a run folder stands for its checkpoints and final model."""
    from pufferlib import runs
    paths = []
    for spec in specs:
        if spec in BUILT_IN:
            paths.append(spec)
            continue
        folder = spec if os.path.isdir(spec) else None
        if folder is None and not spec.endswith('.pt'):
            try:
                folder = os.path.dirname(runs.resolve_model_path(spec, config))
            except Exception:  # noqa: BLE001 - a name that is no run: let find_model report it
                folder = None
        if folder is not None and os.path.isdir(os.path.join(folder, 'checkpoints')):
            checkpoints = sorted((f for f in os.listdir(os.path.join(folder, 'checkpoints')) if f.endswith('.pt')),
                                 key=lambda f: int(''.join(c for c in f if c.isdigit()) or 0))
            paths += [os.path.join(folder, 'checkpoints', f) for f in checkpoints]
            if os.path.exists(os.path.join(folder, 'model.pt')):
                paths.append(os.path.join(folder, 'model.pt'))
        else:
            paths.append(spec)
    return list(dict.fromkeys(paths))


def run(config, options, output=None):
    """`puffer eval ENV --opponent B` or `--tournament A B ...`; prints the results and returns them."""
    output = output or sys.stdout
    seed = config['vec']['seed']
    games = options.episodes or 1000
    deterministic = bool(options.deterministic)
    explicit = getattr(options, 'overrides', ())   # env flags given to `puffer eval` win over each run's own
    if options.tournament:
        specs = tournament_players([s.strip() for s in str(options.tournament).split(',') if s.strip()], config)
        if len(specs) < 2:
            raise APIUsageError(f'--tournament needs at least two players, got {specs}')
        loaded = [load_player(spec, config, deterministic, seed + i, explicit) for i, spec in enumerate(specs)]
        players = [player for player, _ in loaded]
        config = next((c for p, c in loaded if p.policy is not None), config)  # the env settings of a model's run
        names = [player.name for player in players]
        scores = np.zeros((len(players), len(players)))
        for i in range(len(players)):
            for j in range(i + 1, len(players)):
                wins, draws, losses = play(config, players[i], players[j], games, seed + i * 1000 + j)
                scores[i, j] += wins + 0.5 * draws
                scores[j, i] += losses + 0.5 * draws
                print(f'{names[i]} vs {names[j]}: {wins} wins, {draws} draws, {losses} losses', file=output)
        ratings = bradley_terry(names, scores)
        print('\nElo (Bradley-Terry fit, mean 1200):', file=output)
        for index in np.argsort(-ratings):
            total = scores[index].sum()
            print(f'  {ratings[index]:7.0f}  {names[index]}  ({total:g} points in {(len(names) - 1) * games} games)',
                  file=output)
        return dict(names=names, scores=scores, ratings=ratings)
    if not options.load_model_path:
        raise APIUsageError('--opponent needs the player: pass --load-model-path MODEL (or latest)')
    first, config = load_player(options.load_model_path, config, deterministic, seed, explicit)
    second, _ = load_player(options.opponent, config, deterministic, seed + 1, explicit)
    results = play(config, first, second, games, seed)
    print(format_match(first.name, second.name, results), file=output)
    return dict(results=results)
