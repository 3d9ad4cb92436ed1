/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the test_correlate*.c unit tests share: request and lease IDs, timestamps, audit
 * lines as Vault's file audit device writes them (a read: request and response entries),
 * secret.receive and secret.use events, a correlator, and lookups into the chains and the
 * summary it prints.
 */
#ifndef SECRETRACE_TEST_CORRELATE_UTIL_H
#define SECRETRACE_TEST_CORRELATE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"

#define RID1 "11111111-1111-4111-8111-111111111111"
#define RID2 "22222222-2222-4222-8222-222222222222"
#define RID3 "33333333-3333-4333-8333-333333333333"
#define LEASE "database/creds/readonly/AbCdEfGhIjKlMnOpQrStUvWx"
#define TOKHMAC "hmac-sha256:5f2c0f6a1bd0e9d1c3a3e1c6b8d2d7f0aa44e2b6f1b0a7c9d8e3f4a5b6c7d8e9"

static char line[8192];

/* 2026-11-27T10:00:00Z plus s seconds (up to 14 hours) */
static inline const char *at(double s)
{
	static char buf[8][64];
	static int k;
	long long us = (long long)(s * 1e6 + 0.5), sec = us / 1000000;
	char *b = buf[k++ % 8];

	snprintf(b, 64, "2026-11-27T%02lld:%02lld:%02lld.%06lldZ", 10 + sec / 3600, sec / 60 % 60,
		 sec % 60, us % 1000000);
	return b;
}

static inline void audit(struct correlator *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	correlator_audit_line(c, line, strlen(line));
}

static inline void event(struct correlator *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	correlator_event_line(c, line, strlen(line));
}

/* A Vault read, as the file audit device writes it: request and response entries. */
static inline void vault_read(struct correlator *c, const char *rid, const char *path, double t,
			      const char *lease)
{
	const char *who = "\"auth\":{\"client_token\":\"hmac-sha256:aa\",\"accessor\":\"hmac-sha256:bb\","
			  "\"display_name\":\"approle\",\"policies\":[\"agent\",\"default\"],"
			  "\"entity_id\":\"ent-1\",\"policy_results\":{\"allowed\":true},"
			  "\"token_type\":\"service\"}";
	char secret[256] = "";

	if (lease)
		snprintf(secret, sizeof(secret), ",\"secret\":{\"lease_id\":\"%s\"}", lease);
	audit(c, "{\"time\":\"%s\",\"type\":\"request\",%s,\"request\":{\"id\":\"%s\",\"operation\":"
		 "\"read\",\"namespace\":{\"id\":\"root\"},\"path\":\"%s\",\"remote_address\":"
		 "\"10.1.2.3\",\"remote_port\":40000}}", at(t), who, rid, path);
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",%s,\"request\":{\"id\":\"%s\",\"operation\":"
		 "\"read\",\"namespace\":{\"id\":\"root\"},\"path\":\"%s\",\"remote_address\":"
		 "\"10.1.2.3\",\"remote_port\":40000},\"response\":{\"mount_type\":\"kv\"%s,"
		 "\"data\":{\"password\":\"hmac-sha256:cc\"}}}", at(t + 0.001), who, rid, path, secret);
}

static inline void receive(struct correlator *c, const char *rid, const char *field, double t,
			   const char *entity, const char *lease)
{
	char l[256] = "";

	if (lease)
		snprintf(l, sizeof(l), ",\"lease_id\":\"%s\"", lease);
	event(c, "{\"@timestamp\":\"%s\",\"event\":{\"id\":\"x\",\"kind\":\"event\",\"action\":"
		 "\"secret.receive\",\"sequence\":1},\"host\":{\"name\":\"h\"},\"process\":{\"pid\":10,"
		 "\"entity_id\":\"%s\",\"name\":\"agent\",\"executable\":\"/usr/bin/agent\"},"
		 "\"vault\":{\"request_id\":\"%s\",\"path\":\"p\",\"field\":\"%s\"%s},\"secret\":"
		 "{\"fingerprint\":\"fp-%s\",\"source\":\"response\"},\"destination\":{\"ip\":"
		 "\"10.0.0.1\",\"port\":8200}}", at(t), entity, rid, field, l, field);
}

static inline void use(struct correlator *c, const char *rid, const char *field, double t,
		       const char *entity, const char *extra)
{
	event(c, "{\"@timestamp\":\"%s\",\"event\":{\"id\":\"y\",\"kind\":\"event\",\"action\":"
		 "\"secret.use\",\"sequence\":2},\"host\":{\"name\":\"h\"},\"process\":{\"pid\":11,"
		 "\"entity_id\":\"%s\",\"name\":\"agent\",\"executable\":\"/usr/bin/agent\"},"
		 "\"vault\":{\"request_id\":\"%s\",\"path\":\"p\",\"field\":\"%s\"},\"secret\":"
		 "{\"fingerprint\":\"fp-%s\",\"encoding\":\"raw\"},\"secretrace\":{\"sink\":\"socket\","
		 "\"syscall\":\"sendto\"%s},\"destination\":{\"ip\":\"203.0.113.7\",\"port\":443}}",
		 at(t), entity, rid, field, field, extra ? extra : "");
}

static inline struct correlator *new_c(int64_t lease_ttl)
{
	struct correlate_opts o;
	struct correlator *c;

	correlate_default_opts(&o);
	o.lease_ttl_s = lease_ttl;
	c = correlator_new(&o);
	assert_non_null(c);
	return c;
}

static inline json_t *get(json_t *o, const char *path)
{
	char part[64];

	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		memcpy(part, path, n);
		part[n] = 0;
		if (json_is_array(o))
			o = json_array_get(o, strtoul(part, NULL, 10));
		else
			o = json_object_get(o, part);
		path += n + (dot ? 1 : 0);
	}
	return o;
}

static inline const char *str(json_t *o, const char *path)
{
	return json_string_value(get(o, path));
}

static inline long long num(json_t *o, const char *path)
{
	json_t *v = get(o, path);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return json_integer_value(v);
}

static inline bool has_flag(json_t *flags, const char *f)
{
	size_t i;

	for (i = 0; i < json_array_size(flags); i++)
		if (!strcmp(json_string_value(json_array_get(flags, i)), f))
			return true;
	return false;
}

/* The chain's flags, exactly (a space-separated list). */
static inline void flags_are(json_t *ch, const char *want)
{
	char *dump = json_dumps(get(ch, "flags"), JSON_COMPACT), buf[256], *tok, *save;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", want);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save), n++)
		if (!has_flag(get(ch, "flags"), tok))
			fail_msg("flag %s missing from %s", tok, dump);
	if (n != json_array_size(get(ch, "flags")))
		fail_msg("flags %s, expected [%s]", dump, want);
	free(dump);
}

static inline json_t *summary_of(struct correlator *c)
{
	static json_t *s;

	json_decref(s);
	s = correlator_summary(c);
	return json_object_get(s, "summary");
}

#endif
