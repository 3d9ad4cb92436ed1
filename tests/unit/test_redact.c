// SPDX-License-Identifier: GPL-2.0
/*
 * The redactor: a string is refused when it holds any 8-byte run of a learned secret that
 * does not also occur in the secret's public strings; redact_buffer masks exactly the
 * bytes such runs cover. Checked run by run and against a brute-force model.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/redact.h"
#include "lib/secmem.h"

#define F '\x01'	/* filler: never in a secret below */

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
/* Every realloc in this binary passes here, so a test can make one fail: over glibc's,
 * and not under ASan, which brings its own. */
#if defined(__GLIBC__) && !defined(ASAN)
#define FAIL_REALLOC 1
extern void *__libc_realloc(void *p, size_t n);
static int realloc_fail_in;	/* fail the nth realloc from now (1: the next); 0: none */

void *realloc(void *p, size_t n)
{
	if (realloc_fail_in && !--realloc_fail_in)
		return NULL;
	return __libc_realloc(p, n);
}
#endif

static int setup(void **state)
{
	(void)state;
	if (secmem_init())
		return -1;
	return redact_init();
}

static int teardown(void **state)
{
	(void)state;
	redact_free();
	return 0;
}

static void add(const char *secret, const char *const *publics)
{
	assert_int_equal(redact_add((const uint8_t *)secret, strlen(secret), publics), 0);
}

static bool contains(const char *s)
{
	return redact_contains(s, strlen(s));
}

/* filler + s[off..off+n) + filler */
static bool contains_piece(const char *s, size_t off, size_t n)
{
	char buf[256];

	assert_true(n + 4 <= sizeof(buf));
	buf[0] = buf[1] = F;
	memcpy(buf + 2, s + off, n);
	buf[n + 2] = buf[n + 3] = F;
	return redact_contains(buf, n + 4);
}

static const char SECRET[] = "correct-horse-battery-staple-42";

static void test_every_run_refused(void **state)
{
	size_t i, n = strlen(SECRET);

	(void)state;
	add(SECRET, NULL);
	for (i = 0; i + REDACT_RUN <= n; i++)
		if (!contains_piece(SECRET, i, REDACT_RUN))
			fail_msg("run at %zu not refused", i);
	/* every longer piece, anywhere in a line */
	for (i = 0; i + REDACT_RUN <= n; i++) {
		size_t k;

		for (k = REDACT_RUN; i + k <= n; k++)
			assert_true(contains_piece(SECRET, i, k));
	}
	assert_true(contains(SECRET));
	assert_true(contains("error: login failed for correct-horse-battery-staple-42 (401)"));
	assert_true(contains("...-battery..."));
	assert_true(redact_contains("zzy-staple", 10));
	assert_false(redact_contains("zzy-staple", 9));	/* n bounds the search */
}

static void test_seven_byte_runs_pass(void **state)
{
	size_t i, n = strlen(SECRET);
	char joined[128], *p = joined;

	(void)state;
	add(SECRET, NULL);
	for (i = 0; i + REDACT_RUN - 1 <= n; i++)
		if (contains_piece(SECRET, i, REDACT_RUN - 1))
			fail_msg("7-byte piece at %zu refused", i);
	/* the whole secret, in 7-byte pieces with a filler between */
	for (i = 0; i < n; i += 7) {
		size_t k = n - i < 7 ? n - i : 7;

		memcpy(p, SECRET + i, k);
		p += k;
		*p++ = F;
	}
	assert_false(redact_contains(joined, p - joined));
	/* its 7-byte tail at the start, 7-byte head at the end */
	assert_false(contains("aple-42 and then correct"));
	assert_false(contains(""));
	assert_false(contains("c"));
}

static void test_short_secrets_ignored(void **state)
{
	(void)state;
	add("1234567", NULL);
	add("", NULL);
	assert_false(contains("1234567"));
	assert_false(contains("12345671234567"));
	assert_false(redact_contains("x", 1));
}

