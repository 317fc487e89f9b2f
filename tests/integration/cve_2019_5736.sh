#!/bin/bash
# CVE-2019-5736: a process in the container must not be able to open the runtime's binary for
# writing through /proc/PID/exe. The container's /evil is "#!/proc/self/exe", so `cryo exec
# ID /evil` makes the kernel run the runtime binary itself inside the container; a watcher
# (helpers/exe_attacker.c) grabs every new process's exe and tries to reopen it for writing.
# Passes if no write-open reaches the host binary and its checksum is unchanged.
. "$(dirname "$0")/lib.sh"

command -v cc >/dev/null || fail "cc not found (g++ pulls in gcc)"
bundle=$TEST_TMP/bundle
make_bundle "$bundle" /exe_attacker
cc -static -O2 -o "$bundle/rootfs/exe_attacker" "$CRYO_SOURCE/tests/integration/helpers/exe_attacker.c" \
    || fail "cannot build the attacker"
printf '#!/proc/self/exe\n' > "$bundle/rootfs/evil"
chmod 755 "$bundle/rootfs/evil"
# The host files whose modification would be the escape: the runtime and its siblings
# (a cryo-init next to it, for instance).
for f in "$CRYO" "$(dirname "$CRYO")"/*; do
    if [ -f "$f" ] && [ -x "$f" ]; then stat -L -c '%d:%i' "$f"; fi
done | sort -u | head -n 16 > "$bundle/rootfs/target.ids"
# Positive control: a copy of busybox run inside the container, whose exe the watcher can
# reopen for writing once it exits; if it is never caught, the watcher proves nothing.
# (Named sleep: busybox picks its applet from argv[0].)
mkdir "$bundle/rootfs/victim"
cp "$bundle/rootfs/bin/busybox" "$bundle/rootfs/victim/sleep"
stat -c '%d:%i' "$bundle/rootfs/victim/sleep" > "$bundle/rootfs/control.ids"
sum_before=$(sha256sum < "$CRYO")

id=$(new_id)
run_cmd cryo run -d --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run -d (stderr: $ERR)"
wait_until 10 test -e "$bundle/rootfs/tmp/ready"
for i in 1 2 3 4 5 6 7 8; do
    # The runtime binary runs as the interpreter of /evil; whatever it prints or returns
    # does not matter, only whether the watcher could write-open it. It may also wait for
    # input that never comes (it is not meant to run that way): 3 s is plenty for the race.
    timeout --foreground -s KILL 3 "$CRYO" --root "$ROOT" exec "$id" /evil </dev/null >/dev/null 2>&1 || true
    timeout 20 "$CRYO" --root "$ROOT" exec "$id" /bin/sh -c 'sleep 0.05' </dev/null >/dev/null 2>&1 || true
done
timeout 20 "$CRYO" --root "$ROOT" exec "$id" /victim/sleep 0.3 </dev/null >/dev/null 2>&1 || true
sleep 0.2
touch "$bundle/rootfs/tmp/stop"
wait_status "$id" stopped 20
report=$(cat "$bundle/rootfs/tmp/attack.log")
log "$(head -n 1 <<<"$report")"
summary=$(head -n 1 <<<"$report")
assert_contains "$summary" "vulnerable=0" "attack result ($report)"
seen=$(sed -n 's/^seen=\([0-9]*\).*/\1/p' <<<"$summary")
[ "$seen" -ge 8 ] || fail "the watcher saw only $seen exec'd processes: the race was not exercised ($report)"
control=$(sed -n 's/.* control=\([0-9]*\).*/\1/p' <<<"$summary")
[ "$control" -ge 1 ] || fail "the watcher did not catch the control binary: it could not catch the attack either ($report)"
assert_eq "$sum_before" "$(sha256sum < "$CRYO")" "checksum of $CRYO"
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"
