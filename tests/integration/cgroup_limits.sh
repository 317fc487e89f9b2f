#!/bin/bash
# linux.resources reach the container's cgroup files (v1 here, v2 elsewhere) and are in
# effect: with pids.max = 8, forking more processes fails inside.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c '(i=0; while [ $i -lt 12 ]; do sleep 3 & i=$((i+1)); done) 2>/dev/null; set -- /proc/[0-9]*; echo "procs $#" > /tmp/result'
spec_edit "$bundle" '.linux.resources = {
    memory: {limit: 67108864},
    pids: {limit: 8},
    cpu: {shares: 512}}'
id=$(new_id)
run_cmd cryo create --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "create exit status (stderr: $ERR)"
pid=$(container_pid "$id")
[ "$pid" -gt 0 ] || fail "no pid in state"

if [ -d /sys/fs/cgroup/memory ]; then
    memory=$(cgroup_dir "$pid" memory)
    assert_eq 67108864 "$(cat "$memory/memory.limit_in_bytes")" "memory.limit_in_bytes"
    cpu=$(cgroup_dir "$pid" cpu)
    assert_eq 512 "$(cat "$cpu/cpu.shares")" "cpu.shares"
else
    memory=$(cgroup_dir "$pid" memory)
    assert_eq 67108864 "$(cat "$memory/memory.max")" "memory.max"
fi
pids_dir=$(cgroup_dir "$pid" pids)
assert_eq 8 "$(cat "$pids_dir/pids.max")" "pids.max"
grep -qx "$pid" "$pids_dir/cgroup.procs" || fail "init pid $pid is not in $pids_dir/cgroup.procs"

run_cmd cryo start "$id"
assert_eq 0 "$STATUS" "start exit status (stderr: $ERR)"
wait_status "$id" stopped 20
[ -f "$bundle/rootfs/tmp/result" ] || fail "the container wrote no result"
result=$(cat "$bundle/rootfs/tmp/result")
procs=$(echo "$result" | awk '{print $2}')
# busybox sh exits when fork fails, hence the subshell. sh + at most 7 sleeps fit under
# the limit; without it all 12 sleeps would run (13 processes).
[ "$procs" -le 8 ] || fail "pids.max 8 not enforced: $procs processes inside"
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete exit status (stderr: $ERR)"
[ ! -d "$pids_dir" ] || fail "cgroup $pids_dir still exists after delete"
