// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netdb.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dict/dict.h"
#include "output/emit.h"
#include "enrich/destination.h"
#include "tracer/dispatch.h"
#include "detect/hold.h"
#include "probes/hooks.h"
#include "learn/conn.h"
#include "learn/learn_env.h"
#include "lib/grow.h"
#include "lib/log.h"
#include "probes/probes.h"
#include "enrich/procs.h"
#include "enrich/workload.h"
#include "lib/redact.h"
#include "probes/tls.h"
#include "probes/go.h"
#include "lib/secmem.h"
#include "lib/u64map.h"
#include "policy/uses.h"

#define WATCHED_MAX 64

static struct u64map unscanned_seen;	/* (entity, hook) already reported */
static char *watched[WATCHED_MAX];
static int nwatched;
/* exits waiting for the next pass over the Vault ring (late_exit) */
struct late_exit {
	uint32_t pid;
	uint64_t start_ns;
};

static struct late_exit *late_exits;
static size_t nlate, late_cap;

int events_init(struct events_ctx *c, struct probes *p, struct dict *d)
{
	c->probes = p;
	c->dict = d;
	c->records = 0;
	c->events_rb = NULL;
	return u64map_init(&unscanned_seen, 64);
}

void events_free(void)
{
	u64map_free(&unscanned_seen);
	free(late_exits);
	late_exits = NULL;
	nlate = late_cap = 0;
	while (nwatched)
		free(watched[--nwatched]);
}

/* ---- process.start ---- */

/* A process.start waits until its process exits, execs again, or PROC_START_DELAY_NS has
 * passed: a credential in argv (curl -H "X-Vault-Token: ...") is learned only when the
 * process presents it to Vault, and its arguments must not be printed once it is known. */
#define PROC_START_DELAY_NS 2000000000ULL

struct start {
	json_t *ev;
	uint32_t pid;
	uint64_t due_ns;
	struct secbuf args;	/* NUL-separated, wiped when emitted */
	struct start *next;
};

static struct start *starts, **starts_tail = &starts;

static void emit_start(struct start *s)
{
	json_t *args = json_array();
	bool withheld = false;
	size_t i, from = 0;

	for (i = 0; i < s->args.len; i++) {
		if (s->args.data[i])
			continue;
		if (redact_contains((char *)s->args.data + from, i - from))
			withheld = true;
		json_array_append_new(args, json_stringn((char *)s->args.data + from, i - from));
		from = i + 1;
	}
	if (withheld) {
		/* a secret is in them: the secret.use event says which and where */
		ev_bool(s->ev, "secretrace.args_withheld", true);
		json_decref(args);
	} else {
		ev_set(s->ev, "process.args", args);
	}
	ev_emit(s->ev);
	secbuf_free(&s->args);
	free(s);
}

void events_flush_starts(uint64_t now, bool all, uint32_t pid)
{
	struct start **pp = &starts, *s;

	while ((s = *pp)) {
		if (all || s->pid == pid || now >= s->due_ns) {
			*pp = s->next;
			emit_start(s);
		} else {
			pp = &s->next;
		}
	}
	for (starts_tail = &starts; *starts_tail; starts_tail = &(*starts_tail)->next)
		;
}

