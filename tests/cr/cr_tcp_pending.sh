#!/bin/bash
# TCP connections waiting in a listener's accept queue (tests/cr/cr_tcp_pending.c): a child
# connected to the parent's IPv4 and IPv6 listeners, which have not accepted yet.
# 1. dump --tcp-established --leave-running takes nothing out of the accept queues (the
#    parent accepts both after it). 2. dump (tree killed): `cryo checkpoint inspect` shows the
#    client ends "not accepted yet"; after restore -d both wait in the restored listeners'
#    queues again (ss), the parent accepts them from the client's same ports, data flows both
#    ways. 3. A waiting connection holding bytes its server has not read is refused in one
#    line naming it, and the tree runs on with nothing lost. 4. A client that shut down its
#    sending side before being accepted is refused naming the connection; the tree runs on.
# 5. A half-closed connection, both ends in the tree (client FIN-WAIT2, server CLOSE-WAIT):
#    dumped, restored in the same states (ss), the server reads end of file and still sends.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_tcp_pending

_child_pid() { [ -n "$(tr -d ' ' </proc/$PID/task/$PID/children)" ]; }

# 1. --leave-running consumes nothing.
if start running "$WORKLOAD"; then
    "$CRYO" dump -t "$PID" -D "$TMP/running/img" --tcp-established --leave-running \
        || fail "running: dump --leave-running failed"
    verify running && grep -q "^child verify ok" "$TMP/running/out" || fail "running: $(cat "$TMP/running/out")"
fi

# 2. Dump, restore, the connections wait again and are accepted.
if start restore "$WORKLOAD"; then
    CHILD=${READY[2]}
    V4=$(ss -tlnpH | grep "pid=$PID," | grep -o '127.0.0.1:[0-9]*' | head -1)
    "$CRYO" dump -t "$PID" -D "$TMP/restore/img" --tcp-established || fail "restore: dump failed"
    gone "$PID" && gone "$CHILD" || fail "restore: tree still there after dump"
    inspect=$("$CRYO" checkpoint inspect "$TMP/restore/img" 2>&1)
    [ "$(echo "$inspect" | grep -c "established (not accepted yet)")" = 2 ] \
        && ok "inspect: $(echo "$inspect" | grep -o "tcp 127[^,]*(not accepted yet)" | head -1)" \
        || fail "inspect does not show 2 connections not accepted yet: $inspect"
    if "$CRYO" restore -D "$TMP/restore/img" -d; then
        queued=$(ss -tlnH "( sport = :${V4##*:} )" | awk '{ print $2 }')
        [ "$queued" = 1 ] && ok "restored listener $V4 has 1 connection in its accept queue" \
            || fail "accept queue of $V4 after restore: [$queued]"
        verify restore && grep -q "^child verify ok" "$TMP/restore/out" || fail "restore: $(cat "$TMP/restore/out")"
    else
        fail "restore failed"
    fi
fi

# 2b. The tree in a network namespace of its own (as in a container): its waiting connections
#     are found there. (A bare tree is restored into cryo's namespace.)
if start netns unshare -n sh -c "ip link set lo up && exec $WORKLOAD"; then
    CHILD=${READY[2]}
    "$CRYO" dump -t "$PID" -D "$TMP/netns/img" --tcp-established || fail "netns: dump failed"
    gone "$PID" && gone "$CHILD" || fail "netns: tree still there after dump"
    [ "$("$CRYO" checkpoint inspect "$TMP/netns/img" | grep -c "established (not accepted yet)")" = 2 ] \
        && ok "netns: both waiting connections found in the tree's namespace" \
        || fail "netns: inspect: $("$CRYO" checkpoint inspect "$TMP/netns/img")"
    if "$CRYO" restore -D "$TMP/netns/img" -d; then
        verify netns && grep -q "^child verify ok" "$TMP/netns/out" || fail "netns: $(cat "$TMP/netns/out")"
    else
        fail "netns: restore failed"
    fi
fi

# 3. Bytes waiting in a not yet accepted connection: refused by name, nothing lost.
if start data "$WORKLOAD" data; then
    refused data "connection 127.0.0.1:[0-9]+ -> 127.0.0.1:[0-9]+ waiting in the accept queue of tcp 127.0.0.1:[0-9]+ listening: the 5 bytes it received cannot be read without accepting it \(not supported\)$" \
        "$CRYO" dump -t "$PID" -D "$TMP/data/img" --tcp-established
    [ -e "$TMP/data/img" ] && fail "data: a refused dump left an image"
    verify data && grep -q "^child verify ok" "$TMP/data/out" || fail "data: $(cat "$TMP/data/out")"
fi

# 4. A half-closed connection: refused, naming the state.
if start shut "$WORKLOAD" shutdown; then
    refused shut "connection 127.0.0.1:[0-9]+ -> 127.0.0.1:[0-9]+ waiting in the accept queue of tcp 127.0.0.1:[0-9]+ listening: already closed by its client \(not supported\)$" \
        "$CRYO" dump -t "$PID" -D "$TMP/shut/img" --tcp-established
    [ -e "$TMP/shut/img" ] && fail "shut: a refused dump left an image"
    verify shut && grep -q "^child verify ok" "$TMP/shut/out" || fail "shut: $(cat "$TMP/shut/out")"
fi

# 5. Half closed, both ends in the tree.
if start half "$WORKLOAD" halfclosed; then
    CHILD=${READY[2]}
    states() { ss -tanH state close-wait state fin-wait-2 "( sport = :$1 or dport = :$1 )" | awk '{ print $1 }' | sort | tr '\n' ' '; }
    V4=$(ss -tlnpH | grep "pid=$PID," | grep -o '127.0.0.1:[0-9]*' | head -1)
    before=$(states "${V4##*:}")
    "$CRYO" dump -t "$PID" -D "$TMP/half/img" --tcp-established 2>"$TMP/half/err" || fail "half: dump: $(cat "$TMP/half/err")"
    gone "$PID" && gone "$CHILD" || fail "half: tree still there after dump"
    "$CRYO" checkpoint inspect "$TMP/half/img" | grep -q "tcp 127.0.0.1:[0-9]* -> 127.0.0.1:[0-9]* close-wait" \
        || fail "half: inspect: $("$CRYO" checkpoint inspect "$TMP/half/img" 2>&1)"
    if "$CRYO" restore -D "$TMP/half/img" -d 2>"$TMP/half/err"; then
        after=$(states "${V4##*:}")
        [ "$before" = "CLOSE-WAIT FIN-WAIT-2 " ] && [ "$after" = "$before" ] && ok "half: states as before: $after" \
            || fail "half: states before [$before] after [$after]"
        verify half && grep -q "^child verify ok" "$TMP/half/out" || fail "half: $(cat "$TMP/half/out")"
    else
        fail "half: restore: $(cat "$TMP/half/err")"
    fi
fi
finish
