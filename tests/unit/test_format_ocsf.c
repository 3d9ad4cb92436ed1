// SPDX-License-Identifier: GPL-2.0
/*
 * --format ocsf: the class, activity and the attributes each kind of event maps to
 * (docs/formats.md's table), the uids computed from them, time in milliseconds, and the
 * project's fields kept under unmapped. (The e2e test validates a real run's events against
 * OCSF's schema; this pins the mapping.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "output/emit.h"
#include "output/formats.h"

#define COMMON "\"@timestamp\":\"2026-11-27T10:00:00.123456Z\",\"host\":{\"name\":\"node-1\"}," \
	"\"process\":{\"pid\":42,\"entity_id\":\"e42\",\"name\":\"python3\",\"executable\":" \
	"\"/usr/bin/python3.11\",\"parent\":{\"pid\":1}},\"user\":{\"id\":\"1000\"},"
#define SECRET "\"vault\":{\"request_id\":\"r-1\",\"path\":\"kv/data/a\",\"field\":\"key\"}," \
	"\"secret\":{\"fingerprint\":\"f\",\"encoding\":\"raw\"},"

static json_t *ocsf(const char *event)
{
	json_t *ev = json_loads(event, 0, NULL), *o;

	assert_non_null(ev);
	o = ocsf_event(ev);
	assert_non_null(o);
	json_decref(ev);
	return o;
}

static long long num(json_t *o, const char *dotted)
{
	json_t *v = ev_get(o, dotted);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static const char *str(json_t *o, const char *dotted)
{
	const char *s = json_string_value(ev_get(o, dotted));

	assert_non_null(s);
	return s;
}

static void is_class(json_t *o, int category, int class_uid, int activity)
{
	assert_int_equal(num(o, "category_uid"), category);
	assert_int_equal(num(o, "class_uid"), class_uid);
	assert_int_equal(num(o, "activity_id"), activity);
	assert_int_equal(num(o, "type_uid"), class_uid * 100 + activity);
	assert_string_equal(str(o, "metadata.version"), OCSF_VERSION);
	assert_string_equal(str(o, "metadata.product.vendor_name"), "secretrace");
}

static void test_violation_is_a_detection_finding(void **state)
{
	json_t *o = ocsf("{" COMMON SECRET "\"event\":{\"id\":\"id-1\",\"action\":"
			 "\"secret.violation\",\"kind\":\"alert\",\"sequence\":9},\"rule\":{\"name\":"
			 "\"only-api\"},\"secretrace\":{\"sink\":\"socket\",\"syscall\":\"sendto\"},"
			 "\"destination\":{\"ip\":\"203.0.113.7\",\"port\":443},\"network\":"
			 "{\"transport\":\"tcp\"}}");

	(void)state;
	is_class(o, 2, 2004, 1);
	assert_int_equal(num(o, "severity_id"), 4);
	assert_int_equal(num(o, "time"), 1795773600123LL);
	assert_string_equal(str(o, "finding_info.uid"), "id-1");
	assert_string_equal(str(o, "finding_info.analytic.name"), "only-api");
	assert_non_null(strstr(str(o, "finding_info.title"), "VIOLATION kv/data/a#key raw -> "
								   "203.0.113.7:443 via sendto"));
	assert_int_equal(num(json_array_get(ev_get(o, "evidences"), 0), "dst_endpoint.port"), 443);
	assert_string_equal(str(json_array_get(ev_get(o, "resources"), 0), "uid"), "r-1");
	assert_string_equal(str(o, "actor.process.uid"), "e42");
	assert_string_equal(str(o, "actor.process.file.name"), "python3.11");
	assert_string_equal(str(o, "actor.process.user.uid"), "1000");
	assert_string_equal(str(o, "device.hostname"), "node-1");
	assert_string_equal(str(o, "metadata.uid"), "id-1");
	assert_int_equal(num(o, "metadata.sequence"), 9);
	assert_string_equal(str(o, "unmapped.vault.request_id"), "r-1");
	assert_string_equal(str(o, "unmapped.rule.name"), "only-api");
	json_decref(o);
}

static void test_uses_by_sink(void **state)
{
	json_t *o;

	(void)state;
	o = ocsf("{" COMMON SECRET "\"event\":{\"action\":\"secret.use\"},\"secretrace\":{\"sink\":"
		 "\"socket\"},\"destination\":{\"address\":\"/run/x.sock\"}}");
	is_class(o, 4, 4001, 6);
	assert_string_equal(str(o, "dst_endpoint.name"), "/run/x.sock");
	assert_string_equal(str(o, "src_endpoint.hostname"), "node-1");
	json_decref(o);

	o = ocsf("{" COMMON SECRET "\"event\":{\"action\":\"secret.use\"},\"secretrace\":{\"sink\":"
		 "\"pipe\"},\"file\":{\"path\":\"pipe:[7]\"}}");
	is_class(o, 1, 1001, 3);
	assert_int_equal(num(o, "file.type_id"), 99);
	assert_string_equal(str(o, "file.name"), "pipe:[7]");
	json_decref(o);

	o = ocsf("{" COMMON SECRET "\"event\":{\"action\":\"secret.use\"},\"secretrace\":{\"sink\":"
		 "\"tty\"},\"file\":{\"path\":\"/dev/pts/3\"}}");
	is_class(o, 1, 1001, 3);
	assert_int_equal(num(o, "file.type_id"), 3);
	assert_string_equal(str(o, "file.name"), "3");
	json_decref(o);

	/* on a command line: the launch of the process, its parent the actor */
	o = ocsf("{" COMMON SECRET "\"event\":{\"action\":\"secret.use\"},\"secretrace\":{\"sink\":"
		 "\"argv\",\"repeat_count\":2}}");
	is_class(o, 1, 1007, 1);
	assert_int_equal(num(o, "process.pid"), 42);
	assert_int_equal(num(o, "actor.process.pid"), 1);
	assert_int_equal(num(o, "unmapped.secretrace.repeat_count"), 2);
	json_decref(o);
}

