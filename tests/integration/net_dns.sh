#!/bin/bash
# DNS of bridged containers: /etc/resolv.conf inside is written from the host's (its name
# servers except loopback ones, which would be the container's own loopback; its search and
# options lines), or names the servers of --network bridge:dns=ADDR[,dns=ADDR]; a spec that
# mounts /etc/resolv.conf itself keeps its own; --network none leaves the rootfs's file alone;
# dns= survives a checkpoint/restore. No query is sent anywhere: only the file is checked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers/net_lib.sh"

net_pick
bundle=$TEST_TMP/b
make_bundle "$bundle" sleep 1000
mkdir -p "$bundle/rootfs/etc"
echo "nameserver 203.0.113.99 # the rootfs's own" > "$bundle/rootfs/etc/resolv.conf"

# What the host's file should become: its non-loopback servers, then search/domain/options.
expected=$(awk '$1 == "nameserver" && $2 !~ /^127\./ && $2 != "::1" {print "nameserver " $2}' /etc/resolv.conf
           awk '$1 == "search" || $1 == "domain" || $1 == "options" || $1 == "sortlist"' /etc/resolv.conf)

plain=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" --network "$NET_OPT" "$plain"
run_cmd cryo exec "$plain" cat /etc/resolv.conf
assert_eq "$expected" "$OUT" "resolv.conf from the host's"
# The rootfs's own file is untouched underneath (the state dir's copy is mounted over it).
assert_contains "$(cat "$bundle/rootfs/etc/resolv.conf")" "203.0.113.99" "the rootfs's resolv.conf"

asked=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" --network "$NET_OPT,dns=192.0.2.53,dns=198.51.100.53" "$asked"
run_cmd cryo exec "$asked" sh -c 'grep ^nameserver /etc/resolv.conf'
assert_eq "nameserver 192.0.2.53
nameserver 198.51.100.53" "$OUT" "servers asked with dns="
assert_eq '["192.0.2.53","198.51.100.53"]' "$(jq -c .dns "$ROOT/$asked/network.json")" "dns in network.json"

# dns= is kept across a checkpoint/restore (the image's network.json).
image=$TEST_TMP/image
assert_status 0 cryo checkpoint --image-path "$image" "$asked"
assert_status 0 cryo delete "$asked"
assert_status 0 cryo restore --detach --bundle "$bundle" --image-path "$image" "$asked"
run_cmd cryo exec "$asked" sh -c 'grep ^nameserver /etc/resolv.conf'
assert_eq "nameserver 192.0.2.53
nameserver 198.51.100.53" "$OUT" "servers asked with dns=, after restore"

# A spec mounting its own resolv.conf keeps it (podman and containerd bundles do).
own_bundle=$TEST_TMP/own
make_bundle "$own_bundle" sleep 1000
echo "nameserver 198.18.0.53" > "$TEST_TMP/own-resolv.conf"
spec_edit "$own_bundle" '.mounts += [{"destination": "/etc/resolv.conf", "type": "bind", "source": $s, "options": ["rbind", "ro"]}]' \
    --arg s "$TEST_TMP/own-resolv.conf"
own=$(new_id)
assert_status 0 cryo run -d --bundle "$own_bundle" --network "$NET_OPT" "$own"
run_cmd cryo exec "$own" cat /etc/resolv.conf
assert_eq "nameserver 198.18.0.53" "$OUT" "the spec's own resolv.conf"

# none: no name server to reach, the rootfs's file as it is.
none=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" --network none "$none"
run_cmd cryo exec "$none" cat /etc/resolv.conf
assert_eq "nameserver 203.0.113.99 # the rootfs's own" "$OUT" "resolv.conf with --network none"

assert_fails_with "dns \"ns.example\" is not an IPv4 address" cryo run -d --bundle "$bundle" --network "$NET_OPT,dns=ns.example" "$(new_id)"

for id in "$plain" "$asked" "$own" "$none"; do
    assert_status 0 cryo delete --force "$id"
done
assert_bridge_gone "$NET_BRIDGE"
