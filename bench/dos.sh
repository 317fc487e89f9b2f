#!/bin/bash
# bench/dos.sh [CRYO]: the DoS containment measurements as ratios, in one command (as root).
# Runs tests/integration/dos_cpu_hog.sh (a neighbour's CPU-bound throughput with a hog held to
# --cpus / alone, and with the same hog uncapped / alone as the control: medians of interleaved
# rounds; DOS_CPU_ROUNDS and the test's other DOS_CPU_* knobs pass through) and
# dos_fork_bomb.sh (fork+exec time on the host and in a neighbour during a fork bomb / before
# it), and prints their figures. CRYO defaults to
# build/src/cryo.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
export CRYO=${1:-${CRYO:-$source_dir/build/src/cryo}}
export CRYO_SOURCE=$source_dir
for test in dos_cpu_hog dos_fork_bomb; do
    log=$(mktemp)
    if bash "$source_dir/tests/integration/$test.sh" > "$log" 2>&1; then status=ok; else status="FAILED ($?)"; fi
    echo "== $test: $status"
    grep -E 'RATIO|ratio|forks (on|in)|bomb:' "$log" | sed 's/^\[[a-z_]*\] /   /'
    case $test in
        dos_fork_bomb)
            awk '/forks on the host/ {h = $(NF - 4) / $(NF - 7)} /forks in the neighbour/ {n = $(NF - 4) / $(NF - 7)}
                 END {printf "   fork time during/before: host %.2f, neighbour %.2f\n", h, n}' "$log" ;;
    esac
    [ "$status" = ok ] || tail -5 "$log"
    rm -f "$log"
done
