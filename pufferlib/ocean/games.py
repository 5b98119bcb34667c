"""Registry entries of the game envs (the C code is in ocean/<env>/; docs in docs/ocean_games.md)."""
import numpy as np
from gymnasium import spaces

from pufferlib.ocean.registry import register

SNAKE_AGENTS = 8  # SNAKE_AGENTS in ocean/snake/snake.h: snakes per arena, one agent row each

register(
    'puffer_breakout',
    description='Atari-style Breakout: 6x18 bricks worth 1/4/7 points, two walls, 864 points for a perfect game',
    observation_space=spaces.Box(-1, 1, (9 + 6 * 18,), np.float32),
    action_space=spaces.Discrete(4),
    frame_shape=(360, 576, 3),
    params={'frameskip': 4, 'balls': 5, 'max_steps': 27000, 'paddle_reward': 0.1},
)

register(
    'puffer_pong',
    description='Pong against a scripted paddle that follows the ball at a limited speed',
    observation_space=spaces.Box(-1, 1, (8,), np.float32),
    action_space=spaces.Discrete(3),
    frame_shape=(150, 200, 3),
    params={'frameskip': 4, 'points_to_win': 21, 'opponent_speed': 2.0, 'max_steps': 10000},
)

register(
    'puffer_snake',
    description=f'{SNAKE_AGENTS} snakes per arena compete for food; each sees a crop around its head',
    observation_space=lambda p: spaces.Box(0, 4, ((2 * p['vision'] + 1) ** 2,), np.uint8),
    action_space=spaces.Discrete(4),
    frame_shape=(320, 320, 3),
    params={'width': 40, 'height': 40, 'num_food': 24, 'vision': 5, 'max_steps': 2000,
            'reward_food': 1.0, 'reward_death': -1.0},
    agents_per_env=SNAKE_AGENTS,
)

register(
    'puffer_connect4',
    description='Connect Four against a scripted opponent that wins if it can, blocks if it must, else plays randomly',
    observation_space=spaces.Box(0, 1, (2 * 6 * 7,), np.float32),
    action_space=spaces.Discrete(7),
    frame_shape=(192, 224, 3),
    params={},
)

register(
    'puffer_2048',
    description='2048 on a 4x4 board; one-hot tile observations, log-scaled merge rewards',
    observation_space=spaces.Box(0, 1, (16 * 18,), np.uint8),
    action_space=spaces.Discrete(4),
    frame_shape=(192, 192, 3),
    params={'max_steps': 20000},
    module='_g2048',
)

def tetris_observations(params):
    """Board, current and next piece, fall timer, all in [0, 1]; with features = 1 then, for each of the 40
    placements, rows cleared / 4, holes / 10, summed heights / 50, bumpiness / 20, tallest column / 10 (at most
    1, 20, 4, 9 and 2)."""
    high = np.ones(10 * 20 + 2 * 7 + 1, np.float32)
    if params['features']:
        high = np.concatenate([high, np.tile(np.array([1, 20, 4, 9, 2], np.float32), 40)])
    return spaces.Box(np.zeros_like(high), high, dtype=np.float32)


register(
    'puffer_tetris',
    description='Tetris on a 10x20 board with a 7-piece bag; rewards for cleared rows',
    observation_space=tetris_observations,
    # A whole piece per action (rotation * 10 + leftmost column), or with placement = 0 per-step controls (noop,
    # left, right, rotate, soft drop, hard drop).
    action_space=lambda p: spaces.Discrete(4 * 10 if p['placement'] else 6),
    frame_shape=(240, 120, 3),
    params={'placement': 1, 'fall_interval': 1, 'max_steps': 10000, 'reward_piece': 0.02, 'reward_line': 0.1,
            'reward_hole': 0.0, 'features': 0},
)
