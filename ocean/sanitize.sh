#!/usr/bin/env bash
# Memory/UB check of every registered Ocean env, outside Python: for each registry entry, compile ocean/sanitize.c
# with its binding under AddressSanitizer + UndefinedBehaviorSanitizer and run it with the entry's default
# parameters, and again with its shipped config file's [env] parameters where they differ (tetris's features,
# for one), with random and out-of-range actions. Exits non-zero on the first report or broken invariant.
# Usage: bash ocean/sanitize.sh [STEPS (default 100000)] [ENV_NAME ...]
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${1:-100000}"
shift || true
PYTHON="${PYTHON:-python}"
BUILD="$(mktemp -d)"
trap 'rm -rf "$BUILD"' EXIT

# One line per registry entry: folder, action kind, lows, highs, key=value params (read from the registry only;
# no C module is imported).
"$PYTHON" - "$@" > "$BUILD/envs.txt" << 'PY'
import sys
from gymnasium import spaces
import pufferlib.ocean as ocean
from pufferlib import config
from pufferlib.ocean.env import action_bounds
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
while read -r name folder kind low high params; do
    binary="$BUILD/$folder"
    if [ ! -x "$binary" ]; then
        gcc -std=gnu11 -O1 -g -Wall -Wno-unused-function -fno-omit-frame-pointer \
            -fsanitize=address,undefined -fno-sanitize-recover=all -DPUFFER_NO_PYTHON \
            -DBINDING="\"$folder/binding.c\"" -Iocean -Iocean/"$folder" ocean/sanitize.c -o "$binary" -lm
    fi
    # One env alone, so that writing past its rows hits the end of an allocation (ASan cannot see a write into a
    # neighbour's rows of the same buffer), then a short run of 3 envs for the vector's per-env offsets.
    # shellcheck disable=SC2086  # params is a list of key=value words
    "$binary" "$STEPS" 1 "$kind" "$low" "$high" $params || { echo "sanitize: $name FAILED" >&2; exit 1; }
    # shellcheck disable=SC2086
    "$binary" "$((STEPS / 10))" 3 "$kind" "$low" "$high" $params || { echo "sanitize: $name FAILED" >&2; exit 1; }
done < "$BUILD/envs.txt"
echo "sanitize: all envs clean"
