#!/bin/bash
# containerd 1.6 from Debian checkpoints and restores a container that cryo runs, through its
# runc shim: a busybox task counting in a shell variable (written to /tmp/counter) is
# checkpointed into a checkpoint image (`ctr containers checkpoint --task --rw --image`,
# the shim calls pause, checkpoint --image-path --work-path --file-locks --leave-running,
# resume), then stopped with `ctr tasks checkpoint --exit --image-path DIR` (checkpoint
# without --leave-running: cryo stops it), and restored twice: `ctr containers restore --live
# --rw NEW REF` under a new container id (the shim calls restore --image-path --work-path
# --detach --pid-file -no-subreaper --bundle), with the counter going on from the value the
# variable had, not from 1. The local directory image of step 2 is checked for its files
# (ctr 1.6 cannot start a task from a directory; the content-store image is its path).
# ctr 1.6 has no `run --checkpoint`; `containers restore` is its way back from an image.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/clients.bash"

install_clients podman containerd
setup_podman
import_busybox_image localhost/bb
run_cmd podman save --format oci-archive -o "$TEST_TMP/bb.tar" localhost/bb
assert_eq 0 "$STATUS" "podman save (stderr: $ERR)"
start_containerd
run_cmd ctr_ images import --base-name localhost/bb "$TEST_TMP/bb.tar"
assert_eq 0 "$STATUS" "ctr images import (stderr: $ERR)"
image=$(ctr_ images ls -q | grep '^localhost/bb' | head -n 1)
[ -n "$image" ] || fail "no localhost/bb image after import: $(ctr_ images ls)"
runtime=(--runtime io.containerd.runc.v2 --runc-binary "$CRYO")

