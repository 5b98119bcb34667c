"""Population-based training (Jaderberg et al. 2017) as a sweep method: `[sweep] method = PBT`.

`population_size` members train side by side, each one ordinary run in `members/NN/`, one period of
`pbt_period_steps` agent steps at a time: a trial of the store is one period of one member, a `puffer train`
process started with `--stop-at-step` (and from the second period on, resuming the member's run with
`--change-hyperparameters`), so each member keeps one learning curve and one schedule over the whole budget
(`train.total_timesteps`). When every member has finished period g:

    exploit   the worst `replace_fraction` of the members (rounded up, at most half of them), and any member whose
              period failed, each copy a member drawn from the best as many, when that one scores better: the
              parent's newest checkpoint (weights, optimizer state, counters, env state) becomes the member's, and
              the member's next period resumes from it
    explore   the copy trains with the parent's hyperparameters, each perturbed with probability `mutation_rate`:
              drawn afresh from its space with probability `resample_rate`, else multiplied or divided (even odds)
              by a factor drawn uniformly from [perturb_min, perturb_max] (Sample Factory's pbt_perturb_min/max),
              and kept inside the space's [min, max]

Periods are synchronous (every member reaches the same step before any exploit), and every decision is written
to the store (`pbt_chunks`, `lineage`) before its files are touched, so a killed sweep resumes where it stopped.
"""
import math
import os
import shutil
import time

import numpy as np

from pufferlib import runs
from pufferlib.exceptions import ConfigError
from pufferlib.runs import checkpoint, history, layout
from pufferlib.runs.session import HYPERPARAMETERS
from pufferlib.sweep import methods as sweep_methods
from pufferlib.sweep import runner as sweep_runner
from pufferlib.sweep import spaces as sweep_spaces

MEMBERS_DIR = 'members'


# ----------------------------------------------------------------------------------------------------------------
# Exploit and explore
# ----------------------------------------------------------------------------------------------------------------

def searchable_spaces(spaces):
    """The spaces PBT perturbs: hyperparameters a member's run can change when it resumes. The budget space
    (scale = time) is left out (every member trains train.total_timesteps), pinned ones (min = max) are only set;
    any other is a ConfigError."""
    problems = []
    for space in spaces:
        section, key = space.name.rsplit('.', 1)
        if space.is_budget or space.min == space.max:
            continue
        if key not in HYPERPARAMETERS.get(section, ()):
            allowed = ', '.join(f'{s}.{k}' for s in HYPERPARAMETERS for k in sorted(HYPERPARAMETERS[s]))
            problems.append(f'[sweep.{space.name}]: PBT changes hyperparameters of running members, and {space.name} '
                            'cannot change during a run (it shapes the model, the data or the optimizer); pin it '
                            f'with min = max = mean; PBT can search {allowed}')
    if problems:
        raise ConfigError(problems)
    searched = [space for space in spaces if not space.is_budget and space.min != space.max]
    if not searched:
        raise ConfigError('sweep.method = PBT has no hyperparameter to perturb: add a space such as '
                          '[sweep.train.learning_rate] with distribution = log_normal, min = 1e-4, max = 1e-1')
    return searched


