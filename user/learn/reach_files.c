// SPDX-License-Identifier: GPL-2.0
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include "learn/reach_files.h"
#include "lib/log.h"
#include "secretrace.h"
#include "lib/thread.h"

static int fan = -1, traced_fd = -1;
static pthread_t thread;
static bool started, stop_flag;
static uint64_t joined, join_failed, mark_failed;

int reach_files_init(int traced_map_fd, char *err, size_t errlen)
{
	/* permission events (FAN_CLASS_CONTENT) hold the opener until answered: it is in the
	 * reach set before it reads a byte. CAP_SYS_ADMIN is needed here, not for the inode
	 * marks made later. */
	fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_UNLIMITED_QUEUE |
			    FAN_UNLIMITED_MARKS, O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	if (fan < 0) {
		snprintf(err, errlen, "readers of learned files do not join the reach set: "
			 "fanotify: %s%s", strerror(errno),
			 errno == EPERM ? " (CAP_SYS_ADMIN is needed at start)" : "");
		return -1;
	}
	traced_fd = traced_map_fd;
	return 0;
}

/* An opener of a learned file joins the reach set (the kernel's own join, ST_REACH_TAINT, as
 * for a file a traced write tainted); then it may open. Our own reads are let through. */
static void answer(const struct fanotify_event_metadata *m)
{
	struct fanotify_response r = { .fd = m->fd, .response = FAN_ALLOW };
	struct st_traced v = { .flags = ST_REACH_TAINT, .root_pid = (uint32_t)m->pid };
	uint32_t pid = (uint32_t)m->pid;

	if (m->pid != getpid()) {
		if (!bpf_map_update_elem(traced_fd, &pid, &v, BPF_NOEXIST))
			__atomic_add_fetch(&joined, 1, __ATOMIC_RELAXED);
		else if (errno != EEXIST)
			__atomic_add_fetch(&join_failed, 1, __ATOMIC_RELAXED);
	}
	if (m->fd >= 0) {
		if (write(fan, &r, sizeof(r)) != sizeof(r))
			st_warn("readers of learned files: cannot answer fanotify: %s",
				strerror(errno));
		close(m->fd);
	}
}

/* Its own thread, so that an open is answered at once whatever the event loop does, and
 * the tracer's own reads of the files (answered here) never wait on the loop reading them. */
static void *run(void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct pollfd p = { .fd = fan, .events = POLLIN };

	(void)arg;
	while (!__atomic_load_n(&stop_flag, __ATOMIC_RELAXED)) {
		const struct fanotify_event_metadata *m = (const void *)buf;
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(fan, buf, sizeof(buf));
		for (; n > 0 && FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n))
			if (m->vers == FANOTIFY_METADATA_VERSION)
				answer(m);
	}
	return NULL;
}

void reach_files_mark(int fd)
{
	int err;

	if (fan < 0)
		return;
	if (!started) {
		err = thread_start(&thread, run, NULL);
		if (err) {
			st_warn("readers of learned files do not join the reach set: %s",
				strerror(err));
			close(fan);
			fan = -1;
			return;
		}
		started = true;
	}
	/* an inode mark (no CAP_SYS_ADMIN needed once the group exists): the file read, not
	 * the name, so that a file renamed over it later is marked when it is read */
	if (fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_PERM, fd, NULL) && !mark_failed++)
		st_warn("readers of learned files: fanotify_mark: %s (counted at exit)",
			strerror(errno));
}

void reach_files_free(void)
{
	if (started) {
		__atomic_store_n(&stop_flag, true, __ATOMIC_RELAXED);
		pthread_join(thread, NULL);
		started = false;
	}
	if (fan >= 0)
		close(fan);
	fan = -1;
	if (join_failed || mark_failed)
		st_warn("readers of learned files: %llu could not join the reach set (full), "
			"%llu files could not be marked", (unsigned long long)join_failed,
			(unsigned long long)mark_failed);
	st_debug("readers of learned files: %llu joined the reach set",
		 (unsigned long long)joined);
}
