// SPDX-License-Identifier: GPL-2.0
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strpool.h"

struct pooled {
	uint32_t refs;
	uint8_t in_map;		/* not when another text with the same hash is there */
	char s[];
};

static struct pooled *pooled_of(char *s)
{
	return (struct pooled *)(s - offsetof(struct pooled, s));
}

static uint64_t key_of(const struct strpool *p, const char *s, size_t n)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, (const unsigned char *)s, n, p->key);
	return u64map_key(h);
}

int strpool_init(struct strpool *p)
{
	randombytes_buf(p->key, sizeof(p->key));
	return u64map_init(&p->by_hash, 64);
}

void strpool_free(struct strpool *p)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&p->by_hash, &i, &k, &v))
		free((void *)(uintptr_t)v);
	u64map_free(&p->by_hash);
}

char *strpool_get(struct strpool *p, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	uint64_t key, found;
	struct pooled *e;
	bool taken;

	if (!n)
		return NULL;
	key = key_of(p, s, n);
	taken = u64map_get(&p->by_hash, key, &found);
	if (taken) {
		e = (void *)(uintptr_t)found;
		if (!strcmp(e->s, s)) {
			e->refs++;
			return e->s;
		}
	}
	e = malloc(sizeof(*e) + n + 1);
	if (!e)
		return NULL;
	e->refs = 1;
	memcpy(e->s, s, n + 1);
	/* a text whose hash another holds is kept unshared, outside the map */
	e->in_map = !taken && !u64map_put(&p->by_hash, key, (uintptr_t)e);
	return e->s;
}

void strpool_put(struct strpool *p, char *s)
{
	struct pooled *e;

	if (!s)
		return;
	e = pooled_of(s);
	if (--e->refs)
		return;
	if (e->in_map)
		u64map_del(&p->by_hash, key_of(p, s, strlen(s)));
	free(e);
}
