#!/bin/bash
# --init with process.terminal: cryo-init makes its child the foreground process group of
# the container's pty, so ^C typed on the terminal (relayed by a foreground `cryo run`)
# reaches the process as SIGINT, not the init; the process's status is the container's.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 needed for the pty" >&2; exit 77; }

bundle=$TEST_TMP/bundle
# /proc/self/stat: field 5 is the process group, 8 the terminal's foreground group.
make_bundle "$bundle" sh -c 'trap "echo got-INT; exit 9" INT; awk "{print (\$5 == \$8) ? \"foreground=yes\" : \"foreground=no\"}" /proc/$$/stat; echo ready; while :; do sleep 0.05; done'
spec_edit "$bundle" '.process.terminal = true'
id=$(new_id)

out=$(python3 - "$CRYO" --root "$ROOT" run --init --bundle "$bundle" "$id" <<'PY'
import os, pty, sys, time
pid, master = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
sent = False
deadline = time.time() + 20
while time.time() < deadline:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not sent and b"ready" in out:
        os.write(master, b"\x03") # ^C
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.replace(b"\r", b"").decode(errors="replace"))
print("status=%d" % os.waitstatus_to_exitcode(status))
PY
)
assert_contains "$out" "foreground=yes" "the process's group is the terminal's foreground group"
assert_contains "$out" "got-INT" "^C reached the process"
assert_contains "$out" "status=9" "container status after ^C"
