// SPDX-License-Identifier: GPL-2.0
/*
 * secretrace correlate, its input and output: hostile audit lines and events skipped and
 * counted, never trusted; the limits; reading lines; timestamps; the table and the JSON
 * lines; the command line's exit statuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "correlate/correlate.h"
#include "test_correlate_util.h"

/* ---- hostile input ---- */

static void test_hostile_audit(void **state)
{
	struct correlator *c = new_c(-1);
	json_t *s, *ch;

	(void)state;
	receive(c, RID1, "k", 1, "E1", NULL);
	use(c, RID1, "k", 2, "E1", NULL);
	/* malformed: not JSON, truncated, not an object (shape test), broken inside */
	audit(c, "not json at all");
	audit(c, "{\"time\":\"%s\",\"type\":\"request\",\"request\":{\"id\":\"%s\"", at(0.5), RID1);
	audit(c, "[\"%s\"]", RID1);
	audit(c, "{\"time\":\"%s\",\"request\":{\"id\":\"%s\",}}", at(0.5), RID1);
	audit(c, "{\"request\":{\"id\":\"%s\",\"id\":\"x\"}}", RID1);	/* duplicate key */
	audit(c, "{\"request\":{\"id\":\"%s\"},\"x\":\"\\u0000\"}", RID1);	/* NUL */
	audit(c, "{\"request\":{\"id\":\"%s\"},\"n\":123456789012345678901234567890}", RID1);
	/* invalid: JSON with wrong types where it matters */
	audit(c, "{\"time\":5,\"type\":\"request\",\"request\":{\"id\":\"%s\"}}", RID1);
	audit(c, "{\"time\":\"yesterday\",\"type\":\"request\",\"request\":{\"id\":\"%s\"}}", RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"other\",\"request\":{\"id\":\"%s\"}}", at(0.5), RID1);
	audit(c, "{\"time\":\"%s\",\"type\":[],\"request\":{\"id\":\"%s\"}}", at(0.5), RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"request\",\"request\":{\"id\":\"%s\",\"path\":7}}", at(0.5),
	      RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"request\",\"auth\":\"root\",\"request\":{\"id\":\"%s\"}}",
	      at(0.5), RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"request\",\"auth\":{\"policies\":\"root\","
		 "\"display_name\":\"x\"},\"request\":{\"id\":\"%s\"}}", at(0.5), RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"request\":{\"id\":\"%s\"},\"response\":"
		 "{\"secret\":{\"lease_id\":42}}}", at(0.5), RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"request\":{\"id\":\"%s\"},\"response\":[1]}",
	      at(0.5), RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"request\":{\"id\":\"%s\",\"remote_port\":"
		 "\"x\"}}", at(0.5), RID1);
	/* blank lines are nothing; too long lines are counted */
	audit(c, "   ");
	correlator_audit_line(c, NULL, 0);
	/* unrelated lines are not parsed, whatever they hold */
	audit(c, "{\"time\":1,\"request\":{\"id\":\"someone-else\"}}");
	/* and the real entries still join */
	vault_read(c, RID1, "secret/data/x", 0.5, NULL);
	correlator_finish(c);
	ch = correlator_chain(c, 0);
	flags_are(ch, "");
	assert_string_equal(str(ch, "audit.display_name"), "approle");
	s = summary_of(c);
	assert_int_equal(num(s, "audit.lines"), 21);
	assert_int_equal(num(s, "audit.malformed"), 7);
	assert_int_equal(num(s, "audit.invalid"), 10);
	assert_int_equal(num(s, "audit.too_long"), 1);
	assert_int_equal(num(s, "audit.unrelated"), 1);
	assert_int_equal(num(s, "audit.used"), 2);
	correlator_free(c);
}

