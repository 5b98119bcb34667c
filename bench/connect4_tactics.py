"""How often a Connect Four policy makes the one-move tactical choices: completing its own four when it can, and
blocking the opponent's only immediate four otherwise. The scripted opponent plays exactly these two rules (then
random), so a policy that misses them loses to it.

    python -m bench.connect4_tactics MODEL [MODEL ...] [--positions 1000] [--seed 0]

MODEL is anything `puffer eval --load-model-path` takes (a model.pt, a run folder, latest). Positions come from
random play (4 to 29 random moves, seeded), so they are not the ones a policy's own games reach: the figure says
whether it learned the tactic or a line of play. Each policy plays its most likely legal column.
"""
import argparse

import numpy as np
import torch

from pufferlib import arena
from pufferlib import config as puffer_config

ROWS, COLUMNS = 6, 7


def drop(board, column, player):
    row = np.flatnonzero(board[:, column] == 0)[-1]   # row 0 is the top
    board[row, column] = player


def has_four(board, player):
    stones = board == player
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        for r in range(ROWS):
            for c in range(COLUMNS):
                cells = [(r + k * dr, c + k * dc) for k in range(4)]
                if all(0 <= i < ROWS and 0 <= j < COLUMNS and stones[i, j] for i, j in cells):
                    return True
    return False


def winning_columns(board, player):
    columns = []
    for column in np.flatnonzero(board[0] == 0):
        after = board.copy()
        drop(after, column, player)
        if has_four(after, player):
            columns.append(int(column))
    return columns


def sample_positions(count, seed):
    """(boards from the mover's side: 1 its stones, 2 the opponent's; the right columns) for each tactic."""
    random = np.random.default_rng(seed)
    wins, blocks = [], []
    while len(wins) < count or len(blocks) < count:
        board, player, finished = np.zeros((ROWS, COLUMNS), np.int8), 1, False
        for _ in range(random.integers(4, 30)):
            drop(board, random.choice(np.flatnonzero(board[0] == 0)), player)
            if has_four(board, player) or not (board[0] == 0).any():
                finished = True
                break
            player = 3 - player
        if finished:
            continue
        mover = board if player == 1 else np.where(board == 0, 0, 3 - board).astype(np.int8)
        own, theirs = winning_columns(mover, 1), winning_columns(mover, 2)
        if own and len(wins) < count:
            wins.append((mover, own))
        elif not own and len(theirs) == 1 and len(blocks) < count:
            blocks.append((mover, theirs))
    return wins, blocks


def observation(board):
    """puffer_connect4's layout: the mover's stones (6 x 7 from the top row), then the opponent's."""
    return np.concatenate([(board == 1).ravel(), (board == 2).ravel()]).astype(np.float32)


@torch.no_grad()
def hit_rate(policy, positions):
    observations = torch.from_numpy(np.stack([observation(board) for board, _ in positions]))
    legal = torch.from_numpy(np.stack([board[0] == 0 for board, _ in positions]))
    logits, _ = policy(observations)
    chosen = logits.masked_fill(~legal, -torch.inf).argmax(1).numpy()
    return float(np.mean([column in right for column, (_, right) in zip(chosen, positions)]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('models', nargs='+')
    parser.add_argument('--positions', type=int, default=1000)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    wins, blocks = sample_positions(args.positions, args.seed)
    config = puffer_config.load('puffer_connect4')
    print(f'{args.positions} positions each (random play, seed {args.seed}); most likely legal column')
    for model in args.models:
        player, _ = arena.load_player(model, config, True, 0)
        print(f'{model}: completes its four {hit_rate(player.policy, wins):.1%}, '
              f'blocks the opponent\'s {hit_rate(player.policy, blocks):.1%}')


if __name__ == '__main__':
    main()
