// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/spool.h"

#define CURSOR_LEN 34	/* "%016x %016x\n": the head segment and the delivered offset in it */

static void seg_name(char *buf, size_t len, uint64_t id)
{
	snprintf(buf, len, "%016" PRIx64 ".seg", id);
}

static int open_seg(const struct spool *s, uint64_t id, int flags)
{
	char name[32];

	seg_name(name, sizeof(name), id);
	return openat(s->dirfd, name, flags | O_CLOEXEC, 0600);
}

int spool_open_seg(const struct spool *s, uint64_t id)
{
	int fd = open_seg(s, id, O_RDONLY);

	return fd < 0 ? -errno : fd;
}

static void unlink_seg(const struct spool *s, uint64_t id)
{
	char name[32];

	seg_name(name, sizeof(name), id);
	unlinkat(s->dirfd, name, 0);
}

static void save_cursor(const struct spool *s)
{
	char buf[CURSOR_LEN + 1];

	if (!s->nseg)
		return;
	snprintf(buf, sizeof(buf), "%016" PRIx64 " %016" PRIx64 "\n", s->seg[0].id, s->head_off);
	/* best effort: a stale cursor only means lines delivered twice after a restart */
	if (pwrite(s->cursorfd, buf, CURSOR_LEN, 0) != CURSOR_LEN)
		return;
}

/* Lines and bytes of an existing segment; also the lines before *off, and *off moved back
 * to the start of its line (a cursor that is not at a line's start is damaged: that line
 * is sent again whole rather than in part). */
static int scan_seg(const struct spool *s, struct spool_seg *g, uint64_t *off, uint64_t *before)
{
	char buf[65536];
	uint64_t pos = 0, start = 0;
	ssize_t n, i;
	int fd = open_seg(s, g->id, O_RDONLY);

	if (fd < 0)
		return -errno;
	g->lines = g->bytes = 0;
	*before = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++)
			if (buf[i] == '\n') {
				g->lines++;
				if (pos + i < *off) {
					(*before)++;
					start = pos + i + 1;
				}
				g->bytes = pos + i + 1;	/* a torn last line is not data */
			}
		pos += n;
	}
	close(fd);
	*off = start;
	return n < 0 ? -errno : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void drop_head(struct spool *s)
{
	struct spool_seg *g = &s->seg[0];
	uint64_t gone = g->lines - s->head_lines;

	if (s->busy.lines && s->busy.id == g->id && s->busy.gen == s->gen) {
		/* the reader's batch stays pending in its hands; spool_done counts what of it
		 * is not delivered */
		gone -= s->busy.lines;
		s->busy_dropped = true;
	}
	s->dropped += gone;
	s->pending -= gone;
	s->bytes -= g->bytes;
	unlink_seg(s, g->id);
	memmove(s->seg, s->seg + 1, (s->nseg - 1) * sizeof(s->seg[0]));
	s->nseg--;
	s->head_off = s->head_lines = 0;
	s->gen++;
}

/* Head segments delivered to their end (or empty: a crash left a torn line alone) that are
 * not the tail are removed: else spool_head would find nothing to read in the head and the
 * lines after it would wait for ever. Also where an earlier run's cursor says so, or the
 * tail could not be truncated and another came after it. */
static void forget_delivered_head(struct spool *s)
{
	while (s->nseg > 1 && s->head_off >= s->seg[0].bytes) {
		s->bytes -= s->seg[0].bytes;
		unlink_seg(s, s->seg[0].id);
		memmove(s->seg, s->seg + 1, (s->nseg - 1) * sizeof(s->seg[0]));
		s->nseg--;
		s->head_off = s->head_lines = 0;
	}
}

/* The segments a previous run left, oldest first, from the cursor on. */
static int load(struct spool *s)
{
	uint64_t ids[SPOOL_SEGS * 4], cur_id = 0, cur_off = 0, before;
	char cur[CURSOR_LEN + 1] = "";
	struct dirent *de;
	int n = 0, i, fd;
	DIR *d;

	fd = dup(s->dirfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		char *end;
		uint64_t id = strtoull(de->d_name, &end, 16);

		if (strlen(de->d_name) != 20 || strcmp(end, ".seg") || !id)
			continue;
		if (n == (int)(sizeof(ids) / sizeof(ids[0]))) {
			unlink_seg(s, id);	/* no run of ours leaves this many */
			continue;
		}
		ids[n++] = id;
	}
	closedir(d);
	qsort(ids, n, sizeof(ids[0]), cmp_u64);
	if (pread(s->cursorfd, cur, CURSOR_LEN, 0) == CURSOR_LEN)
		sscanf(cur, "%" SCNx64 " %" SCNx64, &cur_id, &cur_off);
	for (i = 0; i < n; i++) {
		bool head = !s->nseg && ids[i] == cur_id;
		struct spool_seg g = { .id = ids[i] };
		uint64_t off = head ? cur_off : 0;

		if (ids[i] < cur_id || scan_seg(s, &g, &off, &before)) {
			unlink_seg(s, ids[i]);	/* delivered already, or unreadable */
			continue;
		}
		if (s->nseg == SPOOL_SEGS - 1)
			drop_head(s);	/* more than this run keeps: the oldest go, counted */
		if (head) {
			s->head_off = off;
			s->head_lines = before;
		}
		s->seg[s->nseg++] = g;
		s->bytes += g.bytes;
		s->pending += g.lines - (head ? before : 0);
	}
	return 0;
}

