"""Population-based training (`[sweep] method = PBT`, pufferlib.sweep.pbt): selection and perturbation, the
exploit copy of weights and optimizer state between real runs, pausing and resuming runs with new
hyperparameters, a short PBT sweep of real training processes, and a PBT sweep killed mid-period that resumes
with its lineage intact."""
import io
import math
import os
import sqlite3
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pufferlib import config as puffer_config
from pufferlib import runs
from pufferlib.dashboard import Dashboard
from pufferlib.exceptions import ConfigError
from pufferlib.runs import checkpoint, history, session
from pufferlib.sweep import pbt
from pufferlib.sweep import runner as sweep
from pufferlib.sweep import spaces as sweep_spaces
from pufferlib.sweep.store import SweepStore
from sweep_helpers import ENV, captured_sweep, children, tiny_run, wait_for

TINY = tiny_run(2048)  # a run of a few epochs trains in about a second
# Only the learning rate is searched (the other default spaces pinned), over a deliberately wide range.
LEARNING_RATE_ONLY = """
[sweep.train.learning_rate]
distribution = log_normal
min = 1e-5
max = 0.1
mean = 0.01

[sweep.train.ent_coef]
distribution = log_normal
min = 0.01
max = 0.01
mean = 0.01

[sweep.train.gamma]
distribution = logit_normal
min = 0.95
max = 0.95
mean = 0.95

[sweep.train.gae_lambda]
distribution = logit_normal
min = 0.9
max = 0.9
mean = 0.9
"""


def load(tmp_path, text, **overrides):
    path = tmp_path / 'pbt.ini'
    path.write_text(text)
    return puffer_config.load(ENV, overrides={'train.data_dir': str(tmp_path / 'experiments'), **overrides},
                              config_files=[str(path)], resolve=False)


def quiet():
    return Dashboard(ENV, live=False, file=io.StringIO())


def train(config, **options):
    defaults = dict(resume=None, stop_at_step=None, change_hyperparameters=False, overrides={})
    return session.train(config, SimpleNamespace(**{**defaults, **options}), dashboard=quiet())


# ----------------------------------------------------------------------------------------------------------------
# Exploit and explore
# ----------------------------------------------------------------------------------------------------------------

def test_the_worst_fraction_copies_a_better_member_and_failed_members_are_always_replaced():
    rng = np.random.default_rng(0)
    scores = {1: 0.9, 2: 0.1, 3: 0.5, 4: 0.8}
    assert pbt.replacements(scores, 0.25, rng) == [(2, 1)]  # ceil(4 * 0.25) = 1: the worst copies the best
    pairs = pbt.replacements(scores, 0.5, rng)
    assert sorted(member for member, _ in pairs) == [2, 3] and {parent for _, parent in pairs} <= {1, 4}
    # At most half are replaced, so parents and copies never overlap; a tie is not worth a copy.
    assert pbt.replacements({1: 0.5, 2: 0.4, 3: 0.3}, 0.5, rng) == [(3, 1)]
    assert pbt.replacements({1: 0.5, 2: 0.5}, 0.5, rng) == []
    # A failed period (None) is replaced whatever the fraction; with nobody alive there is no parent.
    assert sorted(pbt.replacements({1: None, 2: 0.2, 3: None, 4: 0.7}, 0.25, rng)) == [(1, 4), (2, 4), (3, 4)]
    assert pbt.replacements({1: None, 2: None}, 0.5, rng) == []


def wide_spaces(tmp_path):
    text = TINY + """
[sweep.train.update_epochs]
distribution = int_uniform
min = 1
max = 8

[sweep.train.minibatch_size]
distribution = uniform_pow2
min = 64
max = 1024
"""
    return [space for space in sweep_spaces.spaces_from_config(load(tmp_path, text)) if not space.is_budget]


