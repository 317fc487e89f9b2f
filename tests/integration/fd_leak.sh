#!/bin/bash
# No host fd reaches a container process, CLOEXEC or not: the shell that calls cryo holds a
# non-CLOEXEC fd 7 (and bash's own), yet the process sees only 0, 1, 2, for run and for exec.
# --preserve-fds N passes exactly fds 3..3+N-1.
. "$(dirname "$0")/lib.sh"

echo "host secret" > "$TEST_TMP/secret"
echo "preserved three" > "$TEST_TMP/three"
echo "preserved four" > "$TEST_TMP/four"
exec 7<"$TEST_TMP/secret"   # bash opens redirection fds without O_CLOEXEC
[ -e /proc/$$/fd/7 ] || fail "test setup: fd 7 is not open in the test shell"

# ls lists the shell's fds from another process (a glob or a pipe would add fds of its own;
# as the last command sh would exec ls in place, hence "; true"). Its output goes straight to
# run's stdout, one fd per line.
list_fds='ls /proc/$$/fd; true'

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c "$list_fds"
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run exit status (stderr: $ERR)"
assert_eq "0 1 2" "$(echo $OUT)" "fds inside (run)"

# run --preserve-fds 2: fds 3 and 4 arrive (readable, same content), 7 still does not.
make_bundle "$bundle" sh -c "$list_fds; cat <&3; cat <&4"
id=$(new_id)
exec 3<"$TEST_TMP/three" 4<"$TEST_TMP/four"
run_cmd cryo run --preserve-fds 2 --bundle "$bundle" "$id"
exec 3<&- 4<&-
assert_eq 0 "$STATUS" "run --preserve-fds exit status (stderr: $ERR)"
assert_eq "0 1 2 3 4 preserved three preserved four" "$(echo $OUT)" "fds inside (run --preserve-fds 2)"

# exec into a running container, from the same leaky shell.
make_bundle "$bundle" sleep 1000
id=$(new_id)
run_cmd cryo run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d exit status (stderr: $ERR)"
wait_status "$id" running
run_cmd cryo exec "$id" sh -c "$list_fds"
assert_eq 0 "$STATUS" "exec exit status (stderr: $ERR)"
assert_eq "0 1 2" "$(echo $OUT)" "fds inside (exec)"
# The container's init also has nothing but stdio.
run_cmd cryo exec "$id" sh -c 'ls /proc/1/fd; true'
assert_eq "0 1 2" "$(echo $OUT)" "fds of the container init"
exec 3<"$TEST_TMP/three"
run_cmd cryo exec --preserve-fds 1 "$id" sh -c "$list_fds; cat <&3"
exec 3<&-
assert_eq 0 "$STATUS" "exec --preserve-fds exit status (stderr: $ERR)"
assert_eq "0 1 2 3 preserved three" "$(echo $OUT)" "fds inside (exec --preserve-fds 1)"

run_cmd cryo kill "$id" KILL
assert_eq 0 "$STATUS" "kill exit status (stderr: $ERR)"
wait_status "$id" stopped
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete exit status (stderr: $ERR)"
exec 7<&-
