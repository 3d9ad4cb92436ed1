// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect/hpack.h"
#include "dict/dict.h"
#include "dict/limits.h"
#include "output/emit.h"
#include "enrich/destination.h"
#include "learn/audit_hash.h"
#include "learn/conn.h"
#include "learn/h2.h"
#include "learn/http.h"
#include "learn/vault.h"
#include "lib/log.h"
#include "enrich/procs.h"
#include "lib/u64map.h"

#define PENDING_MAX 32
#define ANOMALY_GAP_NS 1000000000ULL	/* tracer.anomaly: one a second per process and kind */

struct pending {
	uint32_t stream;	/* HTTP/2 stream (0 on HTTP/1.1, where order pairs them) */
	struct vault_request req;
	uint32_t presented[8];	/* dictionary indices of the credentials it presented */
	int npresented;
};

struct vconn {
	uint64_t id;
	uint32_t pid;
	int32_t fd;
	uint64_t start_ns;
	uint64_t ts;		/* of the record being processed */
	uint32_t tid;
	struct st_addr server;
	char ip[INET6_ADDRSTRLEN];
	int port;
	uint64_t ssl;		/* the TLS session, when read through a TLS library */
	bool mode_known;	/* HTTP/1.1 or HTTP/2, from the client's first bytes */
	bool h2;
	struct http_stream out, in;
	struct h2_conn h2c;
	struct pending *q[PENDING_MAX];
	int qn;
	bool confirmed;		/* known to be Vault: its address, X-Vault-* headers, a Vault reply */
	bool demoted;		/* not Vault after all: no longer copied, ignored */
	bool hpack;		/* but an HTTP/2 TLS session: its writes followed for HPACK */
	const struct st_rec_data *rec;	/* the record being fed */
	bool out_reported, in_reported;	/* a broken stream is reported once */
	uint64_t next_offset[2];	/* expected stream offset of the call in progress */
};

static struct dict *dict;
static struct learner_cfg cfg;
static struct u64map conns;	/* conn id -> struct vconn * */
static struct u64map servers;	/* addresses known to be Vault servers: 1, named: 2 */
static uint64_t learned, failures;

int learner_init(struct dict *d, const struct learner_cfg *c)
{
	dict = d;
	cfg = *c;
	return u64map_init(&conns, 64) || u64map_init(&servers, 16) ||
	       limits_init(ST_MAX_SECRETS) ? -ENOMEM : 0;
}

static uint64_t server_key(const struct st_addr *a)
{
	uint64_t h;

	crypto_generichash((uint8_t *)&h, sizeof(h), (const uint8_t *)a, sizeof(*a), NULL, 0);
	return u64map_key(h);
}

static bool server_named(const struct st_addr *a)
{
	uint64_t v;

	return a->family && u64map_get(&servers, server_key(a), &v) && v == 2;
}

void learner_named_server(const struct st_addr *a)
{
	u64map_put(&servers, server_key(a), 2);
	learner_vault_server(a);
}

void learner_vault_server(const struct st_addr *a)
{
	if (!server_named(a))
		u64map_put(&servers, server_key(a), 1);
	/* connections to it are Vault's from their connect() on */
	if (cfg.vault_addrs_fd >= 0) {
		uint8_t one = 1;

		bpf_map_update_elem(cfg.vault_addrs_fd, a, &one, BPF_ANY);
	}
}

static void pending_free(struct pending *p)
{
	if (p) {
		vault_request_free(&p->req);
		free(p);
	}
}

static void conn_free(struct vconn *c)
{
	int i;

	http_stream_free(&c->out);
	http_stream_free(&c->in);
	h2_free(&c->h2c);
	for (i = 0; i < c->qn; i++)
		pending_free(c->q[i]);
	free(c);
}

void learner_free(void)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&conns, &i, &k, &v))
		conn_free((struct vconn *)(uintptr_t)v);
	u64map_free(&conns);
	u64map_free(&servers);
	limits_free();
}

/* ---- events ---- */

