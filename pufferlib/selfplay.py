"""Self-play: the learner's opponents (docs/selfplay.md, docs/architecture.md §6.7).

A two-player env in agent mode (ocean/README.md, "Two-player games") has two agent rows per game, side 0 (even
rows) and side 1 (odd rows). `SelfPlayVecEnv` wraps its vecenv so that the trainer sees only the learning side's
rows, renumbered 0 .. rows / 2 - 1; it drives the other side itself with a frozen snapshot of the learner, all of
that side's rows in one forward pass. So the opponent's rows never reach the learner's buffers or losses.

- Snapshots: the learner's weights are copied into the pool every `save_steps` learner steps; the pool keeps the
  newest `window` of them.
- The opponent: every `swap_steps` opponent steps a snapshot is drawn, the newest with probability
  `play_against_latest`, else one of the pool uniformly.
- `team_change` learner steps after each switch, the learner takes the other side (0: never).
- `opponent_greedy`: the snapshot plays its most likely legal action instead of sampling one.
- `opponent_random`: each opponent move is, with that probability, a uniformly random legal action instead of the
  snapshot's (drawn from the pool's generator, so a resumed run draws the same).
- Elo: every finished game updates the learner's rating and the rating of the snapshot it played (standard Elo,
  K = `elo_k`); a new snapshot starts at the learner's rating. A game's result is the sign of the learner row's
  episode return (+1 win, 0 draw, -1 loss), the last reward's for one-shot games like Connect Four.
"""
import copy
import math

import numpy as np
import torch

from pufferlib.actor import Actor
from pufferlib.envs.contract import action_mask_size
from pufferlib.evaluate import random_legal_actions
from pufferlib.exceptions import ConfigError

SIDES = 2
DASHBOARD_KEYS = ('selfplay/elo', 'selfplay/pool_elo_mean', 'selfplay/win_rate', 'selfplay/draw_rate')


def expected_score(rating, opponent_rating):
    """Elo's expected score of a player rated `rating` against one rated `opponent_rating` (Elo 1978)."""
    return 1.0 / (1.0 + 10.0 ** ((opponent_rating - rating) / 400.0))


def elo_update(rating, opponent_rating, score, k):
    """Both ratings after one game that scored `score` (1 win, 0.5 draw, 0 loss) for the first player."""
    change = k * (score - expected_score(rating, opponent_rating))
    return rating + change, opponent_rating - change


