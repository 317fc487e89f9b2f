#!/bin/bash
# Socket options across dump and restore (tests/cr/cr_sockopts.c): a TCP listener, an
# established pair (--tcp-established), a UDP socket and a unix socketpair with non-default
# options. 1. The image's process metadata lists the kept options, and only those. 2. After restore -d every option reads
# back as before, IP_PKTINFO/IP_RECVTTL and SO_PASSCRED still deliver their ancillary data,
# the connection carries bytes and the listener accepts.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_sockopts

if start restore "$WORKLOAD"; then
    "$CRYO" dump -t "$PID" -D "$TMP/restore/img" --tcp-established >"$TMP/restore/dump.out" 2>&1 \
        || fail "dump failed: $(cat "$TMP/restore/dump.out")"
    gone "$PID" || fail "still there after dump"
    json=$(cat "$TMP"/restore/img/process-*.json)
    for name in SO_LINGER TCP_CONGESTION IP_PKTINFO SO_PASSCRED TCP_DEFER_ACCEPT SO_MARK; do
        echo "$json" | grep -q "\"$name\"" || fail "image: no $name among the kept options"
    done
    # Options left at their defaults are not written.
    echo "$json" | grep -q '"IPV6_TCLASS"\|"SO_DONTROUTE"' && fail "image: default options written"
    if "$CRYO" restore -D "$TMP/restore/img" -d >"$TMP/restore/restore.out" 2>&1; then
        verify restore
    else
        fail "restore failed: $(cat "$TMP/restore/restore.out")"
    fi
fi
finish
