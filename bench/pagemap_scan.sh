#!/bin/bash
# bench/pagemap_scan.sh: the dump's page planning (which pages go into the image, done while
# the tree is frozen) by PAGEMAP_SCAN against reading /proc/PID/pagemap (CRYO_PAGEMAP_SCAN=0),
# on one process with MIB MiB of written anonymous memory (bench/cr_bench_workload.c). One
# command, as root:
#
#   bench/pagemap_scan.sh     (env: CRYO_BUILD=build dir (default build; use Release),
#                              MIB=2048, RUNS=8 (per mode), IMAGES=/tmp)
#
# The same workload is dumped with --leave-running RUNS times per mode, the modes alternating
# (pagemap, scan, pagemap, ...) so that load on the machine hits both alike. Per mode: median
# and min of "pages planned in" and of cryo's frozen time, from `cryo --debug dump`, and the
# workload's longest heartbeat gap; then the ratios pagemap / scan.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/bench/lib.sh" # sets BUILD and CRYO
MIB=${MIB:-2048}
RUNS=${RUNS:-8}
IMAGES=${IMAGES:-/tmp}
bench_check "build it, Release"
bench_begin pagemap
pid=
bench_on_exit() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; }

bench_workload || exit 1
bench_spawn_workload "$MIB" 1 1 "$work/out"
pid=$!
for _ in $(seq 3000); do grep -q "^ready" "$work/out" 2>/dev/null && break; sleep 0.05; done
grep -q "^ready" "$work/out" || { echo "workload not ready" >&2; exit 1; }

declare -A plan frozen gap
for i in $(seq "$RUNS"); do
    for mode in pagemap scan; do
        env=()
        [ $mode = pagemap ] && env=(CRYO_PAGEMAP_SCAN=0)
        rm -rf "$work/img"
        sleep 0.2
        kill -USR2 "$pid"; sleep 0.1 # reset the workload's longest gap
        before=$(grep -c "^gap" "$work/out")
        env "${env[@]}" CRYO_NO_PROGRESS=1 "$CRYO" --debug dump -t "$pid" -D "$work/img" --shell-job --leave-running \
            2>"$work/dump.log" || { echo "dump failed: $(tail -3 "$work/dump.log")" >&2; exit 1; }
        kill -USR2 "$pid"
        for _ in $(seq 100); do [ "$(grep -c "^gap" "$work/out")" -gt "$before" ] && break; sleep 0.02; done
        p=$(sed -n 's/.*pages planned in \([0-9.]*\) ms.*/\1/p' "$work/dump.log" | head -1)
        f=$(sed -n 's/.*; frozen \([0-9.]*\) ms.*/\1/p' "$work/dump.log" | head -1)
        g=$(grep "^gap" "$work/out" | tail -1 | cut -d' ' -f2)
        plan[$mode]+="$p "
        frozen[$mode]+="$f "
        gap[$mode]+="$g "
        printf '%-8s run %d: planned %6s ms, frozen %7s ms, workload gap %7s ms\n' "$mode" "$i" "$p" "$f" "$g" >&2
    done
done

stat() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f %.2f", m, v[1] }'; }
echo "page planning of a $MIB MiB process, $RUNS dumps per mode (--leave-running), alternating:"
printf '%-10s %12s %10s %12s %10s %12s\n' mode "plan median" "plan min" "frozen med" "frozen min" "gap median"
for mode in pagemap scan; do
    read -r pm pn <<<"$(echo "${plan[$mode]}" | stat)"
    read -r fm fn <<<"$(echo "${frozen[$mode]}" | stat)"
    read -r gm _ <<<"$(echo "${gap[$mode]}" | stat)"
    printf '%-10s %12s %10s %12s %10s %12s\n' "$mode" "$pm" "$pn" "$fm" "$fn" "$gm"
    eval "${mode}_pm=$pm ${mode}_fm=$fm"
done
awk -v a="$pagemap_pm" -v b="$scan_pm" -v c="$pagemap_fm" -v d="$scan_fm" 'BEGIN {
    printf "planning: pagemap/scan = %.1fx (%.2f ms saved); frozen time: %.2f ms less (%.1f%%)\n",
        a / (b > 0 ? b : 0.001), a - b, c - d, 100 * (c - d) / c }'