static void test_hostile_events(void **state)
{
	struct correlator *c = new_c(-1);
	json_t *s;

	(void)state;
	event(c, "garbage");
	event(c, "{\"event\":{\"action\":\"secret.use\"},\"vault\":{\"request_id\":\"%s\"", RID1);
	event(c, "[]");
	event(c, "{}");						/* not an event */
	event(c, "{\"event\":{\"action\":7}}");			/* wrong type */
	event(c, "{\"event\":{\"action\":\"secret.use\"},\"vault\":{\"request_id\":[\"%s\"]}}", RID1);
	event(c, "{\"event\":{\"action\":\"secret.use\"},\"vault\":\"x\"}");
	event(c, "{\"event\":{\"action\":\"secret.use\"},\"@timestamp\":\"noon\",\"vault\":"
		 "{\"request_id\":\"%s\"}}", RID1);
	event(c, "{\"event\":{\"action\":\"secret.use\"},\"process\":{\"pid\":\"ten\"},\"vault\":"
		 "{\"request_id\":\"%s\"}}", RID1);
	event(c, "{\"event\":{\"action\":\"secret.receive\"},\"vault\":{\"request_id\":\"%s\","
		 "\"lease_duration\":\"1h\"}}", RID1);
	event(c, "{\"event\":{\"action\":\"tracer.start\"}}");	/* other actions: ignored */
	event(c, "{\"event\":{\"action\":\"network.connect\"}}");
	event(c, "{\"event\":{\"action\":\"secret.receive\"},\"vault\":{\"path\":\"x\"}}");	/* no ids */
	correlator_event_line(c, NULL, 0);
	receive(c, RID1, "k", 1, "E1", NULL);
	correlator_finish(c);
	assert_int_equal(correlator_count(c), 1);
	flags_are(correlator_chain(c, 0), "never_used unknown_request");
	s = summary_of(c);
	assert_int_equal(num(s, "events.lines"), 15);
	assert_int_equal(num(s, "events.malformed"), 3);
	assert_int_equal(num(s, "events.invalid"), 7);
	assert_int_equal(num(s, "events.other"), 2);
	assert_int_equal(num(s, "events.no_vault_ids"), 1);
	assert_int_equal(num(s, "events.too_long"), 1);
	assert_int_equal(num(s, "events.used"), 1);
	correlator_free(c);
}

static void test_limits(void **state)
{
	struct correlate_opts o;
	struct correlator *c;
	json_t *ch, *s;
	int i;

	(void)state;
	correlate_default_opts(&o);
	o.max_requests = 2;
	o.max_items = 3;
	c = correlator_new(&o);
	receive(c, RID1, "k", 1, "E1", NULL);
	for (i = 0; i < 10; i++)
		use(c, RID1, "k", 2 + i, "E1", NULL);
	receive(c, RID2, "k", 1, "E1", NULL);
	receive(c, RID3, "k", 1, "E1", NULL);	/* a third request: over the limit */
	correlator_finish(c);
	assert_int_equal(correlator_count(c), 2);
	ch = correlator_chain(c, 0);
	assert_int_equal(json_array_size(get(ch, "events")), 3);
	assert_int_equal(num(ch, "counts.uses"), 10);
	assert_int_equal(num(ch, "counts.omitted"), 8);
	s = summary_of(c);
	assert_int_equal(num(s, "events.over_limit"), 1);
	assert_int_equal(num(s, "events.omitted"), 8);
	correlator_free(c);
}

/* ---- input and output ---- */

static struct correlator *lines_to;
static size_t nlines, nlong, total;

static void count_line(struct correlator *c, const char *line, size_t len)
{
	assert_ptr_equal(c, lines_to);
	if (!line) {
		nlong++;
		return;
	}
	nlines++;
	total += len;
	assert_null(memchr(line, '\n', len));
}

static void test_read_lines(void **state)
{
	size_t n = 300000, i;
	char *buf = malloc(n);
	FILE *f;

	(void)state;
	/* 99-byte lines across 64 KiB reads; the one from 1000 is 100099 bytes long (its
	 * newlines overwritten); the last one (100 bytes) has no newline */
	for (i = 0; i < n; i++)
		buf[i] = i % 100 == 99 ? '\n' : 'a';
	memset(buf + 1000, 'b', 100000);
	buf[n - 1] = 'z';
	f = fmemopen(buf, n, "r");
	lines_to = (struct correlator *)buf;
	assert_int_equal(correlate_read_lines(f, 4096, count_line, lines_to), 0);
	fclose(f);
	assert_int_equal(nlong, 1);
	assert_int_equal(nlines, 1999);
	assert_int_equal(total, 1998 * 99 + 100);
	nlines = nlong = total = 0;
	f = fmemopen(buf, n, "r");
	assert_int_equal(correlate_read_lines(f, 200000, count_line, lines_to), 0);
	fclose(f);
	assert_int_equal(nlong, 0);
	assert_int_equal(nlines, 2000);
	assert_int_equal(total, n - 1999);
	free(buf);
}