static void on_exec(struct events_ctx *c, const struct st_rec_exec *r)
{
	struct proc *p = procs_exec(r);
	uint32_t i, n = r->args_len > ST_ARGS_MAX ? ST_ARGS_MAX : r->args_len;
	struct start *s;
	int count = 0;

	if (!p)
		return;
	/* a program with TLS inside (node): uprobes on it, for it and every later run */
	tls_attach_exe(c->probes, p->pid, p->exe);
	/* a Go program: its crypto/tls (gobin looks at each new ELF file once) */
	go_attach_exe(c->probes, p->pid, p->exe);
	/* learn VAULT_TOKEN (and --learn-env) before anything prints what the process was given */
	learn_env(p, r->data + ST_ARGS_MAX, r->env_len > ST_ENV_MAX ? ST_ENV_MAX : r->env_len,
		    r->hdr.ts_ns);
	if (p->vault_addr) {
		char err[256];

		if (events_watch_vault_addr(p->vault_addr, false, err, sizeof(err)))
			st_warn("VAULT_ADDR of pid %u: %s", p->pid, err);
	}
	events_flush_starts(0, false, p->pid);	/* the previous image's, if still waiting */
	/* node modes: process.start only for the processes that hold a secret (the reach set);
	 * every other exec on the node is not news */
	if (!r->hdr.reached)
		return;

	for (i = 0; i < n; i++)
		count += !r->data[i];
	if (n && r->data[n - 1])	/* truncated: the last argument is cut */
		count++;
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	s->ev = ev_new("process.start");
	ev_time(s->ev, r->hdr.ts_ns);
	ev_process(s->ev, p, r->hdr.tid);
	ev_int(s->ev, "process.args_count", count);
	if (r->args_truncated)
		ev_bool(s->ev, "secretrace.args_truncated", true);
	s->pid = p->pid;
	s->due_ns = now_boot_ns() + PROC_START_DELAY_NS;
	if (secbuf_append(&s->args, r->data, n) ||
	    (n && r->data[n - 1] && secbuf_append(&s->args, "", 1))) {
		json_decref(s->ev);
		secbuf_free(&s->args);
		free(s);
		return;
	}
	*starts_tail = s;
	starts_tail = &s->next;
}

/* ---- network.connect ---- */

static void on_connect(struct events_ctx *c, const struct st_rec_connect *r)
{
	char ip[INET6_ADDRSTRLEN];
	struct proc *p;
	json_t *ev;
	int port;

	enrich_connect(r);
	p = procs_from_hdr(&r->hdr);
	/* by its first connection a process has loaded its libraries: a TLS library not
	 * seen yet (a container's own, a dlopen'd copy) gets its uprobes now */
	if (p && !p->maps_checked) {
		p->maps_checked = true;
		tls_attach_process(c->probes, p->pid);
		go_attach_process(c->probes, p->pid);	/* one running since before the start */
	}
	if (!r->hdr.reached)	/* node modes: as for process.start */
		return;
	ev = ev_new("network.connect");
	ev_time(ev, r->hdr.ts_ns);
	ev_process(ev, p, r->hdr.tid);
	enrich_addr(&r->dst, ip, sizeof(ip), &port);
	if (ip[0]) {
		ev_str(ev, "destination.ip", ip);
		ev_int(ev, "destination.port", port);
	} else if (r->dst.family == AF_UNIX) {
		char path[sizeof(r->path) + 1];

		snprintf(path, sizeof(path), "%s", r->path[0] ? r->path : "");
		if (!r->path[0] && r->path[1])
			snprintf(path, sizeof(path), "@%s", r->path + 1);
		ev_str(ev, "destination.address", path);
	}
	ev_str(ev, "network.transport", transport_name(r->transport));
	ev_int(ev, "secretrace.fd", r->fd);
	if (r->vault)
		ev_bool(ev, "secretrace.vault", true);
	ev_emit(ev);
}

/* ---- what could not be scanned ---- */

static void on_unscanned(const struct st_rec_unscanned *r)
{
	struct proc *p = procs_from_hdr(&r->hdr);
	char key[64];
	uint64_t k;
	json_t *ev;

	snprintf(key, sizeof(key), "%s|%u", p ? p->entity_id : "", r->hook);
	crypto_generichash((uint8_t *)&k, sizeof(k), (const uint8_t *)key, strlen(key), NULL, 0);
	k = u64map_key(k);
	if (u64map_get(&unscanned_seen, k, NULL))
		return;	/* counted in secretrace.stats at stop */
	u64map_put(&unscanned_seen, k, 1);
	st_warn("pid %u uses %s: those bytes cannot be scanned (counted as not scanned)",
		r->hdr.pid, hook_name(r->hook));
	ev = ev_new("tracer.unscanned");
	ev_time(ev, r->hdr.ts_ns);
	ev_process(ev, p, r->hdr.tid);
	ev_str(ev, "secretrace.syscall", hook_name(r->hook));
	ev_int(ev, "secretrace.fd", r->fd);
	if (r->bytes)
		ev_int(ev, "secretrace.bytes", (long long)r->bytes);
	ev_emit(ev);
}

