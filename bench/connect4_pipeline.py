"""A check of the turn-based training path: Connect Four in agent mode (two agent rows per game, the waiting row
masked, rewards arriving over the waiting step), with the self-play wrapper's opponent replaced by the scripted
player's rule (complete four, else block the opponent's four, else a random legal column) computed from the
opponent rows' observations. It should learn as fast as scripted mode (`puffer train puffer_connect4`), where the
scripted reply happens inside the env step and no step is masked; the tactics bench then compares them.

    python -m bench.connect4_pipeline [puffer train flags ...]
    python -m bench.connect4_tactics experiments/puffer_connect4/pipeline/model.pt

Flags are passed on to `puffer train puffer_connect4 --env.opponent 1 --selfplay.enabled True
--train.experiment pipeline`; later flags win.
"""
import sys

import numpy as np

from bench.connect4_tactics import completing_columns, planes
from pufferlib import cli, selfplay


def scripted_columns(observations, random):
    """The scripted rule's column for each opponent row, from that row's own observation."""
    mine, theirs = planes(observations)
    occupied = mine | theirs
    win, block = completing_columns(mine, occupied), completing_columns(theirs, occupied)
    tie_break = random.random((len(mine), win.shape[1])) + 1   # a uniformly random legal column
    otherwise = (tie_break * ~occupied[:, 0]).argmax(1)
    return np.where(win.any(1), win.argmax(1), np.where(block.any(1), block.argmax(1), otherwise)).astype(np.int32)


def main(argv=None):
    random = np.random.default_rng(0)
    selfplay.SelfPlayVecEnv.act_opponent = lambda self, observations, done, mask: scripted_columns(observations,
                                                                                                  random)
    cli.main(['train', 'puffer_connect4', '--env.opponent', '1', '--selfplay.enabled', 'True',
              '--train.experiment', 'pipeline'] + list(sys.argv[1:] if argv is None else argv))


if __name__ == '__main__':
    main()
