// SPDX-License-Identifier: GPL-2.0
/*
 * --format text: one line per event for a terminal, in the spirit of Tetragon's compact
 * output (docs/formats.md):
 *
 *   TIME  [NAMESPACE/POD] NAME[PID]  WHAT  DETAILS
 *
 * built from the ECS event's fields only: what the redactor let through is all there is.
 */
#include <stdio.h>
#include <string.h>

#include "output/emit.h"
#include "output/formats.h"

#define C_DIM "\033[2m"
#define C_BOLD "\033[1m"
#define C_RED "\033[1;31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"
#define C_OFF "\033[0m"

struct line {
	struct sink_buf *b;
	bool colour;
	int err;
};

static void add(struct line *l, const char *s, size_t n)
{
	if (!l->err)
		l->err = sink_buf_add(l->b, s, n);
}

static void lit(struct line *l, const char *s)
{
	add(l, s, strlen(s));
}

static void paint(struct line *l, const char *code)
{
	if (l->colour)
		lit(l, code);
}

/* A string of the event: control characters (and DEL) as \xNN, so that the line stays one
 * line and a traced process's strings cannot drive the terminal. */
static void text(struct line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

		if (c >= 0x20 && c != 0x7f)
			continue;
		add(l, run, (size_t)(s - run));
		add(l, esc, sizeof(esc));
		run = s + 1;
	}
	add(l, run, (size_t)(s - run));
}

static void num(struct line *l, json_int_t v)
{
	char buf[24];

	add(l, buf, (size_t)snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, v));
}

static const char *str(json_t *ev, const char *dotted)
{
	return json_string_value(ev_get(ev, dotted));
}

static bool has_int(json_t *ev, const char *dotted, json_int_t *v)
{
	json_t *j = ev_get(ev, dotted);

	if (!json_is_integer(j))
		return false;
	*v = json_integer_value(j);
	return true;
}

/* " KEY VALUE" for a string field that is there */
static void opt_str(struct line *l, json_t *ev, const char *key, const char *dotted)
{
	const char *s = str(ev, dotted);

	if (!s)
		return;
	lit(l, key);
	text(l, s);
}

static void opt_int(struct line *l, json_t *ev, const char *key, const char *dotted)
{
	json_int_t v;

	if (!has_int(ev, dotted, &v))
		return;
	lit(l, key);
	num(l, v);
}

/* [namespace/pod] name[pid], or the container's short ID outside Kubernetes */
static void who(struct line *l, json_t *ev)
{
	const char *ns = str(ev, "orchestrator.namespace"), *pod = str(ev, "orchestrator.resource.name");
	const char *cid = str(ev, "container.id"), *name = str(ev, "process.name");
	json_int_t pid;

	if (!has_int(ev, "process.pid", &pid)) {
		lit(l, "secretrace");
		return;
	}
	if (pod) {
		paint(l, C_CYAN);
		if (ns) {
			text(l, ns);
			lit(l, "/");
		}
		text(l, pod);
		paint(l, C_OFF);
		lit(l, " ");
	} else if (cid) {
		char shortid[13];

		snprintf(shortid, sizeof(shortid), "%s", cid);
		paint(l, C_CYAN);
		text(l, shortid);
		paint(l, C_OFF);
		lit(l, " ");
	}
	text(l, name ? name : "?");
	lit(l, "[");
	num(l, pid);
	lit(l, "]");
}

/* 203.0.113.7:443, [2001:db8::1]:443 or unix:/run/x.sock, then (api.example.com) */
static void peer(struct line *l, json_t *ev)
{
	const char *ip = str(ev, "destination.ip"), *addr = str(ev, "destination.address");
	const char *domain = str(ev, "destination.domain");
	json_int_t port;

	if (ip) {
		bool v6 = strchr(ip, ':') != NULL;

		lit(l, v6 ? "[" : "");
		text(l, ip);
		lit(l, v6 ? "]" : "");
		if (has_int(ev, "destination.port", &port)) {
			lit(l, ":");
			num(l, port);
		}
	} else if (addr) {
		lit(l, "unix:");
		text(l, addr);
	} else {
		lit(l, "?");
	}
	if (domain) {
		lit(l, " (");
		text(l, domain);
		lit(l, ")");
	}
}

/* The reading or peer process of a pipe or unix socket, where found. */
static void peer_process(struct line *l, json_t *ev)
{
	const char *name = str(ev, "secretrace.peer.name");
	json_int_t pid;

	if (!has_int(ev, "secretrace.peer.pid", &pid))
		return;
	lit(l, " (read by ");
	text(l, name ? name : "?");
	lit(l, "[");
	num(l, pid);
	lit(l, "])");
}

