// SPDX-License-Identifier: GPL-2.0
/*
 * http:// and https://: batched POSTs through libcurl, as Elastic _bulk, Splunk HEC or plain
 * JSON lines. A batch is delivered when the answer is 2xx; inside a 2xx _bulk answer each
 * item has its own status, and only the items that failed are sent again. A 2xx _bulk answer
 * that cannot be read leaves the batch's fate unknown: it is sent again a bounded number of
 * times, then given up and counted (sink_unconfirmed), rather than resent without end to a
 * receiver that may well be storing every copy.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/format.h"
#include "output/net.h"

#define CONNECT_TIMEOUT_MS 5000L
#define REQUEST_TIMEOUT_MS 30000L
#define ANSWER_MAX (16 * 1024 * 1024)
#define UNREADABLE_TRIES 3	/* 2xx _bulk answers that cannot be read, before giving up */
#define RETRY_AFTER_MAX_MS 60000	/* a receiver's Retry-After is honoured up to this */

enum http_format { HTTP_NDJSON, HTTP_BULK, HTTP_HEC };

struct http_ctx {
	CURL *curl;
	struct curl_slist *headers;
	enum http_format format;
	char host[256];
	struct sink_buf body, answer;
	bool answer_cut;	/* longer than ANSWER_MAX */
	size_t *index;		/* body item -> batch line */
	int *status;
	size_t cap;
	char curl_err[CURL_ERROR_SIZE];
};

static void ctx_free(void *p)
{
	struct http_ctx *x = p;

	if (!x)
		return;
	if (x->curl)
		curl_easy_cleanup(x->curl);
	curl_slist_free_all(x->headers);
	sink_buf_free(&x->body);
	sink_buf_free(&x->answer);
	free(x->index);
	free(x->status);
	free(x);
}

static size_t on_answer(char *p, size_t size, size_t n, void *arg)
{
	struct http_ctx *x = arg;

	/* past the bound the answer is read to its end but not kept: a 2xx _bulk answer cut
	 * short counts as unreadable (bounded tries) rather than as a failed transfer */
	if (x->answer_cut || x->answer.len + size * n > ANSWER_MAX)
		x->answer_cut = true;
	else if (sink_buf_add(&x->answer, p, size * n))
		return 0;	/* out of memory: aborts the transfer, retried */
	return size * n;
}

/* Gives up a transfer in flight once the output is stopping. */
static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return sink_net_stopping(arg);
}

static int build(struct http_ctx *x, struct sink_batch *b, size_t *items)
{
	struct sink_meta m;
	size_t i;
	int ret = 0;

	if (b->n > x->cap) {
		size_t *ix = realloc(x->index, b->n * sizeof(*ix));
		int *st = ix ? realloc(x->status, b->n * sizeof(*st)) : NULL;

		if (ix)
			x->index = ix;
		if (!st)
			return -ENOMEM;
		x->status = st;
		x->cap = b->n;
	}
	x->body.len = 0;
	*items = 0;
	for (i = 0; i < b->n && !ret; i++) {
		struct sink_line *l = &b->line[i];

		if (l->done)
			continue;
		x->index[(*items)++] = i;
		if (x->format == HTTP_NDJSON) {
			ret = sink_buf_add(&x->body, l->p, l->len);
			ret = ret ?: sink_buf_add(&x->body, "\n", 1);
			continue;
		}
		sink_meta(l->p, l->len, &m);
		if (x->format == HTTP_BULK)
			ret = bulk_format(&x->body, l->p, l->len, &m);
		else
			ret = hec_format(&x->body, l->p, l->len, &m, x->host);
	}
	return ret;
}

/* Per-item outcome of a 2xx _bulk answer. */
static int bulk_items(struct http_ctx *x, struct sink_batch *b, size_t items,
		      uint64_t lost[SINK_LOSS_MAX], char *err, size_t errlen)
{
	size_t i, retry = 0;

	if (x->answer_cut ||
	    bulk_statuses(x->answer.p ? x->answer.p : "", x->answer.len, items, x->status)) {
		if (++b->unreadable < UNREADABLE_TRIES) {
			snprintf(err, errlen, "_bulk answer that cannot be read (neither \"errors\": "
				 "false nor one status per item)");
			return -1;
		}
		for (i = 0; i < items; i++)
			b->line[x->index[i]].done = true;
		lost[SINK_LOSS_UNCONFIRMED] += items;
		return 0;
	}
	for (i = 0; i < items; i++) {
		struct sink_line *l = &b->line[x->index[i]];

		switch (bulk_verdict(x->status[i])) {
		case BULK_DONE:
			l->done = true;
			break;
		case BULK_REJECTED:
			l->done = true;
			lost[SINK_LOSS_REJECTED]++;
			break;
		case BULK_RETRY:
			if (!retry++)
				snprintf(err, errlen, "_bulk item status %d", x->status[i]);
			break;
		}
	}
	return retry ? -1 : 0;
}

/* The answer's Retry-After (seconds or an HTTP date), capped. */
static unsigned retry_after_ms(struct http_ctx *x)
{
	curl_off_t sec = 0;

	if (curl_easy_getinfo(x->curl, CURLINFO_RETRY_AFTER, &sec) != CURLE_OK || sec <= 0)
		return 0;
	return sec > RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS : (unsigned)sec * 1000;
}

