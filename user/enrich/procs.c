// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "enrich/procs.h"
#include "enrich/workload.h"
#include "output/emit.h"
#include "lib/u64map.h"

#define PROCS_KEEP_EXITED 4096	/* exited processes remembered for late records */

static struct u64map by_pid;	/* pid -> struct proc * */
static char boot_id[40];
static long ticks_per_sec;
static uint32_t exited_fifo[PROCS_KEEP_EXITED];
static unsigned exited_head;

int procs_init(void)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	if (f) {
		if (!fgets(boot_id, sizeof(boot_id), f))
			boot_id[0] = 0;
		fclose(f);
	}
	ticks_per_sec = sysconf(_SC_CLK_TCK);
	if (ticks_per_sec <= 0)
		ticks_per_sec = 100;
	return u64map_init(&by_pid, 256);
}

static void proc_release(struct proc *p)
{
	free(p->exe);
	free(p->vault_addr);
	free(p);
}

/* Out of the table: freed now, or when its last pin goes. */
static void proc_drop(struct proc *p)
{
	if (p->pins)
		p->dropped = true;
	else
		proc_release(p);
}

void procs_pin(struct proc *p)
{
	p->pins++;
}

void procs_unpin(struct proc *p)
{
	if (!--p->pins && p->dropped)
		proc_release(p);
}

void procs_free(void)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&by_pid, &i, &k, &v))
		proc_drop((struct proc *)(uintptr_t)v);
	u64map_free(&by_pid);
}

struct proc *procs_lookup(uint32_t pid)
{
	uint64_t v;

	return u64map_get(&by_pid, (uint64_t)pid + 1, &v) ? (struct proc *)(uintptr_t)v : NULL;
}

/* entity_id: stable across tools for one process, distinct across PID reuse. The start
 * time is taken in clock ticks, the precision /proc gives, so both sources agree. */
static void set_entity(struct proc *p)
{
	char in[96];
	uint8_t h[16];
	int n;

	n = snprintf(in, sizeof(in), "%s|%u|%llu", boot_id, p->pid,
		     (unsigned long long)(p->start_ns / (1000000000ULL / ticks_per_sec)));
	crypto_generichash(h, sizeof(h), (const uint8_t *)in, n, NULL, 0);
	sodium_bin2hex(p->entity_id, sizeof(p->entity_id), h, sizeof(h));
}

void procs_set_cgroup(struct proc *p, uint64_t cgroup_id)
{
	struct workload *w = workload_of(cgroup_id, 0);

	p->cgroup_id = cgroup_id;
	if (w)	/* else (the cgroup is gone already) the last one known stays */
		p->wl = w;
}

static struct proc *proc_new(uint32_t pid)
{
	struct proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	if (u64map_put(&by_pid, (uint64_t)pid + 1, (uintptr_t)p)) {
		free(p);
		return NULL;
	}
	return p;
}

/* Fill what /proc knows; false if the process is gone. */
static bool read_proc(struct proc *p)
{
	char path[64], buf[4096], *s;
	unsigned long long start = 0;
	ssize_t n;
	FILE *f;
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%u/stat", p->pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (n <= 0)
		return false;
	buf[n] = 0;
	/* comm may hold spaces and parentheses: fields resume after the last ')' */
	s = strrchr(buf, ')');
	if (!s)
		return false;
	if (sscanf(s + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
			  "%*d %llu",
		   &ppid, &start) != 2)
		return false;
	p->ppid = ppid;
	p->start_ns = start * (1000000000ULL / ticks_per_sec);
	{
		char *open = strchr(buf, '(');

		if (open && s > open) {
			size_t len = s - open - 1;

			if (len >= sizeof(p->name))
				len = sizeof(p->name) - 1;
			memcpy(p->name, open + 1, len);
			p->name[len] = 0;
		}
	}
	snprintf(path, sizeof(path), "/proc/%u/exe", p->pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		free(p->exe);
		p->exe = strdup(buf);
	}
	snprintf(path, sizeof(path), "/proc/%u/status", p->pid);
	f = fopen(path, "r");
	if (f) {
		while (fgets(buf, sizeof(buf), f))
			if (sscanf(buf, "Uid: %*u %u", &p->uid) == 1)
				break;
		fclose(f);
	}
	if (!p->wl)
		p->wl = workload_of(0, p->pid);
	set_entity(p);
	return true;
}

struct proc *procs_from_proc(uint32_t pid)
{
	struct proc *p = procs_lookup(pid);

	if (p)
		return p;
	p = proc_new(pid);
	if (p && !read_proc(p)) {
		u64map_del(&by_pid, (uint64_t)pid + 1);
		free(p);
		return NULL;
	}
	return p;
}

struct proc *procs_from_hdr(const struct st_rec_hdr *h)
{
	struct proc *p = procs_lookup(h->pid);

