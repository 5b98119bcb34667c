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


# A whole new sanity env, as a user would add it: these two files in ocean/echo/ and nothing else (no Python line,
# no .ini). The binding declares everything the registry and the config loader need.
ECHO_H = r'''// echo: see a bit, say it back. Reward 1 when the action is the bit shown; score = fraction said right.
#include "puffer.h"
#define FRAME_W 64
#define FRAME_H 64
#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X)
PUFFER_LOG(LOG_STATS)

typedef struct {
    PUFFER_ENV_FIELDS
    int length;  // steps per episode
    int tick, bit, right;
} Echo;

int c_init(Echo* env) { return 0; }

static void echo_show(Echo* env) {
    env->bit = rng_int(&env->rng, 2);
    env->observations[0] = (float)env->bit;
}

void c_reset(Echo* env) {
    env->tick = env->right = 0;
    echo_show(env);
}

void c_step(Echo* env) {
    int right = env->actions[0] == env->bit;
    env->rewards[0] = (float)right;
    env->right += right;
    env->tick++;
    env->terminals[0] = env->tick == env->length;
    env->truncations[0] = 0;
    if (env->terminals[0]) {
        env->log.score += (float)env->right / env->length;
        env->log.episode_return += env->right;
        env->log.episode_length += env->length;
        env->log.n += 1;
        c_reset(env);
    } else {
        echo_show(env);
    }
}

void c_render(Echo* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, env->bit ? COLOR_WHITE : COLOR_BLACK);
}

int c_render_text(Echo* env, char* buffer, int size) {
    int length = 0;
    text_append(buffer, size, &length, "bit %d, %d of %d right\n", env->bit, env->right, env->tick);
    return length;
}

void c_close(Echo* env) {}
'''
ECHO_BINDING = r'''#include "echo.h"
#define Env Echo
#define ENV_NAME echo
#define DESCRIPTION "Sanity: say back the bit you see"
#define PARAMS(INT, FLOAT) INT(length, 16, 1, 1000)
#define NUM_AGENTS 1
#define OBS_SIZE(env) 1
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) 2
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->tick, 0, (env)->length - 1) FIELD((env)->bit, 0, 1) FIELD((env)->right, 0, (env)->tick)
#include "vecenv.h"
'''


@pytest.mark.skipif(not os.path.exists(os.path.join(REPO, 'ocean', 'vecenv.h')), reason='needs the source tree')
def test_a_new_env_needs_only_its_folder(tmp_path):
    """Adding an Ocean env is its folder (ocean/README.md section 4): from the installed wheel, as CI runs it, the
    env is discovered, listed, configured from config/ocean.ini and its C defaults, and trains."""
    source = tmp_path / 'src'
    source.mkdir()
    copy_build_inputs(str(source), [])
    (source / 'ocean' / 'echo').mkdir()
    (source / 'ocean' / 'echo' / 'echo.h').write_text(ECHO_H)
    (source / 'ocean' / 'echo' / 'binding.c').write_text(ECHO_BINDING)
    result = build_wheel(str(source), str(tmp_path / 'dist'))
    assert result.returncode == 0, result.stdout + result.stderr
    wheel, = glob.glob(str(tmp_path / 'dist' / '*.whl'))
    site = tmp_path / 'site'
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / 'work'
    work.mkdir()
    env = {key: value for key, value in os.environ.items() if key != 'PUFFER_CONFIG_PATH'}
    env['PYTHONPATH'] = str(site)

    def run(*args):
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=work, env=env,
                              timeout=300)

    where = run('-c', 'import pufferlib.envs.ocean as o; print(o.__file__); print(o.list_envs())')
    assert where.returncode == 0, where.stderr
    assert where.stdout.startswith(str(site)) and "['puffer_echo']" in where.stdout
    listed = run('-m', 'pufferlib.cli', 'list')
    line = next(line for line in listed.stdout.splitlines() if line.startswith('puffer_echo '))
    assert 'ocean.ini' in line and 'Sanity: say back the bit you see' in line
    shown = run('-m', 'pufferlib.cli', 'train', 'puffer_echo', '--help')
    assert shown.returncode == 0, shown.stderr
    assert any(line.split()[:3] == ['--env.length', 'INT', '16'] for line in shown.stdout.splitlines())
    trained = run('-m', 'pufferlib.cli', 'train', 'puffer_echo', '--train.total-timesteps', '16384',
                  '--train.device', 'cpu', '--train.experiment', 'echo')
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    config = (work / 'experiments' / 'puffer_echo' / 'echo' / 'config.ini').read_text()
    assert 'backend = PufferEnv' in config and 'length = 16' in config and 'num_envs = 128' in config
    typo = run('-m', 'pufferlib.cli', 'train', 'puffer_ech')
    assert typo.returncode == 2 and 'closest: puffer_echo' in typo.stderr
