#!/bin/bash
# Unix connections waiting, not accepted yet, in the accept queues of listeners of the tree
# (tests/cr/cr_unix_pending.c: stream and seqpacket listeners on paths and abstract names, ten
# clients of two processes queued in a known order).
# 1. dump --leave-running takes nothing out of the queues: the workload accepts every
#    connection after it, in order. 2. dump (tree killed): inspect lists each listener's queue
#    by process and fd; after restore -d the queues hold the same connections in the same
#    order (ss counts them), the clients keep fd numbers, flags and peers, the servers see
#    each client's uid and gid (SO_PEERCRED; the child runs as 65534), data flows both ways
#    once accepted. 3. The same for a tree in a network namespace of its own.
# Refused in one line naming the listener and the connection, the tree running on untraced
# with nothing lost: 4. a client that sent data before the dump (readable only by accepting
# it); 5. a client outside the tree; 6. a client that closed before being accepted.
# 7. A client of the tree waiting at a listener outside it: refused without --ext-unix-sk;
#    with it, restored connected again to that listener by name, as the same uid and gid.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_unix_pending

# The workload's child runs as uid 65534 and connects to sockets under $TMP.
chmod 711 "$TMP"
untraced() { grep -q "TracerPid:.0$" "/proc/$1/status"; }
queue_of() { ss -xlH "src $1" | awk '{ print $3 }'; }

# 1. --leave-running.
mkdir -p "$TMP/running/w"
if start running "$WORKLOAD" "$TMP/running/w"; then
    "$CRYO" dump -t "$PID" -D "$TMP/running/img" --leave-running 2>"$TMP/running/err" \
        || fail "running: dump --leave-running: $(cat "$TMP/running/err")"
    verify running && grep -q "^child verify ok" "$TMP/running/out" || fail "running: $(cat "$TMP/running/out")"
fi

# 2. Dump, restore, accept.
mkdir -p "$TMP/restore/w"
if start restore "$WORKLOAD" "$TMP/restore/w"; then
    CHILD=${READY[2]}
    before="$(queue_of "$TMP/restore/w/stream.sock") $(queue_of "$TMP/restore/w/seq.sock")"
    if "$CRYO" dump -t "$PID" -D "$TMP/restore/img" 2>"$TMP/restore/err"; then
        { wait "$PID"; } 2>/dev/null # no job notice for the killed tree
        gone "$PID" && gone "$CHILD" || fail "restore: tree still there after dump"
        inspect=$("$CRYO" checkpoint inspect "$TMP/restore/img" 2>&1)
        want="listening on $TMP/restore/w/stream.sock, 3 pending connections: process $CHILD fd 20, process $PID fd 30, process $CHILD fd 21"
        echo "$inspect" | grep -qF "$want" && ok "inspect: ...$want" || fail "inspect: no [$want] in: $inspect"
        want="listening on @cryo-pending-seq-$PID, 2 pending connections: process $PID fd 33, process $CHILD fd 25"
        echo "$inspect" | grep -qF "$want" || fail "inspect: no [$want] in: $inspect"
        [ "$(echo "$inspect" | grep -c "not accepted yet")" = 10 ] \
            && ok "inspect: 10 clients not accepted yet" || fail "inspect: clients: $inspect"
        "$CRYO" checkpoint inspect "$TMP/restore/img" --format json | jq -e \
            '[.processes[].files[] | select(.pending_connections) | .pending_connections | length] | sort == [2, 2, 3, 3]' \
            >/dev/null || fail "inspect --format json: pending connections"
        if "$CRYO" restore -D "$TMP/restore/img" -d 2>"$TMP/restore/err"; then
            after="$(queue_of "$TMP/restore/w/stream.sock") $(queue_of "$TMP/restore/w/seq.sock")"
            [ "$before" = "3 3" ] && [ "$after" = "$before" ] && ok "restore: queues of the path listeners: $after" \
                || fail "restore: queues before [$before] after [$after]"
            verify restore && grep -q "^child verify ok" "$TMP/restore/out" || fail "restore: $(cat "$TMP/restore/out")"
        else
            fail "restore: $(cat "$TMP/restore/err")"
        fi
    else
        fail "restore: dump: $(cat "$TMP/restore/err")"
    fi
fi

# 3. In a network namespace of its own (abstract names live there); a bare tree comes back in
#    cryo's namespace.
mkdir -p "$TMP/netns/w"
if command -v unshare >/dev/null && start netns unshare -n "$WORKLOAD" "$TMP/netns/w"; then
    CHILD=${READY[2]}
    if "$CRYO" dump -t "$PID" -D "$TMP/netns/img" 2>"$TMP/netns/err"; then
        { wait "$PID"; } 2>/dev/null
        gone "$PID" && gone "$CHILD" || fail "netns: tree still there after dump"
        if "$CRYO" restore -D "$TMP/netns/img" -d 2>"$TMP/netns/err"; then
            verify netns && grep -q "^child verify ok" "$TMP/netns/out" || fail "netns: $(cat "$TMP/netns/out")"
        else
            fail "netns: restore: $(cat "$TMP/netns/err")"
        fi
    else
        fail "netns: dump: $(cat "$TMP/netns/err")"
    fi
