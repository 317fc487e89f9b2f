#!/bin/bash
# create from a bundle without config.json: one line naming config.json, non-zero exit,
# no container, nothing left behind.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" true
rm "$bundle/config.json"
id=$(new_id)
assert_fails_with "config.json" cryo create --bundle "$bundle" "$id"
assert_fails_with "does not exist" cryo state "$id"
assert_fails_with "config.json" cryo run --bundle "$bundle" "$id"
