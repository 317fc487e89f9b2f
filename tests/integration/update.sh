#!/bin/bash
# update changes a running container's cgroup limits: single-resource flags, --resources FILE
# and --resources - (JSON on stdin, as containerd sends it).
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sleep 1000
spec_edit "$bundle" '.linux.resources = {memory: {limit: 67108864}, pids: {limit: 100}, cpu: {shares: 512}}'
id=$(new_id)
run_cmd cryo run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d (stderr: $ERR)"
pid=$(container_pid "$id")
pids_dir=$(cgroup_dir "$pid" pids)
memory_dir=$(cgroup_dir "$pid" memory)
v1=0
[ -f "$memory_dir/memory.limit_in_bytes" ] && v1=1
memory_limit() {
    if [ $v1 = 1 ]; then cat "$memory_dir/memory.limit_in_bytes"; else cat "$memory_dir/memory.max"; fi
}
assert_eq 100 "$(cat "$pids_dir/pids.max")" "pids.max from the spec"

run_cmd cryo update --pids-limit 50 "$id"
assert_eq 0 "$STATUS" "update --pids-limit (stderr: $ERR)"
assert_eq 50 "$(cat "$pids_dir/pids.max")" "pids.max after --pids-limit"

run_cmd cryo update --memory 134217728 "$id"
assert_eq 0 "$STATUS" "update --memory (stderr: $ERR)"
assert_eq 134217728 "$(memory_limit)" "memory limit after --memory"
if [ $v1 = 1 ]; then
    run_cmd cryo update --cpu-share 256 "$id"
    assert_eq 0 "$STATUS" "update --cpu-share (stderr: $ERR)"
    assert_eq 256 "$(cat "$(cgroup_dir "$pid" cpu)/cpu.shares")" "cpu.shares after --cpu-share"
    run_cmd cryo update --cpu-quota 50000 --cpu-period 100000 "$id"
    assert_eq 0 "$STATUS" "update --cpu-quota --cpu-period (stderr: $ERR)"
    assert_eq 50000 "$(cat "$(cgroup_dir "$pid" cpu)/cpu.cfs_quota_us")" "cpu.cfs_quota_us"
    assert_eq 100000 "$(cat "$(cgroup_dir "$pid" cpu)/cpu.cfs_period_us")" "cpu.cfs_period_us"
fi

echo '{"memory": {"limit": 100663296}, "pids": {"limit": 40}}' > "$TEST_TMP/resources.json"
run_cmd cryo update --resources "$TEST_TMP/resources.json" "$id"
assert_eq 0 "$STATUS" "update --resources FILE (stderr: $ERR)"
assert_eq 100663296 "$(memory_limit)" "memory limit after --resources FILE"
assert_eq 40 "$(cat "$pids_dir/pids.max")" "pids.max after --resources FILE"

run_cmd cryo update --resources - "$id" <<<'{"pids": {"limit": 77}}'
assert_eq 0 "$STATUS" "update --resources - (stderr: $ERR)"
assert_eq 77 "$(cat "$pids_dir/pids.max")" "pids.max after --resources -"

# Malformed resources are refused with one line and change nothing.
echo '{"pids": {"limit": "many"}}' > "$TEST_TMP/bad.json"
run_cmd cryo update --resources "$TEST_TMP/bad.json" "$id"
[ "$STATUS" != 0 ] || fail "update accepted a string pids limit"
assert_eq 77 "$(cat "$pids_dir/pids.max")" "pids.max after a refused update"

run_cmd cryo delete --force "$id"
assert_eq 0 "$STATUS" "delete --force (stderr: $ERR)"
