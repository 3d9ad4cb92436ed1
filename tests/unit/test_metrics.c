// SPDX-License-Identifier: GPL-2.0
/*
 * The metrics endpoint over a real socket: the exposition text exactly (families, escaping,
 * values), /healthz around a stalled heartbeat, /readyz around ready, 404 and 405, bad
 * addresses and a port in use; and the tracer's counters as stats.c fills the snapshot.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "output/emit.h"
#include "output/metrics.h"
#include "output/sinks.h"
#include "output/template.h"
#include "lib/redact.h"
#include "tracer/stats.h"

struct reply {
	int status;
	char headers[2048];
	char body[16384];
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int connect_to(int family, int port)
{
	struct sockaddr_storage sa = { 0 };
	struct sockaddr_in *in = (void *)&sa;
	struct sockaddr_in6 *in6 = (void *)&sa;
	struct timeval tv = { 5, 0 };
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (family == AF_INET) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		in6->sin6_addr = in6addr_loopback;
	}
	if (connect(fd, (struct sockaddr *)&sa, family == AF_INET ? sizeof(*in) : sizeof(*in6))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One request on a fresh connection, the whole answer read (the server closes). */
static int request_on(int family, const char *method, const char *path, const char *extra,
		      struct reply *r)
{
	char req[512], buf[sizeof(r->headers) + sizeof(r->body)], *end;
	size_t got = 0;
	ssize_t n;
	int fd = connect_to(family, metrics_port());

	if (fd < 0)
		return -1;
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s\r\n",
		 method, path, extra ? extra : "");
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	memset(r, 0, sizeof(*r));
	if (sscanf(buf, "HTTP/1.1 %d", &r->status) != 1)
		return -1;
	end = strstr(buf, "\r\n\r\n");
	assert_non_null(end);
	snprintf(r->headers, sizeof(r->headers), "%.*s", (int)(end - buf), buf);
	snprintf(r->body, sizeof(r->body), "%s", end + 4);
	return 0;
}

static void get(const char *path, struct reply *r)
{
	assert_int_equal(request_on(AF_INET, "GET", path, NULL, r), 0);
}

static int teardown(void **state)
{
	(void)state;
	metrics_stop();
	metrics_set_stall_ms(5000);
	return 0;
}

