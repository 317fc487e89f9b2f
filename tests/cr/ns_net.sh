#!/bin/bash
# Net namespace dump and restore (checkpoint/ns_state.h) through tests/cr/ns_state_driver.
# The namespace holds: lo up with extra IPv4/IPv6 addresses; eth0, a veth whose peer is in
# our namespace on a bridge of ours (mac, mtu, queue length, alias, allmulticast, IPv4 and
# IPv6 addresses, a default route, a route with a metric, one with an mtu metric, one in
# table 100, a blackhole, one whose gateway is reachable only through another recorded
# route, one with a preferred source, IPv6 routes, one via a link-local gateway); eth1, a
# veth that is down with a down peer, arp and multicast off and a point-to-point address;
# eth2, a veth whose peer is in a third namespace; a veth pair with both ends inside, one end
# promiscuous. After a restore into a fresh namespace
# `ip -j` shows the same links (same indexes), addresses and routes; the outside ends are
# back in our namespace (named as recorded once that name is free) and on the bridge, and a
# third namespace on the bridge pings the restored one over IPv4 and IPv6. Errors are one line
# naming the object and leave no link behind. Traffic stays inside namespaces made here.
source "$(dirname "$0")/lib.sh"
need ns_state_driver
DRIVER=$CR_BIN/ns_state_driver
command -v jq >/dev/null && command -v busybox >/dev/null || { echo "SKIP: needs jq and busybox"; exit 77; }

R=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n') # unique names: tests run concurrently
BR=crb$R OUT0=cro$R OUT1=crp$R PROBE=crq$R
# Links of this run in our namespace: named with $R (cryt*/cryv* names of a concurrent run
# are not ours to count).
host_links() { ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' | grep -E "$R" | sort; }
# A namespace going away takes its veth ends and so their pairs; what is left is ours.
defer 'for l in $(host_links); do ip link del "$l"; done'

holder() { ns_holder net; }
inside() { local pid=$1; shift; nsenter -t "$pid" -n "$@"; }
must() { "$@" || { fail "setup: $*"; exit 1; }; }

# Normalised views (what must survive; not counters, peer indexes or DAD progress).
show_links() {
    inside "$1" ip -j -d link show | jq -S '[.[] | {ifindex, ifname, mtu, address, link_type, txqlen, ifalias,
        flags: [.flags[] | select(. as $f | ["UP", "NOARP", "PROMISC", "ALLMULTI", "MULTICAST"] | index($f))] | sort,
        kind: .linkinfo.info_kind}] | sort_by(.ifindex)'
}
show_addresses() {
    inside "$1" ip -j addr show | jq -S '[.[] | .ifname as $n | .addr_info[] | {link: $n, family, local, address,
        prefixlen, scope, broadcast, "label": .label}] | sort_by(.link, .family, .local)'
}
# The local route of an IPv6 address appears when its duplicate detection ends: link-local
# ones are left out (made anew, timing of their own).
show_routes() {
    { inside "$1" ip -j -4 route show table all; inside "$1" ip -j -6 route show table all; } |
        jq -S -s '[.[][] | del(.expires, .flags) | select((.table == "local" and (.dst | startswith("fe80:"))) | not)]
            | sort_by(.table, .dst, .dev, .type)'
}
snapshot() { show_links "$1" >"$TMP/$2.links"; show_addresses "$1" >"$TMP/$2.addresses"; show_routes "$1" >"$TMP/$2.routes"; }
same() { # same A B: the snapshots agree
    local ok=0
    for part in links addresses routes; do
        diff "$TMP/$1.$part" "$TMP/$2.$part" >"$TMP/diff" || { fail "$2: $part differ: $(cat "$TMP/diff")"; ok=1; }
    done
    return $ok
}
before_links=$(host_links)

