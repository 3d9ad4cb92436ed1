/* SPDX-License-Identifier: GPL-2.0 */
/* An open-addressing map from nonzero 64-bit keys to 64-bit values; the tracer's one
 * hash table (secrets by fingerprint, in-memory dictionary windows, processes,
 * connections, repeat counters). */
#ifndef SECRETRACE_U64MAP_H
#define SECRETRACE_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys;		/* 0: empty, UINT64_MAX: deleted */
	uint64_t *vals;		/* NULL in a set: every value reads 1 */
	size_t cap;		/* a power of two */
	size_t used;		/* live + deleted slots */
	size_t live;
};

int u64map_init(struct u64map *m, size_t cap_hint);
/* A set: keys only, half the memory (the redactor's millions of runs); values are ignored. */
int u64map_init_set(struct u64map *m, size_t cap_hint);
void u64map_free(struct u64map *m);
/* key must not be 0 or UINT64_MAX; returns -ENOMEM on failure */
int u64map_put(struct u64map *m, uint64_t key, uint64_t val);
bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val);
bool u64map_del(struct u64map *m, uint64_t key);
/* iterate: i starts at 0; returns false at the end */
bool u64map_next(const struct u64map *m, size_t *i, uint64_t *key, uint64_t *val);
/* a key usable in the map from any 64-bit value */
static inline uint64_t u64map_key(uint64_t x)
{
	return x == 0 ? 1 : x == UINT64_MAX ? UINT64_MAX - 1 : x;
}

#endif
