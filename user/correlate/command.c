// SPDX-License-Identifier: GPL-2.0
/*
 * secretrace correlate --vault-audit FILE [EVENTS_FILE]: the events first, then the audit
 * log, then the flags and one chain per request (docs/correlate.md). Nothing here sees a
 * secret value: events carry none and the audit log holds HMACs.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "correlate/chains.h"

static bool progress;

void correlate_progress(bool on)
{
	progress = on;
}

#define PROGRESS_MIN (16 * 1024 * 1024)

/* "reading: 42%" on stderr, at most 4 times a second; done: the line cleared */
static void show_progress(FILE *f, off_t size, bool done)
{
	static struct timespec last;
	struct timespec now;

	if (!progress || size < PROGRESS_MIN)
		return;
	if (done) {
		fputs("\r\033[K", stderr);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000 < 250)
		return;
	last = now;
	fprintf(stderr, "\rreading: %d%%", (int)(ftello(f) * 100 / size));
}

int correlate_read_lines(FILE *f, size_t max_line,
			 void (*fn)(struct correlator *c, const char *line, size_t len),
			 struct correlator *c)
{
	char chunk[65536], *buf = NULL;
	size_t len = 0, cap = 0, n;
	bool skipping = false;
	struct stat st;
	off_t size = fstat(fileno(f), &st) || !S_ISREG(st.st_mode) ? 0 : st.st_size;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		const char *p = chunk, *end = chunk + n;

		show_progress(f, size, false);

		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t take = (size_t)((nl ? nl : end) - p);

			if (!skipping && len + take > max_line) {
				skipping = true;	/* a line too long: skip to its end */
				len = 0;
			}
			if (!skipping && take) {
				if (len + take + 1 > cap) {
					size_t ncap = cap ? cap : 65536;
					char *b;

					while (ncap < len + take + 1)
						ncap *= 2;
					b = realloc(buf, ncap);
					if (!b) {
						free(buf);
						errno = ENOMEM;
						return -1;
					}
					buf = b;
					cap = ncap;
				}
				memcpy(buf + len, p, take);
				len += take;
			}
			if (!nl)
				break;
			if (skipping)
				fn(c, NULL, 0);
			else if (len)
				fn(c, buf, len);
			skipping = false;
			len = 0;
			p = nl + 1;
		}
	}
	if (skipping)
		fn(c, NULL, 0);
	else if (len)
		fn(c, buf, len);
	free(buf);
	show_progress(f, size, true);
	return ferror(f) ? -1 : 0;
}

void correlate_report_skipped(const struct correlator *c, const char *cmd)
{
	if (c->ev.malformed + c->ev.invalid + c->ev.too_long + c->ev.over_limit + c->ev.omitted +
	    c->au.malformed + c->au.invalid + c->au.too_long)
		fprintf(stderr, "secretrace: %s: skipped events: %" PRIu64 " malformed, %" PRIu64
			" invalid, %" PRIu64 " too long, %" PRIu64 " over --max-requests, %" PRIu64
			" over --max-uses; skipped audit lines: %" PRIu64 " malformed, %" PRIu64
			" invalid, %" PRIu64 " too long\n", cmd, c->ev.malformed, c->ev.invalid,
			c->ev.too_long, c->ev.over_limit, c->ev.omitted, c->au.malformed,
			c->au.invalid, c->au.too_long);
}

/* ---- the command ---- */

static const char usage[] =
	"Usage: secretrace correlate --vault-audit FILE [OPTIONS] [EVENTS_FILE]\n"
	"\n"
	"Joins secretrace's events (EVENTS_FILE, or standard input) with a Vault file-audit log on\n"
	"request ID and lease ID, and prints per Vault request one JSON line: who fetched it,\n"
	"when, which fields, then every receive and use with its destination and verdict. Flags:\n"
	"never_used, other_process (used by a process other than the one that fetched it),\n"
	"used_after_expiry (its lease or token had expired or was revoked), unknown_request (the\n"
	"audit log does not know the request ID). A final line sums up, with the input lines\n"
	"that were skipped. Needs no root.\n"
	"\n"
	"Options:\n"
	"      --vault-audit FILE   the Vault file-audit log (required; streamed, never loaded)\n"
	"      --table              a table for a person instead of JSON lines\n"
	"      --lease-ttl SECONDS  lease duration to assume where neither the audit log (which\n"
	"                           records lease IDs, not durations) nor the events say\n"
	"      --max-requests N     requests followed (default 100000); more are counted\n"
	"      --max-uses N         receives and uses kept per request (default 1000)\n"
	"      --max-line BYTES     longer input lines are skipped and counted (default 16 MiB)\n"
	"  -h, --help               this help\n"
	"\n"
	"Exit status: 0 on success, 1 if a file cannot be read, 2 on a usage error.\n";

