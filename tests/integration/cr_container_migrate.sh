#!/bin/bash
# Migration of a container on cryo's overlay root: `cryo run --image bb` in store 1 writes files
# in its upper layer (new files, a deleted image file, a log it keeps open and appends to) and
# counts in a shell variable; checkpoint; the image directory is copied, the original container
# (and with it its upper layer) and the original image directory are deleted. "Another
# machine": store 2 with the same image imported on its own, another --root. There the copied
# image restores: the upper-layer changes are back (from rootfs-diff.tar in the image), the
# counter and the appended log go on from where they were, pid 1 inside.
# Restore does not apply rootfs-diff.tar itself yet (docs/container-checkpoint.md, "Not done
# yet"): the second machine's rootfs is `cryo image bundle bb DIR` with the diff unpacked into
# it (whiteouts turned into deletions), which is what the test does before `cryo restore`.
# `read -u 3`, not `read <&3`: during `<&3` ash has the fifo on fd 0, and restore re-attaches
# the description of the init's fd 0 to the new stdio, so fd 3 would come back as /dev/null.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/image_lib.bash"

store1=$STORE
store2=$TEST_TMP/store2
root2=$TEST_TMP/state2
import_busybox bb
[ -e "$store1/images/bb.json" ] || fail "no image bb in store 1"
"$CRYO" image import bb "$(_busybox_tar)" --store "$store2" >/dev/null || fail "import bb into store 2"
# The same layer arrives under the same name in both stores (content-addressed).
assert_eq "$(jq -c .layers "$store1/images/bb.json")" "$(jq -c .layers "$store2/images/bb.json")" "layers of bb in both stores"

bundle=$TEST_TMP/bundle
config_bundle "$bundle" sh -c 'mkdir -p /data; echo "written before checkpoint" > /data/greeting; rm /etc/group;
    mkfifo /tmp/tick; exec 3<>/tmp/tick; exec 4>>/data/log; i=0;
    while true; do i=$((i+1)); echo "$i" >&4; echo "$i" > /tmp/counter; read -t 0.05 -u 3 x; done'
id=$(new_id)
defer "cryo delete --force $id >/dev/null 2>&1 || true"
run_cmd cryo run -d --image bb --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d --image bb (stderr: $ERR)"
upper=$ROOT/$id/upper
counter_in() { local v; v=$(cat "$1/tmp/counter" 2>/dev/null) || true; echo "${v:-0}"; }
above() { [ "$(counter_in "$1")" -gt "$2" ]; }
wait_until 10 above "$upper" 30
[ -f "$upper/data/greeting" ] || fail "the container's write is not in its upper layer"
[ -c "$upper/etc/group" ] || fail "no whiteout for /etc/group in the upper layer"

image=$TEST_TMP/image
run_cmd cryo checkpoint --image-path "$image" --work-path "$TEST_TMP/work" "$id"
assert_eq 0 "$STATUS" "checkpoint (stderr: $ERR)"
at_checkpoint=$(counter_in "$upper")
log_lines=$(wc -l < "$upper/data/log")
assert_eq "$at_checkpoint" "$(tail -n 1 "$upper/data/log")" "log's last line at checkpoint"
[ -s "$image/rootfs-diff.tar" ] || fail "image has no rootfs-diff.tar: $(ls "$image")"

# Off to "another machine": a copy of the image; the original container, its upper layer and
# the original image directory are gone.
moved=$TEST_TMP/moved/image
mkdir -p "$TEST_TMP/moved"
cp -a "$image" "$moved"
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete the checkpointed container (stderr: $ERR)"
[ ! -e "$upper" ] || fail "upper layer $upper left after delete"
rm -rf "$image"

# Machine 2: its own store's image as the rootfs, the upper-layer changes from the image.
bundle2=$TEST_TMP/bundle2
run_cmd "$CRYO" image bundle bb "$bundle2" --store "$store2"
assert_eq 0 "$STATUS" "image bundle in store 2 (stderr: $ERR)"
defer "'$CRYO' image unmount '$bundle2' --store '$store2' >/dev/null 2>&1 || true"
[ ! -e "$bundle2/rootfs/data" ] || fail "store 2's image already has /data"
tar -C "$bundle2/rootfs" -xpf "$moved/rootfs-diff.tar" || fail "unpack rootfs-diff.tar"
find "$bundle2/rootfs" -xdev -name '.wh.*' | while read -r wh; do
    rm -rf "$(dirname "$wh")/$(basename "$wh" | sed 's/^\.wh\.//')" "$wh"
done
[ ! -e "$bundle2/rootfs/etc/group" ] || fail "the deletion of /etc/group did not travel"

id2=$(new_id)
defer "'$CRYO' --root '$root2' delete --force $id2 >/dev/null 2>&1 || true"
run_cmd env CRYO_STORE="$store2" "$CRYO" --root "$root2" restore -d --image-path "$moved" --bundle "$bundle2" "$id2"
assert_eq 0 "$STATUS" "restore on machine 2 (stderr: $ERR)"
assert_eq running "$("$CRYO" --root "$root2" state "$id2" | jq -r .status)" "status after restore"
c2() { "$CRYO" --root "$root2" "$@"; }
inside_counter() { local v; v=$(c2 exec "$id2" cat /tmp/counter 2>/dev/null) || true; echo "${v:-0}"; }
inside_above() { [ "$(inside_counter)" -gt "$1" ]; }
wait_until 5 inside_above "$at_checkpoint"
first=$(inside_counter)
[ "$first" -lt $((at_checkpoint + 40)) ] || fail "counter after restore: $first (checkpoint at $at_checkpoint)"
assert_eq "written before checkpoint" "$(c2 exec "$id2" cat /data/greeting)" "file written before checkpoint"
run_cmd c2 exec "$id2" ls /etc/group
[ "$STATUS" != 0 ] || fail "/etc/group is back in the restored container"
assert_eq 1 "$(c2 exec "$id2" sh -c 'cat /proc/1/status' | awk '/^NSpid/ { print $NF }')" "init's pid inside"
# The log fd was restored at its offset: the lines go on, no gap, no rewrite from 1.
wait_until 5 sh -c "[ \$(wc -l < '$bundle2/rootfs/data/log') -gt $((log_lines + 3)) ]"
head -n "$log_lines" "$bundle2/rootfs/data/log" | tail -n 1 | grep -qx "$at_checkpoint" || fail "log before checkpoint changed"
sed -n "$((log_lines + 1))p" "$bundle2/rootfs/data/log" | grep -qx "$((at_checkpoint + 1))" \
    || fail "first log line after restore: $(sed -n "$((log_lines + 1))p" "$bundle2/rootfs/data/log") (expected $((at_checkpoint + 1)))"
log "checkpoint at $at_checkpoint ($log_lines log lines), first read on machine 2: $first"

run_cmd c2 delete --force "$id2"
assert_eq 0 "$STATUS" "delete --force on machine 2 (stderr: $ERR)"
run_cmd "$CRYO" image unmount "$bundle2" --store "$store2"
assert_eq 0 "$STATUS" "image unmount (stderr: $ERR)"
no_mounts_under "$TEST_TMP"