static void start_any_port(void)
{
	char err[256] = "";

	assert_int_equal(metrics_start("127.0.0.1:0", err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_true(metrics_port() > 0);
}

static struct metrics_snapshot sample_snapshot(void)
{
	struct metrics_snapshot s = {
		.events = { { "tracer.start", 1, false }, { "secret.use", 3, false } },
		.nevents = 2,
		.lost = { { "ringbuf_full_match", 2, false }, { "hold_overflow", 4096, true },
			  { "we\"ird\\na\nme\x01\xc3", 7, false } },
		.nlost = 3,
		.bytes_scanned = 123456789012ULL,
		.bytes_not_scanned = 42,
		.secrets = 5,
		.probes_failed = 1,
		.traced_processes = 9,
		.undelivered = 11,
		.ringbuf_fill = 0.25,
	};

	return s;
}

static void test_metrics_text(void **state)
{
	struct metrics_snapshot s = sample_snapshot();
	struct reply r;
	double up = -1;
	const char *u, *v;

	(void)state;
	start_any_port();
	metrics_publish(&s);
	get("/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers,
			       "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
	assert_non_null(strstr(r.body,
		"# HELP secretrace_events_total Events written, by event.action.\n"
		"# TYPE secretrace_events_total counter\n"
		"secretrace_events_total{action=\"tracer.start\"} 1\n"
		"secretrace_events_total{action=\"secret.use\"} 3\n"
		"# HELP secretrace_lost_total "));
	assert_non_null(strstr(r.body,
		"# TYPE secretrace_lost_total counter\n"
		"secretrace_lost_total{reason=\"ringbuf_full_match\"} 2\n"
		"secretrace_lost_total{reason=\"we\\\"ird\\\\na\\nme??\"} 7\n"
		"# HELP secretrace_lost_bytes_total "));
	assert_non_null(strstr(r.body,
		"# TYPE secretrace_lost_bytes_total counter\n"
		"secretrace_lost_bytes_total{reason=\"hold_overflow\"} 4096\n"
		"# HELP secretrace_bytes_scanned_total "));
	assert_null(strstr(r.body, "secretrace_lost_total{reason=\"hold_overflow\"}"));
	assert_non_null(strstr(r.body, "# TYPE secretrace_bytes_scanned_total counter\n"
				       "secretrace_bytes_scanned_total 123456789012\n"));
	assert_non_null(strstr(r.body, "\nsecretrace_bytes_not_scanned_total 42\n"));
	assert_non_null(strstr(r.body, "# TYPE secretrace_secrets gauge\nsecretrace_secrets 5\n"));
	assert_non_null(strstr(r.body, "\nsecretrace_probes_failed 1\n"));
	assert_non_null(strstr(r.body, "\nsecretrace_traced_processes 9\n"));
	assert_non_null(strstr(r.body, "\nsecretrace_ringbuf_fill_ratio 0.250000\n"));
	assert_non_null(strstr(r.body, "\nsecretrace_undelivered_events 11\n"));
	/* the version the object was built with (make does not rebuild for a new commit) */
	v = strstr(r.body, "# TYPE secretrace_build_info gauge\nsecretrace_build_info{version=\"");
	assert_non_null(v);
	v = strchr(v, '{') + 10;
	assert_true(strcspn(v, "\"\n") > 0);
	assert_memory_equal(v + strcspn(v, "\"\n"), "\"} 1\n", 5);
	u = strstr(r.body, "\nsecretrace_uptime_seconds ");
	assert_non_null(u);
	assert_int_equal(sscanf(u, "\nsecretrace_uptime_seconds %lf", &up), 1);
	assert_true(up >= 0 && up < 3600);
	assert_int_equal(r.body[strlen(r.body) - 1], '\n');
}

/* Every line is a HELP, a TYPE, or a sample of the family the last TYPE named; no blank
 * line, no family twice. */
static void test_metrics_grammar(void **state)
{
	struct metrics_snapshot s = sample_snapshot();
	char family[128] = "", seen[4096] = " ", name[128], *line, *save = NULL;
	struct reply r;
	int nfam = 0;

	(void)state;
	start_any_port();
	metrics_publish(&s);
	get("/metrics", &r);
	for (line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7)) {
			assert_int_equal(sscanf(line + 7, "%127s", family), 1);
			snprintf(name, sizeof(name), " %s ", family);
			assert_null(strstr(seen, name));
			strncat(seen, name + 1, sizeof(seen) - strlen(seen) - 1);
			nfam++;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			snprintf(name, sizeof(name), "# TYPE %s ", family);
			assert_memory_equal(line, name, strlen(name));
			assert_true(!strcmp(line + strlen(name), "counter") ||
				    !strcmp(line + strlen(name), "gauge"));
			continue;
		}
		assert_int_equal(sscanf(line, "%127[a-z_]", name), 1);
		assert_string_equal(name, family);
		assert_true(line[strlen(name)] == ' ' || line[strlen(name)] == '{');
	}
	assert_int_equal(nfam, 12);
}

static void test_before_any_publish(void **state)
{
	struct reply r;

	(void)state;
	start_any_port();
	get("/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\nsecretrace_secrets 0\n"));
	assert_null(strstr(r.body, "secretrace_events_total{"));
}

static void test_healthz_stall(void **state)
{
	struct reply r;

	(void)state;
	metrics_set_stall_ms(300);
	start_any_port();
	get("/healthz", &r);	/* counted from the start */
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");
	sleep_ms(450);
	get("/healthz", &r);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "event loop stalled\n");
	metrics_heartbeat();
	get("/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");
	sleep_ms(200);
	metrics_heartbeat();
	sleep_ms(200);
	get("/healthz", &r);	/* 400 ms since the start, 200 since the heartbeat */
	assert_int_equal(r.status, 200);
}

