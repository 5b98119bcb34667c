"""Pac-Man rules on hand-built positions (through the binding's test hooks, env.vector.set_*), plus determinism,
bounds, any action, rendering, snapshots and a short learning check."""
import io
from types import SimpleNamespace

import numpy as np
import pytest

import pufferlib.envs.ocean as ocean
from pufferlib import config as puffer_config
from pufferlib import runs, trainer
from pufferlib.dashboard import Dashboard

UP, LEFT, DOWN, RIGHT = range(4)                     # directions, as the hooks and get_state use them
KEEP, A_UP, A_DOWN, A_LEFT, A_RIGHT = range(5)       # actions
BLINKY, PINKY, INKY, CLYDE = range(4)
HOUSE, LEAVING, ACTIVE, EYES, ENTERING = range(5)


def make(**params):
    env = ocean.make('puffer_pacman', num_envs=1, seed=0, log_interval=1, **params)
    env.reset(0)
    return env


def step(env, action=KEEP):
    obs, rewards, terminals, truncations, infos = env.step(np.array([action], np.int32))
    return obs[0].copy(), float(rewards[0]), bool(terminals[0]), bool(truncations[0]), infos


def state(env):
    return env.vector.get_state(0)


def park_ghosts(env, keep=()):
    """Ghosts not in `keep` wait in the house, out of the way."""
    for g, x in enumerate((11, 12, 14, 15)):
        if g not in keep:
            env.vector.set_ghost(0, g, x, 14, UP, HOUSE)


def test_chase_targets_follow_each_ghosts_rule():
    env = make()
    env.vector.set_timers(0, 1, 0, 0)                 # a chase phase
    env.vector.set_pacman(0, 6, 20, UP)
    env.vector.set_ghost(0, BLINKY, 21, 5, LEFT, ACTIVE)
    env.vector.set_ghost(0, CLYDE, 21, 26, LEFT, ACTIVE)   # 15 + 6 tiles away: chases
    targets = env.vector.ghost_targets(0)
    assert targets[BLINKY] == (6, 20)                 # Pac-Man's tile
    assert targets[PINKY] == (6, 16)                  # 4 tiles ahead of him
    assert targets[INKY] == (2 * 6 - 21, 2 * 18 - 5)  # 2 ahead (6, 18), doubled away from Blinky
    assert targets[CLYDE] == (6, 20)
    env.vector.set_ghost(0, CLYDE, 9, 23, LEFT, ACTIVE)    # within 8 tiles (3, 3): heads for his corner
    assert env.vector.ghost_targets(0)[CLYDE] == (0, 32)
    env.vector.set_pacman(0, 6, 20, RIGHT)
    assert env.vector.ghost_targets(0)[PINKY] == (10, 20)
    env.vector.set_timers(0, 2, 0, 0)                 # a scatter phase: the four corners
    assert env.vector.ghost_targets(0) == [(25, -3), (2, -3), (27, 32), (0, 32)]


def test_a_ghost_turns_toward_its_target_at_an_intersection():
    env = make()
    park_ghosts(env, keep=(BLINKY,))
    env.vector.set_timers(0, 1, 0, 0)
    env.vector.set_pacman(0, 1, 29, LEFT)             # against the wall: stays put
    env.vector.set_ghost(0, BLINKY, 5, 5, RIGHT, ACTIVE)
    step(env)                                         # 15/16 of a tile: no move yet
    assert state(env)['ghosts'][BLINKY][:2] == (5, 5)
    step(env)                                         # to (6, 5), a crossing
    step(env)                                         # down is closer to (1, 29) than up or right
    assert state(env)['ghosts'][BLINKY][:3] == (6, 6, DOWN)
    assert state(env)['pacman'] == (1, 29, LEFT)


def test_power_pellet_frightens_and_reverses_ghosts_outside_the_house():
    env = make()
    park_ghosts(env, keep=(BLINKY,))
    env.vector.set_pacman(0, 1, 2, DOWN)              # the power pellet is at (1, 3)
    env.vector.set_ghost(0, BLINKY, 10, 5, RIGHT, ACTIVE)
    _, reward, *_ = step(env)
    assert reward == pytest.approx(0.5)               # 50 points x reward_scale 0.01
    s = state(env)
    assert s['fright_timer'] == 44 and s['ghosts'][BLINKY][4] == 1
    assert s['ghosts'][PINKY][4] == 0, 'ghosts in the house are not frightened'
    step(env)                                         # frightened speed 10/16: the first move is now
    assert state(env)['ghosts'][BLINKY][:3] == (9, 5, LEFT)


