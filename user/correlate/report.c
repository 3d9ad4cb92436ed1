// SPDX-License-Identifier: GPL-2.0
/*
 * secretrace report EVENTS_FILE [--vault-audit FILE] -o report.html: the correlator's chains
 * as one self-contained HTML page (docs/report.md): a Sankey diagram of where each secret
 * went (Vault request -> receiving process -> processes it reached -> files, sockets,
 * command lines), drawn by d3-sankey, and a table of every receive and use. The page
 * (tools/report/page.html) and the d3 modules (third_party/d3/) are built into the binary
 * (Makefile: report_assets.o); the data goes in as JSON escaped for a <script> element.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "correlate/chains.h"
#include "correlate/report.h"

/* tools/report/page.html and the d3 modules of third_party/d3/, as built in (Makefile) */
extern const char report_page[], report_page_end[], report_js[], report_js_end[];

#define MARK_LIBRARY "/*@LIBRARY@*/"
#define MARK_DATA "/*@DATA@*/"

static const char *js(json_t *o, const char *path)
{
	const char *s = json_string_value(jget(o, path));

	return s ? s : "";
}

/* Where a use went, as a person reads it: 203.0.113.7:443 (api.example.com), file PATH,
 * argv of NAME... */
static void where_of(json_t *it, char *out, size_t len)
{
	const char *sink = js(it, "sink"), *ip = js(it, "destination.ip");
	const char *domain = js(it, "destination.domain");
	json_t *port = jget(it, "destination.port");
	char portbuf[16] = "";

	if (json_is_integer(port))
		snprintf(portbuf, sizeof(portbuf), ":%" JSON_INTEGER_FORMAT,
			 json_integer_value(port));
	if (!strcmp(sink, "argv") || !strcmp(sink, "env"))
		snprintf(out, len, "%s of %s", sink, js(it, "process.name"));
	else if (*js(it, "file.path"))
		snprintf(out, len, "%s %s", *sink ? sink : "file", js(it, "file.path"));
	else if (*ip)
		snprintf(out, len, strchr(ip, ':') ? "[%s]%s%s%s%s" : "%s%s%s%s%s", ip, portbuf,
			 *domain ? " (" : "", domain, *domain ? ")" : "");
	else if (*js(it, "destination.address"))
		snprintf(out, len, "unix:%s", js(it, "destination.address"));
	else
		snprintf(out, len, "%s", *sink ? sink : "?");
}

struct graph {
	json_t *nodes, *links;
	json_t *node_ix, *link_ix;	/* id -> index, source|target|kind -> index */
};

static void node(struct graph *g, const char *id, const char *label, const char *kind,
		 const char *title)
{
	if (json_object_get(g->node_ix, id))
		return;
	json_object_set_new(g->node_ix, id, json_integer((json_int_t)json_array_size(g->nodes)));
	json_array_append_new(g->nodes, json_pack("{s:s,s:s,s:s,s:s}", "id", id, "label", label,
						  "kind", kind, "title", title));
}

/* A link, or more weight on the same one. */
static void add_link(struct graph *g, const char *from, const char *to, const char *kind,
		 json_int_t n, const char *title)
{
	char key[1024];
	json_t *ix, *l;

	snprintf(key, sizeof(key), "%s|%s|%s", from, to, kind);
	ix = json_object_get(g->link_ix, key);
	if (ix) {
		l = json_array_get(g->links, (size_t)json_integer_value(ix));
		json_object_set_new(l, "value", json_integer(json_integer_value(
							   json_object_get(l, "value")) + n));
		return;
	}
	json_object_set_new(g->link_ix, key, json_integer((json_int_t)json_array_size(g->links)));
	json_array_append_new(g->links, json_pack("{s:s,s:s,s:s,s:I,s:s}", "source", from, "target",
						  to, "kind", kind, "value", n, "title", title));
}

static void process_id(size_t chain, json_t *it, char *id, size_t len, char *label,
		       size_t llen)
{
	json_t *pid = jget(it, "process.pid");

	snprintf(id, len, "p%zu:%s", chain, js(it, "process.entity_id"));
	snprintf(label, llen, "%s[%" JSON_INTEGER_FORMAT "]", js(it, "process.name"),
		 json_integer_value(pid));
}

static const char *join_flags(json_t *flags, char *out, size_t len, bool audit)
{
	size_t i, n = 0;

	out[0] = 0;
	for (i = 0; i < json_array_size(flags); i++) {
		const char *f = json_string_value(json_array_get(flags, i));

		/* without the audit log, every request is unknown to it: not a finding */
		if (!f || (!audit && !strcmp(f, "unknown_request")))
			continue;
		n += snprintf(out + n, n < len ? len - n : 0, "%s%s", n ? ", " : "", f);
	}
	return out;
}

