/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared copies of strings that recur: the Vault request ID, path, namespace, lease and
 * server of a response are the same for each of its (perhaps thousands of) secrets, and a
 * field name recurs in every response from one path. Each distinct string is kept once,
 * with a count of its holders.
 */
#ifndef SECRETRACE_STRPOOL_H
#define SECRETRACE_STRPOOL_H

#include <sodium.h>

#include "lib/u64map.h"

struct strpool {
	struct u64map by_hash;		/* keyed hash of the text -> struct pooled * */
	uint8_t key[crypto_shorthash_KEYBYTES];
};

int strpool_init(struct strpool *p);
/* Frees the pool with the shared strings still held (call strpool_put for the rest). */
void strpool_free(struct strpool *p);
/* A held copy of s (NULL for NULL, for "" and when out of memory): give it back with
 * strpool_put. Not to be written to. */
char *strpool_get(struct strpool *p, const char *s);
void strpool_put(struct strpool *p, char *s);

#endif
