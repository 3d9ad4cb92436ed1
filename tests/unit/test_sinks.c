// SPDX-License-Identifier: GPL-2.0
/*
 * What the outputs put on the wire and on disk: RFC 5424 messages and RFC 6587 octet
 * counting, _bulk and HEC bodies, the reading of _bulk answers; the spool's order, bound,
 * loss counts and restart; file rotation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/file.h"
#include "output/format.h"
#include "output/spool.h"

static const char EVENT[] =
	"{\"@timestamp\":\"2026-11-27T10:00:00.123456Z\",\"event\":{\"id\":"
	"\"0b3e2a1c-5d6f-4a7b-8c9d-0e1f2a3b4c5d\",\"kind\":\"event\",\"action\":\"secret.use\","
	"\"sequence\":7},\"host\":{\"name\":\"node-1\"}}";

static void meta_of(const char *line, struct sink_meta *m)
{
	assert_int_equal(sink_meta(line, strlen(line), m), 0);
}

static void test_meta(void **state)
{
	struct sink_meta m;

	(void)state;
	meta_of(EVENT, &m);
	assert_string_equal(m.id, "0b3e2a1c-5d6f-4a7b-8c9d-0e1f2a3b4c5d");
	assert_string_equal(m.action, "secret.use");
	assert_string_equal(m.timestamp, "2026-11-27T10:00:00.123456Z");
	assert_false(m.alert);
	meta_of("{\"event\":{\"kind\":\"alert\",\"action\":\"secret.violation\"}}", &m);
	assert_true(m.alert);
	assert_string_equal(m.id, "");
	assert_int_equal(sink_meta("[1]", 3, &m), -1);
	assert_int_equal(sink_meta("{\"a\":", 5, &m), -1);
}

static void test_syslog_rfc5424(void **state)
{
	/* PRI = authpriv (10) * 8 + informational (6); MSGID = event.action; no SD */
	static const char head[] =
		"<86>1 2026-11-27T10:00:00.123456Z node-1 secretrace 42 secret.use - ";
	struct sink_buf b = { 0 };
	struct sink_meta m;

	(void)state;
	meta_of(EVENT, &m);
	assert_int_equal(syslog_format(&b, EVENT, strlen(EVENT), &m, "node-1", 42, false), 0);
	assert_int_equal(b.len, strlen(head) + strlen(EVENT));
	assert_memory_equal(b.p, head, strlen(head));
	assert_string_equal(b.p + strlen(head), EVENT);
	sink_buf_free(&b);
}

static void test_syslog_severity_and_fields(void **state)
{
	static const char alert[] = "{\"event\":{\"kind\":\"alert\",\"action\":\"secret.violation\"}}";
	static const char loss[] = "{\"event\":{\"kind\":\"event\",\"action\":\"tracer.loss\"}}";
	struct sink_buf b = { 0 };
	struct sink_meta m;

	(void)state;
	meta_of(alert, &m);
	syslog_format(&b, alert, strlen(alert), &m, "my host\x01", 1, false);
	/* no @timestamp: NILVALUE; HOSTNAME is PRINTUSASCII: space and control characters
	 * become _ */
	assert_true(!strncmp(b.p, "<81>1 - my_host_ secretrace 1 secret.violation - {", 50));
	b.len = 0;
	meta_of(loss, &m);
	syslog_format(&b, loss, strlen(loss), &m, "", 1, false);
	assert_true(!strncmp(b.p, "<84>1 ", 6));
	assert_true(!strncmp(b.p, "<84>1 - - secretrace 1 tracer.loss - {", 38));	/* NILVALUEs */
	sink_buf_free(&b);
}

static void test_syslog_msgid_limit(void **state)
{
	static const char ev[] = "{\"event\":{\"action\":\"a.very.long.action.name.past.thirty.two\"}}";
	struct sink_buf b = { 0 };
	struct sink_meta m;

	(void)state;
	meta_of(ev, &m);
	syslog_format(&b, ev, strlen(ev), &m, "h", 1, false);
	assert_non_null(strstr(b.p, " a.very.long.action.name.past.thi - {"));	/* 32 characters */
	sink_buf_free(&b);
}

