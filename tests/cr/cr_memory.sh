#!/bin/bash
# Checkpoint/restore of memory (tests/cr/cr_memory.c) through the cryo CLI:
#  1. dump + restore: same pid, heartbeat goes on, anonymous/heap/stack/PROT_NONE/read-only/
#     written private file pages come back, untouched pages stay zero and are not in the image;
#  2. --leave-running: the process runs on; restoring while it runs is "pid N is already in use";
#  3. a dump that fails half way (injected, with a scratch page mapped in the process, and after
#     the page file is written) leaves the process running with the same mappings and no image;
#  4. a truncated or bit-flipped image is a clear error naming the file, and nothing runs after.
source "$(dirname "$0")/lib.sh"
need cryo cr_driver
workload cr_memory

# start_memory NAME MIB: the workload with MIB of memory, beating into $TMP/NAME/beat.
start_memory() { start "$1" "$WORKLOAD" "$2" "$TMP/$1/beat"; }
beats() { wc -l <"$TMP/$1/beat"; }

# 1. dump and restore.
if start_memory basic 64; then
    "$CRYO" dump -t "$PID" -D "$TMP/basic/img" || fail "basic: dump failed"
    { wait "$PID"; } 2>/dev/null
    gone "$PID" || fail "basic: process still there after dump"
    [ -f "$TMP/basic/img/manifest.json" ] || fail "basic: no manifest"
    # The page stream is striped over pages-PID.img and pages-PID.1.img (both halves there).
    [ -s "$TMP/basic/img/pages-$PID.1.img" ] || fail "basic: no second page file stripe"
    size=$(cat "$TMP/basic/img/pages-$PID.img" "$TMP/basic/img/pages-$PID".*.img | wc -c)
    # 64 MiB + 1 MiB heap + small areas written; the untouched 1 MiB region must not be there.
    [ "$size" -lt $((67 << 20)) ] && [ "$size" -ge $((65 << 20)) ] || fail "basic: page file is $size bytes"
    "$CRYO" checkpoint inspect "$TMP/basic/img" --format json | jq -e ".processes[0].pid == $PID" >/dev/null \
        || fail "basic: inspect does not show pid $PID"
    "$CRYO" restore -D "$TMP/basic/img" -d || fail "basic: restore failed"
    [ -e /proc/$PID ] || fail "basic: pid $PID not running after restore"
    [ "$(cat /proc/$PID/comm 2>/dev/null)" = cr_memory ] || fail "basic: comm is $(cat /proc/$PID/comm)"
    b1=$(beats basic); sleep 0.3; b2=$(beats basic)
    [ "$b2" -gt "$b1" ] && ok "basic: restored pid $PID beats on ($b1 -> $b2)" || fail "basic: no heartbeat after restore"
    verify basic "$PID"
fi

# 2. --leave-running, then restore over the running original is refused, then restore after it died.
if start_memory leave 16; then
    "$CRYO" dump -t "$PID" -D "$TMP/leave/img" --leave-running || fail "leave: dump failed"
    b1=$(beats leave); sleep 0.2; b2=$(beats leave)
    [ "$b2" -gt "$b1" ] && ok "leave: process runs on after dump" || fail "leave: process stopped beating"
    msg=$("$CRYO" restore -D "$TMP/leave/img" -d 2>&1) && fail "leave: restore over a running pid succeeded"
    echo "$msg" | grep -q "pid $PID is already in use" && ok "leave: taken pid refused: $msg" || fail "leave: $msg"
    kill -9 "$PID"; { wait "$PID"; } 2>/dev/null; gone "$PID"
    "$CRYO" restore -D "$TMP/leave/img" -d || fail "leave: restore failed"
    verify leave "$PID"
fi

# 3. failed dumps never harm: injected failures, the process runs on unchanged.
for step in signals pages; do
    if start_memory "fail-$step" 16; then
        before=$(cat /proc/$PID/maps)
        msg=$("$DRIVER" dump "$PID" "$TMP/fail-$step/img" --inject "$step" 2>&1) && fail "fail-$step: dump succeeded"
        after=$(cat /proc/$PID/maps)
        [ "$before" = "$after" ] && ok "fail-$step: mappings unchanged after failed dump ($msg)" \
            || fail "fail-$step: mappings changed: $(diff <(echo "$before") <(echo "$after"))"
        grep -q TracerPid:.0 /proc/$PID/status || fail "fail-$step: still traced"
        [ -e "$TMP/fail-$step/img" ] && fail "fail-$step: image left behind"
        ls -a "$TMP/fail-$step" | grep -q tmp && fail "fail-$step: temporary image left behind"
        b1=$(beats "fail-$step"); sleep 0.2; b2=$(beats "fail-$step")
        [ "$b2" -gt "$b1" ] || fail "fail-$step: no heartbeat after failed dump"
        verify "fail-$step" && ok "fail-$step: process unharmed"
        { wait "$PID"; } 2>/dev/null
    fi
done

# 4. corrupt images: truncated page file, flipped bit in either stripe of the page file, a
#    missing stripe, a flipped bit in the metadata.
if start_memory corrupt 8; then
    "$CRYO" dump -t "$PID" -D "$TMP/corrupt/img" || fail "corrupt: dump failed"
    { wait "$PID"; } 2>/dev/null; gone "$PID"
    for damage in truncate flip-pages flip-stripe missing-stripe flip-meta; do
        rm -rf "$TMP/corrupt/bad"; cp -a "$TMP/corrupt/img" "$TMP/corrupt/bad"
        pages="$TMP/corrupt/bad/pages-$PID.img"
        case $damage in
        truncate) truncate -s 4096 "$pages"; want="pages-$PID.img" ;;
        flip-pages) printf '\xff' | dd of="$pages" bs=1 seek=5000000 conv=notrunc status=none; want="pages-$PID.img: checksum mismatch" ;;
        flip-stripe) printf '\xff' | dd of="${pages%.img}.1.img" bs=1 seek=1000000 conv=notrunc status=none; want="pages-$PID.1.img: checksum mismatch" ;;
        missing-stripe) rm "${pages%.img}.1.img"; want="pages-$PID.1.img" ;;
        flip-meta) sed -i '0,/"comm": "cr_memory"/s//"comm": "cr_memorx"/' "$TMP/corrupt/bad/process-$PID.json"; want="process-$PID.json: checksum mismatch" ;;
        esac
        msg=$("$CRYO" restore -D "$TMP/corrupt/bad" -d 2>&1) && fail "corrupt $damage: restore succeeded"
        echo "$msg" | grep -q "$want" && ok "corrupt $damage: $msg" || fail "corrupt $damage: message: $msg"
        gone "$PID" || fail "corrupt $damage: pid $PID left running"
    done
    "$CRYO" checkpoint inspect "$TMP/corrupt/bad" >/dev/null 2>&1 && fail "inspect of a corrupt image succeeded"
fi

finish
