// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "output/format.h"
#include "output/net.h"
#include "lib/thread.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define BACKOFF_DRAIN_MS 250	/* while stopping: retry often, the deadline is near */
#define BUF_FLUSH (1024 * 1024)	/* the event loop's buffer goes to the spool past this */
#define JOIN_GRACE_NS 2000000000ULL

uint64_t sink_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static struct timespec abs_time(uint64_t ns)
{
	return (struct timespec){ .tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL };
}

/* Waits on c (monotonic) until ns, or forever when ns is 0. */
static void wait_until(struct sink_net *s, pthread_cond_t *c, uint64_t ns)
{
	struct timespec ts = abs_time(ns);

	if (ns)
		pthread_cond_timedwait(c, &s->lock, &ts);
	else
		pthread_cond_wait(c, &s->lock);
}

bool sink_net_stopping(const struct sink_net *s)
{
	return __atomic_load_n(&s->stopping, __ATOMIC_RELAXED);
}

int sink_net_wait(struct sink_net *s, int fd, short events, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = s->stop_efd, .events = POLLIN } };
	int n;

	do
		n = poll(p, 2, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (p[1].revents || sink_net_stopping(s))
		return -ECANCELED;
	return n;
}

/* Under lock. */
static void set_status(struct sink_net *s, bool down, const char *why)
{
	char was[sizeof(s->status)];

	if (down == s->down)
		return;
	s->down = down;
	/* up again before the outage was reported (the event loop was draining): both in one */
	if (!down && s->status_new) {
		memcpy(was, s->status, sizeof(was));
		snprintf(s->status, sizeof(s->status),
			 "could not deliver (events waited in its spool): %.150s; %s", was, why);
	} else {
		snprintf(s->status, sizeof(s->status), "%s", why);
	}
	s->status_new = true;
}

/* Under lock: whether a batch should go now; else *until is when it will (0: on new data). */
static bool batch_due(struct sink_net *s, uint64_t *until)
{
	uint64_t now;

	*until = 0;
	if (!s->spool.pending)
		return false;
	if (!s->t->batches || s->draining || s->spool.pending >= s->batch_events ||
	    spool_pending_bytes(&s->spool) >= s->batch_bytes)
		return true;
	now = sink_now_ns();
	if (now >= s->first_ns + s->batch_ms * 1000000ULL)
		return true;
	*until = s->first_ns + s->batch_ms * 1000000ULL;
	return false;
}

static int grow(struct sink_batch *b, size_t bytes, size_t lines)
{
	if (bytes > b->cap) {
		char *p = realloc(b->data, bytes);

		if (!p)
			return -ENOMEM;
		b->data = p;
		b->cap = bytes;
	}
	if (lines > b->cap_lines) {
		struct sink_line *l = realloc(b->line, lines * sizeof(*l));

		if (!l)
			return -ENOMEM;
		b->line = l;
		b->cap_lines = lines;
	}
	return 0;
}

/*
 * Reads the batch that starts at m from the spool (no lock held: the segment file is only
 * appended to meanwhile, or unlinked, which an open fd survives). m->end and m->lines are
 * set to what was taken: whole lines, at most batch_events of them and about batch_bytes.
 */
