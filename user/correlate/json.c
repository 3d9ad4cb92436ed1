// SPDX-License-Identifier: GPL-2.0
/* Small helpers of correlate: times, and typed access to untrusted JSON (chains.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "correlate/chains.h"
#include "output/emit.h"

int64_t correlate_parse_time(const char *s)
{
	struct tm tm = { 0 };
	int64_t frac = 0, scale = NS, off = 0;
	int n = 0;
	time_t t;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	s += n;
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++)
			if (scale > 1) {
				scale /= 10;
				frac += (*s - '0') * scale;
			}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if ((*s == '+' || *s == '-') && isdigit((unsigned char)s[1]) &&
		   isdigit((unsigned char)s[2]) && s[3] == ':' && isdigit((unsigned char)s[4]) &&
		   isdigit((unsigned char)s[5])) {
		off = ((s[1] - '0') * 10 + (s[2] - '0')) * 3600 +
		      ((s[4] - '0') * 10 + (s[5] - '0')) * 60;
		if (*s == '+')
			off = -off;
		s += 6;
	} else {
		return -1;
	}
	/* years past 2261 do not fit int64 nanoseconds; before 1970 nothing here was written */
	if (*s || tm.tm_year < 1970 || tm.tm_year > 2261 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 ||
	    tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return ((int64_t)t + off) * NS + frac;
}

static void fmt_time(int64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / NS);
	struct tm tm;

	if (ns < 0 || !gmtime_r(&t, &tm)) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ns % NS / 1000));
}

json_t *json_time(int64_t ns)
{
	char buf[64];

	fmt_time(ns, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *jget_t(json_t *o, const char *path, bool *bad)
{
	char part[64];
	const char *dot;

	while (o && *path) {
		size_t n;

		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(part))
			return NULL;
		if (!json_is_object(o)) {
			if (bad && !json_is_null(o))
				*bad = true;
			return NULL;
		}
		memcpy(part, path, n);
		part[n] = 0;
		o = json_object_get(o, part);
		path += n + (dot ? 1 : 0);
	}
	return o;
}

json_t *jget(json_t *o, const char *path)
{
	return jget_t(o, path, NULL);
}

const char *jstr(json_t *o, const char *path, bool *bad)
{
	json_t *v = jget_t(o, path, bad);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

/* A whole number; -1 if absent. */
long long jint(json_t *o, const char *path, bool *bad)
{
	json_t *v = jget_t(o, path, bad);

	if (!v || json_is_null(v))
		return -1;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		*bad = true;
		return -1;
	}
	return json_integer_value(v);
}

json_t *jobj(json_t *o, const char *path, bool *bad)
{
	json_t *v = jget_t(o, path, bad);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_object(v)) {
		*bad = true;
		return NULL;
	}
	return v;
}

/* A string field into out (dotted key: nested objects), unless it is huge. */
void put_str(json_t *out, const char *key, const char *v)
{
	if (v && strlen(v) <= MAX_STR)
		ev_set(out, key, json_string(v));
}

void put_int(json_t *out, const char *key, long long v)
{
	if (v >= 0)
		ev_set(out, key, json_integer(v));
}

void copy_str(json_t *out, const char *key, json_t *in, const char *path, bool *bad)
{
	put_str(out, key, jstr(in, path, bad));
}

void copy_int(json_t *out, const char *key, json_t *in, const char *path, bool *bad)
{
	put_int(out, key, jint(in, path, bad));
}
