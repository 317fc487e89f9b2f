#!/bin/bash
# bench/cr_restore.sh: `cryo restore -d` of one big process, repeated, against memcpy bandwidth
# measured in the same run; as root:
#
#   bench/cr_restore.sh   (env: CRYO_BUILD=build dir (default build), MIB=2048, RUNS=5,
#                          CRYO_B=another cryo binary: runs alternate A, B, A, B...,
#                          FRESH=1: every run dumps a new workload (kill mode) right before
#                          its restore, as bench/cr.sh does, so the restore follows the old
#                          tree's teardown; default: one image, restored RUNS times,
#                          IMAGES=/tmp)
#
# The workload is bench/cr_bench_workload.c (MIB MiB of pseudo-random anonymous memory); each
# restored process checks its memory (SIGUSR1) before it is killed. Prints per run the wall
# time of `cryo restore -d`, its rate as % of memcpy, and cryo's own stats line (read, memory,
# total ms); then per binary the median and best, and bench/bandwidth's memcpy and fresh-memory
# rates (measured before the first run and after the last). Last, bench/uffd_fill over the
# image's first page file: the kernel's rate for UFFDIO_COPY into new 4 KiB anonymous pages on
# two threads, from a cache-hot buffer and from the page cache (the floor of cryo's fill), and
# the restore time those rates would give for MIB MiB; and its copy into 2 MiB transparent huge
# pages (MADV_HUGEPAGE, what a restore does for an area that had them).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/bench/lib.sh" # sets BUILD and CRYO
MIB=${MIB:-2048}
RUNS=${RUNS:-5}
IMAGES=${IMAGES:-/tmp}
bench_check "build it, Release"
# Under a reaper (under_reaper in bench/lib.sh): the killed and restored processes are reaped,
# so their pid is free for the next restore.
under_reaper "$0" "$@"
bench_begin restore
pid=
bench_on_exit() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; }

bench_workload || exit 1
bench_bandwidth_tool || exit 1
UF=$work/uffd_fill
c++ -O2 -std=c++20 -pthread -Wall -Wextra -o "$UF" "$src/bench/uffd_fill.cpp" || exit 1

# start_and_dump: a new workload, dumped (kill mode) into $work/img; sets $pid.
start_and_dump() {
    rm -rf "$work/img" "$work/out"
    mkdir -p "$work/img"
    bench_spawn_workload "$MIB" 1 1 "$work/out"
    pid=$!
    disown "$pid"
    for _ in $(seq 3000); do grep -q "^ready" "$work/out" 2>/dev/null && break; sleep 0.05; done
    grep -q "^ready" "$work/out" || { echo "workload not ready" >&2; return 1; }
    CRYO_NO_PROGRESS=1 "$CRYO" dump -t "$pid" -D "$work/img" --shell-job 2>"$work/dump.log" \
        || { echo "dump failed: $(cat "$work/dump.log")" >&2; return 1; }
    wait_gone
}
wait_gone() {
    for _ in $(seq 1000); do [ -e /proc/$pid ] || return 0; sleep 0.01; done
    echo "process $pid did not go away" >&2
    return 1
}
# restore_one CRYO: restores $work/img, verifies, kills; prints "WALL_S STATS".
restore_one() {
    local cryo=$1 t0 t1 before
    before=$(grep -c "^verify" "$work/out")
    t0=$EPOCHREALTIME
    CRYO_NO_PROGRESS=1 "$cryo" --debug restore -D "$work/img" -d 2>"$work/restore.log" \
        || { echo "restore failed: $(cat "$work/restore.log")" >&2; return 1; }
    t1=$EPOCHREALTIME
    kill -USR1 "$pid"
    for _ in $(seq 600); do [ "$(grep -c "^verify" "$work/out")" -gt "$before" ] && break; sleep 0.05; done
    [ "$(grep "^verify" "$work/out" | tail -1)" = "verify ok" ] || { echo "verify FAILED after $cryo" >&2; return 1; }
    kill -9 "$pid"
    wait_gone || return 1
    local st
    st=$(grep -o "pid [0-9]*, [0-9]* pages.*" "$work/restore.log" | tail -1)
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') $st"
}

bw0=$(bench_bandwidth)
memcpy=$(echo "$bw0" | bench_field memcpy_gbps)
echo "before: $bw0" >&2
binaries=("$CRYO")
[ -n "${CRYO_B:-}" ] && binaries+=("$CRYO_B")
[ -n "${FRESH:-}" ] || start_and_dump || exit 1
for i in $(seq "$RUNS"); do
    for b in "${!binaries[@]}"; do
        if [ -n "${FRESH:-}" ]; then start_and_dump || exit 1; fi
        r=$(restore_one "${binaries[$b]}") || exit 1
        echo "$r" >>"$work/times.$b"
        echo "run $i ${binaries[$b]}: $(awk -v r="${r%% *}" -v m="$MIB" -v mc="$memcpy" \
            'BEGIN { printf "%.3f s %5.0f%% of memcpy", r, 100 * m * 1048576 / r / 1e9 / mc }') ${r#* }" >&2
    done
done
[ -n "${FRESH:-}" ] || uf=$("$UF" --threads 2 "$(ls -S "$work"/img/pages-*.img | head -1)")
bw1=$(bench_bandwidth)
echo "after:  $bw1" >&2
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $MIB MiB, runs $RUNS${FRESH:+, fresh dump before each}"
echo "memcpy $(echo "$bw0" | bench_field memcpy_gbps) / $(echo "$bw1" | bench_field memcpy_gbps) GB/s (before/after)," \
    "fresh memory $(echo "$bw0" | bench_field fresh_memory_gbps) / $(echo "$bw1" | bench_field fresh_memory_gbps) GB/s"
if [ -n "${uf:-}" ]; then
    echo "$uf" | awk -v m="$MIB" -v mc="$memcpy" '{
        for (i = 1; i <= NF; ++i) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "kernel floor (bench/uffd_fill, 2 threads): from a hot buffer %.2f GB/s (%.3f s for %d MiB, %.0f%% of memcpy), from the page cache %.2f GB/s (%.3f s, %.0f%%)\n",
            v["uffd_hot_gbps"], m * 1048576 / v["uffd_hot_gbps"] / 1e9, m, 100 * v["uffd_hot_gbps"] / mc,
            v["uffd_file_gbps"], m * 1048576 / v["uffd_file_gbps"] / 1e9, 100 * v["uffd_file_gbps"] / mc
        printf "huge pages (memcpy into MADV_HUGEPAGE memory, 2 threads): %.2f GB/s (%.3f s, %.0f%% of memcpy)\n",
            v["thp_file_gbps"], m * 1048576 / v["thp_file_gbps"] / 1e9, 100 * v["thp_file_gbps"] / mc }'
fi
for b in "${!binaries[@]}"; do
    cut -d' ' -f1 "$work/times.$b" | sort -n | awk -v n="${binaries[$b]}" -v m="$MIB" -v mc="$memcpy" '
        { v[NR] = $1 }
        END {
            med = v[int((NR + 1) / 2)]
            printf "%s: restore median %.3f s (%.0f%% of memcpy), best %.3f s (%.0f%%), worst %.3f s\n", n,
                med, 100 * m * 1048576 / med / 1e9 / mc, v[1], 100 * m * 1048576 / v[1] / 1e9 / mc, v[NR]
        }'
done
