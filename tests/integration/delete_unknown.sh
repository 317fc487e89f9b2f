#!/bin/bash
# delete of an id that does not exist fails with one line naming the id (as runc does, which
# exits 1 with "container does not exist"); delete --force of it succeeds quietly, like runc.
. "$(dirname "$0")/lib.sh"

id=$(new_id)
assert_fails_with "does not exist" cryo delete "$id"
assert_contains "$ERR" "$id" "error names the container"
assert_eq 1 "$STATUS" "exit status of delete of an unknown id"
run_cmd cryo delete --force "$id"
assert_eq 0 "$STATUS" "delete --force of an unknown id (stderr: $ERR)"
for verb in state start pause resume ps; do
    assert_fails_with "does not exist" cryo "$verb" "$id"
done
assert_fails_with "does not exist" cryo kill "$id" KILL
