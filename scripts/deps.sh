# Debian packages cryo needs, and one function that installs the missing ones.
# Sourced by setup.sh and test.sh; idempotent; quiet unless apt fails (then its log is shown).

# lld: links cryo with src/cryo.order (hot functions first, see src/CMakeLists.txt); the
# build works without it, with a larger resident text.
CRYO_BUILD_DEPS=(cmake g++ make pkg-config libfmt-dev nlohmann-json3-dev libcli11-dev
    libseccomp-dev libcap-dev libgtest-dev libgmock-dev libbenchmark-dev libarchive-dev
    libzstd-dev liblz4-dev lld)
# busybox-static: the test rootfs; iproute2/jq: test scripts; perl-base: fast symlinks in
# make-bundle.sh (essential on Debian, listed for minimal images). iptables: DNAT of
# --publish and NAT of cryo bridges (nft backend is fine); curl: the net_* tests' host client.
CRYO_RUNTIME_DEPS=(busybox-static iproute2 jq perl-base procps iptables curl)
# References the benchmark measures cryo against.
CRYO_BENCH_DEPS=(crun runc hyperfine)
# Only for scripts/test.sh: the .clang-format check.
CRYO_TEST_DEPS=(clang-format)

# cryo_missing_packages PKG...: prints the packages of the list that are not installed.
cryo_missing_packages() {
    local pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
            echo "$pkg"
        fi
    done
}

# cryo_apt_install PKG...: installs what is missing of PKG..., printing one line per batch.
cryo_apt_install() {
    local missing log
    missing=$(cryo_missing_packages "$@")
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "cryo: missing Debian packages (run as root to install):" $missing >&2
        return 1
    fi
    # shellcheck disable=SC2086 # one word per package
    echo "cryo: installing Debian packages:" $missing
    log=$(mktemp /tmp/cryo-apt.XXXXXX)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends $missing; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "cryo: apt-get install failed" >&2
        return 1
    fi
    rm -f "$log"
}

# cryo_install_deps: everything needed to build, test and benchmark cryo.
cryo_install_deps() {
    cryo_apt_install "${CRYO_BUILD_DEPS[@]}" "${CRYO_RUNTIME_DEPS[@]}" "${CRYO_BENCH_DEPS[@]}"
}
