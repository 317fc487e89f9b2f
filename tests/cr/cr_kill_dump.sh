#!/bin/bash
# cryo killed (SIGKILL) in the middle of a dump never harms the tree: for each phase of the
# dump (CRYO_TEST_KILL_AT, a hook compiled into cryo), with and without --leave-running, the
# workload (tests/cr/cr_memory) keeps beating, is not traced or stopped, has exactly the
# mappings it had before, and its memory verifies.
# Phases: freeze (before seizing), frozen (all seized), scratch (a scratch page just mapped in
# the process by a remote mmap, its registers changed), collected (metadata read), copying (the
# first 8 MiB copied), pages (a process's pages copied), thawed (--leave-running: thawed, image
# being written), written (page files written, before the commit).
# Known limit, checked separately: "scratch" leaves the 4 KiB scratch mapping behind (cryo
# cannot unmap it once dead); the process runs on and verifies, see docs/checkpoint-image.md.
set -u
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
BUILD=${CRYO_BUILD:-$(cd "$(dirname "$0")/../../build" && pwd)}
CRYO=${CRYO:-$BUILD/src/cryo}
WORKLOAD=$BUILD/tests/cr/cr_memory
[ -x "$CRYO" ] && [ -x "$WORKLOAD" ] || { echo "FAIL: build cryo and cr_memory first"; exit 1; }

TMP=$(mktemp -d /tmp/cr_kill.XXXXXX)
PIDS=()
cleanup() {
    exec 2>/dev/null
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    { wait; } 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }
ok() { echo "ok: $*"; }

start() {
    mkdir -p "$TMP/$1"
    (
        for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
        exec "$WORKLOAD" "$2" "$TMP/$1/beat" >"$TMP/$1/out" 2>&1 </dev/null
    ) &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 300); do
        grep -q "^ready" "$TMP/$1/out" 2>/dev/null && return 0
        sleep 0.02
    done
    fail "$1: workload not ready: $(cat "$TMP/$1/out")"
    return 1
}
beats() { wc -l <"$TMP/$1/beat"; }

# check NAME PID MAPS_BEFORE [allow-scratch]
check() {
    local name=$1 pid=$2 before=$3 allow=${4:-}
    sleep 0.2
    [ -e /proc/$pid ] || { fail "$name: process died: $(cat "$TMP/$name/out")"; return; }
    grep -q "TracerPid:.0$" /proc/$pid/status || fail "$name: still traced: $(grep TracerPid /proc/$pid/status)"
    state=$(awk '/^State:/ {print $2}' /proc/$pid/status)
    [ "$state" = t ] || [ "$state" = T ] && fail "$name: left stopped (state $state)"
    b1=$(beats "$name"); sleep 0.3; b2=$(beats "$name")
    [ "$b2" -gt "$b1" ] || fail "$name: no heartbeat ($b1 -> $b2)"
    after=$(cat /proc/$pid/maps)
    if [ "$before" != "$after" ]; then
        extra=$(diff <(echo "$before") <(echo "$after") | grep '^>' )
        if [ -n "$allow" ] && [ "$(echo "$extra" | wc -l)" = 1 ] && echo "$extra" | grep -q ' 00:00 0 *$'; then
            echo "known: $name: scratch mapping left behind: $extra"
        else
            fail "$name: mappings changed: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')"
        fi
    fi
    kill -USR1 "$pid"
    for _ in $(seq 100); do [ -e /proc/$pid ] || break; sleep 0.05; done
    { wait "$pid"; } 2>/dev/null
    grep -q "^verify ok" "$TMP/$name/out" && ok "$name: runs on, memory verified" \
        || fail "$name: $(cat "$TMP/$name/out")"
}

for mode in leave kill; do
    for phase in freeze frozen scratch collected copying pages thawed written; do
        [ $mode = kill ] && [ $phase = thawed ] && continue
        name=$mode-$phase
        start "$name" 24 || continue
        before=$(cat /proc/$PID/maps)
        flags=()
        [ $mode = leave ] && flags=(--leave-running)
        # (The braces keep bash's "Killed" notice out of the output.)
        { CRYO_TEST_KILL_AT=$phase "$CRYO" dump -t "$PID" -D "$TMP/$name/img" "${flags[@]}" >"$TMP/$name/dump.log" 2>&1; } 2>/dev/null
        rc=$?
        [ $rc = 137 ] || fail "$name: cryo exited with $rc, not killed at $phase: $(cat "$TMP/$name/dump.log")"
        [ -e "$TMP/$name/img/manifest.json" ] && fail "$name: an image was committed"
        allow=
        [ $phase = scratch ] && allow=1
        check "$name" "$PID" "$before" $allow
    done
done

exit $FAILED