static void test_publics(void **state)
{
	static const char secret[] = "secret/data/app::Zx81-Qp02-Lm77::api_key";
	static const char *const publics[] = { "secret/data/app", "api_key", "lease/0123", NULL };
	size_t i, j, n = strlen(secret);

	(void)state;
	add(secret, publics);
	for (i = 0; i + REDACT_RUN <= n; i++) {
		bool pub = false;

		for (j = 0; publics[j]; j++)
			if (memmem(publics[j], strlen(publics[j]), secret + i, REDACT_RUN))
				pub = true;
		if (contains_piece(secret, i, REDACT_RUN) == pub)
			fail_msg("run at %zu (%.8s): public %d but refused %d", i, secret + i, pub,
				 !pub);
	}
	/* the public strings themselves are printable */
	assert_false(contains("reading secret/data/app field api_key"));
	/* the part only the secret has is not */
	assert_true(contains("::Zx81-Q"));
	assert_true(contains("app::Zx81"));
	/* publics of one secret do not free another's runs */
	add("another-secret/data/app-value", NULL);
	assert_true(contains("secret/data/app"));
}

static void test_buffer_masks_exactly(void **state)
{
	char buf[] = "user=alice pass=correct-horse-battery-staple-42 end";
	char want[sizeof(buf)];
	uint64_t before;

	(void)state;
	memcpy(want, buf, sizeof(buf));
	memset(want + 16, '*', strlen(SECRET));
	add(SECRET, NULL);
	before = redact_count();
	assert_int_equal(redact_buffer(buf, strlen(buf)), strlen(SECRET));
	assert_string_equal(buf, want);
	assert_int_equal(redact_count(), before + 1);
}

static void check_mask(const char *in, const char *want)
{
	char buf[256];
	size_t n = strlen(in), i, masked = 0;

	assert_int_equal(strlen(want), n);
	memcpy(buf, in, n + 1);
	for (i = 0; i < n; i++)
		masked += in[i] != want[i];
	assert_int_equal(redact_buffer(buf, n), masked);
	assert_string_equal(buf, want);
}

static void test_buffer_edges(void **state)
{
	(void)state;
	add("SECRET-ONE-abc", NULL);
	add("TWO:secret:two", NULL);
	/* whole buffer, start, end */
	check_mask("SECRET-ONE-abc", "**************");
	check_mask("SECRET-ONE-abc tail", "************** tail");
	check_mask("head SECRET-ONE-abc", "head **************");
	/* adjacent occurrences, and two different secrets back to back */
	check_mask("SECRET-ONE-abcSECRET-ONE-abc", "****************************");
	check_mask("[SECRET-ONE-abcTWO:secret:two]", "[****************************]");
	check_mask("a SECRET-ONE-abc b TWO:secret:two c", "a ************** b ************** c");
	/* a piece of 8 or more at either end is masked, 7 is not */
	check_mask("xx SECRET-O", "xx ********");
	check_mask("xx SECRET-", "xx SECRET-");
	check_mask("NE-abc xx", "NE-abc xx");
	check_mask("ONE-abc xx", "ONE-abc xx");
	check_mask("-ONE-abc xx", "******** xx");
	/* shorter than a run */
	check_mask("SECRET", "SECRET");
	check_mask("", "");
	/* nothing to mask */
	check_mask("a perfectly ordinary log line", "a perfectly ordinary log line");
}

static void test_buffer_overlapping(void **state)
{
	(void)state;
	/* a secret whose head is its tail: occurrences overlap */
	add("xyzw1234xyzw", NULL);
	check_mask("--xyzw1234xyzw1234xyzw--", "--********************--");
	/* periodic secret: any window of it in a longer periodic run */
	add("abcabcabcabc", NULL);
	check_mask(">abcabcabcabcabcabcabc<", ">*********************<");
	check_mask(">abcabcab<", ">********<");
	check_mask(">abcabca<", ">abcabca<");
}

static void test_untouched_without_secrets(void **state)
{
	char buf[] = "nothing secret here, 0123456789abcdef";
	uint64_t before = redact_count();

	(void)state;
	/* nothing learned yet */
	assert_false(contains(buf));
	assert_int_equal(redact_buffer(buf, strlen(buf)), 0);
	assert_string_equal(buf, "nothing secret here, 0123456789abcdef");
	add(SECRET, NULL);
	assert_false(contains(buf));
	assert_int_equal(redact_buffer(buf, strlen(buf)), 0);
	assert_string_equal(buf, "nothing secret here, 0123456789abcdef");
	assert_int_equal(redact_count(), before);
	/* refusals are counted */
	assert_true(contains(SECRET));
	assert_int_equal(redact_count(), before + 1);
}