/* A use record is as long as its path (bpf/detect/scan.bpf.c): whole again here. */
static void on_match(const void *data, size_t size)
{
	const size_t head = offsetof(struct st_rec_match, path);
	struct st_rec_match m;
	struct use u;

	if (size < head || size > sizeof(m))
		return;
	memcpy(&m, data, size);
	if (m.si.path_len > size - head)
		m.si.path_len = size - head;
	m.si.path_off = 0;
	m.path[m.si.path_len < sizeof(m.path) ? m.si.path_len : sizeof(m.path) - 1] = 0;
	u = (struct use){
		.hdr = &m.hdr, .hook = m.hook, .fd = m.fd, .si = &m.si, .path = m.path,
		.secret = m.secret, .count = m.count,
		.offset = (int64_t)m.offset - m.carry_len,
	};
	hold_note_found(m.call_id, m.secret);
	uses_report(&u);
}

/* Exits wait for the next pass over the Vault ring: a process can read its answer and exit
 * between that ring's pass and this one's, and its exit, read first, would drop the request
 * the answer belongs to. Every Vault record of a process is in its ring before its exit
 * record is in this one, so after the next pass nothing of it is left to come. */
static void late_exit(uint32_t pid, uint64_t start_ns)
{
	if (grow(&late_exits, &late_cap, nlate, sizeof(*late_exits), 256)) {
		learner_exit(pid, start_ns);	/* no room to wait: dropped now */
		return;
	}
	late_exits[nlate++] = (struct late_exit){ pid, start_ns };
}

void events_vault_done(void)
{
	size_t i;

	for (i = 0; i < nlate; i++)
		learner_exit(late_exits[i].pid, late_exits[i].start_ns);
	nlate = 0;
}

static void on_data(struct events_ctx *c, const struct st_rec_data *r)
{
	struct proc *p;
	bool renamed;

	if (r->len > ST_DATA_CHUNK)
		return;
	if (r->kind == ST_DATA_HELD) {
		hold_data(r, learner_idle());
		return;
	}
	if (r->kind == ST_DATA_PEEK) {
		enrich_peek(r);
		return;
	}
	/* Vault traffic has a ring of its own, read first: its process's exec or fork record
	 * may still wait in the other ring (and if lost, /proc or the parent tells). An exec
	 * not read yet shows as a new name on the main thread (runc's child become the agent).
	 * Only then: read early, that ring's uses can come before an answer they follow. */
	p = procs_lookup(r->hdr.pid);
	renamed = p && r->hdr.tid == r->hdr.pid && strncmp(p->name, r->hdr.comm, sizeof(p->name));
	if ((!p || !p->exe || renamed) && c->events_rb && ring_buffer__consume(c->events_rb) < 0)
		st_debug("reading the ring buffer: %s", strerror(errno));
	p = procs_lookup(r->hdr.pid);
	if (renamed && p && strncmp(p->name, r->hdr.comm, sizeof(p->name))) {
		/* no exec: the main thread renamed itself (prctl), as its process's name */
		memcpy(p->name, r->hdr.comm, sizeof(p->name));
		p->name[sizeof(p->name) - 1] = 0;
	}
	procs_from_hdr(&r->hdr);
	learner_data(r);
	if (r->kind == ST_DATA_VAULT_IN && (r->flags & ST_DATA_LAST) && learner_idle())
		hold_release(r->seq);
}

static void on_exit_rec(const struct st_rec_exit *r)
{
	events_flush_starts(0, false, r->hdr.pid);
	procs_exit(r);
	late_exit(r->hdr.pid, r->hdr.start_ns);
	enrich_exit(r->hdr.pid);
	uses_flush(r->hdr.ts_ns, false, r->hdr.pid);
}