static void test_parse_time(void **state)
{
	(void)state;
	assert_int_equal(correlate_parse_time("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(correlate_parse_time("1970-01-01T00:00:01.5Z"), 1500000000);
	assert_int_equal(correlate_parse_time("2026-11-27T20:08:46.425593Z"),
			 1795810126425593000LL);
	assert_int_equal(correlate_parse_time("2026-11-27T20:08:46.425593123Z"),
			 1795810126425593123LL);
	assert_int_equal(correlate_parse_time("2026-11-27T22:08:46.425593+02:00"),
			 1795810126425593000LL);
	assert_int_equal(correlate_parse_time("2026-11-27T18:08:46.425593-02:00"),
			 1795810126425593000LL);
	assert_int_equal(correlate_parse_time("2026-11-27T20:08:46.1234567891234Z"),
			 1795810126123456789LL);
	assert_int_equal(correlate_parse_time("2026-11-27 20:08:46Z"), -1);
	assert_int_equal(correlate_parse_time("2026-11-27T20:08:46"), -1);
	assert_int_equal(correlate_parse_time("2026-13-27T20:08:46Z"), -1);
	assert_int_equal(correlate_parse_time("2026-11-27T20:08:46Zjunk"), -1);
	assert_int_equal(correlate_parse_time(""), -1);
	assert_int_equal(correlate_parse_time(NULL), -1);
	/* outside what int64 nanoseconds hold (found by the fuzz target) */
	assert_int_equal(correlate_parse_time("0227-11-27T10:00:01Z"), -1);
	assert_int_equal(correlate_parse_time("9999-11-27T10:00:01Z"), -1);
	assert_int_equal(correlate_parse_time("2026-11-27T-1:00:01Z"), -1);
}

static void test_table(void **state)
{
	struct correlator *c = new_c(60);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	receive(c, RID1, "password", 1, "E1", LEASE);
	use(c, RID1, "password", 100, "E2", NULL);
	receive(c, RID2, "k", 1, "E1", NULL);
	vault_read(c, RID1, "database/creds/readonly", 0.5, LEASE);
	correlator_finish(c);
	correlator_print(c, f, true);
	fclose(f);
	assert_non_null(strstr(text, "request " RID1 "  database/creds/readonly  [other_process, "
				     "used_after_expiry]\n"));
	assert_non_null(strstr(text, "  fetched  2026-11-27T10:00:00.500000Z by approle (entity ent-1) "
				     "policies agent,default from 10.1.2.3\n"));
	assert_non_null(strstr(text, "  lease    " LEASE " expires 2026-11-27T10:01:00.501000Z\n"));
	assert_non_null(strstr(text, "203.0.113.7:443"));
	assert_non_null(strstr(text, "request " RID2 "  p  [never_used, unknown_request]\n"));
	assert_non_null(strstr(text, "  fetched  (not in the audit log)\n"));
	assert_non_null(strstr(text, "2 requests: 1 never used, 1 used by another process, 1 used "
				     "after expiry, 1 unknown to the audit log\n"));
	free(text);
	text = NULL;
	f = open_memstream(&text, &len);
	correlator_print(c, f, false);
	fclose(f);
	/* JSON lines: two chains and the summary */
	{
		char *p = text, *nl;
		int n = 0;

		while ((nl = strchr(p, '\n'))) {
			json_t *o = json_loadb(p, (size_t)(nl - p), 0, NULL);

			assert_true(json_is_object(o));
			if (n == 2)
				assert_non_null(json_object_get(o, "summary"));
			json_decref(o);
			p = nl + 1;
			n++;
		}
		assert_int_equal(n, 3);
	}
	free(text);
	correlator_free(c);
}

static int run(const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[] = { "correlate", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
	int argc = 1;
	int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY), rc;

	while (argv[argc])
		argc++;
	fflush(stdout);
	dup2(null, 1);
	dup2(null, 2);	/* the usage errors are checked end to end */
	rc = correlate_main(argc, argv);
	fflush(stdout);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(null);
	return rc;
}

static void test_command_line(void **state)
{
	char audit_path[] = "/tmp/test_correlate_XXXXXX";
	int fd = mkstemp(audit_path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{}\n", 3), 3);
	close(fd);
	assert_int_equal(run(NULL, NULL, NULL, NULL), 2);		/* no --vault-audit */
	assert_int_equal(run("--bogus", NULL, NULL, NULL), 2);
	assert_int_equal(run("--vault-audit", NULL, NULL, NULL), 2);	/* no value */
	assert_int_equal(run("--vault-audit", audit_path, "/dev/null", "extra"), 2);
	assert_int_equal(run("--vault-audit", audit_path, "--lease-ttl", "x"), 2);
	assert_int_equal(run("--vault-audit", "/nonexistent/audit.log", "/dev/null", NULL), 1);
	assert_int_equal(run("--vault-audit", audit_path, "/nonexistent/events", NULL), 1);
	assert_int_equal(run("--vault-audit", "/tmp", "/dev/null", NULL), 1);	/* a directory */
	assert_int_equal(run("--vault-audit", audit_path, "/dev/null", NULL), 0);
	assert_int_equal(run("/dev/null", "--table", "--vault-audit", audit_path), 0);
	assert_int_equal(run("--help", NULL, NULL, NULL), 0);
	unlink(audit_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_audit),
		cmocka_unit_test(test_hostile_events),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_read_lines),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_command_line),
	};

	return cmocka_run_group_tests_name("correlate_io", tests, NULL, NULL);
}
