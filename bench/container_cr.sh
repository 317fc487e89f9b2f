#!/bin/bash
# Container checkpoint/restore against the bare engine on the same workload, in the same run
# (issue 4): a static program holding MIB MiB of written memory (default 512), run once as a
# busybox container (cryo run -d / checkpoint / restore -d) and once as a bare process
# (cryo dump -t / restore -D -d). Prints each time and the container's overhead per
# direction (target: at most 20 ms). Usage: bench/container_cr.sh [CRYO] [MIB] [ROUNDS]
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 77; }
here=$(cd "$(dirname "$0")/.." && pwd)
CRYO=$(readlink -f "${1:-$here/build/src/cryo}")
MIB=${2:-512}
ROUNDS=${3:-3}
tmp=$(mktemp -d /tmp/cryo-bench-ccr.XXXXXX)
root=$tmp/state
cleanup() {
    "$CRYO" --root "$root" delete --force bench-ccr >/dev/null 2>&1 || true
    [ -n "${bare_pid:-}" ] && kill -9 "$bare_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

cat > "$tmp/hog.c" <<'C'
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    size_t size = (size_t)atol(argv[1]) << 20;
    unsigned char *p = malloc(size);
    for (size_t i = 0; i < size; i += 8) /* written, not compressible to zero pages */
        *(unsigned long *)(p + i) = i * 2654435761u;
    for (;;)
        pause();
}
C
gcc -O2 -static -o "$tmp/hog" "$tmp/hog.c"
"$here/scripts/make-bundle.sh" --runtime "$CRYO" --hostname bench "$tmp/bundle" /bin/hog "$MIB" >/dev/null
cp "$tmp/hog" "$tmp/bundle/rootfs/bin/hog"

ms() { date +%s%N; }
wait_rss() { # until the process has written its memory
    local pid=$1
    for _ in $(seq 1 500); do
        local kb
        kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ "${kb:-0}" -ge $((MIB * 1024 * 95 / 100)) ] && return 0
        sleep 0.02
    done
    echo "workload never reached $MIB MiB" >&2
    exit 1
}

c_dump=() c_restore=() b_dump=() b_restore=()
for round in $(seq 1 "$ROUNDS"); do
    # Container.
    "$CRYO" --root "$root" run -d --bundle "$tmp/bundle" bench-ccr </dev/null >/dev/null
    wait_rss "$("$CRYO" --root "$root" state bench-ccr | jq -r .pid)"
    rm -rf "$tmp/cimg"
    t0=$(ms)
    "$CRYO" --root "$root" checkpoint --image-path "$tmp/cimg" bench-ccr
    t1=$(ms)
    "$CRYO" --root "$root" delete bench-ccr
    t2=$(ms)
    "$CRYO" --root "$root" restore -d --image-path "$tmp/cimg" --bundle "$tmp/bundle" bench-ccr </dev/null >/dev/null
    t3=$(ms)
    "$CRYO" --root "$root" delete --force bench-ccr
    c_dump+=($(((t1 - t0) / 1000))) c_restore+=($(((t3 - t2) / 1000)))
    # Bare engine, same program.
    setsid "$tmp/hog" "$MIB" </dev/null >/dev/null 2>&1 &
    bare_pid=$!
    wait_rss "$bare_pid"
    rm -rf "$tmp/bimg"
    t0=$(ms)
    "$CRYO" dump -t "$bare_pid" -D "$tmp/bimg" 2>/dev/null
    t1=$(ms)
    wait "$bare_pid" 2>/dev/null || true
    "$CRYO" restore -D "$tmp/bimg" -d --pid-file "$tmp/bare.pid" 2>/dev/null
    t2=$(ms)
    bare_pid=$(cat "$tmp/bare.pid")
    kill -9 "$bare_pid"
    bare_pid=
    b_dump+=($(((t1 - t0) / 1000))) b_restore+=($(((t2 - t1) / 1000)))
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
cd_=$(median "${c_dump[@]}") cr_=$(median "${c_restore[@]}") bd=$(median "${b_dump[@]}") br=$(median "${b_restore[@]}")
echo "workload: $MIB MiB written, $ROUNDS rounds, medians (microseconds -> ms)"
printf 'checkpoint: container %.1f ms, bare dump %.1f ms, container adds %.1f ms (target <= 20)\n' \
    "$(echo "$cd_ / 1000" | bc -l)" "$(echo "$bd / 1000" | bc -l)" "$(echo "($cd_ - $bd) / 1000" | bc -l)"
printf 'restore:    container %.1f ms, bare restore %.1f ms, container adds %.1f ms (target <= 20)\n' \
    "$(echo "$cr_ / 1000" | bc -l)" "$(echo "$br / 1000" | bc -l)" "$(echo "($cr_ - $br) / 1000" | bc -l)"