/* vault.path#field in bold */
static void secret_name(struct line *l, json_t *ev)
{
	const char *path = str(ev, "vault.path"), *field = str(ev, "vault.field");

	paint(l, C_BOLD);
	text(l, path ? path : "?");
	if (field) {
		lit(l, "#");
		text(l, field);
	}
	paint(l, C_OFF);
}

/* -> where a use went, via which call */
static void sink(struct line *l, json_t *ev)
{
	const char *kind = str(ev, "secretrace.sink"), *path = str(ev, "file.path");
	const char *name = str(ev, "process.name");

	lit(l, " -> ");
	if (!kind || !strcmp(kind, "socket")) {
		peer(l, ev);
		peer_process(l, ev);
	} else if (!strcmp(kind, "argv") || !strcmp(kind, "env")) {
		text(l, kind);
		lit(l, " of ");
		text(l, name ? name : "?");
	} else {
		text(l, kind);	/* file, pipe, tty */
		lit(l, " ");
		text(l, path ? path : "?");
		peer_process(l, ev);
	}
	opt_str(l, ev, " via ", "secretrace.syscall");
}

static void use(struct line *l, json_t *ev, bool violation)
{
	json_int_t n;

	secret_name(l, ev);
	opt_str(l, ev, " ", "secret.encoding");
	sink(l, ev);
	if (violation) {
		paint(l, C_RED);
		opt_str(l, ev, " rule ", "rule.name");
		paint(l, C_OFF);
	} else {
		opt_str(l, ev, " allowed by ", "rule.name");
	}
	if (has_int(ev, "secretrace.repeat_count", &n)) {
		lit(l, " (");
		num(l, n);
		lit(l, " more times)");
	}
	opt_str(l, ev, " request ", "vault.request_id");
}

static void receive(struct line *l, json_t *ev)
{
	const char *source = str(ev, "secret.source");

	secret_name(l, ev);
	if (source && !strcmp(source, "request")) {
		lit(l, " (presented to Vault)");
	} else if (source && strcmp(source, "response")) {
		lit(l, " (from ");
		text(l, source);
		lit(l, ")");
	}
	if (ev_get(ev, "destination")) {
		lit(l, " from ");
		peer(l, ev);
	}
	opt_str(l, ev, " request ", "vault.request_id");
}

static void process_start(struct line *l, json_t *ev)
{
	json_t *args = ev_get(ev, "process.args"), *a;
	json_int_t n;
	size_t i;

	if (json_is_true(ev_get(ev, "secretrace.args_withheld"))) {
		lit(l, "(");
		if (has_int(ev, "process.args_count", &n)) {
			num(l, n);
			lit(l, " ");
		}
		lit(l, "arguments withheld: a secret is in them)");
		return;
	}
	if (!json_array_size(args)) {
		opt_str(l, ev, "", "process.executable");
		return;
	}
	json_array_foreach(args, i, a) {
		const char *s = json_string_value(a);
		bool quote = s && (!*s || strpbrk(s, " \t'\"\\"));

		lit(l, i ? (quote ? " '" : " ") : (quote ? "'" : ""));
		text(l, s ? s : "");
		lit(l, quote ? "'" : "");
	}
	if (json_is_true(ev_get(ev, "secretrace.args_truncated")))
		lit(l, " ...");
}

static void tracer_start(struct line *l, json_t *ev)
{
	json_t *pids = ev_get(ev, "secretrace.target.pids"), *p;
	size_t i;

	opt_str(l, ev, "version ", "secretrace.version");
	opt_str(l, ev, ", mode ", "secretrace.target.mode");
	opt_str(l, ev, " ", "secretrace.target.command");
	json_array_foreach(pids, i, p) {
		lit(l, i ? "," : ", pids ");
		num(l, json_integer_value(p));
	}
	opt_str(l, ev, ", scan ", "secretrace.target.scan");
	opt_str(l, ev, ", probes failed: ", "secretrace.probes_failed");
}

