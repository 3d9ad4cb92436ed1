// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dict/limits.h"
#include "lib/u64map.h"

/*
 * Text that HTTP and Vault's own JSON put in nearly every write: a "secret" found inside one
 * of these (compared without case) would match everywhere. Not a list of every header an
 * agent may send: the ones common enough that most writes carry them.
 */
static const char *const common_text[] = {
	"HTTP/1.1 200 OK\r\n", "HTTP/1.0 200 OK\r\n", "HTTP/2 200\r\n",
	"Content-Type: application/json; charset=utf-8\r\n",
	"Content-Type: application/x-www-form-urlencoded\r\n",
	"Content-Type: application/octet-stream\r\n",
	"Content-Type: text/plain; charset=utf-8\r\n",
	"Content-Type: text/html; charset=utf-8\r\n",
	"Accept: application/json, */*\r\n", "Accept-Encoding: gzip, deflate, br\r\n",
	"Connection: keep-alive\r\n", "Connection: close\r\n", "Transfer-Encoding: chunked\r\n",
	"Cache-Control: no-cache, no-store\r\n", "User-Agent: python-requests/",
	"User-Agent: Go-http-client/1.1\r\n", "User-Agent: curl/", "Host: localhost\r\n",
	"Host: 127.0.0.1\r\n", "Content-Length: ",
	"{\"request_id\":\"", "\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,",
	"\"data\":{\"data\":{", "\"metadata\":{\"created_time\":\"", "\"custom_metadata\":null,",
	"\"deletion_time\":\"\",\"destroyed\":false,\"version\":",
	"\"wrap_info\":null,\"warnings\":null,\"auth\":null}",
};

/* Header names whose lines any write may carry: "Name: anything" as a whole value. Not
 * Authorization, Cookie or X-Vault-Token: their values are what secrets look like. */
static const char *const common_headers[] = {
	"accept", "accept-encoding", "accept-language", "cache-control", "connection",
	"content-length", "content-type", "date", "host", "server", "transfer-encoding",
	"user-agent",
};

struct bucket {
	double tokens;
	uint64_t last_ns;
};

struct proc_limits {
	struct bucket b;
	uint64_t refused[LIMIT_KINDS], last_report_ns[LIMIT_KINDS];
};

static struct u64map procs, servers;	/* tgid / server key -> struct proc_limits / bucket * */
static uint32_t unnamed_max, unnamed_entries;
static uint64_t refused_total;

static const char *const kind_names[LIMIT_KINDS] = {
	[LIMIT_COMMON_VALUE] = "common_value",
	[LIMIT_LOW_ENTROPY] = "low_entropy",
	[LIMIT_PROCESS_RATE] = "process_rate",
	[LIMIT_SERVER_RATE] = "server_rate",
	[LIMIT_UNNAMED_SHARE] = "unnamed_share",
	[LIMIT_STRICT] = "strict_unnamed_server",
};

int limits_init(uint32_t dict_entries_max)
{
	unnamed_max = dict_entries_max / 2;
	return u64map_init(&procs, 64) || u64map_init(&servers, 16) ? -ENOMEM : 0;
}

static void free_all(struct u64map *m)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(m, &i, &k, &v))
		free((void *)(uintptr_t)v);
	u64map_free(m);
}

void limits_free(void)
{
	free_all(&procs);
	free_all(&servers);
}

const char *limits_kind_name(enum limit_kind k)
{
	return k < LIMIT_KINDS ? kind_names[k] : "unknown";
}

static bool inside_common_text(const uint8_t *v, size_t len)
{
	size_t i, j, n;

	for (i = 0; i < sizeof(common_text) / sizeof(common_text[0]); i++) {
		n = strlen(common_text[i]);
		for (j = 0; j + len <= n; j++)
			if (!strncasecmp(common_text[i] + j, (const char *)v, len))
				return true;
	}
	return false;
}

static bool common_header_line(const uint8_t *v, size_t len)
{
	const uint8_t *colon = memchr(v, ':', len);
	size_t i, n;

	if (!colon)
		return false;
	n = colon - v;
	for (i = 0; i < sizeof(common_headers) / sizeof(common_headers[0]); i++)
		if (strlen(common_headers[i]) == n && !strncasecmp(common_headers[i], (const char *)v, n))
			return true;
	return false;
}

