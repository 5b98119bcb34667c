"""puffer_crafter's rules on hand-built situations (through its binding's test hooks), plus determinism, bounds,
rendering, snapshots and Crafter's score. The generic Ocean checks run over it too (tests/test_ocean.py)."""
import io
import math
from types import SimpleNamespace

import numpy as np
import pytest

import pufferlib.envs.ocean as ocean
from pufferlib import config as puffer_config
from pufferlib import runs, trainer
from pufferlib.dashboard import Dashboard
from pufferlib.envs.ocean.crafter import ACHIEVEMENTS, crafter_score, success_rates

WATER, GRASS, STONE, PATH, SAND, TREE, LAVA, COAL, IRON, DIAMOND, TABLE, FURNACE = range(1, 13)
COW, ZOMBIE, SKELETON, ARROW, PLANT = range(1, 6)
ITEMS = ('health', 'food', 'drink', 'energy', 'sapling', 'wood', 'stone', 'coal', 'iron', 'diamond', 'wood_pickaxe',
         'stone_pickaxe', 'iron_pickaxe', 'wood_sword', 'stone_sword', 'iron_sword')
(NOOP, MOVE_LEFT, MOVE_RIGHT, MOVE_UP, MOVE_DOWN, DO, SLEEP, PLACE_STONE, PLACE_TABLE, PLACE_FURNACE, PLACE_PLANT,
 MAKE_WOOD_PICKAXE, MAKE_STONE_PICKAXE, MAKE_IRON_PICKAXE, MAKE_WOOD_SWORD, MAKE_STONE_SWORD,
 MAKE_IRON_SWORD) = range(17)
LEFT, RIGHT, UP, DOWN = range(4)
TABLE_WOOD, FURNACE_STONE = 2, 4   # Crafter 1.8's costs (its data.yaml)
CHANNELS, VIEW_W, VIEW_H = 18, 9, 7
X, Y = 32, 32   # the player's cell in the hand-built worlds
SCORE_AFTER_400K = 3.0   # random play: 2.3 achievements per episode


def arena(**items):
    """An env whose world is all sand (so nothing spawns), the player at (X, Y) facing right, with `items`."""
    env = ocean.make('puffer_crafter', num_envs=1, seed=0, log_interval=1)
    env.reset(0)
    env.vector.fill(0, SAND)
    env.vector.set_player(0, X, Y, RIGHT)
    inventory = {**dict(health=9, food=9, drink=9, energy=9), **items}
    env.vector.set_inventory(0, [inventory.get(name, 0) for name in ITEMS])
    return env


def step(env, action):
    obs, rewards, terminals, truncations, infos = env.step(np.array([[action]], np.int32))
    return obs[0].copy(), float(rewards[0]), bool(terminals[0]), bool(truncations[0]), infos


def player(env):
    state = env.vector.get_player(0)
    state['items'] = dict(zip(ITEMS, state['inventory']))
    return state


def cell_channels(obs, dx, dy):
    """The one-hot channels of the view cell (dx, dy) away from the player."""
    row, col = VIEW_H // 2 + dy, VIEW_W // 2 + dx
    start = (row * VIEW_W + col) * CHANNELS
    return obs[start:start + CHANNELS]


def test_collecting_wood_turns_a_tree_into_grass_and_rewards_only_the_first_time():
    env = arena()
    env.vector.set_cell(0, X + 1, Y, TREE)
    obs, reward, *_ = step(env, DO)
    assert reward == 1.0 and player(env)['items']['wood'] == 1 and player(env)['achievements'] == ['collect_wood']
    assert cell_channels(obs, 1, 0)[GRASS - 1] == 1 and cell_channels(obs, 1, 0)[TREE - 1] == 0
    env.vector.set_cell(0, X + 1, Y, TREE)
    obs, reward, *_ = step(env, DO)
    assert reward == 0.0 and player(env)['items']['wood'] == 2, 'an achievement pays once per episode'


