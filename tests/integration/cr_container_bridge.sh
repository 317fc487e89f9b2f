#!/bin/bash
# Checkpoint/restore of a bridged container with a published port: the image carries its
# network.json, and a restore sets the network up again on the host (the address leased
# again, a new veth into the restored namespace, the bridge port, the DNAT rules), so a
# busybox httpd checkpointed mid-life answers again from the host through the published port
# and at its address, with the same MAC. Covered: restore in place, under a new id into
# another --root, a refused restore while the address is held (one line naming the holder,
# nothing left), a restore failing after the network was set up (undone), restore --network
# asking for a new address, and delete leaving no veth, bridge port, lease, rule, namespace
# mount or bridge behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers/net_lib.sh"

net_pick
port=$(free_port)
bundle=$TEST_TMP/web
httpd_bundle "$bundle"
page="hello $TEST_TAG"
root2=$TEST_TMP/state2
mkdir -p "$root2"
cryo2() { "$CRYO" --root "$root2" "$@"; }

# answers ADDRESS: the page through the published port on 127.0.0.1 and at ADDRESS:80.
answers() {
    local address=$1 what=$2
    wait_until 5 http_get "http://127.0.0.1:$port/"
    assert_eq "$page" "$(http_get "http://127.0.0.1:$port/")" "$what: page through 127.0.0.1:$port"
    assert_eq "$page" "$(http_get "http://$NET_GATEWAY:$port/")" "$what: page through $NET_GATEWAY:$port"
    assert_eq "$page" "$(http_get "http://$address/")" "$what: page at $address:80"
}

web=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" --network "$NET_OPT" --publish "$port:80" "$web"
address=$(net_field "$web" address)
mac=$(net_field "$web" mac)
log "web at $address ($mac) on $NET_BRIDGE, published on $port"
answers "$address" "before checkpoint"

# Checkpoint (the container stops); the image carries the network record.
image=$TEST_TMP/image
assert_status 0 cryo checkpoint --image-path "$image" "$web"
[ -f "$image/network.json" ] || fail "no network.json in the image"
assert_eq "$address" "$(jq -r .address "$image/network.json")" "address in the image's network.json"
assert_eq "$port" "$(jq -r '.published[0].host_port' "$image/network.json")" "published port in the image"
net_save "$web" "$TEST_TMP/web-1.json"
assert_status 0 cryo delete "$web"
assert_net_released "$TEST_TMP/web-1.json"
assert_bridge_gone "$NET_BRIDGE"

# A restore failing after its network was set up (a page file corrupted: its checksum is
# checked as the engine reads it, after the launch) undoes it: no state dir, veth, lease,
# port rule, namespace mount or bridge is left.
bad=$TEST_TMP/image-bad
cp -a "$image" "$bad"
pages=$(ls "$bad"/pages-*.img | head -1)
[ "$(stat -c %s "$pages")" -gt 8192 ] || fail "page file $pages is too small to corrupt"
printf 'XXXX' | dd of="$pages" bs=1 seek=4096 conv=notrunc status=none
assert_fails_with "checksum mismatch" cryo restore --detach --bundle "$bundle" --image-path "$bad" "$web"
[ ! -e "$ROOT/$web" ] || fail "a failed restore left its state dir"
assert_net_released "$TEST_TMP/web-1.json"
assert_bridge_gone "$NET_BRIDGE"

# Restore in place: same address and MAC, a new veth on the bridge, the port published again.
assert_status 0 cryo restore --detach --bundle "$bundle" --image-path "$image" "$web"
assert_eq running "$(container_status "$web")" "status after restore"
assert_eq "$address" "$(net_field "$web" address)" "address after restore"
assert_eq "$mac" "$(net_field "$web" mac)" "MAC after restore"
veth=$(net_field "$web" veth)
assert_contains "$(ip -o link show master "$NET_BRIDGE")" "$veth" "ports of $NET_BRIDGE after restore"
run_cmd cryo exec "$web" cat /sys/class/net/eth0/address
assert_eq "$mac" "$OUT" "eth0's MAC inside after restore"
run_cmd cryo exec "$web" ip route
assert_contains "$OUT" "default via $NET_GATEWAY dev eth0" "routes inside after restore"
run_cmd cryo exec "$web" cat /proc/1/comm
assert_eq httpd "$OUT" "pid 1 after restore"
answers "$address" "restored"

