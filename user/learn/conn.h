/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Learning, per Vault connection: the agent's requests and Vault's responses, reassembled
 * from the kernel's data records, paired in order, learned into the dictionary and
 * reported as secret.receive / secret.learn_failed.
 */
#ifndef SECRETRACE_LEARN_CONN_H
#define SECRETRACE_LEARN_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secretrace.h"

struct dict;
struct proc;

struct learner_cfg {
	size_t max_body;	/* bytes of one (decoded) response body */
	size_t max_items;	/* secrets learned from one response */
	int vault_conns_fd;	/* the kernel's Vault connections (to drop one), or -1 */
	int vault_addrs_fd;	/* the kernel's Vault server addresses (to add one), or -1 */
	int tls_conns_fd;	/* the kernel's Vault TLS sessions (to drop one), or -1 */
	bool strict;		/* --vault-strict: learn from the named servers only */
};

int learner_init(struct dict *d, const struct learner_cfg *cfg);
void learner_free(void);
/* A Vault server's address (--vault-addr, VAULT_ADDR, or one that answered as Vault):
 * connections to it are Vault's from the start. */
void learner_vault_server(const struct st_addr *a);
/* A --vault-addr server: a Vault server whose secrets are never refused for room
 * (dict/limits.h), and the only ones learned from with --vault-strict. */
void learner_named_server(const struct st_addr *a);
void learner_data(const struct st_rec_data *r);	/* ST_DATA_VAULT_OUT / ST_DATA_VAULT_IN */
void learner_close(const struct st_rec_close *r);
/* The process (pid, started at start_ns; 0: any) exited: its connections are dropped. */
void learner_exit(uint32_t pid, uint64_t start_ns);
/* No response is half-read by its process: everything read so far is learned. */
bool learner_idle(void);
uint64_t learner_secrets(void);
uint64_t learner_failures(void);

#endif
