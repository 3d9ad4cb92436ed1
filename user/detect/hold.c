// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>

#include "dict/dict.h"
#include "enrich/procs.h"
#include "output/emit.h"
#include "lib/grow.h"
#include "detect/hold.h"
#include "lib/log.h"
#include "lib/secmem.h"
#include "lib/u64map.h"
#include "policy/uses.h"

#define HOLD_STALE_NS 200000000ULL	/* idle learner, no Vault bytes for this long */

struct held {
	struct st_rec_hdr hdr;
	uint64_t call_id;
	uint32_t hook, gen;
	int32_t fd;
	struct st_sinkinfo si;
	char path[ST_PATH_MAX];
	uint32_t carry_len;	/* the data begins with this many bytes of earlier calls */
	uint32_t nfound;	/* what the kernel reported in this call already */
	uint64_t wait;		/* the Vault reads (in_seq) it waits to have learned */
	uint32_t found[ST_MAX_MATCHES_PER_CALL];
	struct secbuf data;
	struct proc *proc;	/* pinned: known while its process lives, named however late */
	bool open;		/* in `open`: more records of this call may come */
	uint8_t open_ticks;	/* ticks it has been open: a second one means its rest was lost */
	struct held *next;
};

static struct dict *dict;
static struct hold_shared sh;
static struct u64map noted;	/* (call, secret) the kernel reported while holding */
static struct u64map open;	/* call_id -> its held call, until its last record */
static struct held *head, *last;	/* queue of held calls, oldest first */
static uint64_t last_in_seq, last_change_ns, rescanned, dropped;

static void rescan_all(uint64_t upto, bool all);

int hold_init(struct dict *d, const struct hold_shared *shared)
{
	dict = d;
	sh = *shared;
	return u64map_init_set(&noted, 64) || u64map_init(&open, 16) ? -1 : 0;
}

static uint64_t note_key(uint64_t call_id, uint32_t secret)
{
	return u64map_key(call_id * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)secret << 1 | 1));
}

void hold_note_found(uint64_t call_id, uint32_t secret)
{
	/* only while calls may be held: their records come after their matches */
	if (sh.in_seq && *sh.in_seq != *sh.learned_seq &&
	    u64map_put(&noted, note_key(call_id, secret), 1))
		st_debug("no memory to note a match: its held call may report it twice");
}

static void held_free(struct held *h)
{
	if (h->proc)
		procs_unpin(h->proc);
	secbuf_free(&h->data);
	free(h);
}

void hold_free(void)
{
	u64map_free(&noted);
	u64map_free(&open);
	while (head) {
		struct held *h = head;

		head = h->next;
		held_free(h);
	}
	last = NULL;
}

/* Bytes of a held call that cannot be rescanned: counted (bytes_not_rescanned). */
static void drop(const struct st_rec_data *r, const char *why)
{
	dropped += r->len;
	st_debug("%u held bytes of call %llu not rescanned: %s", r->len,
		 (unsigned long long)r->call_id, why);
}

static struct held *held_new(const struct st_rec_data *r)
{
	struct held *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->hdr = r->hdr;
	h->call_id = r->call_id;
	h->hook = r->hook;
	h->gen = r->gen;
	h->fd = r->fd;
	h->si = r->si;
	h->carry_len = r->carry_len;
	h->wait = r->seq;
	memcpy(h->path, r->path, sizeof(h->path));
	h->proc = procs_from_hdr(&r->hdr);
	if (h->proc)
		procs_pin(h->proc);
	if (r->nfound <= ST_MAX_MATCHES_PER_CALL) {
		h->nfound = r->nfound;
		memcpy(h->found, r->found, r->nfound * sizeof(r->found[0]));
	}
	if (!(r->flags & ST_DATA_LAST)) {
		if (u64map_put(&open, u64map_key(r->call_id), (uintptr_t)h)) {
			held_free(h);
			return NULL;
		}
		h->open = true;
	}
	if (last)
		last->next = h;
	else
		head = h;
	last = h;
	return h;
}

void hold_data(const struct st_rec_data *r, bool learner_idle)
{
	struct held *h = NULL;
	uint64_t found;

	/* A call's records are consecutive in its CPU's order only: another CPU's records
	 * may come between them, so the call is found by its id. */
	if (u64map_get(&open, u64map_key(r->call_id), &found))
		h = (struct held *)(uintptr_t)found;
	if (!h && r->offset)	/* its first bytes were rescanned already (given up for lost) */
		drop(r, "its call was rescanned before this record came");
	else if (!h && !(h = held_new(r)))
		drop(r, "no memory to hold it");
	else if (r->offset != h->data.len)
		drop(r, "not where the call's bytes end");
	else if (secbuf_append(&h->data, r->data, r->len))
		drop(r, "no memory to hold it");
	if (h && h->open && (r->flags & ST_DATA_LAST)) {
		u64map_del(&open, u64map_key(h->call_id));
		h->open = false;
	}
	/* Vault reads come in a ring of their own: once those this call waited for are
	 * learned (learned_seq, set by hold_release), it can be rescanned now. */
	if ((r->flags & ST_DATA_LAST) && learner_idle)
		rescan_all(*sh.learned_seq, false);
}

