#!/usr/bin/python3
"""make kernel-test: the real build/secretrace on Debian 12's kernels, booted under QEMU (TCG).

For each flavour (default: amd64 and rt-amd64, Debian's 6.1 and its PREEMPT_RT build, and
6.12-amd64, the 6.12 Debian 12 also carries), the kernel package linux-image-<flavour>
depends on is fetched with `apt-get download` and unpacked with `dpkg -x` into
build/kernel-test/ (nothing is installed on the host). A small initramfs (busybox-static,
and the kernel's own virtio and 9p modules) mounts this machine's root read-only over
virtio-9p, with fresh proc, sys, dev and tmpfs /tmp, /run and /var/lib/secretrace, and runs
tools/kernel-test/guest.sh in it: end-to-end tests (default test_agents.test_curl_kv_to_tcp:
the Vault stand-in, curl as the agent, a leak to a TCP receiver found) against the real
binary, then again with the bounded-loop object forced (SECRETRACE_FORCE_BOUNDED_LOOPS,
docs/kernels.md). The guest prints one line on the serial console, "KERNEL-TEST RESULT:
PASS|FAIL <uname -r> ...", which this script waits for (a timeout, not a sleep), then it
prints "kernel-test: N passed, M failed". Serial logs: build/kernel-test/*.log. Before
booting: tools/kernel-test/stack.py and cfg.py, what 6.1's verifier will say of the objects'
stack and loops, in a second.

  tools/kernel-test/run.py [--flavour F ...] [--tests SUBSTRING] [--timeout S]
"""
import argparse
import lzma
import os
import select
import shutil
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORK = os.path.join(TOP, "build", "kernel-test")
BUSYBOX = "/bin/busybox"
# what the initramfs loads to reach the root: Debian builds virtio and 9p as modules
MODULES = ["virtio_pci", "9pnet_virtio", "9p"]
APPLETS = ["sh", "mount", "mkdir", "insmod", "switch_root", "cat", "echo", "poweroff", "sleep"]
RESULT = "KERNEL-TEST RESULT:"

INIT = r"""#!/bin/sh
# secretrace kernel-test initramfs: this machine's root over 9p, then guest.sh in it
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod /modules/$m || echo "$RESULT FAIL insmod $m"; done
mkdir -p /root
if mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /root; then
	mount -t proc proc /root/proc
	mount -t sysfs sys /root/sys
	mount -t devtmpfs dev /root/dev
	mount -t tmpfs tmp /root/tmp
	mount -t tmpfs run /root/run
	mount -t tmpfs state /root/var/lib/secretrace 2>/dev/null || mount -t tmpfs state /root/var/lib
	# the tree under test, shared on its own: a clone under /tmp or /run is under a tmpfs now
	mkdir -p "/root$st_repo" 2>/dev/null
	mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose repo "/root$st_repo" ||
		echo "$RESULT FAIL cannot mount $st_repo over 9p"
	# the 9p root becomes the root (not a chroot: paths the tracer reports would start
	# with /root); the host's own busybox-static powers off after the tests
	exec switch_root /root /bin/sh -c \
		'/bin/sh "$0/tools/kernel-test/guest.sh" "$0" "$1"; /bin/busybox poweroff -f' \
		"$st_repo" "$st_tests"
else
	echo "$RESULT FAIL cannot mount the host's root over 9p"
fi
poweroff -f
""".replace("$RESULT", RESULT)


def sh(*argv, **kw):
    return subprocess.run(argv, check=True, **kw)


def kernel_package(flavour):
    """The linux-image-6.1.0-N-<flavour> that Debian's linux-image-<flavour> points at."""
    out = subprocess.run(["apt-cache", "depends", "linux-image-" + flavour], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Depends: linux-image-"):
            return line.split()[1]
    raise SystemExit("kernel-test: no kernel package behind linux-image-%s" % flavour)


def unpack(pkg):
    """build/kernel-test/<pkg>/ with the package's files; (vmlinuz, modules dir)."""
    d = os.path.join(WORK, pkg)
    if not os.path.isdir(os.path.join(d, "boot")):
        os.makedirs(d, exist_ok=True)
        got = subprocess.run(["apt-get", "download", "-q", pkg], cwd=d, capture_output=True,
                             text=True)
        if got.returncode:
            raise SystemExit("kernel-test: apt-get download %s: %s" % (pkg, got.stderr.strip()))
        deb = [f for f in os.listdir(d) if f.endswith(".deb")][0]
        sh("dpkg", "-x", deb, ".", cwd=d)
        os.unlink(os.path.join(d, deb))
    release = pkg[len("linux-image-"):]
    return (os.path.join(d, "boot", "vmlinuz-" + release),
            os.path.join(d, "lib", "modules", release))


def ko_bytes(path):
    """A module's ELF: 6.12's packages compress them (.ko.xz), which busybox insmod cannot read."""
    with open(path, "rb") as f:
        data = f.read()
    return lzma.decompress(data) if path.endswith(".xz") else data


def ko_depends(path):
    """The depends= of a module's .modinfo (what modules.dep is made from)."""
    data = ko_bytes(path)
    i = data.find(b"\0depends=")
    if i < 0:
        return []
    value = data[i + 9:data.index(b"\0", i + 1)].decode()
    return [d for d in value.split(",") if d]


def module_order(moddir):
    """MODULES and what they need, each after its dependencies."""
    paths = {}
    for d, _, files in os.walk(os.path.join(moddir, "kernel")):
        for f in files:
            if f.endswith((".ko", ".ko.xz")):
                paths[f[:f.index(".ko")].replace("-", "_")] = os.path.join(d, f)
    with open(os.path.join(moddir, "modules.builtin")) as f:
        builtin = {os.path.basename(line.strip())[:-3].replace("-", "_") for line in f}
    order = []

    def add(name):
        name = name.replace("-", "_")
        if name in order or (name in builtin and name not in paths):
            return
        if name not in paths:
            raise SystemExit("kernel-test: module %s not in %s" % (name, moddir))
        for dep in ko_depends(paths[name]):
            add(dep)
        order.append(name)
    for m in MODULES:
        add(m)
    return [paths[m] for m in order]


def initramfs(pkg, moddir):
    root = os.path.join(WORK, pkg + ".initramfs")
    out = root + ".cpio.gz"
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "proc", "sys", "dev", "modules"):
        os.makedirs(os.path.join(root, d))
    shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
    for a in APPLETS:
        os.symlink("busybox", os.path.join(root, "bin", a))
    names = []
    for path in module_order(moddir):
        names.append(os.path.basename(path).replace(".ko.xz", ".ko"))
        with open(os.path.join(root, "modules", names[-1]), "wb") as f:
            f.write(ko_bytes(path))
    with open(os.path.join(root, "modules.order"), "w") as f:
        f.write("\n".join(names) + "\n")
    with open(os.path.join(root, "init"), "w") as f:
        f.write(INIT)
    os.chmod(os.path.join(root, "init"), 0o755)
    files = subprocess.run(["find", "."], cwd=root, check=True, capture_output=True).stdout
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files,
                          check=True, capture_output=True).stdout
    with open(out, "wb") as f:
        f.write(subprocess.run(["gzip", "-1"], input=cpio, check=True, capture_output=True).stdout)
    shutil.rmtree(root)
    return out


