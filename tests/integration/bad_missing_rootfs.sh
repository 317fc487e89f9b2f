#!/bin/bash
# root.path that does not exist fails create with one line naming it, and nothing is left.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" true
spec_edit "$bundle" '.root.path = "no-such-rootfs"'
id=$(new_id)
assert_fails_with "no-such-rootfs" cryo create --bundle "$bundle" "$id"
assert_fails_with "does not exist" cryo state "$id"
assert_fails_with "no-such-rootfs" cryo run --bundle "$bundle" "$id"
# A rootfs that is a file, not a directory.
touch "$bundle/rootfs-file"
spec_edit "$bundle" '.root.path = "rootfs-file"'
run_cmd cryo create --bundle "$bundle" "$id"
[ "$STATUS" != 0 ] || fail "create accepted a regular file as rootfs"
run_cmd cryo state "$id"
[ "$STATUS" != 0 ] || fail "container exists after a bad rootfs: $OUT"
