"""Packaging: a wheel carries the configs and compiled modules; a C compile error fails the build loudly."""
import glob
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def copy_build_inputs(destination, envs):
    """A minimal source tree: packaging files, the Python package, configs, and only the given Ocean envs."""
    for name in ('setup.py', 'pyproject.toml', 'README.md'):
        shutil.copy(os.path.join(REPO, name), destination)
    shutil.copytree(os.path.join(REPO, 'pufferlib'), os.path.join(destination, 'pufferlib'),
                    ignore=shutil.ignore_patterns('*.so', '__pycache__'))
    shutil.copytree(os.path.join(REPO, 'config'), os.path.join(destination, 'config'))
    os.makedirs(os.path.join(destination, 'ocean'))
    for header in glob.glob(os.path.join(REPO, 'ocean', '*.h')):
        shutil.copy(header, os.path.join(destination, 'ocean'))
    for env in envs:
        shutil.copytree(os.path.join(REPO, 'ocean', env), os.path.join(destination, 'ocean', env))


def build_wheel(source, out):
    return subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-w', out,
                           source], capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(not os.path.exists(os.path.join(REPO, 'ocean', 'bandit')), reason='needs the source tree')
def test_wheel_contains_configs_and_compiled_envs(tmp_path):
    source = tmp_path / 'src'
    source.mkdir()
    copy_build_inputs(str(source), ['bandit'])
    result = build_wheel(str(source), str(tmp_path / 'dist'))
    assert result.returncode == 0, result.stdout + result.stderr
    wheel, = glob.glob(str(tmp_path / 'dist' / '*.whl'))
    names = zipfile.ZipFile(wheel).namelist()
    assert 'pufferlib/config_files/default.ini' in names
    assert any(n.startswith('pufferlib/config_files/ocean/') and n.endswith('.ini') for n in names)
    assert any(n.startswith('pufferlib/envs/ocean/_bandit') and n.endswith('.so') for n in names)
    assert any(n.endswith('entry_points.txt') for n in names)


@pytest.mark.skipif(not os.path.exists(os.path.join(REPO, 'ocean', 'bandit')), reason='needs the source tree')
def test_c_compile_error_fails_the_build(tmp_path):
    source = tmp_path / 'src'
    source.mkdir()
    copy_build_inputs(str(source), ['bandit'])
    broken = source / 'ocean' / 'broken'
    broken.mkdir()
    (broken / 'binding.c').write_text('#include "no_such_header.h"\nint this is not C;\n')
    result = build_wheel(str(source), str(tmp_path / 'dist'))
    assert result.returncode != 0
    assert 'no_such_header.h' in result.stdout + result.stderr
    assert not glob.glob(str(tmp_path / 'dist' / '*.whl'))
