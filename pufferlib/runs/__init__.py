"""Runs: the folders training writes, how they are named, found, locked, resumed, listed and plotted.

    layout    names and places: env identity, experiment names, run.json, the files of a run folder
    lock      one writer per run folder
    find      latest / best / a step / a run name / a path -> a run folder or a weights file
    history   rotating checkpoints, milestones, the best model
    metrics   metrics.jsonl and TensorBoard event files
    session   `puffer train`: one training session of a run, from opening its folder to its last line
    listing   `puffer runs`
    plot      `puffer plot`
"""
from pufferlib.runs.find import find_run, resolve_model_path, runs_of
from pufferlib.runs.layout import (CONFIG_FILE, METRICS_FILE, RUN_FILE, env_dir, env_folder_name, env_identity,
                                   read_info, write_config)
from pufferlib.runs.metrics import MetricsLog, read_metrics


def new_run(data_dir, env_name):
    """A fresh, empty run folder for tools that drive a Trainer themselves (bench scripts)."""
    import os
    import tempfile
    parent = env_dir(data_dir, env_folder_name(env_name))
    os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(prefix='run_', dir=parent)


__all__ = ['CONFIG_FILE', 'METRICS_FILE', 'RUN_FILE', 'MetricsLog', 'env_dir', 'env_folder_name', 'env_identity',
           'find_run', 'new_run', 'read_info', 'read_metrics', 'resolve_model_path', 'runs_of', 'write_config']
