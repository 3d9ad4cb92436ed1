/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policy files (--policy FILE): where each Vault path's secrets may go. The format and the
 * matching rules are in docs/policy.md; this is the API the detection path uses.
 *
 * Loading is strict: a file that does not parse, names an unknown key, repeats one, or has
 * a bad value is refused with "FILE:LINE:COLUMN: reason" (1-based, from libyaml's marks).
 * A loaded policy is immutable; policy_decide() only reads it, so it may be called from any
 * thread without locking.
 */
#ifndef SECRETRACE_POLICY_H
#define SECRETRACE_POLICY_H

#include <stdbool.h>
#include <stddef.h>

struct policy;

/* Largest policy file read (bigger ones are refused). */
#define POLICY_MAX_BYTES (4 * 1024 * 1024)
/* Longest glob (vault_path, field, executable, unix path) and host name accepted. */
#define POLICY_MAX_GLOB 1024

/*
 * One use of a secret, as the detection path knows it. Every pointer may be NULL (unknown)
 * and every string is only read during the call.
 *  vault_path  the API path of the Vault request that delivered it ("secret/data/agent/x")
 *  ns          its Vault namespace ("team-a" or "team-a/"), NULL or "" for the root one
 *  field       vault.field ("api_key", "config.password", "client_token")
 *  sink        "socket", "file", "pipe", "tty", "argv" or "env"
 *  dest_ip     for sockets: the peer's address as text ("203.0.113.7", "2001:db8::1",
 *              "::ffff:203.0.113.7" is matched as the IPv4 address too)
 *  dest_port   for sockets: the peer's port, 0 if unknown
 *  dest_domain for sockets: the TLS SNI or HTTP Host name seen on the connection
 *  unix_path   for unix sockets: the peer's path ("/run/x.sock", "@abstract")
 *  executable  the using process's executable (process.executable)
 *  to_vault_server  the secret is a Vault credential (a token in X-Vault-Token, a secret_id
 *              to its login path) sent back to the Vault server it came from
 */
struct policy_use {
	const char *vault_path;
	const char *ns;
	const char *field;
	const char *sink;
	const char *dest_ip;
	int dest_port;
	const char *dest_domain;
	const char *unix_path;
	const char *executable;
	bool to_vault_server;
};

enum policy_verdict {
	POLICY_NONE = 0,	/* no rule matched the secret, default: report: not judged */
	POLICY_ALLOW,		/* a rule matched and one of its allow entries matched the use */
	POLICY_VIOLATION,	/* a rule matched and none of its entries did, or default: deny */
};

/*
 * Loads and checks FILE. Returns 0 and *out, or -1 with "FILE:LINE:COLUMN: reason" in err
 * (LINE:COLUMN omitted where there is no position: the file cannot be read, or is too big).
 */
int policy_load(const char *path, struct policy **out, char *err, size_t errlen);
/* The same from memory; name is used in messages in place of the file name. */
int policy_load_buf(const char *buf, size_t len, const char *name, struct policy **out,
		    char *err, size_t errlen);
void policy_free(struct policy *p);

/*
 * The verdict on one use. Rules are tried in file order; the first whose vault_path (and
 * field, if it names one) matches the secret decides: POLICY_ALLOW if one of its allow
 * entries matches the use, else POLICY_VIOLATION. No rule matching: POLICY_NONE with
 * default: report, POLICY_VIOLATION with default: deny. A use with to_vault_server set is
 * POLICY_ALLOW before any rule is tried. *rule_name (if rule_name is not NULL) gets the
 * deciding rule's name, "default" for default: deny, NULL otherwise; it lives as long as
 * the policy.
 */
enum policy_verdict policy_decide(const struct policy *p, const struct policy_use *u,
				  const char **rule_name);

/* default: deny? */
bool policy_default_deny(const struct policy *p);
size_t policy_rule_count(const struct policy *p);

/* The glob matcher of vault_path (sep '/') and field (sep '.'): '*' is any run of
 * characters other than sep, '**' any run at all; everything else matches itself. */
bool policy_glob_match(const char *pattern, const char *s, char sep);

#endif
