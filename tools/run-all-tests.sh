#!/usr/bin/env bash
# Runs every test suite (layout, unit, kernel, install, fuzzing, end-to-end, end-to-end under
# ASan and UBSan) and prints one summary line.
# Each suite prints its own "<suite>: N passed, M failed" line; this adds them up.
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "run-all-tests: the kernel and end-to-end tests need root" >&2; exit 1; }

total_pass=0 total_fail=0 log=$(mktemp)
trap 'rm -f "$log"' EXIT
for suite in layout unit bpftest kernel-test install-test fuzz e2e test-asan; do
	echo "=== $suite"
	make --no-print-directory "$suite" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
	p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
	if [ -z "$line" ]; then
		echo "$suite: did not run to the end (exit $rc)"
		f=1 p=0
	elif [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
		f=1
	fi
	total_pass=$((total_pass + ${p:-0}))
	total_fail=$((total_fail + ${f:-0}))
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
