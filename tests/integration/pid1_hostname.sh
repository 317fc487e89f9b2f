#!/bin/bash
# The container's process is pid 1 of a new pid namespace, sees the spec's hostname, runs as
# root with the spec's cwd and env, and `run` passes its stdout through.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'echo "pid=$$"; echo "host=$(hostname)"; echo "uid=$(id -u)"; echo "cwd=$(pwd)"; echo "marker=$CRYO_TEST_MARKER"; ls -d /proc/[0-9]* | wc -l'
spec_edit "$bundle" '.process.cwd = "/tmp"'
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run exit status (stderr: $ERR)"
assert_contains "$OUT" "pid=1" "pid inside"
assert_contains "$OUT" "host=$TEST_HOSTNAME" "hostname inside"
assert_contains "$OUT" "uid=0" "uid inside"
assert_contains "$OUT" "cwd=/tmp" "cwd inside"
assert_contains "$OUT" "marker=$TEST_TAG" "env inside"
# Only the container's own processes exist in its pid namespace: sh, and ls/wc of the pipeline.
procs=$(printf '%s\n' "$OUT" | tail -n 1 | tr -d ' ')
[ "$procs" -le 3 ] || fail "expected at most 3 processes visible inside, saw $procs"

# The host's hostname is untouched.
assert_eq "$(cat /proc/sys/kernel/hostname)" "$(hostname)" "host hostname"
[ "$(hostname)" != "$TEST_HOSTNAME" ] || fail "host hostname was changed"
