"""How often a Connect Four policy makes the one-move tactical choices: completing its own four when it can, and
blocking the opponent's only immediate four otherwise. The scripted opponent plays exactly these two rules (then
random), so a policy that misses them loses to it.

    python -m bench.connect4_tactics MODEL [MODEL ...] [--positions 1000] [--games 1000] [--seed 0]

MODEL is anything `puffer eval --load-model-path` takes (a model.pt, a run folder, latest). Each policy plays its
most likely legal column and is measured in three sets of positions:
- `random positions`: 4 to 29 random moves (seeded). These are not positions a policy's own games reach, so the
  figure says whether a tactic generalizes far from the positions it was learned in; a policy that wins 90% of its
  games against the scripted player, blocking 91% of the threats in them, blocks 37% here (docs/selfplay.md).
- `vs scripted`: the positions of its own games against the scripted player (the env's scripted mode), with the
  win rate of those games.
- `vs itself`: its games against a copy of itself that samples its moves (agent mode), the positions self-play
  training meets; the tactics are counted on the measured (most-likely-column) side only.
"""
import argparse

import numpy as np
import torch

from pufferlib import arena
from pufferlib import config as puffer_config
from pufferlib.envs import ocean

ROWS, COLUMNS = 6, 7


def has_four(stones):
    """stones [N, rows, columns] bool (row 0 the top) -> [N]: any four in a line."""
    lines = (stones[:, :, :-3] & stones[:, :, 1:-2] & stones[:, :, 2:-1] & stones[:, :, 3:],
             stones[:, :-3] & stones[:, 1:-2] & stones[:, 2:-1] & stones[:, 3:],
             stones[:, :-3, :-3] & stones[:, 1:-2, 1:-2] & stones[:, 2:-1, 2:-1] & stones[:, 3:, 3:],
             stones[:, :-3, 3:] & stones[:, 1:-2, 2:-1] & stones[:, 2:-1, 1:-2] & stones[:, 3:, :-3])
    return np.logical_or.reduce([line.any((1, 2)) for line in lines])


def completing_columns(stones, occupied):
    """[N, columns] bool: dropping a stone in that column completes a four of `stones` ([N, rows, columns])."""
    result = np.zeros((len(stones), COLUMNS), bool)
    for column in range(COLUMNS):
        empty = ~occupied[:, :, column]
        legal = np.flatnonzero(empty[:, 0])
        landing = ROWS - 1 - np.argmax(empty[legal, ::-1], axis=1)   # the lowest empty row
        after = stones[legal].copy()
        after[np.arange(len(legal)), landing, column] = True
        result[legal, column] = has_four(after)
    return result


def planes(observations):
    """The mover's and the opponent's stones [N, rows, columns] from puffer_connect4 observations (each plane 6 x 7
    from the top row)."""
    cells = ROWS * COLUMNS
    observations = np.asarray(observations)
    mine = observations[:, :cells].reshape(-1, ROWS, COLUMNS) > 0.5
    theirs = observations[:, cells:2 * cells].reshape(-1, ROWS, COLUMNS) > 0.5
    return mine, theirs


class Tally:
    """Positions where the mover could complete four / had to block the opponent's only four, and the hits."""

    def __init__(self):
        self.counts = np.zeros(4, np.int64)   # win positions, wins taken, block positions, blocks made

    def add(self, observations, columns):
        mine, theirs = planes(observations)
        occupied = mine | theirs
        own, threats = completing_columns(mine, occupied), completing_columns(theirs, occupied)
        rows = np.arange(len(columns))
        can_win = own.any(1)
        must_block = ~can_win & (threats.sum(1) == 1)
        self.counts += [can_win.sum(), own[rows, columns][can_win].sum(),
                        must_block.sum(), threats[rows, columns][must_block].sum()]

    def __str__(self):
        wins, taken, blocks, made = self.counts
        return (f'completes its four {taken / max(wins, 1):.1%} of {wins}, '
                f'blocks the opponent\'s {made / max(blocks, 1):.1%} of {blocks}')


def legal_logits(policy, observations):
    observations = torch.as_tensor(np.asarray(observations, np.float32))
    with torch.no_grad():
        logits, _ = policy(observations)
    mine, theirs = planes(observations.numpy())
    return logits.float().masked_fill(torch.as_tensor((mine | theirs)[:, 0]), -torch.inf)   # full columns