static json_t *conn_event(struct vconn *c, const char *action)
{
	json_t *ev = ev_new(action);
	struct proc *p = procs_lookup(c->pid);

	ev_time(ev, c->ts);
	ev_process(ev, p, c->tid);
	if (c->ip[0]) {
		ev_str(ev, "destination.ip", c->ip);
		ev_int(ev, "destination.port", c->port);
		ev_str(ev, "network.transport", "tcp");
	}
	return ev;
}

static void learn_failed(struct vconn *c, const char *request_id, const char *path,
			 const char *why)
{
	json_t *ev = conn_event(c, "secret.learn_failed");

	ev_str(ev, "vault.request_id", request_id);
	ev_str(ev, "vault.path", path);
	ev_str(ev, "error.message", why);
	ev_emit(ev);
	failures++;
	st_warn("could not learn a Vault response (pid %u%s%s): %s", c->pid, path ? ", " : "",
		path ? path : "", why);
}

static void receive_event(struct vconn *c, uint32_t idx, const struct delivery *v,
			  const char *accessor, long long lease_duration)
{
	json_t *ev = conn_event(c, "secret.receive");

	ev_delivery(ev, v);
	ev_str(ev, "vault.accessor", accessor);
	if (lease_duration > 0)	/* with the receive time, when the lease ends */
		ev_int(ev, "vault.lease_duration", lease_duration);
	ev_str(ev, "secret.fingerprint", dict_fp(dict, idx));
	audit_hash_emit(ev, idx);
}

/* Values refused as secrets (dict/limits.h): one tracer.anomaly per kind, at most one a
 * second per process and kind, the rest counted into the next one (all, with all). Never
 * the values. */
static void report_refusals(uint32_t pid, struct vconn *c, uint64_t now_ns, bool all)
{
	enum limit_kind k;
	uint64_t n;

	while ((n = limits_take_refusals(pid, now_ns, all ? 0 : ANOMALY_GAP_NS, &k))) {
		json_t *ev = c ? conn_event(c, "tracer.anomaly") : ev_new("tracer.anomaly");

		if (!c)
			ev_process(ev, procs_lookup(pid), 0);
		ev_str(ev, "secretrace.anomaly.kind", limits_kind_name(k));
		ev_int(ev, "secretrace.anomaly.count", (long long)n);
		ev_emit(ev);
		st_warn("pid %u: %llu values not learned as secrets (%s)", pid,
			(unsigned long long)n, limits_kind_name(k));
	}
}

/* Why the item may not teach a secret (enum limit_kind), or -1. */
static int refusal(struct vconn *c, const struct vault_item *it)
{
	bool named = server_named(&c->server);
	uint32_t idx;
	int why;

	if (cfg.strict && !named)
		return LIMIT_STRICT;
	if (dict_find(dict, it->value, it->len, &idx))
		return -1;	/* known: a delivery more, not a secret more */
	why = limits_value(it->value, it->len);
	if (why < 0)
		why = limits_admit(c->pid, c->server.family ? server_key(&c->server) : 0, named,
				   c->ts);
	return why;
}

/* ---- learning ---- */

static int learn_item(struct vconn *c, const struct vault_item *it, const char *request_id,
		      const struct vault_request *req, const char *lease_id,
		      enum secret_source source, uint32_t *idx)
{
	char server[INET6_ADDRSTRLEN + 8];
	struct secret_origin o = {
		.request_id = request_id,
		.path = req ? req->path : NULL,
		.ns = req ? req->ns : NULL,
		.correlation_id = req ? req->correlation_id : NULL,
		.field = it->field,
		.lease_id = lease_id,
		.pid = c->pid,
		.start_ns = c->start_ns,
		.ts_ns = c->ts,
		.source = source,
	};
	uint32_t before = dict->nsecrets;
	int ret = refusal(c, it);

	if (ret >= 0) {
		limits_refused(c->pid, ret);
		return -EPERM;
	}
	if (c->ip[0]) {
		snprintf(server, sizeof(server), "%s:%d", c->ip, c->port);
		o.server = server;
	}
	ret = dict_add(dict, it->value, it->len, &o, idx);
	if (ret == 1)
		limits_added(server_named(&c->server), dict->nsecrets - before);
	if (ret < 0) {
		char why[96];

		snprintf(why, sizeof(why), "secret %s not indexed: %s", it->field, strerror(-ret));
		learn_failed(c, request_id, o.path, why);
		return ret;
	}
	learned += ret;
	if (ret == 1)
		audit_hash_request(*idx, it->value, it->len);
	return ret;
}

