#!/bin/bash
# Images as copy-on-write root file systems: a busybox rootfs tarball imported once, an
# overlay mounted for two containers from it; a write in one is seen neither by the other nor
# in the image's layer. A container runs on the overlay. Changes are committed as a new
# image (whiteouts and opaque directories survive the round trip). Everything unmounted and
# removed at the end: nothing left in mountinfo, the store empty.
. "$(dirname "$0")/lib.sh"

store=$TEST_TMP/store
img() { "$CRYO" image "$@" --store "$store"; }
xattr() { python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode())' "$@" 2>/dev/null || echo none; }

# A busybox root file system with what layers must keep: ownership, a device node, a
# setuid mode, an xattr, a hard link and symlinks.
src=$TEST_TMP/src
mkdir -p "$src"/{bin,etc,dev,proc,sys,tmp,var/cache/old,home/user}
cp "$(command -v busybox)" "$src/bin/busybox"
for tool in sh cat echo ls rm mkdir hostname id sleep stat; do ln -s busybox "$src/bin/$tool"; done
ln "$src/bin/busybox" "$src/bin/busybox.hard"
echo "welcome" > "$src/etc/motd"
echo "old" > "$src/var/cache/old/file"
chown 1000:1000 "$src/home/user"
chmod 4755 "$src/bin/busybox.hard"
mknod "$src/dev/null" c 1 3 && chmod 666 "$src/dev/null"
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "trusted.cryo-test", b"kept")' "$src/etc/motd"
tar --numeric-owner --xattrs --xattrs-include='*' -C "$src" -czf "$TEST_TMP/busybox.tar.gz" .

run_cmd img import busybox "$TEST_TMP/busybox.tar.gz"
assert_eq 0 "$STATUS" "import (stderr: $ERR)"
assert_eq "" "$ERR" "import writes no progress when stderr is not a terminal"
layer=$(img inspect busybox | jq -r '.layers[0].digest' | sed 's/^sha256://')
lower=$store/layers/$layer/rootfs
[ -d "$lower" ] || fail "layer dir $lower missing"
assert_eq "1000:1000" "$(stat -c %u:%g "$lower/home/user")" "ownership in the layer"
assert_eq "character special file 1,3" "$(stat -c '%F %t,%T' "$lower/dev/null")" "device node in the layer"
assert_eq "4755" "$(stat -c %a "$lower/bin/busybox.hard")" "setuid mode in the layer"
assert_eq "$(stat -c %i "$lower/bin/busybox")" "$(stat -c %i "$lower/bin/busybox.hard")" "hard link in the layer"
assert_eq "kept" "$(xattr "$lower/etc/motd" trusted.cryo-test)" "xattr in the layer"

# Importing the same tarball under another name stores no second copy.
img import busybox-again "$TEST_TMP/busybox.tar.gz" >/dev/null
assert_eq 1 "$(ls "$store/layers" | wc -l)" "layers after a second import of the same tarball"
assert_eq "busybox
busybox-again" "$(img ls -q)" "image ls -q"

# Two imports at once (separate processes) both land; the shared layer is stored once.
mkdir -p "$TEST_TMP/src2/bin" && cp "$src/bin/busybox" "$TEST_TMP/src2/bin/" && echo two > "$TEST_TMP/src2/two"
tar -C "$TEST_TMP/src2" -cf "$TEST_TMP/two.tar" .
img import para1 "$TEST_TMP/two.tar" >/dev/null & p1=$!
img import para2 "$TEST_TMP/src2" >/dev/null & p2=$!
img import para3 "$TEST_TMP/busybox.tar.gz" >/dev/null & p3=$!
wait $p1 && wait $p2 && wait $p3 || fail "a concurrent import failed"
assert_eq "busybox busybox-again para1 para2 para3" "$(img ls -q | tr '\n' ' ' | sed 's/ $//')" "images after concurrent imports"
assert_eq 3 "$(ls "$store/layers" | wc -l)" "layers after concurrent imports"
img rm para1 para2 para3 >/dev/null
assert_eq 1 "$(ls "$store/layers" | wc -l)" "layers after removing the concurrent imports"

