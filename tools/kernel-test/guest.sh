#!/bin/sh
# Runs inside the guest of tools/kernel-test/run.py, on this machine's root (read-only over
# 9p, /tmp a tmpfs): what the kernel offers, the tracer's start on it, then the e2e tests.
# Prints one line on the console: "KERNEL-TEST RESULT: PASS|FAIL <uname -r> ...".
repo=$1
tests=$2
cd "$repo" || { echo "KERNEL-TEST RESULT: FAIL no $repo"; exit 1; }
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TMPDIR=/tmp PYTHONDONTWRITEBYTECODE=1
# the guest is slower than the host by a factor of ten or more (TCG)
export E2E_TIME_SCALE=${E2E_TIME_SCALE:-10}
ip link set lo up
mkdir -p /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
echo "guest: $(uname -r), $(nproc) CPUs"
# the end of the tracer's -v log (the verifier's) for a start that failed
verbose_tail() {
	build/secretrace -v -o file:/tmp/v.json --key-file /tmp/start.key -- true 2>&1 |
		grep -v '^libbpf: prog .*: relo\|^libbpf: sec\|insn #.*relocated' | tail -60
}
# what the tracer says at start on this kernel (a command that does nothing)
if ! build/secretrace -o file:/tmp/start.json --key-file /tmp/start.key -- true 2>/tmp/start.err; then
	echo "guest: secretrace -- true failed: $(cat /tmp/start.err); the end of -v:"
	verbose_tail
	echo "KERNEL-TEST RESULT: FAIL $(uname -r) secretrace does not start: $(cat /tmp/start.err)"
	exit 1
fi
if ! SECRETRACE_FORCE_BOUNDED_LOOPS=1 build/secretrace -o file:/tmp/start-b.json \
	--key-file /tmp/start.key -- true 2>/tmp/start-b.err; then
	echo "guest: with bounded loops, secretrace -- true failed: $(cat /tmp/start-b.err); -v:"
	(export SECRETRACE_FORCE_BOUNDED_LOOPS=1; verbose_tail)
else
	echo "guest: with bounded loops: $(head -1 /tmp/start-b.json)"
fi
echo "guest: stderr: $(cat /tmp/start.err)"
echo "guest: $(head -1 /tmp/start.json)"
# what runs degraded: the programs or probes tracer.start names as failed, and the warnings
# the tracer gave on stderr (no uprobe_multi links, ...), counted
failed=$(/usr/bin/python3 -c 'import json, sys
v = json.loads(open(sys.argv[1]).readline()).get("secretrace", {}).get("probes_failed")
print((",".join(v) if isinstance(v, list) else v) or "none")' /tmp/start.json 2>/dev/null)
degraded="probes_failed=${failed:-?} warnings=$(grep -c 'warning:' /tmp/start.err)"
# the tests again with the object for kernels without bpf_loop (docs/kernels.md) forced
if ! /usr/bin/python3 tests/e2e/run.py "$tests"; then
	echo "KERNEL-TEST RESULT: FAIL $(uname -r) $degraded (e2e failed)"
elif ! SECRETRACE_FORCE_BOUNDED_LOOPS=1 /usr/bin/python3 tests/e2e/run.py "$tests"; then
	echo "KERNEL-TEST RESULT: FAIL $(uname -r) $degraded (e2e with bounded loops failed)"
else
	echo "KERNEL-TEST RESULT: PASS $(uname -r) $degraded tests=$tests, again with bounded loops"
fi
