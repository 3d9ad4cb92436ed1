// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracer/cli.h"
#include "secretrace.h"

#define DEFAULT_KEY_FILE "/var/lib/secretrace/fingerprint.key"

static const char usage[] =
	"Usage: secretrace [OPTIONS] -- COMMAND [ARG...]   run COMMAND traced from its first instruction\n"
	"       secretrace [OPTIONS] -p PID [-p PID ...]   trace running processes and their descendants\n"
	"       secretrace [OPTIONS] --cgroup PATH ...     every process in cgroup v2 subtrees\n"
	"       secretrace [OPTIONS] --all                 every process on the node\n"
	"       secretrace correlate --vault-audit FILE [EVENTS_FILE]   join events with Vault's audit log\n"
	"       secretrace report EVENTS_FILE [--vault-audit FILE] -o report.html   where secrets went\n"
	"\n"
	"Learns the secrets traced processes receive from HashiCorp Vault and reports, as ECS JSON\n"
	"lines, every place those secrets go: sockets, files, pipes, ttys, child processes' argv and\n"
	"environment. Needs root.\n"
	"\n"
	"Options:\n"
	"  -o, --output SPEC        where events go (repeatable): - (stdout, default), file:PATH,\n"
	"                           syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT,\n"
	"                           syslog+tls://HOST:PORT, http://... or https://... (batched POST)\n"
	"      --vault-addr URL     a Vault address whose responses teach secrets (repeatable);\n"
	"                           Vault connections are also recognised from the requests on them\n"
	"                           and from VAULT_ADDR in each traced process's environment\n"
	"      --vault-strict       learn only from the --vault-addr servers\n"
	"      --format FORMAT      ecs (the default), text (a line per event for people; colour\n"
	"                           on a terminal unless NO_COLOR is set) or ocsf (OCSF 1.1.0\n"
	"                           objects); every output gets it (docs/formats.md)\n"
	"      --policy FILE        where each Vault path's secrets may go (docs/policy.md); a use it\n"
	"                           forbids is a secret.violation\n"
	"  -u, --user USER          with -- COMMAND: run COMMAND as USER\n"
	"  -p, --pid PID            trace PID and its descendants (repeatable)\n"
	"      --cgroup PATH        every process in this cgroup v2 subtree, present and future\n"
	"                           (repeatable; under /sys/fs/cgroup unless absolute there)\n"
	"      --all                every process on the node but secretrace itself\n"
	"      --scan SCOPE         with --cgroup/--all: reach (default: learn from every process,\n"
	"                           scan the writes of those that received a secret and their\n"
	"                           descendants) or everything (scan every process's writes)\n"
	"      --metrics ADDR:PORT  Prometheus text at /metrics, /healthz, /readyz (127.0.0.1\n"
	"                           unless an address is given: :9102, 0.0.0.0:9102, [::]:9102)\n"
	"\n"
	"Secrets delivered without a Vault response (docs/delivery-paths.md):\n"
	"      --learn-file PATH    a file or directory of secrets (rendered Vault Agent templates,\n"
	"                           CSI and Secret volumes), watched for changes (repeatable)\n"
	"      --learn-env GLOB     environment variables whose values are secrets, learned at\n"
	"                           each exec (repeatable; VAULT_TOKEN always is)\n"
	"      --vault-audit-hash DEVICE  with --vault-token-file FILE: ask the first\n"
	"                           --vault-addr's sys/audit-hash/DEVICE for each learned value's\n"
	"                           HMAC, put on its events as vault.audit_hash\n"
	"      --vault-token-file FILE  the Vault token --vault-audit-hash calls with\n"
	"      --rotated-keep SECONDS  a value rotated out of a learned file is forgotten after\n"
	"                           its lease (a rendered JSON's lease_duration) or this long\n"
	"                           (default 3600)\n"
	"      --kubelet-root DIR   with --cgroup/--all: the pods' secrets mounts are found under\n"
	"                           it (default /var/lib/kubelet)\n"
	"\n"
	"Containers and pods (docs/node-modes.md):\n"
	"      --runtime-state DIR  a container runtime's state (repeatable): /run/containerd,\n"
	"                           /run/containers, /run/docker, or its bundles' directory\n"
	"                           (default: each of those runtimes' usual places)\n"
	"      --kube-api URL       the Kubernetes API server (default: in-cluster, from\n"
	"                           KUBERNETES_SERVICE_HOST/_PORT); its pods name containers\n"
	"      --kube-token-file F  the bearer token (default: the service account's)\n"
	"      --kube-ca-file F     the API server's CA (default: the service account's)\n"
	"      --node-name NAME     this node, whose pods are watched (default: $NODE_NAME)\n"
	"      --linger SECONDS     after COMMAND exits, follow its descendants this long (default 2)\n"
	"      --repeat-interval S  report repeated identical uses at most every S seconds (default 60)\n"
	"      --scan-limit BYTES   bytes of one call scanned; the rest is counted (default 65536)\n"
	"      --max-response BYTES largest Vault response body learned (default 1048576)\n"
	"      --ring-buffer MIB    kernel-to-tracer buffer, a power of two (default 4); a larger\n"
	"                           one rides out longer bursts of uses (docs/performance.md)\n"
	"      --key-file PATH      fingerprint key, shared by every node that should agree on\n"
	"                           secret.fingerprint (default " DEFAULT_KEY_FILE ", created if absent)\n"
	"      --state-file PATH    keep what was learned (keyed hashes, no value) in PATH so that a\n"
	"                           restarted tracer still knows it (default: none)\n"
	"  -v, --verbose            diagnostics on stderr\n"
	"  -h, --help               this help\n"
	"      --version            the version\n"
	"\n"
	"Outputs (docs/sinks.md):\n"
	"      --rotate-size BYTES  rotate file: outputs when they reach BYTES (default 0: never)\n"
	"      --rotate-keep N      rotated files kept, PATH.1 the newest (default 5)\n"
	"      --spool-dir DIR      where network outputs queue events on disk, each output in a\n"
	"                           directory of its own, kept across runs (default " SINKS_SPOOL_DIR ")\n"
	"      --spool-max BYTES    bound of each network output's spool; past it the oldest events\n"
	"                           are dropped and reported (tracer.loss) (default 134217728)\n"
	"      --flush-timeout S    on stop, how long network outputs may take to deliver what they\n"
	"                           hold (default 5); what is left stays in the spool, reported\n"
	"      --http-format F      auto (bulk for .../_bulk, hec for .../services/collector, else\n"
	"                           ndjson; the default), bulk (Elastic), hec (Splunk) or ndjson\n"
	"      --http-auth-file F   a header line sent with every HTTP request, e.g.\n"
	"                           \"Authorization: ApiKey ...\" or \"Authorization: Splunk ...\"\n"
	"      --http-auth-env VAR  the same, from the environment variable VAR\n"
	"      --ca-file PATH       CA certificates that https:// and syslog+tls:// receivers are\n"
	"                           verified with (default: the system's)\n"
	"      --batch-size N       HTTP: at most N events a request (default 500)\n"
	"      --batch-bytes BYTES  HTTP: about BYTES a request at most (default 4194304)\n"
	"      --batch-wait MS      HTTP: send a smaller batch once its oldest event has waited MS\n"
	"                           (default 1000)\n"
	"\n"
	"Exit status: with -- COMMAND, the command's own; 125 if secretrace fails, 126 if COMMAND\n"
	"cannot be run, 127 if it is not found. With -p: 0 once stopped (SIGINT/SIGTERM) or every\n"
	"traced process has exited, 1 on a runtime failure, 2 on a usage error. With --cgroup or --all:\n"
	"0 once stopped (SIGINT/SIGTERM), 1 on a runtime failure, 2 on a usage error.\n"
	"\n"
	"Examples:\n"
	"  sudo secretrace -u agent -- ./my-agent --config agent.yaml\n"
	"  sudo secretrace -o file:/var/log/secretrace.json -p 1234 -p 5678\n"
	"  sudo secretrace -o syslog+tls://siem.internal:6514 --ca-file /etc/ssl/siem-ca.pem -p 1234\n"
	"  sudo secretrace -o https://es.internal:9200/secretrace/_bulk --http-auth-env ES_AUTH -p 1234\n"
	"  sudo secretrace --vault-addr https://vault.internal:8200 -- python3 agent.py\n"
	"  sudo secretrace --all --vault-addr https://vault.vault.svc:8200 -o file:/var/log/st.json\n";

