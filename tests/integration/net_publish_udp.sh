#!/bin/bash
# --publish HOSTPORT:PORT/udp: a UDP echo server in a bridged container answers on its address
# and on 127.0.0.1:HOSTPORT; --publish alone implies bridge; and a foreground `run` (the
# container exits by itself) releases its network like delete does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers/net_lib.sh"
command -v cc >/dev/null || fail "no C compiler for the UDP echo helper"

net_pick
export CRYO_NETWORK_BRIDGE=$NET_BRIDGE CRYO_NETWORK_SUBNET=$NET_SUBNET
bundle=$TEST_TMP/bundle
make_bundle "$bundle" /bin/udp_echo 53
cc -static -O1 -o "$bundle/rootfs/bin/udp_echo" "$CRYO_SOURCE/tests/integration/helpers/net_udp_echo.c"

# udp_send HOST PORT TEXT: one datagram out, the first datagram back (3 s at most).
udp_send() {
    local reply
    exec 7<>"/dev/udp/$1/$2"
    printf '%s' "$3" >&7
    reply=$(timeout 3 dd bs=2048 count=1 status=none <&7 || true)
    exec 7>&-
    printf '%s' "$reply"
}

port=$(free_port)
id=$(new_id)
# No --network: --publish makes it a bridged container, on the environment's bridge.
assert_status 0 cryo run -d --bundle "$bundle" --publish "$port:53/udp" "$id"
assert_eq bridge "$(net_field "$id" mode)" "mode implied by --publish"
assert_eq "$NET_BRIDGE" "$(net_field "$id" bridge)" "bridge from CRYO_NETWORK_BRIDGE"
assert_eq udp "$(net_field "$id" 'published[0].protocol')" "protocol in network.json"
address=$(net_field "$id" address)
_udp_answers() { [ "$(udp_send "$address" 53 ping)" = "echo:ping" ]; }
wait_until 10 _udp_answers
assert_eq "echo:direct-$TEST_TAG" "$(udp_send "$address" 53 "direct-$TEST_TAG")" "UDP to $address:53"
assert_eq "echo:published-$TEST_TAG" "$(udp_send 127.0.0.1 "$port" "published-$TEST_TAG")" "UDP to 127.0.0.1:$port"
assert_contains "$(iptables -t nat -S)" "-p udp -m udp --dport $port" "UDP DNAT rule"
net_save "$id" "$TEST_TMP/udp.json"
assert_status 0 cryo delete --force "$id"
assert_net_released "$TEST_TMP/udp.json"
assert_eq "" "$(udp_send 127.0.0.1 "$port" after-delete)" "UDP after delete"

# Foreground run: the container prints its interfaces and exits; cryo deletes it, releasing
# the namespace, veth, lease and bridge on the way.
fg_bundle=$TEST_TMP/fg
make_bundle "$fg_bundle" sh -c 'cat /sys/class/net/eth0/address; ip -4 -o addr show eth0'
fg=$(new_id)
run_cmd cryo run --bundle "$fg_bundle" --network bridge "$fg"
assert_eq 0 "$STATUS" "foreground run (stderr: $ERR)"
assert_contains "$OUT" "0a:58:" "MAC inside"
assert_contains "$OUT" "inet ${NET_SUBNET%.0/24}." "address inside"
[ ! -e "$ROOT/$fg" ] || fail "foreground run left $ROOT/$fg"
assert_eq "" "$(ls "$(net_state)/bridges/$NET_BRIDGE/leases" 2>/dev/null)" "leases after the foreground run"
assert_not_contains "$(grep -o ' [^ ]*/netns ' /proc/self/mountinfo || true)" "$fg" "mounts"
assert_bridge_gone "$NET_BRIDGE"

# The same state dir spelt two ways (a relative --root at create, an absolute one at delete):
# the lease still names its owner, and release finds it.
rel=$(new_id)
(cd "$TEST_TMP" && "$CRYO" --root ./state/../state run -d --bundle "$fg_bundle" --network bridge "$rel") \
    || fail "run with a relative --root"
assert_eq "$ROOT/$rel" "$(cat "$(net_field "$rel" lease)")" "lease owner, canonical"
assert_eq "$ROOT/$rel/netns" "$(net_field "$rel" netns)" "namespace path, canonical"
net_save "$rel" "$TEST_TMP/rel.json"
assert_status 0 cryo delete --force "$rel"
assert_net_released "$TEST_TMP/rel.json"
assert_bridge_gone "$NET_BRIDGE"