# The image is a snapshot, but its address is held: a second restore is refused in one line
# naming the holder, and leaves nothing behind (no state dir, veth, lease or rule of its own).
other=$(new_id)
assert_fails_with "address $address is already in use by the container at" \
    cryo restore --detach --bundle "$bundle" --image-path "$image" "$other"
[ ! -e "$ROOT/$other" ] || fail "a refused restore left its state dir"
assert_eq 1 "$(ip -o link show master "$NET_BRIDGE" | wc -l)" "ports of $NET_BRIDGE after a refused restore"
assert_eq 1 "$(ls "$(net_state)/bridges/$NET_BRIDGE/leases" | wc -l)" "leases after a refused restore"
answers "$address" "after a refused second restore"

# Checkpointed again, running on (--leave-running): restored under a new id into another
# --root once the original is gone.
image2=$TEST_TMP/image2
assert_status 0 cryo checkpoint --leave-running --image-path "$image2" "$web"
answers "$address" "after checkpoint --leave-running"
net_save "$web" "$TEST_TMP/web-2.json"
assert_status 0 cryo delete --force "$web"
assert_net_released "$TEST_TMP/web-2.json"
moved=$(new_id)
defer "cryo2 delete --force $moved >/dev/null 2>&1 || true"
assert_status 0 cryo2 restore --detach --bundle "$bundle" --image-path "$image2" "$moved"
assert_eq "$address" "$(jq -r .address "$root2/$moved/network.json")" "address under a new id"
assert_eq "$(readlink -f "$root2/$moved")" "$(cat "$(net_state)/bridges/$NET_BRIDGE/leases/$address")" \
    "lease owner under a new id"
answers "$address" "restored under a new id in another --root"

# A new address when asked (restore --network): here for an unpublished container whose own
# address stays held by the original, running on.
plain_bundle=$TEST_TMP/plain
httpd_bundle "$plain_bundle"
plain=$(new_id)
assert_status 0 cryo run -d --bundle "$plain_bundle" --network "$NET_OPT" "$plain"
plain_address=$(net_field "$plain" address)
wait_until 5 http_get "http://$plain_address/"
image3=$TEST_TMP/image3
assert_status 0 cryo checkpoint --leave-running --image-path "$image3" "$plain"
copy=$(new_id)
run_cmd "$CRYO" --root "$ROOT" restore --detach --bundle "$plain_bundle" --network "$NET_OPT" \
    --image-path "$image3" "$copy"
assert_eq 0 "$STATUS" "restore with a new address (stderr: $ERR)"
copy_address=$(net_field "$copy" address)
[ "$copy_address" != "$plain_address" ] || fail "the copy got the original's address $plain_address"
[ "$copy_address" != "$address" ] || fail "the copy got $address, held by $moved"
log "copy restored at $copy_address (original $plain_address)"
wait_until 5 http_get "http://$copy_address/"
assert_eq "$page" "$(http_get "http://$copy_address/")" "page of the copy at its new address"
assert_eq "$page" "$(http_get "http://$plain_address/")" "page of the original at its address"

# Delete undoes it all; the last container takes the bridge along.
net_save "$copy" "$TEST_TMP/copy.json"
net_save "$plain" "$TEST_TMP/plain.json"
cp "$root2/$moved/network.json" "$TEST_TMP/moved.json"
assert_status 0 cryo delete --force "$copy"
assert_status 0 cryo delete --force "$plain"
assert_status 0 cryo2 delete --force "$moved"
for record in copy plain moved; do
    assert_net_released "$TEST_TMP/$record.json"
done
assert_bridge_gone "$NET_BRIDGE"
! curl -sS --max-time 1 "http://127.0.0.1:$port/" >/dev/null 2>&1 || fail "port $port still answers after delete"
