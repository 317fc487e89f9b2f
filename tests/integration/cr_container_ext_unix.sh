#!/bin/bash
# A container whose init (tests/cr/cr_ext_unix.c, built static into the rootfs) is connected
# to a stream listener and a bound datagram socket of a server on the host (python3), through
# a bind mount, from the container's own network namespace (the engine asks sock_diag in the
# container's namespace, and in its own for the outside peer): checkpoint without
# --ext-unix-sk is refused naming the flag and the container runs on; with it, the image is written and the restore (runc's flag accepted) connects new
# sockets to the same names; on SIGUSR1 the init talks to the server again through them.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: needs python3 for the server"; exit 77; }

ext=$TEST_TMP/ext
mkdir -p "$ext"
log=$ext/server.log
python3 "$CRYO_SOURCE/tests/cr/ext_unix_server.py" "$ext/server.sock" "$log" >"$TEST_TMP/server.out" 2>&1 &
server=$!
defer "kill $server 2>/dev/null || true"
listening() { grep -q listening "$log" 2>/dev/null; }
wait_until 5 listening || fail "server did not start: $(cat "$TEST_TMP/server.out")"

bundle=$TEST_TMP/bundle
make_bundle "$bundle" /cr_ext_unix /ext/server.sock
# A network namespace of its own (the peer, in the host's, is reached through the path).
spec_edit "$bundle" '.mounts += [{destination: "/ext", type: "bind", source: $src, options: ["rbind", "rw"]}]
    | .linux.namespaces |= (map(select(.type != "network")) + [{type: "network"}])' --arg src "$ext"
gcc -static -O1 -o "$bundle/rootfs/cr_ext_unix" "$CRYO_SOURCE/tests/cr/cr_ext_unix.c" || fail "cannot build cr_ext_unix"
out=$TEST_TMP/out.log
id=$(new_id)
defer "cryo delete --force $id >/dev/null 2>&1 || true"
cryo run -d --bundle "$bundle" "$id" </dev/null >>"$out" 2>&1 || fail "run -d: $(cat "$out")"
ready_or_gone() { grep -q '^ready ' "$out" || [ "$(container_status "$id")" != running ]; }
wait_until 10 ready_or_gone
grep -q '^ready ' "$out" || fail "workload not ready: $(cat "$out")"
init=$(cryo state "$id" | jq -r .pid)
[ "$(readlink "/proc/$init/ns/net")" != "$(readlink /proc/self/ns/net)" ] \
    || fail "the container shares the host's network namespace"

image=$TEST_TMP/image
assert_fails_with "ext-unix-sk" cryo checkpoint --image-path "$image" "$id"
assert_eq running "$(container_status "$id")" "status after a refused checkpoint"
[ ! -e "$image" ] || fail "a refused checkpoint left an image"

run_cmd cryo checkpoint --ext-unix-sk --image-path "$image" "$id"
assert_eq 0 "$STATUS" "checkpoint --ext-unix-sk (stderr: $ERR)"
assert_eq stopped "$(container_status "$id")" "status after checkpoint"
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"

cryo restore -d --ext-unix-sk --image-path "$image" --bundle "$bundle" "$id" </dev/null >>"$out" 2>&1 \
    || fail "restore --ext-unix-sk: $(tail -n 3 "$out")"
run_cmd cryo kill "$id" USR1
assert_eq 0 "$STATUS" "kill USR1 (stderr: $ERR)"
verified_or_gone() { grep -q '^verify ' "$out" || grep -q '^FAIL' "$out" || [ "$(container_status "$id")" != running ]; }
wait_until 10 verified_or_gone
grep -q '^verify ok' "$out" || fail "no verdict after restore: $(cat "$out")"
after_dgram() { grep -q "dgram after" "$log"; }
wait_until 5 after_dgram || fail "server did not get the datagram sent after the restore: $(cat "$log")"
assert_eq "listening,accept,stream before,dgram before,closed,accept,stream after,dgram after," \
    "$(head -n 8 "$log" | tr '\n' ',')" "what the server saw"
wait_status "$id" stopped 10
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete (stderr: $ERR)"
