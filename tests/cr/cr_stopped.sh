#!/bin/bash
# A process dumped in a group stop (SIGSTOP/SIGTSTP: state T) is restored stopped, as CRIU does:
# the image's process keeps `task.stopped` {signal}, restore queues SIGSTOP before it lets the
# threads go, and SIGCONT makes it go on as a real stop would.
#   single   tests/cr/cr_memory stopped with SIGSTOP, dumped (kill), `checkpoint inspect` shows it
#            stopped; restored: state T, no heartbeat while stopped; after SIGCONT it beats
#            again and its memory verifies.
#   tree     tests/cr/cr_tree with child A (own process group, child B) stopped by SIGTSTP (its
#            group is not orphaned: its parent, in another group of the session, keeps it so;
#            the workloads of `single` are alone in their session, where SIGTSTP is discarded):
#            only A is recorded stopped, with SIGTSTP; restored, A is T (by SIGSTOP), its
#            running parent, B and C beat; after SIGCONT to A the whole tree verifies (the
#            parents reap their children normally).
#   parent   a python3 parent that logs every waitpid(WUNTRACED|WCONTINUED) report of its
#            stopped child: the original logs the stop once; restored (parent blocked in
#            wait4 again, child T), exactly one more stop report (the kernel's for the
#            restore's SIGSTOP: the one it collected before the dump is not known to the
#            image), then 'continued' after SIGCONT and the exit status after SIGKILL.
#   leave    dump --leave-running of the stopped cr_memory: the original is still T afterwards
#            (and beats no more), goes on and verifies after SIGCONT; its image restores T.
#   older    the image of a stopped process with the key taken out (what cryo wrote before the
#            key existed), manifest checksums recomputed as docs/checkpoint-image.md
#            "Integrity" says: restored running, as before.
#   running  a process never stopped has no `stopped` key and is restored running.
#   continued  SIGCONT reaches the stopped cr_memory (256 MiB) after the dump has seized it,
#            while its pages are copied: the kernel ends the group stop at once (the original
#            would run on once let go), so the image records it running (freeze.h
#            recheck_group_stops; the --debug log says so, which shows the SIGCONT came between
#            the seize and the recheck: up to 3 tries); the restored process runs and verifies.
#   continued-leave  the same with --leave-running (CRYO_DUMP_SNAPSHOT=0: every page copied
#            while frozen): the original runs on, untraced, and verifies; its image restores running.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_memory
MEMORY=$WORKLOAD
workload cr_tree
TREE=$WORKLOAD
command -v jq >/dev/null || { fail "jq is needed"; finish; }
command -v python3 >/dev/null || { fail "python3 is needed"; finish; }

state_of() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null; }
_state_is() { [ "$(state_of "$1")" = "$2" ]; }
beats() { wc -l <"$1" 2>/dev/null || echo 0; }
# dump_kill_restore NAME: dump_restore (lib.sh), the workload (this shell's job, which the dump
# kills) disowned first so that bash prints no job notice for it.
dump_kill_restore() {
    local name=$1 p
    disown "${READY[1]}" 2>/dev/null
    "$CRYO" dump -t "${READY[1]}" -D "$TMP/$name/img" || { fail "$name: dump failed"; return 1; }
    for p in "${READY[@]:1}"; do gone "$p" || { fail "$name: pid $p still there after dump"; return 1; }; done
    "$CRYO" restore -D "$TMP/$name/img" -d || { fail "$name: restore failed"; return 1; }
}
# blank FILE: FILE's bytes made newlines in place (same size): a restored workload writes at its
# dump-time offset, so the original's verdict must not be found there.
blank() { head -c "$(stat -c %s "$1")" /dev/zero | tr '\0' '\n' 1<>"$1"; }

# stopped_signal IMG PID: the image's task.stopped.signal of PID (null if not stopped).
stopped_signal() {
    "$CRYO" checkpoint inspect "$1" --format json | jq -r ".processes[] | select(.pid == $2) | .task.stopped.signal"
}

