#!/bin/bash
# --disk-limit: the container's writable layer lives on a sparse ext4 image of that size,
# loop-mounted; writing past it fails with ENOSPC inside the container while a neighbour with
# its own limit still writes and the host file system is untouched; `image df` reports the
# usage; delete unmounts the file system, frees the loop device and removes the image file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/image_lib.bash"

command -v mkfs.ext4 >/dev/null || [ -x /usr/sbin/mkfs.ext4 ] || fail "mkfs.ext4 missing (apt-get install e2fsprogs)"
[ -e /dev/loop-control ] || { echo "[$TEST_NAME] skipped: no /dev/loop-control" >&2; exit 77; }

import_busybox bb
bundle=$TEST_TMP/bundle
config_bundle "$bundle" sleep 1000
c1=$(new_id) c2=$(new_id)
cryo run -d --bundle "$bundle" --image bb --disk-limit 16m "$c1" >/dev/null
cryo run -d --bundle "$bundle" --image bb --disk-limit 16m "$c2" >/dev/null
wait_status "$c1" running
wait_status "$c2" running

disk1=$(jq -r .disk_image "$ROOT/$c1/image.json")
assert_eq "$((16 << 20))" "$(jq -r .disk_limit "$ROOT/$c1/image.json")" "recorded limit"
assert_eq "$((16 << 20))" "$(stat -c %s "$disk1")" "size of the disk image"
loop1=$(losetup -j "$disk1" | cut -d: -f1)
[ -n "$loop1" ] || fail "no loop device backs $disk1"
assert_eq "1" "$(cat "/sys/block/${loop1#/dev/}/loop/autoclear")" "autoclear of $loop1"
grep -q " $ROOT/$c1/disk .* ext4 $loop1 " /proc/self/mountinfo || fail "$loop1 not mounted on $ROOT/$c1/disk"
[ ! -e "$ROOT/$c1/upper" ] || fail "upper dir in the state dir despite the disk limit"

# Fill c1 past its limit: ENOSPC inside.
run_cmd cryo exec "$c1" dd if=/dev/zero of=/big bs=1M count=64
[ "$STATUS" != 0 ] || fail "writing 64 MiB into a 16 MiB container succeeded"
assert_contains "$ERR" "No space left on device" "dd in the full container"
written=$(cryo exec "$c1" stat -c %s /big)
[ "$written" -gt $((8 << 20)) ] && [ "$written" -le $((16 << 20)) ] || fail "c1 wrote $written bytes before ENOSPC"
# The neighbour still writes; the host file system does not hold c1's data.
cryo exec "$c2" dd if=/dev/zero of=/four bs=1M count=4 2>/dev/null || fail "the neighbour cannot write"
assert_eq "$((4 << 20))" "$(cryo exec "$c2" stat -c %s /four)" "the neighbour's file"
allocated=$(( $(stat -c %b "$disk1") * $(stat -c %B "$disk1") ))
[ "$allocated" -le $((16 << 20)) ] || fail "c1's disk image takes $allocated bytes on the host"
[ -z "$(find "$ROOT" -xdev -name big)" ] || fail "c1's file reached the state dir's file system"

# Usage: image df (table and JSON).
df_json=$(cryo image df --format json)
used1=$(jq --arg id "$c1" '.[] | select(.id == $id) | .used' <<< "$df_json")
limit1=$(jq --arg id "$c1" '.[] | select(.id == $id) | .limit' <<< "$df_json")
used2=$(jq --arg id "$c2" '.[] | select(.id == $id) | .used' <<< "$df_json")
assert_eq "$((16 << 20))" "$limit1" "image df limit"
[ "$used1" -ge "$written" ] || fail "image df: c1 uses $used1 < $written written"
[ "$used2" -ge $((4 << 20)) ] && [ "$used2" -lt $((8 << 20)) ] || fail "image df: c2 uses $used2"
assert_contains "$(cryo image df)" "16.0 MiB" "image df table"
# Freeing space in c1 makes it writable again.
cryo exec "$c1" rm /big
cryo exec "$c1" dd if=/dev/zero of=/again bs=1M count=4 2>/dev/null || fail "c1 cannot write after freeing space"

# A container without a limit is reported too (du of its upper dir), limit 0.
c3=$(new_id)
cryo run -d --bundle "$bundle" --image bb "$c3" >/dev/null
wait_status "$c3" running
cryo exec "$c3" dd if=/dev/zero of=/two bs=1M count=2 2>/dev/null
df_json=$(cryo image df --format json)
used3=$(jq --arg id "$c3" '.[] | select(.id == $id) | .used' <<< "$df_json")
assert_eq 0 "$(jq --arg id "$c3" '.[] | select(.id == $id) | .limit' <<< "$df_json")" "limit of an unlimited container"
[ "$used3" -ge $((2 << 20)) ] && [ "$used3" -lt $((3 << 20)) ] || fail "image df: c3 uses $used3"

# Delete: file system unmounted, loop device freed, image file gone.
cryo delete --force "$c1"
no_mounts_under "$ROOT/$c1"
[ ! -e "$disk1" ] || fail "disk image $disk1 left"
wait_until 5 sh -c "! losetup -a | grep -q '^$loop1: .*$disk1'"
cryo delete --force "$c2"
cryo delete --force "$c3"
assert_eq "" "$(ls "$STORE/disks" 2>/dev/null)" "disk images after deleting every container"

# A create that fails after the disk was set up leaves nothing: here the process is missing.
config_bundle "$TEST_TMP/bad" /does/not/exist
c4=$(new_id)
run_cmd cryo run --bundle "$TEST_TMP/bad" --image bb --disk-limit 16m "$c4"
[ "$STATUS" != 0 ] || fail "running a missing program succeeded"
[ ! -e "$ROOT/$c4" ] || fail "failed run left $ROOT/$c4"
assert_eq "" "$(ls "$STORE/disks" 2>/dev/null)" "disk images after a failed run"
assert_eq "" "$(losetup -a | grep "$STORE" || true)" "loop devices after a failed run"
assert_fails_with "out of range" cryo run --bundle "$bundle" --image bb --disk-limit 1m "$c4"

img rm bb >/dev/null