def test_a_table_costs_wood_and_unlocks_place_table():
    env = arena(wood=TABLE_WOOD - 1)
    _, reward, *_ = step(env, PLACE_TABLE)
    assert reward == 0.0 and player(env)['items']['wood'] == TABLE_WOOD - 1
    env = arena(wood=TABLE_WOOD + 1)
    obs, reward, *_ = step(env, PLACE_TABLE)
    assert reward == 1.0 and player(env)['achievements'] == ['place_table']
    assert player(env)['items']['wood'] == 1 and cell_channels(obs, 1, 0)[TABLE - 1] == 1


def test_tools_need_a_table_within_one_cell_and_iron_ones_a_furnace_too():
    env = arena(wood=5)
    env.vector.set_cell(0, X + 2, Y, TABLE)          # two cells away: too far
    _, reward, *_ = step(env, MAKE_WOOD_PICKAXE)
    assert reward == 0.0 and player(env)['items']['wood_pickaxe'] == 0
    env.vector.set_cell(0, X + 1, Y + 1, TABLE)      # diagonal neighbour: near enough
    _, reward, *_ = step(env, MAKE_WOOD_PICKAXE)
    assert reward == 1.0 and player(env)['items']['wood_pickaxe'] == 1 and player(env)['items']['wood'] == 4

    env = arena(wood=2, stone=2, coal=2, iron=2)
    env.vector.set_cell(0, X - 1, Y, TABLE)
    step(env, MAKE_IRON_PICKAXE)
    assert player(env)['items']['iron_pickaxe'] == 0, 'no furnace nearby'
    env.vector.set_cell(0, X, Y - 1, FURNACE)
    _, reward, *_ = step(env, MAKE_IRON_PICKAXE)
    items = player(env)['items']
    assert reward == 1.0 and items['iron_pickaxe'] == 1
    assert (items['wood'], items['coal'], items['iron'], items['stone']) == (1, 1, 1, 2)


def test_a_furnace_costs_stone():
    env = arena(stone=FURNACE_STONE - 1)
    step(env, PLACE_FURNACE)
    assert 'place_furnace' not in player(env)['achievements']
    env = arena(stone=FURNACE_STONE)
    obs, reward, *_ = step(env, PLACE_FURNACE)
    assert reward == 1.0 and player(env)['items']['stone'] == 0 and cell_channels(obs, 1, 0)[FURNACE - 1] == 1


@pytest.mark.parametrize('material, tool, item', [
    (STONE, 'wood_pickaxe', 'stone'), (COAL, 'wood_pickaxe', 'coal'), (IRON, 'stone_pickaxe', 'iron'),
    (DIAMOND, 'iron_pickaxe', 'diamond')])
def test_mining_needs_the_right_pickaxe_and_leaves_a_path(material, tool, item):
    env = arena()
    env.vector.set_cell(0, X + 1, Y, material)
    obs, reward, *_ = step(env, DO)
    assert reward == 0.0 and player(env)['items'][item] == 0 and cell_channels(obs, 1, 0)[material - 1] == 1
    env = arena(**{tool: 1})
    env.vector.set_cell(0, X + 1, Y, material)
    obs, reward, *_ = step(env, DO)
    assert reward == 1.0 and player(env)['items'][item] == 1 and player(env)['achievements'] == [f'collect_{item}']
    assert cell_channels(obs, 1, 0)[PATH - 1] == 1


def test_drinking_water_raises_drink_and_placing_stone_fills_water():
    env = arena(drink=3, stone=1)
    env.vector.set_cell(0, X + 1, Y, WATER)
    _, reward, *_ = step(env, DO)
    assert reward == 1.0 and player(env)['items']['drink'] == 4 and player(env)['achievements'] == ['collect_drink']
    obs, reward, *_ = step(env, PLACE_STONE)
    assert reward == 1.0 and cell_channels(obs, 1, 0)[STONE - 1] == 1 and player(env)['items']['stone'] == 0


