#!/bin/bash
# Checkpoint/restore of open files (tests/cr/cr_files.c): fd numbers with gaps, flags and
# CLOEXEC, O_APPEND, offsets shared by dup'ed fds (and by parent and child after fork), a
# deleted-but-open file, a pipe and a FIFO with unread data, eventfds, unix socketpairs with
# queued data, a sealed memfd, a directory, epoll, signalfd, timerfds, listening sockets, inotify. Also: a --leave-running dump consumes nothing,
# and unsupported fds are refused in one error that names them while the process runs on.
# Uses the engine driver tests/cr/cr_driver and the cryo CLI (CRYO_BUILD: the build
# directory; CRYO: the cryo binary).
set -u
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
BUILD=${CRYO_BUILD:-$(cd "$(dirname "$0")/../../build" && pwd)}
DRIVER=$BUILD/tests/cr/cr_driver
WORKLOAD=$BUILD/tests/cr/cr_files
[ -x "$DRIVER" ] && [ -x "$WORKLOAD" ] || { echo "FAIL: build cr_driver and cr_files first"; exit 1; }

TMP=$(mktemp -d /tmp/cr_files.XXXXXX)
PIDS=()
cleanup() {
    exec 2>/dev/null # no job notices for the workloads killed here
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    { wait; } 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }

# start NAME [mode]: runs the workload in $TMP/NAME, sets PID once it is ready.
start() {
    mkdir -p "$TMP/$1"
    "$WORKLOAD" "$TMP/$1" ${2:-} >"$TMP/$1.out" 2>&1 </dev/null &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 200); do
        grep -q "^ready" "$TMP/$1.out" && return 0
        sleep 0.02
    done
    fail "$1: workload not ready: $(cat "$TMP/$1.out")"
    return 1
}

# verify NAME PID: SIGUSR1, then waits for "verify ok".
verify() {
    kill -USR1 "$2"
    for _ in $(seq 200); do
        grep -q "^verify" "$TMP/$1.out" && break
        sleep 0.02
    done
    grep -q "^verify ok" "$TMP/$1.out" || fail "$1: $(cat "$TMP/$1.out")"
}

gone() { # waits until pid $1 no longer exists (reaped)
    for _ in $(seq 200); do [ -e /proc/$1 ] || return 0; sleep 0.02; done
    return 1
}

# 1. --leave-running: the image is written, nothing is consumed, the process runs on.
start running && {
    "$DRIVER" dump "$PID" "$TMP/running.img" --leave-running >"$TMP/running.dump" 2>&1 || fail "dump --leave-running: $(cat "$TMP/running.dump")"
    for f in manifest.json; do [ -e "$TMP/running.img/$f" ] || fail "image lacks $f"; done
    verify running "$PID"
    { wait "$PID"; } 2>/dev/null
}

# 2. Dump (the process is killed), restore, verify in the restored process.
start restore && {
    "$DRIVER" dump "$PID" "$TMP/restore.img" >"$TMP/restore.dump" 2>&1 || { fail "dump: $(cat "$TMP/restore.dump")"; kill -9 "$PID"; }
    { wait "$PID"; } 2>/dev/null
    gone "$PID" || fail "dumped process $PID still exists"
    "$DRIVER" restore "$TMP/restore.img" >"$TMP/restore.driver" 2>&1 &
    DRIVER_PID=$!
    PIDS+=("$DRIVER_PID" "$PID")
    for _ in $(seq 200); do [ -e /proc/$PID ] && [ -s "$TMP/restore.driver" ] && break; sleep 0.02; done
    if grep -q '"pid"' "$TMP/restore.driver"; then
        ls -l /proc/$PID/fd | grep -q ' 8 -> .*deleted.txt (deleted)' || fail "restored fd 8 is not deleted.txt (deleted)"
        verify restore "$PID"
        wait "$DRIVER_PID" || fail "restored workload exited with $?: $(cat "$TMP/restore.out")"
    else
        fail "restore: $(cat "$TMP/restore.driver")"
    fi
}

