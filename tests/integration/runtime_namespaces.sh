#!/bin/bash
# User and time namespaces: id mappings written by the parent, time offsets in effect from
# the container's first instruction, and exec joining both.
. "$(dirname "$0")/lib.sh"

[ -e /proc/self/ns/time ] || { echo "no time namespaces" >&2; exit 77; }

# The container's root (host uid 200000) must be able to reach its rootfs.
chmod 755 "$TEST_TMP"
bundle=$TEST_TMP/bundle
make_bundle "$bundle" sleep 100
spec_edit "$bundle" '.linux.namespaces += [{"type": "user"}, {"type": "time"}]
  | .linux.uidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]
  | .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]
  | .linux.timeOffsets = {"boottime": {"secs": 1000000, "nanosecs": 0}}'
id=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" "$id"
pid=$(container_pid "$id")
assert_eq "200000" "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" "host uid of the init"
[ "$(readlink "/proc/$pid/ns/time")" != "$(readlink /proc/self/ns/time)" ] || fail "no new time namespace"

run_cmd cryo exec "$id" sh -c 'id -u; cat /proc/self/uid_map; cut -d. -f1 /proc/uptime'
assert_eq 0 "$STATUS" "exec (stderr: $ERR)"
host_uptime=$(cut -d. -f1 /proc/uptime)
lines=($OUT)
assert_eq 0 "${lines[0]}" "uid inside"
assert_eq "0 200000 65536" "${lines[1]} ${lines[2]} ${lines[3]}" "uid_map inside"
inside=${lines[4]}
[ "$inside" -ge $((host_uptime + 1000000 - 5)) ] || fail "boottime offset not applied: $inside vs host $host_uptime"
assert_status 0 cryo delete --force "$id"