static void test_binary_secret(void **state)
{
	static const uint8_t secret[] = { 0, 1, 2, 0, 0xff, 0xfe, 'a', 0, 'b', 0, 0, 7 };
	char buf[32];

	(void)state;
	assert_int_equal(redact_add(secret, sizeof(secret), NULL), 0);
	memset(buf, 'z', sizeof(buf));
	memcpy(buf + 5, secret, sizeof(secret));
	assert_true(redact_contains(buf, sizeof(buf)));
	assert_false(redact_contains(buf, 5 + 7));
	assert_int_equal(redact_buffer(buf, sizeof(buf)), sizeof(secret));
	assert_int_equal(buf[4], 'z');
	assert_int_equal(buf[5], '*');
	assert_int_equal(buf[5 + sizeof(secret) - 1], '*');
	assert_int_equal(buf[5 + sizeof(secret)], 'z');
}

static void test_reinit_forgets(void **state)
{
	(void)state;
	add(SECRET, NULL);
	assert_true(contains(SECRET));
	redact_free();
	assert_false(contains(SECRET));
	assert_int_equal(redact_init(), 0);
	assert_false(contains(SECRET));
}

/* ---- against a brute-force model ---- */

static uint32_t rng = 12345;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void test_model(void **state)
{
	char secrets[4][24], pub[2][16];
	const char *publics[3] = { pub[0], pub[1], NULL };
	int round, k;

	(void)state;
	for (round = 0; round < 300; round++) {
		char buf[160], orig[160];
		bool want[160] = { 0 };
		size_t n = next() % sizeof(buf), i, j, masked = 0;
		bool any = false;

		redact_free();
		assert_int_equal(redact_init(), 0);
		/* a two-letter alphabet makes runs recur, overlap and straddle */
		for (k = 0; k < 4; k++) {
			for (i = 0; i < sizeof(secrets[k]) - 1; i++)
				secrets[k][i] = "ab"[next() & 1];
			secrets[k][sizeof(secrets[k]) - 1] = 0;
		}
		for (k = 0; k < 2; k++) {
			for (i = 0; i < sizeof(pub[k]) - 1; i++)
				pub[k][i] = "ab"[next() & 1];
			pub[k][sizeof(pub[k]) - 1] = 0;
		}
		for (k = 0; k < 4; k++)
			add(secrets[k], k & 1 ? publics : NULL);
		for (i = 0; i < n; i++)
			buf[i] = "abc"[next() % 3];
		memcpy(orig, buf, n);
		for (i = 0; i + REDACT_RUN <= n; i++) {
			bool hit = false;

			for (k = 0; k < 4 && !hit; k++) {
				const char *at = secrets[k];
				size_t left = strlen(secrets[k]);
				const char *q;

				/* a run of secret k at some position not covered by a public */
				while (!hit && (q = memmem(at, left, buf + i, REDACT_RUN))) {
					bool pubrun = false;

					if (k & 1)
						for (j = 0; j < 2; j++)
							if (memmem(pub[j], strlen(pub[j]), q, REDACT_RUN))
								pubrun = true;
					hit = !pubrun;
					left -= q + 1 - at;
					at = q + 1;
				}
			}
			if (hit) {
				any = true;
				for (j = i; j < i + REDACT_RUN; j++)
					want[j] = true;
			}
		}
		assert_int_equal(redact_contains(buf, n), any);
		for (i = 0; i < n; i++)
			masked += want[i];
		assert_int_equal(redact_buffer(buf, n), masked);
		for (i = 0; i < n; i++)
			if (buf[i] != (want[i] ? '*' : orig[i]))
				fail_msg("round %d byte %zu: got %c want %c", round, i, buf[i],
					 want[i] ? '*' : orig[i]);
	}
}