#define NEED(type) if (size < sizeof(type)) return 0

int events_handle(void *ctx, void *data, size_t size)
{
	struct events_ctx *c = ctx;
	const struct st_rec_hdr *h = data;

	if (size < sizeof(*h))
		return 0;
	c->records++;
	switch (h->type) {
	case ST_REC_EXEC:
		NEED(struct st_rec_exec);
		on_exec(c, data);
		break;
	case ST_REC_FORK:
		NEED(struct st_rec_fork);
		procs_fork(data);
		break;
	case ST_REC_EXIT:
		NEED(struct st_rec_exit);
		on_exit_rec(data);
		break;
	case ST_REC_CONNECT:
		NEED(struct st_rec_connect);
		on_connect(c, data);
		break;
	case ST_REC_MATCH:
		on_match(data, size);
		break;
	case ST_REC_DATA:
		NEED(struct st_rec_data);
		on_data(c, data);
		break;
	case ST_REC_CLOSE:
		NEED(struct st_rec_close);
		learner_close(data);
		break;
	case ST_REC_UNSCANNED:
		NEED(struct st_rec_unscanned);
		on_unscanned(data);
		break;
	case ST_REC_REACH:
		NEED(struct st_rec_reach);
		procs_reach(data);
		break;
	case ST_REC_CGROUP: {
		const struct st_rec_cgroup *g = data;

		NEED(struct st_rec_cgroup);
		workload_cgroup_made(g->id, g->path, g->path_len < sizeof(g->path) ? g->path_len : 0);
		break;
	}
	}
	return 0;
}

/* ---- Vault addresses ---- */

int events_watch_vault_addr(const char *url, bool named, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char host[256], port[16];
	const char *p = url, *end;
	bool tls = false;
	int i, ret, added = 0;

	for (i = 0; i < nwatched; i++)
		if (!strcmp(watched[i], url))
			return 0;
	if (!strncmp(p, "https://", 8))
		p += 8, tls = true;
	else if (!strncmp(p, "http://", 7))
		p += 7;
	else if (strstr(p, "://")) {
		snprintf(err, errlen, "unsupported address scheme (use http:// or https://)");
		return -1;
	}
	end = p + strcspn(p, "/?#");
	snprintf(port, sizeof(port), "%s", tls ? "443" : "80");
	if (*p == '[') {	/* [v6]:port */
		const char *rb = memchr(p, ']', end - p);

		if (!rb) {
			snprintf(err, errlen, "malformed IPv6 address");
			return -1;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(rb - p - 1), p + 1);
		if (rb + 1 < end && rb[1] == ':')
			snprintf(port, sizeof(port), "%.*s", (int)(end - rb - 2), rb + 2);
	} else {
		const char *colon = memchr(p, ':', end - p);

		snprintf(host, sizeof(host), "%.*s", (int)((colon ? colon : end) - p), p);
		if (colon)
			snprintf(port, sizeof(port), "%.*s", (int)(end - colon - 1), colon + 1);
	}
	if (!host[0]) {
		snprintf(err, errlen, "no host in address");
		return -1;
	}
	hints.ai_flags = AI_NUMERICSERV;
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(ret));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct st_addr a = { .family = ai->ai_family };

		if (ai->ai_family == AF_INET) {
			struct sockaddr_in *sin = (void *)ai->ai_addr;

			a.port = ntohs(sin->sin_port);
			memcpy(a.addr, &sin->sin_addr, 4);
		} else if (ai->ai_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (void *)ai->ai_addr;

			a.port = ntohs(sin6->sin6_port);
			memcpy(a.addr, &sin6->sin6_addr, 16);
		} else {
			continue;
		}
		if (named)
			learner_named_server(&a);
		else
			learner_vault_server(&a);
		added++;
	}
	freeaddrinfo(res);
	if (nwatched < WATCHED_MAX)
		watched[nwatched++] = strdup(url);
	if (!added) {
		snprintf(err, errlen, "no usable address for %s", host);
		return -1;
	}
	return 0;
}
