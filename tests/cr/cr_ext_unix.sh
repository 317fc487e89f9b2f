#!/bin/bash
# Unix sockets connected to a peer outside the dumped tree (cryo dump --ext-unix-sk, CRIU's
# meaning): a server outside the tree (python3) listens on a stream socket and has a bound
# datagram socket; the workload (tests/cr/cr_ext_unix.c) is connected to both. Without the
# flag the dump is refused naming the socket and the tree runs on; with it, the tree is dumped
# and restored, its sockets connect again to the same names, and traffic goes on through them.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_ext_unix
command -v python3 >/dev/null || { echo "SKIP: needs python3 for the server"; exit 77; }

SOCK=$TMP/server.sock
LOG=$TMP/server.log
mkdir -p "$TMP/server"
python3 "$(dirname "$0")/ext_unix_server.py" "$SOCK" "$LOG" >"$TMP/server/out" 2>&1 &
PIDS+=("$!")
_listening() { grep -q listening "$LOG" 2>/dev/null; }
wait_for 5 _listening || { fail "server did not start: $(cat "$TMP/server/out")"; finish; }

if start ext "$WORKLOAD" "$SOCK"; then
    if err=$("$CRYO" dump -t "$PID" -D "$TMP/ext/refused" 2>&1); then
        fail "dump without --ext-unix-sk succeeded"
    else
        case $err in
        *"process $PID fd"*"outside the tree"*) ok "refused without the flag: $err" ;;
        *) fail "refusal without the flag: $err" ;;
        esac
    fi
    [ -e "/proc/$PID" ] || fail "process $PID gone after the refused dump"
    if dump_restore ext --ext-unix-sk; then
        verify ext
        _after() { grep -q "dgram after" "$LOG"; }
        wait_for 5 _after || fail "server did not get the datagram sent after the restore"
        got=$(grep -v listening "$LOG" | tr '\n' ',')
        # The old connection closed with the dumped tree, a new one came with the restore.
        case $got in
        accept,stream\ before,dgram\ before,closed,accept,stream\ after,dgram\ after,*) ok "server saw: $got" ;;
        *) fail "server saw: $got" ;;
        esac
    fi
fi
finish