/* RFC 6587: "LEN SP MSG", LEN the octets of MSG; frames back to back. */
static void test_octet_counting(void **state)
{
	struct sink_buf b = { 0 };
	struct sink_meta m;
	const char *p;
	char *end;
	int frames = 0;

	(void)state;
	meta_of(EVENT, &m);
	assert_int_equal(syslog_format(&b, EVENT, strlen(EVENT), &m, "node-1", 42, true), 0);
	assert_int_equal(syslog_format(&b, EVENT, strlen(EVENT), &m, "node-1", 42, true), 0);
	for (p = b.p; p < b.p + b.len; frames++) {
		unsigned long n = strtoul(p, &end, 10);

		assert_int_equal(*end, ' ');
		assert_true(!strncmp(end + 1, "<86>1 ", 6));
		assert_true(end + 1 + n <= b.p + b.len);
		assert_memory_equal(end + 1 + n - strlen(EVENT), EVENT, strlen(EVENT));
		p = end + 1 + n;
	}
	assert_int_equal(frames, 2);
	sink_buf_free(&b);
}

static void test_bulk_body(void **state)
{
	static const char noid[] = "{\"event\":{\"action\":\"x\"}}";
	static const char odd[] = "{\"event\":{\"id\":\"a\\\"b\"}}";
	struct sink_buf b = { 0 };
	struct sink_meta m;
	char want[1024];

	(void)state;
	meta_of(EVENT, &m);
	bulk_format(&b, EVENT, strlen(EVENT), &m);
	snprintf(want, sizeof(want),
		 "{\"create\":{\"_id\":\"0b3e2a1c-5d6f-4a7b-8c9d-0e1f2a3b4c5d\"}}\n%s\n", EVENT);
	assert_string_equal(b.p, want);
	b.len = 0;
	meta_of(noid, &m);
	bulk_format(&b, noid, strlen(noid), &m);
	assert_string_equal(b.p, "{\"create\":{}}\n{\"event\":{\"action\":\"x\"}}\n");
	b.len = 0;
	meta_of(odd, &m);	/* not a UUID: never pasted into the action line */
	bulk_format(&b, odd, strlen(odd), &m);
	assert_true(!strncmp(b.p, "{\"create\":{}}\n", 14));
	sink_buf_free(&b);
}

static void test_hec_body(void **state)
{
	struct sink_buf b = { 0 };
	struct sink_meta m;
	json_t *j, *ev;

	(void)state;
	meta_of(EVENT, &m);
	assert_int_equal(hec_format(&b, EVENT, strlen(EVENT), &m, "no\"de"), 0);
	assert_int_equal(b.p[b.len - 1], '\n');
	j = json_loadb(b.p, b.len - 1, 0, NULL);
	assert_non_null(j);
	/* 2026-11-27T10:00:00Z is 1795773600 */
	assert_true(json_is_real(json_object_get(j, "time")));
	assert_non_null(strstr(b.p, "\"time\":1795773600.123456,"));
	assert_string_equal(json_string_value(json_object_get(j, "host")), "no\"de");
	assert_string_equal(json_string_value(json_object_get(j, "sourcetype")), "_json");
	ev = json_loadb(EVENT, strlen(EVENT), 0, NULL);
	assert_true(json_equal(json_object_get(j, "event"), ev));
	json_decref(ev);
	json_decref(j);
	sink_buf_free(&b);
}

static void test_bulk_answer(void **state)
{
	static const char ok[] = "{\"took\":3,\"errors\":true,\"items\":["
				 "{\"create\":{\"_id\":\"a\",\"status\":201}},"
				 "{\"create\":{\"_id\":\"b\",\"status\":429,\"error\":{}}},"
				 "{\"create\":{\"_id\":\"c\",\"status\":409}},"
				 "{\"create\":{\"_id\":\"d\",\"status\":400}},"
				 "{\"index\":{\"_id\":\"e\",\"status\":503}}]}";
	int st[5];

	(void)state;
	assert_int_equal(bulk_statuses(ok, strlen(ok), 5, st), 0);
	assert_int_equal(st[0], 201);
	assert_int_equal(st[1], 429);
	assert_int_equal(st[4], 503);
	assert_int_equal(bulk_verdict(st[0]), BULK_DONE);
	assert_int_equal(bulk_verdict(st[1]), BULK_RETRY);
	assert_int_equal(bulk_verdict(st[2]), BULK_DONE);	/* that _id is already there */
	assert_int_equal(bulk_verdict(st[3]), BULK_REJECTED);
	assert_int_equal(bulk_verdict(st[4]), BULK_RETRY);
	/* not one status per item: the whole batch is retried */
	assert_int_equal(bulk_statuses(ok, strlen(ok), 4, st), -1);
	assert_int_equal(bulk_statuses("{}", 2, 0, st), -1);
	assert_int_equal(bulk_statuses("<html>", 6, 1, st), -1);
	assert_int_equal(bulk_statuses("{\"items\":[{\"create\":{}}]}", 25, 1, st), -1);
	/* "errors": false is every item accepted, with or without items */
	st[0] = st[2] = 0;
	assert_int_equal(bulk_statuses("{\"errors\":false,\"items\":[]}", 27, 3, st), 0);
	assert_int_equal(st[0], 201);
	assert_int_equal(st[2], 201);
	assert_int_equal(bulk_statuses("{\"errors\":true,\"items\":[]}", 26, 3, st), -1);
}

