"""Build script: compiles every Ocean environment and native kernel as part of `pip install .`.

Conventions (so adding an env never means editing this file):
  ocean/<env>/binding.c  -> extension module pufferlib.envs.ocean._<env>
  extensions/<name>.c    -> extension module pufferlib._<name>
A compile error aborts the build: no extension is optional, so there is never a half-installed package.
Set PUFFER_CFLAGS (e.g. "-march=native") to add compiler flags for a build that stays on this machine.
Set PUFFER_OCEAN_ONLY=env1,env2 (folder names) to rebuild only those Ocean envs while developing them.
"""
import glob
import os
import shlex

from setuptools import setup, Extension

HERE = os.path.dirname(os.path.abspath(__file__))
CFLAGS = ['-O3', '-std=gnu11', '-Wall', '-Wno-unused-function'] + shlex.split(os.environ.get('PUFFER_CFLAGS', ''))


def relative(path):
    return os.path.relpath(path, HERE)


def ocean_extensions():
    for binding in sorted(glob.glob(os.path.join(HERE, 'ocean', '*', 'binding.c'))):
        env = os.path.basename(os.path.dirname(binding))
        only = os.environ.get('PUFFER_OCEAN_ONLY')
        if only and env not in only.split(','):
            continue
        yield Extension(f'pufferlib.envs.ocean._{env}', sources=[relative(binding)],
                        include_dirs=['ocean', os.path.join('ocean', env)],
                        depends=glob.glob(os.path.join('ocean', env, '*.h')) + glob.glob('ocean/*.h'),
                        extra_compile_args=CFLAGS, libraries=['m'])


def kernel_extensions():
    for source in sorted(glob.glob(os.path.join(HERE, 'extensions', '*.c'))):
        name = os.path.splitext(os.path.basename(source))[0]
        yield Extension(f'pufferlib._{name}', sources=[relative(source)], include_dirs=['extensions'],
                        extra_compile_args=CFLAGS, libraries=['m'])


def config_packages():
    """Config files ship inside the package as pufferlib/config_files (and its subfolders), so `puffer` works anywhere.
    (named apart from the loader module, pufferlib/config.py)"""
    packages, package_dir = [], {}
    for folder, _, files in os.walk(os.path.join(HERE, 'config')):
        rel = relative(folder)
        package = 'pufferlib.config_files' + rel[len('config'):].replace(os.sep, '.')
        packages.append(package)
        package_dir[package] = rel
    return packages, package_dir


python_packages = ['pufferlib'] + ['pufferlib.' + p for p in
                                   __import__('setuptools').find_packages(where='pufferlib')]
config_pkgs, config_dirs = config_packages()

setup(
    packages=python_packages + config_pkgs,
    package_dir={'pufferlib': 'pufferlib', **config_dirs},
    package_data={p: ['*.ini'] for p in config_pkgs},
    ext_modules=list(ocean_extensions()) + list(kernel_extensions()),
)