def test_the_player_walks_on_sand_but_not_into_stone_and_dies_in_lava():
    env = arena()
    step(env, MOVE_DOWN)
    assert (player(env)['x'], player(env)['y'], player(env)['facing']) == (X, Y + 1, DOWN)
    env.vector.set_cell(0, X, Y + 2, STONE)
    step(env, MOVE_DOWN)
    assert (player(env)['x'], player(env)['y']) == (X, Y + 1), 'stone blocks'
    env.vector.set_cell(0, X + 1, Y + 1, LAVA)
    _, reward, terminal, truncation, infos = step(env, MOVE_RIGHT)
    assert terminal and not truncation and reward == pytest.approx(-0.9)
    assert infos and infos[0]['episode_length'] == 3.0


def test_a_zombie_hits_for_2_awake_and_7_asleep_and_pain_wakes_the_player():
    env = arena()
    env.vector.set_object(0, X + 3, Y, ZOMBIE)
    for _ in range(20):
        _, reward, *_ = step(env, NOOP)
        if player(env)['items']['health'] < 9:
            break
    assert player(env)['items']['health'] == 7 and reward == pytest.approx(-0.2)

    env = arena(energy=3)
    step(env, SLEEP)
    assert player(env)['sleeping'] == 1
    env.vector.set_object(0, X + 1, Y, ZOMBIE)   # already next to the sleeper: it attacks at once
    _, reward, *_ = step(env, NOOP)
    assert player(env)['items']['health'] == 2 and reward == pytest.approx(-0.7)
    step(env, NOOP)
    assert player(env)['sleeping'] == 0 and 'wake_up' not in player(env)['achievements']


def test_killing_a_zombie_takes_five_bare_handed_hits_or_one_with_an_iron_sword():
    env = arena(iron_sword=1)
    for dx, dy in ((1, 1), (2, 0), (1, -1)):
        env.vector.set_cell(0, X + dx, Y + dy, STONE)   # pen the zombie in front of the player
    env.vector.set_object(0, X + 1, Y, ZOMBIE)
    _, reward, *_ = step(env, DO)
    assert reward == 1.0 and player(env)['achievements'] == ['defeat_zombie'] and env.vector.get_objects(0) == []


def test_sleeping_restores_energy_and_waking_up_unlocks_wake_up():
    env = arena(energy=6)
    obs, *_ = step(env, SLEEP)
    assert player(env)['sleeping'] == 1 and obs[-2] == 1
    for steps in range(1, 200):
        _, reward, *_ = step(env, MOVE_LEFT)   # ignored while asleep; on waking up the action is taken
        if not player(env)['sleeping']:
            break
        assert player(env)['x'] == X, 'the player does not move in its sleep'
    state = player(env)
    assert state['items']['energy'] == 9 and state['achievements'] == ['wake_up'] and reward == 1.0
    assert state['x'] == X - 1
    assert 30 <= steps <= 40, 'energy returns one point per 11 steps asleep'


def test_eating_a_cow_and_a_ripe_plant_fills_food():
    env = arena(food=2)
    for dx, dy in ((1, 1), (2, 0), (1, -1)):
        env.vector.set_cell(0, X + dx, Y + dy, STONE)
    env.vector.set_object(0, X + 1, Y, COW)
    rewards = [step(env, DO)[1] for _ in range(3)]   # a cow has 3 health, a bare hand deals 1
    assert rewards == [0.0, 0.0, 1.0] and player(env)['items']['food'] == 8
    assert player(env)['achievements'] == ['eat_cow']

    env = arena(sapling=1)
    env.vector.set_cell(0, X + 1, Y, GRASS)
    obs, reward, *_ = step(env, PLACE_PLANT)
    assert reward == 1.0 and cell_channels(obs, 1, 0)[12 + 4] == 1 and player(env)['items']['sapling'] == 0
    _, reward, *_ = step(env, DO)
    assert reward == 0.0 and player(env)['items']['food'] == 9 - 0, 'an unripe sapling gives nothing'
    env.vector.set_object(0, X + 1, Y, 0)
    env.vector.set_object(0, X + 1, Y, PLANT, 400)
    env.vector.set_inventory(0, [9, 3, 9, 9] + [0] * 12)
    obs, reward, *_ = step(env, DO)
    assert reward == 1.0 and player(env)['items']['food'] == 7 and 'eat_plant' in player(env)['achievements']


