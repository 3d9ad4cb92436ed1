// SPDX-License-Identifier: GPL-2.0
/* -- COMMAND: the command forked and held before its first instruction until every probe
 * is attached, then let go. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/secmem.h"
#include "targets/targets.h"

/* execvp's search, done before forking so that "not found" is reported as such. */
static char *resolve(const char *cmd, int *why)
{
	const char *path = getenv("PATH");
	char buf[4096];
	char *dirs, *d, *save = NULL;

	*why = ENOENT;
	if (strchr(cmd, '/')) {
		if (access(cmd, F_OK)) {
			*why = errno;
			return NULL;
		}
		return strdup(cmd);
	}
	dirs = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		struct stat st;

		snprintf(buf, sizeof(buf), "%s/%s", *d ? d : ".", cmd);
		if (stat(buf, &st) || !S_ISREG(st.st_mode))
			continue;
		if (access(buf, X_OK)) {
			*why = EACCES;
			continue;
		}
		free(dirs);
		return strdup(buf);
	}
	free(dirs);
	return NULL;
}

static int exec_status(int e)
{
	return e == ENOENT || e == ENOTDIR ? 127 : 126;
}

int launch_prepare(struct launch *l, char *const argv[], const char *user, char *err,
		   size_t errlen)
{
	int go[2], ep[2], why;
	struct passwd *pw = NULL;
	sigset_t all;

	memset(l, 0, sizeof(*l));
	l->pid = -1;
	l->path = resolve(argv[0], &why);
	if (!l->path) {
		snprintf(err, errlen, "%s: %s", argv[0],
			 why == ENOENT ? "command not found" : strerror(why));
		return exec_status(why);
	}
	if (user) {
		errno = 0;
		pw = getpwnam(user);
		if (!pw) {
			snprintf(err, errlen, "-u %s: %s", user, errno ? strerror(errno) : "no such user");
			return 125;
		}
	}
	if (pipe2(go, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return 125;
	}
	l->pid = fork();
	if (l->pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return 125;
	}
	if (l->pid == 0) {
		char c;
		int e;

		close(go[1]);
		close(ep[0]);
		/* wait until the tracer has attached every probe and written tracer.start */
		if (read(go[0], &c, 1) != 1)
			_exit(125);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		secmem_child_restore();
		if (pw && (initgroups(pw->pw_name, pw->pw_gid) || setgid(pw->pw_gid) ||
			   setuid(pw->pw_uid))) {
			e = errno;
			if (write(ep[1], &e, sizeof(e)) < 0)
				_exit(125);
			_exit(125);
		}
		execv(l->path, argv);
		e = errno;
		if (write(ep[1], &e, sizeof(e)) < 0)
			_exit(exec_status(e));
		_exit(exec_status(e));
	}
	close(go[0]);
	close(ep[1]);
	l->go_fd = go[1];
	l->err_fd = ep[0];
	return 0;
}

int launch_go(struct launch *l, char *err, size_t errlen)
{
	int e = 0;
	ssize_t n;

	if (write(l->go_fd, "g", 1) != 1) {
		snprintf(err, errlen, "starting the command: %s", strerror(errno));
		return 125;
	}
	close(l->go_fd);
	l->go_fd = -1;
	/* EOF (the pipe closed on exec) means the command is running */
	do
		n = read(l->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(l->err_fd);
	l->err_fd = -1;
	if (n == sizeof(e)) {
		snprintf(err, errlen, "%s: %s", l->path, strerror(e));
		return exec_status(e);
	}
	return 0;
}

void launch_abort(struct launch *l)
{
	if (l->pid > 0) {
		kill(l->pid, SIGKILL);
		while (waitpid(l->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (l->go_fd > 0)
		close(l->go_fd);
	if (l->err_fd > 0)
		close(l->err_fd);
	free(l->path);
	l->path = NULL;
	l->pid = -1;
}
