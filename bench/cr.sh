#!/bin/bash
# bench/cr.sh: cryo's checkpoint/restore engine, measured against the machine's limits in the
# same run (memcpy and disk write bandwidth from bench/bandwidth). One command, as root:
#
#   bench/cr.sh            (env: CRYO_BUILD=build dir (default build), SIZES="64 512 2048",
#                           IMAGES=/tmp (where images go), QUICK=1: fewer cases, REPEAT=N:
#                           each SIZES case N times, one row per run)
#
# On a VM the big cases vary by 3-5x from run to run: a dump writes its pages into new
# page-cache memory, and how fast new memory is depends on the host (fresh memory below). REPEAT
# shows the spread; the best run is what cryo itself costs.
#
# Workloads (bench/cr_bench_workload.c): one process with N MiB of pseudo-random memory for each
# N in SIZES, a tree of 10 processes (512 MiB in all), one process with 8 threads (512 MiB).
# Every thread keeps a 1 ms heartbeat; the longest gap it saw during a --leave-running dump is
# the frozen time as the workload felt it. Each case: dump (kill or --leave-running, with or
# without compression), restore, then the workload verifies its memory.
# Columns: dump = wall time of `cryo dump`; MB/s = page bytes / dump time (and as % of memcpy,
# and as x of disk write bandwidth); frozen = cryo's frozen time (seize to thaw/kill); gap = the
# workload's longest heartbeat gap; restore = wall time of `cryo restore -d`, MB/s, % of memcpy.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/bench/lib.sh" # sets BUILD and CRYO
SIZES=${SIZES:-"64 512 2048"}
IMAGES=${IMAGES:-/tmp}
bench_check "build it, Release"
# Under a reaper (under_reaper in bench/lib.sh): the killed and restored trees are reaped, so
# their pids are free for the next case.
under_reaper "$0" "$@"
bench_begin cr

bench_workload || exit 1
bench_bandwidth_tool || exit 1
echo "measuring memcpy and disk write bandwidth ($IMAGES)..." >&2
bw=$(bench_bandwidth)
memcpy=$(echo "$bw" | bench_field memcpy_gbps)
disk=$(echo "$bw" | bench_field disk_write_gbps)
disk2=$(echo "$bw" | bench_field disk_write_2threads_gbps)
pagecache=$(echo "$bw" | bench_field pagecache_write_gbps)
pagecache2=$(echo "$bw" | bench_field pagecache_write_2threads_gbps)
fresh=$(echo "$bw" | bench_field fresh_memory_gbps)

now() { date +%s.%N; }
num() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p" | head -1; }
rows=()

