#!/bin/bash
# pause freezes every process of the container (a counter stops advancing, the freezer says
# FROZEN) and resume thaws them; state follows running -> paused -> running.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/counter.new; mv /tmp/counter.new /tmp/counter; sleep 0.02; done'
counter=$bundle/rootfs/tmp/counter
id=$(new_id)
run_cmd cryo run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d (stderr: $ERR)"
wait_until 5 test -s "$counter"
pid=$(container_pid "$id")

run_cmd cryo pause "$id"
assert_eq 0 "$STATUS" "pause (stderr: $ERR)"
assert_eq paused "$(container_status "$id")" "status after pause"
freezer=$(cgroup_dir "$pid" freezer)
if [ -f "$freezer/freezer.state" ]; then
    assert_eq FROZEN "$(cat "$freezer/freezer.state")" "freezer.state"
elif [ -f "$freezer/cgroup.freeze" ]; then
    assert_eq 1 "$(cat "$freezer/cgroup.freeze")" "cgroup.freeze"
fi
assert_contains "$(grep State: "/proc/$pid/status")" "(" "process state"
before=$(cat "$counter")
sleep 0.3
assert_eq "$before" "$(cat "$counter")" "counter while paused"

run_cmd cryo resume "$id"
assert_eq 0 "$STATUS" "resume (stderr: $ERR)"
# resume returns once the freezer has thawed every task (the kernel thaws them inside the
# write of THAWED / cgroup.freeze=0), so the state is final here, not THAWING.
if [ -f "$freezer/freezer.state" ]; then
    assert_eq THAWED "$(cat "$freezer/freezer.state")" "freezer.state after resume"
elif [ -f "$freezer/cgroup.freeze" ]; then
    assert_eq 0 "$(cat "$freezer/cgroup.freeze")" "cgroup.freeze after resume"
fi
assert_eq running "$(container_status "$id")" "status after resume"
# The counter is read anew on every poll: `wait_until 5 test "$(cat ...)" -gt N` expanded
# the cat once, before the first poll, so when the thawed loop had not yet written a new value
# at that instant (a loaded machine), the test compared the same stale number for 5 s.
counter_above() { [ "$(cat "$counter")" -gt "$1" ]; }
wait_until 5 counter_above "$before"

run_cmd cryo delete --force "$id"
assert_eq 0 "$STATUS" "delete --force (stderr: $ERR)"

# A paused container can be force-deleted too (it is thawed so the kill lands).
id=$(new_id)
run_cmd cryo run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d (stderr: $ERR)"
run_cmd cryo pause "$id"
assert_eq 0 "$STATUS" "pause (stderr: $ERR)"
run_cmd cryo delete --force "$id"
assert_eq 0 "$STATUS" "delete --force of a paused container (stderr: $ERR)"
