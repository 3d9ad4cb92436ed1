/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --vault-audit-hash DEVICE: each new secret's value is sent to Vault's
 * sys/audit-hash/DEVICE (with the --vault-token-file token), whose answer is the HMAC the
 * audit log writes for that value; it goes on the secret's events as vault.audit_hash. A
 * worker thread makes the requests, so the event loop (the ring buffer's reader) never
 * waits on Vault; a secret.receive waits for its hash (at most the request's timeout), uses
 * reported before the hash came lack it. A failure is a secret.learn_failed without content.
 * Without the option every call here but init is a no-op and receives are emitted at once.
 */
#ifndef SECRETRACE_LEARN_AUDIT_HASH_H
#define SECRETRACE_LEARN_AUDIT_HASH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct dict;

struct audit_hash_cfg {
	const char *vault_addr;		/* the first --vault-addr */
	const char *device;		/* --vault-audit-hash */
	const char *token_file;		/* --vault-token-file */
	const char *ca_file;		/* --ca-file, for an https:// Vault */
};

/* Reads the token and checks the address (device NULL: off); 0, or -1 with err. */
int audit_hash_init(struct dict *d, const struct audit_hash_cfg *c, char *err, size_t errlen);
/* Starts the worker (once privileges are dropped: threads keep what the process has). */
int audit_hash_start(char *err, size_t errlen);
/* A new secret: ask for its HMAC (the value is copied into wiped memory). */
void audit_hash_request(uint32_t idx, const uint8_t *value, size_t len);
/* Emit the secret.receive ev of secret idx: now, or once its HMAC is known (ev is taken). */
void audit_hash_emit(json_t *ev, uint32_t idx);
/* The descriptor the event loop polls for answers, -1 when off; and their handling. */
int audit_hash_fd(void);
void audit_hash_collect(void);
/* Wait up to ms for every request made so far to be answered (before -- COMMAND starts). */
void audit_hash_wait(int ms);
/* Stop the worker; receives still waiting are emitted without a hash. */
void audit_hash_stop(void);
uint64_t audit_hash_failures(void);

#endif
