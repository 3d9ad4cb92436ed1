#!/usr/bin/env bash
# Says in one line what building needs and this machine lacks, and how to get it; silent
# (exit 0) when nothing is missing. Run by make before the first compile.
missing=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_hdr() { [ -e "/usr/include/$1" ] || [ -e "/usr/local/include/$1" ] ||
	[ -e "/usr/include/x86_64-linux-gnu/$1" ]; }

have_cmd "${CC:-cc}" || missing+=("gcc")
have_cmd "${CLANG:-clang}" || missing+=("clang")
have_cmd "${BPFTOOL:-bpftool}" || missing+=("bpftool")
have_cmd pkg-config || missing+=("pkg-config")
have_hdr bpf/bpf_helpers.h || missing+=("libbpf-dev")
have_hdr libelf.h || missing+=("libelf-dev")
have_hdr zlib.h || missing+=("zlib1g-dev")
have_hdr jansson.h || missing+=("libjansson-dev")
have_hdr http_parser.h || missing+=("libhttp-parser-dev")
have_hdr sodium.h || missing+=("libsodium-dev")
have_hdr sys/capability.h || missing+=("libcap-dev")
have_hdr seccomp.h || missing+=("libseccomp-dev")
have_hdr microhttpd.h || missing+=("libmicrohttpd-dev")
have_hdr nghttp2/nghttp2.h || missing+=("libnghttp2-dev")
have_hdr yaml.h || missing+=("libyaml-dev")
have_hdr curl/curl.h || missing+=("libcurl4-openssl-dev")
have_hdr openssl/ssl.h || missing+=("libssl-dev")
have_hdr capstone/capstone.h || missing+=("libcapstone-dev")
have_hdr elfutils/libdw.h || missing+=("libdw-dev")

[ ${#missing[@]} -eq 0 ] && exit 0
echo "secretrace: cannot build, missing: ${missing[*]} (Debian packages); 'make deps' installs them (so do 'make demo' and 'make test')" >&2
exit 1
