/* SPDX-License-Identifier: GPL-2.0 */
/*
 * secretrace correlate: joins secretrace's events with a Vault file-audit log on request
 * ID and lease ID, one chain per Vault request (docs/correlate.md). The events are read
 * first and only what names a Vault request is kept; the audit log is then streamed once,
 * and only entries about those requests (and their leases and tokens) are parsed and kept.
 */
#ifndef SECRETRACE_CORRELATE_H
#define SECRETRACE_CORRELATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct correlate_opts {
	int64_t lease_ttl_s;	/* --lease-ttl: assumed lease duration, -1 if not given */
	size_t max_requests;	/* chains kept; events of further requests are counted */
	size_t max_items;	/* receives and uses kept per chain; the rest are counted */
	size_t max_total;	/* receives and uses kept in all */
	size_t max_line;	/* longer lines are skipped and counted */
};

#define CORRELATE_MAX_LINE (16 * 1024 * 1024)

struct correlator;

/* `secretrace correlate ...`; argv[0] is "correlate". Returns the exit status. */
int correlate_main(int argc, char **argv);

void correlate_default_opts(struct correlate_opts *o);
struct correlator *correlator_new(const struct correlate_opts *o);
void correlator_free(struct correlator *c);
/* Feed one line (no newline; line[len] need not be NUL). line NULL: a line that was
 * longer than max_line and was skipped. Every events line comes before the audit log. */
void correlator_event_line(struct correlator *c, const char *line, size_t len);
void correlator_audit_line(struct correlator *c, const char *line, size_t len);
/* Computes the flags; after it, chains and the summary can be read. */
void correlator_finish(struct correlator *c);
size_t correlator_count(const struct correlator *c);
/* Chain i as printed (borrowed reference, valid until correlator_free). */
json_t *correlator_chain(const struct correlator *c, size_t i);
/* The final summary object (a new reference). */
json_t *correlator_summary(const struct correlator *c);
/* Chains and summary, as JSON lines or as a table for a person. */
void correlator_print(const struct correlator *c, FILE *out, bool table);

/* Reads f line by line, at most max_line bytes each (longer ones are passed as NULL).
 * Returns 0, or -1 on a read error (errno). */
int correlate_read_lines(FILE *f, size_t max_line,
			 void (*fn)(struct correlator *c, const char *line, size_t len),
			 struct correlator *c);

/* Progress of correlate_read_lines on stderr (a file's percentage, for files over 16 MiB):
 * for a person waiting at a terminal. */
void correlate_progress(bool on);
/* The option parsing `correlate` and `report` share (cmd: "correlate"...): a number in
 * [lo, hi], or false after one line on stderr; the line for getopt's ':' or '?' (returns 2). */
bool correlate_number(const char *cmd, const char *opt, const char *s, unsigned long long lo,
		      unsigned long long hi, unsigned long long *out);
int correlate_bad_option(const char *cmd, int opt, const char *arg);
/* One line on stderr counting the input lines skipped, if any (cmd: "correlate"...). */
void correlate_report_skipped(const struct correlator *c, const char *cmd);

/* RFC 3339 ("2026-11-27T20:08:46.425593Z", "...+02:00") to ns since the epoch; -1 if bad. */
int64_t correlate_parse_time(const char *s);

#endif
