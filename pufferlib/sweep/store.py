"""One SQLite file per sweep holding every trial: parameters, status, score, cost, learning-curve points, run
directory, error and timestamps.

Each change is its own committed transaction, so a sweep killed at any moment leaves a consistent file; trials
still marked `running` when a sweep starts were cut short by the previous one and are run again.

A PBT sweep (pufferlib.sweep.pbt) also fills two tables: `pbt_chunks` says which member and period each trial
trains (a trial is one period of one member), and `lineage` holds every exploit-and-explore step: who copied whom,
at which step, the metric of both at copy time, and the hyperparameters before and after.
"""
import json
import sqlite3
import time
from dataclasses import dataclass, field

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY,               -- trial number, from 1
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    params TEXT NOT NULL,                 -- JSON {"train.learning_rate": 0.003, ...}
    score REAL,                           -- the metric when training ended, as logged (not negated)
    cost REAL,                            -- training seconds
    curve TEXT NOT NULL DEFAULT '[]',     -- JSON [[steps, score, seconds], ...] along the learning curve
    run_dir TEXT,
    error TEXT,
    started REAL NOT NULL,                -- unix time the trial was first started
    finished REAL
);
CREATE TABLE IF NOT EXISTS pbt_chunks (
    trial INTEGER PRIMARY KEY,            -- trials.id: one period of one member
    member INTEGER NOT NULL,              -- 1 .. population_size
    generation INTEGER NOT NULL,          -- period number, from 1: trains up to generation * pbt_period_steps
    UNIQUE (member, generation)
);
CREATE TABLE IF NOT EXISTS lineage (
    id INTEGER PRIMARY KEY,
    generation INTEGER NOT NULL,          -- the period after which the member was replaced
    member INTEGER NOT NULL,              -- the member replaced (its next period starts from the copy)
    parent INTEGER NOT NULL,              -- the member whose weights and optimizer state it copied
    step INTEGER NOT NULL,                -- agent steps of the copied checkpoint
    score REAL,                           -- the member's metric at copy time (NULL: its period failed)
    parent_score REAL NOT NULL,           -- the parent's metric at copy time
    params_before TEXT NOT NULL,          -- JSON: the member's own hyperparameters
    params_after TEXT NOT NULL,           -- JSON: the parent's, perturbed: what the member trains with next
    checkpoint TEXT NOT NULL,             -- the parent's checkpoint file that was copied
    copied INTEGER NOT NULL DEFAULT 0,    -- 1 once the copy is in the member's run folder
    UNIQUE (generation, member)
);
"""
STATUSES = ('running', 'done', 'failed')


@dataclass
class Trial:
    id: int
    status: str
    params: dict
    score: float = None
    cost: float = None
    curve: list = field(default_factory=list)
    run_dir: str = None
    error: str = None
    started: float = None
    finished: float = None


@dataclass
class Exploit:
    """One row of `lineage`: member copied parent after period `generation`."""
    id: int
    generation: int
    member: int
    parent: int
    step: int
    score: float
    parent_score: float
    params_before: dict
    params_after: dict
    checkpoint: str
    copied: bool


class SweepStore:
    def __init__(self, path):
        self.path = path
        # Only the sweep's own process writes; the timeout covers readers such as `sqlite3 sweep.db` in a shell.
        self.connection = sqlite3.connect(path, timeout=30)
        with self.connection:
            self.connection.executescript(SCHEMA)

    def close(self):
        self.connection.close()

    def get_meta(self, key, default=None):
        row = self.connection.execute('SELECT value FROM meta WHERE key = ?', (key,)).fetchone()
        return default if row is None else row[0]

    def set_meta(self, key, value):
        with self.connection:
            self.connection.execute('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', (key, value))

    def add_trial(self, params):
        """Record a new trial as running and return it."""
        now = time.time()
        with self.connection:
            cursor = self.connection.execute(
                "INSERT INTO trials (status, params, started) VALUES ('running', ?, ?)", (json.dumps(params), now))
        return Trial(cursor.lastrowid, 'running', dict(params), started=now)

    def finish_trial(self, trial_id, status, score=None, cost=None, curve=(), run_dir=None, error=None):
        if status not in ('done', 'failed'):
            raise ValueError(f'a finished trial is done or failed, not {status!r}')
        with self.connection:
            self.connection.execute(
                'UPDATE trials SET status = ?, score = ?, cost = ?, curve = ?, run_dir = ?, error = ?, finished = ? '
                'WHERE id = ?',
                (status, score, cost, json.dumps([list(point) for point in curve]), run_dir, error, time.time(),
                 trial_id))

    def trials(self):
        rows = self.connection.execute(
            'SELECT id, status, params, score, cost, curve, run_dir, error, started, finished FROM trials ORDER BY id')
        return [Trial(id, status, json.loads(params), score, cost, [tuple(p) for p in json.loads(curve)], run_dir,
                      error, started, finished)
                for id, status, params, score, cost, curve, run_dir, error, started, finished in rows]

    # PBT -----------------------------------------------------------------------------------------------------

    def add_generation(self, generation, params, exploits=()):
        """In one transaction: a running trial for every member's period `generation` (params: {member: params}) and
        the exploits that produced them. A kill leaves either all of it or none."""
        now = time.time()
        with self.connection:
            for event in exploits:
                self.connection.execute(
                    'INSERT INTO lineage (generation, member, parent, step, score, parent_score, params_before, '
                    'params_after, checkpoint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                    (generation - 1, event['member'], event['parent'], event['step'], event['score'],
                     event['parent_score'], json.dumps(event['params_before']), json.dumps(event['params_after']),
                     event['checkpoint']))
            for member in sorted(params):
                cursor = self.connection.execute(
                    "INSERT INTO trials (status, params, started) VALUES ('running', ?, ?)",
                    (json.dumps(params[member]), now))
                self.connection.execute('INSERT INTO pbt_chunks (trial, member, generation) VALUES (?, ?, ?)',
                                        (cursor.lastrowid, member, generation))

    def chunks(self):
        """{trial id: (member, generation)} of a PBT sweep."""
        rows = self.connection.execute('SELECT trial, member, generation FROM pbt_chunks')
        return {trial: (member, generation) for trial, member, generation in rows}

    def exploits(self):
        """Every exploit-and-explore step, by period and member."""
        rows = self.connection.execute(
            'SELECT id, generation, member, parent, step, score, parent_score, params_before, params_after, '
            'checkpoint, copied FROM lineage ORDER BY generation, member')
        return [Exploit(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]),
                        json.loads(row[8]), row[9], bool(row[10])) for row in rows]

    def mark_copied(self, exploit_id):
        with self.connection:
            self.connection.execute('UPDATE lineage SET copied = 1 WHERE id = ?', (exploit_id,))
