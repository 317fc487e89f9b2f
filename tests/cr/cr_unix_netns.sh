#!/bin/bash
# Unix sockets of a tree living in a network namespace of its own (as in a container): the
# engine asks sock_diag about them in the tree's namespace (it used to ask in its own and
# refuse every one). tests/cr/cr_files (unix socketpairs of the three types with queued data,
# listening sockets on a path and an abstract name, and the rest of its files), started under
# `unshare -n`, is dumped and restored (a bare tree comes back in cryo's namespace) and
# verifies everything; in tree mode its child shares them. A listener with a connection
# waiting in its accept queue, in its own namespace, is found there (not a sock_diag miss),
# and the connection waits in it again after restore (tests/cr/cr_unix_pending.sh has more).
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_files
command -v unshare >/dev/null || { echo "SKIP: needs unshare"; exit 77; }

in_own_netns() { [ "$(readlink "/proc/$1/ns/net")" != "$(readlink /proc/self/ns/net)" ]; }

for mode in single tree; do
    name=netns-$mode
    mkdir -p "$TMP/$name/w"
    arg=
    [ $mode = tree ] && arg=tree
    start "$name" unshare -n "$WORKLOAD" "$TMP/$name/w" $arg || continue
    in_own_netns "$PID" || { fail "$name: workload not in a network namespace of its own"; continue; }
    child=
    [ $mode = tree ] && { child=$(cat /proc/$PID/task/$PID/children | tr -d ' '); PIDS+=("$child"); }
    if ! "$CRYO" dump -t "$PID" -D "$TMP/$name/img" 2>"$TMP/$name/dump.err"; then
        fail "$name: dump: $(cat "$TMP/$name/dump.err")"
        continue
    fi
    { wait "$PID"; } 2>/dev/null
    gone "$PID" || fail "$name: $PID still there after dump"
    [ -n "$child" ] && { gone "$child" || fail "$name: child $child still there after dump"; }
    n=$("$CRYO" checkpoint inspect "$TMP/$name/img" --format json | grep -o 'unix' | wc -l)
    [ "$n" -gt 0 ] || fail "$name: inspect shows no unix socket"
    if "$CRYO" restore -D "$TMP/$name/img" -d 2>"$TMP/$name/restore.err"; then
        verify "$name" "$PID"
        [ -z "$child" ] || grep -q "^child verify ok" "$TMP/$name/out" || fail "$name child: $(cat "$TMP/$name/out")"
    else
        fail "$name: restore: $(cat "$TMP/$name/restore.err")"
    fi
done

# A connection waiting in a listener's accept queue (python3 holds both ends), in the tree's
# own namespace: found there (not a sock_diag miss), dumped, and waiting again after restore.
if command -v python3 >/dev/null; then
    mkdir -p "$TMP/pending"
    cat >"$TMP/pending/p.py" <<'PY'
import os, signal, socket, sys
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(sys.argv[1])
listener.listen(4)
client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
client.connect(sys.argv[1])
a, b = socket.socketpair()
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
print("ready", os.getpid(), flush=True)
signal.sigwait([signal.SIGUSR1])
listener.settimeout(2)
server, _ = listener.accept()
client.sendall(b"ping")
server.sendall(server.recv(4)[::-1])
print("verify ok" if client.recv(4) == b"gnip" else "verify failed", flush=True)
PY
    if start pending unshare -n python3 "$TMP/pending/p.py" "$TMP/pending/l.sock"; then
        in_own_netns "$PID" || fail "pending: not in a network namespace of its own"
        if "$CRYO" dump -t "$PID" -D "$TMP/pending/img" 2>"$TMP/pending/err"; then
            { wait "$PID"; } 2>/dev/null
            gone "$PID" || fail "pending: $PID still there after dump"
            "$CRYO" checkpoint inspect "$TMP/pending/img" | grep -q "listening on $TMP/pending/l.sock, 1 pending connection: process $PID fd" \
                || fail "pending: inspect: $("$CRYO" checkpoint inspect "$TMP/pending/img" 2>&1)"
            if "$CRYO" restore -D "$TMP/pending/img" -d 2>"$TMP/pending/err"; then
                verify pending
            else
                fail "pending: restore: $(cat "$TMP/pending/err")"
            fi
        else
            fail "pending: dump: $(cat "$TMP/pending/err")"
        fi
    fi
fi

finish