enum {
	OPT_VAULT_ADDR = 256,
	OPT_FORMAT,
	OPT_LINGER,
	OPT_REPEAT,
	OPT_SCAN_LIMIT,
	OPT_MAX_RESPONSE,
	OPT_KEY_FILE,
	OPT_STATE_FILE,
	OPT_VERSION,
	OPT_ROTATE_SIZE,
	OPT_ROTATE_KEEP,
	OPT_SPOOL_DIR,
	OPT_SPOOL_MAX,
	OPT_FLUSH_TIMEOUT,
	OPT_HTTP_FORMAT,
	OPT_HTTP_AUTH_FILE,
	OPT_HTTP_AUTH_ENV,
	OPT_CA_FILE,
	OPT_BATCH_SIZE,
	OPT_BATCH_BYTES,
	OPT_BATCH_WAIT,
	OPT_POLICY,
	OPT_CGROUP,
	OPT_ALL,
	OPT_SCAN,
	OPT_METRICS,
	OPT_RUNTIME_STATE,
	OPT_KUBE_API,
	OPT_KUBE_TOKEN_FILE,
	OPT_KUBE_CA_FILE,
	OPT_NODE_NAME,
	OPT_RING_BUFFER,
	OPT_VAULT_STRICT,
	OPT_LEARN_FILE,
	OPT_LEARN_ENV,
	OPT_VAULT_AUDIT_HASH,
	OPT_VAULT_TOKEN_FILE,
	OPT_KUBELET_ROOT,
	OPT_ROTATED_KEEP,
};

