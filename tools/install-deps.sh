#!/bin/sh
# Install the Debian 12 packages ibackup needs to build and test, when any
# is missing. Runs apt-get only as root; otherwise says what is missing.
# usage: tools/install-deps.sh [build|test]
set -eu
BUILD_PKGS="meson ninja-build gcc pkg-config libusb-1.0-0-dev libssl-dev libplist-dev libsqlite3-dev python3"
# Independent peers used by interop tests (never linked into ibackup),
# clang for the libFuzzer harnesses, sqlite3 and plistutil for checks.
TEST_PKGS="clang libimobiledevice-utils libusbmuxd-tools usbmuxd libplist-utils sqlite3 openssl"

want="$BUILD_PKGS"
[ "${1:-build}" = "test" ] && want="$want $TEST_PKGS"

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
