#!/bin/bash
# The resource flags of create/run reach the container: --memory, --memory-swap, --cpus,
# --cpu-shares, --cpuset-cpus, --pids-limit, --blkio-weight, --device-{read,write}-{bps,iops}
# land in the cgroup files (over config.json's values), --nofile in the process's
# RLIMIT_NOFILE; `cryo update` (with docker's --cpus) changes them live; a bad value is one
# error line naming the flag and value, and leaves nothing behind.
. "$(dirname "$0")/lib.sh"

# A block device of this host for the throttle flags.
device=
for dev in /sys/block/*; do
    name=$(basename "$dev")
    if [ -b "/dev/$name" ] && [ -f "$dev/dev" ]; then device=/dev/$name; break; fi
done
[ -n "$device" ] || fail "no block device found in /sys/block"
majmin=$(cat "/sys/block/$(basename "$device")/dev")

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sleep 600
# config.json's own values, which the flags must override (memory, pids) or keep (shares).
spec_edit "$bundle" '.linux.resources = {memory: {limit: 268435456}, pids: {limit: 1000}, cpu: {shares: 700}}
    | .process.rlimits = [{type: "RLIMIT_NOFILE", hard: 1024, soft: 1024}]'
id=$(new_id)
run_cmd cryo run -d --bundle "$bundle" --memory 64m --memory-swap 96m --cpus 0.5 --cpuset-cpus 0 \
    --pids-limit 32 --blkio-weight 300 --device-read-bps "$device:1mb" --device-write-bps "$device:2m" \
    --device-read-iops "$device:100" --device-write-iops "$device:50" --nofile 256:512 "$id"
assert_eq 0 "$STATUS" "run -d with every resource flag (stderr: $ERR)"
defer "cryo delete --force $id >/dev/null 2>&1 || true"
pid=$(container_pid "$id")

if [ -d /sys/fs/cgroup/memory ]; then
    memory=$(cgroup_dir "$pid" memory)
    assert_eq 67108864 "$(cat "$memory/memory.limit_in_bytes")" "memory.limit_in_bytes (--memory 64m)"
    assert_eq 100663296 "$(cat "$memory/memory.memsw.limit_in_bytes")" "memory.memsw.limit_in_bytes (--memory-swap 96m)"
    cpu=$(cgroup_dir "$pid" cpu)
    assert_eq 50000 "$(cat "$cpu/cpu.cfs_quota_us")" "cpu.cfs_quota_us (--cpus 0.5)"
    assert_eq 100000 "$(cat "$cpu/cpu.cfs_period_us")" "cpu.cfs_period_us"
    assert_eq 700 "$(cat "$cpu/cpu.shares")" "cpu.shares kept from config.json"
    assert_eq 0 "$(cat "$(cgroup_dir "$pid" cpuset)/cpuset.cpus")" "cpuset.cpus (--cpuset-cpus 0)"
    blkio=$(cgroup_dir "$pid" blkio)
    weight_file=$blkio/blkio.weight
    [ -f "$weight_file" ] || weight_file=$blkio/blkio.bfq.weight
    assert_eq 300 "$(cat "$weight_file")" "$(basename "$weight_file") (--blkio-weight 300)"
    assert_eq "$majmin 1048576" "$(cat "$blkio/blkio.throttle.read_bps_device")" "read_bps_device"
    assert_eq "$majmin 2097152" "$(cat "$blkio/blkio.throttle.write_bps_device")" "write_bps_device"
    assert_eq "$majmin 100" "$(cat "$blkio/blkio.throttle.read_iops_device")" "read_iops_device"
    assert_eq "$majmin 50" "$(cat "$blkio/blkio.throttle.write_iops_device")" "write_iops_device"
else
    dir=$(cgroup_dir "$pid" memory)
    assert_eq 67108864 "$(cat "$dir/memory.max")" "memory.max (--memory 64m)"
    assert_eq "50000 100000" "$(cat "$dir/cpu.max")" "cpu.max (--cpus 0.5)"
fi
assert_eq 32 "$(cat "$(cgroup_dir "$pid" pids)/pids.max")" "pids.max (--pids-limit 32)"
nofile=$(awk '/^Max open files/ {print $4, $5}' "/proc/$pid/limits")
assert_eq "256 512" "$nofile" "RLIMIT_NOFILE soft/hard (--nofile 256:512)"

# The same limits as beancounters show them.
bc=$(cryo beancounters "$id" --format json)
limit_of() { jq -r --arg r "$1" '.[0].resources[] | select(.resource == $r) | .limit' <<< "$bc"; }
assert_eq 67108864 "$(limit_of memory)" "beancounters memory limit"
assert_eq 32 "$(limit_of pids)" "beancounters pids limit"
assert_eq 500 "$(limit_of cpu)" "beancounters cpu limit (mcpu)"
assert_eq 512 "$(limit_of nofile)" "beancounters nofile limit"
assert_eq 1048576 "$(limit_of "io.rbps.$majmin")" "beancounters read bps limit"
assert_eq 50 "$(limit_of "io.wiops.$majmin")" "beancounters write iops limit"
table=$(cryo beancounters)
assert_contains "$table" "RESOURCE" "beancounters table header"
assert_contains "$(grep -F "$id" <<< "$table" | grep -w pids)" "32" "table row of pids"

# cryo update changes them live, --cpus included.
run_cmd cryo update --cpus 1.5 --pids-limit 16 --memory 128m --memory-swap 128m "$id"
assert_eq 0 "$STATUS" "update (stderr: $ERR)"
assert_eq 16 "$(cat "$(cgroup_dir "$pid" pids)/pids.max")" "pids.max after update"
if [ -d /sys/fs/cgroup/cpu ]; then
    assert_eq 150000 "$(cat "$(cgroup_dir "$pid" cpu)/cpu.cfs_quota_us")" "cpu.cfs_quota_us after update --cpus 1.5"
    assert_eq 134217728 "$(cat "$(cgroup_dir "$pid" memory)/memory.limit_in_bytes")" "memory limit after update"
fi
assert_eq 1500 "$(cryo beancounters "$id" --format json | jq -r '.[0].resources[] | select(.resource == "cpu") | .limit')" \
    "beancounters cpu limit after update"
assert_fails_with "--cpus 9: more than the" cryo update --cpus 9 "$id"
assert_fails_with "cannot be used together" cryo update --cpus 1 --cpu-quota 5000 "$id"

run_cmd cryo delete --force "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"

# Bad values: one line naming the flag and the value; no container, state or cgroup left.
bad=$(new_id)
assert_fails_with "--memory 12q: not a size" cryo create --bundle "$bundle" --memory 12q "$bad"
assert_fails_with "--memory-swap 32m: below the memory limit" cryo create --bundle "$bundle" --memory 64m --memory-swap 32m "$bad"
assert_fails_with "--cpus abc: not a number of CPUs" cryo create --bundle "$bundle" --cpus abc "$bad"
assert_fails_with "--cpus 0.0001: too small" cryo create --bundle "$bundle" --cpus 0.0001 "$bad"
assert_fails_with "--cpu-shares 1: out of range" cryo create --bundle "$bundle" --cpu-shares 1 "$bad"
assert_fails_with "--cpuset-cpus 1-0: not a CPU list" cryo create --bundle "$bundle" --cpuset-cpus 1-0 "$bad"
assert_fails_with "--pids-limit lots: not an integer" cryo create --bundle "$bundle" --pids-limit lots "$bad"
assert_fails_with "--blkio-weight 5: out of range 10-1000" cryo create --bundle "$bundle" --blkio-weight 5 "$bad"
assert_fails_with "--device-read-bps /dev/null:1mb: /dev/null is not a block device" \
    cryo create --bundle "$bundle" --device-read-bps /dev/null:1mb "$bad"
assert_fails_with "--device-write-bps $device: expected DEVICE:RATE" \
    cryo create --bundle "$bundle" --device-write-bps "$device" "$bad"
assert_fails_with "--device-read-iops $device:x: x: not a positive number" \
    cryo create --bundle "$bundle" --device-read-iops "$device:x" "$bad"
assert_fails_with "--nofile 10:5: soft limit above hard limit" cryo create --bundle "$bundle" --nofile 10:5 "$bad"
assert_fails_with "--nofile 0: expected N or SOFT:HARD" cryo create --bundle "$bundle" --nofile 0 "$bad"
run_cmd cryo state "$bad"
[ "$STATUS" != 0 ] || fail "a refused create left container $bad"
