"""The game envs: their C code, which declares each one's spec, is in ocean/<env>/ (docs in docs/ocean_games.md)."""
from pufferlib.envs.ocean.registry import register

for _name in ('breakout', 'pong', 'snake', 'connect4'):
    register('puffer_' + _name)
register('puffer_2048', module='_g2048')
register('puffer_tetris')
register('puffer_maze')
register('puffer_pacman')
register('puffer_warehouse')
register('puffer_swarm')
register('puffer_drone')
register('puffer_crafter')
register('puffer_freeway')
register('puffer_enduro')
register('puffer_go')
