#!/bin/bash
# A container process cannot see or signal host processes: a host `sleep` keeps running after
# the container tries to kill its pid, and /proc inside lists only the container's processes.
. "$(dirname "$0")/lib.sh"

sleep 1000 &
host_pid=$!
bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c "
    [ -e /proc/$host_pid ] && echo 'host pid visible' || echo 'host pid invisible'
    kill -9 $host_pid 2>/dev/null && echo 'kill succeeded' || echo 'kill failed'
    kill -9 -1 2>/dev/null; echo 'pids:' /proc/[0-9]*
    echo \"init: \$(cat /proc/1/comm)\""
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run exit status (stderr: $ERR)"
if [ "$host_pid" -gt 10 ]; then
    assert_contains "$OUT" "host pid invisible" "host pid $host_pid seen from inside"
    assert_contains "$OUT" "kill failed" "kill of host pid $host_pid from inside"
fi
assert_contains "$OUT" "init: sh" "pid 1 inside"
[ -d "/proc/$host_pid" ] || fail "host process $host_pid was killed from inside the container"
[ "$(awk '{print $3}' "/proc/$host_pid/stat")" != Z ] || fail "host process $host_pid died"
# Only the container's few pids are listed inside (sh, and the forks it made).
npids=$(printf '%s\n' "$OUT" | sed -n 's/^pids: //p' | wc -w)
[ "$npids" -le 3 ] || fail "container sees $npids pids: $OUT"
kill "$host_pid"
wait "$host_pid" 2>/dev/null || true