static void tracer_stop(struct line *l, json_t *ev)
{
	static const char *const stats[][2] = {
		{ "events ", "events" }, { ", lost ", "lost" }, { ", undelivered ", "undelivered" },
		{ ", uses ", "uses" }, { ", violations ", "violations" },
		{ ", secrets learned ", "secrets_learned" }, { ", learn failed ", "learn_failed" },
		{ ", bytes scanned ", "bytes_scanned" }, { ", not scanned ", "bytes_not_scanned" },
	};
	char dotted[64];
	size_t i;

	for (i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
		snprintf(dotted, sizeof(dotted), "secretrace.stats.%s", stats[i][1]);
		opt_int(l, ev, stats[i][0], dotted);
	}
	opt_int(l, ev, ", exit status ", "process.exit_code");
}

static void loss(struct line *l, json_t *ev)
{
	const char *unit = str(ev, "secretrace.lost.unit");
	json_int_t n = 0;

	has_int(ev, "secretrace.lost.count", &n);
	num(l, n);
	lit(l, unit && !strcmp(unit, "bytes") ? " bytes" : " events");
	lit(l, " lost");
	opt_str(l, ev, ": ", "secretrace.lost.reason");
	opt_str(l, ev, " (output ", "secretrace.lost.output");
	if (str(ev, "secretrace.lost.output"))
		lit(l, ")");
}

/* The word for what happened, padded, and its colour. */
static const struct {
	const char *action, *word, *colour;
} words[] = {
	{ "secret.receive", "received ", C_GREEN },
	{ "secret.use", "used     ", C_YELLOW },
	{ "secret.violation", "VIOLATION", C_RED },
	{ "secret.learn_failed", "not learned", C_YELLOW },
	{ "process.start", "start    ", C_DIM },
	{ "network.connect", "connect  ", C_DIM },
	{ "tracer.start", "tracer start", C_DIM },
	{ "tracer.stop", "tracer stop", C_DIM },
	{ "tracer.loss", "LOSS     ", C_RED },
	{ "tracer.unscanned", "unscanned", C_YELLOW },
	{ "tracer.anomaly", "ANOMALY  ", C_RED },
};

int text_line(struct sink_buf *b, json_t *ev, bool colour)
{
	struct line l = { .b = b, .colour = colour };
	const char *action = str(ev, "event.action"), *ts = str(ev, "@timestamp");
	const char *word = NULL, *code = C_DIM;
	size_t i;

	if (!action)
		action = "?";
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(action, words[i].action)) {
			word = words[i].word;
			code = words[i].colour;
		}
	paint(&l, C_DIM);
	text(&l, ts ? ts : "-");
	paint(&l, C_OFF);
	lit(&l, " ");
	who(&l, ev);
	lit(&l, " ");
	paint(&l, code);
	text(&l, word ? word : action);
	paint(&l, C_OFF);
	lit(&l, " ");
	if (!strcmp(action, "secret.use") || !strcmp(action, "secret.violation")) {
		use(&l, ev, !strcmp(action, "secret.violation"));
	} else if (!strcmp(action, "secret.receive")) {
		receive(&l, ev);
	} else if (!strcmp(action, "secret.learn_failed")) {
		secret_name(&l, ev);
		opt_str(&l, ev, ": ", "error.message");
		opt_str(&l, ev, " request ", "vault.request_id");
	} else if (!strcmp(action, "process.start")) {
		process_start(&l, ev);
	} else if (!strcmp(action, "network.connect")) {
		lit(&l, "-> ");
		peer(&l, ev);
		opt_str(&l, ev, " ", "network.transport");
		if (json_is_true(ev_get(ev, "secretrace.vault")))
			lit(&l, " (Vault)");
	} else if (!strcmp(action, "tracer.start")) {
		tracer_start(&l, ev);
	} else if (!strcmp(action, "tracer.stop")) {
		tracer_stop(&l, ev);
	} else if (!strcmp(action, "tracer.loss")) {
		loss(&l, ev);
	} else if (!strcmp(action, "tracer.anomaly")) {
		opt_int(&l, ev, "", "secretrace.anomaly.count");
		opt_str(&l, ev, " values not learned as secrets: ", "secretrace.anomaly.kind");
		if (str(ev, "destination.ip")) {	/* not on those counted at exit */
			lit(&l, " from ");
			peer(&l, ev);
		}
	} else if (!strcmp(action, "tracer.unscanned")) {
		opt_int(&l, ev, "", "secretrace.bytes");
		lit(&l, " bytes");
		opt_str(&l, ev, " via ", "secretrace.syscall");
		opt_int(&l, ev, " fd ", "secretrace.fd");
	}
	/* no trailing blank */
	while (!l.err && b->len && b->p[b->len - 1] == ' ')
		b->p[--b->len] = 0;
	return l.err ? -1 : 0;
}