def test_eaten_ghosts_score_200_400_800_1600_and_their_eyes_go_home():
    env = make()
    for x in range(2, 8):
        env.vector.set_pellet(0, x, 29, 0)
    env.vector.set_pacman(0, 2, 29, RIGHT)
    for g in range(4):                                # a row of frightened ghosts coming toward Pac-Man
        env.vector.set_ghost(0, g, 3 + g, 29, LEFT, ACTIVE, 1)
    env.vector.set_timers(0, 1, 0, 40)
    total = 0.0
    for _ in range(4):
        total += step(env)[1]
    s = state(env)
    assert s['score'] == 200 + 400 + 800 + 1600 and total == pytest.approx(30.0)
    assert all(ghost[3] in (EYES, ENTERING) for ghost in s['ghosts'])
    seen = set()
    for _ in range(120):
        step(env, A_LEFT)
        seen |= {g for g, ghost in enumerate(state(env)['ghosts']) if ghost[3] in (LEAVING, ACTIVE)}
    assert seen == {0, 1, 2, 3}, 'every pair of eyes reached the house and came back out'


def test_a_normal_ghost_costs_a_life_and_the_last_life_ends_the_game():
    env = make(reward_death=-2.0)
    park_ghosts(env, keep=(BLINKY,))
    env.vector.set_pacman(0, 5, 29, RIGHT)
    env.vector.set_ghost(0, BLINKY, 6, 29, LEFT, ACTIVE)
    _, reward, terminal, *_ = step(env)
    s = state(env)
    assert reward == pytest.approx(-2.0 + 0.1) and not terminal   # the pellet he stepped on, then caught
    assert s['lives'] == 2 and s['pacman'] == (13, 23, LEFT), 'everyone back at the start'
    assert s['ghosts'][BLINKY][:2] == (13, 11) and s['pellets_left'] == 243

    env = make(lives=1)
    env.vector.set_pacman(0, 5, 29, RIGHT)
    env.vector.set_ghost(0, BLINKY, 6, 29, LEFT, ACTIVE)
    _, _, terminal, truncation, infos = step(env)
    assert terminal and not truncation
    assert infos[0]['score'] == 10 and infos[0]['episode_length'] == 1
    assert state(env)['pellets_left'] == 244 and state(env)['lives'] == 1, 'a new game began'


def test_clearing_the_board_starts_the_next_level():
    env = make()
    text = env.render_text().splitlines()
    for y, line in enumerate(text[:31]):
        for x, c in enumerate(line):
            if c in '.o' and (x, y) != (6, 29):
                env.vector.set_pellet(0, x, y, 0)
    env.vector.set_pacman(0, 5, 29, RIGHT)
    park_ghosts(env, keep=(BLINKY,))
    _, reward, terminal, _, _ = step(env)
    s = state(env)
    assert reward == pytest.approx(0.1) and not terminal
    assert s['level'] == 2 and s['pellets_left'] == 244 and s['pacman'] == (13, 23, LEFT)


def test_phase_switch_reverses_ghosts_and_tunnel_wraps():
    env = make()
    park_ghosts(env, keep=(BLINKY,))
    env.vector.set_pacman(0, 1, 29, LEFT)
    env.vector.set_ghost(0, BLINKY, 10, 5, RIGHT, ACTIVE)
    env.vector.set_timers(0, 0, 51, 0)                # the last step of the first scatter phase
    step(env)
    assert state(env)['phase'] == 1
    step(env)
    assert state(env)['ghosts'][BLINKY][:3] == (9, 5, LEFT)

    env.vector.set_pacman(0, 0, 14, LEFT)
    step(env)
    assert state(env)['pacman'][:2] == (27, 14)
    env.vector.set_ghost(0, BLINKY, 27, 14, RIGHT, ACTIVE)
    for _ in range(3):
        step(env, A_RIGHT)
    assert state(env)['ghosts'][BLINKY][0] <= 1, 'ghosts wrap through the tunnel too'


def test_pacman_keeps_a_wished_turn_until_it_opens():
    env = make()
    park_ghosts(env)
    env.vector.set_pacman(0, 2, 5, RIGHT)
    step(env, A_UP)                                   # (2, 4) is a wall: keeps going right
    assert state(env)['pacman'] == (3, 5, RIGHT)
    for _ in range(3):
        step(env)                                     # (6, 4) opens above: turns there
    assert state(env)['pacman'] == (6, 5, RIGHT)
    step(env)
    assert state(env)['pacman'] == (6, 4, UP)
    env.vector.set_pacman(0, 1, 29, LEFT)
    step(env, A_DOWN)
    assert state(env)['pacman'] == (1, 29, LEFT), 'walls stop him'


