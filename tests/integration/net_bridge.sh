#!/bin/bash
# --network bridge and --publish: a busybox httpd in one container answers the host at its
# address, a second bridged container, and 127.0.0.1 / the gateway through a published port;
# the two containers get different addresses in the subnet; delete leaves no veth, bridge
# port, lease, iptables rule or namespace mount, and the last container takes the bridge along.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers/net_lib.sh"

net_pick
port=$(free_port)
forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
bridges_before=$( (ls "$(net_state)/bridges" 2>/dev/null || true) | wc -l)

server_bundle=$TEST_TMP/server
httpd_bundle "$server_bundle"
client_bundle=$TEST_TMP/client
make_bundle "$client_bundle" sleep 1000

server=$(new_id)
client=$(new_id)
assert_status 0 cryo run -d --bundle "$server_bundle" --network "$NET_OPT" --publish "$port:80" "$server"
server_ip=$(net_field "$server" address)
assert_eq "${NET_SUBNET%.0/24}.2" "$server_ip" "first address of the subnet"
# A lease whose owner's state dir is gone (a container removed without delete) is stale:
# the next container takes its address.
stale=${NET_SUBNET%.0/24}.3
echo "$TEST_TMP/gone/$TEST_TAG" > "$(net_state)/bridges/$NET_BRIDGE/leases/$stale"
assert_status 0 cryo run -d --bundle "$client_bundle" --network "$NET_OPT" "$client"
client_ip=$(net_field "$client" address)
assert_eq "$stale" "$client_ip" "address of a stale lease, taken again"
log "server $server_ip, client $client_ip, bridge $NET_BRIDGE $NET_SUBNET, published $port"
[ "$server_ip" != "$client_ip" ] || fail "both containers got $server_ip"
for address in "$server_ip" "$client_ip"; do
    case $address in 10.*) ;; *) fail "address $address is not IPv4" ;; esac
    [ "${address%.*}.0/24" = "$NET_SUBNET" ] || fail "address $address is not in $NET_SUBNET"
    [ "$address" != "$NET_GATEWAY" ] || fail "a container got the gateway address"
done
assert_eq "$NET_BRIDGE" "$(net_field "$server" bridge)" "bridge in network.json"
assert_eq "$NET_GATEWAY" "$(net_field "$server" gateway)" "gateway in network.json"

# The container side: eth0 with the address and the recorded MAC, lo up, default route.
run_cmd cryo exec "$server" ip -4 -o addr show eth0
assert_contains "$OUT" "inet $server_ip/24" "eth0 of the server"
run_cmd cryo exec "$server" cat /sys/class/net/eth0/address
assert_eq "$(net_field "$server" mac)" "$OUT" "MAC of eth0"
run_cmd cryo exec "$server" ip route
assert_contains "$OUT" "default via $NET_GATEWAY dev eth0" "routes of the server"
run_cmd cryo exec "$server" ip -o link show lo
assert_contains "$OUT" "UP" "lo of the server"
run_cmd cryo exec "$server" sh -c 'ls /sys/class/net | tr "\n" " "'
assert_eq "eth0 lo " "$OUT" "interfaces of the server"

# The host side: the bridge holds the gateway, the veth is its port and up.
veth=$(net_field "$server" veth)
assert_contains "$(ip -4 -o addr show "$NET_BRIDGE")" "inet $NET_GATEWAY/24" "bridge address"
assert_contains "$(ip -o link show master "$NET_BRIDGE")" "$veth" "ports of $NET_BRIDGE"
assert_contains "$(ip -o link show "$veth")" "state UP" "host end $veth"
assert_eq 1 "$(cat "/proc/sys/net/ipv4/conf/$NET_BRIDGE/route_localnet")" "route_localnet of the bridge"
assert_eq 1 "$(cat /proc/sys/net/ipv4/ip_forward)" "ip_forward while a bridge is up"
[ -f "$(net_field "$server" lease)" ] || fail "no lease file for $server_ip"
assert_eq "$ROOT/$server" "$(cat "$(net_field "$server" lease)")" "owner in the lease"

# Reachability: host -> server, client -> server, host -> published port.
wait_until 10 http_get "http://$server_ip/index.html"
assert_eq "hello $TEST_TAG" "$(http_get "http://$server_ip/index.html")" "host to server"
run_cmd cryo exec "$client" timeout 10 wget -q -O- "http://$server_ip/index.html"
assert_eq "hello $TEST_TAG" "$OUT" "client to server (stderr: $ERR)"
assert_eq "hello $TEST_TAG" "$(http_get "http://127.0.0.1:$port/index.html")" "host to 127.0.0.1:$port"
assert_eq "hello $TEST_TAG" "$(http_get "http://$NET_GATEWAY:$port/index.html")" "host to $NET_GATEWAY:$port"
assert_contains "$(iptables -t nat -S)" "cryo:$veth" "DNAT rules of $veth"
# Hairpin: a container reaching the published port through the gateway. The answer is
# un-DNATed only if bridged packets pass netfilter (br_netfilter), as on this host.
if [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ]; then
    run_cmd cryo exec "$client" timeout 10 wget -q -O- "http://$NET_GATEWAY:$port/index.html"
    assert_eq "hello $TEST_TAG" "$OUT" "client to $NET_GATEWAY:$port (stderr: $ERR)"
else
    log "no br_netfilter: hairpin through the published port not checked"
fi

