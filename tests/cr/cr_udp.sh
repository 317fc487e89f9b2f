#!/bin/bash
# UDP sockets (tests/cr/cr_udp.c): IPv4 and IPv6, bound, connected and unconnected, with
# SO_REUSEADDR, a set receive buffer, IPV6_V6ONLY, O_NONBLOCK, and unread datagrams queued
# from three sources. 1. dump --leave-running copies the queues without consuming them (the
# workload reads them all after). 2. dump, `cryo checkpoint inspect` shows the sockets and
# their queues; restore -d: every datagram is back in order with its source, ports, peers,
# options and flags are as before, and new datagrams flow.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_udp

if start running "$WORKLOAD"; then
    "$CRYO" dump -t "$PID" -D "$TMP/running/img" --leave-running || fail "running: dump --leave-running failed"
    verify running
fi

if start restore "$WORKLOAD"; then
    "$CRYO" dump -t "$PID" -D "$TMP/restore/img" || fail "restore: dump failed"
    gone "$PID" || fail "restore: still there after dump"
    inspect=$("$CRYO" checkpoint inspect "$TMP/restore/img" 2>&1)
    echo "$inspect" | grep -q "udp 127.0.0.1:[0-9]*, 3 queued datagrams" \
        && echo "$inspect" | grep -q "udp \[::1\]:[0-9]* -> \[::1\]:[0-9]*, 1 queued datagram" \
        && ok "inspect: $(echo "$inspect" | grep -o 'udp 127.0.0.1:[0-9]*, 3 queued datagrams')" \
        || fail "inspect: $inspect"
    if "$CRYO" restore -D "$TMP/restore/img" -d; then
        verify restore
    else
        fail "restore failed"
    fi
fi
finish