static int http_send(struct sink_net *s, struct sink_batch *b, uint64_t lost[SINK_LOSS_MAX],
		     char *err, size_t errlen)
{
	struct http_ctx *x = s->ctx;
	size_t items, i;
	long code = 0;
	CURLcode rc;

	if (build(x, b, &items)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	x->answer.len = 0;
	x->answer_cut = false;
	x->curl_err[0] = 0;
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, x->body.p);
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body.len);
	curl_easy_setopt(x->curl, CURLOPT_XFERINFODATA, s);
	rc = curl_easy_perform(x->curl);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", x->curl_err[0] ? x->curl_err : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
	b->retry_after_ms = retry_after_ms(x);
	if (code < 200 || code > 299) {
		snprintf(err, errlen, "HTTP status %ld", code);
		return -1;
	}
	if (x->format == HTTP_BULK)
		return bulk_items(x, b, items, lost, err, errlen);
	for (i = 0; i < items; i++)
		b->line[x->index[i]].done = true;
	return 0;
}

static int format_of(const char *url, const char *name, enum http_format *f)
{
	char path[1024];
	size_t n;

	if (name && strcmp(name, "auto")) {
		if (!strcmp(name, "bulk"))
			*f = HTTP_BULK;
		else if (!strcmp(name, "hec"))
			*f = HTTP_HEC;
		else if (!strcmp(name, "ndjson"))
			*f = HTTP_NDJSON;
		else
			return -1;
		return 0;
	}
	/* auto: from the URL's path */
	snprintf(path, sizeof(path), "%s", url);
	path[strcspn(path, "?#")] = 0;
	n = strlen(path);
	if (n >= 6 && !strcmp(path + n - 6, "/_bulk"))
		*f = HTTP_BULK;
	else if (strstr(path, "/services/collector"))
		*f = HTTP_HEC;
	else
		*f = HTTP_NDJSON;
	return 0;
}

/* The auth header: a file's first line or an environment variable, "Name: value". */
static int auth_header(const struct sinks_cfg *c, struct curl_slist **h, char *err, size_t errlen)
{
	char line[8192] = "";
	const char *v = NULL;
	size_t n;

	if (c->auth_file) {
		FILE *f = fopen(c->auth_file, "re");

		if (!f || !fgets(line, sizeof(line), f)) {
			snprintf(err, errlen, "--http-auth-file %s: %s", c->auth_file,
				 f ? "empty" : strerror(errno));
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		v = line;
	} else if (c->auth_env) {
		v = getenv(c->auth_env);
		if (!v || !*v) {
			snprintf(err, errlen, "--http-auth-env %s: not set", c->auth_env);
			return -1;
		}
		snprintf(line, sizeof(line), "%s", v);
		v = line;
		unsetenv(c->auth_env);	/* the tracer's credential, not the traced command's */
	}
	if (!v)
		return 0;
	line[strcspn(line, "\r\n")] = 0;
	n = strcspn(line, ":");
	if (!n || !line[n] || strcspn(line, " \t") < n) {
		snprintf(err, errlen, "the HTTP auth header must read \"Name: value\"");
		return -1;
	}
	*h = curl_slist_append(*h, line);
	explicit_bzero(line, sizeof(line));
	return *h ? 0 : -1;
}

void *http_new(const char *url, const struct sinks_cfg *c, char *err, size_t errlen)
{
	struct http_ctx *x = calloc(1, sizeof(*x));
	struct curl_slist *h;

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (format_of(url, c->http_format, &x->format)) {
		snprintf(err, errlen, "--http-format %s: expected auto, bulk, hec or ndjson",
			 c->http_format);
		goto fail;
	}
	snprintf(x->host, sizeof(x->host), "%s", c->host ? c->host : "");
	x->curl = curl_easy_init();
	if (!x->curl) {
		snprintf(err, errlen, "cannot start libcurl");
		goto fail;
	}
	h = curl_slist_append(NULL, x->format == HTTP_BULK ? "Content-Type: application/x-ndjson"
				: x->format == HTTP_HEC	   ? "Content-Type: application/json"
							   : "Content-Type: application/x-ndjson");
	x->headers = h ? curl_slist_append(h, "Expect:") : NULL;	/* no 100-continue wait */
	if (!x->headers || auth_header(c, &x->headers, err, errlen)) {
		if (!x->headers)
			snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (curl_easy_setopt(x->curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(x->curl, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
		snprintf(err, errlen, "not a URL libcurl takes");
		goto fail;
	}
	curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(x->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(x->curl, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
	curl_easy_setopt(x->curl, CURLOPT_ERRORBUFFER, x->curl_err);
	curl_easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(x->curl, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(x->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(x->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file && curl_easy_setopt(x->curl, CURLOPT_CAINFO, c->ca_file) != CURLE_OK) {
		snprintf(err, errlen, "--ca-file: not supported by this libcurl");
		goto fail;
	}
	return x;
fail:
	ctx_free(x);
	return NULL;
}

const struct sink_transport http_transport = {
	.send = http_send,
	.free = ctx_free,
	.batches = true,
};
