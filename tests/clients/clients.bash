# clients.bash: helpers for the real-client tests (podman, containerd), sourced after
# ../integration/lib.sh. Everything the clients keep (storage, databases, sockets, state) lives
# under $TEST_TMP; the clients are installed from Debian when missing.

# install_clients PKG...: apt-get installs the packages that are missing, quietly.
install_clients() {
    # shellcheck source=../../scripts/deps.sh
    . "$CRYO_SOURCE/scripts/deps.sh"
    cryo_apt_install "$@" || fail "cannot install $*"
}

# setup_podman: private containers.conf + storage.conf for podman with cryo as the runtime.
# podman enables JSON logging (--log-format=json --log FILE) only for runtimes named in
# runtime_supports_json; there is no systemd here, hence cgroupfs and the file events logger;
# root lacks CAP_SYS_RESOURCE (hard nofile 20000) and podman lowers its nproc to 32768.
setup_podman() {
    PODMAN_DIR=$TEST_TMP/podman
    mkdir -p "$PODMAN_DIR/tmp"
    cat > "$PODMAN_DIR/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PODMAN_DIR/events.log"
runtime_supports_json = ["$(basename "$CRYO")", "crun", "runc"]
lock_type = "file"
tmp_dir = "$PODMAN_DIR/tmp"
static_dir = "$PODMAN_DIR/libpod"
volume_path = "$PODMAN_DIR/volumes"
CONF
    cat > "$PODMAN_DIR/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$PODMAN_DIR/storage"
runroot = "$PODMAN_DIR/runroot"
CONF
    # What podman creates outside $TEST_TMP and keeps: removed at the end if it was not there.
    _podman_had_cache=0
    [ -e /var/lib/containers ] && _podman_had_cache=1
    # podman's default "shm" locks live in /dev/shm/libpod_lock, one segment shared by every
    # podman on the host (and by concurrent tests); lock_type "file" above keeps the locks in
    # tmp_dir/locks instead. Should a podman still make the segment, it goes at teardown.
    _podman_had_shm_lock=0
    [ -e /dev/shm/libpod_lock ] && _podman_had_shm_lock=1
    _podman_had_cgroup=0
    compgen -G "/sys/fs/cgroup/*/libpod_parent" >/dev/null && _podman_had_cgroup=1
    export CONTAINERS_CONF=$PODMAN_DIR/containers.conf
    export CONTAINERS_STORAGE_CONF=$PODMAN_DIR/storage.conf
    export CONTAINERS_REGISTRIES_CONF=$PODMAN_DIR/registries.conf
    : > "$CONTAINERS_REGISTRIES_CONF"
    # Last deferred runs first: containers go before the storage they live on is reset.
    defer _podman_teardown
}

podman() { command podman --runtime "$CRYO" "$@"; }

_podman_teardown() {
    command podman --runtime "$CRYO" rm -a -f -t 0 >/dev/null 2>&1 || true
    command podman --runtime "$CRYO" system reset -f >/dev/null 2>&1 || true
    # containers/storage keeps its overlay directory bind-mounted; podman leaves it.
    awk -v t="$PODMAN_DIR" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    [ "$_podman_had_cache" = 1 ] || rm -rf /var/lib/containers
    [ "$_podman_had_shm_lock" = 1 ] || rm -f /dev/shm/libpod_lock
    if [ "$_podman_had_cgroup" = 0 ]; then
        # rmdir only removes empty cgroups: anything still running there stays (and is a leak).
        find /sys/fs/cgroup/ -mindepth 2 -maxdepth 3 -depth -type d -path '*/libpod_parent*' -exec rmdir {} \; 2>/dev/null || true
    fi
}

# import_busybox_image NAME: a busybox rootfs made by make-bundle.sh, imported with no registry.
import_busybox_image() {
    local name=$1 dir=$TEST_TMP/image
    make_bundle "$dir" sh
    tar -C "$dir/rootfs" -cf "$dir/rootfs.tar" . || fail "tar of the rootfs failed"
    run_cmd podman import "$dir/rootfs.tar" "$name"
    assert_eq 0 "$STATUS" "podman import (stderr: $ERR)"
    rm -rf "$dir"
}

# start_containerd: a private containerd (own config, root, state and socket; CRI off, it
# would want CNI); `ctr_` then talks to it in namespace $TEST_TAG. The runc shim's state root
# for that namespace is /run/containerd/runc/$TEST_TAG, removed at the end.
start_containerd() {
    CTD_DIR=$TEST_TMP/containerd
    mkdir -p "$CTD_DIR"
    CTD_SOCK=$CTD_DIR/containerd.sock
    cat > "$CTD_DIR/config.toml" <<CONF
version = 2
root = "$CTD_DIR/root"
state = "$CTD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$CTD_SOCK"

[ttrpc]
  address = "$CTD_SOCK.ttrpc"

[debug]
  level = "warn"
CONF
    containerd --config "$CTD_DIR/config.toml" >"$CTD_DIR/containerd.log" 2>&1 &
    CTD_PID=$!
    defer _containerd_teardown
    local i
    for i in $(seq 1 250); do
        if ctr_ version >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$CTD_PID" 2>/dev/null || fail "containerd exited: $(tail -n 5 "$CTD_DIR/containerd.log")"
        sleep 0.04
    done
    fail "containerd did not answer on $CTD_SOCK: $(tail -n 5 "$CTD_DIR/containerd.log")"
}

ctr_() { ctr --address "$CTD_SOCK" --namespace "$TEST_TAG" "$@"; }

_containerd_teardown() {
    local t c
    for t in $(ctr_ tasks ls -q 2>/dev/null); do
        ctr_ tasks kill -s KILL "$t" >/dev/null 2>&1 || true
        ctr_ tasks rm -f "$t" >/dev/null 2>&1 || true
    done
    for c in $(ctr_ containers ls -q 2>/dev/null); do
        ctr_ containers rm "$c" >/dev/null 2>&1 || true
    done
    for c in $(ctr_ images ls -q 2>/dev/null); do
        ctr_ images rm "$c" >/dev/null 2>&1 || true
    done
    ctr_ namespaces rm "$TEST_TAG" >/dev/null 2>&1 || true
    if kill -0 "$CTD_PID" 2>/dev/null; then
        kill "$CTD_PID"
        for _ in $(seq 1 100); do kill -0 "$CTD_PID" 2>/dev/null || break; sleep 0.05; done
        kill -9 "$CTD_PID" 2>/dev/null || true
    fi
    wait "$CTD_PID" 2>/dev/null || true
    # containerd keeps snapshot and task mounts of its own under its root and state.
    awk -v t="$CTD_DIR" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    # ctr puts containers in cgroup /<namespace>/<id>; the namespace level is containerd's and
    # stays. rmdir removes it only when empty: a container cgroup left inside is a leak.
    find /sys/fs/cgroup/ -mindepth 1 -maxdepth 3 -type d -name "$TEST_TAG" -exec rmdir {} \; 2>/dev/null || true
    rm -rf "/run/containerd/runc/$TEST_TAG"
    rmdir /run/containerd/fifo /run/containerd/runc /run/containerd/s /run/containerd 2>/dev/null || true
}
