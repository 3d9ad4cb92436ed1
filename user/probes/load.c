// SPDX-License-Identifier: GPL-2.0
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fingerprint.h"
#include "lib/grow.h"
#include "lib/log.h"
#include "probes/detach.h"
#include "probes/probes.h"
#include "secretrace.skel.h"
#include "syscalls.h"

#define TRACEFS "/sys/kernel/tracing"

/* uprobe_multi (Linux 6.6): not in this libbpf's headers */
#define ST_BPF_TRACE_UPROBE_MULTI 48
#define ST_BPF_F_UPROBE_MULTI_RETURN 1

/* The BPF object with bounded loops (Makefile: bounded_object.o), for kernels without bpf_loop */
extern const char bounded_object[], bounded_object_end[];

/* Hooks without which nothing works: the process lifecycle and the plain write. */
static const char *const essential[] = {
	"handle_sched_process_fork", "handle_sched_process_exec", "handle_sched_process_exit",
	"sys_exit_write", NULL,
};

/* The BPF programs tell syscalls apart by number: check the table against this build's. */
#ifndef __NR_sendfile64
#define __NR_sendfile64 __NR_sendfile
#endif
#define CHECK_NR(name, nr, hook) _Static_assert(__NR_##name == nr, "syscall number of " #name);
ST_SEND_SYSCALLS(CHECK_NR)
ST_RECV_SYSCALLS(CHECK_NR)
ST_UNSCANNED_SYSCALLS(CHECK_NR)

/* Each family's one program, and the exit tracepoints it goes on. */
struct family_tp {
	const char *prog;
	const char *tp;
};

#define SEND_TP(name, nr, hook) { "handle_send_exit", "sys_exit_" #name },
#define RECV_TP(name, nr, hook) { "handle_recv_exit", "sys_exit_" #name },
#define UNSCANNED_TP(name, nr, hook) { "handle_unscanned_exit", "sys_exit_" #name },
static const struct family_tp family_tps[] = {
	ST_SEND_SYSCALLS(SEND_TP)
	ST_RECV_SYSCALLS(RECV_TP)
	ST_UNSCANNED_SYSCALLS(UNSCANNED_TP)
};

/* The program the kernel refused in the last load, as libbpf names it. */
static char refused[64];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	const char *start = "libbpf: prog '";
	char line[200], *end;
	va_list cp;

	va_copy(cp, ap);
	vsnprintf(line, sizeof(line), fmt, cp);
	va_end(cp);
	end = strstr(line, "': failed to load: ");
	if (!strncmp(line, start, strlen(start)) && end &&
	    end - line - strlen(start) < sizeof(refused))
		snprintf(refused, sizeof(refused), "%.*s", (int)(end - line - strlen(start)),
			 line + strlen(start));
	if (!st_verbose)
		return 0;
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

/* Is name one of the comma-separated list's? */
static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *at;

	for (at = strstr(list, name); at; at = strstr(at + 1, name))
		if ((at == list || at[-1] == ',') && (at[n] == ',' || at[n] == '\0'))
			return true;
	return false;
}

int probes_check(struct probes *p, char *err, size_t errlen)
{
	const char *force;
	struct stat st;
	bool forced;
	int ret;

	memset(p, 0, sizeof(*p));
	p->detacher = -1;
	libbpf_set_print(libbpf_print);
	if (geteuid() != 0) {
		snprintf(err, errlen, "must run as root: it loads eBPF programs (try sudo)");
		return -EPERM;
	}
	if (stat("/sys/kernel/btf/vmlinux", &st)) {
		snprintf(err, errlen,
			 "this kernel lacks BTF (/sys/kernel/btf/vmlinux): secretrace needs a kernel "
			 "built with CONFIG_DEBUG_INFO_BTF=y");
		return -ENOTSUP;
	}
	if (stat(TRACEFS "/events", &st)) {
		/* as bpftool does: tracepoint attachment needs tracefs. It stays mounted: it is
		 * the system's, and another tracer (a second secretrace) may be attaching */
		if (mount("nodev", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY) {
			snprintf(err, errlen, "cannot mount tracefs on %s: %s", TRACEFS,
				 strerror(errno));
			return -errno;
		}
		st_debug("mounted tracefs on %s", TRACEFS);
	}
	ret = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	if (ret < 0 && (ret == -EPERM || ret == -EACCES)) {
		snprintf(err, errlen, "not permitted to use BPF (%s): secretrace needs CAP_BPF and "
			 "CAP_PERFMON, or CAP_SYS_ADMIN", strerror(-ret));
		return ret;
	}
	if (ret != 1) {
		snprintf(err, errlen, "this kernel lacks BPF ring buffers (Linux 5.8 or later needed)");
		return -ENOTSUP;
	}
	/* the syscall exits read the arguments from the task's registers */
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_task_pt_regs, NULL) != 1 ||
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_get_current_task_btf,
				    NULL) != 1) {
		snprintf(err, errlen, "this kernel lacks the bpf_task_pt_regs helper (Linux 5.15 or "
			 "later needed)");
		return -ENOTSUP;
	}
	/* the fallback forced: how it is tested on kernels that have bpf_loop */
	force = getenv("SECRETRACE_FORCE_BOUNDED_LOOPS");
	forced = force && *force && strcmp(force, "0");
	p->bounded_loops = forced ||
			   libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, NULL) != 1;
	if (p->bounded_loops)
		st_warn("%s: the programs use bounded loops, and scan at most %d bytes of a call "
			"(the rest is counted as not scanned)",
			forced ? "SECRETRACE_FORCE_BOUNDED_LOOPS" :
			"this kernel has no bpf_loop helper (Linux 5.17)", ST_BOUNDED_SCAN_LIMIT);
	p->detacher = detach_start();
	return 0;
}

