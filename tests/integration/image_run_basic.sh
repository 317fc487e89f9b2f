#!/bin/bash
# Containers from an image (run/create --image): two containers from one imported busybox
# image each see only their own writes, which land in their own upper dir and never in the
# shared layer; the image's own command, environment, working dir and user run when no
# config.json is given; `image bundle` makes an OCI bundle; delete removes the upper layer and
# the overlay; a missing image is a one-line error that leaves nothing behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/image_lib.bash"

import_busybox bb
layer=$(img inspect bb | jq -r '.layers[0].digest' | sed 's/^sha256://')
lower=$STORE/layers/$layer/rootfs

# Two long-lived containers from the one image (process from a bundle's config.json).
bundle=$TEST_TMP/bundle
config_bundle "$bundle" sleep 1000
c1=$(new_id) c2=$(new_id)
cryo run -d --bundle "$bundle" --image bb "$c1" >/dev/null
cryo run -d --bundle "$bundle" --image bb "$c2" >/dev/null
wait_status "$c1" running
wait_status "$c2" running
assert_eq "$ROOT/$c1/rootfs" "$(cryo state "$c1" | jq -r .rootfs)" "rootfs of $c1 in state"
grep -q " $ROOT/$c1/rootfs .* overlay " /proc/self/mountinfo || fail "no overlay mounted for $c1"
assert_eq "bb" "$(jq -r .image "$ROOT/$c1/image.json")" "image.json records the image"
assert_eq "$STORE" "$(jq -r .store "$ROOT/$c1/image.json")" "image.json records the store (CRYO_STORE)"

cryo exec "$c1" sh -c 'echo one > /root/mine && echo changed > /etc/hostname && rm /bin/vi'
cryo exec "$c2" sh -c 'echo two > /root/mine'
assert_eq "one" "$(cryo exec "$c1" cat /root/mine)" "c1 reads its own file"
assert_eq "two" "$(cryo exec "$c2" cat /root/mine)" "c2 reads its own file"
assert_eq "changed" "$(cryo exec "$c1" cat /etc/hostname)" "c1 sees its change"
assert_eq "$TEST_HOSTNAME" "$(cryo exec "$c2" cat /etc/hostname)" "c2 does not see c1's change"
run_cmd cryo exec "$c1" ls /bin/vi
[ "$STATUS" != 0 ] || fail "c1 still sees /bin/vi it removed"
cryo exec "$c2" ls /bin/vi >/dev/null || fail "c2 lost /bin/vi removed by c1"
assert_eq "one" "$(cat "$ROOT/$c1/upper/root/mine")" "c1's write is in its upper dir"
[ ! -e "$lower/root/mine" ] || fail "a container's write reached the image layer"
assert_eq "$TEST_HOSTNAME" "$(cat "$lower/etc/hostname")" "the layer's /etc/hostname"
[ -L "$lower/bin/vi" ] || fail "a container's delete reached the image layer"
assert_eq 2 "$(ls "$STORE/containers" | wc -l)" "store registrations of the two containers"

# The image cannot be garbage-collected while containers use it.
img rm bb >/dev/null
[ -d "$lower" ] || fail "image rm removed a layer containers use"
import_busybox bb

# Delete removes the container's upper layer, its overlay and its store registration.
cryo delete --force "$c1"
[ ! -e "$ROOT/$c1" ] || fail "state dir of $c1 left"
no_mounts_under "$ROOT/$c1"
assert_eq 1 "$(ls "$STORE/containers" | wc -l)" "store registrations after deleting c1"
assert_eq "two" "$(cryo exec "$c2" cat /root/mine)" "c2 unaffected by c1's delete"
cryo delete --force "$c2"
assert_eq 0 "$(ls "$STORE/containers" | wc -l)" "store registrations after deleting c2"

# Without a config.json the image's config runs: Entrypoint + Cmd, Env, WorkingDir, User.
import_oci web '{"Entrypoint":["sh","-c"],"Cmd":["echo \"cmd:$GREETING:$(pwd):$(id -u):$(id -g)\""],"Env":["GREETING=hello","PATH=/bin"],"WorkingDir":"/srv/app","User":"nobody"}'
mkdir -p "$TEST_TMP/empty"
c3=$(new_id)
out=$(cd "$TEST_TMP/empty" && cryo run --image web "$c3")
assert_eq "cmd:hello:/srv/app:65534:65534" "$out" "the image's command, env, cwd and user"
[ ! -e "$ROOT/$c3" ] || fail "run without -d left $c3"

# An OCI bundle for other clients: config.json from the image, overlay on DIR/rootfs.
b2=$TEST_TMP/from-image
assert_eq "$b2" "$(img bundle web "$b2")" "image bundle prints the bundle"
assert_eq '["sh","-c","echo \"cmd:$GREETING:$(pwd):$(id -u):$(id -g)\""]' "$(jq -c .process.args "$b2/config.json")" "bundle args"
assert_eq 65534 "$(jq .process.user.uid "$b2/config.json")" "bundle user"
grep -q " $b2/rootfs .* overlay " /proc/self/mountinfo || fail "image bundle mounted no overlay"
run_cmd img bundle web "$b2"
[ "$STATUS" != 0 ] || fail "a second image bundle into the same dir succeeded"
c4=$(new_id)
assert_eq "cmd:hello:/srv/app:65534:65534" "$(cryo run --bundle "$b2" "$c4")" "run of the image bundle (no --image)"
img unmount "$b2"
no_mounts_under "$b2"
[ ! -e "$b2/upper" ] || fail "image unmount left the bundle's upper dir"

# A missing image: one line, nothing created (no state dir, no mount, store untouched).
before=$(cd "$STORE" && find . | sort)
c5=$(new_id)
assert_fails_with "image nothere: no such image" cryo run --bundle "$bundle" --image nothere "$c5"
assert_fails_with "image nothere: no such image" cryo create --image nothere "$c5"
[ ! -e "$ROOT/$c5" ] || fail "a failed create left $ROOT/$c5"
assert_eq "$before" "$(cd "$STORE" && find . | sort)" "store after a failed create"
# ... and with no store at all: still one line, and no store is made.
CRYO_STORE=$TEST_TMP/no-store assert_fails_with "no such image" cryo run --image bb "$c5"
[ ! -e "$TEST_TMP/no-store" ] || fail "a failed create made a store"
assert_fails_with "--disk-limit: only with --image" cryo run --bundle "$bundle" --disk-limit 10m "$c5"
assert_fails_with 'invalid size "10x"' cryo run --bundle "$bundle" --image bb --disk-limit 10x "$c5"
[ ! -e "$ROOT/$c5" ] || fail "a failed create left $ROOT/$c5"

img rm bb web >/dev/null
assert_eq "" "$(find "$STORE/layers" "$STORE/containers" -mindepth 1)" "store after removing the images"
