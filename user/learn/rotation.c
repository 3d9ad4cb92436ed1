// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dict/dict.h"
#include "learn/rotation.h"
#include "lib/grow.h"
#include "lib/log.h"
#include "output/emit.h"
#include "output/fields.h"

/* What one file held at its last read. */
struct held {
	char *file, *pod_uid;
	uint32_t *idx;
	size_t n;
	uint64_t lease_s;
};

/* A value rotated out of file, to forget at due_ns. */
struct expiring {
	uint32_t idx;
	uint64_t due_ns;
	bool lease;		/* due at its lease's end, not after --rotated-keep */
	char *file, *pod_uid;
};

static struct dict *dict;
static uint64_t keep_ns;
static struct held *held;
static size_t nheld, heldcap;
static struct expiring *due;
static size_t nexp, expcap;

void rotation_init(struct dict *d, uint32_t keep_s)
{
	dict = d;
	keep_ns = keep_s * 1000000000ULL;
}

static bool in(const uint32_t *v, size_t n, uint32_t idx)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == idx)
			return true;
	return false;
}

static void unschedule(size_t i)
{
	free(due[i].file);
	free(due[i].pod_uid);
	due[i] = due[--nexp];
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* idx left h's file: forget it at its lease's end, or --rotated-keep from now. */
static void schedule(const struct held *h, uint32_t idx, uint64_t now)
{
	const struct delivery *v = dict_newest_delivery(dict, idx);
	struct expiring *e;

	if (!v || v->source != SECRET_FROM_FILE)	/* learned elsewhere too: kept */
		return;
	if (grow(&due, &expcap, nexp, sizeof(*due), 16)) {
		st_warn("a secret rotated out of %s stays learned: out of memory", h->file);
		return;
	}
	e = &due[nexp];
	memset(e, 0, sizeof(*e));
	e->idx = idx;
	e->lease = h->lease_s > 0;
	e->due_ns = e->lease ? v->ts_ns + h->lease_s * 1000000000ULL : now + keep_ns;
	e->file = strdup(h->file);
	e->pod_uid = dup_or_null(h->pod_uid);
	if (!e->file || (h->pod_uid && !e->pod_uid)) {
		st_warn("a secret rotated out of %s stays learned: out of memory", h->file);
		free(e->file);
		free(e->pod_uid);
		return;
	}
	nexp++;
}

void rotation_file_read(const char *file, const uint32_t *idx, size_t n, uint64_t lease_s,
			const char *pod_uid)
{
	uint64_t now = now_boot_ns();
	struct held *h = NULL;
	uint32_t *copy = NULL;
	size_t i;

	for (i = 0; i < nheld && !h; i++)
		if (!strcmp(held[i].file, file))
			h = &held[i];
	if (!h) {
		if (!n || grow(&held, &heldcap, nheld, sizeof(*held), 16))
			return;
		h = &held[nheld];
		memset(h, 0, sizeof(*h));
		h->file = strdup(file);
		h->pod_uid = dup_or_null(pod_uid);
		if (!h->file || (pod_uid && !h->pod_uid)) {
			free(h->file);
			free(h->pod_uid);
			st_warn("%s: its rotation is not followed: out of memory", file);
			return;
		}
		nheld++;
	}
	if (n && !(copy = malloc(n * sizeof(*copy)))) {
		st_warn("%s: its rotation is not followed: out of memory", file);
		return;
	}
	if (n)
		memcpy(copy, idx, n * sizeof(*copy));
	for (i = 0; i < h->n; i++)	/* rotated out: kept for its lease or --rotated-keep */
		if (!in(idx, n, h->idx[i]))
			schedule(h, h->idx[i], now);
	for (i = 0; i < nexp;)		/* back (rotated back, or in this file again) */
		if (in(idx, n, due[i].idx))
			unschedule(i);
		else
			i++;
	free(h->idx);
	h->idx = copy;
	h->n = n;
	h->lease_s = lease_s;
}

static void held_free(struct held *h)
{
	free(h->file);
	free(h->pod_uid);
	free(h->idx);
}

void rotation_dir_gone(const char *dir)
{
	uint64_t now = now_boot_ns();
	size_t i = 0, n = strlen(dir);

	while (i < nheld) {
		struct held *h = &held[i];
		size_t j;

		if (strncmp(h->file, dir, n) || h->file[n] != '/') {
			i++;
			continue;
		}
		for (j = 0; j < h->n; j++)
			schedule(h, h->idx[j], now);
		held_free(h);
		held[i] = held[--nheld];
	}
}

static bool held_anywhere(uint32_t idx)
{
	size_t i;

	for (i = 0; i < nheld; i++)
		if (in(held[i].idx, held[i].n, idx))
			return true;
	return false;
}

static void expire(const struct expiring *e)
{
	json_t *ev = ev_new("secret.expire");
	int ret;

	ev_delivery(ev, dict_newest_delivery(dict, e->idx));
	ev_str(ev, "secret.fingerprint", dict_fp(dict, e->idx));
	ev_str(ev, "file.path", e->file);
	ev_str(ev, "secretrace.expire.after", e->lease ? "lease" : "rotated_keep");
	if (e->pod_uid) {
		ev_str(ev, "orchestrator.type", "kubernetes");
		ev_str(ev, "orchestrator.resource.type", "pod");
		ev_str(ev, "orchestrator.resource.id", e->pod_uid);
	}
	ret = dict_forget(dict, e->idx);
	if (ret)
		st_warn("secret %s: the kernel may still report it: %s", dict_fp(dict, e->idx),
			strerror(-ret));
	ev_emit(ev);
}

void rotation_tick(uint64_t now)
{
	size_t i = 0;

	while (i < nexp) {
		if (due[i].due_ns > now) {
			i++;
			continue;
		}
		if (!held_anywhere(due[i].idx))
			expire(&due[i]);
		unschedule(i);
	}
}

void rotation_free(void)
{
	size_t i;

	for (i = 0; i < nheld; i++)
		held_free(&held[i]);
	while (nexp)
		unschedule(0);
	free(held);
	free(due);
	held = NULL;
	due = NULL;
	nheld = heldcap = expcap = 0;
}
