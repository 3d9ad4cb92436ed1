// SPDX-License-Identifier: GPL-2.0
/*
 * Events rendered from a template say what the same event built field by field says: the
 * same fields and values, their own time, id, sequence, thread, descriptor and offset,
 * redaction kept, and no template for an event whose strings imitate a placeholder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output/emit.h"
#include "output/template.h"
#include "lib/redact.h"
#include "lib/secmem.h"
#include "output/sinks.h"
#include "test_sink_util.h"

static char out_path[] = "/tmp/test_ev_template.XXXXXX";
static const uint8_t SECRET[] = "hunter2-correct-horse-battery";

static int setup(void **state)
{
	(void)state;
	if (secmem_init() || redact_init() || file_sink_open(out_path))
		return -1;
	return redact_add(SECRET, sizeof(SECRET) - 1, NULL);
}

static int teardown(void **state)
{
	(void)state;
	sinks_close();
	redact_free();
	unlink(out_path);
	return 0;
}

/* A violation as policy/uses.c builds one; extra is a file path. */
static json_t *violation(const char *path, uint32_t tid, int fd, long long offset)
{
	json_t *ev = ev_new("secret.violation");

	ev_str(ev, "event.kind", "alert");
	ev_str(ev, "rule.name", "default");
	ev_time(ev, 5000000000ULL);
	ev_int(ev, "process.pid", 42);
	if (tid)
		ev_int(ev, "process.thread.id", tid);
	ev_str(ev, "process.name", "agent \"quoted\"\n");
	ev_str(ev, "vault.request_id", "req-1");
	ev_str(ev, "secretrace.syscall", "write");
	ev_int(ev, "secretrace.fd", fd);
	ev_bool(ev, "secretrace.tls", false);
	ev_int(ev, "secretrace.offset", offset);
	ev_str(ev, "file.path", path);
	return ev;
}

static void test_rendered_like_built(void **state)
{
	struct ev_template *t = ev_template_make(violation("/var/log/app.log", 7, 3, 11));
	struct ev_slots s1 = { .boot_ns = 6000000000ULL, .tid = 8, .fd = 4, .offset = 12 };
	struct ev_slots s2 = { .boot_ns = 7000000000ULL, .tid = 9, .fd = -1, .offset = 0 };
	char when[EV_TIME_LEN];
	json_t *evs, *a, *b, *built;
	size_t n0;

	(void)state;
	assert_non_null(t);
	n0 = json_array_size(evs = file_sink_events(out_path));
	json_decref(evs);
	ev_emit(violation("/var/log/app.log", 8, 4, 12));
	ev_template_emit(t, &s1);
	ev_template_emit(t, &s2);
	evs = file_sink_events(out_path);
	assert_int_equal(json_array_size(evs), n0 + 3);
	built = json_array_get(evs, n0);
	a = json_array_get(evs, n0 + 1);
	b = json_array_get(evs, n0 + 2);

	/* the built event and the first rendered one differ only in id, time and sequence */
	assert_int_equal(json_integer_value(json_at(a, "event", "sequence")),
			 json_integer_value(json_at(built, "event", "sequence")) + 1);
	assert_string_not_equal(json_string_value(json_at(a, "event", "id")),
				json_string_value(json_at(built, "event", "id")));
	assert_int_equal(strlen(json_string_value(json_at(a, "event", "id"))), 36);
	ev_format_time(when, s1.boot_ns);
	assert_string_equal(json_string_value(json_at(a, "@timestamp", NULL)), when);
	json_object_del(built, "@timestamp");
	json_object_del(a, "@timestamp");
	json_object_del(json_at(built, "event", NULL), "id");
	json_object_del(json_at(a, "event", NULL), "id");
	json_object_del(json_at(built, "event", NULL), "sequence");
	json_object_del(json_at(a, "event", NULL), "sequence");
	assert_true(json_equal(built, a));

	/* the second: its own slots, the rest the same */
	assert_int_equal(json_integer_value(json_at(b, "process", "pid")), 42);
	assert_int_equal(json_integer_value(json_object_get(json_at(b, "process", "thread"), "id")), 9);
	assert_int_equal(json_integer_value(json_at(b, "secretrace", "fd")), -1);
	assert_int_equal(json_integer_value(json_at(b, "secretrace", "offset")), 0);
	assert_string_equal(json_string_value(json_at(b, "process", "name")), "agent \"quoted\"\n");
	ev_template_free(t);
	json_decref(evs);
}

static void test_redaction_kept_and_counted(void **state)
{
	uint64_t before = redact_count();
	struct ev_template *t = ev_template_make(violation("/tmp/hunter2-correct-horse", 7, 3, 0));
	struct ev_slots s = { .boot_ns = 6000000000ULL, .tid = 1, .fd = 1, .offset = 1 };
	json_t *evs;

	(void)state;
	assert_non_null(t);
	assert_int_equal(redact_count(), before);	/* counted by the events, not the template */
	ev_template_emit(t, &s);
	ev_template_emit(t, &s);
	assert_int_equal(redact_count(), before + 2);
	evs = file_sink_events(out_path);
	assert_string_equal(json_string_value(json_at(json_array_get(evs, json_array_size(evs) - 1),
						  "file", "path")), REDACTED);
	ev_template_free(t);
	json_decref(evs);
}

static void test_imitated_placeholder_refused(void **state)
{
	(void)state;
	/* a path holding what a placeholder serializes to */
	assert_null(ev_template_make(violation("\x01" "4", 7, 3, 0)));
	assert_null(ev_template_make(violation("x\"\x01" "0", 7, 3, 0)));
	/* ... or a slot this event does not have (no thread id) */
	assert_null(ev_template_make(violation("x\"\x01" "3", 0, 3, 0)));
	assert_null(ev_template_make(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rendered_like_built),
		cmocka_unit_test(test_redaction_kept_and_counted),
		cmocka_unit_test(test_imitated_placeholder_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
