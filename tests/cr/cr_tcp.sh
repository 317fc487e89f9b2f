#!/bin/bash
# Checkpoint/restore of TCP sockets over loopback (tests/cr/cr_tcp.c): IPv4 and IPv6
# listeners and an accepted connection between a server and its child, with unread data
# queued both ways. 1. A dump without --tcp-established is refused in one line naming the
# connection, and the tree runs on. 2. --leave-running --tcp-established: the tree runs on
# with its queues intact. 3. dump --tcp-established (tree killed), restore -d: the queued
# data arrives intact, new data flows both ways, both listeners accept new connections, fds
# keep numbers, flags and options; `cryo checkpoint inspect` lists the sockets. Ports come
# from bind(port 0), so runs never collide.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_tcp

# start_tcp NAME [mode]: runs the workload, sets PID and CHILD once both sides have their data
# queued (the parent's "ready" may come before the child's "child ready").
_child_ready() { grep -q "^child ready" "$TMP/$1/out"; }
start_tcp() {
    start "$1" "$WORKLOAD" ${2:-} || return 1
    wait_for 6 _child_ready "$1" || { fail "$1: child not ready: $(cat "$TMP/$1/out")"; return 1; }
    CHILD=$(tr -d ' ' </proc/$PID/task/$PID/children)
    PIDS+=("$CHILD")
}

# verify_tcp NAME: the server's verdict (it waits for its child) and the child's.
verify_tcp() {
    verify "$1" || return 1
    grep -q "^child verify ok" "$TMP/$1/out" || { fail "$1: $(cat "$TMP/$1/out")"; return 1; }
}

# 1. Without --tcp-established: one error line naming the connection; the tree runs on.
start_tcp refused && {
    if "$CRYO" dump -t "$PID" -D "$TMP/refused.img" >"$TMP/refused.dump" 2>&1; then
        fail "dump of an established connection without --tcp-established succeeded"
    else
        msg=$(cat "$TMP/refused.dump")
        [ "$(wc -l <"$TMP/refused.dump")" = 1 ] || fail "more than one error line: $msg"
        echo "$msg" | grep -q "established TCP connection 127.0.0.1:[0-9]* -> 127.0.0.1:[0-9]* needs --tcp-established" \
            || fail "error does not name the connection: $msg"
    fi
    [ -e "$TMP/refused.img" ] && fail "a refused dump left an image"
    grep -q "State:.*[ST]" /proc/$PID/status && grep -q "TracerPid:[[:space:]]*0" /proc/$PID/status \
        || fail "server not running untraced after a refused dump"
    verify_tcp refused && echo "ok: refused without --tcp-established, tree ran on"
}

# 2. --leave-running: the image is written, the queues are intact, traffic goes on.
start_tcp running && {
    "$CRYO" dump -t "$PID" -D "$TMP/running.img" --leave-running --tcp-established >"$TMP/running.dump" 2>&1 \
        || fail "dump --leave-running: $(cat "$TMP/running.dump")"
    verify_tcp running && echo "ok: --leave-running dump, connection intact"
}

# 3. Dump (tree killed), restore, verify in the restored tree.
start_tcp restore && {
    read -r _ V4 V6 < <(grep "^ports" "$TMP/restore/out")
    "$CRYO" dump -t "$PID" -D "$TMP/restore.img" --tcp-established >"$TMP/restore.dump" 2>&1 \
        || fail "dump: $(cat "$TMP/restore.dump")"
    { wait "$PID"; } 2>/dev/null
    gone "$PID" && gone "$CHILD" || fail "dumped tree still exists"
    ss -tanH "( sport = :$V4 or dport = :$V4 )" | grep -q . && fail "sockets left on port $V4 after the kill: $(ss -tan "( sport = :$V4 )")"
    inspect=$("$CRYO" checkpoint inspect "$TMP/restore.img" 2>&1)
    echo "$inspect" | grep -q "tcp 127.0.0.1:$V4 listening" || fail "inspect lacks the IPv4 listener: $inspect"
    echo "$inspect" | grep -q "tcp \[::1\]:$V6 listening" || fail "inspect lacks the IPv6 listener: $inspect"
    echo "$inspect" | grep -q "tcp 127.0.0.1:$V4 -> 127.0.0.1:[0-9]* established" || fail "inspect lacks the connection: $inspect"
    if "$CRYO" restore -D "$TMP/restore.img" -d >"$TMP/restore.restore" 2>&1; then
        [ "$(readlink /proc/$PID/fd/12 | cut -c1-7)" = "socket:" ] || fail "restored fd 12 is not a socket"
        [ "$(readlink /proc/$CHILD/fd/13 | cut -c1-7)" = "socket:" ] || fail "restored child fd 13 is not a socket"
        ss -tlnH "( sport = :$V4 )" | grep -q 127.0.0.1 || fail "no IPv4 listener on $V4 after restore"
        verify_tcp restore && echo "ok: restored; queued data, new traffic, listeners"
    else
        fail "restore: $(cat "$TMP/restore.restore")"
    fi
}

# 4. Most of the server's data still in its send queue (the client's receive buffer is tiny):
#    restored into the send queue in repair mode, retransmitted after, arrives intact.
start_tcp sendq sendq && {
    "$CRYO" dump -t "$PID" -D "$TMP/sendq.img" --tcp-established >"$TMP/sendq.dump" 2>&1 \
        || fail "sendq dump: $(cat "$TMP/sendq.dump")"
    { wait "$PID"; } 2>/dev/null
    gone "$PID" && gone "$CHILD" || fail "dumped tree still exists"
    sent=$(jq '[.file_descriptions[] | select(.kind == "tcp-socket") | .tcp.repair.send_queue // 0] | max' \
        "$TMP/sendq.img/process-$PID.json")
    [ "${sent:-0}" -gt 0 ] || fail "sendq: no bytes in the server's send queue in the image ($sent)"
    if "$CRYO" restore -D "$TMP/sendq.img" -d >"$TMP/sendq.restore" 2>&1; then
        verify_tcp sendq && echo "ok: send queue of $sent bytes restored and delivered"
    else
        fail "sendq restore: $(cat "$TMP/sendq.restore")"
    fi
}

finish
