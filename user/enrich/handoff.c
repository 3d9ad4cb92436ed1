// SPDX-License-Identifier: GPL-2.0
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict/dict.h"
#include "enrich/destination.h"
#include "enrich/handoff.h"
#include "enrich/procs.h"
#include "lib/renamed.h"
#include "lib/u64map.h"
#include "output/emit.h"

#define HANDOFFS_MAX 65536	/* secrets followed; past it new ones are not */
#define WRITES_MAX 4		/* files remembered per secret, the newest kept */

struct write {
	char *path;
	uint64_t ino;
	uint32_t pid, uid;
	char *exe;
};

struct handoff {
	struct write w[WRITES_MAX];	/* oldest first */
	int n;
};

static struct u64map notes;	/* secret + 1 -> struct handoff * */

int handoff_init(void)
{
	return u64map_init(&notes, 64);
}

static void handoff_release(struct handoff *h)
{
	int i;

	for (i = 0; i < h->n; i++) {
		free(h->w[i].path);
		free(h->w[i].exe);
	}
	free(h);
}

void handoff_free(void)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&notes, &i, &k, &v))
		handoff_release((struct handoff *)(uintptr_t)v);
	u64map_free(&notes);
}

void handoff_note(uint32_t secret, const struct proc *writer, const struct sink_view *v)
{
	struct handoff *h;
	struct write *w;
	uint64_t found;
	int i;

	if (!writer || !v->file[0] || v->path_truncated)
		return;
	if (u64map_get(&notes, (uint64_t)secret + 1, &found)) {
		h = (struct handoff *)(uintptr_t)found;
	} else {
		if (notes.live >= HANDOFFS_MAX || !(h = calloc(1, sizeof(*h))))
			return;
		if (u64map_put(&notes, (uint64_t)secret + 1, (uintptr_t)h)) {
			free(h);
			return;
		}
	}
	for (i = 0; i < h->n; i++)
		if (h->w[i].pid == writer->pid && h->w[i].ino == v->ino &&
		    !strcmp(h->w[i].path, v->file))
			return;	/* the same process writing the same file again */
	if (h->n == WRITES_MAX) {
		free(h->w[0].path);
		free(h->w[0].exe);
		memmove(&h->w[0], &h->w[1], sizeof(h->w[0]) * (WRITES_MAX - 1));
		h->n--;
	}
	w = &h->w[h->n];
	w->path = strdup(v->file);
	if (!w->path)
		return;
	h->n++;
	w->ino = v->ino;
	w->pid = writer->pid;
	w->uid = writer->uid;
	w->exe = writer->exe ? strdup(writer->exe) : NULL;
}

/* Where the file is now: renamed over its target, it is found again by its inode. */
static void resolve(struct write *h)
{
	char now[PATH_MAX];

	char *p;

	if (h->ino && !renamed_path(h->path, h->ino, now, sizeof(now)) && strcmp(now, h->path) &&
	    (p = strdup(now))) {
		free(h->path);
		h->path = p;
	}
}

void handoff_enrich(json_t *ev, uint32_t secret, const struct proc *user,
		    const struct delivery *d)
{
	struct write *newest = NULL;
	struct handoff *h;
	json_t *files;
	uint64_t found;
	char uid[16];
	int i;

	/* a process that had it from Vault itself: no hand-off */
	if (!user || (d && d->pid == user->pid) ||
	    !u64map_get(&notes, (uint64_t)secret + 1, &found))
		return;
	h = (struct handoff *)(uintptr_t)found;
	files = json_array();
	for (i = 0; i < h->n; i++) {
		if (h->w[i].pid == user->pid)	/* its own writes are not where it had it */
			continue;
		resolve(&h->w[i]);
		newest = &h->w[i];
		json_array_append_new(files, json_string(h->w[i].path));
	}
	if (!newest) {
		json_decref(files);
		return;
	}
	snprintf(uid, sizeof(uid), "%u", newest->uid);
	ev_str(ev, "secretrace.delivery.file", newest->path);
	ev_int(ev, "secretrace.delivery.process.pid", newest->pid);
	ev_str(ev, "secretrace.delivery.process.executable", newest->exe);
	ev_str(ev, "secretrace.delivery.user.id", uid);
	/* written to several files: which one it was read from is not seen, all are named */
	if (json_array_size(files) > 1)
		ev_set(ev, "secretrace.delivery.files", files);
	else
		json_decref(files);
}