def replacements(scores, replace_fraction, rng):
    """[(member, parent)] for one boundary. `scores`: {member: score oriented so that higher is better, or None
    for a member whose period failed}. The worst ceil(population * replace_fraction) members (at most half) and
    every failed one draw a parent from the best as many, and copy it only if it scores better."""
    alive = sorted((m for m in scores if scores[m] is not None), key=lambda m: (-scores[m], m))
    count = min(math.ceil(len(scores) * replace_fraction), len(scores) // 2)
    parents = alive[:count]
    worst = [m for m in alive[len(alive) - count:] if m not in parents]
    failed = [m for m in scores if scores[m] is None]
    pairs = []
    for member in sorted(failed + worst):
        if not parents:
            break
        parent = parents[int(rng.integers(len(parents)))]
        if scores[member] is None or scores[parent] > scores[member]:
            pairs.append((member, parent))
    return pairs


def perturb(spaces, params, rng, mutation_rate, perturb_min, perturb_max, resample_rate):
    """The parent's hyperparameters as the copy will train with them (see the module docstring)."""
    perturbed = dict(params)
    for space in spaces:
        if rng.uniform() >= mutation_rate:
            continue
        if rng.uniform() < resample_rate:
            perturbed[space.name] = space.from_unit(space.sample(rng))
            continue
        factor = rng.uniform(perturb_min, perturb_max)
        perturbed[space.name] = scaled(space, params[space.name], factor if rng.uniform() < 0.5 else 1 / factor)
    return perturbed


def scaled(space, value, factor):
    """`value` moved by `factor`, inside the space. A value in (0, 1) with logit_normal (gamma, gae_lambda) moves
    its distance to 1 instead (the effective horizon), so it stays below 1; an integer moves at least one step
    (the next power of two for uniform_pow2)."""
    if space.distribution == 'logit_normal':
        moved = 1 - (1 - value) * factor
    elif space.distribution == 'uniform_pow2':
        steps = max(1, round(abs(math.log2(factor))))
        moved = value * 2.0 ** (steps if factor > 1 else -steps)
    else:
        moved = value * factor
        if space.integer and round(moved) == value and factor != 1:
            moved = value + (1 if factor > 1 else -1)
    moved = min(max(moved, space.min), space.max)
    return space.from_unit(space.to_unit(moved))


def copy_member(parent_checkpoint, member_folder, identity, seed):
    """Make the parent's checkpoint the newest of the member's run (weights, optimizer state, counters, env state,
    and model.pt beside it), so that the member's next `--resume` continues from it. The copy gets a torch RNG of
    its own (from `seed`), so a copy whose hyperparameters were not perturbed does not replay its parent. A member
    whose run never wrote its config takes a copy of the parent's whole run folder. Idempotent: a sweep killed
    half-way through does it again."""
    parent_run = os.path.dirname(os.path.dirname(parent_checkpoint))
    env_folder = os.path.join(member_folder, identity)
    own = [path for path in layout.run_dirs_in(env_folder) if os.path.exists(os.path.join(path, layout.CONFIG_FILE))]
    if own:
        run_dir = own[-1]
    else:
        shutil.rmtree(env_folder, ignore_errors=True)
        run_dir = os.path.join(env_folder, os.path.basename(parent_run))
        shutil.copytree(parent_run, run_dir, ignore=shutil.ignore_patterns(layout.LOCK_FILE, '*.tmp'))
    state = checkpoint.read_checkpoint(parent_checkpoint)
    state['rng'] = dict(state['rng'], torch=torch_rng_state(seed))
    step = state['counters']['global_step']
    target = os.path.join(run_dir, layout.CHECKPOINT_DIR, history.checkpoint_name(step))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    checkpoint.save_atomic(state, target)
    for saved_step, path in history.checkpoints(run_dir) + history.milestones(run_dir):
        if saved_step > step or saved_step < 0:  # later than the copy: the resume would pick them instead
            os.remove(path)
    model = os.path.join(parent_run, checkpoint.MODEL_FILE)
    if os.path.exists(model):
        checkpoint.save_atomic(checkpoint.read(model), os.path.join(run_dir, checkpoint.MODEL_FILE))
    return run_dir, target


def torch_rng_state(seed):
    import torch
    return torch.Generator().manual_seed(int(seed) % 2**63).get_state()


# ----------------------------------------------------------------------------------------------------------------
# The sweep
# ----------------------------------------------------------------------------------------------------------------

class PBTSweep(sweep_runner.Sweep):
    """The PBT loop over pufferlib.sweep.runner's trials, runners (local, Ray), store and best.ini."""

    def __init__(self, config, settings, spaces, method, folder, store, tracker_flags=()):
        super().__init__(config, settings, searchable_spaces(spaces), method, folder, store, tracker_flags)
        # Pinned spaces set their key in every period, as in other sweeps; PBT never moves them.
        self.pinned = {space.name: space.from_unit(0.5) for space in spaces
                       if space.min == space.max and not space.is_budget}
        self.population = settings['population_size']
        self.period = settings['pbt_period_steps']
        self.total = config['train']['total_timesteps']
        self.generations = math.ceil(self.total / self.period)
        self.identity = runs.env_identity(config)
        self.view = PBTView(self)

    def run(self):
        runner = sweep_runner.make_runner(self.settings, self.config)
        interrupted = False
        started = set()
        self.view.start()
        try:
            cut_short = [t.id for t in self.store.trials() if t.status == 'running']
            if cut_short:
                self.view.message(f'resuming {len(cut_short)} interrupted period(s) (trials '
                                  f'{", ".join(map(str, cut_short))})')
            self.copy_pending()
            while True:
                for trial_id, outcome in runner.poll():
                    self.record(trial_id, outcome)
                generation, current = self.current_generation()
                if generation == 0:
                    self.store.add_generation(1, self.initial_params())
                    continue
                for trial in current:
                    if trial.status == 'running' and trial.id not in started and runner.free_slots():
                        started.add(trial.id)
                        self.start(runner, trial)
                if not runner.busy() and all(t.status != 'running' for t in current):
                    if generation >= self.generations or not self.next_generation(generation, current):
                        break
                    continue
                self.view.refresh()
                time.sleep(sweep_runner.POLL_SECONDS)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            runner.stop_all()
            self.view.stop()
        return self.finish(interrupted)

    # Members and periods ---------------------------------------------------------------------------------------

    def chunk(self, trial_id):
        return self.store.chunks()[trial_id]

    def current_generation(self):
        """(g, the trials of period g, by member) for the newest period g, or (0, [])."""
        chunks = self.store.chunks()
        if not chunks:
            return 0, []
        generation = max(g for _, g in chunks.values())
        trials = [t for t in self.store.trials() if t.id in chunks and chunks[t.id][1] == generation]
        return generation, sorted(trials, key=lambda t: chunks[t.id][0])

    def initial_params(self):
        """Member 1 at the search centre, the others drawn from the spaces' priors (as Random does)."""
        method = sweep_methods.Random(self.spaces)
        params = {}
        for member in range(1, self.population + 1):
            units = method.suggest([], member - 1, np.random.default_rng([self.seed, member]))
            params[member] = {**self.pinned, **sweep_spaces.from_units(self.spaces, units)}
        return params

    def trial_dir(self, trial_id):
        return os.path.join(self.folder, MEMBERS_DIR, f'{self.chunk(trial_id)[0]:02d}')

    def trial_flags(self, trial):
        """Each period stops at its boundary; the hyperparameters are flags, so that a resumed run takes them."""
        generation = self.chunk(trial.id)[1]
        flags = ['--stop-at-step', str(min(generation * self.period, self.total)), '--change-hyperparameters']
        for name, value in trial.params.items():
            flags += [f'--{name}', repr(value)]
        return tuple(flags)

    def next_generation(self, generation, current):
        """Exploit and explore after period `generation`, record it, copy the checkpoints. False when no member is
        left to continue (every period failed)."""
        scores = {self.chunk(t.id)[0]: self.sign * t.score if t.status == 'done' and t.score is not None else None
                  for t in current}
        if all(score is None for score in scores.values()):
            return False
        by_member = {self.chunk(t.id)[0]: t for t in current}
        rng = np.random.default_rng([self.seed, 1 << 20, generation])
        params = {member: dict(t.params) for member, t in by_member.items()}
        events = []
        for member, parent in replacements(scores, self.settings['replace_fraction'], rng):
            saved = history.checkpoints(by_member[parent].run_dir)
            if not saved:
                continue
            step, path = saved[-1]
            after = perturb(self.spaces, by_member[parent].params, rng, self.settings['mutation_rate'],
                            self.settings['perturb_min'], self.settings['perturb_max'], self.settings['resample_rate'])
            events.append(dict(member=member, parent=parent, step=step, score=by_member[member].score,
                               parent_score=by_member[parent].score, params_before=params[member],
                               params_after=after, checkpoint=path))
            params[member] = after
        replaced = {event['member'] for event in events}
        params = {member: p for member, p in params.items() if scores[member] is not None or member in replaced}
        if not params:
            return False
        self.store.add_generation(generation + 1, params, events)
        self.copy_pending()
        return True

    def copy_pending(self):
        """Carry out the recorded exploits whose files are not copied yet (all of them just after a boundary; a
        sweep killed at a boundary finishes them before any member trains on)."""
        for event in self.store.exploits():
            if event.copied:
                continue
            folder = os.path.join(self.folder, MEMBERS_DIR, f'{event.member:02d}')
            run_dir, target = copy_member(event.checkpoint, folder, self.identity,
                                          seed=hash_seed(self.seed, event.generation, event.member))
            self.store.mark_copied(event.id)
            self.tag_member(event.member, run_dir)
            self.view.exploited(event, target)

    def record(self, trial_id, outcome):
        super().record(trial_id, outcome)
        run_dir = outcome.get('run_dir')
        if run_dir and os.path.exists(os.path.join(run_dir, layout.RUN_FILE)):
            self.tag_member(self.chunk(trial_id)[0], run_dir)

    def tag_member(self, member, run_dir):
        """Write the member's number and its copies so far into its run's run.json, for `puffer runs`' lineage
        column (pufferlib.runs.history.lineage). Only between periods, when no process writes the run."""
        copies = [dict(generation=e.generation, parent=e.parent, step=e.step) for e in self.store.exploits()
                  if e.member == member and e.copied]
        layout.update_info(run_dir, pbt=dict(sweep=os.path.basename(self.folder), member=member, copies=copies))

    # Results ---------------------------------------------------------------------------------------------------

    def best(self, trials):
        """The best member at the newest period any member finished: later periods trained longer."""
        chunks = self.store.chunks()
        done = [t for t in trials if t.status == 'done' and t.score is not None and t.id in chunks]
        if not done:
            return None
        newest = max(chunks[t.id][1] for t in done)
        return max((t for t in done if chunks[t.id][1] == newest), key=lambda t: self.sign * t.score)

    def write_best(self, trial):
        path = super().write_best(trial)
        member, generation = self.chunk(trial.id)
        with open(path) as file:
            text = file.read()
        note = (f'# PBT member {member} after period {generation} of {self.generations}: these are its hyperparameters '
                f'in that period (they changed along the way: see the lineage in sweep.db); its weights: '
                f'{os.path.join(trial.run_dir or "", checkpoint.MODEL_FILE)}\n')
        temporary = path + '.tmp'
        with open(temporary, 'w') as file:
            file.write(note + text)
        os.replace(temporary, path)
        return path

    def lineage(self):
        """[(member, period, trial, exploit that started the period or None)] in member order: the run table."""
        chunks = self.store.chunks()
        exploits = {(e.member, e.generation + 1): e for e in self.store.exploits()}
        trials = {t.id: t for t in self.store.trials()}
        rows = [(member, generation, trials[trial_id], exploits.get((member, generation)))
                for trial_id, (member, generation) in chunks.items()]
        return sorted(rows, key=lambda row: (row[0], row[1]))

    def improvements(self):
        """[(exploit, the member's score at the end of the period after it)] for each exploit whose next period
        finished: the copy's score then, against its own score at copy time."""
        scores = {(member, generation): trial.score for member, generation, trial, _ in self.lineage()
                  if trial.status == 'done'}
        return [(e, scores[(e.member, e.generation + 1)]) for e in self.store.exploits()
                if (e.member, e.generation + 1) in scores]


def hash_seed(*parts):
    return int(np.random.default_rng(list(parts)).integers(2**62))


# ----------------------------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------------------------

class PBTView(sweep_runner.SweepView):
    """The sweep's table with a member and period per trial, and the lineage as the summary."""

    def start(self):
        s = self.sweep
        self.message(f'sweep {s.env_name}: PBT, {s.settings["goal"]} {s.settings["metric"]}, {s.population} members, '
                     f'{s.generations} periods of {s.period:,} steps, {s.settings["workers"]} at a time\n'
                     f'  folder: {s.folder}\n  perturbs: {", ".join(space.name for space in s.spaces)}')
        if self.live:
            from rich.console import Console
            from rich.live import Live
            self.view = Live(console=Console(file=self.file), auto_refresh=False)
            self.view.start()

    def started(self, trial, device=None):
        if not self.live:
            member, generation = self.sweep.chunk(trial.id)
            where = f' on {device}' if device is not None else ''
            self.message(f'member {member} period {generation} started{where}: {self.searched(trial.params)}')

    def finished(self, trial, best):
        if self.live:
            self.refresh()
            return
        member, generation = self.sweep.chunk(trial.id)
        if trial.status == 'done':
            self.message(f'member {member} period {generation} done: {self.sweep.settings["metric"]} '
                         f'{sweep_runner.format_number(trial.score)}')
        else:
            self.message(f'member {member} period {generation} failed: {trial.error}')

    def searched(self, params):
        return sweep_runner.params_text({space.name: params[space.name] for space in self.sweep.spaces})

    def exploited(self, event, target):
        changed = [f'{name} {sweep_runner.format_number(event.params_before.get(name))} -> '
                   f'{sweep_runner.format_number(value)}' for name, value in event.params_after.items()
                   if value != event.params_before.get(name)]
        self.message(f'member {event.member} copies member {event.parent} at step {event.step:,} '
                     f'({sweep_runner.format_number(event.score)} < {sweep_runner.format_number(event.parent_score)})'
                     f'; {", ".join(changed) or "no hyperparameter perturbed"}')

    def columns(self):
        return ['member', 'period'] + super().columns() + ['from']

    def cells(self, trial):
        member, generation = self.sweep.chunk(trial.id)
        exploit = next((e for e in self.sweep.store.exploits() if (e.member, e.generation + 1) == (member, generation)),
                       None)
        source = f'<- {exploit.parent} ({sweep_runner.format_number(exploit.parent_score)})' if exploit else ''
        return [str(member), str(generation)] + super().cells(trial) + [source]

    def table(self, trials, limit=25):
        table = super().table(trials, limit)
        s = self.sweep
        done = sum(t.status == 'done' for t in trials)
        table.title = (f'sweep {s.env_name} (PBT): {s.population} members, {done} of {s.population * s.generations} '
                       'periods done')
        return table

    def ordered(self, trials):
        """The newest period first, best first within it."""
        chunks = self.sweep.store.chunks()
        rank = {'done': 0, 'running': 1, 'failed': 2}
        return sorted((t for t in trials if t.id in chunks), key=lambda t: (
            -chunks[t.id][1], rank[t.status], -self.sweep.sign * t.score if t.score is not None else 0, t.id))

    def summary(self, result, interrupted=False):
        s = self.sweep
        self.message(self.lineage_table())
        improvements = s.improvements()
        if improvements:
            better = sum(e.score is None or s.sign * (after - e.score) > 0 for e, after in improvements)
            self.message(f'{len(s.store.exploits())} exploit-and-explore steps; {better} of the {len(improvements)} '
                         f'followed by a finished period improved the copied member\'s {s.settings["metric"]}')
        if interrupted:
            self.message('sweep interrupted; run the same command again to resume it')
        if result.best is None:
            return
        member, generation = s.chunk(result.best.id)
        self.message(f'best: member {member} after period {generation}, {s.settings["metric"]} '
                     f'{sweep_runner.format_number(result.best.score)}\n'
                     f'  {self.searched(result.best.params)}\n  wrote {result.best_ini}\n'
                     f'  evaluate it: puffer eval {s.env_name} --load-model-path {result.best.run_dir}')

    def lineage_table(self):
        """One row per member and period: its score at the period's end, its hyperparameters in it, and the copy
        it started from."""
        columns = self.columns()
        rows = [columns] + [self.cells(trial) for _, _, trial, _ in self.sweep.lineage()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
        status = columns.index('status')
        lines = ['  '.join(cell.ljust(width) if i in (status, len(columns) - 1) else cell.rjust(width)
                           for i, (cell, width) in enumerate(zip(row, widths))).rstrip() for row in rows]
        return ('lineage (score at the end of each period; "<- N (score)": the period started from a copy of member '
                'N, which had that score)\n' + '\n'.join(lines))

