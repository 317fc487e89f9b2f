#!/bin/bash
# dump --leave-running of memory rewritten at a high rate while it is dumped (the workload
# tests/cr/cr_wp_snapshot.c: two threads, random pages, 32 MiB of small pages and 16 MiB of
# transparent huge pages). The dump thaws the tree right after collection and copies through
# a userfaultfd write-protect snapshot (src/checkpoint/wp_snapshot.cpp):
# - race (3 rounds): the image restored after killing the original is one single instant of
#   its memory (the workload's strict consistency check), and the fault handler did save
#   pages (the race was exercised); right after dump returns the original completes 1000+
#   writes per thread within a second and a write to every page (no page left protected);
#   the huge pages are still huge; no userfaultfd is left in its fd table.
# - negative control: with the patching disabled (CRYO_TEST_SNAPSHOT_NO_PATCH, a test hook)
#   the restored image must FAIL the check: it proves the check sees a mixed image.
# - broken snapshot: the workload unmaps 32 MiB of its memory right after the thaw, before
#   cryo copied it; the dump notices (UFFD_EVENT_UNMAP), dumps again with the copy made
#   while frozen, succeeds, and the restored image is one instant.
# - failures with the snapshot in place (an injected error after the thaw; cryo SIGKILLed
#   while copying): the original runs on, untraced, writes everywhere, mappings unchanged.
source "$(dirname "$0")/lib.sh"
need cryo cr_driver
workload cr_wp_snapshot

# start_workload NAME [unmap]: a fresh control file and the workload; sets PID and HUGE.
start_workload() {
    mkdir -p "$TMP/$1"
    head -c 4096 /dev/zero >"$TMP/$1/ctl"
    start "$1" "$WORKLOAD" "$TMP/$1/ctl" ${2:-} || return 1
    HUGE=$(awk '/^huge/ { print $2 }' "$TMP/$1/out")
    sleep 0.3 # the writers run
}
# set_byte NAME OFFSET VALUE: in the control file.
set_byte() { printf "\\$(printf %03o "$3")" | dd of="$TMP/$1/ctl" bs=1 seek="$2" conv=notrunc status=none; }
# anon_huge PID ADDR: AnonHugePages (kB) of the mapping starting at ADDR.
anon_huge() { awk -v a="$2" 'index($1, a "-") == 1 { f = 1; next } f && /^AnonHugePages:/ { print $2; exit }' "/proc/$1/smaps"; }
_lines_at_least() { [ "$(grep -c "^$2" "$1")" -ge "$3" ]; }
# progress NAME PID: "W0 W1", the writes of each thread so far.
progress() {
    local n
    n=$(grep -c "^progress" "$TMP/$1/out")
    kill -USR2 "$2"
    wait_for 1 _lines_at_least "$TMP/$1/out" progress $((n + 1)) || return 1
    grep "^progress" "$TMP/$1/out" | tail -1 | cut -d' ' -f2-
}
# runs_on NAME PID: the original completes 1000+ writes per thread within a second, then a
# write to every page within a second; it is not traced.
runs_on() {
    local name=$1 pid=$2 a b
    read -r -a a < <(progress "$name" "$pid")
    sleep 1
    read -r -a b < <(progress "$name" "$pid")
    if [ "${#a[@]}" = 2 ] && [ "${#b[@]}" = 2 ] && [ $((b[0] - a[0])) -ge 1000 ] && [ $((b[1] - a[1])) -ge 1000 ]; then
        ok "$name: runs on: $((b[0] - a[0])) + $((b[1] - a[1])) writes in 1 s after the dump"
    else
        fail "$name: writes after the dump: ${a[*]} -> ${b[*]}"
    fi
    local sweeps
    sweeps=$(grep -c "^sweep" "$TMP/$name/out")
    set_byte "$name" 8 $((sweeps + 1))
    if wait_for 1 _lines_at_least "$TMP/$name/out" sweep $((sweeps + 1)); then
        ok "$name: wrote every page: $(grep '^sweep' "$TMP/$name/out" | tail -1)"
    else
        fail "$name: a write to every page did not finish within 1 s (a page left protected?)"
    fi
    grep -q "TracerPid:.0$" "/proc/$pid/status" || fail "$name: still traced"
    if ls -l "/proc/$pid/fd" | grep -q userfaultfd; then
        fail "$name: a userfaultfd was left in the process: $(ls -l "/proc/$pid/fd" | grep userfaultfd)"
    fi
}

# restore_and_verify NAME PID EXPECT(ok|fail)
restore_and_verify() {
    local name=$1 pid=$2 expect=$3
    { kill -9 "$pid"; wait "$pid"; } 2>/dev/null # (no "Killed" notice)
    gone "$pid" || { fail "$name: original still there"; return 1; }
    set_byte "$name" 0 1 # the restored writers stop at once
    "$CRYO" restore -D "$TMP/$name/img" -d || { fail "$name: restore failed"; return 1; }
    kill -USR1 "$pid"
    finished "$pid" && wait_for 2 _has_verdict "$TMP/$name/out" || { fail "$name: no verdict: $(tail -3 "$TMP/$name/out")"; return 1; }
    local verdict
    verdict=$(grep "^verify" "$TMP/$name/out")
    case $expect:$verdict in
    ok:"verify ok"*) ok "$name: restored image is one instant: $verdict" ;;
    fail:"verify ok"*) fail "$name: the check did not see an unpatched (mixed) image: $verdict" ;;
    fail:*) ok "$name: an unpatched image is caught: $verdict" ;;
    *) fail "$name: $verdict" ;;
    esac
}

