// SPDX-License-Identifier: GPL-2.0
/*
 * Dropping capabilities and the seccomp filter, each in a forked child (both are for good):
 * the child reports what /proc/self/status and its system calls say, or is killed, and the
 * parent checks. Root only: skipped otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tracer/privileges.h"

#define BIT(c) (1ULL << (c))
#define CAP_CHOWN_BIT 0
#define CAP_DAC_READ_SEARCH_BIT 2
#define CAP_KILL_BIT 5
#define CAP_SYS_PTRACE_BIT 19

static int report_fd = -1;	/* the child's end of the pipe */

/* In the child: a line for the parent. */
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (write(report_fd, line, n) != n)
		_exit(99);
}

/* In the child: the capability lines of /proc/self/status, and NoNewPrivs, as said. */
static void say_status(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) ||
		    !strncmp(line, "Seccomp:", 8))
			say("%s", line);
	if (f)
		fclose(f);
}

/* Runs fn in a child; its report in out, its wait status returned. */
static int in_child(void (*fn)(void *), void *arg, char *out, size_t outlen)
{
	int p[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct rlimit none = { 0, 0 };

		/* a killed child leaves no core */
		setrlimit(RLIMIT_CORE, &none);
		close(p[0]);
		report_fd = p[1];
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	while (got < outlen - 1 && (n = read(p[0], out + got, outlen - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static unsigned long long field(const char *report, const char *key)
{
	const char *at = strstr(report, key);
	unsigned long long v;

	assert_non_null(at);
	assert_int_equal(sscanf(at + strlen(key), " %llx", &v), 1);
	return v;
}

/* Dropping and confining need root (CAP_SETPCAP, and capabilities to drop). */
#define ROOT_ONLY() do { (void)state; if (geteuid()) skip(); } while (0)

/* ---- privileges_drop ---- */

static const char *target_file;	/* mode 000, another user's: only CAP_DAC_* read it */

static void drop_and_say(void *arg)
{
	const char *const *keep = arg;
	char err[256] = "";
	int rc = privileges_drop(keep, err, sizeof(err)), fd;

	say("rc=%d err=%s\n", rc, err);
	say_status();
	fd = open(target_file, O_RDONLY);
	say("open=%d\n", fd >= 0 ? 0 : errno);
	say("chown=%d\n", chown(target_file, 0, 0) ? errno : 0);
	say("setuid=%d\n", setuid(65534) ? errno : 0);
}

static char *make_target(char *path)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(chmod(path, 0), 0);
	target_file = path;
	return path;
}

static void test_drop_keeps_only_the_list(void **state)
{
	static const char *const keep[] = { "cap_sys_ptrace", "CAP_DAC_READ_SEARCH", NULL };
	const unsigned long long want = BIT(CAP_SYS_PTRACE_BIT) | BIT(CAP_DAC_READ_SEARCH_BIT);
	char path[] = "/tmp/test_privileges.XXXXXX", r[4096];
	int status;

	ROOT_ONLY();
	make_target(path);
	status = in_child(drop_and_say, (void *)keep, r, sizeof(r));
	unlink(path);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(strstr(r, "rc=0 err=\n"));
	assert_int_equal(field(r, "CapEff:"), want);
	assert_int_equal(field(r, "CapPrm:"), want);
	assert_int_equal(field(r, "CapInh:"), 0);
	assert_int_equal(field(r, "CapAmb:"), 0);
	assert_int_equal(field(r, "CapBnd:"), want);
	assert_int_equal(field(r, "NoNewPrivs:"), 1);
	assert_non_null(strstr(r, "open=0\n"));			/* CAP_DAC_READ_SEARCH kept */
	assert_non_null(strstr(r, "chown=1\n"));		/* EPERM: CAP_CHOWN gone */
	assert_non_null(strstr(r, "setuid=1\n"));		/* EPERM: CAP_SETUID gone */
}

static void test_drop_all(void **state)
{
	static const char *const keep[] = { NULL };
	char path[] = "/tmp/test_privileges.XXXXXX", r[4096];
	int status;

	ROOT_ONLY();
	make_target(path);
	status = in_child(drop_and_say, (void *)keep, r, sizeof(r));
	unlink(path);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(strstr(r, "rc=0 err=\n"));
	assert_int_equal(field(r, "CapEff:"), 0);
	assert_int_equal(field(r, "CapPrm:"), 0);
	assert_int_equal(field(r, "CapBnd:"), 0);
	assert_non_null(strstr(r, "open=13\n"));		/* EACCES: root is just a uid now */
}

static void drop_then_exec(void *arg)
{
	static const char *const keep[] = { "cap_sys_ptrace", NULL };
	char err[256];

	(void)arg;
	if (privileges_drop(keep, err, sizeof(err))) {
		say("drop failed: %s\n", err);
		return;
	}
	dup2(report_fd, 1);
	execl("/bin/grep", "grep", "-E", "^(Cap|NoNewPrivs)", "/proc/self/status", (char *)NULL);
	say("exec: %s\n", strerror(errno));
}

/* Root executing a program gains nothing: no ambient, no inheritable, SECBIT_NOROOT. */
static void test_exec_gains_nothing(void **state)
{
	char r[4096];
	int status;

	ROOT_ONLY();
	status = in_child(drop_then_exec, NULL, r, sizeof(r));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(field(r, "CapEff:"), 0);
	assert_int_equal(field(r, "CapPrm:"), 0);
	assert_int_equal(field(r, "CapBnd:"), BIT(CAP_SYS_PTRACE_BIT));
	assert_int_equal(field(r, "NoNewPrivs:"), 1);
}

static void drop_twice(void *arg)
{
	static const char *const first[] = { "cap_kill", NULL }, *const again[] = { "cap_sys_admin",
										   NULL };
	static const char *const unknown[] = { "cap_kill", "cap_nonsense", NULL };
	char err[256] = "";
	int rc;

	(void)arg;
	rc = privileges_drop(unknown, err, sizeof(err));
	say("unknown rc=%d err=%s\n", rc, err);
	say_status();	/* nothing changed */
	rc = privileges_drop(first, err, sizeof(err));
	say("first rc=%d\n", rc);
	err[0] = 0;
	rc = privileges_drop(again, err, sizeof(err));
	say("again rc=%d err=%s\n", rc, err);
}

static void test_drop_refuses_unknown_and_not_held(void **state)
{
	char r[4096];
	int status;

	ROOT_ONLY();
	status = in_child(drop_twice, NULL, r, sizeof(r));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(strstr(r, "unknown rc=-22 err=unknown capability cap_nonsense\n"));
	assert_int_not_equal(field(r, "CapEff:"), 0);
	assert_int_equal(field(r, "NoNewPrivs:"), 0);
	assert_non_null(strstr(r, "first rc=0\n"));
	assert_non_null(strstr(r, "again rc=-1 err=cannot keep cap_sys_admin: not held\n"));
}

static void *wait_on(void *arg)
{
	char c;

	return (void *)(intptr_t)read(*(int *)arg, &c, 1);
}

static void drop_with_a_thread(void *arg)
{
	static const char *const keep[] = { NULL };
	char err[256] = "";
	pthread_t th;
	int p[2], rc;

	(void)arg;
	if (pipe(p) || pthread_create(&th, NULL, wait_on, &p[0]))
		_exit(98);
	rc = privileges_drop(keep, err, sizeof(err));
	say("rc=%d err=%s\n", rc, err);
	say_status();
	close(p[1]);
	pthread_join(th, NULL);
}

/* Capabilities are each thread's: with another thread running, nothing is dropped. */
static void test_drop_refuses_threads(void **state)
{
	char r[4096];
	int status;

	ROOT_ONLY();
	status = in_child(drop_with_a_thread, NULL, r, sizeof(r));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(strstr(r, "rc=-16 err=cannot drop capabilities: 2 threads run"));
	assert_int_not_equal(field(r, "CapEff:"), 0);
	assert_int_equal(field(r, "NoNewPrivs:"), 0);
}

/* ---- privileges_confine ---- */

static void *nothing(void *arg)
{
	return arg;
}

static const char *err_of(long rc)
{
	static char buf[32];

	if (rc >= 0)
		return "ok";
	snprintf(buf, sizeof(buf), "%s", strerrorname_np(errno));
	return buf;
}

static void confine_and_try(void *arg)
{
	struct confinement c = { .signal_pid = (pid_t)(intptr_t)arg };
	pid_t parent = getppid();
	union bpf_attr a;
	char err[256] = "", buf[64];
	pthread_t th;
	void *m;
	int fd, rc;

	rc = privileges_confine(&c, err, sizeof(err));
	say("rc=%d err=%s\n", rc, err);
	say_status();
	/* the steady state's */
	fd = open("/proc/self/maps", O_RDONLY);
	say("open=%s\n", err_of(fd));
	say("read=%s\n", err_of(read(fd, buf, sizeof(buf))));
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	say("socket_tcp=%s\n", err_of(fd));
	close(fd);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	say("socket_udp6=%s\n", err_of(fd));
	close(fd);
	rc = pthread_create(&th, NULL, nothing, NULL);	/* clone3 refused, clone taken */
	say("thread=%s\n", rc ? strerror(rc) : "ok");
	if (!rc)
		pthread_join(th, NULL);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say("mmap_rw=%s\n", m == MAP_FAILED ? err_of(-1) : "ok");
	memset(&a, 0, sizeof(a));
	a.map_fd = 1000;
	say("bpf_lookup=%s\n", err_of(syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &a, sizeof(a))));
	if (c.signal_pid)
		say("kill_command=%s\n", err_of(kill(c.signal_pid, SIGTERM)));
	say("raise=%s\n", err_of(raise(SIGWINCH)));	/* ignored by default */
	/* refused */
	say("socket_packet=%s\n", err_of(socket(AF_PACKET, SOCK_RAW, 0)));
	say("socket_raw=%s\n", err_of(socket(AF_INET, SOCK_RAW, 1)));
	m = mmap(NULL, 4096, PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say("mmap_wx=%s\n", m == MAP_FAILED ? err_of(-1) : "ok");
	say("bpf_prog_load=%s\n", err_of(syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a))));
	say("bpf_map_create=%s\n", err_of(syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a))));
	say("clone3=%s\n", err_of(syscall(SYS_clone3, NULL, 0)));
	say("fork=%s\n", err_of(fork()));
	say("kill_other=%s\n", err_of(kill(parent, 0)));
	say("umount=%s\n", err_of(umount2("/nonexistent", 0)));
	say("dumpable=%s\n", err_of(prctl(PR_SET_DUMPABLE, 1)));
	say("setuid=%s\n", err_of(setuid(0)));
	say("perf_event_open=%s\n", err_of(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0)));
	say("done\n");
}

