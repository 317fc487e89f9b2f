#!/bin/bash
# Checkpoint/restore of a container running under a seccomp profile (mkdir/mkdirat -> EPERM,
# as tests/integration/seccomp.sh): the container's own shell loop keeps probing mkdir after
# the restore and must still be denied, with the same Seccomp/Seccomp_filters in its init's
# /proc status, while other file operations work. Twice: with noNewPrivileges (the filter is
# re-installed after the credentials) and without it (the init holds no CAP_SYS_ADMIN, so the
# restore installs it before dropping privileges, as runc loaded it).
. "$(dirname "$0")/lib.sh"

probe=/tmp/probe
loop='i=0; while true; do i=$((i+1)); if mkdir /tmp/x 2>/dev/null; then r=made; rmdir /tmp/x; else r=denied; fi; touch /tmp/t && echo "$i $r" > /tmp/probe.new && mv /tmp/probe.new /tmp/probe; sleep 0.05; done'
seccomp_status() { grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' "/proc/$1/status" | tr -s '\t\n' '  '; }
probe_count() { awk '{ print $1 }' "$1" 2>/dev/null || echo 0; }
probe_after() { [ "$(probe_count "$1")" -gt "$2" ]; }

for nnp in true false; do
    bundle=$TEST_TMP/bundle-$nnp
    make_bundle "$bundle" sh -c "$loop"
    spec_edit "$bundle" '.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]} | .process.noNewPrivileges = ($nnp == "true")' \
        --arg nnp "$nnp"
    file=$bundle/rootfs$probe
    id=$(new_id)
    defer "cryo delete --force $id >/dev/null 2>&1 || true"
    run_cmd cryo run -d --bundle "$bundle" "$id"
    assert_eq 0 "$STATUS" "run -d with noNewPrivileges=$nnp (stderr: $ERR)"
    wait_until 5 probe_after "$file" 2
    assert_contains "$(cat "$file")" "denied" "mkdir denied before checkpoint (noNewPrivileges=$nnp)"
    before=$(seccomp_status "$(container_pid "$id")")
    assert_contains "$before" "Seccomp: 2" "filter mode before checkpoint"
    assert_contains "$before" "NoNewPrivs: $([ $nnp = true ] && echo 1 || echo 0)" "no_new_privs before checkpoint"

    image=$TEST_TMP/image-$nnp
    run_cmd cryo checkpoint --image-path "$image" "$id"
    assert_eq 0 "$STATUS" "checkpoint under seccomp, noNewPrivileges=$nnp (stderr: $ERR)"
    at=$(probe_count "$file")
    run_cmd cryo delete "$id"
    assert_eq 0 "$STATUS" "delete after checkpoint (stderr: $ERR)"

    run_cmd cryo restore -d --image-path "$image" --bundle "$bundle" "$id"
    assert_eq 0 "$STATUS" "restore, noNewPrivileges=$nnp (stderr: $ERR)"
    assert_eq running "$(container_status "$id")" "status after restore"
    wait_until 5 probe_after "$file" $((at + 3)) || fail "the restored loop does not go on (probe: $(cat "$file"))"
    assert_contains "$(cat "$file")" "denied" "mkdir still denied after restore (noNewPrivileges=$nnp)"
    [ ! -e "$bundle/rootfs/tmp/x" ] || fail "/tmp/x was created after the restore"
    assert_eq "$before" "$(seccomp_status "$(container_pid "$id")")" "init's seccomp status after restore"

    run_cmd cryo kill "$id" KILL
    assert_eq 0 "$STATUS" "kill restored (stderr: $ERR)"
    wait_status "$id" stopped
    run_cmd cryo delete "$id"
    assert_eq 0 "$STATUS" "delete restored (stderr: $ERR)"
done
