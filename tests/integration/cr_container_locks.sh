#!/bin/bash
# File locks across a container checkpoint: a process holding an flock and a POSIX lock makes
# `checkpoint` fail (one line, container still running) unless --file-locks is given; with it,
# the locks are dumped, and after restore they are held again: a second process inside finds
# both taken.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" /lock_holder hold /tmp/lockfile
gcc -static -O1 -o "$bundle/rootfs/lock_holder" "$CRYO_SOURCE/tests/integration/helpers/lock_holder.c" \
    || fail "cannot build the lock holder"
id=$(new_id)
defer "cryo delete --force $id >/dev/null 2>&1 || true"
run_cmd cryo run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d (stderr: $ERR)"
wait_until 5 cryo exec "$id" /lock_holder probe /tmp/lockfile

image=$TEST_TMP/image
assert_fails_with "file lock" cryo checkpoint --image-path "$image" "$id"
assert_eq running "$(container_status "$id")" "status after a refused checkpoint"

run_cmd cryo checkpoint --file-locks --image-path "$image" "$id"
assert_eq 0 "$STATUS" "checkpoint --file-locks (stderr: $ERR)"
assert_eq stopped "$(container_status "$id")" "status after checkpoint"
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"

run_cmd cryo restore -d --file-locks --image-path "$image" --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "restore (stderr: $ERR)"
run_cmd cryo exec "$id" /lock_holder probe /tmp/lockfile
assert_eq 0 "$STATUS" "locks held after restore ($OUT)"
host_pid=$(container_pid "$id")
assert_contains "$(cat /proc/locks)" " $host_pid " "the restored init in /proc/locks"
