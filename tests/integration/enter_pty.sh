#!/bin/bash
# cryo enter: a shell (or a command) inside a running container on a new pty that cryo
# relays to the caller's terminal; stdin is a tty, `tty` names /dev/pts/N, the exit status
# passes through. Driven from a pty made by python3 (as a person's terminal would be).
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 needed for the pty" >&2; exit 77; }

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sleep 1000
id=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" "$id"

# on_pty INPUT CMD...: runs CMD with a new pty as its stdio, types INPUT, prints everything
# CMD wrote (CRs dropped), then "status=N".
on_pty() {
    python3 - "$@" <<'PY'
import os, pty, sys, time
data = sys.argv[1].encode()
pid, master = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out = b""
sent = False
deadline = time.time() + 20
while time.time() < deadline:
    if not sent and data:
        time.sleep(0.3)
        os.write(master, data)
        sent = True
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.replace(b"\r", b"").decode(errors="replace"))
print("status=%d" % os.waitstatus_to_exitcode(status))
PY
}

# A command: its stdio is a pty inside the container.
out=$(on_pty "" "$CRYO" --root "$ROOT" enter "$id" sh -c 'tty; [ -t 0 ] && echo stdin-is-tty; echo term=$TERM; exit 5')
assert_contains "$out" "/dev/pts/" "tty inside"
assert_contains "$out" "stdin-is-tty"
assert_contains "$out" "status=5" "exit status of the entered command"
case $out in *"not a tty"*) fail "tty says not a tty: $out" ;; esac

# The default: an interactive /bin/sh reading what is typed on the terminal.
out=$(TERM=xterm-test on_pty 'echo hello-$((6*7)) $TERM; tty; exit 4
' "$CRYO" --root "$ROOT" enter "$id")
assert_contains "$out" "hello-42 xterm-test" "typed command ran in the shell, TERM passed in"
assert_contains "$out" "/dev/pts/" "the shell's tty"
assert_contains "$out" "status=4" "exit status of the shell"

# It really is inside: the container's hostname and pid namespace.
out=$(on_pty "" "$CRYO" --root "$ROOT" enter "$id" sh -c 'hostname; cat /proc/1/comm')
assert_contains "$out" "$TEST_HOSTNAME"
assert_contains "$out" "sleep"

assert_fails_with "does not exist" cryo enter "$TEST_TAG-nosuch"
assert_status 0 cryo delete --force "$id"
