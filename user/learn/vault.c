// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "learn/http.h"
#include "learn/vault.h"
#include "lib/secmem.h"

#define MIN_SECRET 8

/* Under a non-KV-v2 data root, these top-level keys hold public material. */
static const char *const public_keys[] = { "metadata", "keys", "certificate", "ca_chain",
					   "issuing_ca", "serial_number", NULL };

/* Login request body fields that are credentials. */
static const char *const login_fields[] = { "secret_id", "password", "jwt", "token", NULL };

int vault_items_add(struct vault_items *it, const char *field, const void *v, size_t len)
{
	struct vault_item *x;

	if (grow(&it->v, &it->cap, it->n, sizeof(*it->v), 8))
		return -ENOMEM;
	x = &it->v[it->n];
	x->field = strdup(field);
	x->value = malloc(len ? len : 1);
	if (!x->field || !x->value) {
		free(x->field);
		free(x->value);
		return -ENOMEM;
	}
	memcpy(x->value, v, len);
	x->len = len;
	it->n++;
	return 0;
}

void vault_items_wipe(struct vault_items *it)
{
	size_t i;

	for (i = 0; i < it->n; i++) {
		free(it->v[i].field);
		secmem_wipe(it->v[i].value, it->v[i].len);
		free(it->v[i].value);
	}
	free(it->v);
	memset(it, 0, sizeof(*it));
}

/* An RFC 3339 timestamp ("2026-11-27T10:00:00Z", creation and expiry times): public, and
 * learning one would make every event's own @timestamp look like a secret. */
static bool is_timestamp(const char *v, size_t len)
{
	static regex_t re;
	static bool ready;

	if (len < 20 || len > 40)
		return false;
	if (!ready) {
		if (regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?"
				 "(Z|[+-][0-9]{2}:?[0-9]{2})$",
			    REG_EXTENDED | REG_NOSUB))
			return false;
		ready = true;
	}
	return regexec(&re, v, 0, NULL, 0) == 0;
}

static bool is_public(const char *key)
{
	int i;

	for (i = 0; public_keys[i]; i++)
		if (!strcmp(key, public_keys[i]))
			return true;
	return false;
}

struct walk {
	struct vault_response *r;
	size_t max_items;
	int err;
};

static void walk(struct walk *w, json_t *v, const char *field, bool top_excludes)
{
	char sub[VAULT_FIELD_MAX];
	const char *key;
	json_t *child;
	size_t i;

	if (w->err)
		return;
	if (json_is_string(v)) {
		size_t len = json_string_length(v);

		if (len < MIN_SECRET) {
			w->r->skipped_short++;
		} else if (is_timestamp(json_string_value(v), len)) {
			w->r->skipped_public++;
		} else if (w->r->items.n >= w->max_items) {
			w->r->skipped_limit++;
		} else {
			w->err = vault_items_add(&w->r->items, field, json_string_value(v), len);
		}
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, child) {
			if (top_excludes && is_public(key))
				continue;
			snprintf(sub, sizeof(sub), "%s%s%s", field, *field ? "." : "", key);
			walk(w, child, sub, false);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			snprintf(sub, sizeof(sub), "%s%s%zu", field, *field ? "." : "", i);
			walk(w, child, sub, false);
		}
	}
}

static char *dup_string(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) && json_string_length(v) ? strdup(json_string_value(v)) : NULL;
}