def test_perturbation_stays_inside_the_spaces_and_follows_the_mutation_rate(tmp_path):
    spaces = wide_spaces(tmp_path)
    by_name = {space.name: space for space in spaces}
    params = {'train.learning_rate': 0.01, 'train.ent_coef': 0.005, 'train.gamma': 0.98, 'train.gae_lambda': 0.9,
              'train.update_epochs': 4, 'train.minibatch_size': 256}
    rng = np.random.default_rng(1)
    draws, rate = 2000, 0.3
    changed = {name: 0 for name in params}
    for _ in range(draws):
        new = pbt.perturb(spaces, params, rng, rate, 1.2, 1.5, resample_rate=0.0)
        for name, value in new.items():
            space = by_name[name]
            assert space.min <= value <= space.max, (name, value)
            if value == params[name]:
                continue
            changed[name] += 1
            if name in ('train.learning_rate', 'train.ent_coef'):  # multiplied or divided by a factor in range
                factor = max(value / params[name], params[name] / value)
                assert 1.2 - 1e-6 <= factor <= 1.5 + 1e-6, (name, value)
            elif name == 'train.gamma':  # its distance to 1 moves by the factor
                factor = max((1 - value) / 0.02, 0.02 / (1 - value))
                assert 1.2 - 1e-6 <= factor <= 1.5 + 1e-6, value
            elif name == 'train.update_epochs':
                assert abs(value - 4) in (1, 2), value  # round(4 * [1.2, 1.5]), at least one step
            elif name == 'train.minibatch_size':
                assert value in (128, 512), value  # the neighbouring powers of two
    # Each key mutates with probability `rate`: within 5 standard deviations of the binomial.
    bound = 5 * math.sqrt(draws * rate * (1 - rate))
    for name, count in changed.items():
        assert abs(count - draws * rate) < bound, (name, count)
    # No mutation at all leaves the copy as the parent; resampling draws from the space's prior, still in bounds.
    assert pbt.perturb(spaces, params, rng, 0.0, 1.2, 1.5, 0.0) == params
    resampled = [pbt.perturb(spaces, params, rng, 1.0, 1.2, 1.5, 1.0) for _ in range(200)]
    rates = {p['train.learning_rate'] for p in resampled}
    assert len(rates) > 150 and min(rates) >= 1e-5 and max(rates) <= 0.1
    # A value at the edge of its space is kept inside it.
    edge = dict(params, **{'train.learning_rate': 0.1})
    assert all(pbt.perturb(spaces, edge, rng, 1.0, 1.4, 1.5, 0.0)['train.learning_rate'] <= 0.1 for _ in range(50))


def test_pbt_refuses_spaces_that_cannot_change_during_a_run(tmp_path):
    text = TINY + LEARNING_RATE_ONLY + '[sweep.policy.hidden_size]\ndistribution = uniform_pow2\nmin = 32\nmax = 256\n'
    spaces = sweep_spaces.spaces_from_config(load(tmp_path, text))
    with pytest.raises(ConfigError, match=r'\[sweep.policy.hidden_size\]: PBT changes hyperparameters'):
        pbt.searchable_spaces(spaces)
    # Pinned spaces and the budget are not perturbed.
    spaces = sweep_spaces.spaces_from_config(load(tmp_path, TINY + LEARNING_RATE_ONLY))
    assert [space.name for space in pbt.searchable_spaces(spaces)] == ['train.learning_rate']


def test_pbt_settings_are_validated_with_one_line_errors(tmp_path):
    cases = {'sweep.replace_fraction': ('0.7', 'sweep.replace_fraction = 0.7 is out of range; valid: (0, 0.5]'),
             'sweep.mutation_rate': ('1.5', 'sweep.mutation_rate = 1.5 is out of range; valid: [0, 1]'),
             'sweep.perturb_min': ('0.9', 'sweep.perturb_min = 0.9 is out of range'),
             'sweep.population_size': ('1', 'sweep.population_size = 1 must be at least 2'),
             'sweep.pbt_period_steps': ('4096', 'sweep.pbt_period_steps = 4096 leaves no boundary inside '
                                                'train.total_timesteps = 2048')}
    for key, (value, message) in cases.items():
        with pytest.raises(ConfigError) as error:
            load(tmp_path, TINY, **{'sweep.method': 'PBT', 'sweep.pbt_period_steps': '512', key: value})
        assert message in str(error.value) and len(str(error.value).strip().splitlines()) == 1, str(error.value)
    with pytest.raises(ConfigError, match='sweep.perturb_min = 2.0 is above sweep.perturb_max = 1.5'):
        load(tmp_path, TINY, **{'sweep.perturb_min': '2'})


