// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>

#include "lib/u64map.h"

#define TOMB UINT64_MAX

static size_t slot_of(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return key & (cap - 1);
}

static int init(struct u64map *m, size_t cap_hint, bool set)
{
	size_t cap = 16;

	while (cap < cap_hint * 2)
		cap <<= 1;
	m->keys = calloc(cap, sizeof(*m->keys));
	m->vals = set ? NULL : calloc(cap, sizeof(*m->vals));
	if (!m->keys || (!set && !m->vals)) {
		free(m->keys);
		free(m->vals);
		m->keys = m->vals = NULL;
		return -ENOMEM;
	}
	m->cap = cap;
	m->used = m->live = 0;
	return 0;
}

int u64map_init(struct u64map *m, size_t cap_hint)
{
	return init(m, cap_hint, false);
}

int u64map_init_set(struct u64map *m, size_t cap_hint)
{
	return init(m, cap_hint, true);
}

void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = m->vals = NULL;
	m->cap = m->used = m->live = 0;
}

static int grow(struct u64map *m)
{
	struct u64map n;
	size_t i;

	/* init doubles the hint: the new table starts half full of live keys at most */
	if (init(&n, m->live + 16, !m->vals))
		return -ENOMEM;
	for (i = 0; i < m->cap; i++)
		if (m->keys[i] && m->keys[i] != TOMB)
			u64map_put(&n, m->keys[i], m->vals ? m->vals[i] : 1);
	u64map_free(m);
	*m = n;
	return 0;
}

int u64map_put(struct u64map *m, uint64_t key, uint64_t val)
{
	size_t i, tomb = SIZE_MAX;

	if (!m->cap && init(m, 16, false))
		return -ENOMEM;
	if ((m->used + 1) * 4 > m->cap * 3 && grow(m))
		return -ENOMEM;
	for (i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			if (m->vals)
				m->vals[i] = val;
			return 0;
		}
		if (m->keys[i] == TOMB && tomb == SIZE_MAX)
			tomb = i;
		if (!m->keys[i])
			break;
	}
	if (tomb != SIZE_MAX)
		i = tomb;
	else
		m->used++;
	m->keys[i] = key;
	if (m->vals)
		m->vals[i] = val;
	m->live++;
	return 0;
}

static size_t find(const struct u64map *m, uint64_t key)
{
	size_t i;

	if (!m->cap)
		return SIZE_MAX;
	for (i = slot_of(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return i;
	return SIZE_MAX;
}

bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val)
{
	size_t i = find(m, key);

	if (i == SIZE_MAX)
		return false;
	if (val)
		*val = m->vals ? m->vals[i] : 1;
	return true;
}

bool u64map_del(struct u64map *m, uint64_t key)
{
	size_t i = find(m, key);

	if (i == SIZE_MAX)
		return false;
	m->keys[i] = TOMB;
	m->live--;
	return true;
}

bool u64map_next(const struct u64map *m, size_t *i, uint64_t *key, uint64_t *val)
{
	for (; *i < m->cap; (*i)++) {
		if (m->keys[*i] && m->keys[*i] != TOMB) {
			*key = m->keys[*i];
			*val = m->vals ? m->vals[*i] : 1;
			(*i)++;
			return true;
		}
	}
	return false;
}