must ip link add "$BR" type bridge
must ip link set "$BR" up
holder; A=$PID
must ip link add "$OUT0" type veth peer name "cri$R"
must ip link set "$OUT0" master "$BR" up
must ip link set "cri$R" netns "$A"
must ip link add "$OUT1" type veth peer name "crj$R"
must ip link set "crj$R" netns "$A"
holder; X=$PID # a third namespace, holding the other end of A's eth2
must ip link add "crk$R" type veth peer name "crx$R"
must ip link set "crk$R" netns "$A"
must ip link set "crx$R" netns "$X"
must inside "$A" sh -ec "
    ip link set lo up
    ip addr add 10.1.1.1/32 dev lo
    ip addr add fd00:1::1/128 dev lo
    ip link set cri$R name eth0 address 02:11:22:33:44:55 mtu 1400 txqueuelen 500 alias uplink allmulticast on
    ip link set eth0 up
    ip addr add 10.231.7.2/24 brd + dev eth0
    ip addr add fd00:7::2/64 dev eth0 nodad
    ip route add default via 10.231.7.1
    ip route add 10.99.0.0/16 via 10.231.7.254 metric 50
    ip route add 10.77.0.0/16 via 10.231.7.1 mtu 1300
    ip route add 10.50.0.0/16 dev eth0 table 100
    ip route add blackhole 10.66.0.0/16
    ip route add 10.55.0.0/24 dev eth0 scope link
    ip route add 10.9.0.0/16 via 10.55.0.9
    ip -6 route add fd00:99::/64 via fd00:7::1
    ip -6 route add default via fe80::1 dev eth0 metric 2048
    ip route add 10.44.0.0/16 via 10.231.7.1 src 10.231.7.2
    ip link set crj$R name eth1 address 02:aa:bb:cc:dd:01 arp off multicast off
    ip addr add 10.232.1.2/24 dev eth1
    ip addr add 10.240.0.1 peer 10.240.0.2/32 dev eth1
    ip link set crk$R name eth2 up
    ip addr add 10.234.0.1/24 dev eth2
    ip link add vin0 type veth peer name vin1
    ip link set vin0 address 02:00:00:00:00:10 promisc on up
    ip addr add 10.233.0.1/30 dev vin0
"
snapshot "$A" A
grep -q '"ifname": "eth0"' "$TMP/A.links" && grep -q '10.9.0.0' "$TMP/A.routes" || fail "setup did not take"

# 1. Dump (nothing changes), then restore while A still exists: the outside ends get new
# names, as the recorded ones are taken.
"$DRIVER" dump-net "$A" "$TMP/img" 2>"$TMP/err" || fail "dump-net: $(cat "$TMP/err")"
[ -s "$TMP/img/net.json" ] || fail "no net.json"
snapshot "$A" A2
same A A2 >/dev/null || fail "the dump changed A"
jq -e --arg o "$OUT0" --arg b "$BR" '.links[] | select(.name == "eth0") | .peer | .name == $o and .master == $b
    and .place == "caller" and .up' "$TMP/img/net.json" >/dev/null || fail "eth0's peer not recorded"
jq -e '.links[] | select(.name == "vin0") | .peer.place == "namespace" and .peer.name == "vin1"' \
    "$TMP/img/net.json" >/dev/null || fail "inside pair not recorded"
jq -e '.links[] | select(.name == "eth2") | .peer.place == "elsewhere"' "$TMP/img/net.json" >/dev/null ||
    fail "eth2's peer in a third namespace not recorded as elsewhere"

holder; B=$PID
"$DRIVER" restore-net "$B" "$TMP/img" 2>"$TMP/err" || fail "restore-net B: $(cat "$TMP/err")"
snapshot "$B" B
same A B
[ "$(ip -o link show master "$BR" | wc -l)" = 2 ] || fail "B's outside end is not on $BR: $(ip -o link show master "$BR")"

# 2. A goes (and its veth pairs with it): a restore now names the outside ends as recorded.
{ kill -9 "$A"; wait "$A"; } 2>/dev/null
for _ in $(seq 100); do ip link show "$OUT0" >/dev/null 2>&1 || break; sleep 0.05; done
holder; C=$PID
"$DRIVER" restore-net "$C" "$TMP/img" 2>"$TMP/err" || fail "restore-net C: $(cat "$TMP/err")"
snapshot "$C" C
same A C
ip -j link show "$OUT0" | jq -e --arg b "$BR" '.[0] | .master == $b and (.flags | index("UP") != null)' >/dev/null ||
    fail "$OUT0 not back on $BR and up: $(ip -o link show "$OUT0" 2>&1)"
ip -j link show "$OUT1" | jq -e '.[0] | (.flags | index("UP") == null) and .master == null' >/dev/null ||
    fail "$OUT1 not back, down: $(ip -o link show "$OUT1" 2>&1)"