int vault_parse_response(const uint8_t *body, size_t len, size_t max_items,
			 struct vault_response *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *data, *auth, *wrap;
	struct walk w = { .r = out, .max_items = max_items };
	bool has_id;

	memset(out, 0, sizeof(*out));
	/* \u0000 in a string and integers past 64 bits are valid JSON that Vault passes on */
	root = json_loadb((const char *)body, len,
			  JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
	if (!root) {
		/* jerr.text may quote input: report only the position */
		snprintf(err, errlen, "response body is not valid JSON (at byte %d)", jerr.position);
		return -1;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(err, errlen, "response body is not a JSON object");
		return -1;
	}
	data = json_object_get(root, "data");
	auth = json_object_get(root, "auth");
	wrap = json_object_get(root, "wrap_info");
	/* Vault sends wrapped responses with "request_id": "" */
	has_id = json_is_string(json_object_get(root, "request_id"));
	out->request_id = dup_string(root, "request_id");
	out->is_vault_shape = has_id && json_object_get(root, "lease_id") &&
			      json_object_get(root, "renewable") &&
			      json_object_get(root, "lease_duration");
	out->is_vault_error = json_is_array(json_object_get(root, "errors"));
	out->is_vault = has_id && (json_is_object(data) || json_is_object(auth) ||
				   json_is_object(wrap));
	if (out->is_vault) {
		json_t *kv = json_object_get(data, "data");

		json_t *ld = json_object_get(json_is_object(auth) ? auth : root, "lease_duration");

		out->lease_id = dup_string(root, "lease_id");
		/* (JSON_DECODE_INT_AS_REAL: numbers arrive as reals) */
		out->lease_duration = json_is_number(ld) && json_number_value(ld) > 0
					      ? (long long)json_number_value(ld) : -1;
		if (json_is_object(kv) && json_is_object(json_object_get(data, "metadata")))
			walk(&w, kv, "", false);		/* KV v2 */
		else if (json_is_object(data))
			walk(&w, data, "", true);
		if (json_is_object(auth)) {
			json_t *t = json_object_get(auth, "client_token");

			if (json_is_string(t))
				walk(&w, t, "client_token", false);
			out->accessor = dup_string(auth, "accessor");
		}
		if (json_is_object(wrap)) {
			json_t *t = json_object_get(wrap, "token");

			if (json_is_string(t))
				walk(&w, t, "wrap_info.token", false);
		}
	}
	json_decref(root);
	if (w.err) {
		snprintf(err, errlen, "out of memory");
		vault_response_free(out);
		return -1;
	}
	return 0;
}

void vault_response_free(struct vault_response *r)
{
	free(r->request_id);
	free(r->lease_id);
	free(r->accessor);
	vault_items_wipe(&r->items);
	memset(r, 0, sizeof(*r));
}

/* The path below its namespace: "ns1/team/auth/token/lookup-self" -> "auth/..." when the
 * namespace was written into the path (it may also be sent as X-Vault-Namespace). */
static const char *api_path(const char *path, const char *api)
{
	size_t n = strlen(api);
	const char *p;

	if (!strncmp(path, api, n))
		return path;
	for (p = strchr(path, '/'); p; p = strchr(p + 1, '/'))
		if (!strncmp(p + 1, api, n))
			return p + 1;
	return NULL;
}

static void drop_item(struct vault_response *r, size_t i)
{
	struct vault_item *x = &r->items.v[i];

	free(x->field);
	secmem_wipe(x->value, x->len);
	free(x->value);
	memmove(x, x + 1, (r->items.n - i - 1) * sizeof(*x));
	r->items.n--;
	r->skipped_public++;
}

void vault_drop_public(struct vault_response *r, const char *path)
{
	bool lookup, sys;
	size_t i;

	if (!path)
		return;
	/* prefixes only: "secret/data/sys/x" is a KV secret, not a sys/ endpoint */
	lookup = !strncmp(path, "auth/token/lookup", 17);
	sys = !strncmp(path, "sys/", 4) && strcmp(path, "sys/wrapping/unwrap");
	if (!lookup && !sys)
		return;
	for (i = r->items.n; i-- > 0;) {
		const char *f = r->items.v[i].field;

		/* auth.client_token and wrap_info.token are secrets wherever they come from */
		if (!strcmp(f, "client_token") || !strcmp(f, "wrap_info.token"))
			continue;
		if (lookup && !strcmp(f, "id"))
			continue;
		drop_item(r, i);
	}
}

char *vault_sniff_request_id(const uint8_t *head, size_t len)
{
	static const char key[] = "\"request_id\"";
	const char *p, *q, *end;

	if (!head || !len)
		return NULL;
	p = memmem(head, len, key, sizeof(key) - 1);
	end = (const char *)head + len;
	if (!p)
		return NULL;
	for (p += sizeof(key) - 1; p < end && (isspace((unsigned char)*p) || *p == ':'); p++)
		;
	if (p >= end || *p != '"')
		return NULL;
	for (q = ++p; q < end && q - p < 64 && (isxdigit((unsigned char)*q) || *q == '-'); q++)
		;
	return q < end && *q == '"' && q > p ? strndup(p, q - p) : NULL;
}

/* auth/<mount>/login, auth/<mount>/login/<user>, and the like, possibly below a namespace
 * written into the path (ns1/auth/...), but not inside a KV v2 path (secret/data/auth/...) */
static bool is_login_path(const char *path)
{
	static regex_t re;
	static bool ready;
	const char *a = api_path(path, "auth/"), *seg;

	if (!a)
		return false;
	for (seg = path; seg < a; seg = strchr(seg, '/') + 1)
		if (!strncmp(seg, "data/", 5) || !strncmp(seg, "metadata/", 9))
			return false;
	if (!ready) {
		if (regcomp(&re, "^auth/.+/login(/[^/]*)?$", REG_EXTENDED | REG_NOSUB))
			return false;
		ready = true;
	}
	return regexec(&re, a, 0, NULL, 0) == 0;
}

static void learn_body_fields(const struct http_msg *m, struct vault_items *out,
			      const char *const *fields)
{
	json_t *root, *v;
	int i;

	if (!m->body.len)
		return;
	root = json_loadb((const char *)m->body.data, m->body.len,
			  JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return;
	}
	for (i = 0; fields[i]; i++) {
		v = json_object_get(root, fields[i]);
		if (json_is_string(v) && json_string_length(v) >= MIN_SECRET)
			vault_items_add(out, fields[i], json_string_value(v),
					json_string_length(v));
	}
	json_decref(root);
}

int vault_parse_request(const struct http_msg *m, struct vault_request *out)
{
	const char *url = m->url ? m->url : "", *tok, *q;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->method = m->method ? strdup(m->method) : NULL;
	if (!strncmp(url, "/v1/", 4))
		url += 4;
	else if (*url == '/')
		url++;
	q = strpbrk(url, "?#");
	n = q ? (size_t)(q - url) : strlen(url);
	out->path = strndup(url, n);
	out->ns = http_header(m, "X-Vault-Namespace") ? strdup(http_header(m, "X-Vault-Namespace"))
						       : NULL;
	if (http_header(m, "X-Correlation-Id"))
		out->correlation_id = strdup(http_header(m, "X-Correlation-Id"));
	else if (http_header(m, "correlation-id"))
		out->correlation_id = strdup(http_header(m, "correlation-id"));
	out->vault_headers = http_header(m, "X-Vault-Token") || http_header(m, "X-Vault-Request");

	tok = http_header(m, "X-Vault-Token");
	if (!tok) {
		const char *a = http_header(m, "Authorization");

		if (a && !strncasecmp(a, "Bearer ", 7))
			tok = a + 7;
	}
	if (tok && strlen(tok) >= MIN_SECRET)
		vault_items_add(&out->presented, "client_token", tok, strlen(tok));
	if (out->path && is_login_path(out->path))
		learn_body_fields(m, &out->presented, login_fields);
	else if (out->path && (q = api_path(out->path, "sys/wrapping/unwrap")) &&
		 !strcmp(q, "sys/wrapping/unwrap")) {
		static const char *const unwrap[] = { "token", NULL };

		learn_body_fields(m, &out->presented, unwrap);
	}
	return out->path ? 0 : -ENOMEM;
}

void vault_request_free(struct vault_request *r)
{
	free(r->method);
	free(r->path);
	free(r->ns);
	free(r->correlation_id);
	vault_items_wipe(&r->presented);
	memset(r, 0, sizeof(*r));
}
