// SPDX-License-Identifier: GPL-2.0
/*
 * The state file's writes, off the event loop: sealing 1,000 secrets' state and writing
 * it took some 30 ms, and a slow disk's fsync can take seconds. The loop encodes the
 * snapshot (the dictionary is only ever touched by the loop) and hands it to one writer
 * thread, which seals it, writes PATH.tmp, fsyncs, renames it over PATH and fsyncs the
 * directory. One write at a time: a tick while one is under way waits for the next tick.
 * The writer logs nothing (the log's redactor is the loop's): the loop reports failures.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dict/state.h"
#include "lib/log.h"
#include "lib/thread.h"

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= k;
	}
	return 0;
}

/* PATH.tmp written and synced, then renamed over PATH, then the directory synced. */
static int write_file(const struct state *s, const uint8_t *p, size_t n)
{
	char dir[PATH_MAX], *slash;
	int fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int err;

	if (fd < 0)
		return -errno;
	err = write_all(fd, p, n);
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	if (!err && rename(s->tmp, s->path))
		err = -errno;
	if (err)
		return err;
	snprintf(dir, sizeof(dir), "%s", s->path);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {	/* the rename itself made durable */
		if (fsync(fd))
			err = -errno;
		close(fd);
	}
	return err;
}

/* Seal and write one body; the outcome counted under mu. Frees body. */
static void write_body(struct state *s, uint8_t *body, size_t n, uint64_t changes)
{
	uint8_t *file = NULL;
	size_t fn = 0;
	int err = state_seal(s, body, n, &file, &fn);

	free(body);
	if (!err)
		err = write_file(s, file, fn);
	free(file);
	pthread_mutex_lock(&s->mu);
	if (err) {
		s->write_failed++;
		s->unreported = err;
	} else {
		s->writes++;
		s->saved_changes = changes;
	}
	pthread_mutex_unlock(&s->mu);
}

static void *writer(void *arg)
{
	struct state *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		uint8_t *body;
		size_t n;
		uint64_t changes;

		while (!s->pending && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (!s->pending)
			break;
		body = s->pending, n = s->npending, changes = s->pending_changes;
		s->pending = NULL;
		s->busy = true;
		pthread_mutex_unlock(&s->mu);
		write_body(s, body, n, changes);
		pthread_mutex_lock(&s->mu);
		s->busy = false;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* On the loop: a failed write's line. Called with mu held. */
static void report(struct state *s)
{
	if (s->unreported) {
		st_warn("state file %s not written: %s", s->path, strerror(-s->unreported));
		s->unreported = 0;
	}
}

/* Encode d at now and hand it to the writer (started on first use; without a thread the
 * write is made here). With mu held, the writer idle; returns with mu held. */
static int submit(struct state *s, const struct dict *d, int64_t now)
{
	uint64_t changes = d->changes + redact_generation();
	uint8_t *body;
	size_t n;
	int err = state_encode(d, now, &body, &n);

	s->last_write = now;
	if (err) {
		s->write_failed++;
		s->unreported = err;
		return err;
	}
	if (!s->started)
		s->started = !thread_start(&s->thread, writer, s);
	if (!s->started) {
		pthread_mutex_unlock(&s->mu);
		write_body(s, body, n, changes);
		pthread_mutex_lock(&s->mu);
		return 0;
	}
	s->pending = body;
	s->npending = n;
	s->pending_changes = changes;
	pthread_cond_broadcast(&s->cv);
	return 0;
}

int state_save(struct state *s, const struct dict *d, int64_t now)
{
	uint64_t failed;
	int err;

	pthread_mutex_lock(&s->mu);
	while (s->pending || s->busy)	/* a tick's write under way: this one comes after */
		pthread_cond_wait(&s->cv, &s->mu);
	report(s);
	failed = s->write_failed;
	err = submit(s, d, now);
	while (s->pending || s->busy)
		pthread_cond_wait(&s->cv, &s->mu);
	if (!err && s->write_failed != failed)
		err = s->unreported;
	report(s);
	pthread_mutex_unlock(&s->mu);
	return err;
}

void state_tick(struct state *s, const struct dict *d, int64_t now)
{
	if (!s->path)
		return;
	pthread_mutex_lock(&s->mu);
	report(s);
	if (now - s->last_write >= STATE_INTERVAL_S && !s->pending && !s->busy &&
	    d->changes + redact_generation() != s->saved_changes)
		submit(s, d, now);
	pthread_mutex_unlock(&s->mu);
}

void state_writer_stop(struct state *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);	/* after the write it holds, if any */
	s->started = false;
	free(s->pending);	/* none: the writer takes each before it looks at stop */
	s->pending = NULL;
}
