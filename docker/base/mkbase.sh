#!/usr/bin/env bash
# Build the offline base image: a minimal Debian 12 (bookworm) root filesystem made with
# debootstrap from the Debian mirror this machine's apt already uses, imported into Docker.
# Nothing is pulled from an image registry. Usage: docker/base/mkbase.sh TAG [TAG...]
# (run as root; docker/lab calls it)
#   LAB_DEBIAN_MIRROR           default: the Debian archive in /etc/apt/sources.list{,.d/*}
#   LAB_DEBIAN_SECURITY_MIRROR  default: the Debian security archive there
# (both apt formats, one-line .list and deb822 .sources: see docker/base/apt-mirror.py)
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 TAG [TAG...]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${LAB_DEBIAN_MIRROR:-}" ]; then
    MIRROR=$LAB_DEBIAN_MIRROR
else
    MIRROR=$(python3 "$here/apt-mirror.py" --root "${LAB_APT_ROOT:-/}" archive) || {
        echo "mkbase: cannot tell which Debian mirror to use (see above)" >&2
        exit 1
    }
fi
if [ -n "${LAB_DEBIAN_SECURITY_MIRROR:-}" ]; then
    SECURITY=$LAB_DEBIAN_SECURITY_MIRROR
else
    SECURITY=$(python3 "$here/apt-mirror.py" --root "${LAB_APT_ROOT:-/}" security) || {
        echo "mkbase: cannot tell which Debian security mirror to use (see above)" >&2
        exit 1
    }
fi
SUITE=bookworm
if [ "${1:-}" = "--print-mirrors" ]; then   # what would be used, and nothing else (tests)
    printf '%s\n%s\n' "$MIRROR" "$SECURITY"
    exit 0
fi
if ! command -v debootstrap >/dev/null; then
    echo "mkbase: debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "mkbase: debootstrap needs root" >&2
    exit 1
fi
dir=$(mktemp -d /var/tmp/myorch-lab-base.XXXXXX)
trap 'rm -rf "$dir"' EXIT
root="$dir/root"
echo "mkbase: debootstrap --variant=minbase $SUITE from $MIRROR (a minute or two)" >&2
if ! debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$dir/debootstrap.log" 2>&1; then
    tail -30 "$dir/debootstrap.log" >&2
    [ -f "$root/debootstrap/debootstrap.log" ] && tail -30 "$root/debootstrap/debootstrap.log" >&2
    echo "mkbase: debootstrap failed" >&2
    exit 1
fi
# apt sources (deb822), the same suites the host uses
rm -f "$root/etc/apt/sources.list"
cat > "$root/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
# container conventions: no service starts from maintainer scripts, no recommends,
# no documentation, no apt caches kept in layers
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cat > "$root/etc/apt/apt.conf.d/90-lab" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT
cat > "$root/etc/dpkg/dpkg.cfg.d/90-lab-nodoc" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
       "$root"/var/log/* "$root"/tmp/* "$root/debootstrap"
: > "$root/etc/hostname"
: > "$root/etc/resolv.conf"
first=$1
shift
tar --numeric-owner -C "$root" -c . | docker import \
    -c 'ENV LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive' -c 'CMD ["/bin/bash"]' \
    -m "debootstrap --variant=minbase $SUITE ($MIRROR)" - "$first" >/dev/null
for t in "$@"; do docker tag "$first" "$t"; done
echo "mkbase: imported $first ($(docker image inspect -f '{{.Size}}' "$first" | awk '{printf "%.0f MB", $1/1e6}'))" >&2
