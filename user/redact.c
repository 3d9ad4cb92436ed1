// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "redact.h"
#include "u64map.h"

static struct u64map runs;
static uint8_t run_key[crypto_shorthash_KEYBYTES];
static uint64_t refused;
static bool ready;

int redact_init(void)
{
	randombytes_buf(run_key, sizeof(run_key));
	ready = true;
	return u64map_init_set(&runs, 1024);
}

void redact_free(void)
{
	u64map_free(&runs);
	sodium_memzero(run_key, sizeof(run_key));
	ready = false;
}

static uint64_t run_hash(const void *p)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, p, REDACT_RUN, run_key);
	return u64map_key(h);
}

static bool in_publics(const uint8_t *run, const char *const *publics)
{
	for (; publics && *publics; publics++)
		if (memmem(*publics, strlen(*publics), run, REDACT_RUN))
			return true;
	return false;
}

int redact_add(const uint8_t *secret, size_t len, const char *const *publics)
{
	size_t i;

	for (i = 0; i + REDACT_RUN <= len; i++) {
		if (in_publics(secret + i, publics))
			continue;
		if (u64map_put(&runs, run_hash(secret + i), 1))
			return -ENOMEM;
	}
	return 0;
}

bool redact_contains(const char *s, size_t n)
{
	size_t i;

	if (!ready || !runs.live)
		return false;
	for (i = 0; i + REDACT_RUN <= n; i++)
		if (u64map_get(&runs, run_hash(s + i), NULL)) {
			refused++;
			return true;
		}
	return false;
}

size_t redact_buffer(char *s, size_t n)
{
	size_t i, done = 0, mask_end = 0, masked = 0;

	if (!ready || !runs.live)
		return 0;
	/* Mask a byte only once no window still to be tested covers it, so every window is
	 * tested on the original bytes. */
	for (i = 0; i + REDACT_RUN <= n; i++) {
		for (; done < i; done++)
			if (done < mask_end)
				s[done] = '*', masked++;
		if (u64map_get(&runs, run_hash(s + i), NULL))
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
	return runs.live;
}

void redact_recount(int64_t n)
{
	refused += n;
}

uint64_t redact_count(void)
{
	return refused;
}
