// SPDX-License-Identifier: GPL-2.0
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dict/dict.h"
#include "output/emit.h"
#include "output/json_line.h"
#include "lib/log.h"
#include "lib/redact.h"
#include "output/sinks.h"

static char host[256];
static struct json_line line;	/* the event being written, reused */
static uint64_t sequence, failed;
static uint64_t templated;	/* numbered by ev_next_sequence, less ev_emit_failed */
/* Events written through ev_emit, by event.action (the metrics endpoint's) */
static struct {
	char name[32];
	uint64_t n;
} actions[16];
static size_t nactions;
static int64_t boot_to_unix;	/* realtime - boottime, ns */

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t now_boot_ns(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

uint64_t boot_to_unix_ns(uint64_t boot_ns)
{
	return boot_ns + boot_to_unix;
}

int emit_init(const char *host_name)
{
	snprintf(host, sizeof(host), "%s", host_name);
	boot_to_unix = (int64_t)clock_ns(CLOCK_REALTIME) - (int64_t)clock_ns(CLOCK_BOOTTIME);
	return 0;
}

/* RFC 3339 in UTC with microseconds; the date and time of day are formatted once a second. */
static size_t format_timestamp(char out[EV_TIME_LEN], uint64_t unix_ns)
{
	static time_t last_sec = -1;
	static char day[32];	/* "YYYY-MM-DDTHH:MM:SS" */
	static size_t n;
	time_t sec = unix_ns / 1000000000ULL;
	unsigned us = unix_ns % 1000000000ULL / 1000;
	int i;

	if (sec != last_sec) {
		struct tm tm;

		gmtime_r(&sec, &tm);
		n = strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
		last_sec = sec;
	}
	memcpy(out, day, n);
	out[n] = '.';
	for (i = 6; i >= 1; i--, us /= 10)
		out[n + i] = '0' + us % 10;
	out[n + 7] = 'Z';
	out[n + 8] = 0;
	return n + 8;
}

size_t ev_format_time(char out[EV_TIME_LEN], uint64_t boot_ns)
{
	return format_timestamp(out, boot_to_unix_ns(boot_ns));
}

static void set_timestamp(json_t *ev, uint64_t unix_ns)
{
	char buf[EV_TIME_LEN];

	format_timestamp(buf, unix_ns);
	json_object_set_new(ev, "@timestamp", json_string(buf));
}

void ev_time(json_t *ev, uint64_t boot_ns)
{
	if (boot_ns)
		set_timestamp(ev, boot_to_unix_ns(boot_ns));
}

/* event.id: a random (version 4) UUID. The randomness is drawn 4 KiB at a time rather
 * than with a getrandom call per event. */
void ev_format_id(char uuid[EV_ID_LEN])
{
	static const char hex[] = "0123456789abcdef";
	static unsigned char pool[4096];
	static size_t used = sizeof(pool);
	unsigned char *id;
	int i, o = 0;

	if (used + 16 > sizeof(pool)) {
		randombytes_buf(pool, sizeof(pool));
		used = 0;
	}
	id = pool + used;
	used += 16;
	id[6] = (id[6] & 0x0f) | 0x40;	/* UUID version 4 */
	id[8] = (id[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			uuid[o++] = '-';
		uuid[o++] = hex[id[i] >> 4];
		uuid[o++] = hex[id[i] & 15];
	}
	uuid[o] = 0;
}

void ev_new_identity(json_t *ev)
{
	char uuid[EV_ID_LEN];

	ev_format_id(uuid);
	ev_str(ev, "event.id", uuid);
}

json_t *ev_new(const char *action)
{
	json_t *ev = json_object();

	set_timestamp(ev, clock_ns(CLOCK_REALTIME));
	ev_new_identity(ev);
	ev_str(ev, "event.kind", "event");
	ev_str(ev, "event.action", action);
	ev_str(ev, "host.name", host);
	return ev;
}

void ev_delivery(json_t *ev, const struct delivery *v)
{
	if (!v)
		return;
	ev_str(ev, "vault.request_id", v->request_id);
	ev_str(ev, "vault.path", v->path);
	ev_str(ev, "vault.field", v->field);
	ev_str(ev, "vault.lease_id", v->lease_id);
	ev_str(ev, "vault.namespace", v->ns);
	ev_str(ev, "vault.correlation_id", v->correlation_id);
}

/* Fields whose values this program makes itself (clocks, random ids, hashes, names of
 * its own): nothing from a traced process or Vault reaches them, so they are not run
 * through the redactor, which would otherwise break them when a learned "secret" happens
 * to share 8 bytes with, say, today's date. */
static const char *const generated[] = {
	"@timestamp", "event", "host", "secret", "process.entity_id", "secretrace.sink",
	"secretrace.syscall", "network", NULL,
};

static bool is_generated(const char *path)
{
	int i;

	for (i = 0; generated[i]; i++)
		if (!strcmp(path, generated[i]))
			return true;
	return false;
}

/* The last gate: any string holding a run of a learned secret is replaced. path holds the
 * dotted name of v (len bytes) and has room to extend it. */
static void redact_json(json_t *v, char *path, size_t len, size_t room)
{
	const char *key;
	json_t *child;
	size_t i;

	if (is_generated(path))
		return;
	if (json_is_string(v)) {
		if (redact_contains(json_string_value(v), json_string_length(v)))
			json_string_set(v, REDACTED);
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, child) {
			size_t k = strlen(key), n = len + (len != 0) + k;

			if (n >= room) {	/* deeper than any generated field: check it */
				redact_json(child, (char[1]){ 0 }, 0, 0);
				continue;
			}
			if (len)
				path[len] = '.';
			memcpy(path + n - k, key, k + 1);
			redact_json(child, path, n, room);
			path[len] = 0;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child)
			redact_json(child, path, len, room);
	}
}

void ev_redact(json_t *ev)
{
	char path[128] = "";

	redact_json(ev, path, 0, sizeof(path));
}

/* Actions are the code's own strings, a dozen of them: a line is enough. */
static void count_action(json_t *ev)
{
	const char *a = json_string_value(ev_get(ev, "event.action"));
	size_t i;

	if (!a)
		return;
	for (i = 0; i < nactions; i++)
		if (!strcmp(actions[i].name, a)) {
			actions[i].n++;
			return;
		}
	if (nactions < sizeof(actions) / sizeof(actions[0])) {
		snprintf(actions[nactions].name, sizeof(actions[0].name), "%s", a);
		actions[nactions++].n = 1;
	}
}

void ev_emit(json_t *ev)
{
	ev_redact(ev);
	ev_int(ev, "event.sequence", (long long)++sequence);
	if (json_line_dump(&line, ev) == 0) {
		count_action(ev);
		sinks_write(line.buf, line.len);
	} else {
		failed++;	/* reported by stats_poll as a loss */
	}
	json_decref(ev);
}

uint64_t ev_next_sequence(void)
{
	templated++;
	return ++sequence;
}

void ev_emit_failed(void)
{
	templated--;
	failed++;
}

const char *emit_count_by_action(size_t i, uint64_t *n)
{
	if (i >= nactions)
		return NULL;
	*n = actions[i].n;
	return actions[i].name;
}

uint64_t emit_count_templated(void)
{
	return templated;
}

uint64_t emit_failed(void)
{
	return failed;
}

uint64_t emit_count(void)
{
	return sequence;
}