bool correlate_number(const char *cmd, const char *opt, const char *s, unsigned long long lo,
		      unsigned long long hi, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *out < lo || *out > hi) {
		fprintf(stderr, "secretrace: %s: %s %s: expected a number from %llu to %llu\n",
			cmd, opt, s, lo, hi);
		return false;
	}
	return true;
}

int correlate_bad_option(const char *cmd, int opt, const char *arg)
{
	fprintf(stderr, "secretrace: %s: %s %s (see secretrace %s --help)\n", cmd,
		opt == ':' ? arg : "unknown option", opt == ':' ? "needs a value" : arg, cmd);
	return 2;
}

int correlate_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vault-audit", required_argument, NULL, 'a' },
		{ "table", no_argument, NULL, 't' },
		{ "lease-ttl", required_argument, NULL, 'l' },
		{ "max-requests", required_argument, NULL, 'r' },
		{ "max-uses", required_argument, NULL, 'm' },
		{ "max-line", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *audit_path = NULL, *events_path = NULL;
	struct correlate_opts o;
	struct correlator *c;
	FILE *af, *ef = stdin;
	unsigned long long v;
	bool table = false;
	int opt, rc = 0;

	correlate_default_opts(&o);
	opterr = 0;
	optind = 0;	/* a full reset: correlate_main may run more than once (tests) */
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			audit_path = optarg;
			break;
		case 't':
			table = true;
			break;
		case 'l':
			if (!correlate_number("correlate", "--lease-ttl", optarg, 1,
					      100LL * 365 * 86400, &v))
				return 2;
			o.lease_ttl_s = (int64_t)v;
			break;
		case 'r':
			if (!correlate_number("correlate", "--max-requests", optarg, 1, 100000000, &v))
				return 2;
			o.max_requests = v;
			break;
		case 'm':
			if (!correlate_number("correlate", "--max-uses", optarg, 1, 100000000, &v))
				return 2;
			o.max_items = v;
			break;
		case 'L':
			if (!correlate_number("correlate", "--max-line", optarg, 256,
					      1024ULL * 1024 * 1024, &v))
				return 2;
			o.max_line = v;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return correlate_bad_option("correlate", opt, argv[optind - 1]);
		}
	}
	if (optind < argc)
		events_path = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "secretrace: correlate: unexpected argument %s (one events file)\n",
			argv[optind]);
		return 2;
	}
	if (!audit_path) {
		fprintf(stderr, "secretrace: correlate: --vault-audit FILE is required (see "
			"secretrace correlate --help)\n");
		return 2;
	}
	af = fopen(audit_path, "re");
	if (!af) {
		fprintf(stderr, "secretrace: correlate: %s: %s\n", audit_path, strerror(errno));
		return 1;
	}
	if (events_path && strcmp(events_path, "-")) {
		ef = fopen(events_path, "re");
		if (!ef) {
			fprintf(stderr, "secretrace: correlate: %s: %s\n", events_path,
				strerror(errno));
			fclose(af);
			return 1;
		}
	}
	correlate_progress(isatty(STDERR_FILENO));
	c = correlator_new(&o);
	if (!c) {
		fprintf(stderr, "secretrace: correlate: out of memory\n");
		rc = 1;
		goto out;
	}
	if (correlate_read_lines(ef, o.max_line, correlator_event_line, c)) {
		fprintf(stderr, "secretrace: correlate: %s: %s\n",
			events_path ? events_path : "standard input", strerror(errno));
		rc = 1;
		goto out;
	}
	if (correlate_read_lines(af, o.max_line, correlator_audit_line, c)) {
		fprintf(stderr, "secretrace: correlate: %s: %s\n", audit_path, strerror(errno));
		rc = 1;
		goto out;
	}
	correlator_finish(c);
	correlator_print(c, stdout, table);
	if (fflush(stdout)) {
		fprintf(stderr, "secretrace: correlate: writing the output: %s\n", strerror(errno));
		rc = 1;
		goto out;
	}
	correlate_report_skipped(c, "correlate");
out:
	correlator_free(c);
	fclose(af);
	if (ef != stdin)
		fclose(ef);
	return rc;
}