for round in 1 2 3; do
    name=race$round
    start_workload "$name" || continue
    thp_before=$(anon_huge "$PID" "$HUGE")
    if ! "$CRYO" --debug dump -t "$PID" -D "$TMP/$name/img" --leave-running 2>"$TMP/$name/dump.log"; then
        fail "$name: dump failed: $(tail -3 "$TMP/$name/dump.log")"
        continue
    fi
    runs_on "$name" "$PID"
    stats=$(grep -o "frozen [0-9.]* ms.*" "$TMP/$name/dump.log")
    saved=$(echo "$stats" | sed -n 's/.*snapshot: 1 process(es), \([0-9]*\) pages saved on write.*/\1/p')
    if [ -z "$saved" ]; then
        fail "$name: the dump did not use a snapshot: $stats"
    elif [ "$saved" -gt 0 ]; then
        ok "$name: $stats"
    else
        fail "$name: no page saved by the fault handler (the race was not exercised): $stats"
    fi
    thp_after=$(anon_huge "$PID" "$HUGE")
    if [ "${thp_before:-0}" -gt 0 ]; then
        [ "${thp_after:-0}" -ge "$thp_before" ] && ok "$name: huge pages kept ($thp_before -> $thp_after kB)" ||
            fail "$name: huge pages split: AnonHugePages $thp_before -> ${thp_after:-0} kB"
    else
        note "$name: no transparent huge page to begin with (THP unavailable?)"
    fi
    restore_and_verify "$name" "$PID" ok
done

name=unpatched
if start_workload "$name"; then
    if CRYO_TEST_SNAPSHOT_NO_PATCH=1 "$CRYO" dump -t "$PID" -D "$TMP/$name/img" --leave-running; then
        restore_and_verify "$name" "$PID" fail
    else
        fail "$name: dump failed"
    fi
fi

name=broken
if start_workload "$name" unmap; then
    # cryo holds its copy after the thaw (CRYO_TEST_SNAPSHOT_HOLD) until the workload has
    # unmapped, so the unmap always falls under the snapshot.
    hold=$TMP/$name/hold
    CRYO_TEST_SNAPSHOT_HOLD=$hold "$CRYO" --debug dump -t "$PID" -D "$TMP/$name/img" --leave-running \
        2>"$TMP/$name/dump.log" &
    dumper=$!
    for _ in $(seq 500); do [ -e "$hold.thawed" ] && break; sleep 0.01; done
    [ -e "$hold.thawed" ] || fail "$name: the dump did not reach its thaw"
    set_byte "$name" 16 1
    for _ in $(seq 500); do grep -q "^unmapped" "$TMP/$name/out" && break; sleep 0.01; done
    touch "$hold.go"
    if wait "$dumper"; then
        grep -q "^unmapped" "$TMP/$name/out" || fail "$name: the workload did not unmap its region after the thaw"
        if grep -q "dumping again with the memory copied while frozen" "$TMP/$name/dump.log"; then
            ok "$name: $(grep -o 'dump [0-9]*: dump memory of.*dumping again.*' "$TMP/$name/dump.log" | head -1)"
        else
            fail "$name: the broken snapshot was not noticed: $(grep -o 'frozen [0-9.]* ms.*' "$TMP/$name/dump.log")"
        fi
        restore_and_verify "$name" "$PID" ok
    else
        fail "$name: dump failed: $(tail -3 "$TMP/$name/dump.log")"
    fi
fi

name=injected
if start_workload "$name"; then
    before=$(cat /proc/$PID/maps)
    if "$DRIVER" dump "$PID" "$TMP/$name/img" --leave-running --inject snapshot >"$TMP/$name/dump.log" 2>&1; then
        fail "$name: the injected failure did not fail the dump"
    else
        ok "$name: failed: $(tail -1 "$TMP/$name/dump.log")"
    fi
    runs_on "$name" "$PID"
    [ "$before" = "$(cat /proc/$PID/maps)" ] || fail "$name: mappings changed"
    [ -e "$TMP/$name/img/manifest.json" ] && fail "$name: an image was committed"
fi

for phase in thawed copying; do
    name=killed-$phase
    start_workload "$name" || continue
    before=$(cat /proc/$PID/maps)
    { CRYO_TEST_KILL_AT=$phase "$CRYO" dump -t "$PID" -D "$TMP/$name/img" --leave-running >"$TMP/$name/dump.log" 2>&1; } 2>/dev/null
    rc=$?
    [ $rc = 137 ] || fail "$name: cryo exited with $rc, not killed at $phase: $(cat "$TMP/$name/dump.log")"
    runs_on "$name" "$PID"
    [ "$before" = "$(cat /proc/$PID/maps)" ] || fail "$name: mappings changed"
done

finish
