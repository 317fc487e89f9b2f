#!/bin/bash
# test.sh [--sanitize] [CTEST ARGS...]: builds cryo with warnings as errors and runs every test.
#   (default)    Debug into build-test/ (GCC 12 at -O2 gives false -Wrestrict and
#                -Wmaybe-uninitialized errors inside libstdc++ headers; -O0 does not)
#   --sanitize   ASan + UBSan (-DCRYO_SANITIZE=ON) into build-asan/
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit` or `scripts/test.sh -R hooks`.
# Installs missing Debian packages first when run as root. Exits non-zero on any failure.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=deps.sh
. "$src/scripts/deps.sh"

sanitize=0
ctest_args=()
for arg in "$@"; do
    case $arg in
        --sanitize) sanitize=1 ;;
        -h|--help) sed -n '2,7s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) ctest_args+=("$arg") ;;
    esac
done

if [ $sanitize = 1 ]; then
    build=${CRYO_TEST_BUILD:-$src/build-asan}
    cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DCRYO_SANITIZE=ON)
    # A leak or undefined behaviour fails the test that hit it.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
else
    build=${CRYO_TEST_BUILD:-$src/build-test}
    cmake_args=(-DCMAKE_BUILD_TYPE=Debug)
fi

echo "==> Debian packages"
if [ "$(id -u)" = 0 ]; then
    cryo_install_deps
    cryo_apt_install "${CRYO_TEST_DEPS[@]}"
else
    echo "    not root: nothing installed; tests that need root will be skipped"
fi

echo "==> build (${cmake_args[*]} -DCRYO_WERROR=ON) in $build"
log=$build.log
if ! { cmake -S "$src" -B "$build" -DCRYO_WERROR=ON -DCRYO_TESTS=ON "${cmake_args[@]}" &&
       cmake --build "$build" -j"$(nproc)"; } >"$log" 2>&1; then
    # Errors first (a parallel build interleaves them with progress lines), then the tail.
    grep -E -A5 'error|Error' "$log" | head -n 80 >&2 || true
    echo "--- last lines of $log:" >&2
    tail -n 20 "$log" >&2
    echo "test.sh: build failed (full log: $log)" >&2
    exit 1
fi

# clang-format 14 must accept .clang-format; files that differ from it are listed, not fatal
# (run scripts/format.sh on the files you touch).
echo "==> clang-format"
if command -v clang-format >/dev/null; then
    (cd "$src" && clang-format --dump-config >/dev/null) || { echo "test.sh: clang-format rejects .clang-format" >&2; exit 1; }
    unformatted=$("$src/scripts/format.sh" --check 2>/dev/null | wc -l || true)
    echo "    .clang-format accepted; $unformatted tracked C++ files differ from it (scripts/format.sh --check)"
fi

echo "==> ctest --output-on-failure ${ctest_args[*]}"
cd "$build"
# ctest prints the summary line ("N% tests passed, M tests failed out of T") and lists skipped
# tests (exit 77) under "The following tests did not run".
exec ctest --output-on-failure "${ctest_args[@]}"