/* Credentials the process presented: new ones are secrets from now on (a known one, a
 * token from an earlier login say, keeps the delivery that named it). */
static void learn_presented(struct vconn *c, struct pending *p)
{
	size_t i;

	for (i = 0; i < p->req.presented.n; i++) {
		const struct vault_item *it = &p->req.presented.v[i];
		uint32_t idx;

		if (dict_find(dict, it->value, it->len, &idx))
			continue;
		if (learn_item(c, it, NULL, &p->req, NULL, SECRET_PRESENTED, &idx) == 1 &&
		    p->npresented < (int)(sizeof(p->presented) / sizeof(p->presented[0])))
			p->presented[p->npresented++] = idx;
	}
	if (p->npresented)
		dict_commit(dict);
	vault_items_wipe(&p->req.presented);
	report_refusals(c->pid, c, c->ts, false);
}

/* The connection is Vault's: remember the server, learn what its requests presented. */
static void confirm(struct vconn *c, const struct st_addr *server)
{
	int i;

	if (c->confirmed)
		return;
	c->confirmed = true;
	if (server->family)
		learner_vault_server(server);
	for (i = 0; i < c->qn; i++)
		learn_presented(c, c->q[i]);
}

/* An HTTP/2 TLS session not Vault's: the kernel goes on copying its writes (not its reads)
 * so that its header blocks, and the encoder's table with them, are followed. */
static bool follow_hpack(struct vconn *c, const struct st_tls_key *tk)
{
	struct st_conn sc;

	if (!c->h2 || !c->ssl || c->h2c.failed || cfg.tls_conns_fd < 0 ||
	    bpf_map_lookup_elem(cfg.tls_conns_fd, tk, &sc))
		return false;
	sc.flags = ST_CONN_H2;
	if (bpf_map_update_elem(cfg.tls_conns_fd, tk, &sc, BPF_EXIST))
		return false;
	c->hpack = true;
	h2_fields_only(&c->h2c);
	st_debug("pid %u fd %d: HTTP/2, not Vault: its header blocks followed", c->pid, c->fd);
	return true;
}

/* Not Vault after all (an API that happens to use /v1/ paths): stop copying its bytes. */
static void demote(struct vconn *c)
{
	struct st_conn_key k = { .tgid = c->pid, .fd = c->fd };
	struct st_tls_key tk = { .tgid = c->pid, .ssl = c->ssl };

	if (c->hpack) {	/* its header blocks cannot be followed any further */
		c->hpack = false;
		hpack_session_lost();
	} else if (c->demoted || follow_hpack(c, &tk)) {
		c->demoted = true;
		return;
	}
	c->demoted = true;
	if (c->ssl && cfg.tls_conns_fd >= 0)
		bpf_map_delete_elem(cfg.tls_conns_fd, &tk);
	else if (cfg.vault_conns_fd >= 0)
		bpf_map_delete_elem(cfg.vault_conns_fd, &k);
	st_debug("pid %u fd %d: not a Vault connection, no longer learned from", c->pid, c->fd);
}

static void report_presented(struct vconn *c, struct pending *p, const char *request_id)
{
	int i;

	for (i = 0; i < p->npresented; i++) {
		struct delivery *v = dict_newest_delivery(dict, p->presented[i]);

		if (!v)
			continue;
		dict_set_request_id(dict, v, request_id);	/* without memory: named none */
		receive_event(c, p->presented[i], v, NULL, -1);
	}
}

/* A response that could not be learned: reported on a Vault connection; on one not yet
 * known to be Vault's, it only shows that it is not. */
static void unlearnable(struct vconn *c, struct pending *p, const char *rid, const char *why)
{
	if (!c->confirmed) {
		demote(c);
		return;
	}
	learn_failed(c, rid, p ? p->req.path : NULL, why);
	if (p)
		report_presented(c, p, rid);
}

