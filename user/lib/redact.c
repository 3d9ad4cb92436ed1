// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "lib/redact.h"

/*
 * A run's keyed 64-bit hash picks one of 2^16 buckets by its top 16 bits and is stored
 * there as the next 32 bits: 48 bits decide a match, 4 bytes per run. Each bucket is its
 * own small sorted array, so the set grows one bucket (a few hundred bytes) at a time and
 * never rehashes, or holds two copies of, the whole set.
 */
#define BUCKET_BITS 16
#define NBUCKETS (1u << BUCKET_BITS)
#define MIN_CAP 4

/* 12 bytes, not 16: 65,536 of them are there from the start. Some 35 runs a bucket with
 * 10,000 secrets (2 M runs); 65,535 at most, which 4 billion runs would need. */
struct bucket {
	uint32_t *fp;		/* sorted, no duplicates; NULL while empty */
	uint16_t len, cap;
} __attribute__((packed, aligned(4)));

static struct bucket *buckets;	/* NBUCKETS headers, calloc'ed at init */
static uint64_t nruns;		/* distinct runs stored: the generation */
static size_t fp_bytes;		/* sum of the arrays' capacities, in bytes */
static uint8_t run_key[crypto_shorthash_KEYBYTES];
_Static_assert(REDACT_KEY_BYTES == crypto_shorthash_KEYBYTES, "the key redact_set_key takes");
static uint64_t refused;
static bool ready;

static void release(void)
{
	size_t i;

	if (buckets)
		for (i = 0; i < NBUCKETS; i++)
			free(buckets[i].fp);
	free(buckets);
	buckets = NULL;
	nruns = 0;
	fp_bytes = 0;
	ready = false;
}

int redact_init(void)
{
	release();	/* a second init without a free must not leak the first set */
	randombytes_buf(run_key, sizeof(run_key));
	buckets = calloc(NBUCKETS, sizeof(*buckets));
	if (!buckets)
		return -ENOMEM;
	ready = true;
	return 0;
}

void redact_free(void)
{
	release();
	sodium_memzero(run_key, sizeof(run_key));
}

/*
 * Runs are hashed folded: ASCII letters to lower case, '-' to '+' and '_' to '/'. Hex in
 * upper and lower case, and base64 in its standard and URL-safe alphabets, then share their
 * runs (10,000 secrets of 8 to 64 bytes: 2.14 M runs instead of 2.58 M), and a folded match
 * refuses a little more, never less.
 */
static uint8_t fold(uint8_t c)
{
	if ((uint8_t)(c - 'A') < 26)
		return c | 0x20;
	return c == '-' ? '+' : c == '_' ? '/' : c;
}

static uint64_t run_hash(const void *p)
{
	const uint8_t *s = p;
	uint8_t folded[REDACT_RUN];
	uint64_t h;
	int i;

	for (i = 0; i < REDACT_RUN; i++)
		folded[i] = fold(s[i]);
	crypto_shorthash((unsigned char *)&h, folded, REDACT_RUN, run_key);
	sodium_memzero(folded, sizeof(folded));
	return h;
}

static struct bucket *bucket_of(uint64_t h)
{
	return &buckets[h >> (64 - BUCKET_BITS)];
}

static uint32_t fingerprint(uint64_t h)
{
	return (uint32_t)(h >> (64 - BUCKET_BITS - 32));
}

/* Index of the first fingerprint >= fp in b (b->len if none). Branch-free: with ~50
 * random fingerprints a bucket, a branch on each comparison is mispredicted half the time. */
static uint32_t lower_bound(const struct bucket *b, uint32_t fp)
{
	const uint32_t *base = b->fp;
	uint32_t n = b->len, half;

	if (!n)
		return 0;
	while (n > 1) {
		half = n / 2;
		base = base[half] < fp ? base + half : base;
		n -= half;
	}
	return base - b->fp + (*base < fp);
}

static bool hash_known(uint64_t h)
{
	const struct bucket *b = bucket_of(h);
	uint32_t fp = fingerprint(h), i = lower_bound(b, fp);

	return i < b->len && b->fp[i] == fp;
}

/*
 * Windows are hashed LOOKAHEAD ahead of their search and their bucket's array fetched into
 * the cache meanwhile: each search is a cache miss, and this way several overlap (1 MiB
 * against 3.5 M runs: ~115 ns a window without, ~55 with). redact_buffer masks only
 * bytes before the window it tests, so the windows hashed ahead still hold original bytes.
 */
#define LOOKAHEAD 8

struct scan {
	const char *s;
	size_t windows;
	uint64_t h[LOOKAHEAD];
};

static uint64_t hash_fetch(const char *p)
{
	uint64_t h = run_hash(p);
	const struct bucket *b = bucket_of(h);

	if (b->fp)	/* the middle, where the search starts */
		__builtin_prefetch(b->fp + b->len / 2);
	return h;
}

