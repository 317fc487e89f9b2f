#!/bin/bash
# The six OCI hooks run in order, each with the container state on stdin: prestart,
# createRuntime, poststart and poststop in the runtime's namespaces (host paths);
# createContainer's path resolves in the runtime's namespace but it runs in the container's
# (before or after pivot_root: it writes to whichever log path it can see); startContainer
# resolves and runs in the container (paths inside the rootfs).
# A failing hook fails create and leaves nothing behind.
. "$(dirname "$0")/lib.sh"

bundle=$TEST_TMP/bundle
# The process writes to its own file: it runs concurrently with poststart (which follows its
# exec, not its first write), so its line has no fixed place among the hooks'.
make_bundle "$bundle" sh -c 'echo process > /process-ran'
: > "$bundle/rootfs/hooklog"
log_host=$bundle/rootfs/hooklog
# Each hook appends "name status id-ok" from the state JSON it reads on stdin.
host_hook() {
    jq -n --arg name "$1" --arg log "$log_host" --arg id "$2" '{path: "/bin/sh", args: ["sh", "-c",
        "s=$(cat); st=$(echo \"$s\" | sed -n \"s/.*\\\"status\\\": *\\\"\\([a-z]*\\)\\\".*/\\1/p\"); case \"$s\" in *\\\"" + $id + "\\\"*) i=id-ok;; *) i=id-missing;; esac; echo \"" + $name + " $st $i\" >> " + $log]}'
}
ctr_hook() {
    jq -n --arg name "$1" --arg log "$log_host" --arg id "$2" '{path: "/bin/sh", args: ["sh", "-c",
        "s=$(cat); st=$(echo \"$s\" | sed -n \"s/.*\\\"status\\\": *\\\"\\([a-z]*\\)\\\".*/\\1/p\"); case \"$s\" in *\\\"" + $id + "\\\"*) i=id-ok;; *) i=id-missing;; esac; if [ -e " + $log + " ]; then echo \"" + $name + " $st $i\" >> " + $log + "; else echo \"" + $name + " $st $i\" >> /hooklog; fi"]}'
}
id=$(new_id)
spec_edit "$bundle" '.hooks = {
    prestart: [$pre], createRuntime: [$cr], createContainer: [$cc],
    startContainer: [$sc], poststart: [$ps], poststop: [$pst]}' \
    --argjson pre "$(host_hook prestart "$id")" --argjson cr "$(host_hook createRuntime "$id")" \
    --argjson cc "$(ctr_hook createContainer "$id")" --argjson sc "$(ctr_hook startContainer "$id")" \
    --argjson ps "$(host_hook poststart "$id")" --argjson pst "$(host_hook poststop "$id")"

run_cmd cryo create --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "create exit status (stderr: $ERR)"
names() { awk '{print $1}' "$log_host" | tr '\n' ' '; }
assert_eq "prestart createRuntime createContainer " "$(names)" "hooks after create"
run_cmd cryo start "$id"
assert_eq 0 "$STATUS" "start exit status (stderr: $ERR)"
wait_status "$id" stopped
wait_until 5 grep -q poststart "$log_host"
run_cmd cryo delete "$id"
assert_eq 0 "$STATUS" "delete exit status (stderr: $ERR)"
assert_eq "prestart createRuntime createContainer startContainer poststart poststop " \
    "$(names)" "hook order"
assert_eq process "$(cat "$bundle/rootfs/process-ran" 2>/dev/null)" "the container process ran"
# Every hook got this container's state on stdin.
assert_eq 0 "$(grep -c id-missing "$log_host" || true)" "hooks without the container id on stdin"
status_of() { awk -v n="$1" '$1 == n {print $2}' "$log_host"; }
assert_eq creating "$(status_of prestart)" "status seen by prestart"
assert_eq creating "$(status_of createRuntime)" "status seen by createRuntime"
assert_eq creating "$(status_of createContainer)" "status seen by createContainer"
assert_eq created "$(status_of startContainer)" "status seen by startContainer"
assert_eq stopped "$(status_of poststop)" "status seen by poststop"

# A failing createRuntime hook fails create with one line, and nothing is left.
bundle2=$TEST_TMP/bundle2
make_bundle "$bundle2" true
spec_edit "$bundle2" '.hooks = {createRuntime: [{path: "/bin/sh", args: ["sh", "-c", "exit 7"]}]}'
id2=$(new_id)
run_cmd cryo create --bundle "$bundle2" "$id2"
[ "$STATUS" != 0 ] || fail "create succeeded despite a failing createRuntime hook"
[ -n "$ERR" ] || fail "no error message for a failing hook"
run_cmd cryo state "$id2"
[ "$STATUS" != 0 ] || fail "container $id2 exists after a failed create: $OUT"

# A hook over its timeout is killed and fails create.
bundle3=$TEST_TMP/bundle3
make_bundle "$bundle3" true
spec_edit "$bundle3" '.hooks = {prestart: [{path: "/bin/sleep", args: ["sleep", "30"], timeout: 1}]}'
id3=$(new_id)
start_ns=$(date +%s%N)
run_cmd cryo create --bundle "$bundle3" "$id3"
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
[ "$STATUS" != 0 ] || fail "create succeeded despite a hook past its timeout"
[ "$elapsed_ms" -lt 10000 ] || fail "hook timeout of 1 s not enforced (create took ${elapsed_ms} ms)"
run_cmd cryo state "$id3"
[ "$STATUS" != 0 ] || fail "container $id3 exists after a failed create: $OUT"

# createContainer runs after the rootfs mounts and before pivot_root (OCI): it sees a bind
# mount of config.json at its place under the rootfs path, and the host's / (its path and
# its log resolve there). The bind is not visible from the host's mount namespace.
bundle4=$TEST_TMP/bundle4
make_bundle "$bundle4" true
mkdir -p "$TEST_TMP/bindsrc" "$bundle4/rootfs/mnt/bound"
echo "from-the-bind" > "$TEST_TMP/bindsrc/marker"
seen=$TEST_TMP/seen
spec_edit "$bundle4" '.mounts += [{destination: "/mnt/bound", type: "bind", source: $src, options: ["rbind", "ro"]}]
    | .hooks = {createContainer: [{path: "/bin/sh", args: ["sh", "-c",
        "cat " + $rootfs + "/mnt/bound/marker > " + $seen + " 2>&1; readlink /proc/self/ns/mnt >> " + $seen]}]}' \
    --arg src "$TEST_TMP/bindsrc" --arg rootfs "$bundle4/rootfs" --arg seen "$seen"
id4=$(new_id)
run_cmd cryo create --bundle "$bundle4" "$id4"
assert_eq 0 "$STATUS" "create with a createContainer hook (stderr: $ERR)"
[ ! -e "$bundle4/rootfs/mnt/bound/marker" ] || fail "the container's bind mount leaked to the host"
assert_eq "from-the-bind" "$(head -n 1 "$seen")" "createContainer hook sees the bind mount under the rootfs"
pid4=$(container_pid "$id4")
assert_eq "$(readlink "/proc/$pid4/ns/mnt")" "$(sed -n 2p "$seen")" "createContainer hook runs in the container's mount namespace"
assert_status 0 cryo delete --force "$id4"