/* What a rescan of one call found: every distinct secret, however many (a response body
 * written out whole holds all of them). */
struct found {
	uint32_t secret, count;
	int64_t offset;
};

struct rescan {
	struct held *h;
	struct found *f;
	size_t n, cap;
	struct u64map at;	/* secret + 1 -> its index in f */
	uint64_t lost;		/* distinct secrets not reported for want of memory */
};

static void on_found(void *ctx, uint32_t idx, uint64_t offset)
{
	struct rescan *rs = ctx;
	const struct secret_entry *e = dict_get(dict, idx);
	uint64_t at;
	int i;

	/* only what the kernel could not know when it scanned this call, and not what lies
	 * wholly in the carry of earlier calls (reported with them) */
	if (!e || e->gen <= rs->h->gen ||
	    offset + (e->len < ST_MAX_SECRET_LEN ? e->len : ST_MAX_SECRET_LEN) <= rs->h->carry_len)
		return;
	for (i = 0; i < (int)rs->h->nfound; i++)
		if (rs->h->found[i] == idx)
			return;
	if (u64map_get(&noted, note_key(rs->h->call_id, idx), NULL))
		return;
	if (u64map_get(&rs->at, (uint64_t)idx + 1, &at)) {
		rs->f[at].count++;
		return;
	}
	if (grow(&rs->f, &rs->cap, rs->n, sizeof(*rs->f), 16) ||
	    u64map_put(&rs->at, (uint64_t)idx + 1, rs->n)) {
		rs->lost++;
		return;
	}
	rs->f[rs->n++] = (struct found){ .secret = idx, .count = 1,
					 .offset = (int64_t)offset - rs->h->carry_len };
}

/* Rescan every queued call with the dictionary as it is now, report, wipe; but (unless
 * all) the calls whose last record has not come yet, or that wait for Vault reads past
 * upto (their answer, in the other ring, not read yet): they stay queued, in order. */
static void rescan_all(uint64_t upto, bool all)
{
	struct held *h, *keep = NULL, **tail = &keep;
	size_t i;

	last = NULL;
	while ((h = head)) {
		struct rescan rs = { .h = h };

		head = h->next;
		if (!all && (h->open || h->wait > upto)) {
			h->next = NULL;
			*tail = last = h;
			tail = &h->next;
			continue;
		}
		if (h->open)	/* the rest of its records, if they come, are counted */
			u64map_del(&open, u64map_key(h->call_id));
		dict_scan(dict, h->data.data, h->data.len, on_found, &rs);
		rescanned += h->data.len;
		for (i = 0; i < rs.n; i++) {
			struct use u = {
				.hdr = &h->hdr, .hook = h->hook, .fd = h->fd, .si = &h->si,
				.path = h->path, .secret = rs.f[i].secret, .count = rs.f[i].count,
				.offset = rs.f[i].offset, .rescanned = true, .proc = h->proc,
			};

			uses_report(&u);
		}
		if (rs.lost) {
			st_warn("a rescan found %llu more secrets than it had memory to report",
				(unsigned long long)rs.lost);
			while (rs.lost--)	/* counted as lost events in tracer.loss */
				ev_emit_failed();
		}
		free(rs.f);
		u64map_free(&rs.at);
		held_free(h);
	}
	head = keep;
}

void hold_release(uint64_t seq)
{
	rescan_all(seq, false);
	/* the calls these notes were for are rescanned (unless one is still coming): start
	 * over (a smaller table) */
	if (!head) {
		u64map_free(&noted);
		u64map_init_set(&noted, 64);
	}
	/* then let the kernel stop holding (if no newer Vault bytes arrived meanwhile); never
	 * back: the reads of two CPUs may come in another order than their seqs */
	__atomic_store_n(sh.hold_bytes, 0, __ATOMIC_RELEASE);
	if (seq > *sh.learned_seq)
		__atomic_store_n(sh.learned_seq, seq, __ATOMIC_RELEASE);
}

void hold_flush(void)
{
	rescan_all(UINT64_MAX, true);
}

/* A call's records are reserved in one run of its program, a pass over the ring (one per
 * loop, after the tick) sees them: one still open at a second tick lost the rest to a full
 * ring (counted there), and is rescanned with what came (a record coming after all is
 * counted, drop()). */
static void close_abandoned(void)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&open, &i, &k, &v)) {
		struct held *h = (struct held *)(uintptr_t)v;

		if (h->open_ticks++) {
			u64map_del(&open, k);
			h->open = false;
		}
	}
}

void hold_tick(uint64_t now, int learner_idle)
{
	uint64_t in = *sh.in_seq;

	close_abandoned();
	if (in != last_in_seq) {
		last_in_seq = in;
		last_change_ns = now;
		return;
	}
	if (in != *sh.learned_seq && learner_idle && now - last_change_ns > HOLD_STALE_NS) {
		st_debug("releasing a hold the learner no longer waits on (seq %llu)",
			 (unsigned long long)in);
		hold_release(in);
	} else if (head && in == *sh.learned_seq && learner_idle) {
		rescan_all(in, false);	/* calls closed above, all their bytes learned */
	}
}

uint64_t hold_rescanned_bytes(void)
{
	return rescanned;
}

uint64_t hold_dropped_bytes(void)
{
	return dropped;
}
