#!/bin/bash
# CVE-2024-21626: a leaked fd must not give the container a way out through process.cwd (or
# exec --cwd) set to /proc/self/fd/N. The shell calling cryo holds non-CLOEXEC fds on a host
# directory; for every N in 3..20 the container either refuses that cwd (one-line error) or
# starts inside its own root: walking up from its cwd must reach the container's / and never
# the host directory's secret file.
. "$(dirname "$0")/lib.sh"

secret_dir=$TEST_TMP/host-secret
mkdir -p "$secret_dir"
token="host-token-$TEST_TAG"
echo "$token" > "$secret_dir/secret"
exec 7<"$secret_dir" 8</ 9<"$TEST_TMP"

# Prints ESCAPED if the process's cwd (or its ancestors) is outside the container's root.
probe='
    cat secret ../secret ../../secret 2>/dev/null
    here=$(ls -a 2>/dev/null | tr "\n" " ")
    up=$(cd ../../../../../../../../.. 2>/dev/null && ls -a | tr "\n" " ")
    root=$(ls -a / | tr "\n" " ")
    [ "$up" = "$root" ] && echo "root ok" || echo "ESCAPED: up=[$up] root=[$root]"
    echo "cwd=$(pwd)"'

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c "$probe"
cp "$bundle/config.json" "$TEST_TMP/config.json"
refused=0
for n in $(seq 3 20); do
    jq --arg cwd "/proc/self/fd/$n" '.process.cwd = $cwd' "$TEST_TMP/config.json" > "$bundle/config.json"
    id=$(new_id)
    run_cmd cryo run --bundle "$bundle" "$id"
    assert_not_contains "$OUT$ERR" "$token" "run with cwd /proc/self/fd/$n"
    assert_not_contains "$OUT" "ESCAPED" "run with cwd /proc/self/fd/$n"
    if [ "$STATUS" = 0 ]; then
        assert_contains "$OUT" "root ok" "run with cwd /proc/self/fd/$n"
    else
        refused=$((refused + 1))
        [ -n "$ERR" ] || fail "run with cwd /proc/self/fd/$n failed without a message"
    fi
    run_cmd cryo state "$id"
    [ "$STATUS" != 0 ] || fail "container $id left after run"
done
log "run: $refused of 18 leaked-fd cwds refused, the rest stayed inside"

# exec --cwd into a running container, and exec --process with that cwd.
make_bundle "$bundle" sleep 1000
id=$(new_id)
run_cmd cryo run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d (stderr: $ERR)"
wait_status "$id" running
for n in $(seq 3 20); do
    run_cmd cryo exec --cwd "/proc/self/fd/$n" "$id" sh -c "$probe"
    assert_not_contains "$OUT$ERR" "$token" "exec --cwd /proc/self/fd/$n"
    assert_not_contains "$OUT" "ESCAPED" "exec --cwd /proc/self/fd/$n"
    [ "$STATUS" != 0 ] || assert_contains "$OUT" "root ok" "exec --cwd /proc/self/fd/$n"
    jq -n --arg cwd "/proc/self/fd/$n" --arg probe "$probe" \
        '{args: ["sh", "-c", $probe], cwd: $cwd, env: ["PATH=/bin"], user: {uid: 0, gid: 0}}' > "$TEST_TMP/process.json"
    run_cmd cryo exec --process "$TEST_TMP/process.json" "$id"
    assert_not_contains "$OUT$ERR" "$token" "exec --process with cwd /proc/self/fd/$n"
    assert_not_contains "$OUT" "ESCAPED" "exec --process with cwd /proc/self/fd/$n"
done
run_cmd cryo delete --force "$id"
assert_eq 0 "$STATUS" "delete --force (stderr: $ERR)"
exec 7<&- 8<&- 9<&-