# 3. The restored namespace talks: a probe namespace on the bridge pings it over both families.
holder; P=$PID
must ip link add "$PROBE" type veth peer name "crr$R"
must ip link set "$PROBE" master "$BR" up
must ip link set "crr$R" netns "$P"
must inside "$P" sh -ec "ip link set crr$R up; ip addr add 10.231.7.1/24 dev crr$R; ip addr add fd00:7::1/64 dev crr$R nodad"
inside "$P" busybox ping -c1 -W5 10.231.7.2 >"$TMP/ping" 2>&1 || fail "ping 10.231.7.2: $(cat "$TMP/ping")"
inside "$P" busybox ping -6 -c1 -W5 fd00:7::2 >"$TMP/ping" 2>&1 || fail "ping fd00:7::2: $(cat "$TMP/ping")"
inside "$C" busybox ping -c1 -W5 10.233.0.1 >/dev/null 2>&1 || fail "local ping 10.233.0.1"

# 4. Restoring into a namespace that already has the links: one line naming a link. Into
# one where only eth0 is taken: the veth pair made for it in our namespace is gone again.
links_now=$(host_links)
if "$DRIVER" restore-net "$C" "$TMP/img" 2>"$TMP/err"; then fail "restoring twice into one namespace succeeded"; fi
[ "$(wc -l <"$TMP/err")" = 1 ] || fail "error is not one line: $(cat "$TMP/err")"
grep -Eq 'restore link [a-z0-9]+: .*File exists$' "$TMP/err" || fail "error: $(cat "$TMP/err")"
# C goes, so the recorded outside names are free: a pair left behind would carry them.
{ kill -9 "$C"; wait "$C"; } 2>/dev/null
for _ in $(seq 100); do ip link show "$OUT0" >/dev/null 2>&1 || break; sleep 0.05; done
links_now=$(host_links)
holder; F=$PID
must inside "$F" ip link add eth0 type veth peer name eth9
if "$DRIVER" restore-net "$F" "$TMP/img" 2>"$TMP/err"; then fail "restoring over a taken eth0 succeeded"; fi
grep -q 'restore link eth0: a link named eth0 is in the namespace already: File exists$' "$TMP/err" || fail "taken: $(cat "$TMP/err")"
[ "$(host_links)" = "$links_now" ] || fail "a failed restore left links: $(host_links)"

# 5. A bridge that is gone: refused, naming it, nothing left behind.
jq --arg b "crn$R" '(.links[] | select(.name == "eth0") | .peer.master) = $b' "$TMP/img/net.json" >"$TMP/nobridge.json"
mkdir "$TMP/nobridge" && mv "$TMP/nobridge.json" "$TMP/nobridge/net.json"
holder; E=$PID
if "$DRIVER" restore-net "$E" "$TMP/nobridge" 2>"$TMP/err"; then fail "restore without the bridge succeeded"; fi
grep -q "restore link eth0: bridge crn$R of its peer .* is gone" "$TMP/err" || fail "no bridge: $(cat "$TMP/err")"
[ "$(host_links)" = "$links_now" ] || fail "a failed restore left links: $(host_links)"

# 6. What cannot be restored is refused at dump time, naming it; a broken net.json too.
must inside "$E" ip link add "cru$R" type bridge
if "$DRIVER" dump-net "$E" "$TMP/bridge" 2>"$TMP/err"; then fail "a bridge inside was dumped"; fi
grep -q "link cru$R: kind \"bridge\" is not supported" "$TMP/err" || fail "bridge inside: $(cat "$TMP/err")"
mkdir "$TMP/broken" && jq '.addresses[0].link = "nope0"' "$TMP/img/net.json" >"$TMP/broken/net.json"
if "$DRIVER" restore-net "$E" "$TMP/broken" 2>"$TMP/err"; then fail "a broken net.json restored"; fi
grep -q 'net.json: address .*: link nope0 is not recorded' "$TMP/err" || fail "broken: $(cat "$TMP/err")"

# Every link made here goes with its namespace or with the cleanup below; check that (the
# outside ends of B's restore have names of their own: they were on our bridge).
exec 2>/dev/null # no job notices for the holders killed here (failures go to stdout)
for p in "${PIDS[@]}"; do kill -9 "$p"; done
wait
PIDS=()
for _ in $(seq 100); do [ -z "$(ip -o link show master "$BR")" ] && break; sleep 0.05; done
[ -z "$(ip -o link show master "$BR")" ] || fail "links left on $BR: $(ip -o link show master "$BR")"
ip link del "$BR"
for _ in $(seq 100); do [ "$(host_links)" = "$before_links" ] && break; sleep 0.05; done
[ "$(host_links)" = "$before_links" ] || fail "links left behind: $(host_links)"

finish
