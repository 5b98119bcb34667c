"""bench.gpu on a machine without CUDA: one line, exit status 0, no training run."""
import subprocess
import sys

import pytest
import torch


@pytest.mark.skipif(torch.cuda.is_available(), reason='on a CUDA machine the bench would really run')
def test_gpu_bench_exits_with_one_line_without_cuda():
    result = subprocess.run([sys.executable, '-m', 'bench.gpu'], capture_output=True, text=True, timeout=120,
                            cwd=__file__.rsplit('/tests/', 1)[0])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith('bench.gpu: no CUDA device here')
    assert len(result.stdout.strip().splitlines()) == 1 and not result.stderr.strip()
