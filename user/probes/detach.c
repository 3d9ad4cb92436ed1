// SPDX-License-Identifier: GPL-2.0
/*
 * The detacher: a process of the tracer's own that shares its descriptor table (CLONE_FILES)
 * and, once the tracer has exited or been killed, closes what is left in that table, the
 * probes' links last. Closing a syscall tracepoint's link waits for an RCU grace period under
 * the kernel's event_mutex, one link after another (about 40 ms each here, 1.1 s for the 23
 * links of a run): the tracer leaves its links open for this process, so that its exit, and
 * the command's status with it, does not wait for them. The programs do nothing from
 * probes_stop on, and a link lives only as long as a descriptor of the table: whichever of
 * the two processes dies, and however, the kernel detaches what is left.
 *
 * It is started before anything secret is in memory and before any thread exists, keeps no
 * capability and may only wait and close (its own seccomp filter).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "probes/detach.h"

#define FD_DIR "/proc/self/fd"

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* A BPF link, or a perf event that carries a program (a kernel without perf links). */
static bool is_link(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), FD_DIR "/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:bpf_link") || !strcmp(target, "anon_inode:[perf_event]");
}

/* Closes the table's descriptors: all but the links (links true) or the links. */
static void close_pass(bool links)
{
	char buf[4096];
	long n, off;
	int dir = open(FD_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;

	if (dir < 0)
		return;
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0)
		for (off = 0; off < n; off += ((struct linux_dirent64 *)(buf + off))->d_reclen) {
			const char *name = ((struct linux_dirent64 *)(buf + off))->d_name;

			if (name[0] < '0' || name[0] > '9')
				continue;
			fd = atoi(name);
			if (fd != dir && is_link(fd) == links)
				close(fd);
		}
	close(dir);
}

/* Nothing but waiting for the tracer and closing descriptors. */
static int confine_detacher(void)
{
	static const char *const calls[] = {
		"poll", "ppoll", "close", "open", "openat", "getdents64", "readlink", "readlinkat",
		"exit", "exit_group", "rt_sigreturn", "restart_syscall",
		"brk", "munmap", "madvise",	/* libseccomp's memory given back */
	};
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct none[2] = { 0 };
	scmp_filter_ctx ctx;
	size_t i;
	int ret;

	if (syscall(SYS_capset, &h, none) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return -ENOMEM;
	ret = 0;
	for (i = 0; !ret && i < sizeof(calls) / sizeof(calls[0]); i++) {
		int nr = seccomp_syscall_resolve_name(calls[i]);

		if (nr != __NR_SCMP_ERROR)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	ret = ret ?: seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

static void __attribute__((noreturn)) detacher(int tracer)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };
	struct pollfd pfd = { .fd = tracer, .events = POLLIN };
	size_t i;

	/* a terminal's ^C reaches the process group: the tracer decides, not this process */
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	prctl(PR_SET_NAME, "st-detacher", 0, 0, 0);
	/* unconfined, it gives up at once: the tracer closes its links itself then */
	if (confine_detacher())
		syscall(SYS_exit_group, 1);
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	/* readers of the tracer's output see its end first */
	close_pass(false);
	close_pass(true);
	syscall(SYS_exit_group, 0);
	__builtin_unreachable();
}

pid_t detach_start(void)
{
	int tracer = syscall(SYS_pidfd_open, getpid(), 0);
	pid_t pid;

	if (tracer < 0) {
		st_debug("no detacher (pidfd_open: %s): links are detached before exit",
			 strerror(errno));
		return -1;
	}
	/* like fork, but the descriptor table is the same one */
	pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid == 0)
		detacher(tracer);
	if (pid < 0) {
		st_debug("no detacher (clone: %s): links are detached before exit", strerror(errno));
		close(tracer);	/* else it stays: the detacher waits on it, in the shared table */
	}
	return pid;
}
