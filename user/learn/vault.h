/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Learning, second stage: what a Vault request and its response teach. A response with
 * request_id plus data, auth or wrap_info carries secrets: every string under data.data
 * (KV v2) or under data except public material, auth.client_token, wrap_info.token.
 * A request presents credentials: X-Vault-Token, login passwords, AppRole secret_ids.
 * Pure parsing: values come back in wiped memory; the caller fingerprints them.
 */
#ifndef SECRETRACE_LEARN_VAULT_H
#define SECRETRACE_LEARN_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VAULT_FIELD_MAX 256

struct vault_item {
	char *field;		/* dotted path below the data root: api_key, config.password */
	uint8_t *value;		/* wiped on free */
	size_t len;
};

struct vault_items {
	struct vault_item *v;
	size_t n, cap;
};

struct vault_response {
	bool is_vault;		/* has request_id and data, auth or wrap_info */
	bool is_vault_shape;	/* request_id, lease_id, renewable, lease_duration: Vault's envelope */
	bool is_vault_error;	/* {"errors": [...]}: Vault's error shape */
	char *request_id;
	char *lease_id;
	long long lease_duration;	/* seconds (auth's for a login), -1 if none */
	char *accessor;		/* auth.accessor of a login */
	struct vault_items items;
	size_t skipped_short;	/* strings under 8 bytes: too short to track */
	size_t skipped_public;	/* strings that are public by their form (timestamps) or place */
	size_t skipped_limit;	/* strings past max_items */
};

struct vault_request {
	char *method;
	char *path;		/* below /v1/, without the query */
	char *ns;		/* X-Vault-Namespace */
	char *correlation_id;	/* X-Correlation-Id or correlation-id */
	bool vault_headers;	/* X-Vault-Token or X-Vault-Request was sent */
	struct vault_items presented;
};

struct http_msg;

/* 0: parsed (is_vault says whether it is a Vault secret response); -1: the body is not
 * JSON or not an object, err says why (never with response content). */
int vault_parse_response(const uint8_t *body, size_t len, size_t max_items,
			 struct vault_response *out, char *err, size_t errlen);
void vault_response_free(struct vault_response *r);
/* Drop what the endpoint's answer holds in public: token lookups (everything but the token
 * itself, data.id) and sys/ endpoints other than sys/wrapping/unwrap (their data). */
void vault_drop_public(struct vault_response *r, const char *path);
/* Best effort on a body that could not be parsed: the request_id Vault writes first. */
char *vault_sniff_request_id(const uint8_t *head, size_t len);

int vault_parse_request(const struct http_msg *m, struct vault_request *out);
void vault_request_free(struct vault_request *r);
/* Append a copy of field and value; 0 or -ENOMEM (nothing added). */
int vault_items_add(struct vault_items *it, const char *field, const void *v, size_t len);
/* Wipe and release values once they are fingerprinted. */
void vault_items_wipe(struct vault_items *it);

#endif
