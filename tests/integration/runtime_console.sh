#!/bin/bash
# process.terminal: the pty master arrives on --console-socket (SCM_RIGHTS, as runc sends
# it), the slave is the process's stdio and controlling terminal and /dev/console; also for
# exec --tty.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 needed for the console receiver" >&2; exit 77; }

receiver() {
    # receiver SOCKET OUTFILE: accepts one connection, takes the fd, copies the pty output.
    python3 - "$1" "$2" <<'PY' &
import os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
open(out + ".ready", "w").close()
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 1024, 4)
data = b""
deadline = time.time() + 10
while time.time() < deadline:
    try:
        chunk = os.read(fds[0], 4096)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
with open(out, "wb") as f:
    f.write(b"name=" + msg + b"\n" + data.replace(b"\r", b""))
PY
    wait_until 10 test -e "$2.ready"
}

bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'tty; [ -t 0 ] && echo stdin-is-tty; ls -l /dev/console | cut -c1; exit 4'
spec_edit "$bundle" '.process.terminal = true'
id=$(new_id)
receiver "$TEST_TMP/console.sock" "$TEST_TMP/console.out"
# Detached (as runc requires with a console socket): create + start, then read the output.
assert_status 0 cryo create --console-socket "$TEST_TMP/console.sock" --bundle "$bundle" "$id"
assert_status 0 cryo start "$id"
wait
wait_status "$id" stopped
assert_status 0 cryo delete "$id"
out=$(cat "$TEST_TMP/console.out")
assert_contains "$out" "name=/dev/ptmx"
assert_contains "$out" "/dev/pts/0"
assert_contains "$out" "stdin-is-tty"
assert_contains "$out" "c" "/dev/console is a character device"

# Without a console socket a terminal cannot be handed to anyone.
id=$(new_id)
assert_fails_with "console socket" cryo create --bundle "$bundle" "$id"

# exec --tty into a running container.
spec_edit "$bundle" '.process.terminal = false | .process.args = ["sleep", "100"]'
id=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" "$id"
receiver "$TEST_TMP/exec.sock" "$TEST_TMP/exec.out"
assert_status 0 cryo exec -d --tty --console-socket "$TEST_TMP/exec.sock" "$id" sh -c 'tty'
wait
assert_contains "$(cat "$TEST_TMP/exec.out")" "/dev/pts/"
assert_status 0 cryo delete --force "$id"