static void test_readyz(void **state)
{
	struct reply r;

	(void)state;
	start_any_port();
	get("/readyz", &r);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "not ready\n");
	metrics_set_ready();
	get("/readyz", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");
	metrics_stop();		/* a new start is not ready again */
	start_any_port();
	get("/readyz", &r);
	assert_int_equal(r.status, 503);
}

static void test_not_found_and_methods(void **state)
{
	struct reply r;

	(void)state;
	start_any_port();
	get("/", &r);
	assert_int_equal(r.status, 404);
	get("/metrics/", &r);
	assert_int_equal(r.status, 404);
	get("/metrics?name[]=x", &r);	/* the query is not the path */
	assert_int_equal(r.status, 200);
	assert_int_equal(request_on(AF_INET, "POST", "/metrics",
				    "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
				    &r), 0);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.headers, "Allow: GET, HEAD"));
	assert_int_equal(request_on(AF_INET, "DELETE", "/healthz", NULL, &r), 0);
	assert_int_equal(r.status, 405);
	assert_int_equal(request_on(AF_INET, "HEAD", "/metrics", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "");
}

static void test_bad_specs(void **state)
{
	static const char *const bad[] = { "", ":", "abc", "127.0.0.1:", "127.0.0.1:65536",
					   "1.2.3.4:-1", "::1:9102", "[::1]", "[::1:9102",
					   "vault.example.com:9102", "127.0.0.1:9x", ":+80",
					   "[nonsense]:80", NULL };
	char err[256];
	int i;

	(void)state;
	for (i = 0; bad[i]; i++) {
		err[0] = 0;
		assert_int_equal(metrics_start(bad[i], err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "expected [ADDR]:PORT"));
		assert_int_equal(metrics_port(), 0);
	}
}

static void test_port_in_use(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	char spec[32], err[256] = "", want[96];
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	(void)state;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", ntohs(sa.sin_port));
	assert_int_equal(metrics_start(spec, err, sizeof(err)), -EADDRINUSE);
	snprintf(want, sizeof(want), "metrics endpoint %s: Address already in use", spec);
	assert_string_equal(err, want);
	close(fd);
	/* and the port, free again, is bound (SO_REUSEADDR despite TIME_WAIT) */
	assert_int_equal(metrics_start(spec, err, sizeof(err)), 0);
	assert_int_equal(metrics_port(), ntohs(sa.sin_port));
	assert_int_equal(metrics_start(spec, err, sizeof(err)), -EALREADY);
}