static void test_confine_allows_and_refuses(void **state)
{
	char r[4096];
	int status;
	pid_t command = fork();

	ROOT_ONLY();
	assert_true(command >= 0);
	if (!command) {		/* the "command": waits to be signalled */
		pause();
		_exit(0);
	}
	status = in_child(confine_and_try, (void *)(intptr_t)command, r, sizeof(r));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(waitpid(command, &status, 0), command);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);	/* signalled */
	assert_non_null(strstr(r, "rc=0 err=\n"));
	assert_int_equal(field(r, "Seccomp:"), 2);
	assert_int_equal(field(r, "NoNewPrivs:"), 1);
	assert_non_null(strstr(r, "\nopen=ok\nread=ok\nsocket_tcp=ok\nsocket_udp6=ok\nthread=ok\n"
				  "mmap_rw=ok\nbpf_lookup=EBADF\nkill_command=ok\nraise=ok\n"));
	assert_non_null(strstr(r, "\nsocket_packet=EPERM\nsocket_raw=EPERM\nmmap_wx=EPERM\n"
				  "bpf_prog_load=EPERM\nbpf_map_create=EPERM\nclone3=ENOSYS\n"
				  "fork=EPERM\nkill_other=EPERM\numount=EPERM\ndumpable=EPERM\n"
				  "setuid=EPERM\nperf_event_open=EPERM\ndone\n"));
}

