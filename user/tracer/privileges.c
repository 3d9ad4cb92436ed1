// SPDX-License-Identifier: GPL-2.0
/*
 * The rights of the steady state. Capabilities go with libcap and prctl, for the calling
 * thread (the only one: checked), then /proc/self/status is read back. The seccomp filter
 * names system calls rather than numbering them, so that one an architecture lacks is
 * skipped rather than an error, and is loaded on every thread (TSYNC).
 */
#include <dirent.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/securebits.h>

#include "tracer/privileges.h"

/* Found by running the tracer with this set to SCMP_ACT_LOG (docs/privileges.md). */
#ifndef PRIVILEGES_DEFAULT_ACTION
#define PRIVILEGES_DEFAULT_ACTION SCMP_ACT_ERRNO(EPERM)
#endif

/* ---- capabilities ---- */

struct caps_now {
	unsigned long long inh, prm, eff, bnd, amb, nnp;
};

static int read_status(struct caps_now *c)
{
	static const char *const keys[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:",
					    "NoNewPrivs:" };
	unsigned long long *vals[] = { &c->inh, &c->prm, &c->eff, &c->bnd, &c->amb, &c->nnp };
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	size_t i, found = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		for (i = 0; i < 6; i++)
			if (!strncmp(line, keys[i], strlen(keys[i])) &&
			    sscanf(line + strlen(keys[i]), i < 5 ? "%llx" : "%llu", vals[i]) == 1)
				found++;
	fclose(f);
	return found == 6 ? 0 : -EIO;
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The securebits and the bounding set first: changing them needs CAP_SETPCAP, which goes
 * next. */
static int drop_bounding(uint64_t keep, char *err, size_t errlen)
{
	/* root gains nothing at exec, and nothing can be raised into the ambient set, for good */
	const int lock = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
			 SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	int bits = prctl(PR_GET_SECUREBITS), c;

	if (bits < 0 || ((bits & lock) != lock && prctl(PR_SET_SECUREBITS, bits | lock))) {
		c = errno;
		snprintf(err, errlen, "cannot set securebits: %s", strerror(c));
		return -c;
	}
	/* the running kernel's capabilities, which may be more than our headers know */
	for (c = 0; c < (int)cap_max_bits() && c < 64; c++) {
		char *name;
		int e;

		if (keep & (1ULL << c) || prctl(PR_CAPBSET_READ, c) != 1 ||
		    !prctl(PR_CAPBSET_DROP, c))
			continue;
		e = errno;
		name = cap_to_name(c);
		snprintf(err, errlen, "cannot drop %s from the bounding set: %s", name,
			 strerror(e));
		cap_free(name);
		return -e;
	}
	return 0;
}

static int set_caps(uint64_t keep, char *err, size_t errlen)
{
	cap_value_t list[64];
	int n = 0, c, ret = 0;
	cap_t caps = cap_init();	/* all clear */

	for (c = 0; c < 64; c++)
		if (keep & (1ULL << c))
			list[n++] = c;
	if (!caps || (n && (cap_set_flag(caps, CAP_PERMITTED, n, list, CAP_SET) ||
			    cap_set_flag(caps, CAP_EFFECTIVE, n, list, CAP_SET))) ||
	    cap_set_proc(caps)) {
		ret = -errno;
		snprintf(err, errlen, "cannot set capabilities: %s", strerror(errno));
	}
	cap_free(caps);
	return ret;
}

bool privileges_held(const char *name)
{
	struct caps_now c;
	cap_value_t v;

	return !cap_from_name(name, &v) && v >= 0 && v <= 63 && !read_status(&c) &&
	       (c.prm & (1ULL << v));
}

int privileges_drop(const char *const *keep, char *err, size_t errlen)
{
	struct caps_now was, now = { 0 };
	uint64_t want = 0;
	cap_value_t v;
	int i, n, ret;

	n = count_threads();
	if (n != 1) {
		snprintf(err, errlen, "cannot drop capabilities: %d threads run, and each would "
			 "keep its own (drop them before any thread starts)", n);
		return n < 0 ? n : -EBUSY;
	}
	ret = read_status(&was);
	if (ret) {
		snprintf(err, errlen, "cannot read /proc/self/status: %s", strerror(-ret));
		return ret;
	}
	for (i = 0; keep && keep[i]; i++) {
		if (cap_from_name(keep[i], &v) || v < 0 || v > 63) {
			snprintf(err, errlen, "unknown capability %s", keep[i]);
			return -EINVAL;
		}
		if (!(was.prm & (1ULL << v))) {
			snprintf(err, errlen, "cannot keep %s: not held", keep[i]);
			return -EPERM;
		}
		want |= 1ULL << v;
	}
	ret = drop_bounding(want, err, errlen);
	if (!ret && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL) {
		ret = -errno;
		snprintf(err, errlen, "cannot clear the ambient set: %s", strerror(errno));
	}
	ret = ret ?: set_caps(want, err, errlen);
	if (!ret && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		ret = -errno;
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
	}
	if (ret)
		return ret;
	ret = read_status(&now);
	if (ret || now.eff != want || now.prm != want || now.inh || now.amb ||
	    now.bnd != (was.bnd & want) || now.nnp != 1) {
		snprintf(err, errlen, "capabilities not as asked after the drop: effective %llx, "
			 "permitted %llx, bounding %llx for %llx", (unsigned long long)now.eff,
			 (unsigned long long)now.prm, (unsigned long long)now.bnd,
			 (unsigned long long)want);
		return -EIO;
	}
	return 0;
}

/* ---- system calls ---- */

/*
 * Allowed outright, by what needs them: what the tracer's threads called once confined, under
 * strace, over every end-to-end test and runs with network outputs, DNS, late TLS libraries
 * and the metrics endpoint (docs/privileges.md), and a few calls on paths those runs do not
 * take, each named.
 */
static const char *const allowed[] = {
	/* memory: malloc, thread stacks (mremap: realloc of large blocks); mmap and mprotect
	 * are below */
	"brk", "munmap", "mremap", "madvise",
	/* files: outputs (writes, rotation: rename, unlink with --rotate-keep 0; spool
	 * segments: pread, pwrite, ftruncate, unlinkat), /proc/PID/{fd,maps,cgroup,stat,status,
	 * root/...} and library files read for TLS symbols, /etc/hosts and friends for DNS */
	"read", "write", "pread64", "pwrite64", "lseek", "close", "openat", "newfstatat",
	"fcntl", "ftruncate", "getdents64", "readlink", "rename", "unlink", "unlinkat",
	/* pods' secrets mounts found on a node after start (learn/learn_node.c) watched; a
	 * watch removed when its root cannot be kept */
	"inotify_add_watch", "inotify_rm_watch",
	/* a learned file read after start marked: its readers join the reach set
	 * (learn/reach_files.c; an inode mark, never a mount or filesystem one) */
	"fanotify_mark",
	/* --state-file: each write is synced before its rename, then the directory */
	"fsync",
	/* waiting: the event loop (epoll_wait; the ring buffer, signalfd and timerfd read with
	 * read), the HTTP thread (epoll_ctl for its connections), libcurl and syslog (poll) */
	"epoll_wait", "epoll_ctl", "poll",
	/* signals; kill and tgkill are below; gettid: raise() and abort() name the thread */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "restart_syscall", "gettid",
	/* the command and the descendants it leaves (waitpid), ourselves */
	"wait4", "getpid", "exit", "exit_group",
	/* threads (clone is below): network outputs, the HTTP thread, libcurl's resolver */
	"set_robust_list", "rseq", "futex",
	/* time, where the vDSO falls back to the kernel (a clock source it cannot read) */
	"clock_gettime", "gettimeofday",
	/* tracer.stop's CPU time, randomness (event ids, TLS), libcurl's uname */
	"getrusage", "getrandom", "uname",
#ifdef __SANITIZE_ADDRESS__
	/* make test-asan: the sanitizers' runtime gives every thread an alternate signal stack,
	 * and asks a thread started after the filter for its stack (pthread_getattr_np, which
	 * reads its CPU affinity) */
	"sigaltstack", "sched_getaffinity",
#endif
	/* network outputs (syslog, HTTP), DNS for them and for Vault addresses learned late
	 * (sendmmsg, recvfrom; bind and recvmsg: getaddrinfo asks the kernel's addresses over
	 * netlink to sort a name's several addresses), the metrics endpoint (accept4, sendmsg,
	 * shutdown); socket and socketpair are below */
	"connect", "bind", "accept4", "getsockname", "getpeername", "setsockopt", "getsockopt",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "shutdown",
};

/* No code path of the tracer makes these once started, and each is a way out of the
 * confinement or into more rights: a call means the process is not ours any more. */
static const char *const killed[] = {
	"execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"mount", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
	"mount_setattr", "pivot_root", "chroot", "setns", "unshare", "open_by_handle_at",
	"io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd", "keyctl",
	"add_key", "request_key", "uselib", "iopl", "ioperm", "swapon", "swapoff", "reboot",
};

/* bpf(): the maps through their descriptors (delete: learn/conn.c forgets a connection),
 * program statistics (recursion misses), links for libraries found late; never a new
 * program, map or BTF */
static const int bpf_cmds[] = {
	BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM, BPF_MAP_GET_NEXT_KEY,
	BPF_OBJ_GET_INFO_BY_FD, BPF_LINK_CREATE,
};

/* ioctl(): perf events disabled at exit (tracepoints; uprobes too where they are perf
 * events, and enabled late), the syslog output's unsent bytes, libcurl's FIONREAD */
static const unsigned long ioctls[] = {
	PERF_EVENT_IOC_DISABLE, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_SET_BPF, TIOCOUTQ, FIONREAD,
};

static int rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned int n,
		const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0;	/* not on this architecture */
	return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

#define RULE(ctx, action, name, ...)                                                      \
	rule(ctx, action, name, sizeof((struct scmp_arg_cmp[]){ __VA_ARGS__ }) /            \
				       sizeof(struct scmp_arg_cmp),                             \
	     (struct scmp_arg_cmp[]){ __VA_ARGS__ })

static int rules_with_args(scmp_filter_ctx ctx, const struct confinement *c)
{
	const unsigned long new_ns = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
				     CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
	static const int families[] = { AF_INET, AF_INET6 }, types[] = { SOCK_STREAM, SOCK_DGRAM };
	const char *const maps[] = { "mmap", "mprotect" };
	size_t i, j;
	int ret = 0;

	/* threads, not processes, and no namespace: nothing is forked once the command runs */
	ret = ret ?: RULE(ctx, SCMP_ACT_ALLOW, "clone",
			  SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_THREAD | new_ns, CLONE_THREAD));
	/* its flags are out of the filter's reach; glibc falls back to clone on ENOSYS */
	ret = ret ?: rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
	/* W^X: no page both writable and executable (libraries map code read-only) */
	for (i = 0; i < 2; i++) {
		ret = ret ?: RULE(ctx, SCMP_ACT_ALLOW, maps[i],
				  SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
		ret = ret ?: RULE(ctx, SCMP_ACT_ALLOW, maps[i],
				  SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_WRITE, 0));
	}
	/* sockets: TCP and UDP over IP (outputs, DNS), unix (glibc's NSS asking nscd), netlink
	 * routes (getaddrinfo sorting several addresses, RFC 3484); socketpair: libcurl's
	 * resolver thread */
	ret = ret ?: RULE(ctx, SCMP_ACT_ALLOW, "socket", SCMP_A0_32(SCMP_CMP_EQ, AF_UNIX));
	ret = ret ?: RULE(ctx, SCMP_ACT_ALLOW, "socket", SCMP_A0_32(SCMP_CMP_EQ, AF_NETLINK),
			  SCMP_A2_32(SCMP_CMP_EQ, NETLINK_ROUTE));
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			ret = ret ?: RULE(ctx, SCMP_ACT_ALLOW, "socket",
					  SCMP_A0_32(SCMP_CMP_EQ, families[i]),
					  SCMP_A1_32(SCMP_CMP_MASKED_EQ, 0xf, types[j]));
	ret = ret ?: RULE(ctx, SCMP_ACT_ALLOW, "socketpair", SCMP_A0_32(SCMP_CMP_EQ, AF_UNIX));
	for (i = 0; i < sizeof(bpf_cmds) / sizeof(bpf_cmds[0]); i++)
		ret = ret ?: RULE(ctx, SCMP_ACT_ALLOW, "bpf", SCMP_A0_32(SCMP_CMP_EQ, bpf_cmds[i]));
	for (i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++)
		ret = ret ?: RULE(ctx, SCMP_ACT_ALLOW, "ioctl", SCMP_A1_32(SCMP_CMP_EQ, ioctls[i]));
	/* threads naming themselves (libmicrohttpd's, which may start after the filter) */
	ret = ret ?: RULE(ctx, SCMP_ACT_ALLOW, "prctl", SCMP_A0_32(SCMP_CMP_EQ, PR_SET_NAME));
	/* signals to the command only (passed on from the event loop, or killing it on a failed
	 * start), and within our own process (raise, abort, pthread_kill) */
	if (c->signal_pid > 0)
		ret = ret ?: RULE(ctx, SCMP_ACT_ALLOW, "kill",
				  SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)c->signal_pid));
	ret = ret ?: RULE(ctx, SCMP_ACT_ALLOW, "tgkill", SCMP_A0_32(SCMP_CMP_EQ, getpid()));
	/* uprobes attached late, on libraries processes load after the start, where they are
	 * perf events */
	if (c->perf_uprobes)
		ret = ret ?: rule(ctx, SCMP_ACT_ALLOW, "perf_event_open", 0, NULL);
