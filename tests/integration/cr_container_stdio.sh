#!/bin/bash
# The restored container's stdio: each of the init's fds 0-2 becomes the restore's fd of the
# same number, even when the checkpointed init had 1 and 2 on one description (`>f 2>&1`,
# as a shell or a terminal makes them). The container is run with stdout and stderr on one
# file and restored with them on two: "out" lines must land in the new stdout only, "err"
# lines (the init's and a child's, which inherited the shared description as its fd 2) in
# the new stderr only, and the count goes on from the checkpoint. Then the other way round:
# two files at run, one at restore.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c '(while :; do echo child-err >&2; sleep 0.05; done) &
    i=0; while :; do i=$((i+1)); echo "out $i"; echo "err $i" >&2; sleep 0.05; done'
lines_of() { grep -c "$2" "$1" 2>/dev/null || true; }
has_lines() { [ "$(lines_of "$1" "$2")" -ge "$3" ]; }
# last_count FILE: N of the last "out N" line.
last_count() { grep '^out ' "$1" | tail -n 1 | cut -d' ' -f2; }

# 1. Run with 1 and 2 sharing one description; restore with two files.
id=$(new_id)
defer "cryo delete --force $id >/dev/null 2>&1 || true"
shared=$TEST_TMP/shared.log
cryo run -d --bundle "$bundle" "$id" </dev/null >"$shared" 2>&1 || fail "run -d: $(cat "$shared")"
wait_until 5 has_lines "$shared" '^err ' 3
wait_until 5 has_lines "$shared" '^child-err' 3
run_cmd cryo checkpoint --image-path "$TEST_TMP/image" "$id"
assert_eq 0 "$STATUS" "checkpoint (stderr: $ERR)"
at_checkpoint=$(last_count "$shared")
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"

out=$TEST_TMP/out.log
err=$TEST_TMP/err.log
cryo restore -d --image-path "$TEST_TMP/image" --bundle "$bundle" "$id" </dev/null >"$out" 2>"$err" \
    || fail "restore: $(cat "$err")"
wait_until 5 has_lines "$err" '^err ' 3
wait_until 5 has_lines "$err" '^child-err' 3
wait_until 5 has_lines "$out" '^out ' 3
assert_eq 0 "$(lines_of "$out" 'err')" "stderr lines in the restored stdout ($(head -c 300 "$out"))"
assert_eq 0 "$(lines_of "$err" '^out ')" "stdout lines in the restored stderr ($(head -c 300 "$err"))"
assert_eq "out $((at_checkpoint + 1))" "$(head -n 1 "$out")" "first line after restore (checkpoint at $at_checkpoint)"
run_cmd cryo delete --force "$id"
assert_eq 0 "$STATUS" "delete --force (stderr: $ERR)"

# 2. Run with two files; restore with one: both streams arrive in it.
id2=$(new_id)
defer "cryo delete --force $id2 >/dev/null 2>&1 || true"
cryo run -d --bundle "$bundle" "$id2" </dev/null >"$TEST_TMP/out2.log" 2>"$TEST_TMP/err2.log" || fail "run -d: $(cat "$TEST_TMP/err2.log")"
wait_until 5 has_lines "$TEST_TMP/err2.log" '^err ' 3
run_cmd cryo checkpoint --image-path "$TEST_TMP/image2" "$id2"
assert_eq 0 "$STATUS" "checkpoint (stderr: $ERR)"
run_cmd cryo delete "$id2"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"
both=$TEST_TMP/both.log
cryo restore -d --image-path "$TEST_TMP/image2" --bundle "$bundle" "$id2" </dev/null >"$both" 2>&1 || fail "restore: $(cat "$both")"
wait_until 5 has_lines "$both" '^out ' 3
wait_until 5 has_lines "$both" '^err ' 3
wait_until 5 has_lines "$both" '^child-err' 3
run_cmd cryo delete --force "$id2"
assert_eq 0 "$STATUS" "delete --force (stderr: $ERR)"