# Two containers from one image.
mkdir -p "$TEST_TMP/ct1" "$TEST_TMP/ct2"
defer "$CRYO" image unmount "$TEST_TMP/ct1" --store "$store"
defer "$CRYO" image unmount "$TEST_TMP/ct2" --store "$store"
assert_eq "$TEST_TMP/ct1/rootfs" "$(img mount busybox "$TEST_TMP/ct1")" "mount ct1"
img mount busybox "$TEST_TMP/ct2" >/dev/null
r1=$TEST_TMP/ct1/rootfs r2=$TEST_TMP/ct2/rootfs
grep -q " $r1 .* overlay " /proc/self/mountinfo || fail "no overlay on $r1"
echo "from ct1" > "$r1/etc/hello"
echo "changed by ct1" > "$r1/etc/motd"
rm "$r1/bin/cat"
rm -r "$r1/var/cache/old" && mkdir "$r1/var/cache/old" && echo new > "$r1/var/cache/old/fresh"
assert_eq "from ct1" "$(cat "$r1/etc/hello")" "ct1 sees its write"
[ ! -e "$r2/etc/hello" ] || fail "ct2 sees ct1's new file"
assert_eq "welcome" "$(cat "$r2/etc/motd")" "ct2's motd"
[ -L "$r2/bin/cat" ] || fail "ct2 lost bin/cat deleted in ct1"
[ -e "$r2/var/cache/old/file" ] || fail "ct2 lost var/cache/old/file"
assert_eq "welcome" "$(cat "$lower/etc/motd")" "the layer's motd"
[ ! -e "$lower/etc/hello" ] || fail "ct1's write reached the layer"
[ -L "$lower/bin/cat" ] || fail "ct1's delete reached the layer"
assert_eq "character special file 0,0" "$(stat -c '%F %t,%T' "$TEST_TMP/ct1/upper/bin/cat")" "whiteout in ct1's upper dir"

# A container runs on the overlay (the runtime takes it as the bundle's root).
bundle=$TEST_TMP/bundle
make_bundle "$bundle" sh -c 'cat /etc/hello 2>&1; ls /bin/cat 2>&1 | head -1; echo uid=$(id -u)'
spec_edit "$bundle" '.root.path = $p' --arg p "$r1"
id=$(new_id)
run_cmd cryo run --bundle "$bundle" "$id"
assert_eq 0 "$STATUS" "run on the overlay (stderr: $ERR)"
assert_contains "$OUT" "from ct1" "container reads ct1's file"
assert_contains "$OUT" "No such file" "container sees the deleted /bin/cat gone"

# Commit ct1's changes; a third container from the new image sees them, opaque dir included.
assert_contains "$(img commit "$TEST_TMP/ct1" busybox-changed)" "busybox-changed 2 layer(s)" "commit"
top=$(img inspect busybox-changed | jq -r '.layers[1].digest' | sed 's/^sha256://')
assert_eq "y" "$(xattr "$store/layers/$top/rootfs/var/cache/old" trusted.overlay.opaque)" "opaque dir in the committed layer"
mkdir -p "$TEST_TMP/ct3"
defer "$CRYO" image unmount "$TEST_TMP/ct3" --store "$store"
img mount busybox-changed "$TEST_TMP/ct3" >/dev/null
r3=$TEST_TMP/ct3/rootfs
assert_eq "from ct1" "$(cat "$r3/etc/hello")" "ct3 sees the committed file"
assert_eq "changed by ct1" "$(cat "$r3/etc/motd")" "ct3 sees the committed change"
[ ! -e "$r3/bin/cat" ] || fail "ct3 sees bin/cat deleted before the commit"
assert_eq "fresh" "$(ls "$r3/var/cache/old")" "ct3 sees only the new content of the opaque dir"

# rm refuses nothing while containers run, but keeps their layers.
img rm busybox busybox-again >/dev/null
[ -d "$lower" ] || fail "the layer went while containers use it"

for ct in ct1 ct2 ct3; do img unmount "$TEST_TMP/$ct"; done
_deferred=()
grep -q "$TEST_TMP" /proc/self/mountinfo && fail "mounts left: $(grep "$TEST_TMP" /proc/self/mountinfo)"
[ ! -e "$TEST_TMP/ct1/upper" ] || fail "ct1's upper dir left"
img rm busybox-changed >/dev/null
assert_eq "" "$(find "$store/layers" "$store/images" "$store/containers" "$store/tmp" -mindepth 1)" "store after removing everything"
