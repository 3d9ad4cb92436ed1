/* SPDX-License-Identifier: GPL-2.0 */
/* The command line (docs/cli.md is the reference). */
#ifndef SECRETRACE_CLI_H
#define SECRETRACE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "output/sinks.h"

#define CLI_MAX_PIDS 256
#define CLI_MAX_OUTPUTS 8
#define CLI_MAX_VAULT 16
#define CLI_MAX_CGROUPS 64
#define CLI_MAX_STATE_DIRS 8
#define CLI_MAX_LEARN 64

struct config {
	char **command;		/* NULL unless -- COMMAND */
	pid_t pids[CLI_MAX_PIDS];
	int npids;
	const char *cgroups[CLI_MAX_CGROUPS];	/* --cgroup */
	int ncgroups;
	bool all;			/* --all */
	uint32_t scan_scope;		/* --scan: enum st_scan_scope */
	const char *metrics;		/* --metrics ADDR:PORT */
	/* where pods are named: the runtimes' state, the Kubernetes API (enrich/pods.h) */
	const char *state_dirs[CLI_MAX_STATE_DIRS + 1];	/* --runtime-state, NULL-terminated */
	int nstate_dirs;
	const char *kube_api, *kube_token_file, *kube_ca_file, *node_name;
	const char *outputs[CLI_MAX_OUTPUTS];
	int noutputs;
	const char *vault_addrs[CLI_MAX_VAULT];
	int nvault;
	bool vault_strict;		/* --vault-strict: learn from vault_addrs only */
	const char *user;
	const char *key_file;
	const char *state_file;	/* --state-file, NULL without */
	const char *policy_file;	/* --policy: loaded and checked by start() */
	const char *learn_files[CLI_MAX_LEARN];	/* --learn-file */
	int nlearn_files;
	const char *learn_env[CLI_MAX_LEARN];	/* --learn-env */
	int nlearn_env;
	const char *kubelet_root;	/* --kubelet-root */
	uint32_t rotated_keep_s;	/* --rotated-keep */
	const char *vault_audit_hash;	/* --vault-audit-hash DEVICE */
	const char *vault_token_file;	/* --vault-token-file */
	unsigned linger_s;
	unsigned repeat_s;
	uint64_t scan_limit;
	size_t max_response;
	size_t max_items;
	uint32_t ringbuf_bytes;
	bool verbose;
	struct sinks_cfg sinks;	/* the output options but -o */
};

enum cli_result { CLI_RUN = 0, CLI_EXIT_OK, CLI_USAGE };

/* Parses argv into c; prints help/version or a one-line usage error itself. */
enum cli_result cli_parse(int argc, char **argv, struct config *c);
/* Node modes (--cgroup, --all): the tracer runs until stopped, and --scan applies. */
static inline bool cli_node_mode(const struct config *c)
{
	return c->all || c->ncgroups;
}

/* The exit status for the tracer's own failures: 125 with -- COMMAND, else usage 2. */
int cli_usage_status(const struct config *c);

#endif
