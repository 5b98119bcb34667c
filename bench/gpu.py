"""GPU readiness: puffer_breakout's training SPS on CUDA over env counts and minibatch sizes, then, at the config
file's size, without the pinned staging of the per-step copies (pufferlib.staging), and with bfloat16,
torch.compile and compile_mode = reduce-overhead (CUDA graphs); and the time of the advantage kernel on the device
against the native CPU kernel. Ratios are against the first row of the same run.

    python -m bench.gpu [--steps 1e7] [--envs 1024,4096,8192] [--minibatches 2048,8192] [--device cuda]

A step is one agent step; SPS counts everything a training run does (env simulation on the CPU, copies, inference,
learning) and leaves out the first epochs (compiling, CUDA graph capture). On a machine without CUDA it prints one
line and exits with status 0.
"""
import argparse
import io
import sys
import tempfile
import time
from types import SimpleNamespace

import torch

ENV = 'puffer_breakout'
WARMUP_EPOCHS = 3


def training_sps(steps, device, num_envs=None, minibatch_size=None, precision='float32', compile=False,
                 compile_mode='default', staging=True):
    """`staging=False`: the per-step copies straight from the vector's pageable arrays, as on the CPU."""
    from pufferlib import config as puffer_config
    from pufferlib import runs, staging as step_staging, trainer
    from pufferlib.dashboard import Dashboard
    with tempfile.TemporaryDirectory() as folder:
        overrides = {'train.device': device, 'train.data_dir': folder, 'train.total_timesteps': int(steps),
                     'train.checkpoint_interval': 10**9, 'train.precision': precision, 'train.compile': compile,
                     'train.compile_mode': compile_mode}
        if num_envs is not None:
            overrides['env.num_envs'] = num_envs
        if minibatch_size is not None:
            overrides['train.minibatch_size'] = minibatch_size
        config = puffer_config.load(ENV, overrides=overrides)
        trainer.StepStaging = step_staging.StepStaging if staging else lambda device: None
        try:
            result = trainer.train(config, SimpleNamespace(), dashboard=Dashboard(ENV, live=False,
                                                                                  file=io.StringIO()))
        finally:
            trainer.StepStaging = step_staging.StepStaging
        rows = runs.read_metrics(result.run_dir)
    first, last = rows[min(WARMUP_EPOCHS, len(rows) - 2)], rows[-1]
    sps = (last['global_step'] - first['global_step']) / (last['uptime'] - first['uptime'])
    seconds = {name: sum(row[f'time/{name}'] for row in rows[WARMUP_EPOCHS:]) for name in trainer.PROFILE_NAMES}
    total = sum(seconds.values()) or 1.0
    shares = ', '.join(f'{name} {100 * value / total:.0f}%' for name, value in seconds.items())
    return sps, shares


def advantage_ms(device, segments, horizon, repeats=20):
    """Median milliseconds of one compute_advantages call on [segments, horizon] buffers on `device`."""
    from pufferlib import advantage
    generator = torch.Generator().manual_seed(0)
    buffers = [torch.randn(segments, horizon, generator=generator),
               torch.randn(segments, horizon, generator=generator),
               (torch.rand(segments, horizon, generator=generator) < 0.01).float(),
               torch.zeros(segments, horizon),
               torch.rand(segments, horizon, generator=generator) + 0.5]
    buffers = [b.to(device) for b in buffers]
    cuda = torch.device(device).type == 'cuda'
    times = []
    for _ in range(repeats + 2):
        if cuda:
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        advantage.compute_advantages(*buffers, 0.99, 0.95, 1.0, 1.0)
        if cuda:
            torch.cuda.synchronize(device)
        times.append(1e3 * (time.perf_counter() - start))
    return sorted(times[2:])[repeats // 2]


def numbers(text, kind=int):
    return [kind(float(x)) for x in text.split(',') if x.strip()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=float, default=1e7, help='agent steps per training run')
    parser.add_argument('--envs', default='1024,4096,8192', help='env.num_envs values (float32, no compile)')
    parser.add_argument('--minibatches', default='2048,8192', help='train.minibatch_size values')
    parser.add_argument('--device', default='cuda')
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print(f'bench.gpu: no CUDA device here (torch {torch.__version__}, torch.cuda.is_available() is False); '
              'nothing to measure')
        return 0
    device = args.device
    print(f'{ENV} on {torch.cuda.get_device_name(device)}, torch {torch.__version__}, {args.steps:.3g} steps a run')

    runs = [dict(num_envs=e, minibatch_size=m) for e in numbers(args.envs) for m in numbers(args.minibatches)]
    runs += [dict(precision=p, compile=c, compile_mode=mode) for p in ('float32', 'bfloat16')
             for c, mode in ((False, 'default'), (True, 'default'), (True, 'reduce-overhead'))]
    # The row above it without the pinned staging: what pufferlib.staging gains.
    runs.insert(len(runs) - 5, dict(precision='float32', compile=False, compile_mode='default', staging=False))
    baseline = None
    print(f'{"setting":<60} {"SPS":>12} {"ratio":>6}  time shares')
    for settings in runs:
        label = ' '.join(f'{key}={value}' for key, value in settings.items())
        try:
            sps, shares = training_sps(args.steps, device, **settings)
        except Exception as error:  # one setting failing (e.g. out of memory) should not hide the others
            print(f'{label:<60} failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}')
            continue
        baseline = baseline or sps
        print(f'{label:<60} {sps:>12,.0f} {sps / baseline:>6.2f}  {shares}', flush=True)

    print('\nadvantage kernel (compute_advantages), median ms per call')
    from pufferlib import advantage
    for segments, horizon in ((1024, 16), (8192, 16), (8192, 64), (65536, 16)):
        cpu = advantage_ms('cpu', segments, horizon)
        gpu = advantage_ms(device, segments, horizon)
        print(f'  [{segments} x {horizon}]  cpu ({advantage.backend_for("cpu")}) {cpu:8.3f}  '
              f'{device} (torch) {gpu:8.3f}  cpu/gpu {cpu / gpu:6.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
