#!/bin/bash
# --network none: a namespace of its own with only lo, up; --network host: the host's
# namespace and interfaces. Bad --network/--publish values fail with one line and leave
# nothing behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers/net_lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sleep 1000
# The host's interfaces, minus those other tests' containers and bridges come and go with.
host_links=$(ls /sys/class/net | grep -Ev '^(vcr|crt|crx|cryo)' | sort)

# none
isolated=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" --network none "$isolated"
pid=$(container_pid "$isolated")
netns=$(net_field "$isolated" netns)
assert_eq "none" "$(net_field "$isolated" mode)" "mode in network.json"
assert_eq "$ROOT/$isolated/netns" "$netns" "namespace file"
assert_eq "$(stat -L -c %i "/proc/$pid/ns/net")" "$(stat -L -c %i "$netns")" "the init's namespace is the file's"
[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ] || fail "none shares the host namespace"
run_cmd cryo exec "$isolated" sh -c 'ls /sys/class/net | tr "\n" " "'
assert_eq "lo " "$OUT" "interfaces with --network none"
run_cmd cryo exec "$isolated" ip -o link show lo
assert_contains "$OUT" "LOOPBACK,UP" "lo with --network none"
run_cmd cryo exec "$isolated" ip -4 -o addr
assert_eq "1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever" "$OUT" "addresses"
run_cmd cryo exec "$isolated" ip route
assert_eq "" "$OUT" "routes with --network none"
net_save "$isolated" "$TEST_TMP/none.json"
assert_status 0 cryo delete --force "$isolated"
assert_net_released "$TEST_TMP/none.json"

# host
shared=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" --network host "$shared"
pid=$(container_pid "$shared")
assert_eq "$(readlink /proc/self/ns/net)" "$(readlink "/proc/$pid/ns/net")" "namespace with --network host"
assert_eq "host" "$(net_field "$shared" mode)" "mode in network.json"
run_cmd cryo exec "$shared" sh -c 'for link in /sys/class/net/*; do echo "${link##*/} $(cat $link/ifindex)"; done'
for link in $host_links; do
    assert_contains "$OUT" "$link $(cat "/sys/class/net/$link/ifindex")" "interfaces with --network host"
done
assert_status 0 cryo delete --force "$shared"

# Bad values: one line naming the option, nothing left.
bad=$(new_id)
assert_fails_with '--network "slirp": not none, host or bridge' cryo create --bundle "$bundle" --network slirp "$bad"
assert_fails_with '--publish "80": not HOSTPORT:PORT' cryo create --bundle "$bundle" --network bridge --publish 80 "$bad"
assert_fails_with "--publish: needs --network bridge, not host" \
    cryo create --bundle "$bundle" --network host --publish 8080:80 "$bad"
assert_fails_with "subnet \"10.1.2.3/24\": host bits set" \
    cryo create --bundle "$bundle" --network bridge:subnet=10.1.2.3/24 "$bad"
assert_fails_with "unknown option \"mtu\"" cryo create --bundle "$bundle" --network bridge:mtu=1400 "$bad"
[ ! -e "$ROOT/$bad" ] || fail "a refused create left $ROOT/$bad"
