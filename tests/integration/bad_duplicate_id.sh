#!/bin/bash
# Creating a second container with an id in use fails with one line naming the id, and leaves
# the first container untouched.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sleep 1000
id=$(new_id)
run_cmd cryo create --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "first create (stderr: $ERR)"
pid=$(container_pid "$id")
assert_fails_with "$id" cryo create --bundle "$bundle" "$id"
assert_contains "$ERR" "exists" "duplicate id error"
assert_fails_with "$id" cryo run -d --bundle "$bundle" "$id"
assert_eq created "$(container_status "$id")" "first container after the refused create"
assert_eq "$pid" "$(container_pid "$id")" "first container's pid"
run_cmd cryo delete --force "$id"
assert_eq 0 "$STATUS" "delete --force (stderr: $ERR)"
