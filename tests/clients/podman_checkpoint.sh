#!/bin/bash
# podman 4.3 from Debian checkpoints and restores a container that cryo runs
# (`podman --runtime <cryo> container checkpoint/restore`). podman first asks a `criu` binary
# for its version (`criu swrk`, go-criu's VERSION call; it wants >= 3.11): Debian's criu
# package answers that, and podman then calls `cryo checkpoint --image-path <UD>/checkpoint
# --work-path <UD> ID` and, for restore, `cryo restore --bundle <UD> --pid-file ... --detach
# --image-path <UD>/checkpoint --work-path <UD> ID` through conmon. podman restores only from a
# directory holding CRIU's inventory.img: cryo writes one as a marker. A container under
# podman's default seccomp profile is checkpointed and restored with its filter (same
# Seccomp/Seccomp_filters in its init's /proc status); the counter case below runs unconfined.
# Covered: checkpoint + restore in place (counter goes on from its value, pid 1), checkpoint
# --export to a tarball, rm, restore --import under a new name (counter goes on again).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/clients.bash"

install_clients podman criu
setup_podman
import_busybox_image localhost/bb

state_of() { podman inspect -f '{{.State.Status}}' "$1" 2>/dev/null; }
counter_of() {
    local v
    # `echo $i > /tmp/counter` truncates before it writes: an empty read is that instant,
    # not a value, so read again.
    for _ in 1 2 3 4 5; do
        v=$(podman exec "$1" cat /tmp/counter 2>/dev/null) || true
        [ -n "$v" ] && break
    done
    echo "${v:-0}"
}
counter_above() { [ "$(counter_of "$1")" -gt "$2" ]; }
# A counter in the shell's variable, ticking every 50 ms without forking (`read -u 3` on a
# fifo nobody writes, not `<&3`: see containerd_checkpoint.sh).
loop='mkfifo /tmp/tick; exec 3<>/tmp/tick; i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; read -t 0.05 -u 3 x; done'

# With podman's default seccomp profile: checkpointed and restored with its filter.
name0=$TEST_TAG-sc
run_cmd podman run -d --network none --name "$name0" localhost/bb sleep 1000
assert_eq 0 "$STATUS" "podman run -d (stderr: $ERR)"
watch_for_leaks "$OUT"
seccomp_of() { grep -E '^Seccomp(_filters)?:' "/proc/$(podman inspect -f '{{.State.Pid}}' "$1")/status" | tr -s '\t\n' '  '; }
seccomp_before=$(seccomp_of "$name0")
assert_contains "$seccomp_before" "Seccomp: 2" "default profile loaded"
run_cmd podman container checkpoint "$name0"
assert_eq 0 "$STATUS" "checkpoint of a seccomp-filtered container (stderr: $ERR)"
run_cmd podman container restore "$name0"
assert_eq 0 "$STATUS" "restore of a seccomp-filtered container (stderr: $ERR)"
assert_eq running "$(state_of "$name0")" "status after restore"
assert_eq "$seccomp_before" "$(seccomp_of "$name0")" "seccomp status of the restored init"
run_cmd podman rm -f -t 0 "$name0"
assert_eq 0 "$STATUS" "podman rm -f (stderr: $ERR)"

name=$TEST_TAG-ck
run_cmd podman run -d --security-opt seccomp=unconfined --network none --name "$name" localhost/bb sh -c "$loop"
assert_eq 0 "$STATUS" "podman run -d (stderr: $ERR)"
cid=$OUT
watch_for_leaks "$cid"
# 40 ticks: a shell restarted instead of restored would need 2 s to get back there.
wait_until 15 counter_above "$name" 40
before=$(counter_of "$name")
run_cmd podman container checkpoint "$name"
assert_eq 0 "$STATUS" "podman container checkpoint (stderr: $ERR)"
assert_eq exited "$(state_of "$name")" "status after checkpoint"
userdata=$PODMAN_DIR/storage/overlay-containers/$cid/userdata
for f in manifest.json container.json inventory.img; do
    [ -f "$userdata/checkpoint/$f" ] || fail "checkpoint dir lacks $f: $(ls "$userdata/checkpoint")"
done
# (podman removes dump.log from its work path unless --keep.)

run_cmd podman container restore "$name"
assert_eq 0 "$STATUS" "podman container restore (stderr: $ERR)"
assert_eq running "$(state_of "$name")" "status after restore"
first=$(counter_of "$name")
[ "$first" -ge "$before" ] && [ "$first" -lt $((before + 80)) ] \
    || fail "counter after restore: $first (checkpoint after $before)"
wait_until 5 counter_above "$name" "$first"
assert_eq 1 "$(podman exec "$name" sh -c 'cat /proc/1/status' | awk '/^NSpid/ { print $NF }')" "init's pid inside"
log "restore in place: checkpoint after $before, first read $first"

# Export, remove, import under a new name.
archive=$TEST_TMP/checkpoint.tar
before=$(counter_of "$name")
run_cmd podman container checkpoint --export "$archive" "$name"
assert_eq 0 "$STATUS" "podman container checkpoint --export (stderr: $ERR)"
[ -s "$archive" ] || fail "no exported checkpoint archive"
run_cmd podman rm "$name"
assert_eq 0 "$STATUS" "podman rm (stderr: $ERR)"
name2=$TEST_TAG-im
run_cmd podman container restore --import "$archive" --name "$name2"
assert_eq 0 "$STATUS" "podman container restore --import (stderr: $ERR)"
watch_for_leaks "$(podman inspect -f '{{.Id}}' "$name2")"
assert_eq running "$(state_of "$name2")" "status after restore --import"
first=$(counter_of "$name2")
[ "$first" -ge "$before" ] && [ "$first" -lt $((before + 80)) ] \
    || fail "counter after restore --import: $first (checkpoint after $before)"
wait_until 5 counter_above "$name2" "$first"
log "restore --import: checkpoint after $before, first read $first"
run_cmd podman rm -f -t 0 "$name2"
assert_eq 0 "$STATUS" "podman rm -f (stderr: $ERR)"