static int read_batch(struct sink_net *s, struct sink_batch *b, struct spool_mark *m, int *rfd,
		      uint64_t *rfd_id)
{
	size_t want = m->end - m->off, got = 0, i, start = 0;
	ssize_t n;

	if (want > s->batch_bytes)
		want = s->batch_bytes;
	if (*rfd < 0 || *rfd_id != m->id) {
		if (*rfd >= 0)
			close(*rfd);
		*rfd = spool_open_seg(&s->spool, m->id);
		if (*rfd < 0)
			return *rfd;
		*rfd_id = m->id;
	}
	b->n = 0;
	b->unreadable = 0;
	for (;;) {
		if (grow(b, want, s->batch_events))
			return -ENOMEM;
		while (got < want) {
			n = pread(*rfd, b->data + got, want - got, m->off + got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			got += n;
		}
		for (i = start; i < got && b->n < s->batch_events; i++) {
			if (b->data[i] != '\n')
				continue;
			b->line[b->n++] = (struct sink_line){ .p = b->data + start, .len = i - start };
			start = i + 1;
		}
		/* one line longer than batch_bytes: read on to its end */
		if (b->n || want == m->end - m->off)
			break;
		want = want * 2 < m->end - m->off ? want * 2 : m->end - m->off;
	}
	if (!b->n)
		return -EIO;	/* no whole line: the spool is damaged */
	m->end = m->off + start;
	m->lines = b->n;
	return 0;
}

static size_t left(const struct sink_batch *b)
{
	size_t i, n = 0;

	for (i = 0; i < b->n; i++)
		n += !b->line[i].done;
	return n;
}

/* Under lock: sleep ms, or at least what the receiver asked for (at_least_ms, already
 * capped by the transport), before the next attempt, unless stopping. */
static void backoff(struct sink_net *s, unsigned *ms, unsigned at_least_ms)
{
	uint64_t until;

	*ms = *ms ? *ms * 2 : BACKOFF_MIN_MS;
	if (*ms > BACKOFF_MAX_MS)
		*ms = BACKOFF_MAX_MS;
	if (s->draining && *ms > BACKOFF_DRAIN_MS)
		*ms = BACKOFF_DRAIN_MS;
	until = sink_now_ns() + (*ms > at_least_ms ? *ms : at_least_ms) * 1000000ULL;
	while (!sink_net_stopping(s) && sink_now_ns() < until)
		wait_until(s, &s->wake, until);
}

static void *worker(void *arg)
{
	struct sink_net *s = arg;
	struct sink_batch b = { 0 };
	uint64_t until, rfd_id = 0, lost[SINK_LOSS_MAX];
	unsigned backoff_ms = 0, k;
	char err[200];
	int rfd = -1, ret;

	pthread_mutex_lock(&s->lock);
	while (!sink_net_stopping(s)) {
		if (!b.n) {
			struct spool_mark m;

			if (!batch_due(s, &until) || !spool_head(&s->spool, &m)) {
				wait_until(s, &s->wake, until);
				continue;
			}
			pthread_mutex_unlock(&s->lock);
			ret = read_batch(s, &b, &m, &rfd, &rfd_id);
			pthread_mutex_lock(&s->lock);
			if (ret && m.gen != s->spool.gen) {
				b.n = 0;	/* its segment was dropped meanwhile */
				continue;
			}
			if (ret) {
				b.n = 0;
				snprintf(err, sizeof(err), "reading the spool: %s", strerror(-ret));
				set_status(s, true, err);
				backoff(s, &backoff_ms, 0);
				continue;
			}
			if (!spool_take(&s->spool, &m)) {
				b.n = 0;	/* dropped while it was read: read the new head */
				continue;
			}
		}
		pthread_mutex_unlock(&s->lock);
		memset(lost, 0, sizeof(lost));
		err[0] = 0;
		b.retry_after_ms = 0;
		ret = s->t->send(s, &b, lost, err, sizeof(err));
		pthread_mutex_lock(&s->lock);
		for (k = 0; k < SINK_LOSS_MAX; k++)
			s->lost[k] += lost[k];
		if (!spool_done(&s->spool, !left(&b), left(&b)) || !left(&b)) {
			b.n = 0;
			if (!s->spool.pending)
				s->first_ns = 0;
			pthread_cond_broadcast(&s->progress);
		}
		if (ret && !sink_net_stopping(s)) {
			set_status(s, true, err[0] ? err : "not delivered");
			backoff(s, &backoff_ms, b.retry_after_ms);
		} else if (!ret) {
			set_status(s, false, "delivering again");
			backoff_ms = 0;
		}
	}
	/* stopping with a batch in hands: it stays in the spool, unless it was dropped */
	if (b.n)
		spool_done(&s->spool, false, left(&b));
	pthread_cond_broadcast(&s->progress);
	pthread_mutex_unlock(&s->lock);
	if (rfd >= 0)
		close(rfd);
	free(b.data);
	free(b.line);
	return NULL;
}

struct sink_net *sink_net_new(const char *name, const struct sink_transport *t, void *ctx,
			      const char *spool_dir, const struct sinks_cfg *c, char *err,
			      size_t errlen)
{
	struct sink_net *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;

	if (!s) {
		t->free(ctx);
		snprintf(err, errlen, "output %s: out of memory", name);
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->t = t;
	s->ctx = ctx;
	s->batch_events = c->batch_events ? c->batch_events : 1;
	s->batch_bytes = c->batch_bytes ? c->batch_bytes : 1;
	s->batch_ms = c->batch_ms;
	s->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_efd < 0 || spool_open(&s->spool, spool_dir, c->spool_max, err, errlen)) {
		if (s->stop_efd < 0)
			snprintf(err, errlen, "output %s: eventfd: %s", name, strerror(errno));
		if (s->stop_efd >= 0)
			close(s->stop_efd);
		t->free(ctx);
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_cond_init(&s->progress, &ca);
	pthread_condattr_destroy(&ca);
	if (s->spool.pending)	/* left by an earlier run: due now */
		s->first_ns = 1;
	return s;
}

static void start(struct sink_net *s)
{
	s->started = !thread_start(&s->thread, worker, s);
	if (!s->started) {
		pthread_mutex_lock(&s->lock);
		set_status(s, true, "cannot start its thread");
		pthread_mutex_unlock(&s->lock);
	}
}

void sink_net_write(struct sink_net *s, const char *line, size_t len)
{
	size_t was = s->buf.len;

	if (sink_buf_add(&s->buf, line, len) || sink_buf_add(&s->buf, "\n", 1)) {
		s->buf.len = was;
		pthread_mutex_lock(&s->lock);
		s->lost[SINK_LOSS_SPOOL_FAILED]++;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	s->lines++;
	if (s->buf.len >= BUF_FLUSH)
		sink_net_flush(s);
}

/* Under lock: the event loop's lines into the spool, a segment's worth at a time. */
static void to_spool(struct sink_net *s)
{
	size_t off = 0, chunk, end;
	uint64_t lines;
	int ret;

	while (off < s->buf.len) {
		chunk = 0;
		lines = 0;
		do {
			end = (char *)memchr(s->buf.p + off + chunk, '\n', s->buf.len - off - chunk) -
			      (s->buf.p + off);
			chunk = end + 1;
			lines++;
		} while (off + chunk < s->buf.len && chunk < s->spool.seg_max / 2);
		if (!s->spool.pending)
			s->first_ns = sink_now_ns();
		ret = spool_append(&s->spool, s->buf.p + off, chunk, lines);
		if (ret == -EFBIG) {
			s->lost[SINK_LOSS_SPOOL_FULL] += lines;
		} else if (ret) {
			char why[128];

			s->lost[SINK_LOSS_SPOOL_FAILED] += lines;
			snprintf(why, sizeof(why), "cannot write its spool: %s", strerror(-ret));
			set_status(s, true, why);
		}
		off += chunk;
	}
	s->buf.len = 0;
	s->lines = 0;
}

void sink_net_flush(struct sink_net *s)
{
	if (!s->buf.len)
		return;
	pthread_mutex_lock(&s->lock);
	to_spool(s);
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	if (!s->started)
		start(s);
}

void sink_net_drain(struct sink_net *s, uint64_t deadline_ns)
{
	sink_net_flush(s);
	pthread_mutex_lock(&s->lock);
	s->draining = true;
	pthread_cond_signal(&s->wake);
	while (s->started && s->spool.pending && sink_now_ns() < deadline_ns)
		wait_until(s, &s->progress, deadline_ns);
	pthread_mutex_unlock(&s->lock);
}

uint64_t sink_net_pending(struct sink_net *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->spool.pending + s->lines;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void sink_net_losses(struct sink_net *s, uint64_t lost[SINK_LOSS_MAX])
{
	pthread_mutex_lock(&s->lock);
	memcpy(lost, s->lost, sizeof(s->lost));
	lost[SINK_LOSS_SPOOL_FULL] += s->spool.dropped;
	pthread_mutex_unlock(&s->lock);
}

bool sink_net_status(struct sink_net *s, char *buf, size_t len)
{
	bool news;

	pthread_mutex_lock(&s->lock);
	news = s->status_new;
	if (news)
		snprintf(buf, len, "%s%s", s->down ? "cannot deliver (events wait in its spool): " : "",
			 s->status);
	s->status_new = false;
	pthread_mutex_unlock(&s->lock);
	return news;
}

uint64_t sink_net_close(struct sink_net *s, uint64_t lost[SINK_LOSS_MAX])
{
	struct timespec ts;
	uint64_t one = 1, pending;

	sink_net_flush(s);
	__atomic_store_n(&s->stopping, 1, __ATOMIC_RELAXED);
	if (write(s->stop_efd, &one, sizeof(one)) != sizeof(one))
		st_debug("output %s: eventfd: %s", s->name, strerror(errno));
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	if (s->started) {
		/* a transfer stuck where it cannot be interrupted (a DNS lookup) is left to
		 * process exit rather than holding the tracer's own exit up */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += JOIN_GRACE_NS / 1000000000ULL;
		s->joined = !pthread_timedjoin_np(s->thread, NULL, &ts);
	}
	pending = sink_net_pending(s);
	sink_net_losses(s, lost);
	if (s->started && !s->joined)
		return pending;
	spool_close(&s->spool);
	s->t->free(s->ctx);
	close(s->stop_efd);
	sink_buf_free(&s->buf);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->progress);
	free(s);
	return pending;
}
