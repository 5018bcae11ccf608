#!/bin/sh
# Build ibackup and run every test: once in a normal build and once with
# AddressSanitizer + UndefinedBehaviorSanitizer. Installs the Debian
# packages it needs (as root). Ends with the line "N passed, N failed".
# Extra arguments are passed to `meson test` (e.g. --suite unit).
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)

tools/install-deps.sh test || exit 1

run_pass() {
	dir=$1; shift
	opts=$1; shift
	if [ ! -d "$dir" ]; then
		# shellcheck disable=SC2086
		meson setup "$dir" $opts >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
	fi
	ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log"; return 1; }
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --num-processes 2 --print-errorlogs "$@" || true
	return 0
}

status=0
run_pass "$ROOT/build-test" "" "$@" || status=1
run_pass "$ROOT/build-test-asan" "-Db_sanitize=address,undefined -Db_lundef=false" "$@" || status=1

python3 tools/summarize-tests.py "$ROOT/build-test" "$ROOT/build-test-asan" || status=1
exit $status
