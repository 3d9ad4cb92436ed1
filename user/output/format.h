/* SPDX-License-Identifier: GPL-2.0 */
/* What network outputs put on the wire around an event's JSON line: RFC 5424 syslog
 * messages (RFC 6587 octet counting on streams), Elastic _bulk and Splunk HEC bodies, and
 * the reading of a _bulk answer. Pure functions, for the unit tests. */
#ifndef SECRETRACE_SINK_FORMAT_H
#define SECRETRACE_SINK_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer (events are redacted already: nothing here needs wiping). */
struct sink_buf {
	char *p;
	size_t len, cap;
};

int sink_buf_add(struct sink_buf *b, const void *p, size_t n);
int sink_buf_printf(struct sink_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sink_buf_free(struct sink_buf *b);

/* The fields of an event that framing needs. */
struct sink_meta {
	char id[64];		/* event.id ("" if absent) */
	char action[64];	/* event.action */
	char timestamp[40];	/* @timestamp */
	bool alert;		/* event.kind "alert" */
	bool loss;		/* event.action "tracer.loss" */
};

/* 0, or -1 if line is not a JSON object (meta is then empty). */
int sink_meta(const char *line, size_t len, struct sink_meta *m);

/* RFC 5424: <PRI>1 TIMESTAMP HOSTNAME secretrace PROCID MSGID - MSG, where MSGID is
 * event.action and MSG the JSON line; with octet_count, preceded by "LEN " (RFC 6587). */
#define SYSLOG_FACILITY 10	/* authpriv: security events */
int syslog_format(struct sink_buf *b, const char *line, size_t len, const struct sink_meta *m,
		  const char *host, int pid, bool octet_count);

/* Elastic _bulk: {"create":{"_id":EVENT_ID}} and the event, each on a line. */
int bulk_format(struct sink_buf *b, const char *line, size_t len, const struct sink_meta *m);
/* Splunk HEC: {"time":SECONDS,"host":HOST,"source":"secretrace","sourcetype":"_json",
 * "event":EVENT} on a line. */
int hec_format(struct sink_buf *b, const char *line, size_t len, const struct sink_meta *m,
	       const char *host);

/* The statuses of a _bulk answer's n items, in order (all 201 when "errors" is false); -1
 * if it is not such an answer. */
int bulk_statuses(const char *resp, size_t len, size_t n, int *status);
/* What becomes of an item with this _bulk status. */
enum bulk_verdict { BULK_DONE, BULK_RETRY, BULK_REJECTED };
enum bulk_verdict bulk_verdict(int status);

#endif