/* One chain's nodes, links and rows. */
static void add_chain(struct graph *g, json_t *rows, size_t i, json_t *ch, bool audit,
		      json_int_t *counts)
{
	json_t *events = json_object_get(ch, "events"), *it, *a = json_object_get(ch, "audit");
	const char *rid = json_is_string(json_object_get(ch, "request_id")) ?
				  js(ch, "request_id") : "(unknown request)";
	const char *path = *js(ch, "vault.path") ? js(ch, "vault.path") : js(a, "path");
	char rnode[32], title[2048], flags[256], first_fetcher[300] = "", label[600];
	size_t j;

	snprintf(rnode, sizeof(rnode), "r%zu", i);
	snprintf(title, sizeof(title), "Vault request %s\n%s%s%s%s%s%s", rid, path,
		 json_is_true(json_object_get(a, "found")) ? "\nfetched " : "", js(a, "time"),
		 *js(a, "display_name") ? " by " : "", js(a, "display_name"),
		 *join_flags(json_object_get(ch, "flags"), flags, sizeof(flags), audit) ? "\n" : "");
	if (*flags)
		snprintf(title + strlen(title), sizeof(title) - strlen(title), "flags: %s", flags);
	/* the path, and the request's first characters: two reads of one path are two bands */
	snprintf(label, sizeof(label), "%s (%.8s)", *path ? path : "?", rid);
	node(g, rnode, label, "vault", title);
	json_array_foreach(events, j, it) {
		const char *act = js(it, "action"), *verdict = js(it, "verdict");
		json_int_t n = 1 + json_integer_value(json_object_get(it, "repeat_count"));
		char pid[300], plabel[160], where[1200], dnode[1210], secret[600];
		bool violation = !strcmp(verdict, "violation");

		process_id(i, it, pid, sizeof(pid), plabel, sizeof(plabel));
		snprintf(secret, sizeof(secret), "%s#%s", path, js(it, "field"));
		where_of(it, where, sizeof(where));
		json_array_append_new(rows, json_pack(
			"{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "time", js(it, "@timestamp"),
			"request", rid, "secret", secret, "process", plabel, "what",
			!strcmp(act, "secret.receive") ? "received" :
			!strcmp(act, "secret.learn_failed") ? "not learned" :
			violation ? "VIOLATION" : "used",
			"where", !strcmp(act, "secret.use") || !strcmp(act, "secret.violation") ?
			where : *js(it, "error") ? js(it, "error") : "",
			"verdict", verdict, "count", n, "flags",
			join_flags(json_object_get(it, "flags"), flags, sizeof(flags), audit)));
		if (!strcmp(act, "secret.receive")) {
			counts[0]++;
			node(g, pid, plabel, "process", js(it, "process.executable"));
			add_link(g, rnode, pid, "receive", 1, secret);
			if (!*first_fetcher)
				snprintf(first_fetcher, sizeof(first_fetcher), "%s", pid);
			continue;
		}
		if (strcmp(act, "secret.use") && strcmp(act, "secret.violation"))
			continue;
		counts[1] += n;
		counts[2] += violation;
		if (!json_object_get(g->node_ix, pid)) {
			/* a process that did not receive it: reached from the one that did */
			node(g, pid, plabel, "process", js(it, "process.executable"));
			add_link(g, *first_fetcher ? first_fetcher : rnode, pid, "reached", n,
			     "reached a process that did not fetch it");
		}
		snprintf(dnode, sizeof(dnode), "d:%s", where);
		node(g, dnode, where, "destination", where);
		if (violation)
			json_object_set_new(json_array_get(g->nodes, (size_t)json_integer_value(
						   json_object_get(g->node_ix, dnode))),
					    "violation", json_true());
		add_link(g, pid, dnode, violation ? "violation" : "use", n, secret);
	}
}

/* The data for the page: summary, nodes, links, rows. */
static json_t *report_data(const struct correlator *c, bool audit)
{
	struct graph g = { json_array(), json_array(), json_object(), json_object() };
	json_t *rows = json_array(), *data;
	json_int_t counts[3] = { 0 };	/* receives, uses, violations */
	size_t i;

	for (i = 0; i < correlator_count(c); i++)
		add_chain(&g, rows, i, correlator_chain(c, i), audit, counts);
	data = json_pack("{s:{s:I,s:I,s:I,s:I,s:b,s:I},s:o,s:o,s:o}", "summary", "requests",
			 (json_int_t)correlator_count(c), "receives", counts[0], "uses", counts[1],
			 "violations", counts[2], "audit", audit, "skipped",
			 (json_int_t)(c->ev.malformed + c->ev.invalid + c->ev.too_long +
				      c->ev.over_limit + c->ev.omitted + c->au.malformed +
				      c->au.invalid + c->au.too_long),
			 "nodes", g.nodes, "links", g.links, "rows", rows);
	json_decref(g.node_ix);
	json_decref(g.link_ix);
	return data;
}

/* JSON inside <script>: no "<", ">" or "&" (so no "</script>" and no "<!--"); with
 * JSON_ENSURE_ASCII, no U+2028 or U+2029 either. */
