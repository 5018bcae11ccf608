#!/bin/sh
# README command 1: build ibackup and run the main job.
#
# With an iPhone/iPad plugged in (and trusted or ready to be trusted) this
# talks to it directly over USB. Without one, it starts the virtual device
# (ibackup-sim) and runs against that instead.
#
# usage: tools/run-backup.sh [BACKUP_DIR]
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DIR=${1:-$ROOT/backups}

tools/install-deps.sh build
if [ ! -d build ]; then
	meson setup build >/dev/null
fi
ninja -C build >/dev/null
IBACKUP=$ROOT/build/cli/ibackup
SIM=$ROOT/build/cli/ibackup-sim

if "$IBACKUP" --transport usb devices --json 2>/dev/null | grep -q '"udid"'; then
	echo "== a device is connected over USB"
	exec "$IBACKUP" --transport usb devices
fi

echo "== no phone on USB: using the virtual device"
SOCK=$(mktemp -u /tmp/ibackup-sim.XXXXXX)
"$SIM" --listen "$SOCK" >"$SOCK.log" 2>&1 &
SIM_PID=$!
trap 'kill $SIM_PID 2>/dev/null; wait $SIM_PID 2>/dev/null; rm -f "$SOCK.log"' EXIT
i=0
until grep -q "^READY " "$SOCK.log" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $SIM_PID 2>/dev/null; then
		cat "$SOCK.log" >&2
		echo "ibackup-sim did not start" >&2
		exit 1
	fi
	sleep 0.1
done
"$IBACKUP" --transport "sim:$SOCK" devices
