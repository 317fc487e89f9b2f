#!/bin/bash
# The restored container's stdio: each of the init's fds 0-2 becomes the restore's fd of the
# same number, even when the checkpointed init had 1 and 2 on one description (`>f 2>&1`,
# as a shell or a terminal makes them). The container is run with stdout and stderr on one
# file and restored with them on two: "out" lines must land in the new stdout only, "err"
# lines (the init's and a child's, which inherited the shared description as its fd 2) in
# the new stderr only, and the count goes on from the checkpoint. Then the other way round:
# two files at run, one at restore. Then an init that holds the runtime's stdout at fd 10 and a
# file of the container at fd 1 (a shell redirecting), checkpointed twice in a row.
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

# 3. The init holds the runtime's stdout at fd 10 and has a file of the container at fd 1
# (as a shell does while it redirects a builtin's output: cr_container_errors once caught it
# so). The stdout at fd 10 must be reattached to the restore's stdout, and fd 1 must stay the
# container's file: "out" lines go on in the new stdout, "file" lines in the file only.
bundle3=$TEST_TMP/bundle3
make_bundle "$bundle3" sh -c 'exec 10>&1 >/tmp/redirected; i=0
    while :; do i=$((i+1)); echo "out $i" >&10; echo "file $i"; sleep 0.05; done'
redirected=$bundle3/rootfs/tmp/redirected
last_file() { grep '^file ' "$redirected" | tail -n 1 | cut -d' ' -f2; }
id3=$(new_id)
defer "cryo delete --force $id3 >/dev/null 2>&1 || true"
run3=$TEST_TMP/run3.log
cryo run -d --bundle "$bundle3" "$id3" </dev/null >"$run3" 2>"$TEST_TMP/run3.err" || fail "run -d: $(cat "$TEST_TMP/run3.err")"
wait_until 5 has_lines "$run3" '^out ' 3
run_cmd cryo checkpoint --image-path "$TEST_TMP/image3" "$id3"
assert_eq 0 "$STATUS" "checkpoint (stderr: $ERR)"
at_checkpoint=$(last_count "$run3")
file_at_checkpoint=$(last_file)
assert_eq 0 "$(lines_of "$run3" '^file ')" "file lines in the first run's stdout"
run_cmd cryo delete "$id3"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"
marks=$(cat "$TEST_TMP"/image3/process-*.json | jq -cs '[.[] | .file_descriptions[]? | .stdio // empty | .[]] | unique')
assert_eq "[0,1,2]" "$marks" "stdio numbers the image marks"

out3=$TEST_TMP/out3.log
cryo restore -d --image-path "$TEST_TMP/image3" --bundle "$bundle3" "$id3" </dev/null >"$out3" 2>"$TEST_TMP/err3.log" \
    || fail "restore: $(cat "$TEST_TMP/err3.log")"
wait_until 5 has_lines "$out3" '^out ' 3
file_later() { [ "$(last_file)" -gt $((file_at_checkpoint + 2)) ]; }
wait_until 5 file_later
assert_eq 0 "$(lines_of "$out3" '^file ')" "file lines in the restored stdout ($(head -c 300 "$out3"))"
assert_eq "out $((at_checkpoint + 1))" "$(head -n 1 "$out3")" "first line after restore (checkpoint at $at_checkpoint)"
# The file goes on at its offset: lines 1, 2, 3... with no gap and none twice.
assert_eq "" "$(awk '$1 != "file" || $2 != NR { print NR": "$0; exit }' "$redirected")" "lines of the container's file"

# 4. The restored container is checkpointed and restored again: the restore saved what it
# gave the init as stdio, so the new stdout (at fd 10 again) is recognised and reattached.
run_cmd cryo checkpoint --image-path "$TEST_TMP/image4" "$id3"
assert_eq 0 "$STATUS" "second checkpoint (stderr: $ERR)"
at_checkpoint=$(last_count "$out3")
marks=$(cat "$TEST_TMP"/image4/process-*.json | jq -cs '[.[] | .file_descriptions[]? | .stdio // empty | .[]] | unique')
assert_eq "[0,1,2]" "$marks" "stdio numbers the second image marks"
run_cmd cryo delete "$id3"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"
out4=$TEST_TMP/out4.log
cryo restore -d --image-path "$TEST_TMP/image4" --bundle "$bundle3" "$id3" </dev/null >"$out4" 2>"$TEST_TMP/err4.log" \
    || fail "second restore: $(cat "$TEST_TMP/err4.log")"
wait_until 5 has_lines "$out4" '^out ' 3
assert_eq "out $((at_checkpoint + 1))" "$(head -n 1 "$out4")" "first line after the second restore"
assert_eq 0 "$(lines_of "$out4" '^file ')" "file lines in the second restored stdout"
assert_eq "" "$(awk '$1 != "file" || $2 != NR { print NR": "$0; exit }' "$redirected")" "lines of the container's file"
run_cmd cryo delete --force "$id3"
assert_eq 0 "$STATUS" "delete --force (stderr: $ERR)"
