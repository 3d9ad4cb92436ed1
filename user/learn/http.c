// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "learn/http.h"

static char *wipeable_dup(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

static void wipe_free(char *s)
{
	if (s) {
		secmem_wipe(s, strlen(s));
		free(s);
	}
}

void http_msg_free(struct http_msg *m)
{
	int i;

	if (!m)
		return;
	free(m->method);
	wipe_free(m->url);
	for (i = 0; i < m->nhdr; i++) {
		free(m->hdr[i].name);
		wipe_free(m->hdr[i].value);
	}
	secbuf_free(&m->body);
	secmem_wipe(m->head, sizeof(m->head));
	free(m);
}

const char *http_header(const struct http_msg *m, const char *name)
{
	int i;

	for (i = 0; i < m->nhdr; i++)
		if (!strcasecmp(m->hdr[i].name, name))
			return m->hdr[i].value;
	return NULL;
}

static struct http_stream *of(http_parser *p)
{
	return p->data;
}

static int fail(struct http_stream *s, const char *why)
{
	snprintf(s->error, sizeof(s->error), "%s", why);
	return -1;
}

static struct http_msg *cur(struct http_stream *s)
{
	if (!s->cur)
		s->cur = calloc(1, sizeof(*s->cur));
	return s->cur;
}

static int on_message_begin(http_parser *p)
{
	struct http_stream *s = of(p);

	http_msg_free(s->cur);
	s->cur = NULL;
	s->last = 0;
	secbuf_reset(&s->field);
	secbuf_reset(&s->value);
	return cur(s) ? 0 : fail(s, "out of memory");
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct http_stream *s = of(p);
	struct http_msg *m = cur(s);
	size_t old = m && m->url ? strlen(m->url) : 0;
	char *u;

	if (!m)
		return fail(s, "out of memory");
	if (old + n > HTTP_MAX_HEADER_BYTES)
		return fail(s, "request line too long");
	u = malloc(old + n + 1);
	if (!u)
		return fail(s, "out of memory");
	if (old)
		memcpy(u, m->url, old);
	memcpy(u + old, at, n);
	u[old + n] = 0;
	wipe_free(m->url);
	m->url = u;
	return 0;
}

/* Header fields and values may arrive in pieces: accumulate, store when complete. */
static int flush_header(struct http_stream *s)
{
	struct http_msg *m = cur(s);
	int ret;

	if (s->last != 2)
		return 0;
	s->last = 0;
	if (!m)
		return fail(s, "out of memory");
	ret = http_msg_add_header(m, s->field.data ? s->field.data : (const uint8_t *)"",
				  s->field.len, s->value.data ? s->value.data : (const uint8_t *)"",
				  s->value.len);
	secbuf_reset(&s->field);
	secbuf_reset(&s->value);
	return ret ? fail(s, "out of memory") : 0;
}

static int add_header_bytes(struct http_stream *s, size_t n)
{
	struct http_msg *m = cur(s);

	if (!m)
		return fail(s, "out of memory");
	m->header_bytes += n;
	return m->header_bytes > HTTP_MAX_HEADER_BYTES ? fail(s, "headers too large") : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct http_stream *s = of(p);

	if (flush_header(s) || add_header_bytes(s, n))
		return -1;
	s->last = 1;
	return secbuf_append(&s->field, at, n) ? fail(s, "out of memory") : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct http_stream *s = of(p);

	if (add_header_bytes(s, n))
		return -1;
	s->last = 2;
	return secbuf_append(&s->value, at, n) ? fail(s, "out of memory") : 0;
}

static int on_headers_complete(http_parser *p)
{
	struct http_stream *s = of(p);
	struct http_msg *m;

	if (flush_header(s))
		return -1;
	m = cur(s);
	m->is_request = p->type == HTTP_REQUEST;
	if (m->is_request)
		m->method = strdup(s->list_method ? "LIST" : http_method_str(p->method));
	else
		m->status = p->status_code;
	s->list_method = false;
	/* 1 tells the parser that this response has no body (it answers a HEAD) */
	return !m->is_request && s->skip_body && s->skip_body(s->ctx) ? 1 : 0;
}

int http_msg_add_body(struct http_msg *m, const void *at, size_t n, size_t max_body)
{
	m->body_len += n;
	if (m->head_len < sizeof(m->head)) {
		size_t k = n < sizeof(m->head) - m->head_len ? n : sizeof(m->head) - m->head_len;

		memcpy(m->head + m->head_len, at, k);
		m->head_len += k;
	}
	if (m->body_over_limit || m->body.len + n > max_body) {
		/* keep following the stream, but drop the body */
		m->body_over_limit = true;
		secbuf_reset(&m->body);
		return 0;
	}
	return secbuf_append(&m->body, at, n);
}

int http_msg_add_header(struct http_msg *m, const void *name, size_t nlen, const void *value,
			size_t vlen)
{
	struct http_header *h;

	if (m->nhdr == HTTP_MAX_HEADERS)
		return 0;	/* later headers are not needed to learn */
	h = &m->hdr[m->nhdr];
	h->name = wipeable_dup(name, nlen);
	h->value = wipeable_dup(value, vlen);
	if (!h->name || !h->value) {
		free(h->name);
		wipe_free(h->value);
		return -1;
	}
	m->nhdr++;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct http_stream *s = of(p);

	return http_msg_add_body(cur(s), at, n, s->max_body) ? fail(s, "out of memory") : 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_stream *s = of(p);
	struct http_msg *m = s->cur;

	s->cur = NULL;
	if (m && s->on_message)
		s->on_message(s->ctx, m);
	else
		http_msg_free(m);
	if (p->type == HTTP_REQUEST)
		http_parser_pause(p, 1);	/* see feed_list_as_copy() */
	return 0;
}

void http_stream_init(struct http_stream *s, bool requests, size_t max_body, http_msg_fn on_msg,
		      http_skip_body_fn skip_body, void *ctx)
{
	memset(s, 0, sizeof(*s));
	http_parser_init(&s->parser, requests ? HTTP_REQUEST : HTTP_RESPONSE);
	s->parser.data = s;
	http_parser_settings_init(&s->settings);
	s->settings.on_message_begin = on_message_begin;
	s->settings.on_url = on_url;
	s->settings.on_header_field = on_header_field;
	s->settings.on_header_value = on_header_value;
	s->settings.on_headers_complete = on_headers_complete;
	s->settings.on_body = on_body;
	s->settings.on_message_complete = on_message_complete;
	s->max_body = max_body;
	s->on_message = on_msg;
	s->skip_body = skip_body;
	s->ctx = ctx;
}

/* http_parser does not know Vault's LIST method: at the start of a request, "LIST " is fed
 * as "COPY " (same length, a method it knows) and the message is named LIST. Requests
 * pause the parser at their end so that every start is seen here. */
static bool feed_list_as_copy(struct http_stream *s, const uint8_t *data, size_t len)
{
	if (s->parser.type != HTTP_REQUEST || s->cur || len < 5 || memcmp(data, "LIST ", 5))
		return false;
	s->list_method = true;
	return http_parser_execute(&s->parser, &s->settings, "COPY", 4) == 4 &&
	       HTTP_PARSER_ERRNO(&s->parser) == HPE_OK;
}

int http_stream_feed(struct http_stream *s, const uint8_t *data, size_t len)
{
	size_t done;

	if (s->failed)
		return -1;
	while (len) {	/* http_parser takes 0 bytes for the end of the connection */
		if (feed_list_as_copy(s, data, len)) {
			data += 4;
			len -= 4;
		}
		done = http_parser_execute(&s->parser, &s->settings, (const char *)data, len);
		if (HTTP_PARSER_ERRNO(&s->parser) == HPE_PAUSED) {
			http_parser_pause(&s->parser, 0);
			data += done;
			len -= done;
			continue;
		}
		if (s->parser.upgrade) {
			s->failed = true;
			return fail(s, "connection upgraded (not HTTP/1.1 anymore)");
		}
		if (done != len || HTTP_PARSER_ERRNO(&s->parser) != HPE_OK) {
			s->failed = true;
			if (!s->error[0])
				snprintf(s->error, sizeof(s->error), "malformed HTTP: %s",
					 http_errno_description(HTTP_PARSER_ERRNO(&s->parser)));
			http_msg_free(s->cur);
			s->cur = NULL;
			return -1;
		}
		break;
	}
	return 0;
}

void http_stream_eof(struct http_stream *s)
{
	if (!s->failed)
		http_parser_execute(&s->parser, &s->settings, NULL, 0);
}

bool http_stream_idle(const struct http_stream *s)
{
	return s->failed || !s->cur;
}

void http_stream_free(struct http_stream *s)
{
	http_msg_free(s->cur);
	s->cur = NULL;
	secbuf_free(&s->field);
	secbuf_free(&s->value);
}

static int inflate_body(const struct http_msg *m, int window_bits, size_t max, struct secbuf *out,
			char *err, size_t errlen)
{
	uint8_t chunk[16384];
	z_stream z = { 0 };
	int ret;

	if (inflateInit2(&z, window_bits) != Z_OK) {
		snprintf(err, errlen, "zlib: cannot start");
		return -1;
	}
	z.next_in = m->body.data;
	z.avail_in = m->body.len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		ret = inflate(&z, Z_NO_FLUSH);
		if (ret != Z_OK && ret != Z_STREAM_END) {
			snprintf(err, errlen, "compressed body is corrupt or truncated (zlib %d)", ret);
			break;
		}
		if (out->len + (sizeof(chunk) - z.avail_out) > max) {
			snprintf(err, errlen, "decompressed body exceeds %zu bytes", max);
			ret = Z_BUF_ERROR;
			break;
		}
		if (secbuf_append(out, chunk, sizeof(chunk) - z.avail_out)) {
			snprintf(err, errlen, "out of memory");
			ret = Z_MEM_ERROR;
			break;
		}
	} while (ret != Z_STREAM_END && (z.avail_in || z.avail_out == 0));
	secmem_wipe(chunk, sizeof(chunk));
	inflateEnd(&z);
	if (ret == Z_OK) {
		snprintf(err, errlen, "compressed body is truncated");
		ret = Z_DATA_ERROR;
	}
	if (ret != Z_STREAM_END) {
		secbuf_reset(out);
		return -1;
	}
	return 0;
}

int http_decode_body(const struct http_msg *m, size_t max, struct secbuf *out, char *err,
		     size_t errlen)
{
	const char *enc = http_header(m, "Content-Encoding");

	if (!enc || !*enc || !strcasecmp(enc, "identity")) {
		if (m->body.len > max) {
			snprintf(err, errlen, "body exceeds %zu bytes", max);
			return -1;
		}
		if (secbuf_append(out, m->body.data, m->body.len)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	if (!strcasecmp(enc, "gzip") || !strcasecmp(enc, "x-gzip"))
		return inflate_body(m, 16 + MAX_WBITS, max, out, err, errlen);
	if (!strcasecmp(enc, "deflate")) {
		/* RFC 9110 says zlib-wrapped; some servers send raw deflate */
		int zret = inflate_body(m, MAX_WBITS, max, out, err, errlen);

		if (zret == 0 || strstr(err, "exceeds"))
			return zret;
		return inflate_body(m, -MAX_WBITS, max, out, err, errlen);
	}
	snprintf(err, errlen, "unsupported Content-Encoding");
	return -1;
}
