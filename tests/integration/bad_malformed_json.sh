#!/bin/bash
# create with a config.json that is not JSON: one line naming config.json, non-zero exit,
# nothing left behind. Covers a syntax error and a truncated file.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" true
cp "$bundle/config.json" "$TEST_TMP/good.json"
printf '{"ociVersion": "1.0.2", "process": {' > "$bundle/config.json"
id=$(new_id)
assert_fails_with "config.json" cryo create --bundle "$bundle" "$id"
assert_fails_with "does not exist" cryo state "$id"
head -c 200 "$TEST_TMP/good.json" > "$bundle/config.json"
assert_fails_with "config.json" cryo create --bundle "$bundle" "$id"
echo 'not json at all' > "$bundle/config.json"
assert_fails_with "config.json" cryo run --bundle "$bundle" "$id"
: > "$bundle/config.json"
assert_fails_with "config.json" cryo create --bundle "$bundle" "$id"