# expect_stopped NAME PID BEATFILE: PID enters (and stays in) state T, beating no more.
expect_stopped() {
    local name=$1 pid=$2 file=$3 b1 b2
    if ! wait_for 3 _state_is "$pid" T; then
        fail "$name: pid $pid is in state $(state_of "$pid") after restore, expected T (stopped)"
        return 1
    fi
    b1=$(beats "$file"); sleep 0.3; b2=$(beats "$file")
    if [ "$b1" != "$b2" ] || ! _state_is "$pid" T; then
        fail "$name: pid $pid beats while stopped ($b1 -> $b2, state $(state_of "$pid"))"
        return 1
    fi
    ok "$name: pid $pid stopped (state T, no heartbeat)"
}

# expect_running NAME PID BEATFILE: PID runs and beats.
expect_running() {
    local name=$1 pid=$2 file=$3 b1 b2
    sleep 0.05
    b1=$(beats "$file"); sleep 0.3; b2=$(beats "$file")
    if [ "$b2" -gt "$b1" ] && ! _state_is "$pid" T; then
        ok "$name: pid $pid runs ($b1 -> $b2 beats, state $(state_of "$pid"))"
    else
        fail "$name: pid $pid does not run (state $(state_of "$pid"), $b1 -> $b2 beats)"
        return 1
    fi
}

# stop_memory NAME SIGNAL [MIB]: cr_memory (MIB, default 8 MiB) started and stopped with
# SIGNAL (state T).
stop_memory() {
    start "$1" "$MEMORY" "${3:-8}" "$TMP/$1/beat" || return 1
    kill "-$2" "$PID"
    wait_for 2 _state_is "$PID" T || { fail "$1: workload not stopped by SIG$2"; return 1; }
}

# restored_memory NAME: after a restore of a stopped cr_memory: T, then SIGCONT, beats, verifies.
restored_memory() {
    local name=$1
    expect_stopped "$name" "$PID" "$TMP/$name/beat" || return 1
    kill -CONT "$PID"
    expect_running "$name" "$PID" "$TMP/$name/beat" && verify "$name" "$PID"
}

# inspect_shows NAME SIG: the text of `checkpoint inspect` shows the stop by SIG.
inspect_shows() {
    local line
    line=$("$CRYO" checkpoint inspect "$TMP/$1/img" | grep 'stopped:' | sed 's/^ *//')
    [[ $line == "stopped: group stop by SIG$2 "* ]] && ok "$1: inspect: $line" || fail "$1: inspect shows [$line]"
}

# single: dump (kill) of a stopped process, restore, SIGCONT.
name=single
if stop_memory $name STOP && dump_kill_restore $name; then
    got=$(stopped_signal "$TMP/$name/img" "$PID")
    [ "$got" = "$(kill -l STOP)" ] && ok "$name: image keeps stopped.signal $got" || fail "$name: image stopped.signal is $got"
    inspect_shows $name STOP
    restored_memory $name
fi

# tree: a stopped child under a running parent.
name=tree
if start "$name" "$TREE" "$TMP"; then
    ROOT=${READY[1]} A=${READY[2]} C=${READY[3]}
    B=$(cat /proc/$A/task/$A/children | tr -d ' ')
    PIDS+=("$B")
    kill -TSTP "$A"
    if wait_for 2 _state_is "$A" T && dump_kill_restore $name; then
        for p in "$ROOT" "$B" "$C"; do
            got=$(stopped_signal "$TMP/$name/img" "$p")
            [ "$got" = null ] || fail "$name: running pid $p recorded stopped ($got)"
        done
        got=$(stopped_signal "$TMP/$name/img" "$A")
        [ "$got" = "$(kill -l TSTP)" ] && ok "$name: child A recorded stopped by $got" || fail "$name: child A recorded stopped by $got"
        inspect_shows $name TSTP
        expect_stopped "$name" "$A" "$TMP/beat-a"
        expect_running "$name" "$ROOT" "$TMP/beat-root"
        expect_running "$name" "$B" "$TMP/beat-b"
        expect_running "$name" "$C" "$TMP/beat-c"
        kill -CONT "$A"
        expect_running "$name" "$A" "$TMP/beat-a"
        verify "$name" "$ROOT"
        for role in a b c; do
            grep -q "^ok" "$TMP/result-$role" 2>/dev/null && ok "$name: $role: $(cat "$TMP/result-$role")" \
                || fail "$name: $role: $(cat "$TMP/result-$role" 2>/dev/null)"
        done
    else
        fail "$name: child A not stopped, or dump/restore failed"
    fi
