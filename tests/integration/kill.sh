#!/bin/bash
# kill accepts signal names (with and without SIG) and numbers, defaults to SIGTERM, and
# --all signals every process of the container.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
# pid 1 only receives signals it has handlers for: trap them and log.
make_bundle "$bundle" sh -c '
    for s in USR1 USR2 HUP TERM; do trap "echo $s >> /tmp/signals" $s; done
    sleep 1000 & sleep 1000 &
    while true; do sleep 0.05; done'
id=$(new_id)
run_cmd cryo run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d exit status (stderr: $ERR)"
wait_status "$id" running
signals=$bundle/rootfs/tmp/signals
send_and_expect() {
    local expected=$1
    shift
    run_cmd cryo kill "$id" "$@"
    assert_eq 0 "$STATUS" "kill $* (stderr: $ERR)"
    wait_until 5 grep -qx "$expected" "$signals"
}
send_and_expect USR1 USR1
send_and_expect USR2 SIGUSR2
send_and_expect HUP 1
send_and_expect TERM
assert_eq "USR1 USR2 HUP TERM" "$(echo $(cat "$signals"))" "signals received in order"
assert_eq running "$(container_status "$id")" "status after trapped signals"

# --all: every process of the container dies, not only pid 1.
pid=$(container_pid "$id")
procs=$(cat "$(cgroup_dir "$pid" pids)/cgroup.procs" | wc -l)
[ "$procs" -ge 3 ] || fail "expected sh and two sleeps in the container, found $procs processes"
run_cmd cryo ps --format json "$id"
children=$(printf '%s' "$OUT" | jq -r '.[]' | grep -vx "$pid" | head -n 1)
run_cmd cryo kill --all "$id" KILL
assert_eq 0 "$STATUS" "kill --all (stderr: $ERR)"
wait_status "$id" stopped
[ -z "$children" ] || wait_until 5 test ! -e "/proc/$children"

# Bad signals are refused with one line.
assert_fails_with "signal" cryo kill "$id" NOTASIGNAL
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"
