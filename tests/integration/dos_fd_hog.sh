#!/bin/bash
# DoS containment: an fd hog hits its --nofile limit (EMFILE) and stops there; `cryo
# beancounters` shows the open files (numfile, and nofile at its limit); a neighbour
# container can still open files.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helpers/dos_lib.sh"

neighbour=$(new_id)
dos_bundle "$TEST_TMP/neighbour" sleep 600
run_cmd cryo run -d --bundle "$TEST_TMP/neighbour" "$neighbour"
assert_eq 0 "$STATUS" "run the neighbour (stderr: $ERR)"
defer "cryo delete --force $neighbour >/dev/null 2>&1 || true"

hog=$(new_id)
dos_bundle "$TEST_TMP/hog" sh -c 'exec /dos_hog fds > /tmp/fds.out'
run_cmd cryo run -d --bundle "$TEST_TMP/hog" --nofile 256 "$hog"
assert_eq 0 "$STATUS" "run the hog (stderr: $ERR)"
defer "cryo delete --force $hog >/dev/null 2>&1 || true"
wait_until 10 test -s "$TEST_TMP/hog/rootfs/tmp/fds.out"

# stdin, stdout, stderr are open already: 253 more fit under 256.
out=$(cat "$TEST_TMP/hog/rootfs/tmp/fds.out")
assert_eq "opened 253 errno EMFILE" "$out" "the hog's result"
hog_pid=$(container_pid "$hog")
assert_eq 256 "$(ls "/proc/$hog_pid/fd" | wc -l)" "fds open in the hog"

numfile=$(bc_field "$hog" numfile held)
log "hog: numfile $numfile, nofile held $(bc_field "$hog" nofile held) barrier $(bc_field "$hog" nofile barrier) limit $(bc_field "$hog" nofile limit)"
assert_eq 256 "$numfile" "numfile held"
assert_eq 256 "$(bc_field "$hog" nofile held)" "nofile held"
assert_eq 256 "$(bc_field "$hog" nofile barrier)" "nofile barrier (soft RLIMIT_NOFILE)"
assert_eq 256 "$(bc_field "$hog" nofile limit)" "nofile limit (hard RLIMIT_NOFILE)"
assert_eq null "$(bc_field "$hog" nofile failcnt)" "nofile failcnt (no kernel counter)"
[ "$(bc_field "$hog" numfile maxheld)" -ge 256 ] || fail "numfile maxheld below held"

# The neighbour is not limited by the hog: it opens more files than the hog could.
# (dos_hog fds pauses after printing, hence the timeout.)
run_cmd cryo exec "$neighbour" timeout 3 /dos_hog fds
assert_contains "$OUT" "errno EMFILE" "neighbour fd run"
opened=$(echo "$OUT" | awk '{print $2}')
[ "$opened" -gt 253 ] || fail "the neighbour opened only $opened files"
assert_eq running "$(container_status "$neighbour")" "neighbour status"

run_cmd cryo delete --force "$hog"
assert_eq 0 "$STATUS" "delete --force the hog (stderr: $ERR)"
run_cmd cryo delete --force "$neighbour"
assert_eq 0 "$STATUS" "delete --force the neighbour (stderr: $ERR)"
