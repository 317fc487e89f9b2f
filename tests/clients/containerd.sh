#!/bin/bash
# containerd 1.6 from Debian drives cryo through its runc shim (`ctr run --runc-binary <cryo>`):
# run --rm with output, a detached task with exec, ps, pause/resume, kill and delete, on a
# busybox image imported locally (podman save --format oci-archive | ctr images import).
# The shim calls: --root R --log F --log-format json create --bundle B --pid-file P ID, start,
# exec --process --detach --pid-file, ps --format json, pause, resume, kill, delete [--force].
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/clients.bash"

install_clients podman containerd
setup_podman
import_busybox_image localhost/bb
run_cmd podman save --format oci-archive -o "$TEST_TMP/bb.tar" localhost/bb
assert_eq 0 "$STATUS" "podman save (stderr: $ERR)"
start_containerd
run_cmd ctr_ images import --base-name localhost/bb "$TEST_TMP/bb.tar"
assert_eq 0 "$STATUS" "ctr images import (stderr: $ERR)"
image=$(ctr_ images ls -q | grep '^localhost/bb' | head -n 1)
[ -n "$image" ] || fail "no localhost/bb image after import: $(ctr_ images ls)"
runtime=(--runtime io.containerd.runc.v2 --runc-binary "$CRYO")

id=$TEST_TAG-a
run_cmd ctr_ run --rm "${runtime[@]}" "$image" "$id" sh -c 'echo "hello from pid $$"; hostname'
assert_eq 0 "$STATUS" "ctr run --rm (stderr: $ERR)"
assert_contains "$OUT" "hello from pid 1" "ctr run output"

run_cmd ctr_ run --rm "${runtime[@]}" "$image" "$TEST_TAG-b" sh -c 'exit 3'
assert_eq 3 "$STATUS" "exit status through ctr run"

id=$TEST_TAG-c
run_cmd ctr_ run -d "${runtime[@]}" "$image" "$id" sleep 1000
assert_eq 0 "$STATUS" "ctr run -d (stderr: $ERR)"
wait_until 10 sh -c "ctr --address '$CTD_SOCK' --namespace '$TEST_TAG' tasks ls | grep -q '$id.*RUNNING'"
run_cmd ctr_ tasks exec --exec-id e1 "$id" sh -c 'echo "exec sees $(cat /proc/1/comm)"'
assert_eq 0 "$STATUS" "ctr tasks exec (stderr: $ERR)"
assert_contains "$OUT" "exec sees sleep" "ctr tasks exec output"
run_cmd ctr_ tasks ps "$id"
assert_eq 0 "$STATUS" "ctr tasks ps (stderr: $ERR)"
assert_contains "$OUT" "PID" "ctr tasks ps output"
run_cmd ctr_ tasks pause "$id"
assert_eq 0 "$STATUS" "ctr tasks pause (stderr: $ERR)"
assert_contains "$(ctr_ tasks ls)" "PAUSED" "task status after pause"
run_cmd ctr_ tasks resume "$id"
assert_eq 0 "$STATUS" "ctr tasks resume (stderr: $ERR)"
run_cmd ctr_ tasks kill -s KILL "$id"
assert_eq 0 "$STATUS" "ctr tasks kill (stderr: $ERR)"
wait_until 10 sh -c "ctr --address '$CTD_SOCK' --namespace '$TEST_TAG' tasks ls | grep -q '$id.*STOPPED'"
run_cmd ctr_ tasks rm "$id"
assert_eq 0 "$STATUS" "ctr tasks rm (stderr: $ERR)"
run_cmd ctr_ containers rm "$id"
assert_eq 0 "$STATUS" "ctr containers rm (stderr: $ERR)"
[ -z "$(ls -A "/run/containerd/runc/$TEST_TAG" 2>/dev/null)" ] || \
    fail "runtime state left in /run/containerd/runc/$TEST_TAG: $(ls "/run/containerd/runc/$TEST_TAG")"
