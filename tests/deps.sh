#!/usr/bin/env bash
# Install what myorch needs to build and test, from Debian 12 packages.
# As root: installs the missing ones with apt-get. Otherwise: prints the apt line.
set -euo pipefail
PKGS=(build-essential cmake pkg-config libmariadb-dev libinih-dev libzmq3-dev libsqlite3-dev
      libjansson-dev libcmocka-dev mariadb-server mariadb-client python3 iproute2 procps
      haproxy iputils-arping debootstrap nftables iptables
      libmicrohttpd-dev prometheus scdoc libsystemd-dev bash-completion
      libcurl4-openssl-dev etcd-server etcd-client
      chromium chromium-driver python3-selenium)
[ "${MYORCH_DEPS_EXTRA:-}" ] && PKGS+=(${MYORCH_DEPS_EXTRA})
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "myorch: missing packages: ${missing[*]}" >&2
    echo "install them with:  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The server package must not start a system-wide mariadbd: the lab runs its own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