fi

# parent: the stop reports a waiting parent gets.
name=parent
mkdir -p "$TMP/$name"
cat >"$TMP/$name/parent.py" <<'EOF'
import os, sys, time
log = open(sys.argv[1], "a", buffering=1)
child = os.fork()
if child == 0:
    while True:
        time.sleep(0.02)
print("ready", os.getpid(), child, flush=True)
while True:
    pid, st = os.waitpid(child, os.WUNTRACED | os.WCONTINUED)
    if os.WIFSTOPPED(st):
        log.write("stopped %d\n" % os.WSTOPSIG(st))
    elif os.WIFCONTINUED(st):
        log.write("continued\n")
    else:
        log.write("status %d\n" % st)
        break
EOF
reports() { tr '\n' ',' <"$TMP/$name/log" 2>/dev/null; }
_reports_are() { [ "$(reports)" = "$1" ]; }
if start $name python3 "$TMP/$name/parent.py" "$TMP/$name/log"; then
    P=${READY[1]} CH=${READY[2]}
    kill -STOP "$CH"
    if wait_for 2 _reports_are "stopped 19," && dump_kill_restore $name; then
        wait_for 3 _state_is "$CH" T || fail "$name: child in state $(state_of "$CH") after restore, expected T"
        sleep 0.3
        [ "$(reports)" = "stopped 19,stopped 19," ] && ok "$name: one stop report from the restore: $(reports)" \
            || fail "$name: parent's reports after restore: $(reports)"
        kill -CONT "$CH"
        wait_for 2 _reports_are "stopped 19,stopped 19,continued," && ok "$name: continued reported" \
            || fail "$name: parent's reports after SIGCONT: $(reports)"
        kill -9 "$CH"
        wait_for 2 _reports_are "stopped 19,stopped 19,continued,status 9," && finished "$P" \
            && ok "$name: parent reaped its restored child: $(reports)" || fail "$name: parent's reports: $(reports)"
    else
        fail "$name: no stop report before the dump ($(reports)), or dump/restore failed"
    fi
fi

# leave: --leave-running keeps the original stopped; its image restores stopped.
name=leave
if stop_memory $name STOP; then
    if "$CRYO" dump -t "$PID" -D "$TMP/$name/img" --leave-running; then
        expect_stopped "$name (original)" "$PID" "$TMP/$name/beat"
        [ "$(stopped_signal "$TMP/$name/img" "$PID")" = "$(kill -l STOP)" ] || fail "$name: image not stopped"
        grep -q TracerPid:.0 /proc/$PID/status || fail "$name: original still traced"
        kill -CONT "$PID"
        expect_running "$name (original)" "$PID" "$TMP/$name/beat"
        verify "$name" "$PID"
        { wait "$PID"; } 2>/dev/null
        gone "$PID" || fail "$name: original still there"
        # The restored process writes its verdict at the dump's file offset: clear the
        # original's, so only the restored one's can be found.
        blank "$TMP/$name/out"
        "$CRYO" restore -D "$TMP/$name/img" -d && restored_memory $name || fail "$name: restore failed"
    else
        fail "$name: dump --leave-running failed"
    fi
fi

# older: the same image without the key restores running.
# reseal IMG FILE: recomputes FILE's size and CRC-32C in the manifest and the manifest's own
# checksum (docs/checkpoint-image.md "Integrity").
reseal() {
    python3 - "$1" "$2" <<'EOF'
import json, os, sys
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF
assert crc32c(b"123456789") == 0xE3069283
img, name = sys.argv[1], sys.argv[2]
data = open(os.path.join(img, name), "rb").read()
path = os.path.join(img, "manifest.json")
manifest = json.load(open(path))
manifest["files"][name]["size"] = len(data)
manifest["files"][name]["crc32c"] = "%08x" % crc32c(data)
manifest.pop("checksum", None)
text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False)
manifest["checksum"] = "%08x" % crc32c(text.encode())
open(path, "w").write(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
EOF
}
name=older
if stop_memory $name STOP; then
    if "$CRYO" dump -t "$PID" -D "$TMP/$name/img" --leave-running; then
        kill -CONT "$PID"
        verify "$name" "$PID"
        { wait "$PID"; } 2>/dev/null
        gone "$PID" || fail "$name: original still there"
        meta="process-$PID.json"
        python3 -c 'import json, sys
