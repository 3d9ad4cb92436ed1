// SPDX-License-Identifier: GPL-2.0
/*
 * The endpoint answers from the last published snapshot: the tracer's thread copies its
 * counters in under a mutex once a tick, the HTTP thread copies them out and formats, so a
 * slow or hostile client holds nothing but its own connection. libmicrohttpd is loaded when
 * the endpoint starts rather than linked: it brings GnuTLS and seven more libraries, about
 * 3 MiB of locked RSS, into runs that serve no metrics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/dl_load.h"
#include "output/metrics.h"

#define CONNECTIONS_MAX 16	/* scrapers and probes are few; a flood queues in the backlog */
#define CONNECTION_TIMEOUT_S 10
#define CONNECTION_MEMORY 16384	/* a request's headers; responses are ours */
#define STALL_MS_DEFAULT 5000

#define MHD_FUNCS(X) \
	X(MHD_start_daemon) X(MHD_stop_daemon) X(MHD_create_response_from_buffer) \
	X(MHD_add_response_header) X(MHD_queue_response) X(MHD_destroy_response)

static struct {
#define MHD_PTR(f) __typeof__(f) *f;
	MHD_FUNCS(MHD_PTR)
#undef MHD_PTR
} mhd;

static struct MHD_Daemon *server;
static int port;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_snapshot last;		/* under lock */
static atomic_uint_fast64_t heartbeat_ns;	/* CLOCK_MONOTONIC */
static atomic_uint stall_ms = STALL_MS_DEFAULT;
static atomic_bool ready;
static uint64_t started_ns;			/* the process's start, CLOCK_BOOTTIME */
static char start_error[256];			/* what libmicrohttpd said while starting */
static bool starting;

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* From /proc/self/stat (field 22, clock ticks after boot); else now. */
static uint64_t process_start_ns(void)
{
	char buf[1024], *p;
	unsigned long long ticks;
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	long hz = sysconf(_SC_CLK_TCK);
	int i;

	if (f)
		fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');	/* the command name may hold spaces and parentheses */
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	if (!p || hz <= 0 || sscanf(p + 1, "%llu", &ticks) != 1)
		return now_ns(CLOCK_BOOTTIME);
	return ticks * (1000000000ULL / hz);
}

/* ---- the exposition format (text, 0.0.4) ---- */

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: \, " and newline escaped as the format says; anything else that is not
 * printable ASCII becomes '?', so that no reader ever sees invalid UTF-8. */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		fputc(*s >= 0x20 && *s < 0x7f ? *s : '?', f);
	}
}

static void sample(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void labelled(FILE *f, const char *name, const char *label, const char *value,
		     uint64_t v)
{
	fprintf(f, "%s{%s=\"", name, label);
	label_value(f, value);
	fprintf(f, "\"} %llu\n", (unsigned long long)v);
}

static void counts(FILE *f, const char *name, const char *label, const struct metrics_count *c,
		   size_t n, bool bytes)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i].bytes == bytes)
			labelled(f, name, label, c[i].name, c[i].value);
}