static const struct option options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "vault-addr", required_argument, NULL, OPT_VAULT_ADDR },
	{ "vault-strict", no_argument, NULL, OPT_VAULT_STRICT },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "user", required_argument, NULL, 'u' },
	{ "pid", required_argument, NULL, 'p' },
	{ "linger", required_argument, NULL, OPT_LINGER },
	{ "repeat-interval", required_argument, NULL, OPT_REPEAT },
	{ "scan-limit", required_argument, NULL, OPT_SCAN_LIMIT },
	{ "max-response", required_argument, NULL, OPT_MAX_RESPONSE },
	{ "key-file", required_argument, NULL, OPT_KEY_FILE },
	{ "state-file", required_argument, NULL, OPT_STATE_FILE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "rotate-size", required_argument, NULL, OPT_ROTATE_SIZE },
	{ "rotate-keep", required_argument, NULL, OPT_ROTATE_KEEP },
	{ "spool-dir", required_argument, NULL, OPT_SPOOL_DIR },
	{ "spool-max", required_argument, NULL, OPT_SPOOL_MAX },
	{ "flush-timeout", required_argument, NULL, OPT_FLUSH_TIMEOUT },
	{ "http-format", required_argument, NULL, OPT_HTTP_FORMAT },
	{ "http-auth-file", required_argument, NULL, OPT_HTTP_AUTH_FILE },
	{ "http-auth-env", required_argument, NULL, OPT_HTTP_AUTH_ENV },
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },
	{ "batch-size", required_argument, NULL, OPT_BATCH_SIZE },
	{ "batch-bytes", required_argument, NULL, OPT_BATCH_BYTES },
	{ "batch-wait", required_argument, NULL, OPT_BATCH_WAIT },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "scan", required_argument, NULL, OPT_SCAN },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "runtime-state", required_argument, NULL, OPT_RUNTIME_STATE },
	{ "kube-api", required_argument, NULL, OPT_KUBE_API },
	{ "kube-token-file", required_argument, NULL, OPT_KUBE_TOKEN_FILE },
	{ "kube-ca-file", required_argument, NULL, OPT_KUBE_CA_FILE },
	{ "node-name", required_argument, NULL, OPT_NODE_NAME },
	{ "ring-buffer", required_argument, NULL, OPT_RING_BUFFER },
	{ "learn-file", required_argument, NULL, OPT_LEARN_FILE },
	{ "learn-env", required_argument, NULL, OPT_LEARN_ENV },
	{ "vault-audit-hash", required_argument, NULL, OPT_VAULT_AUDIT_HASH },
	{ "vault-token-file", required_argument, NULL, OPT_VAULT_TOKEN_FILE },
	{ "kubelet-root", required_argument, NULL, OPT_KUBELET_ROOT },
	{ "rotated-keep", required_argument, NULL, OPT_ROTATED_KEEP },
	{ NULL, 0, NULL, 0 },
};

