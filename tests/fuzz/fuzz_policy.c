// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for policy files: the input is loaded as a policy; a loaded one is
 * asked for verdicts on uses whose strings come from the input, a refused one must say
 * where ("fuzz:LINE:COLUMN: reason" or "fuzz: reason"). The glob matcher is also compared
 * with a plain backtracking matcher on small inputs.
 * Build and run: tools/fuzz.sh [seconds] (FUZZ_TARGETS=policy for this one alone)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "fuzz.h"

/* The reference: '*' any run without sep, '**' any run. Exponential, so small inputs. */
static int ref_match(const char *p, const char *s, char sep)
{
	if (!*p)
		return !*s;
	if (p[0] == '*' && p[1] == '*') {
		for (;; s++) {
			if (ref_match(p + 2, s, sep))
				return 1;
			if (!*s)
				return 0;
		}
	}
	if (p[0] == '*') {
		for (;; s++) {
			if (ref_match(p + 1, s, sep))
				return 1;
			if (!*s || *s == sep)
				return 0;
		}
	}
	return *s && *p == *s && ref_match(p + 1, s + 1, sep);
}

/* Up to n NUL-free pieces of the input, split at '\n'. */
static int pieces(const uint8_t *data, size_t size, char **out, int n)
{
	size_t i, start = 0;
	int k = 0;

	for (i = 0; i <= size && k < n; i++) {
		if (i == size || data[i] == '\n') {
			size_t len = i - start, j;
			char *s = malloc(len + 1);

			if (!s)
				break;
			for (j = 0; j < len; j++)
				s[j] = data[start + j] ? (char)data[start + j] : '.';
			s[len] = 0;
			out[k++] = s;
			start = i + 1;
		}
	}
	return k;
}

static void globs(const uint8_t *data, size_t size)
{
	char *v[2];
	int n = pieces(data, size, v, 2), stars = 0, i;

	if (n == 2) {
		for (i = 0; v[0][i]; i++)
			stars += v[0][i] == '*';
		if (stars <= 6 && strlen(v[0]) <= 48 && strlen(v[1]) <= 48) {
			check(policy_glob_match(v[0], v[1], '/') == !!ref_match(v[0], v[1], '/'));
			check(policy_glob_match(v[0], v[1], '.') == !!ref_match(v[0], v[1], '.'));
		} else {
			(void)policy_glob_match(v[0], v[1], '/');
		}
	}
	for (i = 0; i < n; i++)
		free(v[i]);
}

static void verdicts(const struct policy *p, const uint8_t *data, size_t size)
{
	static const char *const sinks[] = { "socket", "file", "pipe", "tty", "argv", "env", NULL };
	static const char *const ips[] = { "203.0.113.7", "10.0.0.1", "::1", "2001:db8::1",
					   "::ffff:10.0.0.1", "bogus", NULL };
	char *v[6];
	int n = pieces(data, size, v, 6), i, j;

	for (i = 0; sinks[i]; i++)
		for (j = 0; ips[j] || j == 0; j++) {
			struct policy_use u = {
				.vault_path = n > 0 ? v[0] : "secret/data/x",
				.field = n > 1 ? v[1] : "api_key",
				.ns = n > 2 ? v[2] : NULL,
				.dest_domain = n > 3 ? v[3] : NULL,
				.unix_path = n > 4 ? v[4] : NULL,
				.executable = n > 5 ? v[5] : "/usr/bin/curl",
				.sink = sinks[i],
				.dest_ip = ips[j],
				.dest_port = (int)(size % 70000),
			};
			const char *rule = NULL;
			enum policy_verdict vd = policy_decide(p, &u, &rule);

			check(vd == POLICY_NONE || vd == POLICY_ALLOW || vd == POLICY_VIOLATION);
			check(vd != POLICY_VIOLATION || rule);
			check(vd != POLICY_NONE || !rule);
			u.to_vault_server = true;
			check(policy_decide(p, &u, &rule) == POLICY_ALLOW && !rule);
			if (!ips[j])
				break;
		}
	for (i = 0; i < n; i++)
		free(v[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = (struct policy *)1;
	char err[600];
	unsigned long line, col;

	memset(err, 'x', sizeof(err));
	if (policy_load_buf((const char *)data, size, "fuzz", &p, err, sizeof(err))) {
		check(p == NULL);
		check(memchr(err, 0, sizeof(err)) != NULL);
		check(!strncmp(err, "fuzz: ", 6) ||
		      (sscanf(err, "fuzz:%lu:%lu: ", &line, &col) == 2 && line >= 1 && col >= 1));
	} else {
		check(p != NULL);
		verdicts(p, data, size);
		policy_free(p);
	}
	globs(data, size);
	return 0;
}
