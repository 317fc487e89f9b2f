#!/bin/bash
# SysV IPC namespace dump and restore (checkpoint/ns_state.h) through tests/cr/ns_state_driver:
# shm segments with contents (one locked, one made by a non-root user), a semaphore set with
# values, a queue with two messages and a smaller size, ipc sysctls, all with ids that are not
# the first ones. The dump consumes nothing; the restore into a fresh ipc namespace gives the
# same ids, keys, modes, owners, creators, contents and limits, as raw SysV calls and ipcs see
# them. A second restore into the same namespace, a corrupt image and a broken ipc.json fail
# with one line naming what failed, and create nothing. An ipc namespace owned by a user
# namespace (its sysctls belong to its root) restores too.
source "$(dirname "$0")/lib.sh"
need ns_state_driver
DRIVER=$CR_BIN/ns_state_driver

# holder: a process alone in a new ipc namespace (the namespace lives as long as it does).
holder() { ns_holder ipc; }
inside() { local pid=$1; shift; nsenter -t "$pid" -i "$@"; }

holder; A=$PID
inside "$A" "$DRIVER" ipc-setup || { fail "ipc-setup"; exit 1; }
inside "$A" "$DRIVER" ipc-show >"$TMP/before" || fail "ipc-show A"
inside "$A" ipcs -a >"$TMP/ipcs.before"
grep -q '^shm .*key=0x5eed .*uid=1000 gid=1001' "$TMP/before" || fail "setup: $(cat "$TMP/before")"
grep -q '\[1:first message\] \[5:second, of type 5\]' "$TMP/before" || fail "setup: no messages"

# 1. Dump: files are written, nothing is consumed.
"$DRIVER" dump-ipc "$A" "$TMP/img" 2>"$TMP/dump.err" || fail "dump-ipc: $(cat "$TMP/dump.err")"
[ -s "$TMP/img/ipc.json" ] || fail "no ipc.json"
[ "$(ls "$TMP/img" | grep -c '^ipc-shm-.*\.img$')" = 3 ] || fail "expected 3 shm files: $(ls "$TMP/img")"
inside "$A" "$DRIVER" ipc-show | diff "$TMP/before" - >"$TMP/diff" || fail "the dump changed A: $(cat "$TMP/diff")"

# 2. Restore into a fresh namespace: the same, seen by the driver's raw calls and by ipcs.
holder; B=$PID
"$DRIVER" restore-ipc "$B" "$TMP/img" 2>"$TMP/restore.err" || fail "restore-ipc: $(cat "$TMP/restore.err")"
inside "$B" "$DRIVER" ipc-show >"$TMP/after" || fail "ipc-show B"
diff "$TMP/before" "$TMP/after" >"$TMP/diff" || fail "restored state differs: $(cat "$TMP/diff")"
inside "$B" ipcs -a | diff "$TMP/ipcs.before" - >"$TMP/diff" || fail "ipcs differs: $(cat "$TMP/diff")"
semid=$(awk '$1 == "sem" && $3 == "key=0x5e4" { print $2 }' "$TMP/before")
values() { inside "$1" ipcs -s -i "$semid" | awk '$1 ~ /^[0-9]+$/ && NF == 5 { print $1, $2 }'; }
[ "$(values "$B")" = "$(printf '0 7\n1 0\n2 42')" ] || fail "semaphore values in B: $(values "$B")"
grep -q 'sysctl msgmnb=2000' "$TMP/after" || fail "msgmnb not restored: $(grep sysctl "$TMP/after")"
[ "$(inside "$B" cat /proc/sys/kernel/msg_next_id)" = -1 ] || fail "msg_next_id left armed"
# The restored objects work: a message can be received (and is then gone).
qid=$(awk '$1 == "msg" && $3 == "key=0x3e55" { print $2 }' "$TMP/after")
[ "$(inside "$B" ipcs -q | awk -v q="$qid" '$2 == q { print $6 }')" = 2 ] || fail "queue $qid does not hold 2 messages"

# 3. A second restore into B fails on the first object, in one line naming it.
if "$DRIVER" restore-ipc "$B" "$TMP/img" 2>"$TMP/again.err"; then
    fail "restoring twice into one namespace succeeded"
fi
[ "$(wc -l <"$TMP/again.err")" = 1 ] || fail "error is not one line: $(cat "$TMP/again.err")"
grep -Eq 'restore shm [0-9]+: shmget: File exists$' "$TMP/again.err" || fail "error: $(cat "$TMP/again.err")"
[ "$(inside "$B" cat /proc/sys/kernel/shm_next_id)" = -1 ] || fail "shm_next_id left armed after a failure"

# 4. A corrupt segment file is refused before anything is created.
cp -r "$TMP/img" "$TMP/corrupt"
shmfile=$(ls "$TMP/corrupt" | grep '^ipc-shm-' | head -1)
printf 'X' | dd of="$TMP/corrupt/$shmfile" bs=1 seek=17 conv=notrunc status=none
holder; C=$PID
if "$DRIVER" restore-ipc "$C" "$TMP/corrupt" 2>"$TMP/corrupt.err"; then fail "a corrupt image restored"; fi
grep -q "$shmfile: checksum mismatch" "$TMP/corrupt.err" || fail "corrupt: $(cat "$TMP/corrupt.err")"
[ -z "$(inside "$C" "$DRIVER" ipc-show | grep -v '^sysctl')" ] || fail "a refused restore created objects"

# 5. A truncated ipc.json: one line, naming the file.
head -c 100 "$TMP/img/ipc.json" >"$TMP/corrupt/ipc.json"
if "$DRIVER" restore-ipc "$C" "$TMP/corrupt" 2>"$TMP/json.err"; then fail "a truncated ipc.json restored"; fi
[ "$(wc -l <"$TMP/json.err")" = 1 ] && grep -q 'ipc.json' "$TMP/json.err" || fail "json: $(cat "$TMP/json.err")"

