#!/bin/bash
# A field of the wrong type (process.args a string, process.user.uid a string, linux.resources
# pids.limit a string) fails create with one line naming the field, and nothing is left.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" true
cp "$bundle/config.json" "$TEST_TMP/good.json"
id=$(new_id)
try_type() {
    local field=$1 filter=$2
    jq "$filter" "$TEST_TMP/good.json" > "$bundle/config.json"
    assert_fails_with "$field" cryo create --bundle "$bundle" "$id"
    run_cmd cryo state "$id"
    [ "$STATUS" != 0 ] || fail "container exists after create with a bad $field: $OUT"
}
try_type args '.process.args = "sh"'
try_type uid '.process.user.uid = "root"'
try_type terminal '.process.terminal = "no"'
try_type hostname '.hostname = 42'
try_type limit '.linux.resources = {pids: {limit: "many"}}'
try_type namespaces '.linux.namespaces = {type: "pid"}'
