#!/bin/sh
# A local stand-in for the python:3.12-slim base image, for machines that cannot pull from a
# registry (CI here). It is Debian bookworm -- the release python:3.12-slim is built on -- with
# Debian's own python3 (3.11), venv and pip, made with debootstrap from the Debian mirror apt
# already uses, and imported into the container engine's local storage:
#
#   portal/deploy/offline-base.sh              # prints the image name, e.g. for
#   make image PYTHON_IMAGE=localhost/incident-portal-base:bookworm
#
# Production builds stay on the official image (the Dockerfile's default PYTHON_IMAGE).
# Idempotent: when the image exists already it only prints its name. Needs root (debootstrap).
#   BASE_IMAGE     name to tag (default localhost/incident-portal-base:bookworm)
#   DEBIAN_MIRROR  mirror URI (default: the one apt uses for bookworm, else deb.debian.org)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
engine="$here/engine.sh"
image=${BASE_IMAGE:-localhost/incident-portal-base:bookworm}
suite=bookworm

if "$engine" image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    exit 0
fi

# The mirror apt uses for the plain suite: deb822 files (URIs:/Suites:), then sources.list.
apt_mirror() {
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] || continue
        awk -v suite="$suite" '
            /^[ \t]*$/ { if (uri && found) { print uri; exit } uri = ""; found = 0; next }
            /^URIs:/ { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) found = 1 }
            END { if (uri && found) print uri }' "$file" | head -n 1
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk -v suite="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == suite) { print $(i - 1); exit } }'
}
mirror=${DEBIAN_MIRROR:-$(apt_mirror | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}

command -v debootstrap >/dev/null 2>&1 || {
    echo "offline-base.sh: debootstrap is missing (apt-get install -y debootstrap)" >&2
    exit 1
}

rootfs=$(mktemp -d "${TMPDIR:-/var/tmp}/incident-portal-base.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT
echo "offline-base.sh: debootstrap $suite from $mirror (about a minute)" >&2
debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
    "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
    tail -n 20 "$rootfs.log" >&2
    rm -f "$rootfs.log"
    exit 1
}
rm -f "$rootfs.log"
# Like the official image: pip may install into the system Python, `python` is python3,
# and no package lists or caches are left behind.
rm -f "$rootfs"/usr/lib/python3.*/EXTERNALLY-MANAGED
ln -sf python3 "$rootfs/usr/bin/python"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb
tar -C "$rootfs" -c . | "$engine" import - "$image" >/dev/null
echo "$image"
