/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A network output's queue, on disk: the event loop appends events (whole lines), the
 * output's thread reads them in order and forgets them once delivered. Bounded: when full,
 * the oldest segment goes, and its undelivered lines are counted. What is not delivered
 * when the tracer stops stays for the next run with the same spool.
 *
 * Not locked: the caller (net.c) serialises every call but the reader's pread.
 */
#ifndef SECRETRACE_SPOOL_H
#define SECRETRACE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_SEGS 32
#define SPOOL_MIN_BYTES (64 * 1024)

struct spool_seg {
	uint64_t id;		/* file name: %016llx.seg */
	uint64_t bytes;
	uint64_t lines;
};

/* A run of lines the reader took from the head segment. */
struct spool_mark {
	uint64_t gen, id, off, end, lines;
};

struct spool {
	int dirfd, lockfd, tailfd, cursorfd;
	uint64_t max_bytes, seg_max;
	struct spool_seg seg[SPOOL_SEGS];	/* seg[0] is the oldest, seg[nseg - 1] the tail */
	int nseg;
	uint64_t head_off, head_lines;	/* delivered part of seg[0] */
	uint64_t bytes;			/* sum of seg[].bytes */
	uint64_t pending;		/* lines not delivered */
	uint64_t dropped;		/* lines dropped by the bound, in total */
	uint64_t gen;			/* bumped whenever seg[0] is dropped */
	struct spool_mark busy;		/* what the reader has in flight (lines 0: nothing) */
	bool busy_dropped;		/* ... and it was dropped meanwhile */
};

/* Opens (creating) DIR, takes its lock, picks up what a previous run left. */
int spool_open(struct spool *s, const char *dir, uint64_t max_bytes, char *err, size_t errlen);
void spool_close(struct spool *s);
/* Appends len bytes of `lines` complete lines; -errno (nothing appended) on failure. */
int spool_append(struct spool *s, const char *buf, size_t len, uint64_t lines);
/* Where the undelivered lines start: segment, offset and the end of that segment's data.
 * false when nothing is pending. */
bool spool_head(const struct spool *s, struct spool_mark *m);
/* An fd to pread segment id from (the reader's own); -errno if it is gone. */
int spool_open_seg(const struct spool *s, uint64_t id);
/* The reader read m->lines lines up to m->end and is delivering them; false if the head
 * was dropped while it read (read again). */
bool spool_take(struct spool *s, const struct spool_mark *m);
/*
 * The reader is done with its batch: delivered says whether every line of it arrived, lost
 * how many of its lines it gave up on. Returns false when the batch was dropped from the
 * spool while in flight (its undelivered lines are then counted as dropped: the caller
 * forgets the batch).
 */
bool spool_done(struct spool *s, bool delivered, uint64_t undelivered);
uint64_t spool_pending_bytes(const struct spool *s);

#endif
