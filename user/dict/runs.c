// SPDX-License-Identifier: GPL-2.0
/*
 * Each secret's redactor runs, kept with it (with dict_keep_windows, for the state file):
 * the redactor is one set of runs for every secret, so without them the state file could
 * only write the whole set, the runs of forgotten and expired secrets included. 6 bytes a
 * run (the 48 bits that decide a match), sorted, without repeats.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dict/dict.h"
#include "lib/redact.h"

#define RUN_BYTES 6

int run_list_add(void *ctx, uint64_t run)
{
	struct run_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		uint64_t *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = run;
	return 0;
}

static int cmp_run(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int dict_set_runs(struct dict *d, uint32_t idx, struct run_list *l)
{
	struct secret_info *in = &d->infos[d->secrets[idx].link];
	size_t i, n = 0;
	uint8_t *p;

	qsort(l->v, l->n, sizeof(*l->v), cmp_run);
	p = malloc(l->n ? l->n * RUN_BYTES : 1);
	if (!p)
		return -ENOMEM;
	for (i = 0; i < l->n; i++)
		if (!i || l->v[i] != l->v[i - 1])
			memcpy(p + RUN_BYTES * n++, &l->v[i], RUN_BYTES);	/* little-endian */
	free(in->runs);
	in->runs = p;
	in->nruns = n;
	return 0;
}

int dict_restore_runs(struct dict *d, uint32_t idx, const uint8_t *runs, uint32_t n)
{
	uint8_t **to = idx == UINT32_MAX ? &d->loose_runs : &d->infos[d->secrets[idx].link].runs;
	uint32_t *count = idx == UINT32_MAX ? &d->nloose : &d->infos[d->secrets[idx].link].nruns;
	uint8_t *p;
	uint32_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		uint64_t run = 0;

		memcpy(&run, runs + (size_t)RUN_BYTES * i, RUN_BYTES);
		if (redact_import(run))
			return -ENOMEM;
	}
	p = realloc(*to, ((size_t)*count + n) * RUN_BYTES + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p + (size_t)*count * RUN_BYTES, runs, (size_t)n * RUN_BYTES);
	*to = p;
	*count += n;
	return 0;
}