def test_observations_describe_the_board_in_both_views():
    env = make()
    park_ghosts(env, keep=(BLINKY,))
    env.vector.set_pacman(0, 1, 1, LEFT)
    env.vector.set_ghost(0, BLINKY, 3, 1, LEFT, ACTIVE)
    obs = env.observations[0]
    assert obs[0] == 1 / 27 and obs[1] == 1 / 30 and list(obs[2:6]) == [0, 1, 0, 0]
    assert obs[6] == pytest.approx(2 / 27) and obs[7] == 0 and list(obs[8:12]) == [1, 0, 0, 0]
    assert list(obs[12 + 2:12 + 6]) == [0, 0, 0, 1], 'Pinky is in the house'
    walls = obs[34 + 56:34 + 56 + 49].reshape(7, 7)
    food = obs[34 + 56 + 49:].reshape(7, 7)
    assert walls[3, 3] == 0 and walls[3, 2] == 1 and walls[2, 3] == 1 and walls[0].all()
    assert food[3, 4] == 0.5 and food[5, 3] == 1.0, 'a pellet to the right, the power pellet two rows down'
    assert obs[34] == 5 / 16, 'tiles x 0-3, y 0-3 hold 4 pellets and a power pellet'

    env = make(crop=4)
    assert env.observations.shape == (1, 34 + 4 * 81)
    park_ghosts(env, keep=(BLINKY,))
    env.vector.set_pacman(0, 1, 1, LEFT)
    env.vector.set_ghost(0, BLINKY, 3, 1, LEFT, ACTIVE)
    planes = env.observations[0, 34:].reshape(4, 9, 9)
    assert planes[2, 4, 6] == 1 and planes[2].sum() == 1 and planes[3].sum() == 0
    env.vector.set_ghost(0, BLINKY, 3, 1, LEFT, ACTIVE, 1)
    planes = env.observations[0, 34:].reshape(4, 9, 9)
    assert planes[3, 4, 6] == 1 and planes[2].sum() == 0


def test_same_seed_same_game_bounds_and_any_action():
    rng = np.random.default_rng(0)
    runs = []
    for _ in range(2):
        env = ocean.make('puffer_pacman', num_envs=4, seed=3)
        env.reset(3)
        low, high = env.single_observation_space.low, env.single_observation_space.high
        trace = []
        for t in range(3000):
            actions = rng.integers(-10, 10, 4).astype(np.int32) if t % 2 else np.full(4, 2**31 - 1, np.int32)
            obs, rewards, *_ = env.step(actions)
            assert (obs >= low).all() and (obs <= high).all()
            trace.append((obs.copy(), rewards.copy()))
        runs.append(trace)
        rng = np.random.default_rng(0)
    assert all((a[0] == b[0]).all() and (a[1] == b[1]).all() for a, b in zip(*runs))


def test_render_frames_change_and_snapshots_continue_exactly():
    env = make()
    first = env.render().copy()
    for _ in range(20):
        step(env, A_LEFT)
    assert (env.render() != first).any()
    saved = env.snapshot()
    after = [step(env, a)[0] for a in [A_UP, A_LEFT, A_DOWN] * 20]
    env.restore(saved)
    again = [step(env, a)[0] for a in [A_UP, A_LEFT, A_DOWN] * 20]
    assert all((a == b).all() for a, b in zip(after, again))

    env.vector.set_pacman(0, 1, 5, UP)
    good = env.vector.snapshot()
    index = good.find(np.array([1, 5], np.int32).tobytes(), 88)    # pac_x, pac_y, after the 88-byte header
    bad = bytearray(good)
    bad[index:index + 4] = np.int32(0).tobytes()                   # (0, 5): a wall
    with pytest.raises(ValueError, match='Pac-Man at'):
        env.vector.restore(bytes(bad))
    assert state(env)['pacman'] == (1, 5, UP), 'a refused state changes nothing'


def random_score():
    env = ocean.make('puffer_pacman', num_envs=64, seed=1, log_interval=2000)
    env.reset(1)
    rng = np.random.default_rng(1)
    infos = []
    for _ in range(4000):
        infos += env.step(rng.integers(0, 5, 64).astype(np.int32))[4]
    return np.mean([info['score'] for info in infos])


def test_random_play_scores_a_few_hundred_points():
    assert 300 < random_score() < 800


def test_a_short_run_of_the_shipped_config_beats_random_play(tmp_path):
    """500k steps of the shipped config (about 10 s on an idle 2-core machine): the score clearly above random's."""
    overrides = {'train': {'total_timesteps': 500_000, 'device': 'cpu', 'data_dir': str(tmp_path), 'seed': 1}}
    config = puffer_config.load('puffer_pacman', overrides=overrides)
    result = trainer.train(config, SimpleNamespace(), dashboard=Dashboard('puffer_pacman', live=False,
                                                                          file=io.StringIO()))
    rows = runs.read_metrics(result.run_dir)
    tail = [row['env/score'] for row in rows[int(len(rows) * 0.8):] if 'env/score' in row]
    assert tail and np.mean(tail) > 1.5 * random_score(), np.mean(tail)
