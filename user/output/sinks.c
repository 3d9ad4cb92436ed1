// SPDX-License-Identifier: GPL-2.0
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/curl_lazy.h"
#include "lib/log.h"
#include "output/file.h"
#include "output/net.h"
#include "output/sinks.h"

struct sink {
	char name[256];		/* the spec, less URL credentials and query */
	char spool[PATH_MAX];
	struct sink_file *file;
	struct sink_net *net;
	enum out_format format;	/* --format, or the output's own (FORMAT+SPEC) */
	bool colour;		/* text to a terminal */
	uint64_t lost[SINK_LOSS_MAX], reported[SINK_LOSS_MAX];
};

static const struct {
	const char *reason, *what;
} losses[SINK_LOSS_MAX] = {
	[SINK_LOSS_WRITE] = { "sink_write_failed", "events not written to output %s" },
	[SINK_LOSS_SPOOL_FULL] = { "sink_spool_full",
				   "events dropped by output %s, oldest first: its spool is full" },
	[SINK_LOSS_SPOOL_FAILED] = { "sink_spool_failed",
				     "events lost by output %s: its spool cannot be written" },
	[SINK_LOSS_REJECTED] = { "sink_rejected", "events refused for good by output %s" },
	[SINK_LOSS_UNCONFIRMED] = { "sink_unconfirmed",
				    "events given up by output %s: its answers could not be read "
				    "(it may hold them)" },
};

static struct sink sinks[SINKS_MAX];
static int nsinks;
static unsigned flush_timeout_s;
static struct sink_buf rendered;	/* an event in --format text or ocsf, reused */
static uint64_t drain_deadline;

void sinks_cfg_defaults(struct sinks_cfg *c)
{
	*c = (struct sinks_cfg){
		.spool_dir = SINKS_SPOOL_DIR,
		.spool_max = 128 * 1024 * 1024,
		.rotate_keep = 5,
		.http_format = "auto",
		.batch_events = 500,
		.batch_bytes = 4 * 1024 * 1024,
		.batch_ms = 1000,
		.flush_timeout_s = 5,
	};
}

/* scheme://[user:password@]host[:port]/path[?query]: without the credentials and query. */
static void display_name(const char *spec, char *out, size_t len)
{
	const char *auth = strstr(spec, "://"), *at, *host;
	size_t hostlen;

	if (!auth) {
		snprintf(out, len, "%s", spec);
		return;
	}
	auth += 3;
	hostlen = strcspn(auth, "/?#");
	at = memrchr(auth, '@', hostlen);
	host = at ? at + 1 : auth;
	snprintf(out, len, "%.*s%.*s", (int)(auth - spec), spec, (int)strcspn(host, "?#"), host);
}

static int mkdir_p(const char *dir)
{
	char p[PATH_MAX];
	size_t i;

	snprintf(p, sizeof(p), "%s", dir);
	for (i = 1; p[i]; i++) {
		if (p[i] != '/')
			continue;
		p[i] = 0;
		if (mkdir(p, 0700) && errno != EEXIST)
			return -errno;
		p[i] = '/';
	}
	return mkdir(p, 0700) && errno != EEXIST ? -errno : 0;
}

/* DIR/<scheme-host-port>-<hash of the whole spec>: one spool per output, found again by the
 * next run with the same output. */
static int spool_path(const char *dir, const char *name, const char *spec, char *out,
		      size_t len)
{
	unsigned char h[8];
	char slug[80], hex[17];
	const char *p;
	size_t i = 0;

	for (p = name; *p && i < sizeof(slug) - 1; p++) {
		if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
			slug[i++] = '-';
			p += 2;
			continue;
		}
		if (*p == '/' && i)
			break;
		slug[i++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
					    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'
				    ? *p
				    : '_';
	}
	slug[i] = 0;
	crypto_generichash(h, sizeof(h), (const unsigned char *)spec, strlen(spec), NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	if ((size_t)snprintf(out, len, "%s/%s-%s", dir, slug, hex) >= len)
		return -ENAMETOOLONG;
	return mkdir_p(dir);
}

static int open_one(struct sink *s, const char *spec, const struct sinks_cfg *c, char *err,
		    size_t errlen)
{
	static const char *const prefix[] = { [OUT_ECS] = "ecs+", [OUT_TEXT] = "text+",
					      [OUT_OCSF] = "ocsf+" };
	static bool curl_ready;
	char keyed[PATH_MAX];
	void *ctx = NULL;
	int f;
	const struct sink_transport *t;
	int ret;

	/* ecs+, text+ or ocsf+ before an output: its own format, whatever --format says */
	s->format = c->format;
	for (f = OUT_ECS; f <= OUT_OCSF; f++)
		if (!strncmp(spec, prefix[f], strlen(prefix[f]))) {
			s->format = f;
			spec += strlen(prefix[f]);
		}
	display_name(spec, s->name, sizeof(s->name));
	if (!strcmp(spec, "-") || (!strncmp(spec, "file:", 5) && spec[5])) {
		const char *no_colour = getenv("NO_COLOR");

		s->file = sink_file_open(spec[0] == '-' ? NULL : spec + 5, c->rotate_size,
					 c->rotate_keep, err, errlen);
		/* colour only for a person: a terminal, NO_COLOR (no-color.org) not set */
		s->colour = s->format == OUT_TEXT && spec[0] == '-' && isatty(STDOUT_FILENO) &&
			    !(no_colour && *no_colour);
		return s->file ? 0 : -EINVAL;
	}
	if (s->format == OUT_TEXT) {
		snprintf(err, errlen, "--format text is for terminals and files (-, file:PATH); "
			 "network outputs take ecs or ocsf");
		return -EINVAL;
	}
	if (!strncmp(spec, "syslog+", 7)) {
		t = &syslog_transport;
		ctx = syslog_new(spec, c, err, errlen);
	} else if (!strncmp(spec, "http://", 7) || !strncmp(spec, "https://", 8)) {
		if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT)) {
			snprintf(err, errlen, "cannot start libcurl: %s", curl_lazy_error());
			return -EINVAL;
		}
		curl_ready = true;
		t = &http_transport;
		ctx = http_new(spec, c, err, errlen);
	} else {
		snprintf(err, errlen,
			 "not supported (use -, file:PATH, syslog+udp://HOST:PORT, "
			 "syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT, http://... or https://...)");
		return -EINVAL;
	}
	if (!ctx)
		return -EINVAL;
	/* a spool holds rendered events: one per output and format (ECS keeps its old path) */
	snprintf(keyed, sizeof(keyed), "%s%s", s->format == OUT_ECS ? "" : prefix[s->format], spec);
	ret = spool_path(c->spool_dir, s->name, keyed, s->spool, sizeof(s->spool));
	if (ret) {
		snprintf(err, errlen, "spool %s: %s", c->spool_dir, strerror(-ret));
		t->free(ctx);
		return ret;
	}
	s->net = sink_net_new(s->name, t, ctx, s->spool, c, err, errlen);
	return s->net ? 0 : -EINVAL;
}

