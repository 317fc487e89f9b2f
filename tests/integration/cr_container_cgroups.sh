#!/bin/bash
# --manage-cgroups-mode, CRIU's meanings: a container created with a pids limit of 100 and a
# memory limit of 64 MiB gets 50 and 48 MiB through `update`; checkpoint saves these
# (cgroup.json). Restored under new ids: ignore gives the config's limits (100, 64 MiB),
# soft and full the saved ones (the restore made the cgroup). Into an existing cgroup
# (cgroupsPath set, made by hand beforehand): soft keeps the config's limits, full writes the
# saved ones, strict refuses in one line. A checkpoint with ignore saves no properties.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'while :; do sleep 0.1; done'
spec_edit "$bundle" '.linux.resources.pids = {"limit": 100} | .linux.resources.memory = {"limit": 67108864}'
id=$(new_id)
defer "cryo delete --force $id >/dev/null 2>&1 || true"
run_cmd cryo run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d (stderr: $ERR)"
run_cmd cryo update --pids-limit 50 --memory 50331648 "$id"
assert_eq 0 "$STATUS" "update (stderr: $ERR)"
pid=$(container_pid "$id")
assert_eq 50 "$(cat "$(cgroup_dir "$pid" pids)/pids.max")" "pids.max after update"

image=$TEST_TMP/image
run_cmd cryo checkpoint --leave-running --image-path "$TEST_TMP/image-ignore" --manage-cgroups-mode ignore "$id"
assert_eq 0 "$STATUS" "checkpoint --manage-cgroups-mode ignore (stderr: $ERR)"
[ ! -e "$TEST_TMP/image-ignore/cgroup.json" ] || fail "ignore saved cgroup properties"
run_cmd cryo checkpoint --image-path "$image" "$id"
assert_eq 0 "$STATUS" "checkpoint (stderr: $ERR)"
assert_eq 50 "$(jq -r '.properties["pids/pids.max"]' "$image/cgroup.json")" "pids.max in cgroup.json"
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"

# limits_of ID: "pids.max memory.limit_in_bytes" of a container.
limits_of() {
    local p
    p=$(container_pid "$1")
    echo "$(cat "$(cgroup_dir "$p" pids)/pids.max") $(cat "$(cgroup_dir "$p" memory)/memory.limit_in_bytes")"
}
# restore_as MODE BUNDLE: restores the image as a new container, whose id goes to $new.
restore_as() {
    new=$(new_id)
    defer "cryo delete --force $new >/dev/null 2>&1 || true"
    run_cmd cryo restore -d --manage-cgroups-mode "$1" --image-path "$image" --bundle "$2" "$new"
    assert_eq 0 "$STATUS" "restore --manage-cgroups-mode $1 (stderr: $ERR)"
}
for mode_expected in "ignore:100 67108864" "soft:50 50331648" "full:50 50331648"; do
    mode=${mode_expected%%:*}
    restore_as "$mode" "$bundle"
    assert_eq "${mode_expected#*:}" "$(limits_of "$new")" "limits after restore --manage-cgroups-mode $mode"
    run_cmd cryo delete --force "$new"
    assert_eq 0 "$STATUS" "delete --force (stderr: $ERR)"
done

# An existing cgroup: the config names it, it is made by hand before each restore.
bundle2=$TEST_TMP/bundle2
cp -a "$bundle" "$bundle2"
cg_name=/$TEST_TAG-pre
spec_edit "$bundle2" '.linux.cgroupsPath = $p' --arg p "$cg_name"
make_cgroup() { for c in pids memory; do mkdir -p "/sys/fs/cgroup/$c$cg_name"; done; }
drop_cgroup() { for c in pids memory; do rmdir "/sys/fs/cgroup/$c$cg_name" 2>/dev/null || true; done; }
defer drop_cgroup
make_cgroup
restore_as soft "$bundle2"
assert_eq "100 67108864" "$(limits_of "$new")" "soft into an existing cgroup"
run_cmd cryo delete --force "$new"
make_cgroup
restore_as full "$bundle2"
assert_eq "50 50331648" "$(limits_of "$new")" "full into an existing cgroup"
run_cmd cryo delete --force "$new"
make_cgroup
strict_id=$(new_id)
assert_fails_with "strict" cryo restore -d --manage-cgroups-mode strict --image-path "$image" --bundle "$bundle2" "$strict_id"
drop_cgroup
restore_as strict "$bundle2"
assert_eq "50 50331648" "$(limits_of "$new")" "strict into a new cgroup"
run_cmd cryo delete --force "$new"
assert_eq 0 "$STATUS" "delete --force (stderr: $ERR)"
