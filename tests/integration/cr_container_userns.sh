#!/bin/bash
# A container with its own user namespace (uid/gid 0-65535 inside = 300000-365535 on the
# host) whose processes run as uid 1000/gid 1000 inside, with a supplementary group, is
# checkpointed and restored: the restored container gets a new user namespace with the same
# mappings, the init is pid 1 again and keeps its namespaced credentials (1000 inside, 301000
# on the host), the counter goes on, and files it writes after the restore are owned by
# 301000:301000 on the host. A restore whose config maps other ids is refused in one line.
. "$(dirname "$0")/lib.sh"

# The container's root (host uid 300000) must reach its rootfs.
chmod 755 "$TEST_TMP"
bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/counter.new; mv /tmp/counter.new /tmp/counter; sleep 0.05; done'
spec_edit "$bundle" '.linux.namespaces += [{"type": "user"}]
  | .linux.uidMappings = [{"containerID": 0, "hostID": 300000, "size": 65536}]
  | .linux.gidMappings = [{"containerID": 0, "hostID": 300000, "size": 65536}]
  | .process.user = {"uid": 1000, "gid": 1000, "additionalGids": [2000]}'
chmod 1777 "$bundle/rootfs/tmp"
counter=$bundle/rootfs/tmp/counter
counter_above() { [ "$(cat "$counter" 2>/dev/null || echo 0)" -gt "$1" ]; }
id=$(new_id)
defer "cryo delete --force $id >/dev/null 2>&1 || true"
run_cmd cryo run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d (stderr: $ERR)"
wait_until 5 counter_above 3
pid=$(container_pid "$id")
assert_eq 301000 "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" "host uid of the init"

image=$TEST_TMP/image
run_cmd cryo checkpoint --image-path "$image" "$id"
assert_eq 0 "$STATUS" "checkpoint of a user-namespace container (stderr: $ERR)"
assert_contains "$(jq -r .uid_map "$image/container.json")" "300000" "uid map in container.json"
at_checkpoint=$(cat "$counter")
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"
rm -f "$counter"

run_cmd cryo restore -d --image-path "$image" --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "restore (stderr: $ERR)"
pid=$(container_pid "$id")
[ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ] || fail "the restored init is in the host's user namespace"
assert_eq "0 300000 65536" "$(awk '{print $1, $2, $3}' "/proc/$pid/uid_map")" "uid map of the restored namespace"
assert_eq "0 300000 65536" "$(awk '{print $1, $2, $3}' "/proc/$pid/gid_map")" "gid map of the restored namespace"
status=$(cat "/proc/$pid/status")
assert_eq "301000 301000 301000 301000" "$(echo "$status" | awk '/^Uid:/ {print $2, $3, $4, $5}')" "host uids of the restored init"
assert_eq "301000 301000 301000 301000" "$(echo "$status" | awk '/^Gid:/ {print $2, $3, $4, $5}')" "host gids of the restored init"
assert_eq "302000" "$(echo "$status" | awk '/^Groups:/ {print $2}')" "supplementary group of the restored init"
assert_eq 1 "$(echo "$status" | awk '/^NSpid/ { print $NF }')" "init's pid inside"
# Inside, the same process sees its namespaced ids.
inside=$(cryo exec "$id" cat /proc/1/status)
assert_eq 1000 "$(echo "$inside" | awk '/^Uid:/ {print $2}')" "uid of pid 1 seen inside"
assert_eq 2000 "$(echo "$inside" | awk '/^Groups:/ {print $2}')" "group of pid 1 seen inside"
wait_until 5 counter_above "$at_checkpoint"
first=$(cat "$counter")
[ "$first" -lt $((at_checkpoint + 40)) ] || fail "counter after restore: $first (checkpoint at $at_checkpoint)"
assert_eq "301000:301000" "$(stat -c %u:%g "$counter")" "owner of a file written after restore"

# Another mapping in the config: refused, nothing left.
run_cmd cryo kill "$id" KILL
wait_status "$id" stopped
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"
spec_edit "$bundle" '.linux.uidMappings = [{"containerID": 0, "hostID": 400000, "size": 65536}]'
assert_fails_with "uidMappings" cryo restore -d --image-path "$image" --bundle "$bundle" "$id"
run_cmd cryo state "$id"
[ "$STATUS" != 0 ] || fail "a refused restore left container $id"