def test_pbt_settings_name_only_pbt_sweeps(tmp_path):
    protein = load(tmp_path, TINY)
    assert sweep.sweep_folder(protein) == sweep.sweep_folder(
        {**protein, 'sweep': dict(protein['sweep'], population_size=8)})
    population = load(tmp_path, TINY, **{'sweep.method': 'PBT', 'sweep.pbt_period_steps': '512'})
    assert sweep.sweep_folder(population) != sweep.sweep_folder(
        {**population, 'sweep': dict(population['sweep'], population_size=8)})


# ----------------------------------------------------------------------------------------------------------------
# Runs paused at a boundary, copied, and resumed with new hyperparameters
# ----------------------------------------------------------------------------------------------------------------

def optimizer_tensors(state):
    return [(index, name, value) for optimizer in state['optimizers']
            for index, entry in sorted(optimizer['state'].items()) for name, value in sorted(entry.items())]


def same_tensors(a, b):
    return len(a) == len(b) and all(x[:-1] == y[:-1] and torch.equal(torch.as_tensor(x[-1]), torch.as_tensor(y[-1]))
                                    for x, y in zip(a, b))


def test_the_exploit_step_copies_weights_and_optimizer_state_and_the_copy_resumes_with_new_hyperparameters(tmp_path):
    parent_config = load(tmp_path, TINY, **{'train.data_dir': str(tmp_path / 'members' / '01'),
                                            'train.learning_rate': '0.02'})
    member_config = load(tmp_path, TINY, **{'train.data_dir': str(tmp_path / 'members' / '02'),
                                            'train.learning_rate': '0.0001'})
    parent = train(parent_config, stop_at_step=1024)
    member = train(member_config, stop_at_step=1024)
    assert parent.global_step == member.global_step >= 1024
    assert runs.read_info(member.run_dir)['status'] == 'paused'

    parent_checkpoint = history.newest_checkpoint(parent.run_dir)
    parent_state = checkpoint.read_checkpoint(parent_checkpoint)
    before = checkpoint.read_checkpoint(history.newest_checkpoint(member.run_dir))
    assert not all(torch.equal(parent_state['model'][k], before['model'][k]) for k in parent_state['model'])
    assert not same_tensors(optimizer_tensors(parent_state), optimizer_tensors(before))

    run_dir, copied_path = pbt.copy_member(parent_checkpoint, str(tmp_path / 'members' / '02'), ENV, seed=7)
    assert run_dir == member.run_dir and history.newest_checkpoint(member.run_dir) == copied_path
    copied = checkpoint.read_checkpoint(copied_path)
    assert parent_state['model'].keys() == copied['model'].keys()
    assert all(torch.equal(parent_state['model'][k], copied['model'][k]) for k in parent_state['model'])
    tensors = optimizer_tensors(copied)
    assert tensors and same_tensors(optimizer_tensors(parent_state), tensors)  # Adam's moments and step counts
    assert copied['optimizers'][0]['param_groups'] == parent_state['optimizers'][0]['param_groups']
    assert copied['counters'] == parent_state['counters']
    assert not torch.equal(copied['rng']['torch'], parent_state['rng']['torch'])  # it samples actions of its own
    model = checkpoint.read_weights(os.path.join(member.run_dir, checkpoint.MODEL_FILE))
    assert all(torch.equal(model[k], parent_state['model'][k]) for k in model)

    # A plain resume refuses the new learning rate; PBT's flag lets it through, and the member trains on.
    overrides = {'train.learning_rate': '0.03'}
    with pytest.raises(ConfigError, match=r'train.learning_rate = 0.03 differs from run .*cannot change'):
        train(member_config, resume='latest', stop_at_step=2048, overrides=overrides)
    resumed = train(member_config, resume='latest', stop_at_step=2048, overrides=overrides,
                    change_hyperparameters=True)
    assert resumed.global_step >= 2048 and runs.read_info(member.run_dir)['status'] == 'finished'
    assert puffer_config.load_file(os.path.join(member.run_dir, runs.CONFIG_FILE))['train']['learning_rate'] == 0.03
    rows = runs.read_metrics(member.run_dir)
    assert [row['epoch'] for row in rows] == list(range(1, resumed.epoch + 1))  # its own first half, then the copy's
    boundary = copied['counters']['epoch']
    assert rows[boundary]['loss/learning_rate'] > 100 * rows[boundary - 1]['loss/learning_rate']  # at once
    # The flag is narrow: the model's shape still cannot change.
    with pytest.raises(ConfigError, match='policy.hidden_size'):
        session.apply_safe_overrides(puffer_config.load_file(os.path.join(member.run_dir, runs.CONFIG_FILE)),
                                     {'policy.hidden_size': '32'}, 'run', hyperparameters=True)


