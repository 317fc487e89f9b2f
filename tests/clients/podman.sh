#!/bin/bash
# podman 4.3 from Debian drives cryo as its OCI runtime (`podman --runtime <cryo>`): run --rm
# with output and exit status, run -d + exec + stop + rm, on a busybox image imported locally.
# podman calls: create --bundle --pid-file (with --log-format=json --log FILE), start,
# exec --process --detach, kill, delete --force.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/clients.bash"

install_clients podman
setup_podman
import_busybox_image localhost/bb

run_cmd podman run --rm --network none localhost/bb sh -c 'echo "hello from $(hostname)"; echo "pid=$$"; id -u'
assert_eq 0 "$STATUS" "podman run --rm (stderr: $ERR)"
assert_contains "$OUT" "hello from" "podman run output"
assert_contains "$OUT" "pid=1" "pid 1 in a podman container"

run_cmd podman run --rm --network none localhost/bb sh -c 'exit 3'
assert_eq 3 "$STATUS" "exit status through podman run --rm (stderr: $ERR)"

name=$TEST_TAG-web
run_cmd podman run -d --network none --name "$name" localhost/bb sleep 1000
assert_eq 0 "$STATUS" "podman run -d (stderr: $ERR)"
cid=$OUT
watch_for_leaks "$cid"
[ ${#cid} = 64 ] || fail "podman run -d printed no container id: $OUT"
assert_eq running "$(podman inspect -f '{{.State.Status}}' "$name")" "podman status after run -d"
run_cmd podman exec "$name" sh -c 'echo "exec in $(hostname) as $(id -u)"; cat /proc/1/cmdline | tr "\0" " "'
assert_eq 0 "$STATUS" "podman exec (stderr: $ERR)"
assert_contains "$OUT" "exec in" "podman exec output"
assert_contains "$OUT" "sleep 1000" "podman exec sees the container's pid 1"
run_cmd podman exec "$name" sh -c 'exit 4'
assert_eq 4 "$STATUS" "exit status through podman exec"
run_cmd podman top "$name" pid args
assert_eq 0 "$STATUS" "podman top (stderr: $ERR)"
run_cmd podman pause "$name"
assert_eq 0 "$STATUS" "podman pause (stderr: $ERR)"
assert_eq paused "$(podman inspect -f '{{.State.Status}}' "$name")" "podman status after pause"
run_cmd podman unpause "$name"
assert_eq 0 "$STATUS" "podman unpause (stderr: $ERR)"
# sleep as pid 1 ignores SIGTERM: podman sends 15, then 9 after the timeout, then delete --force.
run_cmd podman stop -t 1 "$name"
assert_eq 0 "$STATUS" "podman stop (stderr: $ERR)"
assert_eq exited "$(podman inspect -f '{{.State.Status}}' "$name")" "podman status after stop"
run_cmd podman rm "$name"
assert_eq 0 "$STATUS" "podman rm (stderr: $ERR)"
[ ! -e "/run/cryo/$cid" ] || fail "cryo state for $cid left after podman rm"
