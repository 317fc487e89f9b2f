#!/bin/bash
# The default bridge: plain --network bridge puts the container on cryo0, 10.89.0.0/24,
# gateway 10.89.0.1; the host reaches it. cryo0 is shared by every default container on the
# host, so it is only required to be gone if no one else holds an address on it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers/net_lib.sh"

unset CRYO_NETWORK_BRIDGE CRYO_NETWORK_SUBNET
export CRYO_NETWORK_CONFIG=$TEST_TMP/no-such-config
if ip -4 -o addr show | grep -v ' cryo0 ' | grep -q ' 10\.89\.0\.'; then
    echo "[$TEST_NAME] skipped: 10.89.0.0/24 is used on this host" >&2
    exit 77
fi
defer "ip link show cryo0 >/dev/null 2>&1 && [ -z \"\$(ls $(net_state)/bridges/cryo0/leases 2>/dev/null)\" ] && { echo 'leak: bridge cryo0' >&2; ip link del cryo0; }; true"

bundle=$TEST_TMP/bundle
httpd_bundle "$bundle"
id=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" --network bridge "$id"
address=$(net_field "$id" address)
assert_eq cryo0 "$(net_field "$id" bridge)" "default bridge"
assert_eq 10.89.0.0/24 "$(net_field "$id" subnet)" "default subnet"
assert_eq 10.89.0.1 "$(net_field "$id" gateway)" "default gateway"
case $address in 10.89.0.*) ;; *) fail "address $address is not in 10.89.0.0/24" ;; esac
assert_contains "$(ip -4 -o addr show cryo0)" "inet 10.89.0.1/24" "cryo0 address"
wait_until 10 http_get "http://$address/index.html"
assert_eq "hello $TEST_TAG" "$(http_get "http://$address/index.html")" "host to $address"

net_save "$id" "$TEST_TMP/record.json"
assert_status 0 cryo delete --force "$id"
assert_net_released "$TEST_TMP/record.json"
if [ -z "$(ls "$(net_state)/bridges/cryo0/leases" 2>/dev/null)" ]; then
    assert_bridge_gone cryo0
fi
