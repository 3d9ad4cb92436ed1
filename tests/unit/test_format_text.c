// SPDX-License-Identifier: GPL-2.0
/*
 * --format text: the line of each kind of event, exactly; colour codes only when asked;
 * control characters of a traced process's strings escaped (one line, no terminal
 * escapes); out_format_render's ECS pass-through and its refusal of what is not an event.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "output/formats.h"

#define TS "\"@timestamp\":\"2026-11-27T10:00:00.123456Z\""
#define PROC "\"process\":{\"pid\":42,\"name\":\"python3\",\"parent\":{\"pid\":1}}"
#define USE TS ",\"event\":{\"action\":\"secret.use\"}," PROC ",\"vault\":{\"request_id\":" \
	"\"r-1\",\"path\":\"secret/data/agent/openai\",\"field\":\"api_key\"},\"secret\":" \
	"{\"encoding\":\"base64\"},"

static void line_is(const char *event, bool colour, const char *want)
{
	struct sink_buf b = { 0 };
	json_t *ev = json_loads(event, 0, NULL);

	assert_non_null(ev);
	assert_int_equal(text_line(&b, ev, colour), 0);
	assert_string_equal(b.p, want);
	sink_buf_free(&b);
	json_decref(ev);
}

static void test_uses(void **state)
{
	(void)state;
	line_is("{" USE "\"secretrace\":{\"sink\":\"socket\",\"syscall\":\"SSL_write\"},"
		"\"destination\":{\"ip\":\"203.0.113.7\",\"port\":443,\"domain\":\"api.example.com\"}}",
		false,
		"2026-11-27T10:00:00.123456Z python3[42] used      secret/data/agent/openai#api_key "
		"base64 -> 203.0.113.7:443 (api.example.com) via SSL_write request r-1");
	line_is("{" USE "\"secretrace\":{\"sink\":\"file\",\"syscall\":\"write\","
		"\"repeat_count\":3},\"file\":{\"path\":\"/var/log/agent.log\"}}", false,
		"2026-11-27T10:00:00.123456Z python3[42] used      secret/data/agent/openai#api_key "
		"base64 -> file /var/log/agent.log via write (3 more times) request r-1");
	line_is("{" USE "\"secretrace\":{\"sink\":\"argv\",\"syscall\":\"execve\"}}", false,
		"2026-11-27T10:00:00.123456Z python3[42] used      secret/data/agent/openai#api_key "
		"base64 -> argv of python3 via execve request r-1");
	line_is("{" USE "\"secretrace\":{\"sink\":\"pipe\",\"syscall\":\"write\",\"peer\":"
		"{\"pid\":43,\"name\":\"sed\"}},\"file\":{\"path\":\"pipe:[77]\"}}", false,
		"2026-11-27T10:00:00.123456Z python3[42] used      secret/data/agent/openai#api_key "
		"base64 -> pipe pipe:[77] (read by sed[43]) via write request r-1");
	line_is("{" USE "\"secretrace\":{\"sink\":\"socket\",\"syscall\":\"sendto\"},"
		"\"destination\":{\"ip\":\"2001:db8::1\",\"port\":8080}}", false,
		"2026-11-27T10:00:00.123456Z python3[42] used      secret/data/agent/openai#api_key "
		"base64 -> [2001:db8::1]:8080 via sendto request r-1");
	line_is("{" USE "\"secretrace\":{\"sink\":\"socket\",\"syscall\":\"sendmsg\"},"
		"\"destination\":{\"address\":\"/run/x.sock\"},\"rule\":{\"name\":\"ok\"}}", false,
		"2026-11-27T10:00:00.123456Z python3[42] used      secret/data/agent/openai#api_key "
		"base64 -> unix:/run/x.sock via sendmsg allowed by ok request r-1");
}

static void test_violation_in_colour(void **state)
{
	(void)state;
	line_is("{" TS ",\"event\":{\"action\":\"secret.violation\",\"kind\":\"alert\"}," PROC
		",\"orchestrator\":{\"namespace\":\"prod\",\"resource\":{\"name\":\"agent-7\"}},"
		"\"vault\":{\"path\":\"kv/db\",\"field\":\"pw\"},\"secretrace\":{\"sink\":\"tty\","
		"\"syscall\":\"write\"},\"file\":{\"path\":\"/dev/pts/3\"},\"rule\":{\"name\":\"r\"}}",
		true,
		"\033[2m2026-11-27T10:00:00.123456Z\033[0m \033[36mprod/agent-7\033[0m python3[42] "
		"\033[1;31mVIOLATION\033[0m \033[1mkv/db#pw\033[0m -> tty /dev/pts/3 via write"
		"\033[1;31m rule r\033[0m");
}

static void test_other_events(void **state)
{
	(void)state;
	line_is("{" TS ",\"event\":{\"action\":\"secret.receive\"}," PROC ",\"vault\":{\"path\":"
		"\"auth/approle/login\",\"field\":\"secret_id\",\"request_id\":\"r-2\"},\"secret\":"
		"{\"source\":\"request\"},\"destination\":{\"ip\":\"127.0.0.1\",\"port\":8200}}", false,
		"2026-11-27T10:00:00.123456Z python3[42] received  auth/approle/login#secret_id "
		"(presented to Vault) from 127.0.0.1:8200 request r-2");
	line_is("{" TS ",\"event\":{\"action\":\"process.start\"},\"process\":{\"pid\":7,"
		"\"name\":\"sh\",\"args\":[\"sh\",\"-c\",\"echo hi\",\"\"]}}", false,
		"2026-11-27T10:00:00.123456Z sh[7] start     sh -c 'echo hi' ''");
	line_is("{" TS ",\"event\":{\"action\":\"process.start\"},\"process\":{\"pid\":7,"
		"\"name\":\"curl\",\"args_count\":4},\"secretrace\":{\"args_withheld\":true}}", false,
		"2026-11-27T10:00:00.123456Z curl[7] start     (4 arguments withheld: a secret is "
		"in them)");
	line_is("{" TS ",\"event\":{\"action\":\"tracer.loss\"},\"secretrace\":{\"lost\":{\"count\""
		":12,\"reason\":\"sink_spool_full\",\"output\":\"syslog+tcp://siem:514\"}}}", false,
		"2026-11-27T10:00:00.123456Z secretrace LOSS      12 events lost: sink_spool_full "
		"(output syslog+tcp://siem:514)");
	line_is("{" TS ",\"event\":{\"action\":\"tracer.anomaly\"}," PROC ",\"secretrace\":{"
		"\"anomaly\":{\"kind\":\"process_rate\",\"count\":952}},\"destination\":{\"ip\":"
		"\"127.0.0.1\",\"port\":8200}}", false,
		"2026-11-27T10:00:00.123456Z python3[42] ANOMALY   952 values not learned as secrets: "
		"process_rate from 127.0.0.1:8200");
	line_is("{" TS ",\"event\":{\"action\":\"tracer.stop\"},\"secretrace\":{\"stats\":{\"events\""
		":5,\"lost\":0}},\"process\":{\"exit_code\":3}}", false,
		"2026-11-27T10:00:00.123456Z secretrace tracer stop events 5, lost 0, exit status 3");
	line_is("{" TS ",\"event\":{\"action\":\"something.new\"}}", false,
		"2026-11-27T10:00:00.123456Z secretrace something.new");
}

/* A process's strings cannot break the line or reach the terminal as escapes. */
static void test_control_characters_escaped(void **state)
{
	(void)state;
	line_is("{" TS ",\"event\":{\"action\":\"process.start\"},\"process\":{\"pid\":7,"
		"\"name\":\"x\\u001b[2J\",\"args\":[\"a\\nb\\u007f\"]}}", false,
		"2026-11-27T10:00:00.123456Z x\\x1b[2J[7] start     a\\x0ab\\x7f");
}

static void test_render(void **state)
{
	static const char ev[] = "{" TS ",\"event\":{\"action\":\"tracer.stop\"}}";
	struct sink_buf b = { 0 };
	enum out_format f;

	(void)state;
	assert_int_equal(out_format_parse("text", &f), 0);
	assert_int_equal(f, OUT_TEXT);
	assert_int_equal(out_format_parse("xml", &f), -1);
	assert_int_equal(out_format_render(OUT_ECS, ev, strlen(ev), false, &b), 0);
	assert_string_equal(b.p, ev);
	b.len = 0;
	assert_int_equal(out_format_render(OUT_TEXT, ev, strlen(ev), false, &b), 0);
	assert_string_equal(b.p, "2026-11-27T10:00:00.123456Z secretrace tracer stop");
	b.len = 0;
	assert_int_equal(out_format_render(OUT_OCSF, "[1]", 3, false, &b), -1);
	assert_int_equal(out_format_render(OUT_TEXT, "{\"a\":", 5, false, &b), -1);
	sink_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uses),
		cmocka_unit_test(test_violation_in_colour),
		cmocka_unit_test(test_other_events),
		cmocka_unit_test(test_control_characters_escaped),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