# case NAME MIB PROCS THREADS MODE(kill|leave) COMPRESS
bench_case() {
    local name=$1 mib=$2 procs=$3 threads=$4 mode=$5 comp=$6
    local d=$work/$name-$mode-$comp
    rm -rf "$d" # a repeated case (REPEAT) starts from an empty dir: no "ready" or verdict of the last run
    mkdir -p "$d"
    bench_spawn_workload "$mib" "$procs" "$threads" "$d/out"
    local pid=$!
    disown "$pid" # bash would print "Killed" when the dump kills it; the reaper reaps it
    pids+=("$pid")
    for _ in $(seq 3000); do grep -q "^ready" "$d/out" 2>/dev/null && break; sleep 0.05; done
    grep -q "^ready" "$d/out" || { echo "$name: workload not ready" >&2; return; }
    sleep 0.3
    # Each dump starts with no dirty page cache: past the kernel's dirty threshold (10-20% of
    # memory, 2-4 GB here) its writes could be throttled toward the disk's speed by whatever else
    # wrote before it.
    sync
    kill -USR2 "$pid"; sleep 0.2 # reset the gaps
    local flags=(--compress "$comp")
    [ "$mode" = leave ] && flags+=(--leave-running)
    local t0 t1 t2 t3
    t0=$(now)
    CRYO_NO_PROGRESS=1 "$CRYO" --debug dump -t "$pid" -D "$d/img" --shell-job "${flags[@]}" 2>"$d/dump.log" || { echo "$name: dump failed: $(cat "$d/dump.log")" >&2; kill -9 "$pid"; return; }
    t1=$(now)
    local tree_pids
    tree_pids=$(jq -r '.pids[]' "$d/img/manifest.json")
    local gap=-
    if [ "$mode" = leave ]; then
        sleep 0.1
        local before
        before=$(grep -c "^gap" "$d/out")
        kill -USR2 "$pid"
        for _ in $(seq 100); do [ "$(grep -c "^gap" "$d/out")" -ge $((before + procs)) ] && break; sleep 0.02; done
        gap=$(grep "^gap" "$d/out" | tail -n "$procs" | awk '{ if ($2 > m) m = $2 } END { printf "%.0f", m }')
        for p in $tree_pids; do kill -9 "$p" 2>/dev/null; done
    fi
    { wait "$pid"; } 2>/dev/null
    # Every pid of the image must be free again (the children die after the root and are
    # reaped by the reaper above).
    for _ in $(seq 500); do
        local alive=0
        for p in $tree_pids; do [ -e /proc/$p ] && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.02
    done
    local frozen bytes
    frozen=$(num frozen <"$d/dump.log")
    bytes=$(du -bc "$d"/img/pages-*.img | tail -1 | cut -f1)
    local raw=$((mib << 20))
    t2=$(now)
    "$CRYO" restore -D "$d/img" -d 2>"$d/restore.log" || { echo "$name: restore failed: $(cat "$d/restore.log")" >&2; return; }
    t3=$(now)
    kill -USR1 "$pid"
    for _ in $(seq 600); do [ "$(grep -c "^verify" "$d/out")" -ge "$procs" ] && break; sleep 0.05; done
    local verified=ok
    [ "$(grep -c "^verify ok" "$d/out")" -ge "$procs" ] || verified=FAILED
    for _ in $(seq 200); do [ -e /proc/$pid ] || break; sleep 0.02; done
    kill -9 "$pid" 2>/dev/null
    rows+=("$(awk -v n="$name" -v m="$mode" -v c="$comp" -v raw="$raw" -v b="$bytes" -v d="$(echo "$t1 - $t0" | bc)" \
        -v r="$(echo "$t3 - $t2" | bc)" -v f="$frozen" -v g="$gap" -v mc="$memcpy" -v dk="$disk" -v v="$verified" 'BEGIN {
        ds = raw / d / 1e6; rs = raw / r / 1e6
        printf "%-10s %-5s %-4s %7.0f %6.3f %6.0f %4.0f%% %4.2fx %7.1f %5s %6.3f %6.0f %4.0f%% %s",
            n, m, c, b / 1048576, d, ds, 100 * ds / 1000 / mc, ds / 1000 / dk, f, g, r, rs, 100 * rs / 1000 / mc, v }')")
    echo "${rows[-1]}" >&2
    sed -n 's/.*\(frozen [0-9.]* ms.*\)/    \1/p' "$d/dump.log" >&2
    rm -rf "$d/img"
}

for mib in $SIZES; do
    for _ in $(seq "${REPEAT:-1}"); do
        bench_case "${mib}MiB" "$mib" 1 1 kill none
        bench_case "${mib}MiB" "$mib" 1 1 leave none
    done
done
bench_case tree10 512 10 1 kill none
bench_case tree10 512 10 1 leave none
bench_case threads8 512 1 8 kill none
bench_case threads8 512 1 8 leave none
if [ -z "${QUICK:-}" ]; then
    bench_case 512MiB 512 1 1 kill lz4
    bench_case 512MiB 512 1 1 kill zstd
    bench_case 512MiB 512 1 1 leave lz4
fi
bench_case sleep 0 1 1 kill none

echo
echo "machine: memcpy $memcpy GB/s, disk write $disk GB/s (2 threads: $disk2 GB/s), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# An unsynced dump writes into new page-cache pages and a restore fills new anonymous pages:
# these two bounds are often far below memcpy on a VM (see bench/bandwidth.cpp).
echo "         page-cache write $pagecache GB/s ($(awk -v p="$pagecache" -v m="$memcpy" 'BEGIN { printf "%.0f", 100 * p / m }')% of memcpy; two files from 2 threads: $pagecache2 GB/s, $(awk -v p="$pagecache2" -v m="$memcpy" 'BEGIN { printf "%.0f", 100 * p / m }')%), fresh 4 KiB-page memory $fresh GB/s"
printf "%-10s %-5s %-4s %7s %6s %6s %5s %5s %7s %5s %6s %6s %5s %s\n" workload mode comp "image" "dump" "MB/s" "%mcp" "xdisk" \
    "frozen" "gap" "restor" "MB/s" "%mcp" "verify"
printf "%-10s %-5s %-4s %7s %6s %6s %5s %5s %7s %5s %6s %6s %5s %s\n" "" "" "" "MiB" "s" "" "" "" "ms" "ms" "s" "" "" ""
for r in "${rows[@]}"; do echo "$r"; done