def test_an_arrow_flies_and_hits_the_player_for_two():
    env = arena()
    env.vector.set_object(0, X + 3, Y, ARROW, LEFT)
    step(env, NOOP)
    assert env.vector.get_objects(0) == [(ARROW, X + 2, Y, 1, LEFT)]
    step(env, NOOP)
    _, reward, *_ = step(env, NOOP)
    assert player(env)['items']['health'] == 7 and reward == pytest.approx(-0.2) and env.vector.get_objects(0) == []


def test_hunger_and_thirst_drain_food_and_drink():
    env = arena()
    for _ in range(26):
        step(env, NOOP)
    items = player(env)['items']
    assert items['food'] == 8 and items['drink'] == 8, 'food every 26 steps, drink every 21'


def test_zombies_spawn_on_grass_at_night_but_not_at_midday():
    def zombies_after_balancing(start):
        env = arena()
        env.vector.fill(0, GRASS)
        env.vector.set_steps(0, start)
        for _ in range(10 - start % 10):   # up to the next multiple of 10 steps, when chunks are rebalanced
            step(env, NOOP)
        return sum(kind == ZOMBIE for kind, *_ in env.vector.get_objects(0))
    assert zombies_after_balancing(51) == 0, 'daylight 1 at step 60: no zombies wanted'
    assert zombies_after_balancing(201) >= 3, 'dark at step 210: up to 3 per 12 x 12 chunk, each spawning w.p. 0.3'


def test_an_episode_logs_its_achievements_and_their_count_as_score():
    env = ocean.make('puffer_crafter', num_envs=1, seed=0, log_interval=1, max_steps=3)
    env.reset(0)
    env.vector.fill(0, SAND)
    env.vector.set_cell(0, X + 1, Y + 0, TREE)
    env.vector.set_player(0, X, Y, RIGHT)
    step(env, DO)
    step(env, NOOP)
    _, reward, terminal, truncation, infos = step(env, NOOP)
    assert truncation and not terminal
    assert infos[0]['score'] == 1.0 and infos[0]['collect_wood'] == 1.0 and infos[0]['place_table'] == 0.0
    assert infos[0]['episode_return'] == pytest.approx(1.0) and infos[0]['episode_length'] == 3.0
    assert set(ACHIEVEMENTS) <= set(infos[0])
    assert player(env)['steps'] == 0 and player(env)['items']['wood'] == 0, 'a new world after the episode'


def test_same_seed_same_worlds_and_trajectories():
    def run(seed):
        env = ocean.make('puffer_crafter', num_envs=4, seed=seed)
        env.reset(seed)
        actions = np.random.default_rng(1).integers(0, 17, (300, 4, 1)).astype(np.int32)
        frames = [env.step(a)[0].copy() for a in actions]
        return np.stack(frames), env.render_text(2)
    first, second, other = run(3), run(3), run(4)
    assert np.array_equal(first[0], second[0]) and first[1] == second[1]
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize('onehot', [1, 0])
def test_observations_stay_in_bounds_and_any_action_is_safe(onehot):
    env = ocean.make('puffer_crafter', num_envs=8, seed=0, onehot=onehot)
    env.reset(0)
    space = env.single_observation_space
    assert space.shape == ((63 * 18 if onehot else 63) + 22,)
    rng = np.random.default_rng(0)
    for _ in range(500):
        actions = rng.integers(-40, 60, (8, 1)).astype(np.int32)
        obs = env.step(actions)[0]
        assert (obs >= space.low).all() and (obs <= space.high).all()
    if not onehot:
        assert obs[:, :63].max() <= 18 and obs[:, 31].min() >= 2, 'the player always stands on grass, path or sand'


def test_out_of_range_actions_are_clamped_to_noop_and_make_iron_sword():
    env = arena(wood=1, coal=1, iron=1)
    env.vector.set_cell(0, X + 1, Y, TABLE)
    env.vector.set_cell(0, X - 1, Y, FURNACE)
    step(env, -5)
    assert (player(env)['x'], player(env)['y']) == (X, Y)
    _, reward, *_ = step(env, 99)
    assert reward == 1.0 and player(env)['items']['iron_sword'] == 1


