#!/bin/bash
# Five bridged containers created at the same time (the bridge and subnet come from a config
# file named by CRYO_NETWORK_CONFIG) get five different addresses, all reachable; deleting
# them at the same time releases everything, and the last one takes the bridge along.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers/net_lib.sh"

net_pick
config=$TEST_TMP/network.conf
printf '# test network\nbridge = %s\nsubnet = %s\n' "$NET_BRIDGE" "$NET_SUBNET" > "$config"
export CRYO_NETWORK_CONFIG=$config

bundle=$TEST_TMP/bundle
httpd_bundle "$bundle"

ids=()
for i in 1 2 3 4 5; do ids+=("$(new_id)"); done
pids=()
for id in "${ids[@]}"; do
    cryo run -d --bundle "$bundle" --network bridge "$id" > "$TEST_TMP/$id.out" 2>&1 &
    pids+=($!)
done
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || fail "run ${ids[$i]}: $(cat "$TEST_TMP/${ids[$i]}.out")"
done

addresses=()
for id in "${ids[@]}"; do
    assert_eq "$NET_BRIDGE" "$(net_field "$id" bridge)" "bridge of $id (from the config file)"
    addresses+=("$(net_field "$id" address)")
done
log "addresses: ${addresses[*]}"
assert_eq 5 "$(printf '%s\n' "${addresses[@]}" | sort -u | wc -l)" "distinct addresses"
assert_eq 5 "$(ls "$(net_state)/bridges/$NET_BRIDGE/leases" | wc -l)" "lease files"
assert_eq 5 "$(ip -o link show master "$NET_BRIDGE" | wc -l)" "ports of $NET_BRIDGE"
for i in "${!ids[@]}"; do
    [ "${addresses[$i]%.*}.0/24" = "$NET_SUBNET" ] || fail "${addresses[$i]} is not in $NET_SUBNET"
    run_cmd cryo exec "${ids[$i]}" ip -4 -o addr show eth0
    assert_contains "$OUT" "inet ${addresses[$i]}/24" "eth0 of ${ids[$i]}"
    wait_until 10 http_get "http://${addresses[$i]}/index.html"
done

for id in "${ids[@]}"; do net_save "$id" "$TEST_TMP/$id.json"; done
pids=()
for id in "${ids[@]}"; do
    cryo delete --force "$id" > "$TEST_TMP/$id.out" 2>&1 &
    pids+=($!)
done
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || fail "delete ${ids[$i]}: $(cat "$TEST_TMP/${ids[$i]}.out")"
done
for id in "${ids[@]}"; do assert_net_released "$TEST_TMP/$id.json"; done
assert_bridge_gone "$NET_BRIDGE"
