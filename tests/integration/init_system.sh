#!/bin/bash
# System-container mode (annotation run.cryo.init=system): cryo-init reads the service file
# from the container, starts the services in order, restarts a crashing one by its policy
# with a growing delay, leaves a one-shot alone, and on SIGTERM stops the services in
# reverse order, SIGKILLing one that ignores its stop signal after its timeout; then the
# container exits 0. `cryo top` shows the services with in-container pids.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" true
spec_edit "$bundle" '.annotations["run.cryo.init"] = "system"'
mkdir -p "$bundle/rootfs/etc/cryo-init"
# Every service writes what happens to it into /tmp/events (read from the host).
cat > "$bundle/rootfs/etc/cryo-init/services" <<'SERVICES'
# The test's machine.
[first]
command = /bin/sh -c 'echo start-first >> /tmp/events; trap "echo stop-first >> /tmp/events; exit 0" TERM; while :; do sleep 0.05; done'
restart = always
stop_timeout = 5

[second]
command = /bin/sh -c 'echo start-second >> /tmp/events; trap "echo stop-second >> /tmp/events; exit 0" INT; while :; do sleep 0.05; done'
stop_signal = INT
stop_timeout = 5

[crasher]
command = /bin/sh -c 'echo crash >> /tmp/events; exit 1'
restart = on-failure
restart_delay = 100ms
restart_delay_max = 400ms

[oneshot]
command = /bin/sh -c 'echo oneshot >> /tmp/events'
restart = on-failure

[stubborn]
command = /bin/sh -c 'trap "echo ignored-term >> /tmp/events" TERM; echo start-stubborn >> /tmp/events; while :; do sleep 0.05; done'
stop_timeout = 1
SERVICES
events=$bundle/rootfs/tmp/events

id=$(new_id)
"$CRYO" --root "$ROOT" run --bundle "$bundle" "$id" >"$TEST_TMP/init.log" 2>&1 &
run_pid=$!
defer "\"\$CRYO\" --root \"\$ROOT\" delete --force $id >/dev/null 2>&1; wait $run_pid 2>/dev/null || true"
wait_until 10 grep -qx start-stubborn "$events"
wait_until 10 grep -qx start-second "$events"
started=$(date +%s%N)
sleep 1.5

# Restarts by policy: the crasher keeps coming back, but with backoff (100, 200, 400, 400 ms
# ... after each failure: about 5 runs in 1.5 s, not hundreds); the one-shot that
# succeeded is not restarted; the long-running ones started once.
crashes=$(grep -cx crash "$events")
[ "$crashes" -ge 3 ] && [ "$crashes" -le 8 ] || fail "crasher ran $crashes times in 1.5 s (expected 3-8 with backoff; log: $(cat "$TEST_TMP/init.log"))"
assert_eq 1 "$(grep -cx oneshot "$events")" "runs of the one-shot (on-failure, exited 0)"
assert_eq 1 "$(grep -cx start-first "$events")" "starts of first"
# Start order is the order of the forks (services do not wait for each other to be ready).
assert_eq "first second crasher oneshot stubborn" \
    "$(echo $(sed -n 's/^cryo-init: started \([a-z]*\) (pid [0-9]*)$/\1/p' "$TEST_TMP/init.log" | awk '!seen[$0]++'))" "start order"
assert_contains "$(cat "$TEST_TMP/init.log")" "crasher exited with status 1; restarting in 200ms" "backoff in the init's log"

# top: pid 1 is cryo-init in system mode; every running service has a pid inside the
# container, its parent is pid 1, and the host pids are those of `cryo ps`.
run_cmd cryo top --format json "$id"
assert_eq 0 "$STATUS" "top (stderr: $ERR)"
top=$OUT
assert_eq "/dev/.cryo-init --system --services /etc/cryo-init/services" \
    "$(jq -r '.[] | select(.pid == 1) | .command' <<<"$top")" "pid 1 in top"
for name in first second stubborn; do
    ppid=$(jq -r --arg n "start-$name" '.[] | select(.command | contains($n)) | .ppid' <<<"$top")
    assert_eq 1 "$ppid" "parent of service $name inside the container"
done
assert_eq root "$(jq -r '.[] | select(.pid == 1) | .user' <<<"$top")" "user of pid 1"
# (The services' short sleeps come and go between the two listings: compare the others.)
run_cmd cryo ps --format json "$id"
for host_pid in $(jq -r '.[] | select(.command | startswith("sleep") | not) | .host_pid' <<<"$top"); do
    jq -e --argjson p "$host_pid" 'index($p) != null' <<<"$OUT" >/dev/null || fail "host pid $host_pid of top is not in ps: $OUT"
done

# SIGTERM: reverse order (stubborn, oneshot/crasher, second, first); stubborn ignores TERM
# and is killed after its 1 s timeout; the others stop on their own stop signal.
: > "$TEST_TMP/stop-mark"
kill_at=$(date +%s%N)
assert_status 0 cryo kill "$id" TERM
rc=0
wait "$run_pid" || rc=$?
stopped_at=$(date +%s%N)
log=$(cat "$TEST_TMP/init.log")
assert_eq 0 "$rc" "container exit status after SIGTERM (log: $log)"
elapsed_ms=$(((stopped_at - kill_at) / 1000000))
[ "$elapsed_ms" -ge 1000 ] && [ "$elapsed_ms" -lt 5000 ] \
    || fail "shutdown took ${elapsed_ms}ms (expected the 1 s stop timeout of stubborn, then quick stops; log: $log)"
assert_eq "ignored-term stop-second stop-first" "$(echo $(grep -E '^(ignored-term|stop-second|stop-first)$' "$events"))" "stop order"
assert_contains "$log" "stubborn did not stop within 1000ms: SIGKILL"
assert_contains "$log" "stopping second (pid"
assert_contains "$log" "with SIGINT"
assert_contains "$log" "all services stopped"
assert_status 0 cryo delete --force "$id"

# A broken service file stops the container at once with the line that is wrong.
printf '[x]\ncommand = true\nrestart = sometimes\n' > "$bundle/rootfs/etc/cryo-init/services"
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 1 "$STATUS" "exit status with a broken service file"
assert_contains "$ERR" "cryo-init: /etc/cryo-init/services: line 3: restart: \"sometimes\" is not one of no, always, on-failure"

# The file can live elsewhere (run.cryo.init.services); when every service has ended and
# none is to restart, the init exits (status 0: they all succeeded).
printf '[a]\ncommand = /bin/sh -c "echo a-ran > /tmp/a"\n' > "$bundle/rootfs/etc/other-services"
spec_edit "$bundle" '.annotations["run.cryo.init.services"] = "/etc/other-services"'
id=$(new_id)
assert_status 0 cryo run --bundle "$bundle" "$id"
assert_eq a-ran "$(cat "$bundle/rootfs/tmp/a")" "service from run.cryo.init.services"