# 6. An image restores several times (a snapshot): into another fresh namespace too.
holder; D=$PID
"$DRIVER" restore-ipc "$D" "$TMP/img" 2>"$TMP/d.err" || fail "second restore: $(cat "$TMP/d.err")"
inside "$D" "$DRIVER" ipc-show | diff "$TMP/before" - >/dev/null || fail "second restore differs"

# 7. An ipc namespace owned by a user namespace (uids 0-65535 -> 100000-165535), as in a
# container with user namespaces: its sysctls belong to its root, not to ours.
userns_holder() {
    unshare -U -i sleep 600 &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 100); do
        [ "$(readlink /proc/$PID/ns/user)" != "$(readlink /proc/self/ns/user)" ] && break
        sleep 0.02
    done
    echo '0 100000 65536' >/proc/$PID/uid_map && echo '0 100000 65536' >/proc/$PID/gid_map ||
        { fail "cannot map ids of $PID"; exit 1; }
}
userns_holder; U1=$PID
nsenter -t "$U1" -U -i "$DRIVER" ipc-setup || fail "ipc-setup in a user namespace"
inside "$U1" "$DRIVER" ipc-show >"$TMP/userns.before"
grep -q 'cuid=101234 cgid=104321' "$TMP/userns.before" || fail "userns setup: $(cat "$TMP/userns.before")"
"$DRIVER" dump-ipc "$U1" "$TMP/userns" 2>"$TMP/userns.err" || fail "userns dump: $(cat "$TMP/userns.err")"
userns_holder; U2=$PID
"$DRIVER" restore-ipc "$U2" "$TMP/userns" 2>"$TMP/userns.err" || fail "userns restore: $(cat "$TMP/userns.err")"
inside "$U2" "$DRIVER" ipc-show | diff "$TMP/userns.before" - >"$TMP/diff" || fail "userns restore differs: $(cat "$TMP/diff")"

# 8. A segment marked for removal but still attached (its key is then IPC_PRIVATE): dumped
# with its contents and "destroyed"; restored with them, not marked (nobody is attached yet:
# whoever re-attaches the processes marks it again).
holder; G=$PID
nsenter -t "$G" -i "$DRIVER" ipc-attach-removed >"$TMP/attached" 2>&1 &
ATTACHED=$!
PIDS+=("$ATTACHED")
for _ in $(seq 100); do grep -q '^ready' "$TMP/attached" && break; sleep 0.02; done
removed=$(awk '/^ready/ { print $2 }' "$TMP/attached")
[ -n "$removed" ] || fail "ipc-attach-removed: $(cat "$TMP/attached")"
inside "$G" "$DRIVER" ipc-show | grep '^shm' >"$TMP/removed.before"
grep -q "^shm $removed key=0 mode=1600 " "$TMP/removed.before" || fail "not marked: $(cat "$TMP/removed.before")"
"$DRIVER" dump-ipc "$G" "$TMP/removed" 2>"$TMP/removed.err" || fail "dump removed: $(cat "$TMP/removed.err")"
jq -e --argjson id "$removed" '.shm[] | select(.id == $id) | .destroyed' "$TMP/removed/ipc.json" >/dev/null ||
    fail "destroyed not recorded"
holder; H=$PID
"$DRIVER" restore-ipc "$H" "$TMP/removed" 2>"$TMP/removed.err" || fail "restore removed: $(cat "$TMP/removed.err")"
inside "$H" "$DRIVER" ipc-show | grep '^shm' >"$TMP/removed.after"
sed 's/ mode=1600 / mode=600 /' "$TMP/removed.before" | diff - "$TMP/removed.after" >"$TMP/diff" ||
    fail "removed segment: $(cat "$TMP/diff")"

# 9. A large segment mostly never touched: the dump neither allocates its pages (in the
# container's segment) nor stores them (a sparse file), the restore does not allocate them.
rss_of() { inside "$1" awk '$1 == 23057 { print $15 }' /proc/sysvipc/shm; } # key 0x5a11
holder; S1=$PID
inside "$S1" "$DRIVER" ipc-sparse || fail "ipc-sparse"
"$DRIVER" dump-ipc "$S1" "$TMP/sparse" 2>"$TMP/sparse.err" || fail "sparse dump: $(cat "$TMP/sparse.err")"
[ "$(rss_of "$S1")" -le 65536 ] || fail "the dump allocated the segment: rss $(rss_of "$S1")"
sparse_file=$(ls "$TMP/sparse" | grep '^ipc-shm-')
[ "$(stat -c %s "$TMP/sparse/$sparse_file")" = $((64 << 20)) ] || fail "sparse image size"
[ "$(du -k "$TMP/sparse/$sparse_file" | cut -f1)" -le 1024 ] || fail "image not sparse: $(du -k "$TMP/sparse/$sparse_file")"
holder; S2=$PID
"$DRIVER" restore-ipc "$S2" "$TMP/sparse" 2>"$TMP/sparse.err" || fail "sparse restore: $(cat "$TMP/sparse.err")"
[ "$(rss_of "$S2")" -le 65536 ] || fail "the restore allocated the segment: rss $(rss_of "$S2")"
diff <(inside "$S1" "$DRIVER" ipc-show) <(inside "$S2" "$DRIVER" ipc-show) >"$TMP/diff" ||
    fail "sparse segment differs: $(cat "$TMP/diff")"

# A is untouched by all of this.
inside "$A" "$DRIVER" ipc-show | diff "$TMP/before" - >/dev/null || fail "A changed"

finish
