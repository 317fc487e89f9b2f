#!/bin/bash
# Socket options across dump and restore (tests/cr/cr_sockopts.c): a TCP listener, an
# established pair (--tcp-established), IPv4 and IPv6 UDP sockets and a unix socketpair with
# non-default options. 1. dump --leave-running: the tree runs on, every option as it was.
# 2. dump: the image's process metadata lists the kept options, and only those; after
# restore -d every option reads back as before, IP_PKTINFO/IP_RECVTTL, IPV6_RECVPKTINFO and
# SO_PASSCRED still deliver their ancillary data, the connection carries bytes and the
# listener accepts. 3. A socket bound (SO_BINDTODEVICE) to a device that is gone at restore:
# the restore fails in one line naming the socket and the option, and nothing runs on.
# 4. In a network namespace whose ip_default_ttl (80) is not cryo's (64): a fresh socket of
# the tree's namespace is the reference, so IP_TTL 64 set by the program is kept and the
# default of the other socket is not.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_sockopts

# 1. --leave-running: reading the options changes none of them.
if start running "$WORKLOAD"; then
    "$CRYO" dump -t "$PID" -D "$TMP/running/img" --leave-running --tcp-established >"$TMP/running/dump.out" 2>&1 \
        || fail "running: dump --leave-running failed: $(cat "$TMP/running/dump.out")"
    verify running
fi

# 2. dump (tree killed), restore -d.
if start restore "$WORKLOAD"; then
    "$CRYO" dump -t "$PID" -D "$TMP/restore/img" --tcp-established >"$TMP/restore/dump.out" 2>&1 \
        || fail "dump failed: $(cat "$TMP/restore/dump.out")"
    gone "$PID" || fail "still there after dump"
    json=$(cat "$TMP"/restore/img/process-*.json)
    for name in SO_LINGER TCP_CONGESTION IP_PKTINFO SO_PASSCRED TCP_DEFER_ACCEPT SO_MARK SO_BINDTODEVICE \
        IPV6_RECVPKTINFO; do
        echo "$json" | grep -q "\"$name\"" || fail "image: no $name among the kept options"
    done
    # Options left at their defaults are not written.
    echo "$json" | grep -q '"SO_DONTROUTE"\|"IP_MTU_DISCOVER"\|"UDP_GRO"' && fail "image: default options written"
    # inspect shows them, as text and as JSON.
    "$CRYO" checkpoint inspect "$TMP/restore/img" | grep -q "options: .*TCP_CONGESTION=reno" \
        || fail "inspect: no options line with TCP_CONGESTION=reno"
    "$CRYO" checkpoint inspect "$TMP/restore/img" --format json \
        | jq -e '[.processes[].files[].socket_options // [] | .[]] | any(startswith("SO_LINGER=on"))' >/dev/null \
        || fail "inspect --format json: no SO_LINGER among the files' socket_options"
    if "$CRYO" restore -D "$TMP/restore/img" -d >"$TMP/restore/restore.out" 2>&1; then
        verify restore
    else
        fail "restore failed: $(cat "$TMP/restore/restore.out")"
    fi
fi

# 3. The device of SO_BINDTODEVICE is gone at restore.
dev=cso$$x
dev=${dev:0:12}
if ip link add "${dev}a" type veth peer name "${dev}b" 2>/dev/null; then
    defer "ip link del ${dev}a 2>/dev/null"
    if start device "$WORKLOAD" bind-device "${dev}a"; then
        "$CRYO" dump -t "$PID" -D "$TMP/device/img" >"$TMP/device/dump.out" 2>&1 \
            || fail "device: dump failed: $(cat "$TMP/device/dump.out")"
        gone "$PID" || fail "device: still there after dump"
        ip link del "${dev}a"
        refused device "udp .*socket option SO_BINDTODEVICE=${dev}a: .*No such device" \
            "$CRYO" restore -D "$TMP/device/img" -d
        gone "$PID" || fail "device: a process of the failed restore runs on"
    fi
else
    note "no veth pair: the SO_BINDTODEVICE refusal case is not run"
fi

# 4. Defaults of the tree's network namespace.
if command -v unshare >/dev/null \
    && start netns unshare -n sh -c "echo 80 >/proc/sys/net/ipv4/ip_default_ttl && exec $WORKLOAD ttl"; then
    "$CRYO" dump -t "$PID" -D "$TMP/netns/img" >"$TMP/netns/dump.out" 2>&1 \
        || fail "netns: dump failed: $(cat "$TMP/netns/dump.out")"
    gone "$PID" || fail "netns: still there after dump"
    ttls=$(jq -c '[.file_descriptions[].socket_options // [] | .[] | select(.name == "IP_TTL") | .value]' \
        "$TMP"/netns/img/process-*.json)
    [ "$ttls" = "[64]" ] && ok "netns: IP_TTL kept only where set: $ttls" \
        || fail "netns: IP_TTL values in the image: $ttls, wanted [64]"
    if "$CRYO" restore -D "$TMP/netns/img" -d >"$TMP/netns/restore.out" 2>&1; then
        verify netns
    else
        fail "netns: restore failed: $(cat "$TMP/netns/restore.out")"
    fi
fi
finish
