#!/bin/bash
# Measures dump and restore throughput of one process holding N MiB of incompressible data
# (tests/cr/cr_memory), next to memcpy bandwidth measured in the same run. Not a ctest test
# (too big for CI): run by hand as root, e.g.
#   CRYO_BUILD=build-release tests/cr/measure_memory.bash 512 2048   [IMAGE_PARENT_DIR]
set -u
BUILD=${CRYO_BUILD:-build}
CRYO=${CRYO:-$BUILD/src/cryo}
W=$BUILD/tests/cr/cr_memory
SIZES=${SIZES:-"512 2048"}
PARENT=${IMAGE_PARENT:-/tmp}
memcpy=$("$BUILD/tests/cr/cr_memcpy")
echo "memcpy bandwidth: $memcpy GB/s; images under $PARENT"
for mib in $SIZES; do
    T=$(mktemp -d "$PARENT/cr_measure.XXXXXX")
    (for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
     exec "$W" "$mib" "$T/beat" >"$T/out" 2>&1 </dev/null) &
    pid=$!
    until grep -q ready "$T/out" 2>/dev/null; do sleep 0.1; done
    sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
    t0=$(date +%s.%N)
    "$CRYO" --log-format json --debug dump -t "$pid" -D "$T/img" --shell-job 2>"$T/dump.log" || { cat "$T/dump.log"; exit 1; }
    t1=$(date +%s.%N)
    { wait "$pid"; } 2>/dev/null
    bytes=$(stat -c %s "$T/img/pages-$pid.img")
    t2=$(date +%s.%N)
    "$CRYO" --log-format json --debug restore -D "$T/img" -d 2>"$T/restore.log" || { cat "$T/restore.log"; exit 1; }
    t3=$(date +%s.%N)
    kill -USR1 "$pid"; while [ -e /proc/$pid ]; do sleep 0.05; done
    result=$(grep verify "$T/out")
    awk -v mib="$mib" -v b="$bytes" -v d="$(echo "$t1 - $t0" | bc)" -v r="$(echo "$t3 - $t2" | bc)" -v m="$memcpy" \
        -v v="$result" 'BEGIN { printf "%5d MiB: dump %.3f s (%.2f GB/s, %.0f%% of memcpy), restore %.3f s (%.2f GB/s, %.0f%% of memcpy), %s\n",
            mib, d, b / d / 1e9, 100 * b / d / 1e9 / m, r, b / r / 1e9, 100 * b / r / 1e9 / m, v }'
    grep -ho '"msg":"[^"]*"' "$T/dump.log" "$T/restore.log" | sed 's/^/    /'
    rm -rf "$T"
done
