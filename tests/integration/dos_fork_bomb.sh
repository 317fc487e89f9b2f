#!/bin/bash
# DoS containment: a fork bomb stops at its container's pids limit. The kernel refuses its
# forks (pids failcnt rises in `cryo beancounters`), while the host and a neighbour container
# can still fork: a loop of `sh -c true` runs on both during the bomb, timed against the same
# loop before it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers/dos_lib.sh"

limit=64
forks=50

neighbour=$(new_id)
make_bundle "$TEST_TMP/neighbour" sleep 600
run_cmd cryo run -d --bundle "$TEST_TMP/neighbour" "$neighbour"
assert_eq 0 "$STATUS" "run the neighbour (stderr: $ERR)"
defer "cryo delete --force $neighbour >/dev/null 2>&1 || true"

host_before=$(fork_loop_ms $forks)
neighbour_before=$(neighbour_fork_loop_ms "$neighbour" $forks)

# The bomb: every f forks more f's in a loop for ever; busybox sh exits when a fork fails,
# and nobody reaps it, so the cgroup fills up with bomb processes and zombies at the limit.
# The container's process itself execs a sleep, so the container lives on. --cpus bounds what the retrying
# bomb costs the other engineers sharing this machine; the pids limit is what stops it.
bomb=$(new_id)
make_bundle "$TEST_TMP/bomb" sh -c 'exec 2>/dev/null; f() { while :; do f & done; }; f & exec sleep 600'
run_cmd cryo run -d --bundle "$TEST_TMP/bomb" --pids-limit $limit --cpus 1 "$bomb"
assert_eq 0 "$STATUS" "run the bomb (stderr: $ERR)"
defer "cryo delete --force $bomb >/dev/null 2>&1 || true"

bomb_at_limit() {
    [ "$(bc_field "$bomb" pids held)" -ge $((limit - 2)) ] && [ "$(bc_field "$bomb" pids failcnt)" -gt 0 ]
}
wait_until 30 bomb_at_limit
assert_eq $limit "$(bc_field "$bomb" pids limit)" "pids limit in beancounters"
held=$(bc_field "$bomb" pids held)
[ "$held" -le $limit ] || fail "pids held $held above the limit $limit"
failcnt=$(bc_field "$bomb" pids failcnt)
# (wait_until above: failcnt rose from 0, the kernel refused forks.)
log "bomb: pids held $held/$limit, maxheld $(bc_field "$bomb" pids maxheld), failcnt $failcnt (forks refused)"
assert_eq $limit "$(bc_field "$bomb" pids maxheld)" "pids maxheld (pids.peak)"

# The host and the neighbour still fork, in reasonable time, while the bomb runs.
host_during=$(fork_loop_ms $forks)
neighbour_during=$(neighbour_fork_loop_ms "$neighbour" $forks)
log "$forks forks on the host: ${host_before} ms before, ${host_during} ms during the bomb"
log "$forks forks in the neighbour: ${neighbour_before} ms before, ${neighbour_during} ms during the bomb"
[ "$(bc_field "$bomb" pids held)" -le $limit ] || fail "the bomb grew past its limit"
# Generous bounds: the machine is shared; a fork-starved host would take far longer (or fail).
[ "$host_during" -lt $((host_before * 10 + 5000)) ] || fail "host forks slowed from $host_before to $host_during ms"
[ "$neighbour_during" -lt $((neighbour_before * 10 + 5000)) ] \
    || fail "neighbour forks slowed from $neighbour_before to $neighbour_during ms"
# The neighbour's own pids counters saw none of it.
assert_eq 0 "$(bc_field "$neighbour" pids failcnt)" "neighbour pids failcnt"
assert_eq running "$(container_status "$neighbour")" "neighbour status"

run_cmd cryo delete --force "$bomb"
assert_eq 0 "$STATUS" "delete --force the bomb (stderr: $ERR)"
run_cmd cryo delete --force "$neighbour"
assert_eq 0 "$STATUS" "delete --force the neighbour (stderr: $ERR)"
