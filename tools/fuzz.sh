#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer, ASan and UBSan and runs each for N seconds
# (default 60): tests/fuzz/fuzz_learn.c (the learning path), tests/fuzz/fuzz_h2.c (HTTP/2
# frames and HPACK), tests/fuzz/fuzz_correlate.c (events and Vault audit log lines),
# tests/fuzz/fuzz_policy.c (policy files), tests/fuzz/fuzz_gobin.c (Go binaries),
# tests/fuzz/fuzz_files.c (--learn-file's formats), tests/fuzz/fuzz_state.c (the --state-file
# loader), tests/fuzz/fuzz_spool.c (a network output's spool left by an earlier run),
# tests/fuzz/fuzz_hpack.c (the HPACK follower). Exits non-zero if one finds a
# crash, a leak, undefined behaviour or a broken invariant; the reproducer is left in
# build/fuzz/artifacts/ (the learning path), build/fuzz/policy/artifacts/ or
# build/fuzz/<target>/artifacts/. Ends with "fuzz: N passed, M failed", one count per target.
#   tools/fuzz.sh [seconds] [extra libFuzzer flags...]
# FUZZ_TARGETS picks targets (default "learn h2 correlate policy gobin files state spool hpack"; e.g.
# FUZZ_TARGETS=policy to reproduce
# a policy finding). FUZZ_CFLAGS adds compiler flags (e.g.
# -fsanitize-recover=pointer-overflow, with UBSAN_OPTIONS=suppressions=FILE, to get past a
# known finding).
set -euo pipefail

secs=${1:-60}
shift || true
case $secs in
'' | *[!0-9]*) echo "usage: $0 [seconds] [libFuzzer flags...]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build/fuzz
CLANG=${CLANG:-clang}
mkdir -p "$out/corpus" "$out/artifacts"

dict=()
[ -f "$root/tests/fuzz/learn.dict" ] && dict=(-dict="$root/tests/fuzz/learn.dict")

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# new inputs go to build/fuzz/corpus; the checked-in seeds are read, never written
passed=0 failed=0
run_target() {	# name binary workdir seed-corpus dict-args...
	local name=$1 bin=$2 work=$3 seeds=$4 rc
	shift 4
	set +e
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" "${extra[@]}" \
		"$work/corpus" "$seeds"
	rc=$?
	set -e
	if [ $rc -ne 0 ]; then
		echo "fuzz.sh: $name: the fuzzer failed (status $rc); reproducers:" >&2
		ls -1 "$work/artifacts" >&2 || true
		echo "fuzz.sh: $name: FAILED"
		failed=$((failed + 1))
	else
		echo "fuzz.sh: $name: no crash in ${secs}s"
		passed=$((passed + 1))
	fi
}

