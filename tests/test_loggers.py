"""--wandb and --neptune for real, in their offline modes: read back what each wrote to disk."""
import glob
import io
import json
import os
import struct
import time
from types import SimpleNamespace

import pytest

from pufferlib import config as puffer_config
from pufferlib import trainer
from pufferlib.dashboard import Dashboard


def train_squared(tmp_path, **options):
    config = puffer_config.load('puffer_squared', overrides={
        'env': {'num_envs': 32, 'log_interval': 4},
        'train': dict(total_timesteps=32 * 7 * 3, bptt_horizon=8, minibatch_size=128, device='cpu',
                      data_dir=str(tmp_path / 'experiments'))})
    return trainer.train(config, SimpleNamespace(**options), dashboard=Dashboard('test', live=False,
                                                                                 file=io.StringIO()))


def wandb_records(path):
    """Protobuf records of a .wandb file: a 7-byte header, then LevelDB-log-style 32 KiB blocks of chunks
    (crc32, length, type) where type 1 is a whole record and 2/3/4 are its first/middle/last pieces."""
    from wandb.proto import wandb_internal_pb2
    data = open(path, 'rb').read()
    block, position, pieces, records = 32768, 7, [], []
    while position + 7 <= len(data):
        left = block - position % block
        if left < 7:
            position += left
            continue
        _, length, kind = struct.unpack('<IHB', data[position:position + 7])
        position += 7
        pieces.append(data[position:position + length])
        position += length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(b''.join(pieces))
            records.append(record)
            pieces = []
    return records


def test_wandb_offline_logs_config_metrics_and_model(tmp_path, monkeypatch):
    pytest.importorskip('wandb')
    monkeypatch.setenv('WANDB_MODE', 'offline')
    monkeypatch.setenv('WANDB_SILENT', 'true')
    for variable in ('WANDB_CACHE_DIR', 'WANDB_DATA_DIR', 'WANDB_CONFIG_DIR', 'WANDB_ARTIFACT_DIR'):
        monkeypatch.setenv(variable, str(tmp_path / 'wandb-home'))
    result = train_squared(tmp_path, wandb=True, wandb_project='sanity', wandb_group='ppo', wandb_tag='test')
    [run_file] = glob.glob(os.path.join(result.run_dir, 'wandb', 'offline-run-*', 'run-*.wandb'))
    # wandb's service process writes the file; wait for it to record the end of the run.
    deadline = time.monotonic() + 60
    while True:
        records = wandb_records(run_file)
        kinds = [record.WhichOneof('record_type') for record in records]
        if 'exit' in kinds or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert 'run' in kinds and 'exit' in kinds, kinds
    run = next(record.run for record in records if record.WhichOneof('record_type') == 'run')
    assert run.project == 'sanity' and run.run_group == 'ppo' and list(run.tags) == ['test']
    config = {item.key: json.loads(item.value_json) for item in run.config.update}
    assert config['train']['bptt_horizon'] == 8 and config['base']['env_name'] == 'puffer_squared'

    history = [{item.nested_key[0] if item.nested_key else item.key: json.loads(item.value_json)
                for item in record.history.item} for record in records if record.WhichOneof('record_type') ==
               'history']
    assert [row['global_step'] for row in history] == [224, 448, 672]
    assert all('loss/policy_loss' in row and 'sps' in row for row in history)
    assert [row['_step'] for row in history] == [224, 448, 672]

    assert 'artifact' in kinds
    artifact = next(record.artifact for record in records if record.WhichOneof('record_type') == 'artifact')
    assert artifact.type == 'model' and [entry.path for entry in artifact.manifest.contents] == ['model.pt']


def test_neptune_offline_logs_config_metrics_and_model(tmp_path, monkeypatch):
    pytest.importorskip('neptune')
    monkeypatch.setenv('NEPTUNE_MODE', 'offline')
    monkeypatch.chdir(tmp_path)  # Neptune's offline data goes to ./.neptune
    result = train_squared(tmp_path, neptune=True, neptune_project='me/sanity', neptune_name='squared-test')
    [log] = glob.glob(str(tmp_path / '.neptune' / 'offline' / '*' / 'data-1.log'))
    operations = [json.loads(line)['obj'] for line in open(log)]

    def assigned(*path):
        return [op['value'] for op in operations if op['path'] == list(path) and op['type'].startswith('Assign')]

    assert assigned('sys', 'name') == ['squared-test']
    assert assigned('config', 'train', 'bptt_horizon') == [8]
    assert assigned('config', 'base', 'env_name') == ['puffer_squared']
    steps = [value['step'] for op in operations if op['path'] == ['metrics', 'global_step']
             for value in op['values']]
    assert steps == [224, 448, 672]
    losses = [op for op in operations if op['path'] == ['metrics', 'loss', 'policy_loss']]
    assert len(losses) == 3
    [upload] = [op for op in operations if op['type'] == 'UploadFile' and op['path'] == ['model']]
    assert upload['file_path'] == result.model_path
