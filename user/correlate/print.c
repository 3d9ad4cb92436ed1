// SPDX-License-Identifier: GPL-2.0
/* Chains and the summary, as JSON lines or as a table for a person. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "correlate/chains.h"
#include "output/emit.h"

static const char *js(json_t *o, const char *path)
{
	const char *s = json_string_value(jget(o, path));

	return s ? s : "";
}

static void print_flags(FILE *out, json_t *flags)
{
	size_t i;

	for (i = 0; i < json_array_size(flags); i++)
		fprintf(out, "%s%s", i ? ", " : "  [", json_string_value(json_array_get(flags, i)));
	if (json_array_size(flags))
		fputs("]", out);
}

static void print_table(const struct correlator *c, FILE *out)
{
	size_t i, j;

	for (i = 0; i < c->nchains; i++) {
		json_t *ch = c->chains[i].out, *a = json_object_get(ch, "audit");
		json_t *fields = jget(ch, "vault.fields"), *pol = json_object_get(a, "policies");
		const char *path = *js(a, "path") ? js(a, "path") : js(ch, "vault.path");
		int k;

		fprintf(out, "request %s  %s",
			json_is_string(json_object_get(ch, "request_id")) ? js(ch, "request_id") :
			"(unknown)", path);
		print_flags(out, json_object_get(ch, "flags"));
		fputc('\n', out);
		if (json_is_true(json_object_get(a, "found"))) {
			fprintf(out, "  fetched  %s by %s", js(a, "time"),
				*js(a, "display_name") ? js(a, "display_name") : "(no identity)");
			if (*js(a, "entity_id"))
				fprintf(out, " (entity %s)", js(a, "entity_id"));
			for (j = 0; j < json_array_size(pol); j++)
				fprintf(out, "%s%s", j ? "," : " policies ",
					json_string_value(json_array_get(pol, j)));
			if (*js(a, "remote_address"))
				fprintf(out, " from %s", js(a, "remote_address"));
			if (*js(a, "error"))
				fprintf(out, " error: %s", js(a, "error"));
			fputc('\n', out);
		} else {
			fputs("  fetched  (not in the audit log)\n", out);
		}
		for (j = 0; j < json_array_size(fields); j++)
			fprintf(out, "%s%s", j ? ", " : "  fields   ",
				json_string_value(json_array_get(fields, j)));
		if (json_array_size(fields))
			fputc('\n', out);
		for (k = 0; k < LIFE_N; k++) {
			json_t *l = json_object_get(ch, life_name[k]);
			const char *until;

			if (!l)
				continue;
			until = js(l, "expires");
			if (!*until)
				until = json_is_null(json_object_get(l, "duration")) ?
						"(duration unknown)" : "never";
			fprintf(out, "  %-8s %s%sexpires %s", life_name[k],
				k == LIFE_LEASE ? js(ch, "vault.lease_id") : "",
				k == LIFE_LEASE ? " " : "", until);
			if (*js(l, "revoked"))
				fprintf(out, ", revoked %s", js(l, "revoked"));
			fputc('\n', out);
		}
		for (j = 0; j < json_array_size(json_object_get(ch, "events")); j++) {
			json_t *it = json_array_get(json_object_get(ch, "events"), j);
			const char *act = js(it, "action"), *ip = js(it, "destination.ip");
			json_t *port = jget(it, "destination.port");

			fprintf(out, "  %-8s %s  %s[%" JSON_INTEGER_FORMAT "]  %s",
				!strcmp(act, "secret.receive") ? "receive" :
				!strcmp(act, "secret.learn_failed") ? "failed" : "use",
				js(it, "@timestamp"), js(it, "process.name"),
				json_integer_value(jget(it, "process.pid")), js(it, "field"));
			if (*js(it, "sink"))
				fprintf(out, "  %s", js(it, "sink"));
			else if (!strcmp(act, "secret.receive") && *ip)
				fputs("  from", out);
			if (*js(it, "destination.domain"))
				fprintf(out, " %s", js(it, "destination.domain"));
			if (*ip)
				fprintf(out, strchr(ip, ':') ? " [%s]" : " %s", ip);
			if (json_is_integer(port))
				fprintf(out, ":%" JSON_INTEGER_FORMAT, json_integer_value(port));
			if (*js(it, "destination.address"))
				fprintf(out, " %s", js(it, "destination.address"));
			if (*js(it, "file.path"))
				fprintf(out, " %s", js(it, "file.path"));
			if (!strcmp(js(it, "verdict"), "violation"))
				fprintf(out, "  VIOLATION%s%s", *js(it, "rule") ? " of " : "",
					js(it, "rule"));
			else if (!strcmp(js(it, "verdict"), "allowed"))
				fprintf(out, "  allowed by %s", js(it, "rule"));
			if (json_is_integer(json_object_get(it, "repeat_count")))
				fprintf(out, "  x%" JSON_INTEGER_FORMAT " more",
					json_integer_value(json_object_get(it, "repeat_count")));
			if (*js(it, "error"))
				fprintf(out, "  %s", js(it, "error"));
			print_flags(out, json_object_get(it, "flags"));
			fputc('\n', out);
		}
		if (json_integer_value(jget(ch, "counts.omitted")))
			fprintf(out, "  ... %" JSON_INTEGER_FORMAT " more receives and uses not kept\n",
				json_integer_value(jget(ch, "counts.omitted")));
		fputc('\n', out);
	}
}

void correlator_print(const struct correlator *c, FILE *out, bool table)
{
	json_t *sum = correlator_summary(c);
	size_t i;

	if (table) {
		json_t *s = json_object_get(sum, "summary");

		print_table(c, out);
		fprintf(out, "%zu requests: %" JSON_INTEGER_FORMAT " never used, %" JSON_INTEGER_FORMAT
			" used by another process, %" JSON_INTEGER_FORMAT " used after expiry, %"
			JSON_INTEGER_FORMAT " unknown to the audit log\n", c->nchains,
			json_integer_value(jget(s, "flagged.never_used")),
			json_integer_value(jget(s, "flagged.other_process")),
			json_integer_value(jget(s, "flagged.used_after_expiry")),
			json_integer_value(jget(s, "flagged.unknown_request")));
	} else {
		for (i = 0; i < c->nchains; i++)
			if (!json_dumpf(c->chains[i].out, out, JSON_COMPACT))
				fputc('\n', out);
		if (!json_dumpf(sum, out, JSON_COMPACT))
			fputc('\n', out);
	}
	json_decref(sum);
}
