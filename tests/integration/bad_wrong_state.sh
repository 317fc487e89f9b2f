#!/bin/bash
# Verbs in the wrong state fail with "cannot VERB container ID in state STATE", one line.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'exit 0'
id=$(new_id)
run_cmd cryo create --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "create (stderr: $ERR)"
# (runc allows pausing a created container, so that case is not asserted.)
assert_fails_with "cannot resume container $id in state created" cryo resume "$id"
run_cmd cryo start "$id"
assert_eq 0 "$STATUS" "start (stderr: $ERR)"
wait_status "$id" stopped
assert_fails_with "cannot pause container $id in state stopped" cryo pause "$id"
assert_fails_with "cannot resume container $id in state stopped" cryo resume "$id"
assert_fails_with "cannot start container $id in state stopped" cryo start "$id"
assert_fails_with "cannot exec" cryo exec "$id" true
assert_eq stopped "$(container_status "$id")" "status after refused verbs"
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"

# A running container: start again and delete without --force are refused.
make_bundle "$bundle" sleep 1000
id=$(new_id)
run_cmd cryo run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d (stderr: $ERR)"
assert_fails_with "cannot start container $id in state running" cryo start "$id"
assert_fails_with "cannot delete container $id in state running" cryo delete "$id"
assert_fails_with "cannot resume container $id in state running" cryo resume "$id"
assert_eq running "$(container_status "$id")" "status after refused verbs"
run_cmd cryo delete --force "$id"
assert_eq 0 "$STATUS" "delete --force (stderr: $ERR)"
