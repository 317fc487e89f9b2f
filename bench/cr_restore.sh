#!/bin/bash
# bench/cr_restore.sh: `cryo restore -d` of one big process, repeated, against memcpy bandwidth
# measured in the same run; as root:
#
#   bench/cr_restore.sh   (env: CRYO_BUILD=build dir (default build), MIB=2048, RUNS=5,
#                          CRYO_B=another cryo binary: runs alternate A, B, A, B...,
#                          FRESH=1: every run dumps a new workload (kill mode) right before
#                          its restore, as bench/cr.sh does, so the restore follows the old
#                          tree's teardown; default: one image per binary, restored RUNS
#                          times. Each binary restores images it dumped itself (the page
#                          files' layout, and how the page cache holds them, are part of what
#                          is compared); SAME_IMAGE=1: every binary restores CRYO's image,
#                          PHASES=1: also print each restore's --debug phase times,
#                          IMAGES=/tmp)
#
# The workload is bench/cr_bench_workload.c (MIB MiB of pseudo-random anonymous memory); each
# restored process checks its memory (SIGUSR1) before it is killed. Prints per run the wall
# time of `cryo restore -d`, its rate as % of memcpy, and cryo's own stats line (read, memory,
# total ms); then per binary the median and best, and bench/bandwidth's memcpy and fresh-memory
# rates (measured before the first run and after the last). Last, bench/uffd_fill over the
# largest page file of the last binary's image: the kernel's rate for UFFDIO_COPY into new 4 KiB anonymous pages on
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
bench_on_exit() { [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null; }

bench_workload || exit 1
bench_bandwidth_tool || exit 1
UF=$work/uffd_fill
c++ -O2 -std=c++20 -pthread -Wall -Wextra -o "$UF" "$src/bench/uffd_fill.cpp" || exit 1

# Image $work/img.I, its workload's output $work/out.I and pid ${wpid[I]}: one set per binary
# (I = its index), or only set 0 when the binaries share one image.
wpid=()
# start_and_dump I CRYO: a new workload, dumped (kill mode) into $work/img.I by CRYO.
start_and_dump() {
    local i=$1 dumper=$2
    rm -rf "$work/img.$i" "$work/out.$i"
    mkdir -p "$work/img.$i"
    bench_spawn_workload "$MIB" 1 1 "$work/out.$i"
    wpid[i]=$!
    disown "${wpid[i]}"
    for _ in $(seq 3000); do grep -q "^ready" "$work/out.$i" 2>/dev/null && break; sleep 0.05; done
    grep -q "^ready" "$work/out.$i" || { echo "workload not ready" >&2; return 1; }
    CRYO_NO_PROGRESS=1 "$dumper" dump -t "${wpid[i]}" -D "$work/img.$i" --shell-job 2>"$work/dump.log" \
        || { echo "dump failed: $(cat "$work/dump.log")" >&2; return 1; }
    wait_gone "${wpid[i]}"
}
wait_gone() {
    for _ in $(seq 1000); do [ -e /proc/$1 ] || return 0; sleep 0.01; done
    echo "process $1 did not go away" >&2
    return 1
}
# restore_one CRYO I: restores $work/img.I, verifies, kills; prints "WALL_S STATS".
restore_one() {
    local cryo=$1 i=$2 t0 t1 before
    pid=${wpid[i]}
    before=$(grep -c "^verify" "$work/out.$i")
    t0=$EPOCHREALTIME
    CRYO_NO_PROGRESS=1 "$cryo" --debug restore -D "$work/img.$i" -d 2>"$work/restore.log" \
        || { echo "restore failed: $(cat "$work/restore.log")" >&2; return 1; }
    t1=$EPOCHREALTIME
    kill -USR1 "$pid"
    for _ in $(seq 600); do [ "$(grep -c "^verify" "$work/out.$i")" -gt "$before" ] && break; sleep 0.05; done
    [ "$(grep "^verify" "$work/out.$i" | tail -1)" = "verify ok" ] || { echo "verify FAILED after $cryo" >&2; return 1; }
    kill -9 "$pid" 2>/dev/null # it may have exited after its check
    wait_gone "$pid" || return 1
    pid=
    local st
    st=$(grep -o "pid [0-9]*, [0-9]* pages.*" "$work/restore.log" | tail -1)
    if [ -n "${PHASES:-}" ]; then
        grep -o "page fill of .*" "$work/restore.log" | sed 's/^/    /' >&2
        grep -o "restore [^ ]*: read .*" "$work/restore.log" | sed 's/^restore [^ ]*: /    phases: /' >&2
    fi
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') $st"
}

bw0=$(bench_bandwidth)
memcpy=$(echo "$bw0" | bench_field memcpy_gbps)
echo "before: $bw0" >&2
binaries=("$CRYO")
[ -n "${CRYO_B:-}" ] && binaries+=("$CRYO_B")
# Which image binary I restores.
image_of() { if [ -n "${SAME_IMAGE:-}" ]; then echo 0; else echo "$1"; fi; }
if [ -z "${FRESH:-}" ]; then
    for b in "${!binaries[@]}"; do
        [ "$(image_of "$b")" = "$b" ] && { start_and_dump "$b" "${binaries[$b]}" || exit 1; }
    done
fi
for i in $(seq "$RUNS"); do
    for b in "${!binaries[@]}"; do
        img=$(image_of "$b")
        if [ -n "${FRESH:-}" ]; then start_and_dump "$img" "${binaries[$b]}" || exit 1; fi
        r=$(restore_one "${binaries[$b]}" "$img") || exit 1
        echo "$r" >>"$work/times.$b"
        echo "run $i ${binaries[$b]}: $(awk -v r="${r%% *}" -v m="$MIB" -v mc="$memcpy" \
            'BEGIN { printf "%.3f s %5.0f%% of memcpy", r, 100 * m * 1048576 / r / 1e9 / mc }') ${r#* }" >&2
    done
done
# The floor over the largest page file of the last binary's image (the one it dumped last).
uf=$("$UF" --threads 2 "$(ls -S "$work/img.$(image_of $((${#binaries[@]} - 1)))"/pages-*.img | head -1)")
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
