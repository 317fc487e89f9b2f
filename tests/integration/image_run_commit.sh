#!/bin/bash
# cryo commit ID NAME: a stopped container's changes (a new file, a changed file, a deleted
# one) become a new image whose containers see them, while containers of the base image do
# not; a running container is paused for the commit and runs on afterwards; committing a
# container that was not made from an image, or onto an existing name, is a one-line error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/image_lib.bash"

import_busybox bb
bundle=$TEST_TMP/bundle
config_bundle "$bundle" sh -c 'echo committed > /etc/added && echo new-motd > /etc/hostname && rm /etc/group'
c1=$(new_id)
cryo run --keep --bundle "$bundle" --image bb "$c1"
assert_eq stopped "$(container_status "$c1")" "status after run --keep"
assert_contains "$(cryo commit "$c1" bb-changed)" "bb-changed 2 layer(s)" "commit output"
assert_eq 2 "$(img inspect bb-changed | jq '.layers | length')" "layers of the committed image"
assert_eq "bb" "$(img inspect bb-changed | jq -r .source)" "committed image's source"
cryo delete "$c1"

check_bundle=$TEST_TMP/check
config_bundle "$check_bundle" sh -c 'cat /etc/added 2>&1; cat /etc/hostname; ls /etc/group 2>&1; true'
c2=$(new_id)
out=$(cryo run --bundle "$check_bundle" --image bb-changed "$c2")
assert_contains "$out" "committed" "the committed file"
assert_contains "$out" "new-motd" "the committed change"
assert_contains "$out" "ls: /etc/group: No such file" "the committed delete"
c3=$(new_id)
out=$(cryo run --bundle "$check_bundle" --image bb "$c3")
assert_contains "$out" "can't open '/etc/added': No such file" "the base image has no committed file"
assert_contains "$out" "$TEST_HOSTNAME" "the base image keeps its hostname file"

# A running container: paused during the commit, running afterwards, its process untouched.
sleeper=$TEST_TMP/sleeper
config_bundle "$sleeper" sleep 1000
c4=$(new_id)
cryo run -d --bundle "$sleeper" --image bb-changed "$c4" >/dev/null
wait_status "$c4" running
pid=$(container_pid "$c4")
cryo exec "$c4" sh -c 'echo live > /root/live'
assert_contains "$(cryo commit "$c4" bb-live)" "bb-live 3 layer(s)" "commit of a running container"
assert_eq running "$(container_status "$c4")" "status after commit"
assert_eq "$pid" "$(container_pid "$c4")" "the container's process after commit"
c5=$(new_id)
config_bundle "$TEST_TMP/live" cat /root/live /etc/added
assert_eq "live
committed" "$(cryo run --bundle "$TEST_TMP/live" --image bb-live "$c5")" "the image committed from a running container"

assert_fails_with "image bb-live already exists" cryo commit "$c4" bb-live
assert_contains "$(cryo commit --replace "$c4" bb-live)" "bb-live 3 layer(s)" "commit --replace"
assert_fails_with "invalid" cryo commit "$c4" "bad/../name"
cryo delete --force "$c4"

# Not from an image; no such container.
plain=$TEST_TMP/plain
make_bundle "$plain" sleep 1000
c6=$(new_id)
cryo run -d --bundle "$plain" "$c6" >/dev/null
wait_status "$c6" running
assert_fails_with "was not created from an image" cryo commit --no-pause "$c6" x
assert_eq running "$(container_status "$c6")" "status after a refused commit"
cryo delete --force "$c6"
assert_fails_with "does not exist" cryo commit nosuch-"$TEST_TAG" x

img rm bb bb-changed bb-live >/dev/null
assert_eq "" "$(find "$STORE/layers" "$STORE/containers" -mindepth 1)" "store after removing the images"
