#!/bin/bash
# A new user namespace together with namespaces joined by path: the joined ones (owned by
# the host's user namespace) must be entered before the user namespace is created, as runc
# does, or setns fails with EPERM. Cases: a network namespace made with `ip netns add`,
# also joined by an exec; and cryo's own --network none (which joins a netns file).
. "$(dirname "$0")/lib.sh"

chmod 755 "$TEST_TMP" # the mapped root must reach the rootfs
userns='.linux.namespaces += [{type: "user"}]
    | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
    | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
    | .mounts = [.mounts[] | if .destination == "/sys" then
        {destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"]}
        else . end]'
# (sysfs cannot be mounted in a network namespace the container's root does not own:
# /sys is bind-mounted instead, as in `runc spec --rootless`.)

# 1. A namespace of our own, recognised from inside by its inode.
netns="cryo-$TEST_TAG"
ip netns add "$netns"
defer ip netns delete "$netns"
ns_inode=$(stat -L -c %i "/run/netns/$netns")
bundle=$TEST_TMP/joined
make_bundle "$bundle" sh -c 'cat /proc/self/uid_map; readlink /proc/self/ns/net'
spec_edit "$bundle" "$userns"' | .linux.namespaces = [.linux.namespaces[] | if .type == "network" then .path = $p else . end]' \
    --arg p "/run/netns/$netns"
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run with userns + joined netns (stderr: $ERR)"
assert_contains "$OUT" "100000" "uid map inside"
assert_contains "$OUT" "net:[$ns_inode]" "in the joined network namespace"

# exec into such a container joins the same namespaces.
spec_edit "$bundle" '.process.args = ["sleep", "30"]'
id=$(new_id)
assert_status 0 cryo run -d --bundle "$bundle" "$id"
defer "cryo delete --force $id 2>/dev/null || true"
pid=$(container_pid "$id")
assert_eq "$ns_inode" "$(stat -L -c %i "/proc/$pid/ns/net")" "the init's netns is the joined one"
[ "$(readlink /proc/self/ns/user)" != "$(readlink "/proc/$pid/ns/user")" ] || fail "the init is not in a new user namespace"
# (runc 1.1 fails this exec: "nsexec-1: failed to setns into net namespace: Operation not
# permitted", it joins the user namespace first; the kernel's pidfd setns orders it right.)
if [ "$(basename "$CRYO")" != runc ]; then
    run_cmd cryo exec "$id" sh -c 'cat /proc/self/uid_map; readlink /proc/self/ns/net'
    assert_eq 0 "$STATUS" "exec (stderr: $ERR)"
    assert_contains "$OUT" "100000" "exec: uid map"
    assert_contains "$OUT" "net:[$ns_inode]" "exec: in the joined network namespace"
fi
assert_status 0 cryo delete --force "$id"

# 2. cryo's --network none with a user namespace (runc has no --network: skipped there).
if [ "$(basename "$CRYO")" != runc ]; then
    bundle=$TEST_TMP/none
    make_bundle "$bundle" sh -c 'cat /proc/self/uid_map; sed -n "s/^ *\([a-z0-9]*\):.*/\1/p" /proc/net/dev | tr "\n" " "'
    spec_edit "$bundle" "$userns"
    id=$(new_id)
    run_cmd cryo run --bundle "$bundle" --network none "$id"
    assert_eq 0 "$STATUS" "run with userns + --network none (stderr: $ERR)"
    assert_contains "$OUT" "100000" "--network none: uid map inside"
    assert_eq "lo " "$(printf '%s\n' "$OUT" | tail -n 1)" "--network none: only lo (/proc/net/dev of its namespace)"
fi

log ok