static void scan_start(struct scan *sc, const char *s, size_t n)
{
	size_t j;

	sc->s = s;
	sc->windows = n >= REDACT_RUN ? n - REDACT_RUN + 1 : 0;
	for (j = 0; j < sc->windows && j < LOOKAHEAD; j++)
		sc->h[j] = hash_fetch(s + j);
}

/* Does window i hold a learned run? i must go 0, 1, 2, ... up to sc->windows - 1. */
static bool scan_known(struct scan *sc, size_t i)
{
	uint64_t h = sc->h[i % LOOKAHEAD];

	if (i + LOOKAHEAD < sc->windows)
		sc->h[i % LOOKAHEAD] = hash_fetch(sc->s + i + LOOKAHEAD);
	return hash_known(h);
}

/* 0, or -ENOMEM with the bucket as it was. */
static int hash_insert(uint64_t h)
{
	struct bucket *b = bucket_of(h);
	uint32_t fp = fingerprint(h), i = lower_bound(b, fp);

	if (i < b->len && b->fp[i] == fp)
		return 0;
	if (b->len == b->cap) {
		/* ~1.25x: slack stays near a tenth of the set; each step is one bucket's realloc */
		size_t ncap = b->cap < MIN_CAP ? MIN_CAP : b->cap + (b->cap + 3) / 4;
		uint32_t *n;

		if (ncap > UINT16_MAX)
			ncap = UINT16_MAX;
		if (ncap == b->cap)
			return -ENOMEM;	/* a full bucket: not with a keyed hash, in practice */
		n = realloc(b->fp, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		fp_bytes += (ncap - b->cap) * sizeof(*n);
		b->fp = n;
		b->cap = ncap;
	}
	memmove(b->fp + i + 1, b->fp + i, (b->len - i) * sizeof(*b->fp));
	b->fp[i] = fp;
	b->len++;
	nruns++;
	return 0;
}

static bool in_publics(const uint8_t *run, const char *const *publics)
{
	for (; publics && *publics; publics++)
		if (memmem(*publics, strlen(*publics), run, REDACT_RUN))
			return true;
	return false;
}

int redact_add_seen(const uint8_t *secret, size_t len, const char *const *publics,
		    int (*seen)(void *ctx, uint64_t run), void *ctx)
{
	size_t i;

	if (!ready)
		return 0;	/* as before: nothing is indexed, nothing found */
	for (i = 0; i + REDACT_RUN <= len; i++) {
		uint64_t h;

		if (in_publics(secret + i, publics))
			continue;
		h = run_hash(secret + i);
		if (hash_insert(h))
			return -ENOMEM;
		/* the 48 bits that decide a match, as redact_import takes them */
		if (seen && seen(ctx, h >> (64 - BUCKET_BITS - 32)))
			return -ENOMEM;
	}
	return 0;
}

int redact_add(const uint8_t *secret, size_t len, const char *const *publics)
{
	return redact_add_seen(secret, len, publics, NULL, NULL);
}

int redact_set_key(const uint8_t key[REDACT_KEY_BYTES])
{
	if (nruns)
		return -EBUSY;	/* the runs already stored were hashed with the other key */
	memcpy(run_key, key, sizeof(run_key));
	return 0;
}

int redact_import(uint64_t run)
{
	if (!ready)
		return 0;
	if (run >> (BUCKET_BITS + 32))
		return -EINVAL;
	return hash_insert(run << (64 - BUCKET_BITS - 32));
}

bool redact_contains(const char *s, size_t n)
{
	struct scan sc;
	size_t i;

	if (!ready || !nruns)
		return false;
	scan_start(&sc, s, n);
	for (i = 0; i < sc.windows; i++)
		if (scan_known(&sc, i)) {
			refused++;
			return true;
		}
	return false;
}

size_t redact_buffer(char *s, size_t n)
{
	size_t i, done = 0, mask_end = 0, masked = 0;
	struct scan sc;

	if (!ready || !nruns)
		return 0;
	/* Mask a byte only once no window still to be tested covers it, so every window is
	 * tested on the original bytes. */
	scan_start(&sc, s, n);
	for (i = 0; i < sc.windows; i++) {
		for (; done < i; done++)
			if (done < mask_end)
				s[done] = '*', masked++;
		if (scan_known(&sc, i))
			mask_end = i + REDACT_RUN;
	}
	for (; done < n; done++)
		if (done < mask_end)
			s[done] = '*', masked++;
	if (masked)
		refused++;
	return masked;
}

uint64_t redact_generation(void)
{
	return nruns;
}

size_t redact_memory(void)
{
	return buckets ? NBUCKETS * sizeof(*buckets) + fp_bytes : 0;
}

void redact_recount(int64_t n)
{
	refused += n;
}

uint64_t redact_count(void)
{
	return refused;
}
