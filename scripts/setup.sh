#!/bin/bash
# setup.sh: first command on a fresh Debian 12 machine, as root.
# Installs the Debian packages cryo needs, builds cryo (Release, into build/), makes a busybox
# bundle (build/demo-bundle) and runs a container from it with cryo.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${CRYO_SETUP_BUILD:-$src/build}
# shellcheck source=deps.sh
. "$src/scripts/deps.sh"

step() { printf '==> %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (installs packages, runs containers)" >&2; exit 1; }

step "Debian packages"
cryo_install_deps

# Release without -Werror: GCC 12's -O2 flow analysis reports false -Wrestrict and
# -Wmaybe-uninitialized inside libstdc++ headers; scripts/test.sh builds with -Werror at -O0.
step "build (Release) in $build"
jobs=$(nproc)
log=$(mktemp /tmp/cryo-build.XXXXXX)
# Only the programs (cryo, and cryo-init where it exists); scripts/test.sh builds the tests.
targets=(cryo)
if ! { cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCRYO_WERROR=OFF &&
       { cmake --build "$build" --target help | grep -q '^\.\.\. cryo-init$' && targets+=(cryo-init) || true; } &&
       cmake --build "$build" -j"$jobs" --target "${targets[@]}"; } >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    rm -f "$log"
    echo "setup.sh: build failed (log tail above)" >&2
    exit 1
fi
rm -f "$log"
cryo=${CRYO:-$build/src/cryo}
[ -x "$cryo" ] || { echo "setup.sh: build produced no cryo binary at $cryo" >&2; exit 1; }
echo "    $cryo"

bundle=$build/demo-bundle
step "busybox bundle in $bundle"
"$src/scripts/make-bundle.sh" --runtime "$cryo" --hostname cryo-demo "$bundle" \
    sh -c 'echo "hostname: $(hostname)"; echo "id: $(id)"; echo "pid inside: $$"; echo "processes visible: $(ls -d /proc/[0-9]* | wc -l)"'

step "cryo run (a container from that bundle)"
id=cryo-demo-$$
rc=0
"$cryo" run --bundle "$bundle" "$id" || rc=$?
if [ $rc != 0 ]; then
    "$cryo" delete --force "$id" >/dev/null 2>&1 || true
    echo "setup.sh: cryo run failed with status $rc" >&2
    exit 1
fi
step "done: cryo works. Run the tests with: scripts/test.sh"
