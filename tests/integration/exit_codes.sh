#!/bin/bash
# run and exec return the process's exit status; a process killed by signal N gives 128+N.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
check_run() {
    local expected=$1
    shift
    make_bundle "$bundle" "$@"
    local id
    id=$(new_id)
    run_cmd cryo run --bundle "$bundle" "$id"
    assert_eq "$expected" "$STATUS" "exit status of run '$*' (stderr: $ERR)"
    # run deletes the container when its process has exited.
    run_cmd cryo state "$id"
    [ "$STATUS" != 0 ] || fail "container $id still exists after run: $OUT"
}
check_run 0 true
check_run 1 false
check_run 3 sh -c 'exit 3'
check_run 255 sh -c 'exit 255'

# pid 1 of a pid namespace ignores signals it has no handler for, even SIGKILL from inside, so
# the 137 case is a SIGKILL sent with cryo kill while run waits.
make_bundle "$bundle" sleep 1000
id=$(new_id)
(st=0; cryo run --bundle "$bundle" "$id" >"$TEST_TMP/run.out" 2>&1 || st=$?; echo $st >"$TEST_TMP/run.status") &
runner=$!
wait_status "$id" running
run_cmd cryo kill "$id" KILL
assert_eq 0 "$STATUS" "kill KILL (stderr: $ERR)"
wait "$runner" || true
assert_eq 137 "$(cat "$TEST_TMP/run.status")" "exit status of run killed by SIGKILL ($(cat "$TEST_TMP/run.out"))"
run_cmd cryo state "$id"
[ "$STATUS" != 0 ] || fail "container $id still exists after run: $OUT"

# exec returns the exec'd process's status; the container keeps running.
make_bundle "$bundle" sleep 1000
id=$(new_id)
run_cmd cryo run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d exit status (stderr: $ERR)"
assert_eq "" "$OUT" "run -d stdout"
wait_status "$id" running
assert_status 0 cryo exec "$id" true
assert_status 5 cryo exec "$id" sh -c 'exit 5'
assert_status 137 cryo exec "$id" sh -c 'kill -9 $$'
assert_status 143 cryo exec "$id" sh -c 'kill -TERM $$'
assert_eq running "$(container_status "$id")" "status after exec"
run_cmd cryo delete --force "$id"
assert_eq 0 "$STATUS" "delete --force exit status (stderr: $ERR)"
