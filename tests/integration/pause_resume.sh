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
assert_eq running "$(container_status "$id")" "status after resume"
wait_until 5 test "$(cat "$counter")" -gt "$before"

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
