// SPDX-License-Identifier: GPL-2.0
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "dict.h"
#include "emit.h"
#include "encodings.h"
#include "enrich.h"
#include "hooks.h"
#include "log.h"
#include "policy.h"
#include "procs.h"
#include "u64map.h"
#include "uses.h"

struct repeat {
	json_t *ev;		/* the first use's event, re-emitted with a count */
	uint32_t pid;
	uint64_t pending;	/* uses since the last report */
	uint64_t last_ns;
};

static struct dict *dict;
static const struct policy *policy;
static uint64_t interval_ns, reported, violations;
static struct u64map repeats;	/* (process, secret, sink) -> struct repeat * */
static struct u64map warned;	/* (process, secret, sink) violations already on stderr */

int uses_init(struct dict *d, unsigned repeat_interval_s, const struct policy *pol)
{
	dict = d;
	policy = pol;
	interval_ns = (uint64_t)repeat_interval_s * 1000000000ULL;
	return u64map_init(&repeats, 64) || u64map_init(&warned, 64) ? -1 : 0;
}

static void emit_repeat(struct repeat *r, uint64_t now)
{
	json_t *ev = json_deep_copy(r->ev);

	ev_new_identity(ev);
	ev_time(ev, now);
	ev_int(ev, "secretrace.repeat_count", (long long)r->pending);
	ev_emit(ev);
	reported++;
	r->pending = 0;
	r->last_ns = now;
}

void uses_free(void)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&repeats, &i, &k, &v)) {
		struct repeat *r = (void *)(uintptr_t)v;

		json_decref(r->ev);
		free(r);
	}
	u64map_free(&repeats);
	u64map_free(&warned);
}

static uint64_t repeat_key(const struct proc *p, const struct use *u, const struct sink_view *v)
{
	char sink[2 * ST_PATH_MAX + 128], buf[sizeof(sink) + 64];
	uint64_t h;
	int n;

	enrich_sink_key(v, sink, sizeof(sink));
	n = snprintf(buf, sizeof(buf), "%s|%u|%d|%s", p ? p->entity_id : "", u->secret,
		     hook_is_tls(u->hook), sink);
	crypto_generichash((uint8_t *)&h, sizeof(h), (const uint8_t *)buf,
			   n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1, NULL, 0);
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

void uses_report(const struct use *u)
{
	const struct secret_entry *e = dict_get(dict, u->secret);
	const struct delivery *d = dict_delivery_for(dict, u->secret, u->hdr->pid);
	struct proc *p = procs_from_hdr(u->hdr);
	enum policy_verdict verdict;
	struct sink_view v;
	const char *rule;
	struct repeat *r;
	uint64_t key, found;
	json_t *ev;

	if (!e)
		return;
	enrich_view(u->hdr->pid, u->fd, u->si, u->path, &v);
	verdict = judge(d, p, &v, &rule);
	key = repeat_key(p, u, &v);
	/* violations are reported one by one; other uses once, then as repeat counts */
	if (verdict != POLICY_VIOLATION && u64map_get(&repeats, key, &found)) {
		r = (void *)(uintptr_t)found;
		r->pending += u->count ? u->count : 1;
		return;
	}
	ev = ev_new(verdict == POLICY_VIOLATION ? "secret.violation" : "secret.use");
	if (verdict == POLICY_VIOLATION)
		ev_str(ev, "event.kind", "alert");
	ev_str(ev, "rule.name", rule);
	ev_time(ev, u->hdr->ts_ns);
	ev_process(ev, p, u->hdr->tid);
	ev_delivery(ev, d);
	ev_str(ev, "secret.fingerprint", e->fingerprint);
	ev_str(ev, "secret.encoding", encoding_name(e->encoding));
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
	enrich_sink(ev, &v);
	if (verdict == POLICY_VIOLATION) {
		/* every violation is an event; stderr names each kind once, not a flood */
		if (!u64map_get(&warned, key, &found) && !u64map_put(&warned, key, 1))
			st_warn("policy %s: %s of %s went to %s %s%s%s (pid %u; more of the same: "
				"events only)", rule, d && d->field ? d->field : "a secret",
				d && d->path ? d->path : "?", v.sink, v.ip[0] ? v.ip : v.file,
				v.domain ? " " : "", v.domain ? v.domain : "", u->hdr->pid);
		violations++;
		ev_emit(ev);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r) {
		r->ev = json_deep_copy(ev);
		r->pid = u->hdr->pid;
		r->last_ns = u->hdr->ts_ns;
		r->pending = u->count > 1 ? u->count - 1 : 0;
		if (!r->ev || u64map_put(&repeats, key, (uintptr_t)r)) {
			json_decref(r->ev);
			free(r);
		}
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