int probes_degraded(const struct probes *p, const char *out[2])
{
	int n = 0;

	if (p->bounded_loops)
		out[n++] = "bounded_loops";
	if (!p->uprobe_multi)
		out[n++] = "uprobe_per_function";
	return n;
}

/* BPF_LINK_CREATE of an uprobe_multi link: one program on many offsets of one file. */
static int multi_link(int prog_fd, const char *path, const uint64_t *offs, const uint64_t *cookies,
		      uint32_t cnt, bool ret)
{
	struct {
		uint32_t prog_fd, target_fd, attach_type, flags;
		uint64_t path, offsets, ref_ctr_offsets, cookies;
		uint32_t cnt, mflags, pid, pad;
		uint8_t zero[64];	/* the rest of union bpf_attr, which the kernel wants zero */
	} attr = {
		.prog_fd = prog_fd, .attach_type = ST_BPF_TRACE_UPROBE_MULTI,
		.path = (uintptr_t)path, .offsets = (uintptr_t)offs, .cookies = (uintptr_t)cookies,
		.cnt = cnt, .mflags = ret ? ST_BPF_F_UPROBE_MULTI_RETURN : 0,
	};

	return syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
}

/* Does the kernel have uprobe_multi links (6.6)? Asked before the programs are loaded. */
static bool uprobe_multi_supported(void)
{
	struct bpf_insn ret0[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = ST_BPF_TRACE_UPROBE_MULTI);
	uint64_t off = 0;
	int prog, fd;

	/* as libbpf probes it: a link on "/" fails with EBADF where the kind exists */
	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", ret0, 2, &opts);
	if (prog < 0)
		return false;
	fd = multi_link(prog, "/", &off, NULL, 1, false);
	if (fd >= 0)
		close(fd);
	close(prog);
	return fd >= 0 || errno == EBADF;
}

/* The skeleton on the bounded-loop object: the same maps, programs and globals (the Makefile
 * checks), other ELF bytes. */
static struct secretrace_bpf *open_bounded(void)
{
	struct secretrace_bpf *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	err = secretrace_bpf__create_skeleton(s);
	if (!err) {
		s->skeleton->data = (void *)bounded_object;
		s->skeleton->data_sz = bounded_object_end - bounded_object;
		err = bpf_object__open_skeleton(s->skeleton, NULL);
	}
	if (err) {
		secretrace_bpf__destroy(s);
		errno = -err;
		return NULL;
	}
	return s;
}

/* The skeleton opened and set up for cfg, without the programs dropped before. */
static int open_configured(struct probes *p, const struct probes_cfg *cfg, char *err,
			   size_t errlen)
{
	int ncpu = libbpf_num_possible_cpus();
	struct bpf_program *prog;
	struct secretrace_bpf *s;

	s = p->bounded_loops ? open_bounded() : secretrace_bpf__open();
	if (!s) {
		snprintf(err, errlen, "opening the BPF object failed: %s", strerror(errno));
		return -errno;
	}
	p->skel = s;
	s->rodata->target_mode = cfg->target_mode;
	s->rodata->scan_scope = cfg->scan_scope;
	s->rodata->self_tgid = getpid();
	s->rodata->scan_limit = cfg->scan_limit;
	s->rodata->hold_limit = cfg->hold_limit;
	s->rodata->keys = cfg->keys;
	/* uprobe_multi programs must say so when they are loaded */
	p->uprobe_multi = uprobe_multi_supported();
	if (p->uprobe_multi &&
	    (bpf_program__set_expected_attach_type(s->progs.handle_tls_enter,
						   ST_BPF_TRACE_UPROBE_MULTI) ||
	     bpf_program__set_expected_attach_type(s->progs.handle_tls_return,
						   ST_BPF_TRACE_UPROBE_MULTI) ||
	     bpf_program__set_expected_attach_type(s->progs.handle_go_tls,
						   ST_BPF_TRACE_UPROBE_MULTI))) {
		snprintf(err, errlen, "preparing the TLS probes failed");
		return -EINVAL;
	}
	if (ncpu < 1 || bpf_map__set_max_entries(s->maps.scan_state, ncpu) ||
	    bpf_map__set_max_entries(s->maps.events, cfg->ringbuf_bytes) ||
	    bpf_map__set_max_entries(s->maps.vault_events, cfg->ringbuf_bytes / 2)) {
		snprintf(err, errlen, "sizing the BPF maps failed");
		return -EINVAL;
	}
	bpf_object__for_each_program(prog, s->obj)
		if (listed(p->failed, bpf_program__name(prog)))
			bpf_program__set_autoload(prog, false);
	return 0;
}

