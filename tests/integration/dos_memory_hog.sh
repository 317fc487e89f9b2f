#!/bin/bash
# DoS containment: a memory hog is OOM-killed inside its container only. Its container's
# memory failcnt and oomkill counters rise in `cryo beancounters`; a neighbour container's
# process is untouched (same pid, still running, no OOM kill counted there) and the host
# still has its memory.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers/dos_lib.sh"

neighbour=$(new_id)
dos_bundle "$TEST_TMP/neighbour" sh -c '/dos_hog mem 16 > /tmp/mem.out; exec sleep 600'
run_cmd cryo run -d --bundle "$TEST_TMP/neighbour" --memory 64m "$neighbour"
assert_eq 0 "$STATUS" "run the neighbour (stderr: $ERR)"
defer "cryo delete --force $neighbour >/dev/null 2>&1 || true"
neighbour_pid=$(container_pid "$neighbour")
wait_until 10 grep -qx "touched 16" "$TEST_TMP/neighbour/rootfs/tmp/mem.out"

# The hog wants 256 MiB under a 32 MiB limit, memory+swap 64 MiB so swap cannot absorb it.
# (memory+swap equal to memory would make the kernel count the refusals in memsw.failcnt
# instead: it charges memory+swap first.)
# the shell records how the hog ended, then stays, so the container lives on.
hog=$(new_id)
dos_bundle "$TEST_TMP/hog" sh -c '/dos_hog mem 256 > /tmp/mem.out; echo "status $?" > /tmp/status; exec sleep 600'
run_cmd cryo run -d --bundle "$TEST_TMP/hog" --memory 32m --memory-swap 64m "$hog"
assert_eq 0 "$STATUS" "run the hog (stderr: $ERR)"
defer "cryo delete --force $hog >/dev/null 2>&1 || true"
wait_until 30 test -s "$TEST_TMP/hog/rootfs/tmp/status"

# SIGKILL from the OOM killer: the shell reports 128 + 9.
assert_eq "status 137" "$(cat "$TEST_TMP/hog/rootfs/tmp/status")" "how the hog ended"
assert_not_contains "$(cat "$TEST_TMP/hog/rootfs/tmp/mem.out")" "touched" "hog output"
assert_eq running "$(container_status "$hog")" "the hog's container (its shell survives)"

memory_failcnt=$(bc_field "$hog" memory failcnt)
oomkills=$(bc_field "$hog" oomkill held)
log "hog: memory limit $(bc_field "$hog" memory limit), maxheld $(bc_field "$hog" memory maxheld), failcnt $memory_failcnt, oom kills $oomkills"
assert_eq 33554432 "$(bc_field "$hog" memory limit)" "hog memory limit"
[ "$memory_failcnt" -gt 0 ] || fail "memory failcnt of the hog did not rise"
[ "$oomkills" -ge 1 ] || fail "no OOM kill counted for the hog"
[ "$(bc_field "$hog" memory maxheld)" -le 33554432 ] || fail "the hog held more than its limit"

# The neighbour: same process, running, nothing killed there.
assert_eq running "$(container_status "$neighbour")" "neighbour status"
assert_eq "$neighbour_pid" "$(container_pid "$neighbour")" "neighbour init pid"
[ -d "/proc/$neighbour_pid" ] || fail "the neighbour's process $neighbour_pid is gone"
assert_eq 0 "$(bc_field "$neighbour" oomkill held)" "neighbour oom kills"
assert_eq 0 "$(bc_field "$neighbour" memory failcnt)" "neighbour memory failcnt"
# ... and can still allocate what it could before.
run_cmd cryo exec "$neighbour" /dos_hog mem 16
assert_eq 0 "$STATUS" "neighbour allocation after the OOM (stderr: $ERR)"
assert_eq "touched 16" "$OUT" "neighbour allocation"

run_cmd cryo delete --force "$hog"
assert_eq 0 "$STATUS" "delete --force the hog (stderr: $ERR)"
run_cmd cryo delete --force "$neighbour"
assert_eq 0 "$STATUS" "delete --force the neighbour (stderr: $ERR)"
