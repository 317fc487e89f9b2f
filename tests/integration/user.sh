#!/bin/bash
# process.user: uid, gid, additionalGids and umask apply inside.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"; echo "umask=$(umask)"; touch /tmp/f; stat -c "owner=%u:%g mode=%a" /tmp/f'
spec_edit "$bundle" '.process.user = {uid: 1234, gid: 2345, additionalGids: [10, 20], umask: 63}'
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run exit status (stderr: $ERR)"
assert_contains "$OUT" "uid=1234 gid=2345" "uid/gid inside"
groups=$(printf '%s\n' "$OUT" | sed -n 's/.*groups=//p' | tr ' ' '\n' | sort -n | tr '\n' ' ')
assert_eq "10 20 2345 " "$groups" "groups inside (primary + additionalGids)"
assert_contains "$OUT" "umask=0077" "umask inside"
assert_contains "$OUT" "owner=1234:2345 mode=600" "file created inside"