static void test_receive_and_the_tracer(void **state)
{
	json_t *o;

	(void)state;
	o = ocsf("{" COMMON SECRET "\"event\":{\"action\":\"secret.receive\"},\"destination\":"
		 "{\"ip\":\"10.0.0.5\",\"port\":8200}}");
	is_class(o, 6, 6003, 2);
	assert_string_equal(str(o, "api.request.uid"), "r-1");
	assert_string_equal(str(o, "api.operation"), "read");
	assert_string_equal(str(o, "api.service.name"), "vault");
	assert_null(ev_get(o, "device"));	/* not an attribute of API Activity */
	json_decref(o);

	o = ocsf("{\"@timestamp\":\"2026-11-27T10:00:00Z\",\"event\":{\"action\":\"tracer.loss\"},"
		 "\"secretrace\":{\"lost\":{\"count\":3,\"reason\":\"ringbuf_full_match\"}}}");
	is_class(o, 6, 6002, 99);
	assert_int_equal(num(o, "severity_id"), 3);
	assert_int_equal(num(o, "time"), 1795773600000LL);
	assert_string_equal(str(o, "app.name"), "secretrace");
	assert_string_equal(str(o, "message"), "secretrace LOSS      3 events lost: "
					       "ringbuf_full_match");
	json_decref(o);

	o = ocsf("{\"event\":{\"action\":\"tracer.anomaly\"},\"process\":{\"pid\":9},"
		 "\"secretrace\":{\"anomaly\":{\"kind\":\"common_value\",\"count\":7}}}");
	is_class(o, 6, 6002, 99);
	assert_string_equal(str(o, "activity_name"), "Anomaly");
	assert_int_equal(num(o, "severity_id"), 3);
	assert_int_equal(num(o, "actor.process.pid"), 9);
	json_decref(o);

	o = ocsf("{\"event\":{\"action\":\"something.new\"}}");
	is_class(o, 0, 0, 99);
	assert_null(ev_get(o, "device"));
	json_decref(o);
}

/* Syslog, _bulk and HEC frame an OCSF line with its id, time, action and alert. */
static void test_sink_meta_of_ocsf(void **state)
{
	static const char ev[] = "{" COMMON SECRET "\"event\":{\"id\":\"0f0e-1\",\"action\":"
				 "\"secret.violation\"},\"secretrace\":{\"sink\":\"file\"},"
				 "\"file\":{\"path\":\"/tmp/x\"}}";
	struct sink_buf b = { 0 };
	struct sink_meta m;

	(void)state;
	assert_int_equal(out_format_render(OUT_OCSF, ev, strlen(ev), false, &b), 0);
	assert_int_equal(sink_meta(b.p, b.len, &m), 0);
	assert_string_equal(m.id, "0f0e-1");
	assert_string_equal(m.action, "secret.violation");
	assert_string_equal(m.timestamp, "2026-11-27T10:00:00.123Z");
	assert_true(m.alert);
	assert_false(m.loss);
	sink_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_violation_is_a_detection_finding),
		cmocka_unit_test(test_uses_by_sink),
		cmocka_unit_test(test_receive_and_the_tracer),
		cmocka_unit_test(test_sink_meta_of_ocsf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
