#!/bin/bash
# bench/socket_options.sh: the frozen time of `cryo dump --leave-running --tcp-established`
# of one process holding ~500 sockets (bench/sockets_workload.c), two cryo binaries taking
# turns on the same process, so that load from other work on the machine hits both alike.
# Made to measure per-socket work done while the tree is frozen (socket option defaults read
# from a fresh socket of the socket's network namespace), but any two binaries compare.
#
#   CRYO_OLD=/path/to/old/cryo CRYO=/path/to/new/cryo bench/socket_options.sh   (as root)
#
# Environment: ROUNDS (default 8: each binary dumps ROUNDS times per case), PAIRS (TCP
# connections, both ends in the process; default 150), UDP4 (150), UDP6 (50).
# Cases: the process in cryo's own network namespace, and in a network namespace of its own
# (unshare -n), where a fresh socket must be made by a thread joining that namespace. The
# process runs in a session of its own (setsid), so no --shell-job is needed.
# Prints, per case and binary, the median frozen and collect times (cryo --debug's dump
# line) and the new/old ratio of the medians.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
OLD=${CRYO_OLD:?set CRYO_OLD to the old cryo binary}
NEW=${CRYO:?set CRYO to the new cryo binary}
ROUNDS=${ROUNDS:-8}
PAIRS=${PAIRS:-150}
UDP4=${UDP4:-150}
UDP6=${UDP6:-50}
[ "$(id -u)" = 0 ] || { echo "bench/socket_options.sh: run as root" >&2; exit 1; }
work=$(mktemp -d /tmp/cryo-bench-sockopts.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -o "$work/workload" "$src/bench/sockets_workload.c" || exit 1

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# start CASE: starts the workload, sets $pid once it is ready.
start() {
    local out=$work/$1.out
    if [ "$1" = netns ]; then
        setsid unshare -n sh -c 'ip link set lo up && exec "$0" "$@"' "$work/workload" "$PAIRS" "$UDP4" "$UDP6" >"$out" 2>&1 &
    else
        setsid "$work/workload" "$PAIRS" "$UDP4" "$UDP6" >"$out" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 200); do
        grep -qs '^ready' "$out" && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "bench/socket_options.sh: workload did not start: $(cat "$out")" >&2
    exit 1
}

# dump BINARY TAG: one dump; appends "frozen collect" to $work/TAG.
dump() {
    local log=$work/dump.log
    rm -rf "$work/img"
    if ! "$1" --debug dump -t "$pid" -D "$work/img" --leave-running --tcp-established >"$log" 2>&1; then
        echo "bench/socket_options.sh: $1 dump failed: $(tail -3 "$log")" >&2
        exit 1
    fi
    sed -n 's/.*frozen \([0-9.]*\) ms (freeze [0-9.]*, collect \([0-9.]*\),.*/\1 \2/p' "$log" | tail -1 >>"$work/$2"
}

printf '%-8s %-5s %8s %12s %12s\n' case cryo sockets "frozen ms" "collect ms"
for case in own netns; do
    start "$case"
    sockets=$(sed -n 's/^ready //p' "$work/$case.out")
    dump "$NEW" warmup >/dev/null # page cache, first-run costs
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then dump "$OLD" "$case.old"; dump "$NEW" "$case.new"
        else dump "$NEW" "$case.new"; dump "$OLD" "$case.old"; fi
    done
    kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=
    for which in old new; do
        frozen=$(cut -d' ' -f1 "$work/$case.$which" | median)
        collect=$(cut -d' ' -f2 "$work/$case.$which" | median)
        printf '%-8s %-5s %8s %12s %12s\n' "$case" "$which" "$sockets" "$frozen" "$collect"
        eval "${which}_frozen=$frozen ${which}_collect=$collect"
    done
    # shellcheck disable=SC2154 # set by eval above
    awk -v of="$old_frozen" -v nf="$new_frozen" -v oc="$old_collect" -v nc="$new_collect" -v c="$case" \
        'BEGIN { printf "%-8s new/old: frozen %.2f, collect %.2f (%d dumps each)\n", c, nf / of, nc / oc, '"$ROUNDS"' }'
done