def test_a_period_that_ended_before_a_killed_sweep_recorded_it_is_read_from_its_files(tmp_path):
    """A sweep killed after a member's period ended but before it recorded the trial starts that period again: the
    paused run, resumed with the same --stop-at-step, trains nothing (its step, checkpoints and metrics stay) and
    stays paused, so the trial's outcome comes from its files; a last period whose run finished is not resumed at
    all (a --resume of a finished run refuses), the runner checks run.json first."""
    config = load(tmp_path, TINY, **{'train.data_dir': str(tmp_path / 'members' / '01')})
    first = train(config, stop_at_step=1024)
    rows, saved = runs.read_metrics(first.run_dir), history.checkpoints(first.run_dir)
    job = SimpleNamespace(config=config)
    assert not sweep.reached_budget(first.run_dir, job)
    again = train(config, resume='latest', stop_at_step=1024, change_hyperparameters=True,
                  overrides={'train.learning_rate': '0.03'})
    assert again.global_step == first.global_step and runs.read_metrics(first.run_dir) == rows
    assert history.checkpoints(first.run_dir) == saved and runs.read_info(first.run_dir)['status'] == 'paused'
    last = train(config, resume='latest', stop_at_step=config['train']['total_timesteps'])
    assert runs.read_info(last.run_dir)['status'] == 'finished' and sweep.reached_budget(last.run_dir, job)


def test_the_run_table_lists_members_with_their_lineage(tmp_path):
    """`puffer runs` finds PBT members inside their sweep's folder and shows whom each copied, and when."""
    from pufferlib.runs import layout, listing
    data_dir = tmp_path / 'experiments'
    plain = data_dir / ENV / 'plain'
    member = data_dir / ENV / 'sweep_0123456789' / pbt.MEMBERS_DIR / '02' / ENV / 'puffer_squared_1'
    for folder in (plain, member):
        folder.mkdir(parents=True)
        layout.update_info(str(folder), env=ENV, created=1.0 if folder == plain else 2.0, status='paused')
    layout.update_info(str(member), pbt=dict(sweep='sweep_0123456789', member=2, copies=[
        dict(generation=1, parent=1, step=12_288), dict(generation=3, parent=4, step=1_500_000)]))
    rows = listing.all_runs(str(data_dir))
    assert [row.name for row in rows] == ['plain', 'puffer_squared_1']
    lines = listing.table(rows).splitlines()
    assert lines[0].split()[-1] == 'LINEAGE' and lines[2].split()[-1] == 'm2<-m1@12.3k<-m4@1.5M'
    assert lines[1].split()[-1] == 'paused'  # a run outside any sweep has no lineage
    assert history.lineage({}) == '' and history.short_steps(40_000) == '40k' and history.short_steps(512) == '512'


# ----------------------------------------------------------------------------------------------------------------
# Real PBT sweeps
# ----------------------------------------------------------------------------------------------------------------

# puffer_squared at its own env settings learns in tens of thousands of steps; two members, two periods.
SHORT = """
[train]
total_timesteps = 24_000
device = cpu

[sweep]
method = PBT
population_size = 2
pbt_period_steps = 12_000
replace_fraction = 0.5
mutation_rate = 1.0
resample_rate = 0.0
workers = 2
""" + LEARNING_RATE_ONLY


def lineage_rows(folder):
    with sqlite3.connect(os.path.join(folder, sweep.DB_FILE)) as connection:
        return connection.execute('SELECT generation, member, parent, step, score, parent_score, params_before, '
                                  'params_after, checkpoint, copied FROM lineage ORDER BY id').fetchall()


def chunk_rows(folder):
    with sqlite3.connect(os.path.join(folder, sweep.DB_FILE)) as connection:
        return connection.execute('SELECT c.member, c.generation, t.status, t.score, t.params, t.run_dir FROM '
                                  'pbt_chunks c JOIN trials t ON t.id = c.trial ORDER BY c.member, '
                                  'c.generation').fetchall()