int sinks_open(const char *const *specs, int n, const struct sinks_cfg *c, char *err,
	       size_t errlen)
{
	static const char *stdout_spec = "-";
	char why[512];
	int i, ret;

	if (n == 0) {
		specs = &stdout_spec;
		n = 1;
	}
	if (n > SINKS_MAX) {
		snprintf(err, errlen, "at most %d outputs", SINKS_MAX);
		return -EINVAL;
	}
	flush_timeout_s = c->flush_timeout_s;
	for (i = 0; i < n; i++) {
		struct sink *s = &sinks[nsinks];

		memset(s, 0, sizeof(*s));
		ret = open_one(s, specs[i], c, why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "output %s: %s", s->name, why);
			return ret;
		}
		nsinks++;
	}
	return 0;
}

void sinks_write(const char *line, size_t len)
{
	int i;

	for (i = 0; i < nsinks; i++) {
		struct sink *s = &sinks[i];
		const char *out = line;
		size_t n = len;

		if (s->format != OUT_ECS) {
			rendered.len = 0;
			if (out_format_render(s->format, line, len, s->colour, &rendered)) {
				s->lost[SINK_LOSS_WRITE]++;
				continue;
			}
			out = rendered.p;
			n = rendered.len;
		}
		if (s->net)
			sink_net_write(s->net, out, n);
		else if (sink_file_write(s->file, out, n))
			s->lost[SINK_LOSS_WRITE]++;
	}
}

void sinks_flush(void)
{
	char status[300];
	int i;

	for (i = 0; i < nsinks; i++) {
		struct sink *s = &sinks[i];

		if (s->file && sink_file_flush(s->file))
			s->lost[SINK_LOSS_WRITE]++;
		if (!s->net)
			continue;
		sink_net_flush(s->net);
		if (sink_net_status(s->net, status, sizeof(status)))
			st_warn("output %s: %s", s->name, status);
	}
}

void sinks_drain(void)
{
	int i;

	sinks_flush();
	if (!drain_deadline)
		drain_deadline = sink_now_ns() + flush_timeout_s * 1000000000ULL;
	for (i = 0; i < nsinks; i++)
		if (sinks[i].net)
			sink_net_drain(sinks[i].net, drain_deadline);
}

uint64_t sinks_undelivered(void)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < nsinks; i++)
		if (sinks[i].net)
			n += sink_net_pending(sinks[i].net);
	return n;
}

uint64_t sinks_take_failures(const char **which, const char **reason, const char **what)
{
	static char phrase[512];
	int i, k;

	for (i = 0; i < nsinks; i++) {
		struct sink *s = &sinks[i];

		if (s->net)
			sink_net_losses(s->net, s->lost);
		for (k = 0; k < SINK_LOSS_MAX; k++) {
			uint64_t n = s->lost[k] - s->reported[k];

			if (!n)
				continue;
			s->reported[k] = s->lost[k];
			*which = s->name;
			*reason = losses[k].reason;
			snprintf(phrase, sizeof(phrase), losses[k].what, s->name);
			*what = phrase;
			return n;
		}
	}
	return 0;
}

void sinks_close(void)
{
	const char *which, *reason, *what;
	uint64_t n;
	int i;

	sinks_flush();
	for (i = 0; i < nsinks; i++) {
		struct sink *s = &sinks[i];

		if (s->file) {
			sink_file_close(s->file);
			continue;
		}
		n = sink_net_close(s->net, s->lost);
		if (n)
			st_warn("output %s: %llu events not delivered within --flush-timeout %us; "
				"they stay in %s for the next run with this output",
				s->name, (unsigned long long)n, flush_timeout_s, s->spool);
		s->net = NULL;
	}
	sink_buf_free(&rendered);
	/* what was lost after tracer.stop was written can only go to stderr */
	while ((n = sinks_take_failures(&which, &reason, &what)))
		st_warn("%llu %s (after tracer.stop)", (unsigned long long)n, what);
	nsinks = 0;
}

uint64_t sinks_failures_total(void)
{
	uint64_t n = 0;
	int i, k;

	for (i = 0; i < nsinks; i++)
		for (k = 0; k < SINK_LOSS_MAX; k++)
			n += sinks[i].lost[k];
	return n;
}
