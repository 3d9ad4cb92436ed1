// SPDX-License-Identifier: GPL-2.0
/*
 * The spool as a crash or a damaged disk leaves it (what fuzz_spool found): a cursor in the
 * middle of a line, a cursor at the end of a segment that is not the tail, an empty segment
 * between others. Each time every pending line is read, whole, and none waits for ever.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output/spool.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_spool_damaged.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void put(const char *name, const char *text)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Reads and delivers everything pending, as the output's thread does; the text read. */
static char *drain(struct spool *s)
{
	static char all[4096];
	size_t len = 0;
	struct spool_mark m;

	while (spool_head(s, &m)) {
		int fd = spool_open_seg(s, m.id);
		ssize_t n, i;

		assert_true(fd >= 0);
		n = pread(fd, all + len, m.end - m.off, m.off);
		close(fd);
		assert_int_equal(n, m.end - m.off);
		m.lines = 0;
		for (i = 0; i < n; i++)
			m.lines += all[len + i] == '\n';
		len += n;
		assert_true(spool_take(s, &m));
		assert_true(spool_done(s, true, 0));
	}
	all[len] = 0;
	return all;
}

static void test_cursor_mid_line(void **state)
{
	struct spool s;
	char err[256];

	(void)state;
	put("0000000000000001.seg", "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
	put("cursor", "0000000000000001 000000000000000b\n");	/* inside the second line */
	assert_int_equal(spool_open(&s, dir, 1 << 20, err, sizeof(err)), 0);
	assert_int_equal(s.pending, 2);
	/* the line the cursor cut is sent again whole, not from its middle */
	assert_string_equal(drain(&s), "{\"b\":2}\n{\"c\":3}\n");
	assert_int_equal(s.pending, 0);
	spool_close(&s);
}

static void test_delivered_head_not_tail(void **state)
{
	struct spool s;
	char err[256];

	(void)state;
	put("0000000000000001.seg", "{\"a\":1}\n");
	put("0000000000000002.seg", "{\"b\":2}\n");
	put("cursor", "0000000000000001 0000000000000008\n");	/* all of segment 1 delivered */
	assert_int_equal(spool_open(&s, dir, 1 << 20, err, sizeof(err)), 0);
	assert_int_equal(s.pending, 1);
	assert_string_equal(drain(&s), "{\"b\":2}\n");
	spool_close(&s);
}

static void test_empty_segment_between(void **state)
{
	struct spool s;
	char err[256];

	(void)state;
	put("0000000000000001.seg", "{\"a\":1}\n");
	put("0000000000000002.seg", "{\"torn");	/* a crash left nothing whole in it */
	put("0000000000000003.seg", "{\"c\":3}\n{\"d\":4}\n");
	assert_int_equal(spool_open(&s, dir, 1 << 20, err, sizeof(err)), 0);
	assert_int_equal(s.pending, 3);
	assert_string_equal(drain(&s), "{\"a\":1}\n{\"c\":3}\n{\"d\":4}\n");
	/* and what comes next is read too */
	assert_int_equal(spool_append(&s, "{\"e\":5}\n", 8, 1), 0);
	assert_string_equal(drain(&s), "{\"e\":5}\n");
	spool_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cursor_mid_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivered_head_not_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_segment_between, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
