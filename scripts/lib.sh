# Shared by scripts/demo, scripts/test, scripts/bench: install what is
# missing (Debian packages only) and build.  Source it; do not run it.

RCFS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3

# Packages the build, the demo and the tests need.
RCFS_PKGS="meson ninja-build pkg-config gcc libfuse3-dev fuse3 libcurl4-openssl-dev
libjson-c-dev libpsl-dev libxxhash-dev libwebsockets-dev python3 python3-pytest
python3-websockets attr rsync file procps psmisc
libtesseract-dev tesseract-ocr-eng tesseract-ocr-deu libleptonica-dev libpoppler-glib-dev
libcairo2-dev libseccomp-dev poppler-utils libtiff-tools libnotify-dev dbus python3-dbus
python3-gi"

# install_pkgs [extra packages...]: apt-get only what is not installed yet.
install_pkgs() {
    local missing=()
    for p in $RCFS_PKGS "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "== installing: ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
            "${missing[@]}"
    fi
}

# build DIR [meson options...]: configure once, then build.
build() {
    local dir=$1
    shift
    if [ ! -f "$RCFS_ROOT/$dir/build.ninja" ]; then
        meson setup "$RCFS_ROOT/$dir" "$RCFS_ROOT" "$@" >/dev/null
    fi
    ninja -C "$RCFS_ROOT/$dir" >/dev/null
}
