# image_lib.bash: sourced (after lib.sh) by the image_run_* tests. A private image store per
# test ($STORE, also exported as CRYO_STORE so that `cryo run --image` uses it), and images
# built by the test itself.
#
#   img ARGS...                       cryo image ARGS... --store $STORE
#   import_busybox NAME               imports a busybox rootfs tarball (scripts/make-bundle.sh)
#   import_oci NAME CONFIG_JSON       imports an OCI layout of the busybox rootfs whose image
#                                     config's "config" object is CONFIG_JSON
#   config_bundle DIR ARGS...         a bundle with only config.json (process.args = ARGS)
#   no_mounts_under DIR               fails if anything is mounted under DIR

STORE=$TEST_TMP/store
export CRYO_STORE=$STORE
img() { "$CRYO" image "$@" --store "$STORE"; }

_busybox_tar() {
    if [ ! -f "$TEST_TMP/busybox-rootfs.tar" ]; then
        "$CRYO_SOURCE/scripts/make-bundle.sh" --runtime /nonexistent --hostname "$TEST_HOSTNAME" \
            "$TEST_TMP/busybox-src" >/dev/null || fail "make-bundle.sh failed"
        tar --numeric-owner -C "$TEST_TMP/busybox-src/rootfs" -cf "$TEST_TMP/busybox-rootfs.tar" .
    fi
    echo "$TEST_TMP/busybox-rootfs.tar"
}

import_busybox() {
    img import "$1" "$(_busybox_tar)" >/dev/null || fail "import $1"
}

import_oci() {
    local name=$1 config=$2 layout=$TEST_TMP/layout-$1 tar layer diff_id cfg manifest
    tar=$(_busybox_tar)
    mkdir -p "$layout/blobs/sha256"
    _put() { local d; d=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$layout/blobs/sha256/$d"; echo "$d"; }
    gzip -1 -c "$tar" > "$TEST_TMP/layer-$name.tar.gz"
    layer=$(_put "$TEST_TMP/layer-$name.tar.gz")
    diff_id=$(sha256sum "$tar" | cut -d' ' -f1)
    jq -n --arg d "sha256:$diff_id" --argjson c "$config" \
        '{architecture:"amd64",os:"linux",config:$c,rootfs:{type:"layers",diff_ids:[$d]}}' > "$TEST_TMP/config-$name.json"
    cfg=$(_put "$TEST_TMP/config-$name.json")
    jq -n --arg c "sha256:$cfg" --argjson cs "$(stat -c %s "$TEST_TMP/config-$name.json")" \
          --arg l "sha256:$layer" --argjson ls "$(stat -c %s "$TEST_TMP/layer-$name.tar.gz")" \
          '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
            config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},
            layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip",digest:$l,size:$ls}]}' > "$TEST_TMP/manifest-$name.json"
    manifest=$(_put "$TEST_TMP/manifest-$name.json")
    jq -n --arg m "sha256:$manifest" --argjson ms "$(stat -c %s "$TEST_TMP/manifest-$name.json")" \
          '{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$m,size:$ms}]}' > "$layout/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
    img import "$name" "$layout" >/dev/null || fail "import $name (OCI layout)"
}

# A bundle whose config.json alone matters with --image (its rootfs is not used).
config_bundle() {
    local dir=$1
    shift
    make_bundle "$dir" "$@"
    rm -rf "$dir/rootfs"
    mkdir "$dir/rootfs"
}

no_mounts_under() {
    local left
    left=$(awk -v t="$1" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo)
    [ -z "$left" ] || fail "mounts left under $1: $left"
}
