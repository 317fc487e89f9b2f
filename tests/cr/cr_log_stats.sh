#!/bin/bash
# Statistics of a dump and a restore: with --log FILE --log-format json (how podman and
# containerd call a runtime) each writes one record whose "stats" object carries the phases
# (frozen, freeze, collect, memory copy, pages written, kill, total; pages, bytes; restore:
# pid, pages, memory, total) as numbers; the figures agree with each other and with the
# image. Without --log and --debug both stay quiet on stderr; with --debug the text line names
# the phases.
source "$(dirname "$0")/lib.sh"
need cryo
workload cr_memory

# stats_of FILE: the stats record of a JSON log (the last line that has one).
stats_of() { jq -c 'select(.stats != null)' "$1" | tail -1; }

# check_json NAME FILTER RECORD: the jq FILTER (a boolean) holds for RECORD.
check_json() {
    local name=$1 filter=$2 record=$3
    if [ "$(jq -r "$filter" <<<"$record" 2>/dev/null)" = true ]; then
        ok "$name: $filter"
    else
        fail "$name: not $filter in $record"
    fi
}

name=json
start "$name" "$WORKLOAD" 8 "$TMP/$name/beat"
pid=$PID
"$CRYO" --log "$TMP/$name/dump.json" --log-format json dump -t "$pid" -D "$TMP/$name/img" 2>"$TMP/$name/dump.err" ||
    fail "$name: dump failed: $(cat "$TMP/$name/dump.err")"
[ -s "$TMP/$name/dump.err" ] && fail "$name: dump wrote to stderr: $(cat "$TMP/$name/dump.err")"
dump=$(stats_of "$TMP/$name/dump.json")
[ -n "$dump" ] || fail "$name: no stats record in $(cat "$TMP/$name/dump.json")"
check_json "$name dump" '.level == "info" and (.msg | startswith("dump '"$pid"': "))' "$dump"
check_json "$name dump" '.stats.processes == 1 and .stats.threads >= 1' "$dump"
# 8 MiB written by the workload: at least that many pages, each 4096 bytes.
check_json "$name dump" '.stats.pages >= 2048 and .stats.bytes == .stats.pages * 4096' "$dump"
check_json "$name dump" '[.stats.freeze_ms, .stats.collect_ms, .stats.memory_copy_ms, .stats.pages_written_ms,
    .stats.kill_ms] | all(. >= 0)' "$dump"
check_json "$name dump" '.stats.frozen_ms > 0 and .stats.total_ms >= .stats.frozen_ms' "$dump"
check_json "$name dump" '.stats.frozen_ms >= .stats.freeze_ms + .stats.collect_ms + .stats.kill_ms' "$dump"
pages=$(jq -r '.stats.pages' <<<"$dump")
# The image holds as many page bytes as the record says (inspect: dumped bytes per area kind).
image_bytes=$("$CRYO" checkpoint inspect "$TMP/$name/img" --format json | jq '[.processes[].memory[].dumped] | add')
if [ "$image_bytes" = $((pages * 4096)) ]; then
    ok "$name: the image holds $image_bytes page bytes, as the record says"
else
    fail "$name: the image holds $image_bytes page bytes, the record says $pages pages"
fi
gone "$pid" || fail "$name: pid $pid still there after dump"
"$CRYO" --log "$TMP/$name/restore.json" --log-format json restore -D "$TMP/$name/img" -d 2>"$TMP/$name/restore.err" ||
    fail "$name: restore failed: $(cat "$TMP/$name/restore.err")"
[ -s "$TMP/$name/restore.err" ] && fail "$name: restore wrote to stderr: $(cat "$TMP/$name/restore.err")"
restore=$(stats_of "$TMP/$name/restore.json")
[ -n "$restore" ] || fail "$name: no stats record in $(cat "$TMP/$name/restore.json")"
check_json "$name restore" ".stats.pid == $pid and .stats.pages == $pages and .stats.bytes == $pages * 4096" "$restore"
check_json "$name restore" '.stats.memory_ms >= 0 and .stats.total_ms >= .stats.memory_ms' "$restore"
verify "$name" "$pid"

name=quiet
start "$name" "$WORKLOAD" 4 "$TMP/$name/beat"
"$CRYO" --log-format json dump -t "$PID" -D "$TMP/$name/img" --leave-running 2>"$TMP/$name/dump.err" ||
    fail "$name: dump failed: $(cat "$TMP/$name/dump.err")"
if [ -s "$TMP/$name/dump.err" ]; then
    fail "$name: json without --log or --debug wrote to stderr: $(cat "$TMP/$name/dump.err")"
else
    ok "$name: nothing on stderr without --log or --debug"
fi
"$CRYO" --debug dump -t "$PID" -D "$TMP/$name/img2" --leave-running 2>"$TMP/$name/debug.err" ||
    fail "$name: dump failed: $(cat "$TMP/$name/debug.err")"
if grep -Eq "cryo info: dump $PID: 1 process\(es\), [0-9]+ pages .*frozen [0-9.]+ ms \(freeze .*kill [0-9.]+\), total" \
    "$TMP/$name/debug.err"; then
    ok "$name: --debug names the phases"
else
    fail "$name: no statistics line with --debug: $(grep -v debug: "$TMP/$name/debug.err")"
fi
verify "$name"

# A kill dump frees the tree's memory from cryo as well (process_mrelease beside the exit):
# --debug says for how many processes it did (or found the exit had been quicker), and a
# refusal would be logged as "kill: process_mrelease: ...".
name=kill
start "$name" "$WORKLOAD" 8 "$TMP/$name/beat"
pid=$PID
"$CRYO" --debug dump -t "$pid" -D "$TMP/$name/img" 2>"$TMP/$name/debug.err" ||
    fail "$name: dump failed: $(cat "$TMP/$name/debug.err")"
gone "$pid" || fail "$name: pid $pid still there after dump"
if grep -q "process_mrelease" "$TMP/$name/debug.err"; then
    fail "$name: $(grep process_mrelease "$TMP/$name/debug.err")"
elif grep -Eq "kill: memory of (1 process\(es\) released by cryo beside their exit, 0|0 process\(es\) released by cryo beside their exit, 1) already freed" "$TMP/$name/debug.err"; then
    ok "$name: $(grep -o "kill: memory of.*" "$TMP/$name/debug.err")"
else
    fail "$name: no release logged: $(grep kill "$TMP/$name/debug.err")"
fi
"$CRYO" restore -D "$TMP/$name/img" -d 2>"$TMP/$name/restore.err" ||
    fail "$name: restore failed: $(cat "$TMP/$name/restore.err")"
verify "$name" "$pid"

finish
