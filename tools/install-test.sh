#!/usr/bin/env bash
# make install-test: `make install` into a temporary DESTDIR (PREFIX=/usr), then the installed
# binary on its own: --version, and a short traced command (root) whose exit status and events
# are checked. Ends with "install: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/secretrace-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/root/usr/sbin/secretrace
pass=0 fail=0

check() {	# check NAME COMMAND...: one test
	local name=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		echo "install: FAIL $name"
		fail=$((fail + 1))
	fi
}

installed() {
	make --no-print-directory install DESTDIR="$tmp/root" PREFIX=/usr >"$tmp/make.log" 2>&1 ||
		{ cat "$tmp/make.log"; return 1; }
	[ -x "$bin" ] && [ "$(stat -c %a "$bin")" = 755 ]
}

version() {
	"$bin" --version >"$tmp/version" 2>&1 && grep -qE '^secretrace [0-9a-z.+-]+$' "$tmp/version" ||
		{ cat "$tmp/version"; return 1; }
}

traced() {	# the command's status, tracer.start first and tracer.stop last with its exit code
	local rc
	"$bin" -o "file:$tmp/events.json" --key-file "$tmp/key" -- /bin/sh -c 'echo hi; exit 7' \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 7 ] || { echo "install: the traced command gave $rc: $(cat "$tmp/err")"; return 1; }
	python3 - "$tmp/events.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
acts = [e["event"]["action"] for e in ev]
assert acts[0] == "tracer.start" and acts[-1] == "tracer.stop", acts
assert ev[-1]["process"]["exit_code"] == 7, ev[-1]
assert "process.start" in acts, acts
PY
}

check "make install DESTDIR=... PREFIX=/usr installs sbin/secretrace, mode 755" installed
check "the installed secretrace --version" version
if [ "$(id -u)" -eq 0 ]; then
	check "the installed secretrace traces a command" traced
fi
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
