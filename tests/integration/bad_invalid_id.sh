#!/bin/bash
# Ids that could escape the state root or are empty are refused with one line, nothing made.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" true
for bad in "../escape$TEST_TAG" "a/b$TEST_TAG" "." ".." "with space$TEST_TAG" "$(printf 'nl\n%s' "$TEST_TAG")"; do
    assert_fails_with "invalid" cryo create --bundle "$bundle" "$bad"
done
# An empty id: "invalid", "empty" or "missing", any way the line names the id.
assert_fails_with "id" cryo create --bundle "$bundle" ""
[ ! -e "$TEST_TMP/escape$TEST_TAG" ] || fail "an id with ../ created $TEST_TMP/escape$TEST_TAG"
[ -z "$(ls -A "$ROOT")" ] || fail "state root not empty: $(ls -A "$ROOT")"
