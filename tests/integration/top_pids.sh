#!/bin/bash
# cryo top: the container's processes with in-container pids (NSpid), parents inside,
# host pids, user and command, orphans adopted by cryo-init included; ps --format json is
# still runc's array of host pids.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
# An orphan (double fork: its parent subshell exits at once) and a direct child.
make_bundle "$bundle" sh -c '(sleep 1001 &); sleep 1002 & echo ready > /tmp/ready; wait'
id=$(new_id)
assert_status 0 cryo run -d --init --bundle "$bundle" "$id"
wait_until 10 test -e "$bundle/rootfs/tmp/ready"
wait_until 5 sh -c "\"\$0\" --root \"\$1\" top \"\$2\" | grep -q 'sleep 1001'" "$CRYO" "$ROOT" "$id"

run_cmd cryo top --format json "$id"
assert_eq 0 "$STATUS" "top --format json (stderr: $ERR)"
json=$OUT
field() { jq -r --arg c "$1" ".[] | select(.command == \$c) | .$2" <<<"$json"; }
assert_eq 1 "$(field "/dev/.cryo-init -- sh -c (sleep 1001 &); sleep 1002 & echo ready > /tmp/ready; wait" pid)" "pid of cryo-init"
assert_eq 2 "$(field "sh -c (sleep 1001 &); sleep 1002 & echo ready > /tmp/ready; wait" pid)" "pid of the process"
assert_eq 1 "$(field "sleep 1001" ppid)" "the orphan's parent inside is cryo-init"
assert_eq 2 "$(field "sleep 1002" ppid)" "the child's parent inside is sh"
assert_eq 0 "$(field "/dev/.cryo-init -- sh -c (sleep 1001 &); sleep 1002 & echo ready > /tmp/ready; wait" ppid)" "pid 1's parent is outside"
orphan_host=$(field "sleep 1001" host_pid)
assert_eq sleep "$(cat "/proc/$orphan_host/comm")" "host pid of the orphan"
assert_eq "$orphan_host" "$(awk '/^NSpid:/ {print $2}' "/proc/$orphan_host/status")" "host pid = outer NSpid"
assert_eq "$(field "sleep 1001" pid)" "$(awk '/^NSpid:/ {print $NF}' "/proc/$orphan_host/status")" "pid = inner NSpid"
assert_eq root "$(field "sleep 1001" user)" "user from the container's /etc/passwd"
assert_eq 4 "$(jq length <<<"$json")" "processes in the container"

# ps --format json stays runc's array of host pids (the same set).
run_cmd cryo ps --format json "$id"
assert_eq 0 "$STATUS" "ps --format json"
assert_eq "$(jq -c 'sort' <<<"$OUT")" "$(jq -c '[.[].host_pid] | sort' <<<"$json")" "ps json = host pids of top"
assert_eq number "$(jq -r '.[0] | type' <<<"$OUT")" "ps json elements are numbers"

# The table: header and in-container pid first.
run_cmd cryo top "$id"
assert_contains "$(printf '%s\n' "$OUT" | head -n 1)" "PID  PPID  HOST PID  USER  STAT  COMMAND"
assert_contains "$OUT" "$orphan_host  root  S     sleep 1001"

assert_fails_with "does not exist" cryo top "$TEST_TAG-nosuch"
assert_status 0 cryo delete --force "$id"
