#!/bin/bash
# Container checkpoint/restore through runc's verbs: a busybox container with a counter loop,
# a child and an orphan is checkpointed (stopped, nothing left), restored (init is pid 1
# again, same pids inside, counter goes on from where it was, hostname kept, running without
# start, state shows the new host pid, pid file written), then killed and deleted normally.
# Then --leave-running, and two restores under new ids from one image (a snapshot).
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c '(sleep 1000 &); sleep 1000 & i=0; while true; do i=$((i+1)); echo $i > /tmp/counter.new; mv /tmp/counter.new /tmp/counter; sleep 0.05; done'
counter=$bundle/rootfs/tmp/counter
counter_above() { [ "$(cat "$counter" 2>/dev/null || echo 0)" -gt "$1" ]; }
inside_counter_above() { [ "$(cryo exec "$1" cat /tmp/counter 2>/dev/null || echo 0)" -gt "$2" ]; }
id=$(new_id)
defer "cryo delete --force $id >/dev/null 2>&1 || true"
run_cmd cryo run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d (stderr: $ERR)"
wait_until 5 test -s "$counter"
wait_until 5 counter_above 3

# The long-lived processes inside ("pid ppid command" of the init and the two sleep 1000s;
# the loop's short-lived forks come and go).
long_lived() {
    cryo exec "$1" ps -o pid,ppid,args | awk 'NR > 1 && ($1 == 1 || ($3 == "sleep" && $4 == "1000")) { print $1, $2, $3 }' | sort -n
}
before_ps=$(long_lived "$id")
assert_contains "$before_ps" "1 0 sh" "init before checkpoint"
[ "$(echo "$before_ps" | grep -c sleep)" -ge 2 ] || fail "expected the child and the orphan: $before_ps"

image=$TEST_TMP/image
work=$TEST_TMP/work
run_cmd cryo checkpoint --image-path "$image" --work-path "$work" "$id"
assert_eq 0 "$STATUS" "checkpoint (stderr: $ERR)"
assert_eq stopped "$(container_status "$id")" "status after checkpoint"
at_checkpoint=$(cat "$counter")
sleep 0.3
assert_eq "$at_checkpoint" "$(cat "$counter")" "counter after checkpoint (nothing runs)"
[ -s "$work/dump.log" ] || fail "no dump.log in the work path"
for f in manifest.json container.json config.json ns_pids.json; do
    [ -f "$image/$f" ] || fail "image lacks $f"
done
assert_eq "$TEST_HOSTNAME" "$(jq -r .hostname "$image/container.json")" "hostname in container.json"
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete after checkpoint (stderr: $ERR)"

# Restore under the same id: running at once, new host pid, same pids inside.
pid_file=$TEST_TMP/restored.pid
run_cmd cryo restore -d --image-path "$image" --work-path "$work" --bundle "$bundle" --pid-file "$pid_file" "$id"
assert_eq 0 "$STATUS" "restore (stderr: $ERR)"
assert_eq running "$(container_status "$id")" "status after restore"
host_pid=$(container_pid "$id")
assert_eq "$host_pid" "$(cat "$pid_file")" "pid file"
[ -d "/proc/$host_pid" ] || fail "restored init $host_pid does not exist"
wait_until 5 counter_above "$at_checkpoint"
first_after=$(cat "$counter")
# The loop's variable came back: counting goes on from the checkpoint, not from 1.
[ "$first_after" -gt "$at_checkpoint" ] && [ "$first_after" -lt $((at_checkpoint + 40)) ] \
    || fail "counter after restore: $first_after (checkpoint at $at_checkpoint)"
assert_eq "$before_ps" "$(long_lived "$id")" "pids inside after restore"
assert_eq "$TEST_HOSTNAME" "$(cryo exec "$id" hostname)" "hostname after restore"
assert_eq 1 "$(cryo exec "$id" sh -c 'cat /proc/1/status' | awk '/^NSpid/ { print $NF }')" "init's pid inside"

# A restored container checkpoints and restores again (migrating twice).
run_cmd cryo checkpoint --image-path "$TEST_TMP/image-again" "$id"
assert_eq 0 "$STATUS" "checkpoint of the restored container (stderr: $ERR)"
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"
again=$(cat "$counter")
run_cmd cryo restore -d --image-path "$TEST_TMP/image-again" --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "second restore (stderr: $ERR)"
assert_eq "$before_ps" "$(long_lived "$id")" "pids inside after the second restore"
wait_until 5 counter_above "$again"

run_cmd cryo kill "$id" KILL
assert_eq 0 "$STATUS" "kill restored (stderr: $ERR)"
wait_status "$id" stopped
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete restored (stderr: $ERR)"

# A checkpoint is a snapshot: two containers under new ids from the same image, at once.
id2=$(new_id)
id3=$(new_id)
defer "cryo delete --force $id2 >/dev/null 2>&1 || true"
defer "cryo delete --force $id3 >/dev/null 2>&1 || true"
for new in "$id2" "$id3"; do
    run_cmd cryo restore -d --image-path "$image" --bundle "$bundle" "$new"
    assert_eq 0 "$STATUS" "restore as $new (stderr: $ERR)"
    assert_eq running "$(container_status "$new")" "status of $new"
    assert_eq "$before_ps" "$(long_lived "$new")" "pids inside $new"
done
[ "$(container_pid "$id2")" != "$(container_pid "$id3")" ] || fail "two restores share a host pid"
for new in "$id2" "$id3"; do
    run_cmd cryo delete --force "$new"
    assert_eq 0 "$STATUS" "delete --force $new (stderr: $ERR)"
done

# --leave-running (podman passes it twice): the container runs on and keeps counting.
id4=$(new_id)
defer "cryo delete --force $id4 >/dev/null 2>&1 || true"
run_cmd cryo run -d --bundle "$bundle" "$id4"
assert_eq 0 "$STATUS" "run -d (stderr: $ERR)"
wait_until 5 inside_counter_above "$id4" 2
run_cmd cryo checkpoint --image-path "$TEST_TMP/image2" --leave-running --leave-running "$id4"
assert_eq 0 "$STATUS" "checkpoint --leave-running (stderr: $ERR)"
assert_eq running "$(container_status "$id4")" "status after --leave-running"
now=$(cat "$counter")
wait_until 5 counter_above "$now"
[ -f "$TEST_TMP/image2/container.json" ] || fail "no image from --leave-running"
run_cmd cryo delete --force "$id4"
assert_eq 0 "$STATUS" "delete --force (stderr: $ERR)"