task_status() { ctr_ tasks ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
task_pid() { ctr_ tasks ls 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }
# The counter as the task itself sees it (read inside through exec).
counter_of() {
    local v
    # `echo $i > /tmp/counter` truncates before it writes: an empty read is that instant,
    # not a value, so read again.
    for _ in 1 2 3 4 5; do
        v=$(ctr_ tasks exec --exec-id "rd$RANDOM" "$1" cat /tmp/counter 2>/dev/null) || true
        [ -n "$v" ] && break
    done
    echo "${v:-0}"
}
counter_above() { [ "$(counter_of "$1")" -gt "$2" ]; }

# The counter lives in the shell's variable i; the file is only how the test reads it. The
# loop forks nothing (builtins only; it sleeps in `read -t` on a fifo nobody writes): the
# checkpoint of a tree whose short-lived children exit while it is being seized is the
# engine's business (tests/cr), not the client path's.
# `read -u 3`, not `read <&3`: during `<&3` ash has the fifo on fd 0, and restore re-attaches
# the description of the init's fd 0 to the new stdio, so fd 3 would come back as /dev/null.
id=$TEST_TAG-ck
run_cmd ctr_ run -d "${runtime[@]}" "$image" "$id" \
    sh -c 'mkfifo /tmp/tick; exec 3<>/tmp/tick; i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; read -t 0.05 -u 3 x; done'
assert_eq 0 "$STATUS" "ctr run -d (stderr: $ERR)"
wait_until 10 sh -c "ctr --address '$CTD_SOCK' --namespace '$TEST_TAG' tasks ls | grep -q '$id.*RUNNING'"
# 40 ticks of 50 ms: a shell restarted by a failed restore would need 2 s to get back there.
wait_until 15 counter_above "$id" 40
pid_before=$(task_pid "$id")

# 1. A checkpoint image in containerd's content store; the task runs on (--leave-running).
ref=localhost/$TEST_TAG-ck:cp1
before_cp1=$(counter_of "$id")
run_cmd ctr_ containers checkpoint --task --rw --image "$id" "$ref"
assert_eq 0 "$STATUS" "ctr containers checkpoint (stderr: $ERR)"
assert_eq RUNNING "$(task_status "$id")" "task status after a checkpoint with --leave-running"
ctr_ images ls -q | grep -qx "$ref" || fail "no checkpoint image $ref: $(ctr_ images ls -q)"
now=$(counter_of "$id")
wait_until 5 counter_above "$id" "$now"

# 2. A checkpoint that stops the task, into a local directory (containerd's --image-path).
dir_image=$TEST_TMP/ctd-image
dir_work=$TEST_TMP/ctd-work
mkdir -p "$dir_work"
run_cmd ctr_ tasks checkpoint --exit --image-path "$dir_image" --work-path "$dir_work" "$id"
assert_eq 0 "$STATUS" "ctr tasks checkpoint --exit (stderr: $ERR)"
wait_until 10 sh -c "ctr --address '$CTD_SOCK' --namespace '$TEST_TAG' tasks ls | grep -q '$id.*STOPPED'"
for f in manifest.json container.json config.json; do
    [ -f "$dir_image/$f" ] || fail "cryo image in $dir_image lacks $f: $(ls "$dir_image" 2>&1)"
done
[ -s "$dir_work/dump.log" ] || fail "no dump.log in the work path $dir_work"
run_cmd ctr_ tasks rm "$id"
assert_eq 0 "$STATUS" "ctr tasks rm after checkpoint --exit (stderr: $ERR)"
run_cmd ctr_ containers rm "$id"
assert_eq 0 "$STATUS" "ctr containers rm (stderr: $ERR)"

# 3. Restore the content-store checkpoint as a new container: the counter goes on from the
# value the variable had at checkpoint 1 (the rw layer file is restored too, so a restarted
# shell would start again at 1 and overwrite it: the window below tells them apart).
new=$TEST_TAG-rs
run_cmd ctr_ containers restore --live --rw "$new" "$ref"
assert_eq 0 "$STATUS" "ctr containers restore --live --rw (stderr: $ERR)"
wait_until 10 sh -c "ctr --address '$CTD_SOCK' --namespace '$TEST_TAG' tasks ls | grep -q '$new.*RUNNING'"
pid_after=$(task_pid "$new")
[ -d "/proc/$pid_after" ] || fail "restored task's pid $pid_after does not exist"
[ "$pid_after" != "$pid_before" ] || fail "restored task has the old host pid $pid_before"
first=$(counter_of "$new")
[ "$first" -ge "$before_cp1" ] && [ "$first" -lt $((now + 60)) ] \
    || fail "counter after restore: $first (checkpoint 1 taken between $before_cp1 and $now; a restart would be small)"
wait_until 5 counter_above "$new" "$first"
log "counter around checkpoint 1: $before_cp1..$now, first read after restore: $first, host pid $pid_before -> $pid_after"
assert_eq 1 "$(ctr_ tasks exec --exec-id ns1 "$new" sh -c 'cat /proc/1/status' | awk '/^NSpid/ { print $NF }')" \
    "restored init's pid inside"
assert_contains "$(ctr_ tasks exec --exec-id ps1 "$new" ps -o pid,args)" "while true" "restored shell"

# The shim's kill and delete work on the restored task as on any other.
run_cmd ctr_ tasks kill -s KILL "$new"
assert_eq 0 "$STATUS" "ctr tasks kill restored (stderr: $ERR)"
wait_until 10 sh -c "ctr --address '$CTD_SOCK' --namespace '$TEST_TAG' tasks ls | grep -q '$new.*STOPPED'"
run_cmd ctr_ tasks rm "$new"
assert_eq 0 "$STATUS" "ctr tasks rm restored (stderr: $ERR)"
run_cmd ctr_ containers rm "$new"
assert_eq 0 "$STATUS" "ctr containers rm restored (stderr: $ERR)"
[ -z "$(ls -A "/run/containerd/runc/$TEST_TAG" 2>/dev/null)" ] || \
    fail "runtime state left in /run/containerd/runc/$TEST_TAG: $(ls "/run/containerd/runc/$TEST_TAG")"
