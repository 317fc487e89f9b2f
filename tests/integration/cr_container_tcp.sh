#!/bin/bash
# Established TCP connections in a container (tests/cr/cr_tcp.c, built static into the
# rootfs, as the container's init): a server and its child client connected over the
# container's own loopback, with unread data queued both ways, plus IPv4 and IPv6 listeners.
# checkpoint without --tcp-established is refused in one line naming the flag and the
# container runs on; with it the image is written; restore (the container's network
# namespace is restored first and cryo re-creates the sockets inside it with TCP_REPAIR):
# on SIGUSR1 both sides find their queued data, exchange new data and the listeners accept.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
# The workload brings the namespace's loopback up itself (CAP_NET_ADMIN), as a container
# runtime's network setup would.
make_bundle "$bundle" sh -c 'ip link set lo up && exec /cr_tcp'
spec_edit "$bundle" '.process.capabilities |= with_entries(.value += ["CAP_NET_ADMIN"])'
gcc -static -O1 -o "$bundle/rootfs/cr_tcp" "$CRYO_SOURCE/tests/cr/cr_tcp.c" || fail "cannot build cr_tcp"
[ "$(jq -r '.linux.namespaces[] | select(.type == "network") | .type' "$bundle/config.json")" = network ] \
    || fail "the bundle has no network namespace of its own"
out=$TEST_TMP/out.log
id=$(new_id)
defer "cryo delete --force $id >/dev/null 2>&1 || true"
cryo run -d --bundle "$bundle" "$id" </dev/null >>"$out" 2>&1 || fail "run -d: $(cat "$out")"
ready() { grep -q '^child ready' "$out" && grep -q '^ready ' "$out"; }
ready_or_gone() { ready || [ "$(container_status "$id")" != running ]; }
wait_until 10 ready_or_gone
ready || fail "workload not ready: $(cat "$out")"
host_pid=$(container_pid "$id")
[ "$(readlink "/proc/$host_pid/ns/net")" != "$(readlink /proc/self/ns/net)" ] || fail "the container shares the host's network namespace"

image=$TEST_TMP/image
assert_fails_with "tcp-established" cryo checkpoint --image-path "$image" "$id"
assert_eq running "$(container_status "$id")" "status after a refused checkpoint"
[ ! -e "$image" ] || fail "a refused checkpoint left an image"

run_cmd cryo checkpoint --tcp-established --image-path "$image" "$id"
assert_eq 0 "$STATUS" "checkpoint --tcp-established (stderr: $ERR)"
assert_eq stopped "$(container_status "$id")" "status after checkpoint"
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"

# The restored init's stdio is the restore's: the same log.
cryo restore -d --tcp-established --image-path "$image" --bundle "$bundle" "$id" </dev/null >>"$out" 2>&1 \
    || fail "restore --tcp-established: $(tail -n 3 "$out")"
host_pid=$(container_pid "$id")
# The sockets are the container's, not the host's: ss inside its namespace sees them.
nsenter -t "$host_pid" -n ss -tanH | grep -q ESTAB || fail "no established connection in the container's namespace: $(nsenter -t "$host_pid" -n ss -tan)"
run_cmd cryo kill "$id" USR1
assert_eq 0 "$STATUS" "kill USR1 (stderr: $ERR)"
verified() { grep -q '^verify ' "$out" && grep -q '^child verify ' "$out"; }
verified_or_gone() { verified || [ "$(container_status "$id")" != running ]; }
wait_until 10 verified_or_gone
verified || fail "no verdict after restore: $(cat "$out")"
grep -q '^child verify ok' "$out" || fail "client after restore: $(cat "$out")"
grep -q '^verify ok' "$out" || fail "server after restore: $(cat "$out")"
grep -q FAIL "$out" && fail "checks failed: $(grep FAIL "$out")"
wait_status "$id" stopped 10
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"
