#!/bin/bash
# Bad input to `cryo image`: each failure is one clear stderr line naming the thing and the
# reason, creates nothing, and leaves the store as it was. Crafted archives (written with
# python3's tarfile) cannot write outside the store.
. "$(dirname "$0")/lib.sh"

store=$TEST_TMP/store
img() { "$CRYO" image "$@" --store "$store"; }
state() { (cd "$store" && find images layers containers tmp -mindepth 1 -maxdepth 1 | sort); }

mkdir -p "$TEST_TMP/src/bin" && cp "$(command -v busybox)" "$TEST_TMP/src/bin/busybox"
tar -C "$TEST_TMP/src" -cJf "$TEST_TMP/good.tar.xz" .
img import good "$TEST_TMP/good.tar.xz" >/dev/null
before=$(state)

check() { # check PART ARGS...: fails with PART on one line, store unchanged
    local part=$1
    shift
    assert_fails_with "$part" img "$@"
    assert_eq "$before" "$(state)" "store after: image $*"
}

check "import good: image good already exists" import good "$TEST_TMP/good.tar.xz"
check "image nope: no such image" inspect nope
check "rm nope: image nope: no such image" rm nope
check "import x: $TEST_TMP/missing" import x "$TEST_TMP/missing"
check 'invalid image name "../x"' import ../x "$TEST_TMP/good.tar.xz"

head -c 20000 "$TEST_TMP/good.tar.xz" > "$TEST_TMP/truncated.tar.xz"
check "import t: $TEST_TMP/truncated.tar.xz" import t "$TEST_TMP/truncated.tar.xz"
head -c 4096 /dev/urandom > "$TEST_TMP/noise.tar"
check "import n: $TEST_TMP/noise.tar" import n "$TEST_TMP/noise.tar"

# Crafted archives: "..", an absolute path, a symlink to the outside then a write through it.
python3 - "$TEST_TMP" <<'PY'
import io, sys, tarfile
tmp = sys.argv[1]
def add(t, name, data=b"pwned", **kw):
    info = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(info, k, v)
    if info.type == tarfile.REGTYPE:
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    else:
        t.addfile(info)
with tarfile.open(tmp + "/dotdot.tar", "w") as t:
    add(t, "bin/ok", b"ok")
    add(t, "../../../../../../.." + tmp + "/escaped-dotdot")
with tarfile.open(tmp + "/absolute.tar", "w") as t:
    add(t, tmp + "/escaped-absolute")
with tarfile.open(tmp + "/symlink.tar", "w") as t:
    add(t, "out", type=tarfile.SYMTYPE, linkname=tmp)
    add(t, "out/escaped-symlink")
with tarfile.open(tmp + "/contained.tar", "w") as t:
    add(t, "bin", type=tarfile.DIRTYPE, mode=0o755)
    add(t, "out", type=tarfile.SYMTYPE, linkname="/../../../bin")
    add(t, "out/escaped-contained")
PY
check 'path with ".." refused' import d "$TEST_TMP/dotdot.tar"
check "absolute path refused" import a "$TEST_TMP/absolute.tar"
[ ! -e "$TEST_TMP/escaped-dotdot" ] && [ ! -e "$TEST_TMP/escaped-absolute" ] || fail "a crafted archive wrote outside the store"
# A symlink to a directory outside, then a write through it: refused (the directory it
# names does not exist inside the layer) ...
check 'entry "out/escaped-symlink": parent: "out" is a symlink to a directory the layer does not have' import s "$TEST_TMP/symlink.tar"
[ ! -e "$TEST_TMP/escaped-symlink" ] || fail "a write through a symlink left the layer"
# ... or contained: "/../../../bin" resolves to the layer's own /bin.
img import c "$TEST_TMP/contained.tar" >/dev/null
[ ! -e /bin/escaped-contained ] || { rm -f /bin/escaped-contained; fail "a write through a symlink reached the host's /bin"; }
layer=$(img inspect c | jq -r '.layers[0].digest' | sed 's/^sha256://')
assert_eq "pwned" "$(cat "$store/layers/$layer/rootfs/bin/escaped-contained")" "the contained write, inside the layer"
img rm c >/dev/null
assert_eq "$before" "$(state)" "store after the contained image is removed"

# An OCI layout with a tampered layer blob: digest mismatch, nothing kept.
layout=$TEST_TMP/layout
mkdir -p "$layout/blobs/sha256"
tar -C "$TEST_TMP/src" -czf "$TEST_TMP/layer.tar.gz" .
put() { local d; d=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$layout/blobs/sha256/$d"; echo "$d"; }
layer_digest=$(put "$TEST_TMP/layer.tar.gz")
diff_id=$(gunzip -c "$TEST_TMP/layer.tar.gz" | sha256sum | cut -d' ' -f1)
jq -n --arg d "sha256:$diff_id" '{architecture:"amd64",os:"linux",config:{Cmd:["/bin/busybox","sh"]},rootfs:{type:"layers",diff_ids:[$d]}}' > "$TEST_TMP/config.json"
config_digest=$(put "$TEST_TMP/config.json")
jq -n --arg c "sha256:$config_digest" --argjson cs "$(stat -c %s "$TEST_TMP/config.json")" \
      --arg l "sha256:$layer_digest" --argjson ls "$(stat -c %s "$TEST_TMP/layer.tar.gz")" \
      '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
        config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},
        layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip",digest:$l,size:$ls}]}' > "$TEST_TMP/manifest.json"
manifest_digest=$(put "$TEST_TMP/manifest.json")
jq -n --arg m "sha256:$manifest_digest" --argjson ms "$(stat -c %s "$TEST_TMP/manifest.json")" \
      '{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$m,size:$ms}]}' > "$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
run_cmd img import oci "$layout"
assert_eq 0 "$STATUS" "import of the OCI layout (stderr: $ERR)"
assert_eq '["/bin/busybox","sh"]' "$(img inspect oci | jq -c .config.cmd)" "cmd from the OCI config"
img rm oci >/dev/null
gunzip -c "$TEST_TMP/layer.tar.gz" | gzip -1 > "$layout/blobs/sha256/$layer_digest" # same content, other bytes
check "digest mismatch" import oci "$layout"