def wilson_interval(successes, trials, z=1.96):
    """The Wilson score interval of a proportion (95% with z = 1.96): (low, high); (0, 1) with no trials."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


class Pool:
    """Frozen snapshots of the learner (weights on the host), newest last, at most `window`, each with its Elo."""

    def __init__(self, window, play_against_latest, elo_k, elo_initial, seed=0):
        self.window, self.play_against_latest, self.elo_k = window, play_against_latest, elo_k
        self.rng = np.random.default_rng(seed)
        self.snapshots = []     # dicts: id, step, weights, rating
        self.learner_rating = float(elo_initial)
        self.next_id = 0
        self.games = 0

    def add(self, policy, step):
        weights = {name: tensor.detach().to('cpu', copy=True) for name, tensor in policy.state_dict().items()}
        self.snapshots.append(dict(id=self.next_id, step=int(step), weights=weights, rating=self.learner_rating))
        self.next_id += 1
        del self.snapshots[:-self.window]

    def draw(self):
        """Index of the next opponent: the newest with probability play_against_latest, else uniform."""
        if self.rng.random() < self.play_against_latest:
            return len(self.snapshots) - 1
        return int(self.rng.integers(len(self.snapshots)))

    def find(self, snapshot_id):
        for snapshot in self.snapshots:
            if snapshot['id'] == snapshot_id:
                return snapshot
        return None

    def record(self, snapshot_id, score):
        """One finished game of the learner against snapshot `snapshot_id` (if still in the pool: a snapshot that
        slid out of the window only moves the learner's rating)."""
        snapshot = self.find(snapshot_id)
        opponent_rating = snapshot['rating'] if snapshot is not None else self.learner_rating
        # plain floats: checkpoints hold only tensors and plain data (pufferlib.runs.checkpoint)
        self.learner_rating, opponent_rating = (float(r) for r in elo_update(
            self.learner_rating, opponent_rating, float(score), self.elo_k))
        if snapshot is not None:
            snapshot['rating'] = opponent_rating
        self.games += 1

    def state_dict(self):
        # The whole generator state, with the half of a 64-bit draw that bounded integer draws keep for the next one
        # (without it a resumed run's opponent draws can differ from the uninterrupted run's).
        bit_state = self.rng.bit_generator.state
        return dict(snapshots=self.snapshots, learner_rating=self.learner_rating, next_id=self.next_id,
                    games=self.games, rng=bit_state['state']['state'], rng_inc=bit_state['state']['inc'],
                    rng_has_uint32=int(bit_state['has_uint32']), rng_uinteger=int(bit_state['uinteger']))

    def load_state_dict(self, state):
        self.snapshots = [dict(snapshot) for snapshot in state['snapshots']]
        self.learner_rating, self.next_id, self.games = (float(state['learner_rating']), int(state['next_id']),
                                                         int(state['games']))
        bit_state = self.rng.bit_generator.state
        bit_state['state'] = dict(state=int(state['rng']), inc=int(state['rng_inc']))
        # checkpoints from before these were saved: no half draw kept
        bit_state['has_uint32'] = int(state.get('rng_has_uint32', 0))
        bit_state['uinteger'] = int(state.get('rng_uinteger', 0))
        self.rng.bit_generator.state = bit_state


def check_env(vecenv, env_name):
    """ConfigError unless every game of `vecenv` has two agent rows (a two-player env in agent mode)."""
    driver = vecenv.driver_env
    per_game = driver.num_agents // max(getattr(driver, 'num_envs', 1), 1)   # an Ocean object holds num_envs games
    if per_game != SIDES:
        raise ConfigError(f'selfplay.enabled = True needs a two-player env in agent mode (two agent rows per game), '
                          f'but {env_name} has {per_game} per game; set env.opponent = 1 (connect4, pong)')


class SelfPlayVecEnv:
    """A vecenv of a two-player env in agent mode, seen by the trainer as the learning side's rows only; the other
    side is played by snapshots from a Pool. Call attach(policy) before the first recv."""

    def __init__(self, vecenv, selfplay_config, seed=0):
        s = selfplay_config
        self.vecenv = vecenv
        self.driver_env = vecenv.driver_env
        self.single_observation_space = vecenv.single_observation_space
        self.single_action_space = vecenv.single_action_space
        self.num_agents = vecenv.num_agents // SIDES
        self.has_action_masks = getattr(vecenv, 'has_action_masks', False)
        self.action_masks = None
        self.save_steps, self.swap_steps, self.team_change = s['save_steps'], s['swap_steps'], s['team_change']
        self.opponent_random = s.get('opponent_random', 0.0)
        self.opponent_greedy = bool(s.get('opponent_greedy', False))
        self.pool = Pool(s['window'], s['play_against_latest'], s['elo_k'], s['elo_initial'], seed)
        self.learner_side = 0
        self.learner_steps = 0      # agent steps of the learner's rows (the trainer's global_step)
        self.opponent_steps = 0     # agent steps of the opponent's rows
        self.last_save = self.last_swap = self.last_team_change = 0
        self.opponent_id = None
        self.returns = np.zeros(vecenv.num_agents, np.float64)  # each row's return in its current game
        self.results = np.zeros(3, np.int64)  # learner wins, draws, losses since the last metrics()
        self.policy = self.opponent = self.actor = None
        self.opponent_state = None
        self.sent = None
        self.replay = None  # after restore(): the checkpoint's batch comes again, already scored (see recv)
        self.saved_pending = None  # a checkpoint's pending batch, from load_state_dict until restore()

    def attach(self, policy):
        """Start from the learner `policy`: its current weights are the pool's first snapshot."""
        self.policy = policy
        self.opponent = copy.deepcopy(policy).eval()
        for parameter in self.opponent.parameters():
            parameter.requires_grad_(False)
        device = next(policy.parameters()).device
        self.actor = Actor(self.opponent, self.single_action_space, device, deterministic=self.opponent_greedy)
        if not self.pool.snapshots:
            self.pool.add(policy, 0)
        self.swap()

    def swap(self):
        """Load a newly drawn snapshot into the opponent network."""
        snapshot = self.pool.snapshots[self.pool.draw()]
        self.opponent.load_state_dict(snapshot['weights'])
        self.opponent_id = snapshot['id']
        self.opponent_state = None  # recurrent opponents start their memory afresh
        self.last_swap = self.opponent_steps

    # ---- the vecenv protocol, on the learner's rows ----
    def async_reset(self, seed=None):
        self.returns[:] = 0
        self.opponent_state = None
        self.replay = None
        self.vecenv.async_reset(seed)

    def recv(self):
        observations, rewards, terminals, truncations, infos, agent_ids, masks = self.vecenv.recv()
        agent_ids = np.asarray(agent_ids)
        action_masks = self.vecenv.action_masks if self.has_action_masks else None
        replay, self.replay = self.replay, None
        if replay is not None:
            # The batch a checkpoint was taken at, received again after restore(): its finished games were scored
            # and its opponent actions drawn before the checkpoint, so neither is done twice (Elo and the random
            # draws continue exactly as in the uninterrupted run).
            learner_rows, opponent_rows, opponent_actions = replay
            if opponent_actions is None:  # a checkpoint that predates saving them: drawn again
                opponent_actions = self.act_opponent(
                    observations[opponent_rows], terminals[opponent_rows] | truncations[opponent_rows],
                    None if action_masks is None else action_masks[opponent_rows])
        else:
            self.score_games(agent_ids, rewards, terminals, truncations)
            learner = agent_ids % SIDES == self.learner_side
            learner_rows, opponent_rows = np.flatnonzero(learner), np.flatnonzero(~learner)
            opponent_actions = self.act_opponent(observations[opponent_rows], terminals[opponent_rows]
                                                 | truncations[opponent_rows],
                                                 None if action_masks is None else action_masks[opponent_rows])
        self.sent = (len(agent_ids), learner_rows, opponent_rows, opponent_actions)
        if action_masks is not None:
            self.action_masks = action_masks[learner_rows]
        return (observations[learner_rows], rewards[learner_rows], terminals[learner_rows],
                truncations[learner_rows], infos, agent_ids[learner_rows] // SIDES, masks[learner_rows])

    def send(self, actions):
        rows, learner_rows, opponent_rows, opponent_actions = self.sent
        actions = np.asarray(actions)
        combined = np.empty((rows, *actions.shape[1:]), actions.dtype)
        combined[learner_rows] = actions
        combined[opponent_rows] = opponent_actions
        self.vecenv.send(combined)
        self.learner_steps += len(learner_rows)
        self.opponent_steps += len(opponent_rows)
        self.after_step()

    def after_step(self):
        """Snapshot, swap the opponent and change teams when their step counts come round."""
        if self.learner_steps - self.last_save >= self.save_steps:
            self.pool.add(self.policy, self.learner_steps)
            self.last_save = self.learner_steps
        if self.opponent_steps - self.last_swap >= self.swap_steps:
            self.swap()
        if self.team_change and self.learner_steps - self.last_team_change >= self.team_change:
            self.learner_side = 1 - self.learner_side
            self.last_team_change = self.learner_steps

    def act_opponent(self, observations, done, action_mask):
        """The opponent rows' actions: one forward pass of the current snapshot over all of them (sampled, or its
        most likely ones with opponent_greedy), then opponent_random's random moves."""
        if len(observations) == 0:
            return np.zeros((0, *self.single_action_space.shape), np.int32)
        state = self.opponent_state
        if self.actor.recurrent and (state is None or state[0].shape[0] != len(observations)):
            state = self.actor.initial_state(len(observations))
        actions, _, _, state = self.actor.act(observations, state, done, action_mask=action_mask)
        self.opponent_state = state
        actions = self.actor.to_env(actions)
        if self.opponent_random > 0:
            random_rows = np.flatnonzero(self.pool.rng.random(len(observations)) < self.opponent_random)
            if len(random_rows):
                space = self.single_action_space
                legal = (np.ones((len(random_rows), action_mask_size(space)), bool) if action_mask is None
                         else np.asarray(action_mask)[random_rows])
                actions[random_rows] = random_legal_actions(self.pool.rng, legal, space).reshape(
                    len(random_rows), *actions.shape[1:])
        return actions

    def score_games(self, agent_ids, rewards, terminals, truncations):
        """Add this step's rewards to each row's game; for the learner's finished games, record the result."""
        self.returns[agent_ids] += rewards
        finished = np.flatnonzero(np.logical_or(terminals, truncations))
        if len(finished) == 0:
            return
        rows = agent_ids[finished]
        for row in rows[rows % SIDES == self.learner_side]:
            result = np.sign(self.returns[row])
            self.pool.record(self.opponent_id, (result + 1) / 2)
            self.results[int(1 - result)] += 1
        self.returns[rows] = 0

    def metrics(self):
        """selfplay/* values for the epoch's metrics row: the learner's Elo, the pool's, and the games' results."""
        games = int(self.results.sum())
        row = {'selfplay/elo': self.pool.learner_rating, 'selfplay/pool_size': len(self.pool.snapshots),
               'selfplay/opponent': self.opponent_id, 'selfplay/learner_side': self.learner_side,
               'selfplay/games': self.pool.games}
        if games:
            row['selfplay/win_rate'] = self.results[0] / games
            row['selfplay/draw_rate'] = self.results[1] / games
        for snapshot in self.pool.snapshots:
            row[f'selfplay/pool_elo/{snapshot["id"]}'] = snapshot['rating']
        ratings = [snapshot['rating'] for snapshot in self.pool.snapshots]
        row['selfplay/pool_elo_mean'] = float(np.mean(ratings))
        self.results[:] = 0
        return row

    # ---- checkpoints ----
    def state_dict(self):
        return dict(pool=self.pool.state_dict(), learner_side=self.learner_side, learner_steps=self.learner_steps,
                    opponent_steps=self.opponent_steps, last_save=self.last_save, last_swap=self.last_swap,
                    last_team_change=self.last_team_change, opponent_id=self.opponent_id,
                    returns=torch.from_numpy(self.returns.copy()), pending=self.pending_state(),
                    opponent_weights=self.opponent_weights())

    def opponent_weights(self):
        """The current opponent's weights when its snapshot has slid out of the pool (it keeps playing until the next
        swap, so a resumed run needs them); None while the pool holds them."""
        if self.opponent is None or self.pool.find(self.opponent_id) is not None:
            return None
        return {name: tensor.detach().to('cpu', copy=True) for name, tensor in self.opponent.state_dict().items()}

    def pending_state(self):
        """The batch received last and not yet answered (a checkpoint falls there): its rows, the opponent's actions
        and the opponent's recurrent state, for restore() to answer it exactly as the uninterrupted run does."""
        if self.sent is None:
            return None
        _, learner_rows, opponent_rows, opponent_actions = self.sent
        state = None if self.opponent_state is None else [t.detach().cpu() for t in self.opponent_state]
        return dict(learner_rows=torch.from_numpy(learner_rows.copy()),
                    opponent_rows=torch.from_numpy(opponent_rows.copy()),
                    opponent_actions=torch.from_numpy(np.ascontiguousarray(opponent_actions)), opponent_state=state)

    def load_state_dict(self, state):
        self.pool.load_state_dict(state['pool'])
        for key in ('learner_side', 'learner_steps', 'opponent_steps', 'last_save', 'last_swap', 'last_team_change'):
            setattr(self, key, int(state[key]))
        snapshot = self.pool.find(state['opponent_id'])
        if snapshot is None and state.get('opponent_weights') is not None:  # slid out of the pool, still playing
            self.opponent.load_state_dict(state['opponent_weights'])
            self.opponent_id = int(state['opponent_id'])
        else:  # checkpoints from before opponent_weights were saved fall back on the newest snapshot
            snapshot = snapshot or self.pool.snapshots[-1]
            self.opponent.load_state_dict(snapshot['weights'])
            self.opponent_id = snapshot['id']
        self.returns[:] = state['returns'].numpy()
        self.saved_pending = state.get('pending')

    def draw_state(self):
        """What decides the next opponents: the pool's random state, the step counters and the current opponent."""
        return (self.pool.state_dict()['rng'], self.learner_steps, self.opponent_steps, self.opponent_id,
                self.learner_side)

    def snapshot(self):
        return self.vecenv.snapshot()

    def restore(self, state):
        """Continue from a checkpoint's env snapshot; the next recv() returns the batch it was taken at (see recv)."""
        result = self.vecenv.restore(state)
        pending, self.saved_pending = self.saved_pending, None
        if pending is None:  # no saved batch: only its scoring is skipped, its opponent actions are drawn again
            learner = np.arange(self.vecenv.num_agents) % SIDES == self.learner_side
            self.replay = (np.flatnonzero(learner), np.flatnonzero(~learner), None)
            return result
        state = pending['opponent_state']
        device = next(self.opponent.parameters()).device
        self.opponent_state = None if state is None else tuple(t.to(device) for t in state)
        self.replay = (pending['learner_rows'].numpy(), pending['opponent_rows'].numpy(),
                       pending['opponent_actions'].numpy())
        return result

    def close(self):
        return self.vecenv.close()


def wrap(config, vecenv):
    """`vecenv` unchanged when [selfplay] is off; else a SelfPlayVecEnv over it (ConfigError if the env has no two
    agent rows per game)."""
    s = config.get('selfplay')
    if not s or not s.get('enabled'):
        return vecenv
    check_env(vecenv, config['base']['env_name'])
    space = vecenv.single_action_space
    if s.get('opponent_random', 0.0) > 0 and not (hasattr(space, 'n') or hasattr(space, 'nvec')):
        raise ConfigError(f'selfplay.opponent_random = {s["opponent_random"]} needs Discrete or MultiDiscrete actions; '
                          f'{config["base"]["env_name"]} has {space}; set it to 0')
    if vecenv.batch_size != vecenv.num_envs:
        raise ConfigError(f'selfplay.enabled = True needs a synchronous vector: vec.batch_size = '
                          f'{vecenv.batch_size} must equal vec.num_envs = {vecenv.num_envs} (or auto)')
    return SelfPlayVecEnv(vecenv, s, seed=config['train']['seed'])
