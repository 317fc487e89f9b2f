#!/bin/bash
# Runtime core smoke test: run (pid 1, hostname, exit status, 128+signal), the
# create/start/state/kill/delete lifecycle with its status transitions, exec (exit status,
# inside the pid namespace and the cgroup), and a failed create leaving nothing behind.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'echo "pid=$$ host=$(hostname)"; exit 7'

id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 7 "$STATUS" "run exit status (stderr: $ERR)"
assert_eq "pid=1 host=$TEST_HOSTNAME" "$OUT" "run output"
assert_fails_with "does not exist" cryo state "$id"

# Killed by a signal: 128 + signal, as a shell reports it. (From outside: inside its pid
# namespace the init is immune to SIGKILL.)
spec_edit "$bundle" '.process.args = ["sleep", "100"]'
id=$(new_id)
cryo run --bundle "$bundle" "$id" > /dev/null 2>&1 &
run_pid=$!
wait_status "$id" running
cryo kill "$id" KILL
status=0
wait "$run_pid" || status=$?
assert_eq 137 "$status" "exit status of a killed run"

# Lifecycle.
spec_edit "$bundle" '.process.args = ["sleep", "100"]'
id=$(new_id)
assert_status 0 cryo create --bundle "$bundle" --pid-file "$TEST_TMP/pid" "$id"
assert_eq created "$(container_status "$id")" "status after create"
pid=$(container_pid "$id")
assert_eq "$pid" "$(cat "$TEST_TMP/pid")" "pid file"
# The init waits before exec: it is still cryo's code, not sleep.
[ "$(readlink "/proc/$pid/exe")" != "$(readlink -f "$bundle/rootfs/bin/busybox")" ] || fail "init exec'd before start"
assert_status 0 cryo start "$id"
assert_eq running "$(container_status "$id")" "status after start"
assert_fails_with "cannot start container $id in state running" cryo start "$id"

# exec: inside the pid namespace and the container's cgroup, exit status comes back.
run_cmd cryo exec "$id" sh -c 'echo "pid=$$"; cat /proc/self/cgroup; exit 3'
assert_eq 3 "$STATUS" "exec exit status (stderr: $ERR)"
assert_not_contains "$OUT" "pid=1" "exec is not pid 1"
assert_contains "$(printf '%s\n' "$OUT" | grep memory)" "$id" "exec cgroup"
# Inside: the init, this sh, ls and grep; a host pid would add more.
run_cmd cryo exec "$id" sh -c 'ls /proc | grep -c "^[0-9]"'
[ "$OUT" -le 4 ] || fail "exec sees host processes: $OUT"

assert_status 0 cryo kill "$id" KILL
wait_status "$id" stopped
assert_eq 0 "$(container_pid "$id")" "pid of a stopped container"
assert_fails_with "cannot kill container $id in state stopped" cryo kill "$id" KILL
assert_status 0 cryo delete "$id"
assert_fails_with "does not exist" cryo state "$id"

# delete --force of a running container.
id=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" "$id"
assert_eq running "$(container_status "$id")"
assert_fails_with "cannot delete container $id in state running" cryo delete "$id"
assert_status 0 cryo delete --force "$id"
assert_fails_with "does not exist" cryo state "$id"

# A create that fails late (a mount the kernel refuses) leaves nothing: no state, no cgroup,
# no process (checked by lib.sh's leak check on exit too).
spec_edit "$bundle" '.mounts += [{"destination": "/x", "type": "nosuchfs", "source": "none"}]'
id=$(new_id)
assert_fails_with "create $id: prepare rootfs: mount none on /x" cryo create --bundle "$bundle" "$id"
assert_fails_with "does not exist" cryo state "$id"
check_no_leaks || fail "failed create left things behind"