# 3. Parent and child sharing descriptions after fork: the image must record one
#    description for both; restored, the child must see the parent's reads move the offset.
start tree tree && {
    CHILD=$(cat /proc/$PID/task/$PID/children | tr -d ' ')
    "$DRIVER" dump "$PID" "$TMP/tree.img" >"$TMP/tree.dump" 2>&1 || { fail "tree dump: $(cat "$TMP/tree.dump")"; kill -9 "$PID" "$CHILD"; }
    { wait "$PID"; } 2>/dev/null
    if [ -e "$TMP/tree.img/process-$CHILD.json" ]; then
        for fd in 3 4 9 13 19; do
            a=$(jq ".files[] | select(.fd == $fd) | .description" "$TMP/tree.img/process-$PID.json")
            b=$(jq ".files[] | select(.fd == $fd) | .description" "$TMP/tree.img/process-$CHILD.json")
            [ -n "$a" ] && [ "$a" = "$b" ] || fail "fd $fd: parent description '$a', child '$b' (should be one)"
        done
        gone "$PID"; gone "$CHILD"
        "$DRIVER" restore "$TMP/tree.img" >"$TMP/tree.driver" 2>&1 &
        DRIVER_PID=$!
        PIDS+=("$DRIVER_PID" "$PID" "$CHILD")
        for _ in $(seq 200); do [ -s "$TMP/tree.driver" ] && break; sleep 0.02; done
        if grep -q "not supported yet" "$TMP/tree.driver"; then
            echo "NOTE: tree restore not in the engine yet ($(cat "$TMP/tree.driver")); image sharing checked only"
        elif grep -q '"pid"' "$TMP/tree.driver"; then
            verify tree "$PID"
            grep -q "^child verify ok" "$TMP/tree.out" || fail "tree child: $(cat "$TMP/tree.out")"
            echo "ok: tree restored; parent and child share descriptions and offsets"
        else
            fail "tree restore: $(cat "$TMP/tree.driver")"
        fi
    elif grep -q "not supported yet" "$TMP/tree.dump"; then
        echo "NOTE: tree dump not in the engine yet: $(cat "$TMP/tree.dump")"
    fi
}

# 4. Unsupported fds: one error naming both, no image, the process runs on unharmed.
start unsupported unsupported && {
    if "$DRIVER" dump "$PID" "$TMP/unsupported.img" >"$TMP/unsupported.dump" 2>&1; then
        fail "dump of a pidfd and a TCP socket succeeded"
    else
        msg=$(cat "$TMP/unsupported.dump")
        [ "$(wc -l <"$TMP/unsupported.dump")" = 1 ] || fail "more than one error line: $msg"
        echo "$msg" | grep -q "fd 30 (anon_inode:\[pidfd\]): pidfd is not supported yet" || fail "error does not name fd 30: $msg"
        echo "$msg" | grep -q "fd 31 (socket:\[[0-9]*\]): sockets of family AF_INET" || fail "error does not name fd 31: $msg"
    fi
    [ -e "$TMP/unsupported.img" ] && fail "a failed dump left $TMP/unsupported.img"
    grep -q "TracerPid:[[:space:]]*0" /proc/$PID/status || fail "process still traced after a failed dump"
    verify unsupported "$PID"
    { wait "$PID"; } 2>/dev/null
}

# 5. The same through the cryo CLI (dump -t, restore -d), when it is built.
CRYO=${CRYO:-$BUILD/src/cryo}
if [ -x "$CRYO" ]; then
    start cli && {
        "$CRYO" dump -t "$PID" -D "$TMP/cli.img" >"$TMP/cli.dump" 2>&1 || { fail "cryo dump: $(cat "$TMP/cli.dump")"; kill -9 "$PID"; }
        { wait "$PID"; } 2>/dev/null
        gone "$PID"
        "$CRYO" checkpoint inspect "$TMP/cli.img" --format json \
            | jq -e '[.processes[0].files[] | select(.fd == 4 or .fd == 7 or .fd == 20) | .description] | unique | length == 1' \
                >/dev/null || fail "cryo checkpoint inspect: fds 4, 7, 20 are not one description"
        if "$CRYO" restore -D "$TMP/cli.img" -d >"$TMP/cli.restore" 2>&1; then
            PIDS+=("$PID")
            verify cli "$PID"
        else
            fail "cryo restore: $(cat "$TMP/cli.restore")"
        fi
    }
else
    echo "NOTE: $CRYO not built; CLI path not checked"
fi

[ $FAILED = 0 ] && echo "PASS: cr_files"
exit $FAILED