static void learn_response(struct vconn *c, struct pending *p, struct http_msg *m)
{
	const struct vault_request *req = p ? &p->req : NULL;
	struct vault_response r;
	struct secbuf body = { 0 };
	char err[160], *rid;
	size_t i;

	if (m->body_over_limit) {
		rid = vault_sniff_request_id(m->head, m->head_len);
		snprintf(err, sizeof(err), "response body of %llu bytes exceeds the %zu-byte limit",
			 (unsigned long long)m->body_len, cfg.max_body);
		unlearnable(c, p, rid, err);
		free(rid);
		return;
	}
	if (!m->body.len) {
		if (p && c->confirmed)
			report_presented(c, p, NULL);
		return;
	}
	if (http_decode_body(m, cfg.max_body, &body, err, sizeof(err))) {
		rid = vault_sniff_request_id(m->head, m->head_len);
		unlearnable(c, p, rid, err);
		free(rid);
		secbuf_free(&body);
		return;
	}
	if (vault_parse_response(body.data, body.len, cfg.max_items, &r, err, sizeof(err))) {
		rid = vault_sniff_request_id(body.data, body.len < 256 ? body.len : 256);
		/* only a 2xx body is expected to be Vault's JSON */
		if (m->status >= 200 && m->status <= 299)
			unlearnable(c, p, rid, err);
		else if (!c->confirmed)
			demote(c);
		free(rid);
		secbuf_free(&body);
		return;
	}
	secbuf_free(&body);
	vault_drop_public(&r, req ? req->path : NULL);
	if (r.is_vault_shape)
		confirm(c, &c->server);
	if (!c->confirmed) {
		/* Vault's errors ({"errors": [...]}) keep the question open; anything else
		 * answers it */
		if (!r.is_vault_error)
			demote(c);
		vault_response_free(&r);
		return;
	}
	if (p)
		report_presented(c, p, r.request_id);
	for (i = 0; r.is_vault && i < r.items.n; i++) {
		const struct vault_item *it = &r.items.v[i];
		uint32_t idx;

		if (learn_item(c, it, r.request_id, req, r.lease_id, SECRET_FROM_RESPONSE, &idx) < 0)
			continue;
		if (r.lease_duration > 0)	/* a state file does not restore it past this */
			dict_set_lease_end(dict, idx, time(NULL) + r.lease_duration);
		receive_event(c, idx, dict_delivery_for(dict, idx, c->pid, 0),
			      !strcmp(it->field, "client_token") ? r.accessor : NULL, r.lease_duration);
	}
	if (r.skipped_limit) {
		snprintf(err, sizeof(err), "%zu more secrets than the %zu learned per response",
			 r.skipped_limit, cfg.max_items);
		learn_failed(c, r.request_id, req ? req->path : NULL, err);
	}
	report_refusals(c->pid, c, c->ts, false);
	if (r.skipped_short)
		st_debug("response %s: %zu strings under 8 bytes not tracked",
			 r.request_id ? r.request_id : "?", r.skipped_short);
	dict_commit(dict);
	vault_response_free(&r);
}

static void add_request(struct vconn *c, uint32_t stream, struct http_msg *m)
{
	struct pending *p = calloc(1, sizeof(*p));
	bool v1 = m->url && !strncmp(m->url, "/v1/", 4);

	if (!p || vault_parse_request(m, &p->req)) {
		pending_free(p);
		http_msg_free(m);
		return;
	}
	http_msg_free(m);
	p->stream = stream;
	if (c->qn == PENDING_MAX) {	/* responses never came: forget the oldest */
		pending_free(c->q[0]);
		memmove(&c->q[0], &c->q[1], sizeof(c->q[0]) * (PENDING_MAX - 1));
		c->qn--;
	}
	c->q[c->qn++] = p;
	if (p->req.vault_headers)
		confirm(c, &c->server);	/* learns p's credentials too */
	else if (c->confirmed)
		learn_presented(c, p);
	else if (c->h2 && !v1)	/* HTTP/2 was taken on trust: its first request decides */
		demote(c);
}

static void on_request(void *ctx, struct http_msg *m)
{
	add_request(ctx, 0, m);
}