def run_pbt(config):
    """Run a PBT sweep in this process with its view captured: (result, the view's text as a StringIO, the store's
    {trial: (member, period)}, its exploits)."""
    result, output = captured_sweep(config, pbt, 'PBTView')
    store = SweepStore(os.path.join(result.folder, sweep.DB_FILE))
    chunks, exploits = store.chunks(), store.exploits()
    store.close()
    return result, output, chunks, exploits


def test_a_short_pbt_sweep_learns_exploits_and_records_every_members_lineage(tmp_path):
    result, output, chunks, exploits = run_pbt(load(tmp_path, SHORT))
    assert sorted(chunks.values()) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert all(t.status == 'done' for t in result.trials), [t.error for t in result.trials]
    first = {chunks[t.id][0]: t for t in result.trials if chunks[t.id][1] == 1}
    second = {chunks[t.id][0]: t for t in result.trials if chunks[t.id][1] == 2}
    worse, better = sorted(first, key=lambda m: first[m].score)
    # The worse member copied the better one's checkpoint at the boundary and trained on with its perturbed rate.
    assert len(exploits) == 1, output.getvalue()
    exploit = exploits[0]
    assert (exploit.generation, exploit.member, exploit.parent, exploit.copied) == (1, worse, better, True)
    assert 12_000 <= exploit.step < 13_100  # the first epoch boundary at or past the period's end
    assert (exploit.score, exploit.parent_score) == (first[worse].score, first[better].score)
    rate = exploit.params_after['train.learning_rate']
    assert 1.1 - 1e-6 <= max(rate, first[better].params['train.learning_rate']) / min(
        rate, first[better].params['train.learning_rate']) <= 1.5 + 1e-6
    assert second[worse].params == exploit.params_after and second[better].params == first[better].params
    # Each member is one run with one unbroken learning curve over both periods.
    for member in (1, 2):
        rows = runs.read_metrics(second[member].run_dir)
        assert [row['epoch'] for row in rows] == list(range(1, len(rows) + 1))
        assert rows[-1]['global_step'] >= 24_000
    # Honest learning: the best member ends well above where a random walk scores (about 0.1 on this grid).
    assert result.best.id == max(second.values(), key=lambda t: t.score).id and result.best.score > 0.3
    text = output.getvalue()
    assert f'member {worse} copies member {better} at step {exploit.step:,}' in text
    assert f'<- {better} (' in text and 'lineage' in text
    with open(result.best_ini) as file:
        assert f'# PBT member {chunks[result.best.id][0]} after period 2 of 2' in file.read()
    # `puffer runs` lists both members' runs with their lineage: who copied whom, at which step.
    listed = subprocess.run([sys.executable, '-m', 'pufferlib.cli', 'runs', ENV, '--data-dir',
                             str(tmp_path / 'experiments')], capture_output=True, text=True, cwd='/', check=True)
    lines = listed.stdout.splitlines()
    assert lines[0].split()[-1] == 'LINEAGE', listed.stdout
    lineages = sorted(line.split()[-1] for line in lines[1:3])
    assert lineages == sorted([f'm{better}', f'm{worse}<-m{better}@{history.short_steps(exploit.step)}'])


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='reads /proc; trials die with the sweep on Linux')
def test_a_killed_pbt_sweep_resumes_with_its_lineage_intact(tmp_path):
    """SIGKILL the sweep in the middle of the second period (after the exploit was recorded and copied), then run
    the same command again: the lineage is unchanged, the interrupted periods continue from their checkpoints,
    and every member finishes. The metric is the logged learning rate, so which member copies which is known."""
    # Periods of 64 epochs with a checkpoint after each, so the kill lands inside one (8 epochs can end within
    # wait_for's 0.2 s poll on a fast machine).
    text = tiny_run(49152) + """
[sweep]
method = PBT
metric = loss/learning_rate
population_size = 2
pbt_period_steps = 16384
replace_fraction = 0.5
mutation_rate = 1.0
resample_rate = 0.0
workers = 2
""" + LEARNING_RATE_ONLY
    config_file = tmp_path / 'pbt.ini'
    config_file.write_text(text)
    command = [sys.executable, '-m', 'pufferlib.cli', 'sweep', ENV, '--config', str(config_file),
               '--train.data-dir', str(tmp_path / 'experiments')]
    folder = sweep.sweep_folder(load(tmp_path, text))
    log = open(tmp_path / 'sweep.log', 'w')
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd='/')
    try:
        wait_for(lambda: os.path.exists(os.path.join(folder, sweep.DB_FILE)) and lineage_rows(folder)
                 and lineage_rows(folder)[0][-1] == 1, what='the first exploit')
        member = lineage_rows(folder)[0][1]
        member_runs = os.path.join(folder, pbt.MEMBERS_DIR, f'{member:02d}', ENV)
        # Its second period is under way once it has a checkpoint past the copied one.
        wait_for(lambda: children(process.pid) and any(step > 16384 for run in os.listdir(member_runs)
                                                       for step, _ in history.checkpoints(
                                                           os.path.join(member_runs, run))),
                 what='the copy to train on')
        process.kill()
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    lineage_before = lineage_rows(folder)
    chunks_before = chunk_rows(folder)
    assert len(lineage_before) == 1 and lineage_before[0][9] == 1
    assert [row[2] for row in chunks_before if row[1] == 2].count('running') >= 1, chunks_before

    result = subprocess.run(command, capture_output=True, text=True, cwd='/', timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'resuming' in result.stdout and 'interrupted period' in result.stdout
    lineage_after = lineage_rows(folder)
    assert lineage_after[:1] == lineage_before  # the first exploit is kept as it was, not drawn again
    chunks_after = chunk_rows(folder)
    assert [(row[0], row[1], row[2]) for row in chunks_after] == [(m, g, 'done') for m in (1, 2) for g in (1, 2, 3)]
    params_after = {(row[0], row[1]): row[4] for row in chunks_after}
    assert all(params_after[(row[0], row[1])] == row[4] for row in chunks_before)  # the periods were not redrawn
    # The copied member still holds one unbroken curve that reaches the budget.
    rows = runs.read_metrics(chunks_after[3 * (member - 1) + 2][5])
    assert [row['epoch'] for row in rows] == list(range(1, len(rows) + 1)) and rows[-1]['global_step'] >= 49152
    with open(os.path.join(folder, pbt.MEMBERS_DIR, f'{member:02d}', sweep.LOG_FILE)) as file:
        assert '--- resuming run' in file.read()


@pytest.mark.slow
def test_pbt_runs_on_the_ray_backend(tmp_path):
    """A local Ray instance stands in for a cluster: each period travels with its member's run and comes back."""
    pytest.importorskip('ray')
    config = load(tmp_path, SHORT)
    config['sweep']['backend'] = 'ray'
    try:
        result = sweep.sweep(config)
    finally:
        import ray
        ray.shutdown()
    assert [t.status for t in result.trials] == ['done'] * 4, [t.error for t in result.trials]
    store = SweepStore(os.path.join(result.folder, sweep.DB_FILE))
    exploits = store.exploits()
    store.close()
    assert len(exploits) == 1 and exploits[0].copied
    for trial in result.trials:
        assert trial.run_dir.startswith(result.folder)
        rows = runs.read_metrics(trial.run_dir)
        assert [row['epoch'] for row in rows] == list(range(1, len(rows) + 1))


def docs_example():
    """The my_pbt.ini of docs/sweep.md, so that the documented figures and this test use one config."""
    path = os.path.join(os.path.dirname(__file__), '..', 'docs', 'sweep.md')
    with open(path) as file:
        text = file.read()
    start = text.index('# my_pbt.ini\n')
    return text[start:text.index('```', start)]


@pytest.mark.slow
def test_a_population_of_four_improves_a_copied_member_and_shows_every_members_lineage(tmp_path):
    """The target of docs/sweep.md: four members over a wide learning-rate range; at least one exploit-and-explore
    step leaves the copied member scoring better after the next period than when it was copied."""
    result, output, chunks, exploits = run_pbt(load(tmp_path, docs_example(), **{'train.device': 'cpu'}))
    assert sorted(chunks.values()) == [(m, g) for m in range(1, 5) for g in range(1, 6)]
    assert all(t.status == 'done' for t in result.trials)
    scores = {chunks[t.id]: t.score for t in result.trials}
    improved = [e for e in exploits if scores[(e.member, e.generation + 1)] > e.score]
    assert exploits and improved, output.getvalue()
    table = output.getvalue().split('lineage (')[1]
    rows = [line.split() for line in table.splitlines()[2:22]]
    assert [(int(row[0]), int(row[1])) for row in rows] == [(m, g) for m in range(1, 5) for g in range(1, 6)]
