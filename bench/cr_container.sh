#!/bin/bash
# bench/cr_container.sh: what container handling adds to checkpoint/restore. One command, root:
#
#   bench/cr_container.sh     (env: CRYO_BUILD=build dir (default build), CRYO=binary,
#                              MIB=512, RUNS=3, IMAGES=/tmp (where images go))
#
# The same static workload (bench/cr_container_workload.c: MIB MiB of written, incompressible
# memory) runs (a) in a busybox container, checkpointed with `cryo checkpoint --image-path` and
# restored with `cryo restore -d --image-path --bundle`, and (b) bare on the host, dumped with
# `cryo dump -t PID -D DIR` and restored with `cryo restore -D DIR -d`. Each restored workload
# verifies its memory. Times are the wall time of the cryo command, median of RUNS runs;
# "container - bare" is the container handling (issue 4's goal: at most 20 ms each way).
# memcpy and disk write bandwidth (bench/bandwidth) are measured in the same run.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/bench/lib.sh" # sets BUILD and CRYO
MIB=${MIB:-512}
RUNS=${RUNS:-3}
IMAGES=${IMAGES:-/tmp}
bench_check "build it, Release"
bench_begin crc
root=$work/state
ids=()
# Before bench_begin's cleanup kills the bare workloads (pids) and removes $work.
bench_on_exit() {
    for id in "${ids[@]}"; do "$CRYO" --root "$root" delete --force "$id" >/dev/null 2>&1; done
}
die() { echo "bench/cr_container.sh: $*" >&2; exit 1; }

W=$work/cr_container_workload
cc -O2 -static -o "$W" "$src/bench/cr_container_workload.c" || die "cannot build the workload (static)"
bench_bandwidth_tool || die "cannot build bandwidth"
echo "measuring memcpy and disk write bandwidth ($IMAGES)..." >&2
bw=$(bench_bandwidth)
memcpy=$(echo "$bw" | bench_field memcpy_gbps)
disk=$(echo "$bw" | bench_field disk_write_gbps)

bundle=$work/bundle
CRYO=$CRYO "$src/scripts/make-bundle.sh" "$bundle" /workload "$MIB" /tmp/out >/dev/null || die "make-bundle.sh failed"
cp "$W" "$bundle/rootfs/workload"
out=$bundle/rootfs/tmp/out

now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000 )) | awk '{ printf "%.1f", $1 / 1000 }'; }
wait_for() { # FILE TEXT SECONDS
    local i
    for i in $(seq 1 $(($3 * 50))); do grep -qx "$2" "$1" 2>/dev/null && return 0; sleep 0.02; done
    return 1
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

c_dump=() c_rest=() b_dump=() b_rest=()
for run in $(seq 1 "$RUNS"); do
    echo "run $run/$RUNS..." >&2
    # (a) container
    id=crbench-$$-$run
    ids+=("$id")
    : > "$out"
    "$CRYO" --root "$root" run -d --bundle "$bundle" "$id" </dev/null >/dev/null 2>"$work/err" || die "run: $(cat "$work/err")"
    wait_for "$out" ready 60 || die "container workload not ready"
    img=$work/cimg-$run
    t=$(now)
    "$CRYO" --root "$root" checkpoint --image-path "$img" "$id" 2>"$work/err" || die "checkpoint: $(cat "$work/err")"
    c_dump+=("$(ms_since "$t")")
    "$CRYO" --root "$root" delete "$id" || die "delete after checkpoint"
    t=$(now)
    "$CRYO" --root "$root" restore -d --image-path "$img" --bundle "$bundle" "$id" </dev/null >/dev/null 2>"$work/err" \
        || die "restore: $(cat "$work/err")"
    c_rest+=("$(ms_since "$t")")
    "$CRYO" --root "$root" kill "$id" USR1
    wait_for "$out" "verify ok" 60 || die "container memory after restore: $(cat "$out")"
    "$CRYO" --root "$root" delete --force "$id" >/dev/null 2>&1
    rm -rf "$img"

    # (b) bare, same binary and size
    bout=$work/bare-out
    : > "$bout"
    # Started from a shell that exits at once: not our child, so no job message when the
    # dump kills it (it is reaped by init), like the container's init is not ours either.
    pid=$(setsid sh -c 'exec "$0" "$@" </dev/null >/dev/null 2>&1 & echo $!' "$W" "$MIB" "$bout")
    pids+=("$pid")
    wait_for "$bout" ready 60 || die "bare workload not ready"
    img=$work/bimg-$run
    t=$(now)
    "$CRYO" dump -t "$pid" -D "$img" --shell-job 2>"$work/err" || die "dump: $(cat "$work/err")"
    b_dump+=("$(ms_since "$t")")
    # The restore takes the same pid: wait until init has reaped the killed one.
    for _ in $(seq 1 500); do [ -e "/proc/$pid" ] || break; sleep 0.01; done
    [ ! -e "/proc/$pid" ] || die "dumped workload $pid was not reaped"
    t=$(now)
    "$CRYO" restore -D "$img" -d --pid-file "$work/bare.pid" </dev/null >/dev/null 2>"$work/err" || die "bare restore: $(cat "$work/err")"
    b_rest+=("$(ms_since "$t")")
    rpid=$(cat "$work/bare.pid")
    pids+=("$rpid")
    kill -USR1 "$rpid"
    wait_for "$bout" "verify ok" 60 || die "bare memory after restore: $(cat "$bout")"
    rm -rf "$img"
done

cd_=$(printf '%s\n' "${c_dump[@]}" | median)
cr_=$(printf '%s\n' "${c_rest[@]}" | median)
bd_=$(printf '%s\n' "${b_dump[@]}" | median)
br_=$(printf '%s\n' "${b_rest[@]}" | median)
echo
echo "checkpoint/restore of $MIB MiB written memory, median of $RUNS runs ($(basename "$CRYO") at $CRYO)"
echo "memcpy ${memcpy} GB/s, disk write ${disk} GB/s ($IMAGES)"
printf '%-10s %12s %12s %16s %10s   %s\n' direction "container ms" "bare ms" "container-bare" "goal" "runs container | bare"
for dir in dump restore; do
    if [ $dir = dump ]; then c=$cd_; b=$bd_; cr="${c_dump[*]}"; br="${b_dump[*]}"; else c=$cr_; b=$br_; cr="${c_rest[*]}"; br="${b_rest[*]}"; fi
    d=$(awk -v c="$c" -v b="$b" 'BEGIN { printf "%.1f", c - b }')
    ok=$(awk -v d="$d" 'BEGIN { print (d <= 20) ? "<=20 ok" : "<=20 MISSED" }')
    printf '%-10s %12s %12s %16s %10s   %s | %s\n' "$dir" "$c" "$b" "$d" "$ok" "$cr" "$br"
done
mb=$(awk -v m="$MIB" -v b="$bd_" 'BEGIN { printf "%.0f", m * 1.048576 / (b / 1000) }')
echo "bare dump: $mb MB/s"
