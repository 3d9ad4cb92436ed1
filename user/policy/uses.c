// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "dict/dict.h"
#include "output/emit.h"
#include "dict/encodings.h"
#include "enrich/destination.h"
#include "enrich/handoff.h"
#include "output/template.h"
#include "probes/hooks.h"
#include "lib/log.h"
#include "policy/policy.h"
#include "enrich/procs.h"
#include "enrich/workload.h"
#include "lib/redact.h"
#include "lib/u64map.h"
#include "policy/uses.h"

/* A repeated use's event as compact JSON text, re-emitted with a count. The text is made
 * at the first repeat, not the first use: most (process, secret, sink) uses never repeat
 * (curl writing a 1,000-secret response), and 10,000 texts would be 6.5 MiB. */
struct repeat {
	uint32_t pid;
	uint64_t pending;	/* uses since the last report */
	uint64_t last_ns;
	size_t len;
	char *text;		/* not yet redacted (ev_emit does that): wiped when freed */
};

static struct dict *dict;
static const struct policy *policy;
static uint64_t interval_ns, reported, violations;
static struct u64map repeats;	/* (process, secret, sink) -> struct repeat * */
static struct u64map warned;	/* (process, secret, sink) violations already on stderr */
static struct u64map templates;	/* everything a violation event says -> struct ev_template * */
static uint8_t template_key[crypto_shorthash_KEYBYTES];

#define TEMPLATES_MAX 4096	/* then they are dropped and made again as needed */

int uses_init(struct dict *d, unsigned repeat_interval_s, const struct policy *pol)
{
	dict = d;
	policy = pol;
	interval_ns = (uint64_t)repeat_interval_s * 1000000000ULL;
	randombytes_buf(template_key, sizeof(template_key));
	return u64map_init(&repeats, 64) || u64map_init(&warned, 64) ||
	       u64map_init(&templates, 64) || handoff_init() ? -1 : 0;
}

/* 0, or -ENOMEM with r as it was. */
static int repeat_set_text(struct repeat *r, const json_t *ev)
{
	size_t n = json_dumpb(ev, NULL, 0, JSON_COMPACT);
	char *text;

	if (!n || !(text = malloc(n)))
		return -ENOMEM;
	if (json_dumpb(ev, text, n, JSON_COMPACT) != n) {
		free(text);
		return -ENOMEM;
	}
	r->text = text;
	r->len = n;
	return 0;
}

static void repeat_free(struct repeat *r)
{
	if (r->text) {
		sodium_memzero(r->text, r->len);
		free(r->text);
	}
	free(r);
}

static void emit_repeat(struct repeat *r, uint64_t now)
{
	json_t *ev = r->text ? json_loadb(r->text, r->len, 0, NULL) : NULL;

	if (!ev) {	/* no memory for the text, or to load it: counted once */
		ev_emit_failed();
		r->pending = 0;
		return;
	}
	ev_new_identity(ev);
	ev_time(ev, now);
	ev_int(ev, "secretrace.repeat_count", (long long)r->pending);
	ev_emit(ev);
	reported++;
	r->pending = 0;
	r->last_ns = now;
}

static void templates_free(void)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&templates, &i, &k, &v))
		ev_template_free((void *)(uintptr_t)v);
	u64map_free(&templates);
}

void uses_free(void)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&repeats, &i, &k, &v)) {
		repeat_free((void *)(uintptr_t)v);
	}
	u64map_free(&repeats);
	u64map_free(&warned);
	templates_free();
	handoff_free();
}

/* The dictionary index of the secret itself, for any of its forms. */
static uint32_t secret_index(uint32_t idx)
{
	return (uint32_t)(dict_secret(dict, idx) - dict->secrets);
}

#define USE_KEY_MAX (2 * ST_PATH_MAX + 192)

/* process|secret|tls|sink: what makes two uses "the same" (text holds it, NUL-ended) */
static uint64_t repeat_key(const struct proc *p, const struct use *u, const struct sink_view *v,
			   char text[USE_KEY_MAX])
{
	char sink[2 * ST_PATH_MAX + 128];
	uint64_t h;
	int n;

	enrich_sink_key(v, sink, sizeof(sink));
	n = snprintf(text, USE_KEY_MAX, "%s|%u|%d|%s", p ? p->entity_id : "", u->secret,
		     hook_is_tls(u->hook), sink);
	crypto_generichash((uint8_t *)&h, sizeof(h), (const uint8_t *)text,
			   n < USE_KEY_MAX ? n : USE_KEY_MAX - 1, NULL, 0);
	return u64map_key(h);
}

/* Vault credentials: sent back to the server they came from, they are always allowed. */
static bool is_credential(const char *field)
{
	static const char *const creds[] = { "client_token", "wrap_info.token", "secret_id",
					     "token", "password", "jwt", NULL };
	int i;

	for (i = 0; field && creds[i]; i++)
		if (!strcmp(field, creds[i]))
			return true;
	return false;
}