/* ---- the spool ---- */

static char dir[256];

static int spool_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_sinks.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int spool_teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void append_line(struct spool *s, unsigned i, size_t width)
{
	char line[4096];
	int n = snprintf(line, sizeof(line), "%0*u\n", (int)width - 1, i);

	assert_int_equal(spool_append(s, line, n, 1), 0);
}

/* Reads the head batch (at most max lines) as the output's thread does. */
static uint64_t read_head(struct spool *s, struct spool_mark *m, unsigned *first, uint64_t max)
{
	char buf[1 << 16];
	uint64_t lines = 0;
	ssize_t n, i;
	int fd;

	if (!spool_head(s, m))
		return 0;
	fd = spool_open_seg(s, m->id);
	assert_true(fd >= 0);
	n = pread(fd, buf, m->end - m->off < sizeof(buf) ? m->end - m->off : sizeof(buf), m->off);
	close(fd);
	assert_true(n > 0);
	*first = strtoul(buf, NULL, 10);
	for (i = 0; i < n && lines < max; i++)
		if (buf[i] == '\n') {
			lines++;
			m->end = m->off + i + 1;
		}
	m->lines = lines;
	assert_true(spool_take(s, m));
	return lines;
}

static void test_spool_order_and_restart(void **state)
{
	struct spool s;
	struct spool_mark m;
	unsigned first, next = 0, i;
	char err[256];

	(void)state;
	assert_int_equal(spool_open(&s, dir, 1 << 20, err, sizeof(err)), 0);
	for (i = 0; i < 5000; i++)
		append_line(&s, i, 100);	/* 500 kB: several segments */
	assert_int_equal(s.pending, 5000);
	assert_true(s.nseg > 2);
	/* delivered in order, across segments */
	while (next < 3000) {
		uint64_t n = read_head(&s, &m, &first, 250);

		assert_int_equal(first, next);
		assert_true(spool_done(&s, true, 0));
		next += n;
	}
	/* a batch that failed stays at the head */
	read_head(&s, &m, &first, 10);
	assert_true(spool_done(&s, false, 10));
	assert_int_equal(s.pending, 5000 - next);
	spool_close(&s);
	/* a new run finds the rest, from the first undelivered line */
	assert_int_equal(spool_open(&s, dir, 1 << 20, err, sizeof(err)), 0);
	assert_int_equal(s.pending, 5000 - next);
	assert_int_equal(s.dropped, 0);
	while (spool_head(&s, &m)) {
		uint64_t n = read_head(&s, &m, &first, 500);

		assert_int_equal(first, next);
		assert_true(spool_done(&s, true, 0));
		next += n;
	}
	assert_int_equal(next, 5000);
	assert_int_equal(s.pending, 0);
	/* all delivered: the tail starts over */
	assert_int_equal(s.bytes, 0);
	spool_close(&s);
}

static void test_spool_lock(void **state)
{
	struct spool a, b;
	char err[256];

	(void)state;
	assert_int_equal(spool_open(&a, dir, 1 << 20, err, sizeof(err)), 0);
	assert_true(spool_open(&b, dir, 1 << 20, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "in use by another secretrace"));
	spool_close(&a);
}