/* The pending request of a stream (HTTP/2), or the oldest one (HTTP/1.1). */
static struct pending *pop_pending(struct vconn *c, uint32_t stream)
{
	struct pending *p;
	int i;

	for (i = 0; i < c->qn; i++) {
		if (c->q[i]->stream != stream)
			continue;
		p = c->q[i];
		memmove(&c->q[i], &c->q[i + 1], sizeof(c->q[0]) * (c->qn - i - 1));
		c->qn--;
		return p;
	}
	return NULL;
}

static void on_response(void *ctx, struct http_msg *m)
{
	struct vconn *c = ctx;
	struct pending *p = pop_pending(c, 0);

	learn_response(c, p, m);
	pending_free(p);
	http_msg_free(m);
}

static void on_h2_request(void *ctx, uint32_t stream, struct http_msg *m)
{
	add_request(ctx, stream, m);
}

static void on_h2_response(void *ctx, uint32_t stream, struct http_msg *m)
{
	struct vconn *c = ctx;
	struct pending *p = pop_pending(c, stream);

	learn_response(c, p, m);
	pending_free(p);
	http_msg_free(m);
}

static void on_h2_field(void *ctx, const nghttp2_nv *nv, const uint8_t *rep, size_t n)
{
	struct vconn *c = ctx;

	if (c->rec)
		hpack_field(dict, c->rec, nv, rep, n);
}

static bool response_has_no_body(void *ctx)
{
	struct vconn *c = ctx;

	return c->qn && c->q[0]->req.method && !strcmp(c->q[0]->req.method, "HEAD");
}

static struct vconn *conn_get(const struct st_rec_data *r)
{
	struct vconn *c;
	uint64_t v;

	if (u64map_get(&conns, u64map_key(r->conn_id), &v))
		return (struct vconn *)(uintptr_t)v;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = r->conn_id;
	c->pid = r->hdr.pid;
	c->fd = r->fd;
	c->start_ns = r->hdr.start_ns;
	c->ssl = r->ssl;
	c->server = r->si.dst;
	c->confirmed = u64map_get(&servers, server_key(&c->server), NULL);
	enrich_addr(&r->si.dst, c->ip, sizeof(c->ip), &c->port);
	http_stream_init(&c->out, true, cfg.max_body, on_request, NULL, c);
	http_stream_init(&c->in, false, cfg.max_body, on_response, response_has_no_body, c);
	if (h2_init(&c->h2c, cfg.max_body, on_h2_request, on_h2_response, c)) {
		conn_free(c);
		return NULL;
	}
	c->h2c.on_field = on_h2_field;
	if (u64map_put(&conns, u64map_key(r->conn_id), (uintptr_t)c)) {
		conn_free(c);
		return NULL;
	}
	return c;
}

/* Feed one direction to the connection's parser; 0, or -1 with why set. */
static int feed(struct vconn *c, bool in, const struct st_rec_data *r, const char **why)
{
	struct http_stream *s = in ? &c->in : &c->out;

	if (!c->mode_known && !in) {
		c->mode_known = true;
		c->h2 = h2_is_preface(r->data, r->len);
	}
	/* a record lost in the ring buffer, or bytes the kernel could not read, leave a hole
	 * the parser cannot bridge */
	if ((r->offset != c->next_offset[in] && r->offset != 0) || (r->flags & ST_DATA_UNREADABLE)) {
		*why = "Vault traffic lost before it was learned";
		return -1;
	}
	c->next_offset[in] = r->flags & ST_DATA_LAST ? 0 : r->offset + r->len;
	if (c->h2) {
		int err;

		*why = c->h2c.error;
		c->rec = r;
		err = h2_feed(&c->h2c, in, r->data, r->len);
		c->rec = NULL;
		return err;
	}
	*why = s->error;
	return http_stream_feed(s, r->data, r->len);
}

/* A TLS session whose library pointer was reused for a new connection (Python frees one
 * client's SSL, the next one gets its address): the kernel still knows it under the old
 * id. An HTTP/2 preface says so (and makes the kernel copy it as a Vault's again, until its
 * first request says otherwise): start over. */
