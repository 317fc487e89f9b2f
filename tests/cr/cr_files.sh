#!/bin/bash
# Checkpoint/restore of open files (tests/cr/cr_files.c): fd numbers with gaps, flags and
# CLOEXEC, O_APPEND, offsets shared by dup'ed fds (and by parent and child after fork), a
# deleted-but-open file, a pipe and a FIFO with unread data, eventfds, unix socketpairs with
# queued data, a sealed memfd, a directory, epoll, signalfd, timerfds, listening sockets, inotify. Also: a --leave-running dump consumes nothing,
# and unsupported fds are refused in one error that names them while the process runs on.
# Uses the engine driver tests/cr/cr_driver and the cryo CLI (CRYO_BUILD: the build
# directory; CRYO: the cryo binary).
source "$(dirname "$0")/lib.sh"
need cr_driver
workload cr_files

# start_files NAME [mode]: the workload on its directory $TMP/NAME/w (output: $TMP/NAME/out).
start_files() {
    mkdir -p "$TMP/$1/w"
    start "$1" "$WORKLOAD" "$TMP/$1/w" ${2:-}
}

# 1. --leave-running: the image is written, nothing is consumed, the process runs on.
start_files running && {
    "$DRIVER" dump "$PID" "$TMP/running.img" --leave-running >"$TMP/running.dump" 2>&1 || fail "dump --leave-running: $(cat "$TMP/running.dump")"
    for f in manifest.json; do [ -e "$TMP/running.img/$f" ] || fail "image lacks $f"; done
    verify running
    { wait "$PID"; } 2>/dev/null
}

# 2. Dump (the process is killed), restore, verify in the restored process.
start_files restore && {
    "$DRIVER" dump "$PID" "$TMP/restore.img" >"$TMP/restore.dump" 2>&1 || { fail "dump: $(cat "$TMP/restore.dump")"; kill -9 "$PID"; }
    { wait "$PID"; } 2>/dev/null
    gone "$PID" || fail "dumped process $PID still exists"
    "$DRIVER" restore "$TMP/restore.img" >"$TMP/restore.driver" 2>&1 &
    DRIVER_PID=$!
    PIDS+=("$DRIVER_PID" "$PID")
    for _ in $(seq 200); do [ -e /proc/$PID ] && [ -s "$TMP/restore.driver" ] && break; sleep 0.02; done
    if grep -q '"pid"' "$TMP/restore.driver"; then
        ls -l /proc/$PID/fd | grep -q ' 8 -> .*deleted.txt (deleted)' || fail "restored fd 8 is not deleted.txt (deleted)"
        verify restore
        wait "$DRIVER_PID" || fail "restored workload exited with $?: $(cat "$TMP/restore/out")"
    else
        fail "restore: $(cat "$TMP/restore.driver")"
    fi
}

# 3. Parent and child sharing descriptions after fork: the image must record one
#    description for both; restored, the child must see the parent's reads move the offset.
start_files tree tree && {
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
            verify tree
            grep -q "^child verify ok" "$TMP/tree/out" || fail "tree child: $(cat "$TMP/tree/out")"
            echo "ok: tree restored; parent and child share descriptions and offsets"
        else
            fail "tree restore: $(cat "$TMP/tree.driver")"
        fi
    elif grep -q "not supported yet" "$TMP/tree.dump"; then
        echo "NOTE: tree dump not in the engine yet: $(cat "$TMP/tree.dump")"
    fi
}

# 4. Unsupported fds: one error naming both, no image, the process runs on unharmed.
start_files unsupported unsupported && {
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
    verify unsupported
    { wait "$PID"; } 2>/dev/null
}

# 5. The same through the cryo CLI (dump -t, restore -d), when it is built.
if [ -x "$CRYO" ]; then
    start_files cli && {
        "$CRYO" dump -t "$PID" -D "$TMP/cli.img" >"$TMP/cli.dump" 2>&1 || { fail "cryo dump: $(cat "$TMP/cli.dump")"; kill -9 "$PID"; }
        { wait "$PID"; } 2>/dev/null
        gone "$PID"
        "$CRYO" checkpoint inspect "$TMP/cli.img" --format json \
            | jq -e '[.processes[0].files[] | select(.fd == 4 or .fd == 7 or .fd == 20) | .description] | unique | length == 1' \
                >/dev/null || fail "cryo checkpoint inspect: fds 4, 7, 20 are not one description"
        if "$CRYO" restore -D "$TMP/cli.img" -d >"$TMP/cli.restore" 2>&1; then
            PIDS+=("$PID")
            verify cli
        else
            fail "cryo restore: $(cat "$TMP/cli.restore")"
        fi
    }
else
    echo "NOTE: $CRYO not built; CLI path not checked"
fi

finish
