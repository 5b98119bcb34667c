"""One SQLite file per sweep holding every trial: parameters, status, score, cost, learning-curve points, run
directory, error and timestamps.

Each change is its own committed transaction, so a sweep killed at any moment leaves a consistent file; trials
still marked `running` when a sweep starts were cut short by the previous one and are run again.
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