static void confine_perf(void *arg)
{
	struct confinement c = { .perf_uprobes = true };
	pid_t parent = getppid();
	char err[256];

	(void)arg;
	if (privileges_confine(&c, err, sizeof(err)))
		_exit(97);
	/* allowed: the kernel itself refuses a NULL attribute */
	say("perf_event_open=%s\n", err_of(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0)));
	say("kill=%s\n", err_of(kill(parent, 0)));
}

static void test_confine_perf_uprobes(void **state)
{
	char r[256];
	int status;

	ROOT_ONLY();
	status = in_child(confine_perf, NULL, r, sizeof(r));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_string_equal(r, "perf_event_open=EFAULT\nkill=EPERM\n");
}

enum forbidden { DO_EXECVE, DO_PTRACE, DO_MOUNT, DO_UNSHARE, DO_IO_URING, DO_THREAD_EXECVE };

static void *thread_execve(void *arg)
{
	int *go = arg;
	char c;

	if (read(go[0], &c, 1) == 1)	/* after the main thread confined us */
		execl("/bin/true", "true", (char *)NULL);
	return NULL;
}

static void confine_then(void *arg)
{
	enum forbidden what = (enum forbidden)(intptr_t)arg;
	struct confinement c = { 0 };
	char err[256];
	pthread_t th;
	int go[2];

	if (what == DO_THREAD_EXECVE &&
	    (pipe(go) || pthread_create(&th, NULL, thread_execve, go)))
		_exit(96);
	if (privileges_confine(&c, err, sizeof(err)))
		_exit(97);
	switch (what) {
	case DO_EXECVE:
		execl("/bin/true", "true", (char *)NULL);
		break;
	case DO_PTRACE:
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		break;
	case DO_MOUNT:
		mount("none", "/nonexistent", "tmpfs", 0, NULL);
		break;
	case DO_UNSHARE:
		syscall(SYS_unshare, 0);
		break;
	case DO_IO_URING:
		syscall(SYS_io_uring_setup, 1, NULL);
		break;
	case DO_THREAD_EXECVE:
		if (write(go[1], "g", 1) == 1)
			pthread_join(th, NULL);
		break;
	}
	say("survived %d\n", what);
}