extra=("$@")
for target in ${FUZZ_TARGETS:-learn h2 correlate policy gobin files state spool hpack}; do
	case $target in
	learn)
		# what the learning path links: learn/http (secmem) and learn/vault; secmem logs
		# through log.c, which redacts (redact.c, u64map.c)
		srcs=(learn/http.c learn/vault.c lib/secmem.c lib/log.c lib/redact.c lib/u64map.c)
		"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
			-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra \
			-I"$root/include" -I"$root/user" ${FUZZ_CFLAGS:-} \
			$(pkg-config --cflags jansson libsodium zlib 2>/dev/null) \
			"$root/tests/fuzz/fuzz_learn.c" "${srcs[@]/#/$root/user/}" \
			-o "$out/fuzz_learn" \
			-lhttp_parser -ljansson -lz -lsodium -lcap
		run_target fuzz_learn "$out/fuzz_learn" "$out" "$root/tests/fuzz/corpus" "${dict[@]}"
		;;
	h2)
		w=$out/h2
		mkdir -p "$w/corpus" "$w/artifacts"
		srcs=(learn/h2.c learn/http.c learn/vault.c lib/secmem.c lib/log.c lib/redact.c
		      lib/u64map.c)
		"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
			-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra \
			-I"$root/include" -I"$root/user" ${FUZZ_CFLAGS:-} \
			$(pkg-config --cflags jansson libsodium zlib 2>/dev/null) \
			"$root/tests/fuzz/fuzz_h2.c" "${srcs[@]/#/$root/user/}" -o "$w/fuzz_h2" \
			-lhttp_parser -ljansson -lz -lsodium -lcap -lnghttp2
		run_target fuzz_h2 "$w/fuzz_h2" "$w" "$root/tests/fuzz/corpus_h2"
		;;
	correlate)
		# correlate reads events and audit lines; fields.c is all it needs of output/
		w=$out/correlate
		mkdir -p "$w/corpus" "$w/artifacts"
		"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
			-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra \
			-I"$root/include" -I"$root/user" ${FUZZ_CFLAGS:-} \
			"$root/tests/fuzz/fuzz_correlate.c" \
			"$root"/user/correlate/{audit,chains,flags,json,print}.c \
			"$root"/user/output/fields.c -o "$w/fuzz_correlate" -ljansson
		run_target fuzz_correlate "$w/fuzz_correlate" "$w" "$root/tests/fuzz/corpus_correlate"
		;;
	policy)
		w=$out/policy
		mkdir -p "$w/corpus" "$w/artifacts"
		"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
			-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra \
			-I"$root/include" -I"$root/user" ${FUZZ_CFLAGS:-} \
			"$root/tests/fuzz/fuzz_policy.c" \
			"$root"/user/policy/{yaml_tree,load,glob,dest,decide}.c -o "$w/fuzz_policy" -lyaml
		run_target fuzz_policy "$w/fuzz_policy" "$w" "$root/tests/fuzz/corpus_policy" \
			-dict="$root/tests/fuzz/policy.dict"
		;;
	gobin)
		# Go binaries: gobin.c with capstone and libdw (not instrumented themselves)
		w=$out/gobin
		mkdir -p "$w/corpus" "$w/artifacts"
		"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
			-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra \
			-I"$root/include" -I"$root/user" ${FUZZ_CFLAGS:-} \
			"$root/tests/fuzz/fuzz_gobin.c" "$root/user/probes/gobin.c" -o "$w/fuzz_gobin" \
			-lcapstone -ldw -lelf
		run_target fuzz_gobin "$w/fuzz_gobin" "$w" "$root/tests/fuzz/corpus_gobin"
		;;
	files)
		# delivered files (--learn-file): file_formats.c with vault.c's item helpers and
		# what the learning path links besides
		w=$out/files
		mkdir -p "$w/corpus" "$w/artifacts"
		srcs=(learn/file_formats.c learn/http.c learn/vault.c lib/secmem.c lib/log.c
			lib/redact.c lib/u64map.c)
		"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
			-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra \
			-I"$root/include" -I"$root/user" ${FUZZ_CFLAGS:-} \
			$(pkg-config --cflags jansson libsodium zlib yaml-0.1 2>/dev/null) \
			"$root/tests/fuzz/fuzz_files.c" "${srcs[@]/#/$root/user/}" -o "$w/fuzz_files" \
			-lhttp_parser -ljansson -lyaml -lz -lsodium -lcap
		run_target fuzz_files "$w/fuzz_files" "$w" "$root/tests/fuzz/corpus_files"
		;;
	state)
		# the state file: dict/state.c with the dictionary it fills (in memory) and the
		# redactor whose runs it keeps
		w=$out/state
		mkdir -p "$w/corpus" "$w/artifacts"
		srcs=(dict/state.c dict/state_write.c dict/keyfile.c dict/dict.c dict/runs.c
			dict/encodings.c dict/huffman.c lib/strpool.c lib/u64map.c lib/redact.c lib/log.c
			lib/secmem.c)
		"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
			-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra \
			-I"$root/include" -I"$root/user" ${FUZZ_CFLAGS:-} \
			$(pkg-config --cflags libbpf libsodium 2>/dev/null) \
			"$root/tests/fuzz/fuzz_state.c" "${srcs[@]/#/$root/user/}" -o "$w/fuzz_state" \
			-lbpf -lsodium -lcap -ljansson
		run_target fuzz_state "$w/fuzz_state" "$w" "$root/tests/fuzz/corpus_state"
		;;
	spool)
		# a network output's spool as a previous run (or a crash) left it
		w=$out/spool
		mkdir -p "$w/corpus" "$w/artifacts"
		"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
			-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra \
			-I"$root/include" -I"$root/user" ${FUZZ_CFLAGS:-} \
			"$root/tests/fuzz/fuzz_spool.c" "$root/user/output/spool.c" -o "$w/fuzz_spool"
		run_target fuzz_spool "$w/fuzz_spool" "$w" "$root/tests/fuzz/corpus_spool"
		;;
	hpack)
		# the HPACK follower (detect/hpack.c) behind h2.c's framing, with a dictionary;
		# uses_report is the harness's own
		w=$out/hpack
		mkdir -p "$w/corpus" "$w/artifacts"
		srcs=(detect/hpack.c learn/h2.c learn/http.c dict/dict.c dict/runs.c dict/encodings.c
		      dict/huffman.c lib/secmem.c lib/log.c lib/redact.c lib/u64map.c lib/strpool.c)
		"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
			-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra \
			-I"$root/include" -I"$root/user" ${FUZZ_CFLAGS:-} \
			$(pkg-config --cflags jansson libsodium zlib 2>/dev/null) \
			"$root/tests/fuzz/fuzz_hpack.c" "${srcs[@]/#/$root/user/}" -o "$w/fuzz_hpack" \
			-lhttp_parser -ljansson -lz -lsodium -lcap -lnghttp2 -lbpf
		run_target fuzz_hpack "$w/fuzz_hpack" "$w" "$root/tests/fuzz/corpus_hpack"
		;;
	*)
		echo "fuzz.sh: unknown target $target (learn, h2, correlate, policy, gobin, files, state, spool, hpack)" >&2
		exit 2
		;;
	esac
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
