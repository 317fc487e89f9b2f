#!/bin/bash
# make-bundle.sh [--runtime BIN] [--hostname NAME] DIR [ARGS...]
# Builds an OCI bundle in DIR: DIR/rootfs (busybox-static, its applet symlinks, /etc files,
# empty proc sys dev tmp) and DIR/config.json (from `BIN spec`, default $CRYO, falling back
# to `runc spec` when BIN cannot produce one) with process.args = ARGS (default: sh),
# terminal false, root writable so tests can write to /tmp.
set -euo pipefail

runtime=${CRYO:-}
hostname=cryo
while [ $# -gt 0 ]; do
    case $1 in
        --runtime) runtime=$2; shift 2 ;;
        --hostname) hostname=$2; shift 2 ;;
        -h|--help) sed -n '2,6s/^# \{0,1\}//p' "$0"; exit 0 ;;
        --) shift; break ;;
        -*) echo "make-bundle.sh: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: make-bundle.sh [--runtime BIN] [--hostname NAME] DIR [ARGS...]" >&2; exit 2; }
dir=$1; shift
[ $# -gt 0 ] || set -- sh

busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "make-bundle.sh: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$busybox" >/dev/null 2>&1; then
    echo "make-bundle.sh: $busybox is dynamically linked; install busybox-static" >&2
    exit 1
fi

mkdir -p "$dir"
rootfs=$dir/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,tmp,root,run,var/tmp}
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
ln -s bin "$rootfs/sbin"
mkdir -p "$rootfs/usr"
ln -s ../bin "$rootfs/usr/bin"
ln -s ../bin "$rootfs/usr/sbin"
cp "$busybox" "$rootfs/bin/busybox"
# One symlink per applet; perl makes them in one process instead of ~400 ln forks.
"$busybox" --list | grep -vx busybox | perl -ne 'chomp; symlink("busybox", "'"$rootfs"'/bin/$_") or die "symlink $_: $!\n"'
cat > "$rootfs/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/:/bin/false
nobody:x:65534:65534:nobody:/:/bin/false
PASSWD
cat > "$rootfs/etc/group" <<GROUP
root:x:0:
daemon:x:1:
nogroup:x:65534:
GROUP
echo "$hostname" > "$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n' > "$rootfs/etc/hosts"

# config.json: the runtime's own default spec, then our adjustments.
spec_dir=$(mktemp -d /tmp/cryo-spec.XXXXXX)
trap 'rm -rf "$spec_dir"' EXIT
made=0
if [ -n "$runtime" ] && [ -x "$runtime" ]; then
    if (cd "$spec_dir" && "$runtime" spec) >/dev/null 2>&1 && [ -s "$spec_dir/config.json" ]; then
        made=1
    fi
fi
if [ $made = 0 ]; then
    rm -f "$spec_dir/config.json"
    command -v runc >/dev/null || { echo "make-bundle.sh: no runtime can write a default spec (tried '${runtime:-none}', runc)" >&2; exit 1; }
    (cd "$spec_dir" && runc spec)
fi
args_json=$(for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -s -c .)
jq --argjson args "$args_json" --arg hostname "$hostname" '
    .process.args = $args
  | .process.terminal = false
  | .hostname = $hostname
  | .root.path = "rootfs"
  | .root.readonly = false
' "$spec_dir/config.json" > "$dir/config.json"