static void test_default_address_is_loopback(void **state)
{
	int probe = socket(AF_INET, SOCK_STREAM, 0), port;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	char spec[16], err[256];
	struct reply r;

	(void)state;
	/* a free port: bound once by the kernel's choice, then released */
	assert_int_equal(bind(probe, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(probe, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(probe);
	snprintf(spec, sizeof(spec), ":%d", port);
	assert_int_equal(metrics_start(spec, err, sizeof(err)), 0);
	get("/healthz", &r);
	assert_int_equal(r.status, 200);
	/* only 127.0.0.1: the same port on the wildcard address is still free */
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	probe = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(probe, (struct sockaddr *)&sa, sizeof(sa)), -1);
	close(probe);
	metrics_stop();
	snprintf(spec, sizeof(spec), "%d", port);
	assert_int_equal(metrics_start(spec, err, sizeof(err)), 0);
	assert_int_equal(metrics_port(), port);
}

static void test_ipv6_any_serves_both(void **state)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	char err[256];
	struct reply r;

	(void)state;
	if (fd < 0)
		skip();	/* no IPv6 here */
	close(fd);
	if (metrics_start("[::]:0", err, sizeof(err)))
		skip();
	assert_int_equal(request_on(AF_INET6, "GET", "/healthz", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(request_on(AF_INET, "GET", "/healthz", NULL, &r), 0);
	assert_int_equal(r.status, 200);
}

/* Idle clients hold their connections, not the server. */
static void test_idle_clients_do_not_block(void **state)
{
	int idle[6], i;
	struct reply r;

	(void)state;
	start_any_port();
	for (i = 0; i < 6; i++) {
		idle[i] = connect_to(AF_INET, metrics_port());
		assert_true(idle[i] >= 0);
	}
	assert_int_equal(write(idle[0], "GET /metr", 9), 9);	/* and one half a request */
	get("/readyz", &r);
	assert_int_equal(r.status, 503);
	for (i = 0; i < 6; i++)
		close(idle[i]);
}

static const struct metrics_count *find(const struct metrics_count *c, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return &c[i];
	return NULL;
}

/* What stats.c puts in the snapshot: events by action (templated violations included), every
 * loss reason it knows from the start, bytes apart. */
static void test_stats_fill(void **state)
{
	char path[] = "/tmp/test_metrics.XXXXXX", spec[64], err[256];
	const char *specs[] = { spec };
	const struct metrics_count *c;
	struct metrics_snapshot s;
	struct ev_template *t;
	struct ev_slots slots = { .boot_ns = 1000, .tid = 2, .fd = 3, .offset = 4 };
	struct sinks_cfg cfg;
	json_t *ev;
	int fd = mkstemp(path), i;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", path);
	sinks_cfg_defaults(&cfg);
	assert_int_equal(redact_init(), 0);
	assert_int_equal(emit_init("node-1"), 0);
	assert_int_equal(sinks_open(specs, 1, &cfg, err, sizeof(err)), 0);
	stats_init(NULL);
	stats_fill_metrics(&s);
	assert_int_equal(s.nevents, 0);
	assert_int_equal(s.nlost, 14);
	assert_non_null(find(s.lost, s.nlost, "reach_full"));
	c = find(s.lost, s.nlost, "ringbuf_full_match");
	assert_true(c && c->value == 0 && !c->bytes);
	c = find(s.lost, s.nlost, "hold_overflow");
	assert_true(c && c->value == 0 && c->bytes);
	c = find(s.lost, s.nlost, "vault_truncated");
	assert_true(c && c->bytes);
	assert_non_null(find(s.lost, s.nlost, "recursion_miss"));
	assert_non_null(find(s.lost, s.nlost, "out_of_memory"));
	assert_non_null(find(s.lost, s.nlost, "hpack_not_followed"));

	ev_emit(ev_new("tracer.start"));
	for (i = 0; i < 3; i++)
		ev_emit(ev_new("secret.use"));
	ev = ev_new("secret.violation");
	ev_int(ev, "process.thread.id", 1);
	ev_int(ev, "secretrace.fd", 1);
	ev_int(ev, "secretrace.offset", 1);
	ev_emit(json_deep_copy(ev));
	t = ev_template_make(ev);
	assert_non_null(t);
	ev_template_emit(t, &slots);
	ev_template_emit(t, &slots);
	ev_template_free(t);
	stats_fill_metrics(&s);
	assert_int_equal(s.nevents, 3);
	assert_string_equal(s.events[0].name, "tracer.start");
	assert_int_equal(s.events[0].value, 1);
	c = find(s.events, s.nevents, "secret.use");
	assert_true(c && c->value == 3);
	c = find(s.events, s.nevents, "secret.violation");
	assert_true(c && c->value == 3);
	assert_int_equal(s.traced_processes, 0);
	assert_true(s.ringbuf_fill == 0);
	sinks_close();
	redact_free();
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_metrics_text, teardown),
		cmocka_unit_test_teardown(test_metrics_grammar, teardown),
		cmocka_unit_test_teardown(test_before_any_publish, teardown),
		cmocka_unit_test_teardown(test_healthz_stall, teardown),
		cmocka_unit_test_teardown(test_readyz, teardown),
		cmocka_unit_test_teardown(test_not_found_and_methods, teardown),
		cmocka_unit_test_teardown(test_bad_specs, teardown),
		cmocka_unit_test_teardown(test_port_in_use, teardown),
		cmocka_unit_test_teardown(test_default_address_is_loopback, teardown),
		cmocka_unit_test_teardown(test_ipv6_any_serves_both, teardown),
		cmocka_unit_test_teardown(test_idle_clients_do_not_block, teardown),
		cmocka_unit_test(test_stats_fill),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