/* Too plain to be a secret: fewer than 4 distinct bytes ("aaaaaaaa", "01010101"), one byte
 * making up more than half of it, or a short pattern repeated ("abcdabcdabcd": a period of
 * 8 bytes or less, at least twice over). */
static bool low_entropy(const uint8_t *v, size_t len)
{
	unsigned count[256] = { 0 }, distinct = 0, most = 0;
	size_t i, period;

	for (i = 0; i < len; i++) {
		distinct += !count[v[i]]++;
		if (count[v[i]] > most)
			most = count[v[i]];
	}
	if (distinct < 4 || most * 2 > len)
		return true;
	for (period = 1; period <= 8 && period * 2 <= len; period++)
		if (!memcmp(v, v + period, len - period))
			return true;
	return false;
}

int limits_value(const uint8_t *value, size_t len)
{
	if (inside_common_text(value, len) || common_header_line(value, len))
		return LIMIT_COMMON_VALUE;
	if (low_entropy(value, len))
		return LIMIT_LOW_ENTROPY;
	return -1;
}

/* Takes a token from the bucket (burst, refilled rate a second) if it has one. */
static bool take(struct bucket *b, unsigned burst, unsigned rate, uint64_t now_ns)
{
	if (!b->last_ns) {
		b->tokens = burst;
	} else if (now_ns > b->last_ns) {
		b->tokens += (now_ns - b->last_ns) / 1e9 * rate;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	b->last_ns = now_ns;
	if (b->tokens < 1)
		return false;
	b->tokens--;
	return true;
}

/* The entry of key in m, made on first use (size bytes, zeroed); NULL without memory. */
static void *entry(struct u64map *m, uint64_t key, size_t size)
{
	uint64_t v;
	void *p;

	key = u64map_key(key);
	if (u64map_get(m, key, &v))
		return (void *)(uintptr_t)v;
	p = calloc(1, size);
	if (p && u64map_put(m, key, (uintptr_t)p)) {
		free(p);
		p = NULL;
	}
	return p;
}

int limits_admit(uint32_t tgid, uint64_t server, bool named, uint64_t now_ns)
{
	struct proc_limits *p;
	struct bucket *s;

	if (named)
		return -1;	/* bounded by the dictionary alone */
	if (unnamed_entries >= unnamed_max)
		return LIMIT_UNNAMED_SHARE;
	p = entry(&procs, tgid, sizeof(*p));
	s = server ? entry(&servers, server, sizeof(*s)) : NULL;
	if (!p || (server && !s))
		return LIMIT_PROCESS_RATE;	/* no memory to keep count: refuse, counted */
	if (s && !take(s, LIMIT_SERVER_BURST, LIMIT_SERVER_PER_S, now_ns))
		return LIMIT_SERVER_RATE;
	if (!take(&p->b, LIMIT_PROC_BURST, LIMIT_PROC_PER_S, now_ns)) {
		if (s)
			s->tokens++;	/* the server's share is not used up by a refusal */
		return LIMIT_PROCESS_RATE;
	}
	return -1;
}

void limits_added(bool named, uint32_t entries)
{
	if (!named)
		unnamed_entries += entries;
}

void limits_refused(uint32_t tgid, enum limit_kind k)
{
	struct proc_limits *p = entry(&procs, tgid, sizeof(*p));

	refused_total++;
	if (p)
		p->refused[k]++;
}

uint64_t limits_take_refusals(uint32_t tgid, uint64_t now_ns, uint64_t min_gap_ns,
			      enum limit_kind *k)
{
	struct proc_limits *p;
	uint64_t v, n;
	int i;

	if (!u64map_get(&procs, u64map_key(tgid), &v))
		return 0;
	p = (void *)(uintptr_t)v;
	for (i = 0; i < LIMIT_KINDS; i++) {
		if (!p->refused[i] ||
		    (min_gap_ns && p->last_report_ns[i] && now_ns - p->last_report_ns[i] < min_gap_ns))
			continue;
		n = p->refused[i];
		p->refused[i] = 0;
		p->last_report_ns[i] = now_ns;
		*k = i;
		return n;
	}
	return 0;
}

void limits_forget(uint32_t tgid)
{
	uint64_t key = u64map_key(tgid), v;

	if (u64map_get(&procs, key, &v)) {
		free((void *)(uintptr_t)v);
		u64map_del(&procs, key);
	}
}

uint64_t limits_refused_total(void)
{
	return refused_total;
}