fi

# 4. Data sent on a connection not accepted yet: refused (kill mode and --leave-running).
mkdir -p "$TMP/data/w"
if start data "$WORKLOAD" "$TMP/data/w" data; then
    CHILD=${READY[2]}
    for flags in "" --leave-running; do
        refused data "process $PID fd 10: listening unix socket $TMP/data/w/stream.sock: pending connection 3 of 3 \(from process $CHILD fd 21\) holds data its client sent, which cannot be read without accepting the connection \(not supported\)$" \
            "$CRYO" dump -t "$PID" -D "$TMP/data/img" $flags
        [ -e "$TMP/data/img" ] && fail "data: a refused dump left an image"
    done
    untraced "$PID" && untraced "$CHILD" || fail "data: still traced after the refusal"
    verify data && grep -q "^child verify ok" "$TMP/data/out" || fail "data: $(cat "$TMP/data/out")"
fi

# 5, 6. A client outside the tree, still open (5) or closed already (6), waits last in the
#       queue of fd 10.
if command -v python3 >/dev/null; then
    for case in outside closed; do
        mkdir -p "$TMP/$case/w"
        start "$case" "$WORKLOAD" "$TMP/$case/w" extra || continue
        python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
if sys.argv[2] == "outside":
    print("connected", flush=True)
    time.sleep(600)
else:
    s.close()
    print("connected", flush=True)
' "$TMP/$case/w/stream.sock" "$case" >"$TMP/$case/client.out" 2>&1 &
        client=$!
        PIDS+=("$client")
        _connected() { grep -qs connected "$TMP/$case/client.out"; }
        wait_for 5 _connected || { fail "$case: client did not connect: $(cat "$TMP/$case/client.out")"; continue; }
        if [ $case = outside ]; then
            reason="comes from socket:\[[0-9]+\] outside the tree \(not supported\)"
        else
            reason="was closed by its client before it was accepted \(not supported\)"
        fi
        refused "$case" "process $PID fd 10: listening unix socket $TMP/$case/w/stream.sock: pending connection 4 of 4 $reason$" \
            "$CRYO" dump -t "$PID" -D "$TMP/$case/img"
        [ -e "$TMP/$case/img" ] && fail "$case: a refused dump left an image"
        untraced "$PID" && untraced "${READY[2]}" || fail "$case: still traced after the refusal"
        kill "$client" 2>/dev/null
        verify "$case" && grep -q "^child verify ok" "$TMP/$case/out" && grep -q "^extra: $case$" "$TMP/$case/out" \
            || fail "$case: $(cat "$TMP/$case/out")"
    done

    # 7. A client of the tree waiting at a listener outside it. The outside server accepts only
    #    once $TMP/ext/go exists, then logs each connection it accepts (data or eof, peer uid and
    #    gid) and answers "ack:" + data.
    mkdir -p "$TMP/ext/w"
    python3 -c '
import os, socket, struct, sys, time
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
l.listen(4)
print("listening", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.02)
while True:
    c, _ = l.accept()
    c.settimeout(5)
    try:
        data = c.recv(64)
    except socket.timeout:
        data = b"(timeout)"
    pid, uid, gid = struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    print("got %s from %d:%d" % (data.decode() if data else "eof", uid, gid), flush=True)
    if data:
        c.sendall(b"ack:" + data)
' "$TMP/ext/server.sock" "$TMP/ext/go" >"$TMP/ext/server.out" 2>&1 &
    PIDS+=("$!")
    _listening() { grep -q listening "$TMP/ext/server.out"; }
    wait_for 5 _listening || fail "ext: server: $(cat "$TMP/ext/server.out")"
    if start ext "$WORKLOAD" "$TMP/ext/w" ext "$TMP/ext/server.sock"; then
        CHILD=${READY[2]}
        refused ext "process $CHILD fd 26: unix socket:\[[0-9]+\] waits, not accepted yet, in the accept queue of listening unix socket $TMP/ext/server.sock outside the tree \(dump --ext-unix-sk connects it again by name\)$" \
            "$CRYO" dump -t "$PID" -D "$TMP/ext/refused"
        untraced "$PID" && untraced "$CHILD" || fail "ext: still traced after the refusal"
        if { dump_restore ext --ext-unix-sk; } 2>"$TMP/ext/err"; then
            [ "$(queue_of "$TMP/ext/server.sock")" = 2 ] && ok "ext: the outside listener holds the old and the new connection" \
                || fail "ext: queue of the outside listener: [$(queue_of "$TMP/ext/server.sock")]"
            touch "$TMP/ext/go"
            verify ext && grep -q "^child verify ok" "$TMP/ext/out" || fail "ext: $(cat "$TMP/ext/out")"
            got=$(tr '\n' ',' <"$TMP/ext/server.out")
            # Both from the child's identity: the restore connects as the process holding the socket.
            [ "$got" = "listening,got eof from 65534:65534,got c26 from 65534:65534," ] && ok "ext: outside server saw: $got" || fail "ext: outside server saw: $got"
        else
            fail "ext: $(cat "$TMP/ext/err")"
        fi
    fi
fi
finish