static enum policy_verdict judge(const struct delivery *d, const struct proc *p,
				 const struct sink_view *v, const char **rule)
{
	char dest[sizeof(v->ip) + 8];
	struct policy_use pu = {
		.vault_path = d ? d->path : NULL,
		.ns = d ? d->ns : NULL,
		.field = d ? d->field : NULL,
		.sink = v->sink,
		.dest_ip = v->ip[0] ? v->ip : NULL,
		.dest_port = v->port,
		.dest_domain = v->domain,
		.unix_path = v->address[0] ? v->address : NULL,
		.executable = p ? p->exe : NULL,
	};

	*rule = NULL;
	if (!policy)
		return POLICY_NONE;
	snprintf(dest, sizeof(dest), "%s:%d", v->ip, v->port);
	pu.to_vault_server = d && d->server && v->ip[0] && !strcmp(d->server, dest) &&
			     is_credential(d->field);
	return policy_decide(policy, &pu, rule);
}

struct sig {
	char buf[8192];
	size_t n;
	bool full;
};

static void sig_add(struct sig *g, const void *p, size_t n)
{
	if (g->n + n + 1 > sizeof(g->buf)) {
		g->full = true;
		return;
	}
	memcpy(g->buf + g->n, p, n);
	g->n += n;
	g->buf[g->n++] = 0;
}

/* NULL (a field left out) and "" (a field set empty) differ */
static void sig_str(struct sig *g, const char *s)
{
	uint8_t present = s != NULL;

	sig_add(g, &present, 1);
	if (s)
		sig_add(g, s, strlen(s));
}

/*
 * A keyed hash of everything a violation event says but its slots (output/template.h): two
 * uses with the same one make the same event text. Only for the events whose shape the
 * slots cover (no split, no count, no rescan) and whose sink needs no lookup at event
 * time (pipes and unix sockets name their peer); 0 for the others.
 */
static uint64_t template_sig(const char *use_key, const struct use *u, const struct proc *p,
			     const struct delivery *d, const struct secret_entry *e,
			     const struct sink_view *v, const char *rule)
{
	uint64_t gen = redact_generation(), h, wl[2];
	uint32_t nums[6] = { u->hook, u->encoding ? u->encoding : e->encoding, !!u->hdr->tid, v->path_truncated,
			     p ? p->ppid : 0, p ? p->uid : 0 };
	struct sig g = { .n = 0 };

	if (u->offset < 0 || u->count > 1 || u->rescanned || !strcmp(v->sink, "pipe") ||
	    (v->transport && !strcmp(v->transport, "unix")))
		return 0;
	/* the key's text, not its unkeyed hash: a traced process could search for a path
	 * whose hash collides with another's and have its event rendered from that one */
	sig_str(&g, use_key);
	sig_add(&g, &gen, sizeof(gen));
	sig_add(&g, nums, sizeof(nums));
	sig_str(&g, rule);
	sig_str(&g, v->domain);
	if (p) {
		sig_str(&g, p->name);
		sig_str(&g, p->exe);
		/* the container and pod fields: its cgroup, and whether the pod is named yet */
		wl[0] = p->cgroup_id;
		wl[1] = p->wl && p->wl->pod;
		sig_add(&g, wl, sizeof(wl));
	}
	if (d) {
		sig_str(&g, d->request_id);
		sig_str(&g, d->path);
		sig_str(&g, d->field);
		sig_str(&g, d->lease_id);
		sig_str(&g, d->ns);
		sig_str(&g, d->correlation_id);
	}
	if (g.full)
		return 0;
	crypto_shorthash((uint8_t *)&h, (const uint8_t *)g.buf, g.n, template_key);
	return h ? h : 1;
}

/* A violation through its template, if it has one; with ev (built for it), made from ev,
 * which is then freed. False: nothing was emitted, and ev is the caller's still. */
static bool emit_templated(uint64_t sig, const struct use *u, json_t *ev)
{
	struct ev_slots slots = { .boot_ns = u->hdr->ts_ns, .tid = u->hdr->tid, .fd = u->fd,
				  .offset = u->offset };
	struct ev_template *t;
	uint64_t found;

	if (u64map_get(&templates, u64map_key(sig), &found)) {
		ev_template_emit((void *)(uintptr_t)found, &slots);
		json_decref(ev);
		return true;
	}
	if (!ev || !(t = ev_template_make(json_deep_copy(ev))))
		return false;
	if (templates.live >= TEMPLATES_MAX) {
		templates_free();
		u64map_init(&templates, 64);
	}
	if (u64map_put(&templates, u64map_key(sig), (uintptr_t)t)) {
		ev_template_free(t);
		return false;
	}
	ev_template_emit(t, &slots);
	json_decref(ev);
	return true;
}