/* A kernel whose verifier refuses a uprobe program (TLS libraries, Go) still traces the
 * syscalls: the program is dropped, said on stderr and in tracer.start
 * (secretrace.probes_failed), and the rest loaded again. Any other refusal is fatal. */
#define MAX_DROPPED 3

int probes_load(struct probes *p, const struct probes_cfg *cfg, char *err, size_t errlen)
{
	struct bpf_program *prog;
	int ret, tries;
	void *m;

	for (tries = 0;; tries++) {
		refused[0] = '\0';
		ret = open_configured(p, cfg, err, errlen);
		if (ret)
			return ret;
		ret = secretrace_bpf__load(p->skel);
		if (!ret)
			break;
		prog = refused[0] ? bpf_object__find_program_by_name(p->skel->obj, refused) : NULL;
		if (!prog || bpf_program__type(prog) != BPF_PROG_TYPE_KPROBE ||
		    tries == MAX_DROPPED) {
			snprintf(err, errlen, "loading the BPF programs failed%s%s: %s%s",
				 refused[0] ? " at " : "", refused, strerror(-ret),
				 st_verbose ? "" : " (run with -v for the verifier's log)");
			return ret;
		}
		st_warn("this kernel refuses the BPF program %s (%s; -v shows why): what it hooks "
			"is not traced", refused, strerror(-ret));
		snprintf(p->failed + strlen(p->failed), sizeof(p->failed) - strlen(p->failed),
			 "%s%s", p->nfailed ? "," : "", refused);
		p->nfailed++;
		secretrace_bpf__destroy(p->skel);
		p->skel = NULL;
	}
	if (!p->uprobe_multi)
		st_warn("this kernel has no uprobe_multi links (Linux 6.6): TLS probes go on one "
			"function at a time, as perf events");
	m = mmap(NULL, ST_PREFILTER_WORDS * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED,
		 bpf_map__fd(p->skel->maps.prefilter), 0);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "mapping the prefilter failed: %s", strerror(errno));
		return -errno;
	}
	p->prefilter = m;
	return 0;
}

static bool is_essential(const char *name)
{
	int i;

	for (i = 0; essential[i]; i++)
		if (!strcmp(essential[i], name))
			return true;
	return false;
}

/* A hook that did not attach: fatal if it is essential, else warned about and reported
 * in tracer.start's secretrace.probes_failed. */
static int attach_failed(struct probes *p, const char *name, int e, char *err, size_t errlen)
{
	if (is_essential(name)) {
		snprintf(err, errlen, "attaching %s failed: %s", name, strerror(-e));
		return e;
	}
	st_warn("probe %s did not attach (%s): what it hooks is not traced", name, strerror(-e));
	snprintf(p->failed + strlen(p->failed), sizeof(p->failed) - strlen(p->failed), "%s%s",
		 p->nfailed ? "," : "", name);
	p->nfailed++;
	return 0;
}

/* Keep a link for probes_destroy; -ENOMEM (the link destroyed) when there is no room. */
static int keep_link(struct probes *p, struct bpf_link *l)
{
	if (grow(&p->links, &p->caplinks, p->nlinks, sizeof(*p->links), 32)) {
		bpf_link__destroy(l);
		return -ENOMEM;
	}
	p->links[p->nlinks++] = l;
	return 0;
}

static int add_link(struct probes *p, struct bpf_link *l, const char *name, char *err,
		    size_t errlen)
{
	int e;

	if (!l)
		return attach_failed(p, name, -errno, err, errlen);
	e = keep_link(p, l);
	if (e)
		snprintf(err, errlen, "attaching %s: %s", name, strerror(-e));
	return e;
}