static struct vconn *conn_restart(struct vconn *c, const struct st_rec_data *r)
{
	u64map_del(&conns, u64map_key(c->id));
	conn_free(c);
	return conn_get(r);
}

void learner_data(const struct st_rec_data *r)
{
	bool in = r->kind == ST_DATA_VAULT_IN;
	struct vconn *c = conn_get(r);
	const char *why = NULL;
	bool *reported;

	if (c && !in && c->mode_known && c->ssl && r->offset == 0 &&
	    h2_is_preface(r->data, r->len))
		c = conn_restart(c, r);
	if (!c || (c->demoted && !c->hpack))
		return;
	if (c->hpack) {	/* only the client's header blocks matter now */
		if (!in && feed(c, false, r, &why))
			demote(c);
		return;
	}
	reported = in ? &c->in_reported : &c->out_reported;
	c->ts = r->hdr.ts_ns;
	c->tid = r->hdr.tid;
	if (!c->ip[0])
		enrich_addr(&r->si.dst, c->ip, sizeof(c->ip), &c->port);
	if (feed(c, in, r, &why) && !*reported) {
		*reported = true;
		if (c->confirmed)
			learn_failed(c, NULL, c->qn ? c->q[0]->req.path : NULL, why);
		else
			demote(c);
	}
}

void learner_close(const struct st_rec_close *r)
{
	uint64_t v;
	struct vconn *c;

	if (!u64map_get(&conns, u64map_key(r->conn_id), &v))
		return;
	c = (struct vconn *)(uintptr_t)v;
	c->ts = r->hdr.ts_ns;
	if (!c->h2)
		http_stream_eof(&c->in);
	if (!(c->h2 ? h2_idle(&c->h2c) : http_stream_idle(&c->in)) && !c->in_reported &&
	    c->confirmed && !c->demoted)
		learn_failed(c, NULL, c->qn ? c->q[0]->req.path : NULL,
			     "connection closed in the middle of a response");
	u64map_del(&conns, u64map_key(r->conn_id));
	conn_free(c);
}

/* A process that exits without close(2) (killed, or just exiting) leaves its entry in the
 * kernel's map: dropped here, unless the entry is already another connection's (the pid
 * reused), so that short-lived processes cannot fill the map and blind the tracer. */
static void forget_kernel_conn(const struct vconn *c)
{
	struct st_conn_key k = { .tgid = c->pid, .fd = c->fd };
	struct st_tls_key tk = { .tgid = c->pid, .ssl = c->ssl };
	int fd = c->ssl ? cfg.tls_conns_fd : cfg.vault_conns_fd;
	const void *key = c->ssl ? (const void *)&tk : (const void *)&k;
	struct st_conn kc;

	if (fd >= 0 && !bpf_map_lookup_elem(fd, key, &kc) && kc.id == c->id)
		bpf_map_delete_elem(fd, key);
}

void learner_exit(uint32_t pid, uint64_t start_ns)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&conns, &i, &k, &v)) {
		struct vconn *c = (struct vconn *)(uintptr_t)v;

		/* not a later process given the same pid meanwhile */
		if (c->pid != pid || (start_ns && c->start_ns && c->start_ns != start_ns))
			continue;
		/* killed (or gone) while a response was being read: what was read is dropped */
		if (!(c->h2 ? h2_idle(&c->h2c) : http_stream_idle(&c->in)) && !c->in_reported &&
		    c->confirmed && !c->demoted)
			learn_failed(c, NULL, c->qn ? c->q[0]->req.path : NULL,
				     "process exited in the middle of a response");
		forget_kernel_conn(c);
		u64map_del(&conns, k);
		conn_free(c);
	}
	report_refusals(pid, NULL, 0, true);
	limits_forget(pid);
}

bool learner_idle(void)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&conns, &i, &k, &v)) {
		struct vconn *c = (struct vconn *)(uintptr_t)v;

		if (c->demoted)
			continue;
		if (c->h2 ? !h2_idle(&c->h2c) : !http_stream_idle(&c->in))
			return false;
	}
	return true;
}

uint64_t learner_secrets(void)
{
	return learned;
}

uint64_t learner_failures(void)
{
	return failures;
}