p = sys.argv[1]
j = json.load(open(p))
assert j["task"].pop("stopped")["signal"] == 19
open(p, "w").write(json.dumps(j, indent=2))' "$TMP/$name/img/$meta" || fail "$name: no stopped key to take out"
        reseal "$TMP/$name/img" "$meta" || fail "$name: reseal failed"
        [ "$(stopped_signal "$TMP/$name/img" "$PID")" = null ] && ok "$name: key taken out, image still valid" \
            || fail "$name: key still there, or the image is refused"
        blank "$TMP/$name/out"
        if "$CRYO" restore -D "$TMP/$name/img" -d; then
            expect_running "$name" "$PID" "$TMP/$name/beat" && verify "$name" "$PID"
        else
            fail "$name: restore of the image without the key failed"
        fi
    else
        fail "$name: dump --leave-running failed"
    fi
fi

# running: never stopped, no key, restored running.
name=running
if start "$name" "$MEMORY" 8 "$TMP/$name/beat" && dump_kill_restore $name; then
    "$CRYO" checkpoint inspect "$TMP/$name/img" --format json | jq -e '.processes[0].task | has("stopped") | not' >/dev/null \
        && ok "$name: no stopped key" || fail "$name: a running process recorded stopped"
    expect_running "$name" "$PID" "$TMP/$name/beat" && verify "$name" "$PID"
fi

# continued_case NAME [DUMP FLAGS...]: SIGCONT while the dump holds the stopped process. With
# --leave-running, the original runs on after the dump and is then verified and gone before the
# image is restored.
_traced() { ! grep -q "TracerPid:.0$" "/proc/$1/status" 2>/dev/null; }
continued_case() {
    local name=$1 try dumper got leave=0
    shift
    [[ " $* " == *" --leave-running "* ]] && leave=1
    for try in 1 2 3; do
        rm -rf "${TMP:?}/$name"
        stop_memory "$name" STOP 256 || return
        disown "$PID" 2>/dev/null
        "$CRYO" --debug dump -t "$PID" -D "$TMP/$name/img" "$@" 2>"$TMP/$name/dump.log" &
        dumper=$!
        wait_for 5 _traced "$PID" && kill -CONT "$PID"
        wait "$dumper" || { fail "$name: dump failed: $(grep -v debug "$TMP/$name/dump.log")"; return; }
        if ! grep -q "SIGCONT since the freeze ended its group stop (SIGSTOP): recorded running" "$TMP/$name/dump.log"; then
            note "$name: try $try: the SIGCONT did not come between the seize and the recheck"
            if [ $leave = 1 ]; then kill -9 "$PID"; gone "$PID"; fi
            continue
        fi
        ok "$name: $(grep -o 'process [0-9]*: SIGCONT since the freeze.*' "$TMP/$name/dump.log")"
        got=$(stopped_signal "$TMP/$name/img" "$PID")
        [ "$got" = null ] && ok "$name: image records it running" || fail "$name: image records stopped.signal $got"
        if [ $leave = 1 ]; then
            grep -q TracerPid:.0 "/proc/$PID/status" || fail "$name: original still traced"
            expect_running "$name (original)" "$PID" "$TMP/$name/beat" && verify "$name" "$PID"
            gone "$PID" || fail "$name: original still there"
            blank "$TMP/$name/out"
        else
            gone "$PID" || { fail "$name: pid $PID still there after dump"; return; }
        fi
        if "$CRYO" restore -D "$TMP/$name/img" -d; then
            expect_running "$name" "$PID" "$TMP/$name/beat" && verify "$name" "$PID"
        else
            fail "$name: restore failed"
        fi
        return
    done
    fail "$name: the SIGCONT never came while the dump held the process"
}
continued_case continued
# Every page copied while frozen (no write-protect snapshot), so the SIGCONT lands while it
# is held, as in kill mode.
CRYO_DUMP_SNAPSHOT=0 continued_case continued-leave --leave-running

finish
