#!/bin/bash
# exec --cgroup [controller[,controller]:]path (runc): the exec'd process joins a sub-cgroup
# of the container's cgroup for the named controllers (every controller without one), the
# container's own cgroup for the others. The sub-cgroup must exist; a missing one or a path
# leaving the container's cgroup fails with one line.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sleep 60
id=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" "$id"
defer "cryo delete --force $id 2>/dev/null || true"
pid=$(container_pid "$id")
memory=$(cgroup_dir "$pid" memory)
pids=$(cgroup_dir "$pid" pids)
cpu=$(cgroup_dir "$pid" cpu)
mkdir "$memory/sub" "$pids/sub2" "$cpu/sub2"
defer "rmdir $memory/sub $pids/sub2 $cpu/sub2 2>/dev/null || true"

# The host's view of the process's cgroups (no cgroup namespace in this spec).
line_of() { printf '%s\n' "$OUT" | awk -F: -v c="$1" '{n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3}'; }
own_memory=$(awk -F: '$2 == "memory" {print $3}' "/proc/$pid/cgroup")
own_cpu=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' "/proc/$pid/cgroup")

run_cmd cryo exec --cgroup memory:sub "$id" cat /proc/self/cgroup
assert_eq 0 "$STATUS" "exec --cgroup memory:sub (stderr: $ERR)"
assert_eq "$own_memory/sub" "$(line_of memory)" "memory cgroup of the exec'd process"
assert_eq "$own_cpu" "$(line_of cpu)" "cpu cgroup of the exec'd process (not named)"

run_cmd cryo exec --cgroup pids,cpu:sub2 "$id" cat /proc/self/cgroup
assert_eq 0 "$STATUS" "exec --cgroup pids,cpu:sub2 (stderr: $ERR)"
assert_eq "$own_cpu/sub2" "$(line_of cpu)" "cpu cgroup with two controllers named"
assert_eq "$(awk -F: '$2 == "pids" {print $3}' "/proc/$pid/cgroup")/sub2" "$(line_of pids)" "pids cgroup"
assert_eq "$own_memory" "$(line_of memory)" "memory cgroup (not named)"

# A sub-cgroup that does not exist: refused (runc too), nothing ran.
run_cmd cryo exec --cgroup memory:nosuch "$id" true
[ "$STATUS" != 0 ] || fail "exec into a missing sub-cgroup succeeded"
[ ! -e "$memory/nosuch" ] || fail "the missing sub-cgroup was created"
if [ "$(basename "$CRYO")" != runc ]; then
    assert_fails_with "$own_memory/nosuch does not exist" cryo exec --cgroup memory:nosuch "$id" true
    assert_fails_with "must stay inside the container's cgroup" cryo exec --cgroup memory:../x "$id" true
    assert_fails_with "no controller \"nosuch\"" cryo exec --cgroup nosuch:sub "$id" true
fi
# The exec'd processes are gone: the sub-cgroups are empty and can go before the container.
wait_until 5 rmdir "$memory/sub"
rmdir "$pids/sub2" "$cpu/sub2"
assert_status 0 cryo delete --force "$id"