static int new_tail(struct spool *s)
{
	uint64_t id = s->nseg ? s->seg[s->nseg - 1].id + 1 : 1;
	int fd;

	if (s->nseg == SPOOL_SEGS)
		drop_head(s);
	fd = open_seg(s, id, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND);
	if (fd < 0)
		return -errno;
	if (s->tailfd >= 0)
		close(s->tailfd);
	s->tailfd = fd;
	s->seg[s->nseg++] = (struct spool_seg){ .id = id };
	if (s->nseg == 1)
		save_cursor(s);
	return 0;
}

static int open_failed(struct spool *s, int e, const char *dir, const char *why, char *err,
		       size_t errlen)
{
	snprintf(err, errlen, "spool %s: %s", dir, why ? why : strerror(e));
	spool_close(s);
	return -e;
}

int spool_open(struct spool *s, const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->dirfd = s->lockfd = s->tailfd = s->cursorfd = -1;
	s->max_bytes = max_bytes < SPOOL_MIN_BYTES ? SPOOL_MIN_BYTES : max_bytes;
	/* eight segments to the bound: dropping the oldest frees an eighth */
	s->seg_max = s->max_bytes / 8;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return open_failed(s, errno, dir, NULL, err, errlen);
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		return open_failed(s, errno, dir, NULL, err, errlen);
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0)
		return open_failed(s, errno, dir, NULL, err, errlen);
	if (flock(s->lockfd, LOCK_EX | LOCK_NB))
		return open_failed(s, errno, dir, errno == EWOULDBLOCK ?
				   "in use by another secretrace (give each its own --spool-dir)" :
				   NULL, err, errlen);
	s->cursorfd = openat(s->dirfd, "cursor", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->cursorfd < 0)
		return open_failed(s, errno, dir, NULL, err, errlen);
	ret = load(s);
	if (ret)
		return open_failed(s, -ret, dir, NULL, err, errlen);
	while (s->bytes > s->max_bytes && s->nseg > 1)
		drop_head(s);
	forget_delivered_head(s);
	if (s->nseg && s->seg[s->nseg - 1].bytes < s->seg_max) {
		s->tailfd = open_seg(s, s->seg[s->nseg - 1].id, O_WRONLY | O_APPEND);
		/* cut a torn last line off (a crash mid-write) */
		if (s->tailfd >= 0 && ftruncate(s->tailfd, s->seg[s->nseg - 1].bytes)) {
			close(s->tailfd);
			s->tailfd = -1;
		}
	}
	if (s->tailfd < 0 && (ret = new_tail(s)))
		return open_failed(s, -ret, dir, NULL, err, errlen);
	save_cursor(s);
	return 0;
}

void spool_close(struct spool *s)
{
	if (s->tailfd >= 0)
		close(s->tailfd);
	if (s->cursorfd >= 0)
		close(s->cursorfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->dirfd = s->lockfd = s->tailfd = s->cursorfd = -1;
}

int spool_append(struct spool *s, const char *buf, size_t len, uint64_t lines)
{
	struct spool_seg *t;
	size_t done = 0;
	int ret;

	if (!len)
		return 0;
	if (len > s->max_bytes)
		return -EFBIG;
	t = &s->seg[s->nseg - 1];
	if (t->bytes && t->bytes + len > s->seg_max) {
		ret = new_tail(s);
		if (ret)
			return ret;
		forget_delivered_head(s);
	}
	while (s->bytes + len > s->max_bytes && s->nseg > 1)
		drop_head(s);
	t = &s->seg[s->nseg - 1];
	while (done < len) {
		ssize_t n = write(s->tailfd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -ENOSPC;
			/* all or nothing: no torn line for the reader */
			if (ftruncate(s->tailfd, t->bytes))
				return ret;
			return ret;
		}
		done += n;
	}
	t->bytes += len;
	t->lines += lines;
	s->bytes += len;
	s->pending += lines;
	return 0;
}

bool spool_head(const struct spool *s, struct spool_mark *m)
{
	if (!s->pending || !s->nseg)
		return false;
	/* a consumed head that is not the tail was removed by spool_done */
	*m = (struct spool_mark){ .gen = s->gen, .id = s->seg[0].id, .off = s->head_off,
				  .end = s->seg[0].bytes };
	return m->end > m->off;
}

bool spool_take(struct spool *s, const struct spool_mark *m)
{
	if (m->gen != s->gen || !s->nseg || s->seg[0].id != m->id || m->off != s->head_off)
		return false;
	s->busy = *m;
	s->busy_dropped = false;
	return true;
}

bool spool_done(struct spool *s, bool delivered, uint64_t undelivered)
{
	struct spool_seg *g = &s->seg[0];

	if (s->busy_dropped) {
		s->pending -= s->busy.lines;
		s->dropped += undelivered;
		s->busy = (struct spool_mark){ 0 };
		s->busy_dropped = false;
		return false;
	}
	if (!delivered)
		return true;
	s->head_off = s->busy.end;
	s->head_lines += s->busy.lines;
	s->pending -= s->busy.lines;
	s->busy = (struct spool_mark){ 0 };
	if (s->head_off == g->bytes) {
		if (s->nseg > 1) {
			forget_delivered_head(s);	/* and empty ones after it */
		} else if (!ftruncate(s->tailfd, 0)) {
			/* all delivered: start the tail over rather than let it grow */
			s->bytes -= g->bytes;
			g->bytes = g->lines = 0;
			s->head_off = s->head_lines = 0;
		}
	}
	save_cursor(s);
	return true;
}

uint64_t spool_pending_bytes(const struct spool *s)
{
	return s->bytes - s->head_off;
}
