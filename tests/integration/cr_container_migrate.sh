#!/bin/bash
# Migration of a container on cryo's overlay root, with no hand work: `cryo run --image bb` in
# store 1 writes files in its upper layer (new files, a deleted image file, a log it keeps open
# and appends to) and counts in a shell variable; checkpoint; the image directory is copied,
# the original container (and with it its upper layer) and the original image directory are
# deleted. "Another machine": store 2 with the same image imported on its own, another --root.
# 1. `restore --bundle EMPTY_DIR`: cryo takes the saved config.json from the image, re-creates
#    the overlay from store 2's image bb and applies rootfs-diff.tar to its new upper layer.
# 2. `restore --bundle B` where B is a plain bundle (config.json + a rootfs of image bb, made by
#    `cryo image bundle`): cryo applies rootfs-diff.tar onto B's rootfs (whiteouts delete).
# Both times the upper-layer changes are back, the counter and the appended log go on from
# where they were (read from the log only: the last line at the checkpoint), pid 1 inside.
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
    while true; do i=$((i+1)); echo "$i" >&4; read -t 0.05 -u 3 x; done'
id=$(new_id)
defer "cryo delete --force $id >/dev/null 2>&1 || true"
run_cmd cryo run -d --image bb --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d --image bb (stderr: $ERR)"
upper=$ROOT/$id/upper
# The last complete line of a log (a line being written has no newline yet).
last_line() { local v; v=$(sed -n '$p' "$1" 2>/dev/null) || true; echo "${v:-0}"; }
above() { [ "$(last_line "$1")" -gt "$2" ]; }
wait_until 10 above "$upper/data/log" 30
[ -f "$upper/data/greeting" ] || fail "the container's write is not in its upper layer"
[ -c "$upper/etc/group" ] || fail "no whiteout for /etc/group in the upper layer"

image=$TEST_TMP/image
run_cmd cryo checkpoint --image-path "$image" --work-path "$TEST_TMP/work" "$id"
assert_eq 0 "$STATUS" "checkpoint (stderr: $ERR)"
# The workload is gone: the log holds whole lines only, its last one is the checkpoint's count.
log_lines=$(wc -l < "$upper/data/log")
at_checkpoint=$(last_line "$upper/data/log")
assert_eq "$log_lines" "$at_checkpoint" "lines of the log at checkpoint (one per count)"
[ -s "$image/rootfs-diff.tar" ] || fail "image has no rootfs-diff.tar: $(ls "$image")"
assert_eq bb "$(jq -r .image "$image/container.json")" "image name in container.json"

# Off to "another machine": a copy of the image; the original container, its upper layer and
# the original image directory are gone.
moved=$TEST_TMP/moved/image
mkdir -p "$TEST_TMP/moved"
cp -a "$image" "$moved"
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete the checkpointed container (stderr: $ERR)"
[ ! -e "$upper" ] || fail "upper layer $upper left after delete"
rm -rf "$image"

c2() { "$CRYO" --root "$root2" "$@"; }
# check_restored ID LOG: the restored container has the changes, counts on from the
# checkpoint (the log's next line is the next count), and its init is pid 1.
check_restored() {
    local id=$1 log=$2
    assert_eq running "$(c2 state "$id" | jq -r .status)" "status of $id after restore"
    wait_until 5 sh -c "[ \$(wc -l < '$log') -gt $((log_lines + 3)) ]"
    head -n "$log_lines" "$log" | tail -n 1 | grep -qx "$at_checkpoint" || fail "$id: log before checkpoint changed"
    sed -n "$((log_lines + 1))p" "$log" | grep -qx "$((at_checkpoint + 1))" \
        || fail "$id: first log line after restore: $(sed -n "$((log_lines + 1))p" "$log") (expected $((at_checkpoint + 1)))"
    assert_eq "written before checkpoint" "$(c2 exec "$id" cat /data/greeting)" "$id: file written before checkpoint"
    run_cmd c2 exec "$id" ls /etc/group
    [ "$STATUS" != 0 ] || fail "$id: /etc/group is back in the restored container"
    assert_eq 1 "$(c2 exec "$id" sh -c 'cat /proc/1/status' | awk '/^NSpid/ { print $NF }')" "$id: init's pid inside"
}

# 1. Machine 2, nothing prepared: an empty --bundle, the image's config, store 2's image.
empty=$TEST_TMP/empty-bundle
mkdir -p "$empty"
id2=$(new_id)
defer "'$CRYO' --root '$root2' delete --force $id2 >/dev/null 2>&1 || true"
run_cmd env CRYO_STORE="$store2" "$CRYO" --root "$root2" restore -d --image-path "$moved" --bundle "$empty" "$id2"
assert_eq 0 "$STATUS" "restore on machine 2 from the image alone (stderr: $ERR)"
[ -z "$(ls -A "$empty")" ] || fail "restore wrote into --bundle: $(ls -A "$empty")"
assert_eq bb "$(jq -r .image "$root2/$id2/image.json")" "the restored container's overlay image"
check_restored "$id2" "$root2/$id2/rootfs/data/log"
[ -f "$root2/$id2/upper/data/greeting" ] || fail "the changes are not in the new upper layer"
[ -c "$root2/$id2/upper/etc/group" ] || fail "no whiteout for /etc/group in the new upper layer"
log "overlay restore: checkpoint at $at_checkpoint ($log_lines log lines)"
run_cmd c2 delete --force "$id2"
assert_eq 0 "$STATUS" "delete --force on machine 2 (stderr: $ERR)"
[ ! -e "$root2/$id2" ] || fail "state dir of $id2 left after delete"

# 2. A plain bundle on machine 2 whose rootfs is image bb: the diff is applied onto it.
bundle2=$TEST_TMP/bundle2
run_cmd "$CRYO" image bundle bb "$bundle2" --store "$store2"
assert_eq 0 "$STATUS" "image bundle in store 2 (stderr: $ERR)"
defer "'$CRYO' image unmount '$bundle2' --store '$store2' >/dev/null 2>&1 || true"
[ ! -e "$bundle2/rootfs/data" ] || fail "store 2's image already has /data"
id3=$(new_id)
defer "'$CRYO' --root '$root2' delete --force $id3 >/dev/null 2>&1 || true"
run_cmd env CRYO_STORE="$store2" "$CRYO" --root "$root2" restore -d --image-path "$moved" --bundle "$bundle2" "$id3"
assert_eq 0 "$STATUS" "restore on machine 2 into a plain bundle (stderr: $ERR)"
[ ! -e "$bundle2/rootfs/etc/group" ] || fail "the deletion of /etc/group did not travel"
[ -z "$(find "$bundle2/rootfs" -xdev -name '.wh.*')" ] || fail "whiteout markers left in the rootfs"
check_restored "$id3" "$bundle2/rootfs/data/log"

run_cmd c2 delete --force "$id3"
assert_eq 0 "$STATUS" "delete --force on machine 2 (stderr: $ERR)"
run_cmd "$CRYO" image unmount "$bundle2" --store "$store2"
assert_eq 0 "$STATUS" "image unmount (stderr: $ERR)"
no_mounts_under "$TEST_TMP"