def test_rendered_frames_show_moves_and_night():
    env = ocean.make('puffer_crafter', num_envs=1, seed=0)
    env.reset(0)
    first = env.render().copy()
    assert first.shape == (216, 216, 3) and len(np.unique(first.reshape(-1, 3), axis=0)) > 8
    for action in (MOVE_LEFT, MOVE_LEFT, MOVE_UP):
        env.step(np.array([[action]], np.int32))
    assert not np.array_equal(first, env.render())
    env.vector.set_steps(0, 0)
    day = env.render().astype(float).mean()
    env.vector.set_steps(0, 210)
    assert env.render().astype(float).mean() < 0.6 * day, 'night darkens the view'
    text = env.render_text()
    assert text.count('@') == 1 and len(text.splitlines()) >= 66


def test_snapshots_resume_exactly():
    env = ocean.make('puffer_crafter', num_envs=3, seed=5)
    env.reset(5)
    rng = np.random.default_rng(0)
    for _ in range(400):
        env.step(rng.integers(0, 17, (3, 1)).astype(np.int32))
    state = env.snapshot()
    actions = rng.integers(0, 17, (200, 3, 1)).astype(np.int32)
    first = [(o.copy(), r.copy()) for o, r, *_ in (env.step(a) for a in actions)]
    env.restore(state)
    second = [(o.copy(), r.copy()) for o, r, *_ in (env.step(a) for a in actions)]
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(first, second))


def test_crafter_score_is_the_geometric_mean_of_success_rates_in_percent():
    assert crafter_score([1.0] * 22) == pytest.approx(100.0)
    assert crafter_score([0.0] * 22) == 0.0
    rates = dict.fromkeys(ACHIEVEMENTS, 0.0)
    rates['collect_wood'] = 1.0
    assert crafter_score(rates) == pytest.approx(math.exp(math.log(101) / 22) - 1)
    with pytest.raises(ValueError, match='place_table'):
        crafter_score({name: 0.5 for name in ACHIEVEMENTS if name != 'place_table'})
    with pytest.raises(ValueError, match='in \\[0, 1\\]'):
        crafter_score([2.0] * 22)
    rows = [{'global_step': 100, **{f'env/{name}': 0.0 for name in ACHIEVEMENTS}},
            {'global_step': 1000, **{f'env/{name}': 0.5 for name in ACHIEVEMENTS}}]
    assert success_rates(rows, last=0.5) == dict.fromkeys(ACHIEVEMENTS, 0.5)


def test_random_play_unlocks_the_easy_achievements_only():
    env = ocean.make('puffer_crafter', num_envs=64, seed=0, log_interval=10**9)
    env.reset(0)
    rng = np.random.default_rng(0)
    for _ in range(1500):
        env.step(rng.integers(0, 17, (64, 1)).astype(np.int32))
    stats = env.vector.log()
    assert stats['collect_wood'] > 0.1 and stats['wake_up'] > 0.5 and stats['collect_sapling'] > 0.2
    assert stats['collect_diamond'] == 0.0 and stats['make_iron_pickaxe'] == 0.0
    assert 100 < stats['episode_length'] < 400


def test_a_short_ppo_run_unlocks_more_achievements_than_random_play(tmp_path):
    """The shipped config for 400k steps (uncompiled): achievements per episode rise well above random play's 2.3."""
    overrides = {'train': {'total_timesteps': 400_000, 'device': 'cpu', 'data_dir': str(tmp_path), 'seed': 1,
                           'compile': False}}
    config = puffer_config.load('puffer_crafter', overrides=overrides)
    result = trainer.train(config, SimpleNamespace(), dashboard=Dashboard('puffer_crafter', live=False,
                                                                          file=io.StringIO()))
    rows = runs.read_metrics(result.run_dir)
    tail = [row['env/score'] for row in rows[int(len(rows) * 0.8):] if 'env/score' in row]
    assert tail and np.mean(tail) > SCORE_AFTER_400K, np.mean(tail)
