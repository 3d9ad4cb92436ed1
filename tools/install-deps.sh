#!/usr/bin/env bash
# Installs every Debian package that building, the demo and the tests need.
# Idempotent: installs only what is missing, so `make demo`/`make test` can call it each time.
set -euo pipefail

PACKAGES=(
	# build
	gcc clang llvm make pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev libjansson-dev
	libhttp-parser-dev libsodium-dev libcap-dev libseccomp-dev libmicrohttpd-dev libnghttp2-dev
	libyaml-dev libcurl4-openssl-dev libssl-dev libcapstone-dev libdw-dev
	# tests
	libcmocka-dev libclang-rt-14-dev curl python3 python3-hvac python3-requests iproute2 procps
	util-linux
	# Go agents (tests/agents/go), built by the tests, checked against objdump
	golang-go binutils
	# TLS and HTTP/2 peers
	nghttp2-server gnutls-bin
	# HTTP/2 clients of the HPACK tests (httpx with h2)
	python3-httpx python3-h2
	# real containers for the node modes' tests (podman with runc: crun refuses hybrid cgroups)
	podman runc
	# tests of the outputs: a real syslog receiver (with TLS), a test CA, the event schemas
	rsyslog rsyslog-gnutls openssl python3-jsonschema
	# make kernel-test: Debian's kernels booted under QEMU (TCG) with a busybox initramfs
	qemu-system-x86 busybox-static cpio
	# secretrace report opened in a real browser (headless), with a font for its screenshot
	chromium fonts-dejavu-core
	# bench: a peer's hook, and the copy-out design's matcher
	bpftrace libhyperscan-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root (sudo $0)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