static void test_spool_bound_drops_oldest(void **state)
{
	struct spool s;
	struct spool_mark m;
	unsigned first, i;
	char err[256];

	(void)state;
	assert_int_equal(spool_open(&s, dir, 64 * 1024, err, sizeof(err)), 0);
	for (i = 0; i < 2000; i++)	/* 200 kB into 64 kB */
		append_line(&s, i, 100);
	assert_true(s.bytes <= 64 * 1024);
	/* every line is either pending or counted as dropped */
	assert_int_equal(s.pending + s.dropped, 2000);
	assert_true(s.dropped >= 2000 - 64 * 1024 / 100);
	/* what is left is the newest, in order */
	read_head(&s, &m, &first, 1);
	assert_int_equal(first, s.dropped);
	assert_true(spool_done(&s, true, 0));
	/* a line larger than the whole bound cannot be kept */
	{
		static char big[70 * 1024];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\n';
		assert_int_equal(spool_append(&s, big, sizeof(big), 1), -EFBIG);
	}
	spool_close(&s);
}

/* The head is dropped while the reader is delivering it: lost if not delivered, not
 * counted twice if it was. */
static void test_spool_drop_in_flight(void **state)
{
	struct spool s;
	struct spool_mark m;
	uint64_t dropped, n;
	unsigned first, i, next = 0;
	char err[256];

	(void)state;
	assert_int_equal(spool_open(&s, dir, 64 * 1024, err, sizeof(err)), 0);
	for (i = 0; i < 80; i++)
		append_line(&s, next++, 100);
	n = read_head(&s, &m, &first, 20);
	assert_int_equal(n, 20);
	for (i = 0; i < 700; i++)
		append_line(&s, next++, 100);
	dropped = s.dropped;
	assert_true(dropped > 0);
	/* delivered after all: not lost */
	assert_false(spool_done(&s, true, 0));
	assert_int_equal(s.dropped, dropped);
	assert_int_equal(s.pending + s.dropped + 20, next);
	/* again, and this time it fails: its 20 lines are lost */
	n = read_head(&s, &m, &first, 20);
	for (i = 0; i < 700; i++)
		append_line(&s, next++, 100);
	dropped = s.dropped;
	assert_false(spool_done(&s, false, 20));
	assert_int_equal(s.dropped, dropped + 20);
	spool_close(&s);
}

static void test_spool_torn_line(void **state)
{
	struct spool s;
	char err[256], path[300];
	FILE *f;

	(void)state;
	assert_int_equal(spool_open(&s, dir, 1 << 20, err, sizeof(err)), 0);
	append_line(&s, 1, 10);
	append_line(&s, 2, 10);
	spool_close(&s);
	/* a crash in the middle of a write */
	snprintf(path, sizeof(path), "%s/0000000000000001.seg", dir);
	f = fopen(path, "a");
	fputs("{\"half", f);
	fclose(f);
	assert_int_equal(spool_open(&s, dir, 1 << 20, err, sizeof(err)), 0);
	assert_int_equal(s.pending, 2);
	append_line(&s, 3, 10);
	assert_int_equal(s.bytes, 30);	/* the torn piece is gone */
	spool_close(&s);
}

/* ---- file rotation ---- */

static void test_file_rotation(void **state)
{
	char path[300], p[320], err[256], line[100];
	struct sink_file *f;
	struct stat st;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/events.json", dir);
	memset(line, 'e', sizeof(line));
	f = sink_file_open(path, 1000, 2, err, sizeof(err));
	assert_non_null(f);
	for (i = 0; i < 45; i++)	/* 101 bytes each: rotated every 10 lines */
		assert_int_equal(sink_file_write(f, line, sizeof(line)), 0);
	sink_file_close(f);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 5 * 101);
	snprintf(p, sizeof(p), "%s.1", path);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 10 * 101);
	snprintf(p, sizeof(p), "%s.2", path);
	assert_int_equal(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s.3", path);
	assert_int_not_equal(stat(p, &st), 0);	/* only two kept */
	/* appends to what is there */
	f = sink_file_open(path, 0, 0, err, sizeof(err));
	assert_int_equal(sink_file_write(f, "x", 1), 0);
	sink_file_close(f);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 5 * 101 + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta),
		cmocka_unit_test(test_syslog_rfc5424),
		cmocka_unit_test(test_syslog_severity_and_fields),
		cmocka_unit_test(test_syslog_msgid_limit),
		cmocka_unit_test(test_octet_counting),
		cmocka_unit_test(test_bulk_body),
		cmocka_unit_test(test_hec_body),
		cmocka_unit_test(test_bulk_answer),
		cmocka_unit_test_setup_teardown(test_spool_order_and_restart, spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_lock, spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_bound_drops_oldest, spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_drop_in_flight, spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_torn_line, spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_file_rotation, spool_setup, spool_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
