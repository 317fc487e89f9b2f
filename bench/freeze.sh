#!/bin/bash
# bench/freeze.sh: the freeze phase of `cryo --debug dump --leave-running` (seize and interrupt
# every thread of the tree: freeze_ms of its statistics), repeated, as root:
#
#   bench/freeze.sh     (env: CRYO_BUILD=build dir (default build), RUNS=30, CRYO_B=another cryo
#                        binary: runs alternate between the two, A first; RT=N: the workload
#                        and cryo run SCHED_FIFO priority N)
#
# On a loaded machine the freeze's wall time is mostly the wait for each thread to get a CPU
# and stop (8 threads: 0.6 ms alone, 5-30 ms with 8 compilers running); RT=50 takes that
# wait out, so that what the freeze itself does is what differs between A and B.
#
# Two workloads of bench/cr_bench_workload.c (8 MiB, every thread on a 1 ms heartbeat): one
# process with 8 threads, and a tree of 10 single-threaded processes. Prints the median, mean
# and best freeze ms of each binary per workload, and B/A of the medians.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/bench/lib.sh" # sets BUILD and CRYO
RUNS=${RUNS:-30}
IMAGES=/tmp # not from the environment: the work dir (8 MiB images) stays in /tmp
rt=()
[ -n "${RT:-}" ] && rt=(chrt -f "$RT")
bench_check
bench_begin freeze
bench_workload || exit 1

# start PROCS THREADS: the workload in a session of its own (no --shell-job needed); prints its pid.
start() {
    local out=$work/out-$1-$2 i
    : >"$out"
    setsid "${rt[@]}" "$W" 8 "$1" "$2" "$out" </dev/null >/dev/null 2>&1 &
    for i in $(seq 100); do grep -q ready "$out" 2>/dev/null && break; sleep 0.05; done
    pgrep -o -f "^$W 8 $1 $2 "
}
# freeze_ms CRYO PID: one --leave-running dump; freeze_ms of its JSON statistics (3 decimals;
# the text line has one).
freeze_ms() {
    rm -rf "$work/img"
    "${rt[@]}" "$1" --debug --log-format json dump -t "$2" -D "$work/img" --leave-running 2>&1 | grep '"stats"' | jq -r .stats.freeze_ms
}
stats() { sort -n | awk '{ v[NR] = $1; s += $1 } END { printf "median %.3f p25 %.3f mean %.3f best %.3f (n=%d)", v[int((NR + 1) / 2)], v[int((NR + 3) / 4)], s / NR, v[1], NR }'; }

for wl in "1 8 threads8" "10 1 tree10"; do
    set -- $wl
    pid=$(start "$1" "$2")
    [ -n "$pid" ] || { echo "$3: workload did not start" >&2; exit 1; }
    pids+=("$pid")
    : >"$work/a"
    : >"$work/b"
    for _ in $(seq "$RUNS"); do
        freeze_ms "$CRYO" "$pid" >>"$work/a"
        [ -n "${CRYO_B:-}" ] && freeze_ms "$CRYO_B" "$pid" >>"$work/b"
    done
    kill -9 -- "-$pid" 2>/dev/null
    ma=$(stats <"$work/a")
    echo "$3 A: freeze ms $ma"
    if [ -n "${CRYO_B:-}" ]; then
        mb=$(stats <"$work/b")
        echo "$3 B: freeze ms $mb"
        awk -v a="${ma#median }" -v b="${mb#median }" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%s B/A medians: %.2f\n", "'"$3"'", y[1] / x[1] }'
    fi
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores${RT:+, SCHED_FIFO $RT}"
