#!/bin/bash
# state, list (table and json) and ps follow a container through created, running, stopped
# and deleted.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'sleep 1000 & wait'
id=$(new_id)
run_cmd cryo create --bundle "$bundle" "$id" </dev/null
assert_eq 0 "$STATUS" "create (stderr: $ERR)"

run_cmd cryo state "$id"
assert_eq 0 "$STATUS" "state (stderr: $ERR)"
state=$OUT
assert_eq "$id" "$(jq -r .id <<<"$state")" "state.id"
assert_eq created "$(jq -r .status <<<"$state")" "state.status after create"
assert_eq "$bundle" "$(jq -r .bundle <<<"$state")" "state.bundle"
[ -n "$(jq -r .ociVersion <<<"$state")" ] || fail "state has no ociVersion: $state"
pid=$(jq -r .pid <<<"$state")
[ "$pid" -gt 1 ] && [ -d "/proc/$pid" ] || fail "state.pid $pid is not a live process"
assert_contains "$(jq -r .created <<<"$state")" "T" "state.created is RFC 3339"

run_cmd cryo list
assert_eq 0 "$STATUS" "list (stderr: $ERR)"
assert_contains "$OUT" "ID" "list header"
line=$(printf '%s\n' "$OUT" | awk -v id="$id" '$1 == id')
[ -n "$line" ] || fail "list does not show $id: $OUT"
assert_contains "$line" "created" "list status column"
assert_contains "$line" "$bundle" "list bundle column"
run_cmd cryo list --format json
assert_eq 0 "$STATUS" "list --format json (stderr: $ERR)"
assert_eq created "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .status' <<<"$OUT")" "list json status"
assert_eq "$pid" "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .pid' <<<"$OUT")" "list json pid"

run_cmd cryo start "$id"
assert_eq 0 "$STATUS" "start (stderr: $ERR)"
assert_eq running "$(container_status "$id")" "status after start"
# ps --format json: the container's host pids, init first among them, and the sleep.
wait_until 5 test "$(cat "$(cgroup_dir "$pid" pids)/cgroup.procs" | wc -l)" -ge 2
run_cmd cryo ps --format json "$id"
assert_eq 0 "$STATUS" "ps --format json (stderr: $ERR)"
pids=$(jq -r '.[]' <<<"$OUT" | sort -n | tr '\n' ' ')
expected=$(sort -n "$(cgroup_dir "$pid" pids)/cgroup.procs" | tr '\n' ' ')
assert_eq "$expected" "$pids" "ps pids (cgroup.procs)"
assert_contains " $pids" " $pid " "ps includes the init"
run_cmd cryo ps "$id"
assert_eq 0 "$STATUS" "ps (stderr: $ERR)"
assert_contains "$OUT" "PID" "ps table header"
assert_contains "$OUT" "sleep" "ps table lists sleep"

run_cmd cryo kill "$id" KILL
wait_status "$id" stopped
run_cmd cryo state "$id"
assert_eq stopped "$(jq -r .status <<<"$OUT")" "status after the process died"
assert_eq 0 "$(jq -r .pid <<<"$OUT")" "pid of a stopped container"
run_cmd cryo list --format json
assert_eq stopped "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .status' <<<"$OUT")" "list json status stopped"
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"
run_cmd cryo list --format json
assert_eq "" "$(jq -r --arg id "$id" '.[]? | select(.id == $id) | .id' <<<"$OUT")" "list after delete"
assert_fails_with "does not exist" cryo state "$id"