	if (p && p->start_ns && h->start_ns &&
	    p->start_ns / (1000000000ULL / ticks_per_sec) !=
		    h->start_ns / (1000000000ULL / ticks_per_sec)) {
		/* the pid was reused */
		u64map_del(&by_pid, (uint64_t)h->pid + 1);
		proc_drop(p);
		p = NULL;
	}
	if (p) {
		/* a process may move to another cgroup (runc puts a container's first process in
		 * its cgroup after forking it) */
		if (h->cgroup_id && (h->cgroup_id != p->cgroup_id || !p->wl))
			procs_set_cgroup(p, h->cgroup_id);
		return p;
	}
	p = proc_new(h->pid);
	if (!p)
		return NULL;
	if (!read_proc(p)) {
		memcpy(p->name, h->comm, sizeof(p->name));
		p->name[sizeof(p->name) - 1] = 0;
		p->uid = h->uid;
	}
	/* gone (or a zombie) and its fork record lost to a full ring: the kernel names its
	 * parent; its image is the parent's unless it exec'd (then its name would differ) */
	if (!p->ppid)
		p->ppid = h->ppid;
	if (!p->exe && p->ppid) {
		struct proc *parent = procs_lookup(p->ppid);

		if (parent && parent->exe && !strcmp(parent->name, p->name))
			p->exe = strdup(parent->exe);
	}
	if (h->start_ns) {
		p->start_ns = h->start_ns;
		set_entity(p);
	}
	if (h->cgroup_id)
		procs_set_cgroup(p, h->cgroup_id);
	return p;
}

static const char *env_value(const char *env, size_t len, const char *name)
{
	size_t nl = strlen(name), i = 0;

	while (i < len) {
		const char *e = env + i;
		size_t el = strnlen(e, len - i);

		if (el > nl && !strncmp(e, name, nl) && e[nl] == '=')
			return e + nl + 1;
		i += el + 1;
	}
	return NULL;
}

struct proc *procs_exec(const struct st_rec_exec *r)
{
	struct proc *p = procs_from_hdr(&r->hdr);
	const char *addr;
	char *env;

	if (!p)
		return NULL;
	memcpy(p->name, r->hdr.comm, sizeof(p->name));
	p->name[sizeof(p->name) - 1] = 0;
	p->ppid = r->ppid;
	p->uid = r->hdr.uid;
	if (r->exe_len && r->exe_off + r->exe_len <= ST_PATH_MAX) {
		free(p->exe);
		p->exe = strndup(r->exe + r->exe_off, r->exe_len);
	}
	env = (char *)r->data + ST_ARGS_MAX;
	addr = env_value(env, r->env_len, "VAULT_ADDR");
	free(p->vault_addr);
	p->vault_addr = addr ? strndup(addr, env + r->env_len - addr) : NULL;
	return p;
}

struct proc *procs_reach(const struct st_rec_reach *r)
{
	struct proc *p = procs_from_hdr(&r->hdr);

	if (!p)
		return NULL;
	/* what /proc could not tell (the process may be gone already) */
	if (!p->ppid)
		p->ppid = r->ppid;
	if (!p->exe && r->exe_len && r->exe_off + r->exe_len <= ST_PATH_MAX)
		p->exe = strndup(r->exe + r->exe_off, r->exe_len);
	return p;
}

struct proc *procs_fork(const struct st_rec_fork *r)
{
	struct proc *parent = procs_from_hdr(&r->hdr), *c;

	c = procs_lookup(r->child_pid);
	if (c) {
		u64map_del(&by_pid, (uint64_t)r->child_pid + 1);
		proc_drop(c);
	}
	c = proc_new(r->child_pid);
	if (!c)
		return NULL;
	c->ppid = r->hdr.pid;
	c->start_ns = r->child_start_ns;
	c->uid = r->hdr.uid;
	if (parent) {
		memcpy(c->name, parent->name, sizeof(c->name));
		c->exe = parent->exe ? strdup(parent->exe) : NULL;
		c->cgroup_id = parent->cgroup_id;
		c->wl = parent->wl;
		c->vault_addr = parent->vault_addr ? strdup(parent->vault_addr) : NULL;
	}
	set_entity(c);
	return c;
}

struct proc *procs_exit(const struct st_rec_exit *r)
{
	struct proc *p = procs_from_hdr(&r->hdr), *old;
	uint32_t evict;

	if (!p)
		return NULL;
	p->exited = true;
	p->exit_code = r->exit_code;
	/* keep the last PROCS_KEEP_EXITED exited processes for records still in flight */
	evict = exited_fifo[exited_head % PROCS_KEEP_EXITED];
	exited_fifo[exited_head++ % PROCS_KEEP_EXITED] = p->pid;
	old = evict ? procs_lookup(evict) : NULL;
	if (old && old->exited && old != p) {
		u64map_del(&by_pid, (uint64_t)evict + 1);
		proc_drop(old);
	}
	return p;
}

bool procs_descends(uint32_t pid, uint32_t ancestor)
{
	int depth;

	for (depth = 0; depth < 64 && pid; depth++) {
		struct proc *p;

		if (pid == ancestor)
			return true;
		p = procs_lookup(pid);
		if (!p)
			return false;
		pid = p->ppid;
	}
	return false;
}

void ev_process(json_t *ev, const struct proc *p, uint32_t tid)
{
	char uid[16];

	if (!p)
		return;
	ev_int(ev, "process.pid", p->pid);
	ev_str(ev, "process.entity_id", p->entity_id);
	if (tid)
		ev_int(ev, "process.thread.id", tid);
	ev_str(ev, "process.name", p->name);
	ev_str(ev, "process.executable", p->exe);
	if (p->ppid)
		ev_int(ev, "process.parent.pid", p->ppid);
	snprintf(uid, sizeof(uid), "%u", p->uid);
	ev_str(ev, "user.id", uid);
	workload_fields(ev, p->wl);
}