static void format(FILE *f, const struct metrics_snapshot *s)
{
	size_t nev = s->nevents < METRICS_MAX_ACTIONS ? s->nevents : METRICS_MAX_ACTIONS;
	size_t nlost = s->nlost < METRICS_MAX_LOSSES ? s->nlost : METRICS_MAX_LOSSES;

	family(f, "secretrace_build_info", "gauge", "The running secretrace's version.");
	labelled(f, "secretrace_build_info", "version", SECRETRACE_VERSION, 1);
	family(f, "secretrace_uptime_seconds", "gauge", "Seconds since the tracer started.");
	fprintf(f, "secretrace_uptime_seconds %.3f\n",
		(double)(now_ns(CLOCK_BOOTTIME) - started_ns) / 1e9);
	family(f, "secretrace_events_total", "counter", "Events written, by event.action.");
	counts(f, "secretrace_events_total", "action", s->events, nev, false);
	family(f, "secretrace_lost_total", "counter",
	       "Events and records lost, by tracer.loss reason.");
	counts(f, "secretrace_lost_total", "reason", s->lost, nlost, false);
	family(f, "secretrace_lost_bytes_total", "counter",
	       "Bytes not rescanned or not learned, by tracer.loss reason.");
	counts(f, "secretrace_lost_bytes_total", "reason", s->lost, nlost, true);
	family(f, "secretrace_bytes_scanned_total", "counter",
	       "Bytes of traced writes scanned for secrets.");
	sample(f, "secretrace_bytes_scanned_total", s->bytes_scanned);
	family(f, "secretrace_bytes_not_scanned_total", "counter",
	       "Bytes of traced writes not scanned (past --scan-limit, or unscannable calls).");
	sample(f, "secretrace_bytes_not_scanned_total", s->bytes_not_scanned);
	family(f, "secretrace_secrets", "gauge", "Secrets held in the dictionary.");
	sample(f, "secretrace_secrets", s->secrets);
	family(f, "secretrace_probes_failed", "gauge", "Optional probes that did not attach.");
	sample(f, "secretrace_probes_failed", s->probes_failed);
	family(f, "secretrace_traced_processes", "gauge", "Processes traced now.");
	sample(f, "secretrace_traced_processes", s->traced_processes);
	family(f, "secretrace_ringbuf_fill_ratio", "gauge",
	       "Kernel-to-tracer ring buffer in use, 0 to 1.");
	fprintf(f, "secretrace_ringbuf_fill_ratio %.6f\n",
		s->ringbuf_fill < 0 ? 0 : s->ringbuf_fill > 1 ? 1 : s->ringbuf_fill);
	family(f, "secretrace_undelivered_events", "gauge",
	       "Events the network outputs hold, not delivered yet.");
	sample(f, "secretrace_undelivered_events", s->undelivered);
}

/* ---- HTTP ---- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = mhd.MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = mhd.MHD_queue_response(c, status, r);
	mhd.MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned int status, const char *s)
{
	return reply(c, status, "text/plain; charset=utf-8", (char *)s, strlen(s),
		     MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result metrics_page(struct MHD_Connection *c)
{
	struct metrics_snapshot s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	pthread_mutex_lock(&lock);
	s = last;
	pthread_mutex_unlock(&lock);
	f = open_memstream(&buf, &len);
	if (!f)
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	format(f, &s);
	if (fclose(f)) {
		free(buf);
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf, len,
		     MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *upload,
			     size_t *upload_len, void **req)
{
	uint64_t age;

	(void)cls;
	(void)version;
	(void)upload;
	(void)upload_len;
	(void)req;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (!strcmp(url, "/metrics"))
		return metrics_page(c);
	if (!strcmp(url, "/healthz")) {
		age = now_ns(CLOCK_MONOTONIC) - atomic_load(&heartbeat_ns);
		if (age > (uint64_t)atomic_load(&stall_ms) * 1000000ULL)
			return text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "event loop stalled\n");
		return text(c, MHD_HTTP_OK, "ok\n");
	}
	if (!strcmp(url, "/readyz"))
		return atomic_load(&ready) ? text(c, MHD_HTTP_OK, "ok\n")
					   : text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
	return text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* Kept while starting, to say why it failed; later messages are dropped (the logger runs on
 * the HTTP thread, and stderr's redactor belongs to the tracer's). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (starting)
		vsnprintf(start_error, sizeof(start_error), fmt, ap);
}

/* ---- the address and the socket ---- */

/* [ADDR]:PORT or PORT into sa; 0 or -EINVAL. */
static int parse_spec(const char *spec, struct sockaddr_storage *sa, socklen_t *salen)
{
	struct sockaddr_in *in = (void *)sa;
	struct sockaddr_in6 *in6 = (void *)sa;
	char host[64] = "127.0.0.1", *end;
	const char *colon = strrchr(spec, ':'), *ps = colon ? colon + 1 : spec;
	unsigned long p;

	if (colon && spec[0] == '[') {
		if (colon == spec || colon[-1] != ']' || colon - spec - 2 >= (long)sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec - 2), spec + 1);
	} else if (colon && colon > spec) {
		if (colon - spec >= (long)sizeof(host) || memchr(spec, ':', colon - spec))
			return -EINVAL;	/* an IPv6 address wants its brackets */
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	}
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	errno = 0;
	p = strtoul(ps, &end, 10);
	if (!*ps || *end || errno || p > 65535 || *ps == '-' || *ps == '+' || *ps == ' ')
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(p);
		*salen = sizeof(*in);
	} else if (spec[0] == '[' && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(p);
		*salen = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	return 0;
}