# A second publish of the same host port is refused while the first holds it.
third=$(new_id)
assert_fails_with "host port $port/tcp is already taken" \
    cryo run -d --bundle "$client_bundle" --network "$NET_OPT" --publish "$port:81" "$third"
[ ! -e "$ROOT/$third" ] || fail "failed create left $ROOT/$third"
# A fixed address that is taken is refused too, and the refusal leaves nothing either.
assert_fails_with "address $server_ip is already in use" \
    cryo run -d --bundle "$client_bundle" --network "$NET_OPT,ip=$server_ip" "$third"
assert_eq "$server_ip $client_ip" "$(ls "$(net_state)/bridges/$NET_BRIDGE/leases" | sort | tr '\n' ' ' | sed 's/ $//')" \
    "leases after refused creates"
assert_eq 2 "$(ip -o link show master "$NET_BRIDGE" | wc -l)" "ports after refused creates"
# Subnets: one bridge serves one subnet; two bridges or a bridge and a host address may not
# overlap. None of these creates a bridge.
other_bridge="crx$$"
assert_fails_with "bridge $NET_BRIDGE serves subnet $NET_SUBNET, not 10.254.254.0/24" \
    cryo run -d --bundle "$client_bundle" --network "bridge:bridge=$NET_BRIDGE,subnet=10.254.254.0/24" "$third"
assert_fails_with "subnet $NET_SUBNET overlaps $NET_SUBNET of bridge $NET_BRIDGE" \
    cryo run -d --bundle "$client_bundle" --network "bridge:bridge=$other_bridge,subnet=$NET_SUBNET" "$third"
assert_fails_with "subnet 127.0.0.0/24 overlaps host address 127.0.0.1/8" \
    cryo run -d --bundle "$client_bundle" --network "bridge:bridge=$other_bridge,subnet=127.0.0.0/24" "$third"
! ip link show "$other_bridge" >/dev/null 2>&1 || fail "a refused subnet left bridge $other_bridge"
[ ! -e "$(net_state)/bridges/$other_bridge" ] || fail "a refused subnet left a record of $other_bridge"
[ ! -e "$ROOT/$third" ] || fail "failed create left $ROOT/$third"

net_save "$server" "$TEST_TMP/server.json"
net_save "$client" "$TEST_TMP/client.json"
assert_status 0 cryo delete --force "$server"
assert_net_released "$TEST_TMP/server.json"
! http_get "http://127.0.0.1:$port/index.html" >/dev/null 2>&1 || fail "port $port still answers"
# The bridge stays while the client holds an address on it.
ip link show "$NET_BRIDGE" >/dev/null || fail "bridge removed while the client uses it"
run_cmd cryo exec "$client" ip -4 -o addr show eth0
assert_contains "$OUT" "inet $client_ip/24" "client after the server left"

# Re-created with its address pinned (what a restore does, see docs/network.md): the same
# address, hence the same MAC, and the published port answers again.
again=$(new_id)
assert_status 0 cryo run -d --bundle "$server_bundle" --network "$NET_OPT,ip=$server_ip" --publish "$port:80" "$again"
assert_eq "$server_ip" "$(net_field "$again" address)" "pinned address"
assert_eq "$(jq -r .mac "$TEST_TMP/server.json")" "$(net_field "$again" mac)" "MAC of the pinned address"
wait_until 10 http_get "http://127.0.0.1:$port/index.html"
run_cmd cryo exec "$client" timeout 10 wget -q -O- "http://$server_ip/index.html"
assert_eq "hello $TEST_TAG" "$OUT" "client to the re-created server (stderr: $ERR)"
net_save "$again" "$TEST_TMP/again.json"
assert_status 0 cryo delete --force "$again"
assert_net_released "$TEST_TMP/again.json"

assert_status 0 cryo delete --force "$client"
assert_net_released "$TEST_TMP/client.json"
assert_bridge_gone "$NET_BRIDGE"

# A bridge whose containers all went without delete (stale leases only) is made anew when
# asked for with another subnet, instead of refusing the subnet forever.
leftover=$(new_id)
assert_status 0 cryo create --bundle "$client_bundle" --network "$NET_OPT" "$leftover"
net_save "$leftover" "$TEST_TMP/leftover.json"
echo "$TEST_TMP/gone/$TEST_TAG" > "$(jq -r .lease "$TEST_TMP/leftover.json")" # its owner vanished
other_subnet=${NET_SUBNET%.*}
other_subnet="${other_subnet%.*}.$(( (${other_subnet##*.} + 1) % 256 )).0/24"
anew=$(new_id)
assert_status 0 cryo create --bundle "$client_bundle" --network "bridge:bridge=$NET_BRIDGE,subnet=$other_subnet" "$anew"
assert_eq "$other_subnet" "$(net_field "$anew" subnet)" "subnet of the re-made bridge"
assert_contains "$(ip -4 -o addr show "$NET_BRIDGE")" "inet ${other_subnet%.0/24}.1/24" "address of the re-made bridge"
assert_status 0 cryo delete --force "$anew"
assert_status 0 cryo delete --force "$leftover"
assert_net_released "$TEST_TMP/leftover.json"
assert_bridge_gone "$NET_BRIDGE"

if [ "$bridges_before" = 0 ] && [ -z "$(ls "$(net_state)/bridges" 2>/dev/null)" ]; then
    assert_eq "$forward_before" "$(cat /proc/sys/net/ipv4/ip_forward)" "ip_forward after the last bridge"
    [ ! -e "$(net_state)/ip_forward.saved" ] || fail "ip_forward.saved left behind"
fi