/* The event of a use (or violation), built field by field. */
static json_t *use_event(const struct use *u, const struct proc *p, const struct delivery *d,
			 const struct secret_entry *e, const struct sink_view *v, bool violation,
			 const char *rule)
{
	json_t *ev = ev_new(violation ? "secret.violation" : "secret.use");

	if (violation)
		ev_str(ev, "event.kind", "alert");
	ev_str(ev, "rule.name", rule);
	ev_time(ev, u->hdr->ts_ns);
	ev_process(ev, p, u->hdr->tid);
	ev_delivery(ev, d);
	handoff_enrich(ev, secret_index(u->secret), p, d);
	ev_str(ev, "secret.fingerprint", dict_fp(dict, u->secret));
	ev_str(ev, "secret.encoding", encoding_name(u->encoding ? u->encoding : e->encoding));
	ev_str(ev, "secretrace.syscall", hook_name(u->hook));
	ev_int(ev, "secretrace.fd", u->fd);
	ev_bool(ev, "secretrace.tls", hook_is_tls(u->hook));
	ev_int(ev, "secretrace.offset", (long long)u->offset);
	if (u->offset < 0)
		ev_bool(ev, "secretrace.split", true);	/* spread over several calls */
	if (u->count > 1)
		ev_int(ev, "secretrace.occurrences", u->count);
	if (u->rescanned)
		ev_bool(ev, "secretrace.rescanned", true);
	enrich_sink(ev, v);
	return ev;
}

/* Every violation is an event; stderr names each kind once, not a flood. */
static void report_violation(uint64_t key, const char *key_text, const struct use *u,
			     const struct proc *p, const struct delivery *d,
			     const struct secret_entry *e, const struct sink_view *v,
			     const char *rule)
{
	uint64_t found, sig;
	json_t *ev;

	if (!u64map_get(&warned, key, &found) && !u64map_put(&warned, key, 1))
		st_warn("policy %s: %s of %s went to %s %s%s%s (pid %u; more of the same: "
			"events only)", rule, d && d->field ? d->field : "a secret",
			d && d->path ? d->path : "?", v->sink, v->ip[0] ? v->ip : v->file,
			v->domain ? " " : "", v->domain ? v->domain : "", u->hdr->pid);
	violations++;
	/* the same violation again and again: rendered from its template */
	sig = template_sig(key_text, u, p, d, e, v, rule);
	if (sig && emit_templated(sig, u, NULL))
		return;
	ev = use_event(u, p, d, e, v, true, rule);
	if (!sig || !emit_templated(sig, u, ev))
		ev_emit(ev);
}

void uses_report(const struct use *u)
{
	const struct secret_entry *e = dict_get(dict, u->secret);
	const struct delivery *d = dict_delivery_for(dict, u->secret, u->hdr->pid, u->hdr->ts_ns);
	struct proc *p = u->proc ? u->proc : procs_from_hdr(u->hdr);
	enum policy_verdict verdict;
	char key_text[USE_KEY_MAX];
	struct sink_view v;
	const char *rule;
	struct repeat *r;
	uint64_t key, found;
	json_t *ev;

	if (!e)
		return;
	enrich_view(u->hdr->pid, u->fd, u->si, u->path, &v);
	if (u->si->sink == ST_SINK_FILE)	/* a hand-off to whoever reads the file */
		handoff_note(secret_index(u->secret), p, &v);
	verdict = judge(d, p, &v, &rule);
	key = repeat_key(p, u, &v, key_text);
	if (verdict == POLICY_VIOLATION) {
		report_violation(key, key_text, u, p, d, e, &v, rule);
		return;
	}
	/* other uses once, then as repeat counts */
	if (u64map_get(&repeats, key, &found)) {
		r = (void *)(uintptr_t)found;
		r->pending += u->count ? u->count : 1;
		if (!r->text && (ev = use_event(u, p, d, e, &v, false, rule))) {
			repeat_set_text(r, ev);	/* on failure the report is counted lost */
			json_decref(ev);
		}
		return;
	}
	ev = use_event(u, p, d, e, &v, false, rule);
	r = calloc(1, sizeof(*r));
	if (r) {
		r->pid = u->hdr->pid;
		r->last_ns = u->hdr->ts_ns;
		r->pending = u->count > 1 ? u->count - 1 : 0;
		if ((r->pending && repeat_set_text(r, ev)) ||
		    u64map_put(&repeats, key, (uintptr_t)r))
			repeat_free(r);
	}
	ev_emit(ev);
	reported++;
}

void uses_flush(uint64_t now, bool all, uint32_t only_pid)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&repeats, &i, &k, &v)) {
		struct repeat *r = (void *)(uintptr_t)v;

		if (!r->pending)
			continue;
		if (all || (only_pid && r->pid == only_pid) || now - r->last_ns >= interval_ns)
			emit_repeat(r, now);
	}
}

uint64_t uses_reported(void)
{
	return reported;
}

uint64_t uses_violations(void)
{
	return violations;
}
