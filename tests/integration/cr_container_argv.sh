#!/bin/bash
# The argv containerd's runc shim sends (CLIENT_ARGV.md): pause, checkpoint --image-path
# --work-path --file-locks --leave-running, resume; then, after the container is gone,
# restore --image-path --work-path --detach --pid-file -no-subreaper --bundle from a COPY of
# the image into another --root (as on another machine). Also a foreground restore (no
# --detach): it waits like run, exits with the init's status and deletes the container.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'sleep 1000 & i=0; while true; do i=$((i+1)); echo $i > /tmp/counter.new; mv /tmp/counter.new /tmp/counter; sleep 0.05; done'
counter=$bundle/rootfs/tmp/counter
counter_above() { [ "$(cat "$counter" 2>/dev/null || echo 0)" -gt "$1" ]; }
shim() { cryo --log "$TEST_TMP/log.json" --log-format json "$@"; }
id=$(new_id)
defer "cryo delete --force $id >/dev/null 2>&1 || true"
run_cmd shim run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d (stderr: $ERR)"
wait_until 5 counter_above 2

image=$TEST_TMP/ctd-checkpoint
run_cmd shim pause "$id"
assert_eq 0 "$STATUS" "pause (stderr: $ERR)"
run_cmd shim checkpoint --image-path "$image" --work-path "$bundle/work/criu-work" --file-locks --leave-running "$id"
assert_eq 0 "$STATUS" "checkpoint (stderr: $ERR)"
run_cmd shim resume "$id"
assert_eq 0 "$STATUS" "resume after checkpoint (stderr: $ERR)"
assert_eq running "$(container_status "$id")" "status after resume"
now=$(cat "$counter")
wait_until 5 counter_above "$now"
run_cmd shim delete --force "$id"
assert_eq 0 "$STATUS" "delete --force (stderr: $ERR)"

# Another state root and a copied image: nothing of the first container is needed.
other_root=$TEST_TMP/other-root
cp -a "$image" "$TEST_TMP/copied"
rm -rf "$image"
other() { "$CRYO" --root "$other_root" "$@"; }
defer "'$CRYO' --root '$other_root' delete --force $id >/dev/null 2>&1 || true"
run_cmd other --log "$TEST_TMP/log.json" --log-format json restore --image-path "$TEST_TMP/copied" \
    --work-path "$bundle/work" --detach --pid-file "$bundle/init.pid" -no-subreaper --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "restore (stderr: $ERR)"
state=$(other state "$id")
assert_eq running "$(echo "$state" | jq -r .status)" "status of the restored container"
assert_eq "$(echo "$state" | jq -r .pid)" "$(cat "$bundle/init.pid")" "pid file"
now=$(cat "$counter")
wait_until 5 counter_above "$now"
assert_eq "1 sh" "$(other exec "$id" ps -o pid,comm | awk '$1 == 1 { print $1, $2 }')" "init inside"
run_cmd other kill "$id" 9
assert_eq 0 "$STATUS" "kill (stderr: $ERR)"
wait_until 5 sh -c "'$CRYO' --root '$other_root' state $id | grep -q '\"stopped\"'"
run_cmd other delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"

# Foreground restore: waits, exits 128+9 when the init is killed, deletes the container.
id2=$(new_id)
defer "cryo delete --force $id2 >/dev/null 2>&1 || true"
cryo restore --image-path "$TEST_TMP/copied" --bundle "$bundle" "$id2" </dev/null >"$TEST_TMP/fg.out" 2>&1 &
fg=$!
wait_status "$id2" running
run_cmd cryo kill "$id2" 9
assert_eq 0 "$STATUS" "kill foreground restore (stderr: $ERR)"
status=0
wait "$fg" || status=$?
assert_eq 137 "$status" "foreground restore exit status"
run_cmd cryo state "$id2"
[ "$STATUS" != 0 ] || fail "foreground restore left container $id2"
