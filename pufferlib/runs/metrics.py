"""Where each epoch's metrics row goes: metrics.jsonl (always), TensorBoard event files (always), trackers (opt-in).

Every sink has `log(row, step)` and `close()`, so the trainer's loop hands a row to a list of sinks and never knows
which formats exist. The metrics log has one JSON object per line, one line per epoch, so a resumed run can cut it
back to its checkpoint and continue the same curve; TensorBoard is told the same with a restart marker at the
checkpoint's step, which makes its reader drop the later points.
"""
import json
import math
import os
import time

from pufferlib.runs.layout import METRICS_FILE


class MetricsLog:
    """Append-only JSON-lines log, one row per epoch."""

    def __init__(self, run_dir):
        self.path = os.path.join(run_dir, METRICS_FILE)

    def log(self, row, step=None):
        # Non-finite numbers are written as null: JSON has no NaN.
        clean = {key: (None if isinstance(value, float) and not math.isfinite(value) else value)
                 for key, value in row.items()}
        with open(self.path, 'a') as file:
            file.write(json.dumps(clean) + '\n')

    append = log

    def truncate_after(self, epoch):
        """Drop rows written after `epoch` (by a run that died before its next checkpoint)."""
        rows = [row for row in read_metrics(self.path) if row.get('epoch', 0) <= epoch]
        temporary = f'{self.path}.{os.getpid()}.tmp'
        with open(temporary, 'w') as file:
            file.writelines(json.dumps(row) + '\n' for row in rows)
        os.replace(temporary, self.path)

    def close(self):
        pass


def read_metrics(path):
    """Rows of a metrics log (a run directory or the file itself); a torn last line is skipped."""
    if os.path.isdir(path):
        path = os.path.join(path, METRICS_FILE)
    if not os.path.exists(path):
        return []
    rows = []
    with open(path) as file:
        for line in file:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break
            if isinstance(row, dict):
                rows.append(row)
    return rows


class TensorBoardLog:
    """TensorBoard event files in the run folder, written with TensorBoard's own writer: every numeric column of
    every metrics row as a scalar at its global step, and the resolved config as text. One Event per row (all of
    its scalars in one Summary) costs a small fraction of what torch.utils.tensorboard's per-scalar helper does,
    which builds and writes one Event per scalar."""

    def __init__(self, run_dir, config_text=None, resume_step=None):
        from tensorboard.compat.proto.event_pb2 import Event, SessionLog
        from tensorboard.compat.proto.summary_pb2 import Summary
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
        self.Event, self.Summary = Event, Summary
        self.writer = EventFileWriter(run_dir, flush_secs=10)
        if resume_step is not None:
            # TensorBoard's reader drops the points at and after this marker's step: those an earlier session wrote
            # after the checkpoint this one continues from.
            self.writer.add_event(Event(wall_time=time.time(), step=resume_step + 1,
                                        session_log=SessionLog(status=SessionLog.START)))
        if config_text is not None:
            self.log_text('config', config_text, resume_step or 0)

    def log_text(self, tag, text, step):
        from tensorboard.compat.proto import tensor_pb2, tensor_shape_pb2, types_pb2
        from tensorboard.plugins.text import metadata
        shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)])
        # Four leading spaces make TensorBoard's markdown show the INI as a code block.
        body = '\n'.join('    ' + line for line in text.splitlines()).encode()
        tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[body], tensor_shape=shape)
        value = self.Summary.Value(tag=f'{tag}/text_summary', tensor=tensor,
                                   metadata=metadata.create_summary_metadata(display_name=tag, description=''))
        self.writer.add_event(self.Event(wall_time=time.time(), step=step, summary=self.Summary(value=[value])))

    def log(self, row, step):
        values = [self.Summary.Value(tag=key, simple_value=float(value)) for key, value in row.items()
                  if isinstance(value, (int, float)) and not isinstance(value, bool) and key != 'global_step']
        self.writer.add_event(self.Event(wall_time=time.time(), step=int(step), summary=self.Summary(value=values)))

    def flush(self):
        self.writer.flush()

    def close(self):
        self.writer.close()