static void test_many_secrets(void **state)
{
	static char s[3000][33];
	char line[80];
	size_t i, j;

	(void)state;
	for (i = 0; i < 3000; i++) {
		for (j = 0; j < 32; j++)
			s[i][j] = 'A' + next() % 26;
		s[i][32] = 0;
		add(s[i], NULL);
	}
	for (i = 0; i < 3000; i++) {
		snprintf(line, sizeof(line), "x=%.9s", s[i] + (i % 24));
		if (!contains(line))
			fail_msg("secret %zu lost after the map grew", i);
	}
	/* lowercase never matches */
	for (i = 0; i < 1000; i++) {
		for (j = 0; j < 40; j++)
			line[j] = 'a' + next() % 26;
		assert_false(redact_contains(line, 40));
	}
}

/* ---- at scale: many runs in the bucketed set ---- */

static uint64_t sm_state;

/* splitmix64: 64 good bits per call, so random text cannot repeat a secret's run */
static uint64_t sm_next(void)
{
	uint64_t z = (sm_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void sm_fill(void *p, size_t n)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(sm_next() >> 56);
}

static bool all_runs_found(const uint8_t *secret, size_t len)
{
	size_t j;

	for (j = 0; j + REDACT_RUN <= len; j++)
		if (!redact_contains((const char *)secret + j, REDACT_RUN))
			return false;
	return true;
}

static bool run_refused(const uint8_t *run)
{
	char buf[REDACT_RUN];
	size_t i;

	if (!redact_contains((const char *)run, REDACT_RUN))
		return false;
	memcpy(buf, run, REDACT_RUN);
	if (redact_buffer(buf, REDACT_RUN) != REDACT_RUN)
		return false;
	for (i = 0; i < REDACT_RUN; i++)
		if (buf[i] != '*')
			return false;
	return true;
}

static void test_many_runs_found_no_false_match(void **state)
{
	enum { N = 2000, MAXLEN = 64, TEXT = 1 << 20 };
	static uint8_t s[N][MAXLEN];
	static size_t len[N];
	char buf[MAXLEN + 4];
	char *text;
	size_t i, j;
	uint64_t before;

	(void)state;
	sm_state = 0x5ec7e7ace;
	for (i = 0; i < N; i++) {
		len[i] = REDACT_RUN + sm_next() % (MAXLEN - REDACT_RUN + 1);
		sm_fill(s[i], len[i]);
		assert_int_equal(redact_add(s[i], len[i], NULL), 0);
	}
	for (i = 0; i < N; i++) {
		for (j = 0; j + REDACT_RUN <= len[i]; j++)
			if (!run_refused(s[i] + j))
				fail_msg("secret %zu: run at %zu not found or not masked", i, j);
		/* the whole secret between fillers: exactly its bytes masked (a random secret
		 * may hold F too; only a false match could mask a filler) */
		buf[0] = buf[1] = F;
		memcpy(buf + 2, s[i], len[i]);
		buf[len[i] + 2] = buf[len[i] + 3] = F;
		assert_int_equal(redact_buffer(buf, len[i] + 4), len[i]);
		for (j = 0; j < len[i]; j++)
			assert_int_equal(buf[j + 2], '*');
		assert_int_equal(buf[0], F);
		assert_int_equal(buf[len[i] + 3], F);
	}
	/* 1 MiB never added: every window is tested (no early hit) and none may match;
	 * ~58,000 runs make a false match ~2e-10 per window */
	text = malloc(TEXT);
	assert_non_null(text);
	sm_state = 0x7e57;
	sm_fill(text, TEXT);
	before = redact_count();
	assert_false(redact_contains(text, TEXT));
	assert_int_equal(redact_buffer(text, TEXT), 0);
	assert_int_equal(redact_count(), before);
	free(text);
}

static void test_duplicates_keep_generation(void **state)
{
	static const char *const all_public[] = { "a string holding this-one-is-public", NULL };
	uint64_t g;

	(void)state;
	assert_int_equal(redact_generation(), 0);
	add(SECRET, NULL);
	g = redact_generation();
	assert_int_equal(g, strlen(SECRET) - REDACT_RUN + 1);	/* its runs are distinct */
	add(SECRET, NULL);
	assert_int_equal(redact_generation(), g);
	/* a piece of a known secret brings no new run */
	add("horse-battery-sta", NULL);
	assert_int_equal(redact_generation(), g);
	/* runs that are all public are not stored */
	add("this-one-is-public", all_public);
	assert_int_equal(redact_generation(), g);
	/* a periodic secret repeats its runs: 5 windows, 3 distinct */
	add("abcabcabcabc", NULL);
	assert_int_equal(redact_generation(), g + 3);
	add("a-new-secret", NULL);
	assert_int_equal(redact_generation(), g + 3 + 5);
	assert_true(contains("a-new-secret"));
}

/* Runs are kept folded (case, and base64's two alphabets): a secret's upper-case hex form
 * and URL-safe base64 form add no run, and are refused all the same. */
static void test_folded_forms_share_runs(void **state)
{
	uint64_t g;

	(void)state;
	add("0123abcdef4567ab", NULL);
	g = redact_generation();
	assert_true(contains("x 0123ABCDEF4567AB y"));
	add("0123ABCDEF4567AB", NULL);
	assert_int_equal(redact_generation(), g);
	add("Zm9v+/Ym+/Fy+/YmF6", NULL);
	g = redact_generation();
	assert_true(contains("Zm9v-_Ym-_Fy-_YmF6"));
	add("Zm9v-_Ym-_Fy-_YmF6", NULL);
	assert_int_equal(redact_generation(), g);
	/* only those: other punctuation still tells runs apart */
	add("key.with.dots", NULL);
	assert_true(contains("KEY.WITH.DOTS"));
	assert_false(contains("key,with,dots"));
}

static void test_reinit_adds_again(void **state)
{
	char buf[] = "pass=correct-horse-battery-staple-42";
	size_t base;

	(void)state;
	base = redact_memory();
	assert_true(base > 0);	/* the bucket headers */
	add(SECRET, NULL);
	assert_true(redact_memory() > base);
	redact_free();
	assert_int_equal(redact_memory(), 0);
	assert_int_equal(redact_generation(), 0);
	/* not initialised: safe, and nothing is found */
	assert_false(contains(SECRET));
	assert_int_equal(redact_buffer(buf, strlen(buf)), 0);
	assert_string_equal(buf, "pass=correct-horse-battery-staple-42");
	add("learned-while-down", NULL);
	assert_int_equal(redact_init(), 0);
	assert_int_equal(redact_memory(), base);
	assert_int_equal(redact_generation(), 0);
	assert_false(contains(SECRET));
	assert_false(contains("learned-while-down"));
	assert_int_equal(redact_buffer(buf, strlen(buf)), 0);
	add(SECRET, NULL);
	assert_true(contains(SECRET));
	assert_int_equal(redact_generation(), strlen(SECRET) - REDACT_RUN + 1);
	assert_int_equal(redact_buffer(buf, strlen(buf)), strlen(SECRET));
	assert_string_equal(buf, "pass=*******************************");
	/* init again without a free: a fresh, empty set */
	assert_int_equal(redact_init(), 0);
	assert_false(contains(SECRET));
	assert_int_equal(redact_memory(), base);
}

static void test_memory_per_run(void **state)
{
	enum { N = 5000, LEN = 47, RUNS = N * (LEN - REDACT_RUN + 1) };
	static uint8_t s[N][LEN];
	size_t base, prev, grew, max_grew = 0, i;
	uint64_t runs;

	(void)state;
	sm_state = 0x3e3;
	base = prev = redact_memory();
	for (i = 0; i < N; i++) {
		sm_fill(s[i], LEN);
		assert_int_equal(redact_add(s[i], LEN, NULL), 0);
		grew = redact_memory() - prev;
		prev += grew;
		if (grew > max_grew)
			max_grew = grew;
	}
	/* distinct 48-bit keys: two of 200,000 random runs share one with p ~ 7e-5 */
	runs = redact_generation();
	assert_true(runs <= RUNS && runs >= RUNS - 10);
	print_message("redact: %zu bytes for %llu runs, %.2f bytes/run besides %zu of "
		      "headers; largest step %zu bytes\n", prev - base, (unsigned long long)runs,
		      (double)(prev - base) / runs, base, max_grew);
	if (prev - base > 6 * runs)
		fail_msg("%zu bytes for %llu runs", prev - base, (unsigned long long)runs);
	/* no step proportional to the whole set: 40 runs grow at most 40 small buckets */
	assert_true(max_grew <= 4096);
	/* and every run is still there after all the inserts shifted the buckets */
	for (i = 0; i < N; i++)
		if (!all_runs_found(s[i], LEN))
			fail_msg("secret %zu lost a run", i);
}

/* 10,000 secrets of 357 bytes, as the benchmark learns: ~53 fingerprints a bucket. */
static void test_production_scale(void **state)
{
	enum { N = 10000, LEN = 357, RUNS = N * (LEN - REDACT_RUN + 1) };
	uint8_t s[LEN];
	size_t base, prev, grew, max_grew = 0, i;
	uint64_t runs;

	(void)state;
	base = prev = redact_memory();
	sm_state = 0x35e6;
	for (i = 0; i < N; i++) {
		sm_fill(s, LEN);
		assert_int_equal(redact_add(s, LEN, NULL), 0);
		grew = redact_memory() - prev;
		prev += grew;
		if (grew > max_grew)
			max_grew = grew;
	}
	runs = redact_generation();
	assert_true(runs <= RUNS && runs >= RUNS - 1000);	/* 48-bit keys: 0.02 collisions expected */
	print_message("redact: %.1f MiB for %llu runs, %.2f bytes/run besides the headers; "
		      "largest step %zu bytes\n", prev / 1048576.0, (unsigned long long)runs,
		      (double)(prev - base) / runs, max_grew);
	/* 4 bytes a run and ~10% slack: the u64map this replaced took 64 MiB here */
	if (prev - base > 5 * runs)
		fail_msg("%zu bytes for %llu runs", prev - base, (unsigned long long)runs);
	assert_true(max_grew <= 16384);
	sm_state = 0x35e6;
	for (i = 0; i < N; i++) {
		sm_fill(s, LEN);
		if (!all_runs_found(s, LEN))
			fail_msg("secret %zu lost a run", i);
	}
}


static void test_realloc_failure_keeps_bucket(void **state)
{
#ifndef FAIL_REALLOC
	(void)state;
	skip();
#else
	enum { N = 5000, LEN = 47, ROUNDS = 50 };
	static uint8_t s[N][LEN];
	void *(*volatile realloc_p)(void *, size_t) = realloc;
	uint8_t extra[LEN];
	void *extra_p;
	int round, failed = 0, ret;
	size_t i, mem;
	uint64_t gen;

	(void)state;
	/* under valgrind, say, realloc is someone else's and cannot be made to fail (called
	 * through a pointer: the compiler turns realloc(NULL, n) into malloc(n)) */
	realloc_fail_in = 1;
	extra_p = realloc_p(NULL, 1);
	realloc_fail_in = 0;
	if (extra_p) {
		free(extra_p);
		skip();
	}
	sm_state = 0xfa11;
	/* ~3 runs a bucket: most buckets a new run lands in are full and hold runs */
	for (i = 0; i < N; i++) {
		sm_fill(s[i], LEN);
		assert_int_equal(redact_add(s[i], LEN, NULL), 0);
	}
	for (round = 0; round < ROUNDS; round++) {
		sm_fill(extra, LEN);
		gen = redact_generation();
		mem = redact_memory();
		realloc_fail_in = 1;
		ret = redact_add(extra, LEN, NULL);
		realloc_fail_in = 0;
		if (!ret)
			continue;	/* every run fit without a realloc */
		assert_int_equal(ret, -ENOMEM);
		failed++;
		assert_int_equal(redact_memory(), mem);
		assert_true(redact_generation() - gen < LEN - REDACT_RUN + 1);
		/* once memory is back the same secret goes in whole */
		assert_int_equal(redact_add(extra, LEN, NULL), 0);
		assert_true(all_runs_found(extra, LEN));
	}
	assert_true(failed > 0);
	/* the buckets whose growth failed lost nothing */
	for (i = 0; i < N; i++)
		if (!all_runs_found(s[i], LEN))
			fail_msg("secret %zu lost a run after a failed realloc", i);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_run_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seven_byte_runs_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_secrets_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_masks_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_overlapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untouched_without_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reinit_forgets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_runs_found_no_false_match, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_keep_generation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folded_forms_share_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reinit_adds_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_per_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_realloc_failure_keeps_bucket, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_production_scale, setup, teardown),
	};

	return cmocka_run_group_tests_name("redact", tests, NULL, NULL);
}
