// SPDX-License-Identifier: GPL-2.0
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "dict/dict.h"
#include "enrich/procs.h"
#include "learn/audit_hash.h"
#include "learn/learn_env.h"
#include "lib/log.h"
#include "output/emit.h"

#define NAME_MAX_LEN 256

static struct dict *dict;
static const char *const *globs;
static int nglobs;
static uint64_t learned;

void learn_env_init(struct dict *d, const char *const *g, int n)
{
	dict = d;
	globs = g;
	nglobs = n;
}

static bool wanted(const char *name)
{
	int i;

	if (!strcmp(name, "VAULT_TOKEN"))
		return true;
	for (i = 0; i < nglobs; i++)
		if (!fnmatch(globs[i], name, 0))
			return true;
	return false;
}

static void learn_var(const struct proc *p, const char *name, const uint8_t *v, size_t len,
		      uint64_t ts)
{
	struct secret_origin o = { .field = name, .pid = p->pid, .start_ns = p->start_ns,
				   .ts_ns = ts, .source = SECRET_FROM_ENV };
	uint32_t idx;
	json_t *ev;
	int ret;

	if (len < ST_MIN_SECRET_LEN) {
		st_debug("pid %u: %s is under 8 bytes, not tracked", p->pid, name);
		return;
	}
	/* known already (its Vault response, a parent's exec): that delivery stays named */
	if (dict_find(dict, v, len, &idx))
		return;
	ret = dict_add(dict, v, len, &o, &idx);
	if (ret < 0) {
		ev = ev_new("secret.learn_failed");
		ev_time(ev, ts);
		ev_process(ev, p, p->pid);
		ev_str(ev, "error.message", "an environment variable could not be indexed");
		ev_emit(ev);
		st_warn("pid %u: %s not indexed: %s", p->pid, name, strerror(-ret));
		return;
	}
	learned++;
	dict_commit(dict);
	audit_hash_request(idx, v, len);
	ev = ev_new("secret.receive");
	ev_time(ev, ts);
	ev_process(ev, p, p->pid);
	ev_delivery(ev, dict_newest_delivery(dict, idx));
	ev_str(ev, "secret.fingerprint", dict_fp(dict, idx));
	audit_hash_emit(ev, idx);
}

void learn_env(const struct proc *p, const char *env, size_t len, uint64_t ts)
{
	char name[NAME_MAX_LEN];
	size_t i = 0;

	while (i < len) {
		const char *e = env + i, *eq;
		size_t el = strnlen(e, len - i);

		if (el == len - i)	/* cut at the copy limit: not the whole value */
			break;
		eq = memchr(e, '=', el);
		if (eq && (size_t)(eq - e) < sizeof(name)) {
			memcpy(name, e, eq - e);
			name[eq - e] = '\0';
			if (wanted(name))
				learn_var(p, name, (const uint8_t *)eq + 1, el - (eq - e) - 1, ts);
		}
		i += el + 1;
	}
}

uint64_t learn_env_secrets(void)
{
	return learned;
}
