#!/usr/bin/env bash
# Memory/UB check of every registered Ocean env, outside Python: for each registry entry, compile ocean/sanitize.c
# with its binding under AddressSanitizer + UndefinedBehaviorSanitizer and run it with the entry's default
# parameters, and again with its shipped config file's [env] parameters where they differ (tetris's features,
# for one), with random and out-of-range actions; then fuzz its saved state: TRIALS times save it, corrupt a few
# bytes, load it and, if the load accepts it, render and step it. Exits non-zero on the first report or broken
# invariant.
# Usage: bash ocean/sanitize.sh [STEPS (default 100000)] [ENV_NAME ...]      (200 fuzz trials of 64 steps per env)
#        bash ocean/sanitize.sh --fuzz TRIALS [STEPS (default 64)] [ENV_NAME ...]   (only the fuzz, STEPS per trial)
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS=200
FUZZ_STEPS=64
FUZZ_ONLY=0
if [ "${1:-}" = "--fuzz" ]; then
    FUZZ_ONLY=1
    TRIALS="$2"
    shift 2
    FUZZ_STEPS="${1:-64}"
fi
STEPS="${1:-100000}"
shift || true
PYTHON="${PYTHON:-python}"
BUILD="$(mktemp -d)"
trap 'rm -rf "$BUILD"' EXIT

# One line per registry entry: folder, action kind, lows, highs, key=value params (read from the registry, which
# imports the built C modules for their spec()). Run from the build folder, so the pufferlib Python imports is the
# installed one (or PYTHONPATH's): this checkout's source tree, whose modules may not be built, cannot shadow it.
(cd "$BUILD" && "$PYTHON" - "$@") > "$BUILD/envs.txt" << 'PY'
import sys
from gymnasium import spaces
import pufferlib.envs.ocean as ocean
from pufferlib import config
from pufferlib.envs.ocean.ocean_env import action_bounds
for name in sys.argv[1:] or ocean.list_envs():
    spec = ocean.registry.lookup(name)
    defaults = spec.resolve_params({})
    try:
        shipped = {k: v for k, v in config.load(name)['env'].items() if k in spec.params}
    except config.ConfigError:  # no config file for this name
        shipped = {}
    settings = [defaults] + ([spec.resolve_params(shipped)] if spec.resolve_params(shipped) != defaults else [])
    for params in settings:
        _, action_space = spec.spaces(params)
        low, high = action_bounds(action_space)
        kind = 'float' if isinstance(action_space, spaces.Box) else 'int'
        folder = spec.module.rsplit('._', 1)[1]
        print(name, folder, kind, ','.join(map(repr, low)), ','.join(map(repr, high)),
              *(f'{k}={v}' for k, v in params.items()))
PY

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Build every env folder once, as many at a time as there are cores. The short fuzz-only runs build at -O0, which
# compiles three times faster (and checks no less).
build() {
    gcc -std=gnu11 "$OPT" -g -Wall -Wno-unused-function -fno-omit-frame-pointer \
        -fsanitize=address,undefined -fno-sanitize-recover=all -DPUFFER_NO_PYTHON \
        -DBINDING="\"$1/binding.c\"" -Iocean -Iocean/"$1" ocean/sanitize.c -o "$BUILD/$1" -lm
}
export -f build
export BUILD
OPT=$([ "$FUZZ_ONLY" = 1 ] && echo -O0 || echo -O1)
export OPT
cut -d' ' -f2 "$BUILD/envs.txt" | sort -u | xargs -P "$(nproc)" -n 1 bash -c 'build "$1"' _
while read -r name folder kind low high params; do
    binary="$BUILD/$folder"
    if [ "$FUZZ_ONLY" = 0 ]; then
        # One env alone, so that writing past its rows hits the end of an allocation (ASan cannot see a write into
        # a neighbour's rows of the same buffer), then a short run of 3 envs for the vector's per-env offsets.
        # shellcheck disable=SC2086  # params is a list of key=value words
        "$binary" "$STEPS" 1 "$kind" "$low" "$high" $params || { echo "sanitize: $name FAILED" >&2; exit 1; }
        # shellcheck disable=SC2086
        "$binary" "$((STEPS / 10))" 3 "$kind" "$low" "$high" $params || { echo "sanitize: $name FAILED" >&2; exit 1; }
    fi
    # shellcheck disable=SC2086
    "$binary" --fuzz "$TRIALS" "$FUZZ_STEPS" 2 "$kind" "$low" "$high" $params \
        || { echo "sanitize: $name restore fuzz FAILED" >&2; exit 1; }
done < "$BUILD/envs.txt"
echo "sanitize: all envs clean"
