# net_lib.sh: sourced by tests/integration/net_*.sh after lib.sh (lives here so ctest does not
# run it as a test). Each test gets its own bridge and /24 so tests running at the same time
# (other build dirs' CI) never share one; the checks below assert that a released container
# left no veth, bridge port, lease, iptables rule or namespace mount behind.
#
#   net_pick              sets NET_BRIDGE (crt<pid>), NET_SUBNET (10.A.B.0/24, free on this host),
#                         NET_GATEWAY, NET_OPT (--network value for them); defers removing the
#                         bridge if a failing test leaves it
#   net_state             the host-wide network state dir cryo uses
#   net_field ID KEY      a field of ID's network.json
#   net_save ID FILE      copies ID's network.json (to check its release after delete)
#   assert_net_released FILE   every resource the record names is gone
#   assert_bridge_gone BRIDGE  no link, record or rule of the bridge is left
#   free_port             a TCP port nobody listens on (20000-29999)
#   http_get URL          the body at URL, from the host (curl, 5 s timeout)
#   httpd_bundle DIR      a bundle whose process serves DIR/rootfs/www on port 80; the page
#                         /index.html holds "hello $TEST_TAG"

command -v iptables >/dev/null || { echo "[$TEST_NAME] skipped: no iptables" >&2; exit 77; }
command -v curl >/dev/null || fail "curl is not installed"

net_state() { echo "${CRYO_NETWORK_STATE_DIR:-/run/cryo/network}"; }

net_pick() {
    local a b i
    NET_BRIDGE="crt$$"
    for i in $(seq 1 50); do
        a=$((100 + RANDOM % 100))
        b=$((RANDOM % 256))
        # Not held by any host address or route, nor by another cryo bridge.
        if ! ip -4 route show | grep -q "^10\.$a\.$b\." \
            && ! ip -4 -o addr show | grep -q " 10\.$a\.$b\." \
            && ! grep -qs "\"10\.$a\.$b\.0/24\"" "$(net_state)"/bridges/*/bridge.json; then
            break
        fi
    done
    NET_SUBNET="10.$a.$b.0/24"
    NET_GATEWAY="10.$a.$b.1"
    NET_OPT="bridge:bridge=$NET_BRIDGE,subnet=$NET_SUBNET"
    defer "ip link show '$NET_BRIDGE' >/dev/null 2>&1 && { echo 'leak: bridge $NET_BRIDGE' >&2; ip link del '$NET_BRIDGE'; }; true"
}

net_field() { jq -r ".$2" "$ROOT/$1/network.json"; }
net_save() { cp "$ROOT/$1/network.json" "$2"; }

assert_net_released() {
    local record=$1 veth bridge lease netns address
    veth=$(jq -r .veth "$record")
    bridge=$(jq -r .bridge "$record")
    lease=$(jq -r .lease "$record")
    netns=$(jq -r .netns "$record")
    address=$(jq -r .address "$record")
    if [ "$veth" != null ]; then
        ! ip link show "$veth" >/dev/null 2>&1 || fail "veth $veth is still there"
        if ip link show "$bridge" >/dev/null 2>&1; then
            assert_not_contains "$(ip -o link show master "$bridge")" "$veth" "ports of $bridge"
        fi
        [ ! -e "$lease" ] || fail "lease $lease is still there"
        assert_not_contains "$(iptables -t nat -S)" "cryo:$veth" "nat rules"
        assert_not_contains "$(iptables -t nat -S)" "$address:" "nat rules"
        local reservation
        for reservation in $(jq -r '.published[].reservation' "$record"); do
            [ ! -e "$reservation" ] || fail "port reservation $reservation is still there"
        done
    fi
    if [ "$netns" != null ] && [ -n "$netns" ]; then
        assert_not_contains "$(cut -d' ' -f5 /proc/self/mountinfo)" "$netns" "mounts"
        [ ! -e "$netns" ] || fail "namespace file $netns is still there"
    fi
}

assert_bridge_gone() {
    local bridge=$1
    ! ip link show "$bridge" >/dev/null 2>&1 || fail "bridge $bridge is still there"
    [ ! -e "$(net_state)/bridges/$bridge" ] || fail "bridge record $(net_state)/bridges/$bridge is still there"
    assert_not_contains "$(iptables -t nat -S; iptables -S)" "cryo:$bridge\"" "iptables rules"
    assert_not_contains "$(iptables -t nat -S; iptables -S)" "cryo:$bridge " "iptables rules"
}

free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 10000))
        if ! grep -qi ":$(printf '%04X' "$port") " /proc/net/tcp /proc/net/tcp6 2>/dev/null \
            && ! iptables -t nat -S | grep -q -- "--dport $port "; then
            echo "$port"
            return
        fi
    done
}

http_get() { curl -sS --max-time 5 "$1"; }

httpd_bundle() {
    local dir=$1
    make_bundle "$dir" httpd -f -p 80 -h /www
    mkdir -p "$dir/rootfs/www"
    echo "hello $TEST_TAG" > "$dir/rootfs/www/index.html"
}