static int listen_on(const struct sockaddr_storage *sa, socklen_t salen)
{
	const struct sockaddr_in6 *in6 = (const void *)sa;
	struct sockaddr_storage got;
	socklen_t gotlen = sizeof(got);
	int fd, one = 1, v6only, e;

	fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* a restart binds again while the old connections are in TIME_WAIT */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->ss_family == AF_INET6) {
		/* [::] serves IPv4 too, whatever the sysctl; any other address only itself */
		v6only = !IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	}
	if (bind(fd, (const struct sockaddr *)sa, salen) || listen(fd, CONNECTIONS_MAX) ||
	    getsockname(fd, (struct sockaddr *)&got, &gotlen)) {
		e = errno;
		close(fd);
		return -e;
	}
	port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
					       : ((struct sockaddr_in *)&got)->sin_port);
	return fd;
}

static int load(char *err, size_t errlen)
{
#define MHD_NAME(f) #f,
	static const char *const names[] = { MHD_FUNCS(MHD_NAME) };
#undef MHD_NAME

	if (mhd.MHD_start_daemon)
		return 0;
	return dl_load("libmicrohttpd.so.12", "libmicrohttpd12", names,
		       sizeof(names) / sizeof(names[0]), (void **)&mhd, err, errlen) ? 0 : -ENOENT;
}

int metrics_start(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	sigset_t all, old;
	char why[200];
	int fd;

	if (server) {
		snprintf(err, errlen, "metrics endpoint: already started");
		return -EALREADY;
	}
	if (parse_spec(spec, &sa, &salen)) {
		snprintf(err, errlen, "metrics endpoint '%s': expected [ADDR]:PORT with a numeric "
			 "address and a port up to 65535 (:9102, 0.0.0.0:9102, [::]:9102)", spec);
		return -EINVAL;
	}
	if (load(why, sizeof(why))) {
		snprintf(err, errlen, "metrics endpoint: %s", why);
		return -ENOENT;
	}
	fd = listen_on(&sa, salen);
	if (fd < 0) {
		snprintf(err, errlen, "metrics endpoint %s: %s", spec, strerror(-fd));
		return fd;
	}
	started_ns = process_start_ns();
	atomic_store(&heartbeat_ns, now_ns(CLOCK_MONOTONIC));
	start_error[0] = 0;
	starting = true;
	/* signals are the event loop's (signalfd): the HTTP thread takes none */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	server = mhd.MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				       NULL, serve, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
				       MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTIONS_MAX,
				       MHD_OPTION_CONNECTION_TIMEOUT,
				       (unsigned int)CONNECTION_TIMEOUT_S,
				       MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				       (size_t)CONNECTION_MEMORY,
				       MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	starting = false;
	if (!server) {
		close(fd);
		port = 0;
		snprintf(err, errlen, "metrics endpoint %s: libmicrohttpd did not start%s%s", spec,
			 start_error[0] ? ": " : "", start_error);
		return -EIO;
	}
	return 0;
}

int metrics_port(void)
{
	return server ? port : 0;
}

void metrics_publish(const struct metrics_snapshot *s)
{
	pthread_mutex_lock(&lock);
	last = *s;
	pthread_mutex_unlock(&lock);
}

void metrics_heartbeat(void)
{
	atomic_store(&heartbeat_ns, now_ns(CLOCK_MONOTONIC));
}

void metrics_set_ready(void)
{
	atomic_store(&ready, true);
}

void metrics_set_stall_ms(unsigned int ms)
{
	atomic_store(&stall_ms, ms);
}

void metrics_stop(void)
{
	if (!server)
		return;
	mhd.MHD_stop_daemon(server);	/* joins the thread, closes the socket */
	server = NULL;
	port = 0;
	atomic_store(&ready, false);
	pthread_mutex_lock(&lock);
	memset(&last, 0, sizeof(last));
	pthread_mutex_unlock(&lock);
}