int probes_attach_uprobe(struct probes *p, struct bpf_program *prog, const char *path,
			 uint64_t off, uint64_t cookie, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = cookie, .retprobe = ret);
	struct bpf_link *l;

	if (bpf_program__fd(prog) < 0)
		return -ENOTSUP;	/* this kernel refused it (probes_load) */
	l = bpf_program__attach_uprobe_opts(prog, -1, path, off, &opts);
	return l ? keep_link(p, l) : -errno;
}

int probes_attach_uprobe_multi(struct probes *p, struct bpf_program *prog, const char *path,
			       const uint64_t *offs, const uint64_t *cookies, uint32_t cnt,
			       bool ret)
{
	int fd;

	if (bpf_program__fd(prog) < 0)
		return -ENOTSUP;	/* this kernel refused it (probes_load) */
	fd = multi_link(bpf_program__fd(prog), path, offs, cookies, cnt, ret);
	if (fd < 0)
		return -errno;
	if (grow(&p->link_fds, &p->caplink_fds, p->nlink_fds, sizeof(*p->link_fds), 32)) {
		close(fd);
		return -ENOMEM;
	}
	p->link_fds[p->nlink_fds++] = fd;
	return 0;
}

int probes_attach(struct probes *p, char *err, size_t errlen)
{
	struct bpf_program *prog;
	size_t i;
	int e;

	for (i = 0; i < sizeof(family_tps) / sizeof(family_tps[0]); i++) {
		prog = bpf_object__find_program_by_name(p->skel->obj, family_tps[i].prog);
		if (!prog) {
			snprintf(err, errlen, "BPF program %s missing", family_tps[i].prog);
			return -ENOENT;
		}
		e = add_link(p, bpf_program__attach_tracepoint(prog, "syscalls", family_tps[i].tp),
			     family_tps[i].tp, err, errlen);
		if (e)
			return e;
	}
	bpf_object__for_each_program(prog, p->skel->obj) {
		const char *name = bpf_program__name(prog);
		const char *sec = bpf_program__section_name(prog);

		/* uprobes go on library files (probes/tls.c) and Go binaries (go.c); bare
		 * "tracepoint" sections are the families above */
		if (bpf_program__type(prog) == BPF_PROG_TYPE_KPROBE || !strcmp(sec, "tracepoint") ||
		    !bpf_program__autoload(prog))
			continue;
		e = add_link(p, bpf_program__attach(prog), name, err, errlen);
		if (e)
			return e;
	}
	return 0;
}

void probes_stop(struct probes *p)
{
	if (p->skel)
		p->skel->bss->tracer_stopped = 1;
}

/* Is the detacher (detach.c) there to close the links after we have gone? */
static bool detacher_alive(struct probes *p)
{
	return p->detacher > 0 && waitpid(p->detacher, NULL, WNOHANG) == 0;
}

void probes_destroy(struct probes *p)
{
	bool leave = detacher_alive(p);
	struct timespec a, b;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; !leave && i < p->nlink_fds; i++)
		close(p->link_fds[i]);
	for (i = 0; i < p->nlinks; i++) {
		if (leave)
			bpf_link__disconnect(p->links[i]);	/* its descriptor stays open */
		bpf_link__destroy(p->links[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (leave)
		st_debug("%zu links left to the detacher (pid %d)", p->nlinks + p->nlink_fds,
			 (int)p->detacher);
	else
		st_debug("detached %zu links in %.0f ms", p->nlinks + p->nlink_fds,
			 (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
	free(p->links);
	free(p->link_fds);
	p->links = NULL;
	p->link_fds = NULL;
	p->nlinks = p->caplinks = p->nlink_fds = p->caplink_fds = 0;
	if (p->prefilter)
		munmap(p->prefilter, ST_PREFILTER_WORDS * sizeof(uint64_t));
	p->prefilter = NULL;
	secretrace_bpf__destroy(p->skel);
	p->skel = NULL;
}

int probes_trace_pid(struct probes *p, uint32_t pid, uint32_t root)
{
	struct st_traced v = { .root_pid = root };

	return bpf_map__update_elem(p->skel->maps.traced, &pid, sizeof(pid), &v, sizeof(v),
				    BPF_ANY) ? -errno : 0;
}

int probes_traced_count(struct probes *p)
{
	uint32_t key, next;
	int n = 0, fd = bpf_map__fd(p->skel->maps.traced);
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

int probes_stats(struct probes *p, uint64_t out[ST_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(p->skel->maps.stats);
	uint64_t vals[ncpu];
	uint32_t k;
	int c;

	for (k = 0; k < ST_STAT_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals))
			return -errno;
		for (c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	return 0;
}

uint64_t probes_recursion_misses(struct probes *p)
{
	struct bpf_program *prog;
	uint64_t n = 0;

	bpf_object__for_each_program(prog, p->skel->obj) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			n += info.recursion_misses;
	}
	return n;
}