/* A way out kills the whole process, from any thread, those started before too. */
static void test_confine_kills(void **state)
{
	char r[256];
	int what, status;

	ROOT_ONLY();
	for (what = DO_EXECVE; what <= DO_THREAD_EXECVE; what++) {
		status = in_child(confine_then, (void *)(intptr_t)what, r, sizeof(r));
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
			fail_msg("case %d: status %#x, report '%s'", what, status, r);
		assert_string_equal(r, "");
	}
}

static void confine_abort(void *arg)
{
	struct confinement c = { 0 };
	char err[256];

	(void)arg;
	if (privileges_confine(&c, err, sizeof(err)))
		_exit(97);
	abort();
}

/* An assertion failing once confined still ends in SIGABRT (raise needs gettid, tgkill). */
static void test_confine_abort(void **state)
{
	char r[64];
	int status;

	ROOT_ONLY();
	status = in_child(confine_abort, NULL, r, sizeof(r));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_keeps_only_the_list),
		cmocka_unit_test(test_drop_all),
		cmocka_unit_test(test_exec_gains_nothing),
		cmocka_unit_test(test_drop_refuses_unknown_and_not_held),
		cmocka_unit_test(test_drop_refuses_threads),
		cmocka_unit_test(test_confine_allows_and_refuses),
		cmocka_unit_test(test_confine_perf_uprobes),
		cmocka_unit_test(test_confine_kills),
		cmocka_unit_test(test_confine_abort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