static int script_safe(const char *buf, size_t size, void *arg)
{
	FILE *out = arg;
	size_t i;

	for (i = 0; i < size; i++) {
		char c = buf[i];

		if (c == '<' || c == '>' || c == '&') {
			if (fprintf(out, "\\u%04x", (unsigned)c) < 0)
				return -1;
		} else if (fputc(c, out) == EOF) {
			return -1;
		}
	}
	return 0;
}

int report_write(const struct correlator *c, bool audit, FILE *out)
{
	const char *page = report_page, *end = report_page_end;
	const char *lib = memmem(page, (size_t)(end - page), MARK_LIBRARY, strlen(MARK_LIBRARY));
	const char *dat = memmem(page, (size_t)(end - page), MARK_DATA, strlen(MARK_DATA));
	json_t *data;
	int ret;

	if (!lib || !dat || dat < lib)
		return -1;	/* a build without its page: cannot happen with the Makefile's */
	data = report_data(c, audit);
	if (!data)
		return -1;
	fwrite(page, 1, (size_t)(lib - page), out);
	fwrite(report_js, 1, (size_t)(report_js_end - report_js), out);
	lib += strlen(MARK_LIBRARY);
	fwrite(lib, 1, (size_t)(dat - lib), out);
	ret = json_dump_callback(data, script_safe, out,
				 JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH);
	dat += strlen(MARK_DATA);
	fwrite(dat, 1, (size_t)(end - dat), out);
	json_decref(data);
	return ret || ferror(out) ? -1 : 0;
}

/* ---- the command ---- */

static const char usage[] =
	"Usage: secretrace report EVENTS_FILE [--vault-audit FILE] -o REPORT.html\n"
	"\n"
	"Writes one self-contained HTML page (no network needed to open it) showing where each\n"
	"secret went: Vault request -> receiving process -> every process, file, socket and\n"
	"destination it reached, violations in red, counts as widths; a table of every receive\n"
	"and use below. EVENTS_FILE is secretrace's ECS events (-o file:PATH; - for standard\n"
	"input). With --vault-audit, each request is joined with Vault's audit log as\n"
	"`secretrace correlate` does (who fetched it, flags). Needs no root.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE        the page to write (required)\n"
	"      --vault-audit FILE   a Vault file-audit log to join (streamed, never loaded)\n"
	"      --max-requests N     requests drawn (default 100000); more are counted\n"
	"  -h, --help               this help\n"
	"\n"
	"Exit status: 0 on success, 1 if a file cannot be read or written, 2 on a usage error.\n";

static int open_input(const char *path, FILE **f)
{
	*f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	if (!*f) {
		fprintf(stderr, "secretrace: report: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int report_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vault-audit", required_argument, NULL, 'a' },
		{ "output", required_argument, NULL, 'o' },
		{ "max-requests", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *audit_path = NULL, *events_path = NULL, *out_path = NULL;
	struct correlator *c = NULL;
	struct correlate_opts o;
	FILE *ef = NULL, *af = NULL, *out;
	unsigned long long v;
	int opt, rc = 1;

	correlate_default_opts(&o);
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			audit_path = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'r':
			if (!correlate_number("report", "--max-requests", optarg, 1, 100000000, &v))
				return 2;
			o.max_requests = v;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return correlate_bad_option("report", opt, argv[optind - 1]);
		}
	}
	if (optind < argc)
		events_path = argv[optind++];
	if (optind < argc || !events_path || !out_path) {
		fprintf(stderr, "secretrace: report: %s (see secretrace report --help)\n",
			optind < argc ? "one events file" : !events_path ? "EVENTS_FILE is required" :
			"-o REPORT.html is required");
		return 2;
	}
	if (open_input(events_path, &ef) || (audit_path && open_input(audit_path, &af)))
		goto out;
	c = correlator_new(&o);
	if (!c) {
		fprintf(stderr, "secretrace: report: out of memory\n");
		goto out;
	}
	correlate_progress(isatty(STDERR_FILENO));
	if (correlate_read_lines(ef, o.max_line, correlator_event_line, c) ||
	    (af && correlate_read_lines(af, o.max_line, correlator_audit_line, c))) {
		fprintf(stderr, "secretrace: report: reading %s: %s\n",
			ferror(ef) ? events_path : audit_path, strerror(errno));
		goto out;
	}
	correlator_finish(c);
	out = fopen(out_path, "we");
	errno = 0;
	if (!out || (report_write(c, af != NULL, out) | fclose(out))) {
		fprintf(stderr, "secretrace: report: writing %s: %s\n", out_path,
			errno ? strerror(errno) : "out of memory");
		goto out;
	}
	correlate_report_skipped(c, "report");
	fprintf(stderr, "secretrace: report: %s: %zu Vault requests\n", out_path,
		correlator_count(c));
	rc = 0;
out:
	correlator_free(c);
	if (ef && ef != stdin)
		fclose(ef);
	if (af && af != stdin)
		fclose(af);
	return rc;
}
