#!/bin/bash
# bench/cr_trivial.sh: dump + restore of a trivial process (sleep), repeated, as root:
#
#   bench/cr_trivial.sh     (env: CRYO_BUILD=build dir (default build), RUNS=20, BUSY=K: K busy
#                            loops compete for the CPUs during the runs, IMAGES=/tmp,
#                            CRYO_B=another cryo binary: runs alternate between the two)
#
# Prints the median and best wall time of `cryo dump` (kill mode) and of `cryo restore -d`, and
# their sum against issue 3's target (15 ms), then the remote syscall cost from
# bench/remote_syscall if it is built.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/bench/lib.sh" # sets BUILD and CRYO
RUNS=${RUNS:-20}
BUSY=${BUSY:-0}
IMAGES=${IMAGES:-/tmp}
bench_check "build it, Release"
# Under a reaper (under_reaper in bench/lib.sh): the killed and restored trees are reaped, so
# their pids are free for the next case.
under_reaper "$0" "$@"
bench_begin trivial
for _ in $(seq "$BUSY"); do
    (exec 0</dev/null 1>/dev/null 2>&1; while :; do :; done) &
    pids+=("$!") # killed on exit; disowned, so bash prints no "Killed" for them
    disown "$!"
done

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) * 1000 }'; }
# run_one CRYO: one dump + restore; prints "DUMP_MS RESTORE_MS".
run_one() {
    local cryo=$1 d=$work/img pid t0 t1 t2 t3
    mkdir -p "$d"
    sleep 1000 </dev/null >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 200); do grep -q "^State:.*S (sleeping)" /proc/$pid/status 2>/dev/null && break; sleep 0.005; done
    t0=$EPOCHREALTIME
    CRYO_NO_PROGRESS=1 "$cryo" dump -t "$pid" -D "$d" --shell-job 2>"$work/dump.log" || { echo "dump failed: $(cat "$work/dump.log")" >&2; kill -9 "$pid"; return 1; }
    t1=$EPOCHREALTIME
    { wait "$pid"; } 2>/dev/null
    t2=$EPOCHREALTIME
    "$cryo" restore -D "$d" -d 2>"$work/restore.log" || { echo "restore failed: $(cat "$work/restore.log")" >&2; return 1; }
    t3=$EPOCHREALTIME
    [ "$(cat /proc/$pid/comm 2>/dev/null)" = sleep ] || { echo "restored process $pid not found" >&2; return 1; }
    kill -9 "$pid"
    for _ in $(seq 500); do [ -e /proc/$pid ] || break; sleep 0.002; done
    rm -rf "$d"
    echo "$(ms "$t0" "$t1") $(ms "$t2" "$t3")"
}
stats() { sort -n | awk '{ v[NR] = $1 } END { printf "median %6.2f ms  best %6.2f ms", v[int((NR + 1) / 2)], v[1] }'; }
med() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# With CRYO_B (another cryo binary), runs alternate between the two so both see the same load.
binaries=("$CRYO")
[ -n "${CRYO_B:-}" ] && binaries+=("$CRYO_B")
for i in $(seq "$RUNS"); do
    for b in "${!binaries[@]}"; do
        r=$(run_one "${binaries[$b]}") || exit 1
        echo "$r" >>"$work/times.$b"
    done
done 2>&1 | grep -v Killed
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), busy loops $BUSY, runs $RUNS"
for b in "${!binaries[@]}"; do
    [ -s "$work/times.$b" ] || exit 1
    echo "${binaries[$b]}:"
    echo "  dump    $(cut -d' ' -f1 "$work/times.$b" | stats)"
    echo "  restore $(cut -d' ' -f2 "$work/times.$b" | stats)"
    awk -v d="$(cut -d' ' -f1 "$work/times.$b" | med)" -v r="$(cut -d' ' -f2 "$work/times.$b" | med)" \
        'BEGIN { printf "  dump+restore median %.2f ms (target 15 ms: %.2fx)\n", d + r, (d + r) / 15 }'
done
if [ -x "$BUILD/bench/remote_syscall" ]; then
    echo -n "(with the $BUSY busy loops above) "; "$BUILD/bench/remote_syscall"
fi
