#!/usr/bin/env bash
# Builds the learning-path fuzz target (tests/fuzz/fuzz_learn.c) with libFuzzer, ASan and
# UBSan and runs it for N seconds (default 60). Exits non-zero if it finds a crash, a leak,
# undefined behaviour or a broken invariant; the reproducer is left in build/fuzz/artifacts/.
#   tools/fuzz.sh [seconds] [extra libFuzzer flags...]
# FUZZ_CFLAGS adds compiler flags (e.g. -fsanitize-recover=pointer-overflow, with
# UBSAN_OPTIONS=suppressions=FILE, to get past a known finding).
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

# what the learning path links: learn_http (secmem) and learn_vault; secmem logs through
# log.c, which redacts (redact.c, u64map.c)
srcs=(learn_http.c learn_vault.c secmem.c log.c redact.c u64map.c)
"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra \
	-I"$root/include" -I"$root/user" ${FUZZ_CFLAGS:-} \
	$(pkg-config --cflags jansson libsodium zlib 2>/dev/null) \
	"$root/tests/fuzz/fuzz_learn.c" "${srcs[@]/#/$root/user/}" \
	-o "$out/fuzz_learn" \
	-lhttp_parser -ljansson -lz -lsodium

dict=()
[ -f "$root/tests/fuzz/learn.dict" ] && dict=(-dict="$root/tests/fuzz/learn.dict")

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# new inputs go to build/fuzz/corpus; the checked-in seeds are read, never written
set +e
"$out/fuzz_learn" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
	-print_final_stats=1 -artifact_prefix="$out/artifacts/" "${dict[@]}" "$@" \
	"$out/corpus" "$root/tests/fuzz/corpus"
rc=$?
set -e
if [ $rc -ne 0 ]; then
	echo "fuzz.sh: the fuzzer failed (status $rc); reproducers:" >&2
	ls -1 "$out/artifacts" >&2 || true
	exit $rc
fi
echo "fuzz.sh: no crash in ${secs}s"
