#!/bin/bash
# --init (wrap mode): cryo-init is pid 1 from a read-only bind mount, the process runs under
# it; orphans are reaped, signals reach the process's group, the exit status passes through
# (128+N when killed by signal N); a missing binary is one clear error line.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'exit 7'

# Exit status passthrough; pid 1 is cryo-init, mounted read-only, and the rootfs is untouched.
id=$(new_id)
assert_status 7 cryo run --init --bundle "$bundle" "$id"
spec_edit "$bundle" '.process.args = ["sh", "-c", "tr \"\\0\" \" \" < /proc/1/cmdline; echo; echo pid=$$; echo hi 2>/dev/null > /dev/.cryo-init; echo write-status=$?; grep -c \" /dev/.cryo-init .*ro,\" /proc/self/mountinfo"]'
id=$(new_id)
run_cmd cryo run --init --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run --init (stderr: $ERR)"
assert_contains "$OUT" "/dev/.cryo-init -- sh -c" "pid 1's command line"
assert_contains "$OUT" "pid=2" "the process runs as pid 2 under the init"
assert_contains "$OUT" "write-status=1" "writing the init binary inside fails"
assert_eq 1 "$(printf '%s\n' "$OUT" | tail -n 1)" "one read-only mount of the init"
[ ! -e "$bundle/rootfs/dev/.cryo-init" ] || fail "the rootfs was written: $bundle/rootfs/dev/.cryo-init exists"
[ ! -e "$bundle/rootfs/.cryo-init" ] || fail "the rootfs was written: $bundle/rootfs/.cryo-init exists"

# Killed by a signal: 128 + N.
spec_edit "$bundle" '.process.args = ["sh", "-c", "kill -KILL $$"]'
id=$(new_id)
assert_status 137 cryo run --init --bundle "$bundle" "$id"

# The annotation alone (run.cryo.init=true) asks for the same.
spec_edit "$bundle" '.process.args = ["sh", "-c", "tr \"\\0\" \" \" < /proc/1/cmdline; exit 5"] | .annotations["run.cryo.init"] = "true"'
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 5 "$STATUS" "run with run.cryo.init=true (stderr: $ERR)"
assert_contains "$OUT" "/dev/.cryo-init --" "annotation: pid 1's command line"
spec_edit "$bundle" 'del(.annotations["run.cryo.init"])'

# Orphan reaping: three double-forked sleeps are adopted by pid 1 and reaped when they end:
# no zombie is left inside. Without --init, the same workload under a pid 1 that never
# waits (the control) keeps them as zombies, so the check can see a failure.
workload='for i in 1 2 3; do (sleep 0.3 &); done
sleep 0.1
adopted=0
for f in /proc/[0-9]*/status; do
    [ "$(sed -n "s/^Name:\t//p" $f)" = sleep ] && [ "$(sed -n "s/^PPid:\t//p" $f)" = 1 ] && adopted=$((adopted + 1))
done
echo adopted=$adopted
sleep 0.8
echo zombies=$(grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l)'
spec_edit "$bundle" '.process.args = ["sh", "-c", $w]' --arg w "$workload"
id=$(new_id)
run_cmd cryo run --init --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "orphans under --init (stderr: $ERR)"
assert_contains "$OUT" "adopted=3" "orphans adopted by cryo-init"
assert_contains "$OUT" "zombies=0" "zombies left under cryo-init"
# Control: pid 1 starts the workload and execs sleep, which never waits for children, so
# the adopted orphans stay zombies and the same check reports them.
spec_edit "$bundle" '.process.args = ["sh", "-c", "sh -c \"$W\" > /tmp/control.out & exec sleep 1.5"] | .process.env += ["W=" + $w]' --arg w "$workload"
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
control=$(cat "$bundle/rootfs/tmp/control.out")
assert_contains "$control" "zombies=3" "control without an init (the check sees zombies)"

# Signal forwarding: signals sent to the container (to its pid 1, cryo-init) reach the
# process, which traps them; TERM makes it exit 3, and that is the container's status.
spec_edit "$bundle" '.process.args = ["sh", "-c", "for s in HUP INT QUIT USR1 USR2 WINCH; do trap \"echo $s >> /tmp/signals\" $s; done; trap \"echo TERM >> /tmp/signals; exit 3\" TERM; echo ready > /tmp/ready; while :; do sleep 0.05; done"]'
rm -f "$bundle/rootfs/tmp/signals" "$bundle/rootfs/tmp/ready"
id=$(new_id)
cryo run --init --bundle "$bundle" "$id" >"$TEST_TMP/fg.out" 2>&1 &
run_pid=$!
defer "kill $run_pid 2>/dev/null || true"
wait_until 10 test -e "$bundle/rootfs/tmp/ready"
for sig in HUP INT QUIT USR1 USR2 WINCH; do
    assert_status 0 cryo kill "$id" "$sig"
    wait_until 5 grep -qx "$sig" "$bundle/rootfs/tmp/signals"
done
assert_status 0 cryo kill "$id" TERM
rc=0
wait "$run_pid" || rc=$?
assert_eq 3 "$rc" "container exit status after TERM (output: $(cat "$TEST_TMP/fg.out"))"
assert_eq "HUP INT QUIT USR1 USR2 WINCH TERM" "$(echo $(cat "$bundle/rootfs/tmp/signals"))" "signals the process got"

# The same through the foreground cryo: a signal to `cryo run` goes to the init and on.
rm -f "$bundle/rootfs/tmp/signals" "$bundle/rootfs/tmp/ready"
id=$(new_id)
# The binary itself, not the lib.sh function: $! must be cryo's pid, not a subshell's.
"$CRYO" --root "$ROOT" run --init --bundle "$bundle" "$id" >"$TEST_TMP/fg2.out" 2>&1 &
run_pid=$!
wait_until 10 test -e "$bundle/rootfs/tmp/ready"
kill -USR1 "$run_pid"
wait_until 5 grep -qx USR1 "$bundle/rootfs/tmp/signals"
kill -TERM "$run_pid"
rc=0
wait "$run_pid" || rc=$?
assert_eq 3 "$rc" "exit status after TERM to the foreground cryo (output: $(cat "$TEST_TMP/fg2.out"))"

# No cryo-init binary: one line that names it.
id=$(new_id)
CRYO_INIT=$TEST_TMP/no-such-init assert_fails_with "cryo-init" cryo run --init --bundle "$bundle" "$id"
spec_edit "$bundle" '.annotations["run.cryo.init"] = "maybe"'
id=$(new_id)
assert_fails_with "run.cryo.init" cryo run --bundle "$bundle" "$id"