def random_positions(count, seed):
    """Observations of random-play positions (the mover to move) where it can complete four, and where it must
    block the opponent's only four."""
    random = np.random.default_rng(seed)
    wins, blocks = [], []
    while len(wins) < count or len(blocks) < count:
        stones = np.zeros((2, ROWS, COLUMNS), bool)   # [player to move next, ...]
        finished = False
        for _ in range(random.integers(4, 30)):
            occupied = stones[0] | stones[1]
            column = random.choice(np.flatnonzero(~occupied[0]))
            row = ROWS - 1 - np.argmax(~occupied[::-1, column])
            stones[0, row, column] = True
            if has_four(stones[:1])[0] or (stones[0] | stones[1])[0].all():
                finished = True
                break
            stones = stones[::-1].copy()
        if finished:
            continue
        observation = stones.reshape(-1).astype(np.float32)
        occupied = stones[0] | stones[1]
        own = completing_columns(stones[:1], occupied[None])[0]
        theirs = completing_columns(stones[1:], occupied[None])[0]
        if own.any() and len(wins) < count:
            wins.append(observation)
        elif not own.any() and theirs.sum() == 1 and len(blocks) < count:
            blocks.append(observation)
    return np.stack(wins), np.stack(blocks)


def on_random_positions(policy, wins, blocks):
    tally = Tally()
    for observations in (wins, blocks):
        tally.add(observations, legal_logits(policy, observations).argmax(1).numpy())
    return tally


def in_games(policy, against_itself, games, seed, num_envs=256):
    """Tally of the measured side's moves and its [wins, draws, losses] over `games` games, against the scripted
    player or against a sampling copy of itself (rows 2g measured, 2g + 1 the copy)."""
    env = ocean.make('puffer_connect4', num_envs=num_envs, opponent=int(against_itself))
    generator = torch.Generator().manual_seed(seed)
    tally, results, returns = Tally(), np.zeros(3, np.int64), np.zeros(num_envs)
    try:
        observations, _ = env.reset(seed=seed)
        while results.sum() < games:
            observations = np.asarray(observations, np.float32)
            logits = legal_logits(policy, observations)
            columns = logits.argmax(1).numpy()
            if against_itself:
                sampled = torch.multinomial(torch.softmax(logits, 1), 1, generator=generator)[:, 0].numpy()
                columns[1::2] = sampled[1::2]
                moving = np.flatnonzero(np.asarray(env.masks)[0::2]) * 2
            else:
                moving = np.arange(len(columns))
            tally.add(observations[moving], columns[moving])
            observations, rewards, terminals, truncations, _ = env.step(columns.astype(np.int32))
            measured = slice(0, None, 2) if against_itself else slice(None)
            returns += np.asarray(rewards)[measured]
            done = np.flatnonzero(np.logical_or(terminals, truncations)[measured])[:games - results.sum()]
            outcome = np.sign(returns[done]).astype(int)
            results += [(outcome > 0).sum(), (outcome == 0).sum(), (outcome < 0).sum()]
            returns[done] = 0
    finally:
        env.close()
    return tally, results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('models', nargs='+')
    parser.add_argument('--positions', type=int, default=1000, help='random positions of each kind')
    parser.add_argument('--games', type=int, default=1000, help='games against the scripted player and itself')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    wins, blocks = random_positions(args.positions, args.seed)
    config = puffer_config.load('puffer_connect4')
    print(f'most likely legal column; {args.positions} random positions of each kind (seed {args.seed}), '
          f'{args.games} games against the scripted player and against itself')
    for model in args.models:
        player, _ = arena.load_player(model, config, True, 0)
        print(f'{model}')
        print(f'  random positions: {on_random_positions(player.policy, wins, blocks)}')
        for label, against_itself in (('vs scripted', False), ('vs itself', True)):
            tally, (won, drawn, lost) = in_games(player.policy, against_itself, args.games, args.seed)
            print(f'  {label}: {tally}; won {won}, drew {drawn}, lost {lost}')


if __name__ == '__main__':
    main()