def boot(pkg, vmlinuz, initrd, tests, timeout):
    """Boots, copies the serial console to build/kernel-test/<pkg>.log, returns the result
    line (or a FAIL of its own on timeout or an early exit)."""
    log_path = os.path.join(WORK, pkg + ".log")
    append = ("console=ttyS0 panic=-1 rdinit=/init loglevel=4 st_repo=%s st_tests=%s"
              % (TOP, tests))
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", "2048",
           "-kernel", vmlinuz, "-initrd", initrd, "-append", append, "-no-reboot",
           "-display", "none", "-monitor", "none", "-serial", "stdio",
           "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
           "-virtfs", "local,path=%s,mount_tag=repo,security_model=none,readonly=on,multidevs=remap"
           % TOP]
    start = time.monotonic()
    result = None
    with open(log_path, "wb") as log:
        q = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        buf = b""
        try:
            while result is None:
                left = start + timeout - time.monotonic()
                if left <= 0:
                    result = "%s FAIL timed out after %d s" % (RESULT, timeout)
                    break
                ready, _, _ = select.select([q.stdout], [], [], left)
                if not ready:
                    continue
                chunk = os.read(q.stdout.fileno(), 65536)
                if not chunk:
                    result = "%s FAIL qemu exited (%s) without a result" % (RESULT, q.wait())
                    break
                log.write(chunk)
                log.flush()
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    text = line.decode("utf-8", "replace").strip()
                    if text.startswith(RESULT):
                        result = text
        finally:
            if q.poll() is None:
                try:
                    q.wait(60)      # the guest powers off after its result line
                except subprocess.TimeoutExpired:
                    q.kill()
                    q.wait()
    return result, time.monotonic() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flavour", action="append", help="amd64, rt-amd64, cloud-amd64 ...")
    ap.add_argument("--tests", default="test_agents.test_curl_kv_to_tcp",
                    help="the e2e tests to run in the guest (a substring, as for run.py)")
    ap.add_argument("--timeout", type=int, default=600, help="per kernel, seconds")
    args = ap.parse_args()
    flavours = args.flavour or ["amd64", "rt-amd64", "6.12-amd64"]
    tests = args.tests
    for need in ("qemu-system-x86_64", "cpio", BUSYBOX):
        if not shutil.which(need):
            raise SystemExit("kernel-test: %s missing (tools/install-deps.sh installs it)" % need)
    if not os.access(os.path.join(TOP, "build", "secretrace"), os.X_OK):
        raise SystemExit("kernel-test: build/secretrace missing (make)")
    os.makedirs(WORK, exist_ok=True)
    # what 6.1's verifier will count of each program's stack, before minutes of booting
    # and the loops its CFG check refuses (cfg.py), of both objects: bpf_loop, bounded loops
    objs = [os.path.join(TOP, "build", o) for o in ("secretrace.bpf.o", "secretrace-bounded.bpf.o")]
    for obj in objs:
        subprocess.run([sys.executable, os.path.join(TOP, "tools", "kernel-test", "stack.py"), obj])
    subprocess.run([sys.executable, os.path.join(TOP, "tools", "kernel-test", "cfg.py")] + objs)
    passed = failed = 0
    for flavour in flavours:
        pkg = kernel_package(flavour)
        vmlinuz, moddir = unpack(pkg)
        result, took = boot(pkg, vmlinuz, initramfs(pkg, moddir), tests, args.timeout)
        print("%s (%.0f s): %s" % (pkg, took, result[len(RESULT):].strip()), flush=True)
        if result.startswith(RESULT + " PASS"):
            passed += 1
        else:
            failed += 1
            print("  serial console: %s" % os.path.join(WORK, pkg + ".log"))
    print("kernel-test: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
