// SPDX-License-Identifier: GPL-2.0
/* Verdicts: the first rule whose vault_path and field match a secret decides. */
#include <string.h>

#include "policy/rules.h"

static bool entry_match(const struct pol_entry *e, const struct policy_use *u)
{
	if (e->has_sink && (!u->sink || strcmp(e->sink, u->sink)))
		return false;
	if (e->exe && (!u->executable || !glob_match(e->exe, u->executable, '/')))
		return false;
	return !e->has_dest || dest_match(&e->dest, u);
}

enum policy_verdict policy_decide(const struct policy *p, const struct policy_use *u,
				  const char **rule_name)
{
	const char *seg[3] = { "", "/", u->vault_path ? u->vault_path : "" };
	size_t len[3] = { 0, 1, strlen(seg[2]) }, i, j;

	if (rule_name)
		*rule_name = NULL;
	if (u->to_vault_server)
		return POLICY_ALLOW;
	if (!p)
		return POLICY_NONE;
	if (u->ns) {
		/* "team-a", "/team-a/" -> "team-a/" + path */
		seg[0] = u->ns + strspn(u->ns, "/");
		len[0] = strlen(seg[0]);
		while (len[0] && seg[0][len[0] - 1] == '/')
			len[0]--;
	}
	for (i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];

		if (len[0] ? !glob_match_segs(r->path, seg, len, 3, '/') :
			     !glob_match_segs(r->path, &seg[2], &len[2], 1, '/'))
			continue;
		if (r->field && (!u->field || !glob_match(r->field, u->field, '.')))
			continue;
		if (rule_name)
			*rule_name = r->name;
		for (j = 0; j < r->nallow; j++)
			if (entry_match(&r->allow[j], u))
				return POLICY_ALLOW;
		return POLICY_VIOLATION;
	}
	if (!p->deny)
		return POLICY_NONE;
	if (rule_name)
		*rule_name = "default";
	return POLICY_VIOLATION;
}

bool policy_default_deny(const struct policy *p)
{
	return p && p->deny;
}

size_t policy_rule_count(const struct policy *p)
{
	return p ? p->nrules : 0;
}
