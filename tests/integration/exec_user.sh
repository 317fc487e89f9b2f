#!/bin/bash
# exec --user takes uid[:gid] as runc does (numbers only: names are not looked up in the
# container's /etc/passwd, runc refuses them too); --additional-gids adds groups.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sleep 60
echo 'named:x:1500:1600::/:/bin/sh' >> "$bundle/rootfs/etc/passwd"
spec_edit "$bundle" '.process.user = {uid: 0, gid: 0, additionalGids: [10]}'
id=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" "$id"
defer "cryo delete --force $id 2>/dev/null || true"

run_cmd cryo exec --user 1234:2345 "$id" sh -c 'echo "$(id -u) $(id -g) $(id -G)"'
assert_eq 0 "$STATUS" "exec --user 1234:2345 (stderr: $ERR)"
assert_eq "1234 2345 2345 10" "$OUT" "uid gid groups with uid:gid"

run_cmd cryo exec --user 1234 "$id" sh -c 'echo "$(id -u) $(id -g)"'
assert_eq 0 "$STATUS" "exec --user 1234 (stderr: $ERR)"
assert_eq "1234 0" "$OUT" "uid only: the spec's gid stays"

run_cmd cryo exec --user 1234:2345 --additional-gids 77 "$id" sh -c 'id -G'
assert_eq 0 "$STATUS" "exec --additional-gids (stderr: $ERR)"
assert_contains "$OUT" "77" "additional gid"

# A name is refused, even one the container's /etc/passwd knows; nothing runs.
run_cmd cryo exec --user named "$id" sh -c 'echo ran'
[ "$STATUS" != 0 ] || fail "exec --user NAME succeeded: $OUT"
assert_not_contains "$OUT" "ran" "nothing ran with a user name"
if [ "$(basename "$CRYO")" != runc ]; then
    assert_fails_with 'uid "named" is not a number' cryo exec --user named "$id" true
    assert_fails_with 'gid "x" is not a number' cryo exec --user 1:x "$id" true
fi
assert_status 0 cryo delete --force "$id"