static bool has_command;

int cli_usage_status(const struct config *c)
{
	return c->command || has_command ? 125 : 2;
}

static bool number(const char *opt, const char *s, unsigned long long lo, unsigned long long hi,
		   unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *out < lo || *out > hi) {
		fprintf(stderr, "secretrace: %s %s: expected a number from %llu to %llu\n", opt, s, lo,
			hi);
		return false;
	}
	return true;
}

enum cli_result cli_parse(int argc, char **argv, struct config *c)
{
	bool scan_given = false;
	unsigned long long v;
	int opt, i, modes;

	memset(c, 0, sizeof(*c));
	c->linger_s = 2;
	c->kubelet_root = "/var/lib/kubelet";
	c->rotated_keep_s = 3600;
	c->repeat_s = 60;
	c->scan_limit = ST_SCAN_LIMIT_DEFAULT;
	c->max_response = 1024 * 1024;
	c->max_items = 1000;
	c->ringbuf_bytes = 4 * 1024 * 1024;
	c->key_file = DEFAULT_KEY_FILE;
	sinks_cfg_defaults(&c->sinks);
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--"))
			has_command = true;

	/* "+": stop at the first non-option, so COMMAND's own options stay its own; ":" and
	 * opterr = 0: report usage errors in one line of our own */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:o:u:p:vh", options, NULL)) != -1) {
		switch (opt) {
		case 'o':
			if (c->noutputs == CLI_MAX_OUTPUTS) {
				fprintf(stderr, "secretrace: at most %d outputs\n", CLI_MAX_OUTPUTS);
				return CLI_USAGE;
			}
			c->outputs[c->noutputs++] = optarg;
			break;
		case OPT_VAULT_ADDR:
			if (c->nvault == CLI_MAX_VAULT) {
				fprintf(stderr, "secretrace: at most %d --vault-addr\n", CLI_MAX_VAULT);
				return CLI_USAGE;
			}
			c->vault_addrs[c->nvault++] = optarg;
			break;
		case OPT_VAULT_STRICT:
			c->vault_strict = true;
			break;
		case OPT_FORMAT:
			if (out_format_parse(optarg, &c->sinks.format)) {
				fprintf(stderr, "secretrace: --format %s: expected ecs, text or ocsf\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'u':
			c->user = optarg;
			break;
		case 'p':
			if (c->npids == CLI_MAX_PIDS) {
				fprintf(stderr, "secretrace: at most %d -p\n", CLI_MAX_PIDS);
				return CLI_USAGE;
			}
			if (!number("-p", optarg, 1, INT_MAX, &v))
				return CLI_USAGE;
			c->pids[c->npids++] = v;
			break;
		case OPT_LINGER:
			if (!number("--linger", optarg, 0, 3600, &v))
				return CLI_USAGE;
			c->linger_s = v;
			break;
		case OPT_REPEAT:
			if (!number("--repeat-interval", optarg, 1, 86400, &v))
				return CLI_USAGE;
			c->repeat_s = v;
			break;
		case OPT_SCAN_LIMIT:
			if (!number("--scan-limit", optarg, 64, ST_SCAN_LIMIT_MAX, &v))
				return CLI_USAGE;
			c->scan_limit = v;
			break;
		case OPT_MAX_RESPONSE:
			if (!number("--max-response", optarg, 1024, 256 * 1024 * 1024, &v))
				return CLI_USAGE;
			c->max_response = v;
			break;
		case OPT_KEY_FILE:
			c->key_file = optarg;
			break;
		case OPT_STATE_FILE:
			/* a path ending in '/' would put the lock and temp files beside it */
			if (!*optarg || optarg[strlen(optarg) - 1] == '/') {
				fprintf(stderr, "secretrace: --state-file '%s': expected a file's path\n",
					optarg);
				return CLI_USAGE;
			}
			c->state_file = optarg;
			break;
		case OPT_RING_BUFFER:
			/* the kernel wants a power of two; the tracer maps it twice (RSS) */
			if (!number("--ring-buffer", optarg, 1, 1024, &v))
				return CLI_USAGE;
			if (v & (v - 1)) {
				fprintf(stderr, "secretrace: --ring-buffer: %s MiB is not a power of two\n",
					optarg);
				return CLI_USAGE;
			}
			c->ringbuf_bytes = v * 1024 * 1024;
			break;
		case OPT_ROTATE_SIZE:
			if (!number("--rotate-size", optarg, 0, 1ULL << 50, &v))
				return CLI_USAGE;
			c->sinks.rotate_size = v;
			break;
		case OPT_ROTATE_KEEP:
			if (!number("--rotate-keep", optarg, 0, 1000, &v))
				return CLI_USAGE;
			c->sinks.rotate_keep = v;
			break;
		case OPT_SPOOL_DIR:
			c->sinks.spool_dir = optarg;
			break;
		case OPT_SPOOL_MAX:
			if (!number("--spool-max", optarg, 65536, 1ULL << 40, &v))
				return CLI_USAGE;
			c->sinks.spool_max = v;
			break;
		case OPT_FLUSH_TIMEOUT:
			if (!number("--flush-timeout", optarg, 0, 3600, &v))
				return CLI_USAGE;
			c->sinks.flush_timeout_s = v;
			break;
		case OPT_HTTP_FORMAT:
			c->sinks.http_format = optarg;
			break;
		case OPT_HTTP_AUTH_FILE:
			c->sinks.auth_file = optarg;
			break;
		case OPT_HTTP_AUTH_ENV:
			c->sinks.auth_env = optarg;
			break;
		case OPT_CA_FILE:
			c->sinks.ca_file = optarg;
			break;
		case OPT_BATCH_SIZE:
			if (!number("--batch-size", optarg, 1, 100000, &v))
				return CLI_USAGE;
			c->sinks.batch_events = v;
			break;
		case OPT_BATCH_BYTES:
			if (!number("--batch-bytes", optarg, 1024, 256 * 1024 * 1024, &v))
				return CLI_USAGE;
			c->sinks.batch_bytes = v;
			break;
		case OPT_BATCH_WAIT:
			if (!number("--batch-wait", optarg, 0, 600000, &v))
				return CLI_USAGE;
			c->sinks.batch_ms = v;
			break;
		case OPT_POLICY:
			c->policy_file = optarg;
			break;
		case OPT_LEARN_FILE:
			if (c->nlearn_files == CLI_MAX_LEARN) {
				fprintf(stderr, "secretrace: at most %d --learn-file\n", CLI_MAX_LEARN);
				return CLI_USAGE;
			}
			c->learn_files[c->nlearn_files++] = optarg;
			break;
		case OPT_LEARN_ENV:
			if (c->nlearn_env == CLI_MAX_LEARN || !*optarg) {
				fprintf(stderr, "secretrace: --learn-env: %s\n", *optarg ?
					"at most 64 of them" : "an empty pattern matches nothing");
				return CLI_USAGE;
			}
			c->learn_env[c->nlearn_env++] = optarg;
			break;
		case OPT_VAULT_AUDIT_HASH:
			c->vault_audit_hash = optarg;
			break;
		case OPT_VAULT_TOKEN_FILE:
			c->vault_token_file = optarg;
			break;
		case OPT_ROTATED_KEEP:
			if (!number("--rotated-keep", optarg, 0, 31536000, &v))
				return CLI_USAGE;
			c->rotated_keep_s = v;
			break;
		case OPT_KUBELET_ROOT:
			c->kubelet_root = optarg;
			break;
		case OPT_CGROUP:
			if (c->ncgroups == CLI_MAX_CGROUPS) {
				fprintf(stderr, "secretrace: at most %d --cgroup\n", CLI_MAX_CGROUPS);
				return CLI_USAGE;
			}
			c->cgroups[c->ncgroups++] = optarg;
			break;
		case OPT_ALL:
			c->all = true;
			break;
		case OPT_SCAN:
			if (!strcmp(optarg, "reach")) {
				c->scan_scope = ST_SCOPE_REACH;
			} else if (!strcmp(optarg, "everything")) {
				c->scan_scope = ST_SCOPE_EVERYTHING;
			} else {
				fprintf(stderr, "secretrace: --scan %s: expected reach or everything\n",
					optarg);
				return CLI_USAGE;
			}
			scan_given = true;
			break;
		case OPT_METRICS:
			c->metrics = optarg;
			break;
		case OPT_RUNTIME_STATE:
			if (c->nstate_dirs == CLI_MAX_STATE_DIRS) {
				fprintf(stderr, "secretrace: at most %d --runtime-state\n",
					CLI_MAX_STATE_DIRS);
				return CLI_USAGE;
			}
			c->state_dirs[c->nstate_dirs++] = optarg;
			break;
		case OPT_KUBE_API:
			if (strncmp(optarg, "https://", 8) && strncmp(optarg, "http://", 7)) {
				fprintf(stderr, "secretrace: --kube-api %s: expected https://HOST:PORT\n",
					optarg);
				return CLI_USAGE;
			}
			c->kube_api = optarg;
			break;
		case OPT_KUBE_TOKEN_FILE:
			c->kube_token_file = optarg;
			break;
		case OPT_KUBE_CA_FILE:
			c->kube_ca_file = optarg;
			break;
		case OPT_NODE_NAME:
			c->node_name = optarg;
			break;
		case 'v':
			c->verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_EXIT_OK;
		case OPT_VERSION:
			printf("secretrace %s\n", SECRETRACE_VERSION);
			return CLI_EXIT_OK;
		case ':':
			fprintf(stderr, "secretrace: %s needs a value (see secretrace --help)\n",
				argv[optind - 1]);
			return CLI_USAGE;
		default:
			fprintf(stderr, "secretrace: unknown option %s (see secretrace --help)\n",
				argv[optind - 1]);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		if (!has_command) {
			fprintf(stderr, "secretrace: unexpected argument %s (put the command after --)\n",
				argv[optind]);
			return CLI_USAGE;
		}
		c->command = &argv[optind];
	}
	if (has_command && !c->command) {
		fprintf(stderr, "secretrace: -- must be followed by a command\n");
		return CLI_USAGE;
	}
	modes = !!c->command + !!c->npids + !!c->ncgroups + c->all;
	if (!modes) {
		fprintf(stderr, "secretrace: nothing to trace: give -- COMMAND, -p PID, --cgroup PATH "
			"or --all (see --help)\n");
		return CLI_USAGE;
	}
	if (modes > 1) {
		fprintf(stderr, "secretrace: give one of -- COMMAND, -p PID, --cgroup PATH and --all\n");
		return CLI_USAGE;
	}
	if (scan_given && !cli_node_mode(c)) {
		fprintf(stderr, "secretrace: --scan needs --cgroup or --all (-p and -- COMMAND scan "
			"every traced process)\n");
		return CLI_USAGE;
	}
	if (c->user && !c->command) {
		fprintf(stderr, "secretrace: -u needs -- COMMAND\n");
		return CLI_USAGE;
	}
	if (c->vault_strict && !c->nvault) {
		fprintf(stderr, "secretrace: --vault-strict needs --vault-addr (the servers to learn from)\n");
		return CLI_USAGE;
	}
	return CLI_RUN;
}