#ifdef __x86_64__
	/* uretprobe (6.11) and uprobe (6.16, optimized probes): the kernel's trampolines make
	 * them when our own TLS calls pass our probes (seen: 335); a kernel that filtered them
	 * (before seccomp let them pass) would break those calls. Numbers: libseccomp 2.5 does
	 * not know the names. */
	ret = ret ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, 335, 0);
	ret = ret ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, 336, 0);
#endif
	return ret;
}

int privileges_confine(const struct confinement *c, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(PRIVILEGES_DEFAULT_ACTION);
	const char *what = "building the filter";
	size_t i;
	int ret;

	if (!ctx) {
		snprintf(err, errlen, "seccomp: cannot create a filter");
		return -ENOMEM;
	}
	/* every thread, those started earlier too; another architecture's calls kill */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	ret = ret ?: seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	ret = ret ?: seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	for (i = 0; !ret && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		ret = rule(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL);
	for (i = 0; !ret && i < sizeof(killed) / sizeof(killed[0]); i++)
		ret = rule(ctx, SCMP_ACT_KILL_PROCESS, killed[i], 0, NULL);
	ret = ret ?: rules_with_args(ctx, c);
	if (!ret) {
		what = "loading the filter";
		ret = seccomp_load(ctx);
	}
	if (ret)
		snprintf(err, errlen, "seccomp: %s: %s", what, strerror(-ret));
	seccomp_release(ctx);
	return ret;
}
