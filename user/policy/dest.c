// SPDX-License-Identifier: GPL-2.0
/* Destinations of the policy: IP addresses and CIDRs with port ranges, host names (matched
 * against the TLS SNI or HTTP Host a connection named), unix socket paths. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/rules.h"

/* "443" or "1000-2000" */
static bool parse_ports(const char *s, struct pol_dest *d, char *why, size_t wl)
{
	unsigned long v[2] = { 0, 0 };
	const char *p = s;
	int i;

	for (i = 0; i < 2; i++) {
		const char *start = p;

		while (isdigit((unsigned char)*p) && p - start < 6)
			v[i] = v[i] * 10 + (unsigned long)(*p++ - '0');
		if (p == start || isdigit((unsigned char)*p) || v[i] < 1 || v[i] > 65535) {
			snprintf(why, wl, "bad port \"%.32s\" (ports are 1 to 65535, or LOW-HIGH)", s);
			return false;
		}
		if (i == 0 && *p == '-') {
			p++;
			continue;
		}
		if (i == 0)
			v[1] = v[0];
		break;
	}
	if (*p) {
		snprintf(why, wl, "bad port \"%.32s\" (ports are 1 to 65535, or LOW-HIGH)", s);
		return false;
	}
	if (v[0] > v[1]) {
		snprintf(why, wl, "bad port range \"%.32s\" (low end above high end)", s);
		return false;
	}
	d->port_lo = v[0];
	d->port_hi = v[1];
	return true;
}

/* "ADDR" or "ADDR/PREFIX", family af; rejects host bits set below the prefix. */
static bool parse_cidr(const char *s, int af, struct pol_dest *d, char *why, size_t wl)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	unsigned max = af == AF_INET ? 32 : 128, bits = max, i;
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	const char *fam = af == AF_INET ? "IPv4" : "IPv6";

	if (alen >= sizeof(addr)) {
		snprintf(why, wl, "bad %s address \"%.64s\"", fam, s);
		return false;
	}
	memcpy(addr, s, alen);
	addr[alen] = 0;
	if (inet_pton(af, addr, d->addr) != 1) {
		snprintf(why, wl, "bad %s address \"%.64s\"", fam, addr);
		return false;
	}
	if (slash) {
		const char *p = slash + 1;

		bits = 0;
		if (!*p || (p[0] == '0' && p[1]))
			bits = max + 1;
		for (; *p && bits <= max; p++)
			bits = isdigit((unsigned char)*p) ? bits * 10 + (unsigned)(*p - '0') :
							     max + 1;
		if (bits > max) {
			snprintf(why, wl, "bad CIDR \"%.64s\": the prefix length must be 0 to %u", s,
				 max);
			return false;
		}
	}
	for (i = bits; i < max; i++)
		if (d->addr[i / 8] & (0x80 >> (i % 8))) {
			snprintf(why, wl, "bad CIDR \"%.64s\": bits are set past the /%u prefix", s,
				 bits);
			return false;
		}
	d->kind = af == AF_INET ? DEST_IP4 : DEST_IP6;
	d->prefix = bits;
	return true;
}

/* A DNS name, optionally "*." + name; stored lower case without "*." or a final dot. */
static bool parse_host(const char *s, size_t len, struct pol_dest *d, char *why, size_t wl)
{
	size_t label = 0, i, start = 0;

	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		d->wildcard = true;
		start = 2;
	}
	if (len > start && s[len - 1] == '.')
		len--;
	if (len <= start || len - start > 253) {
		snprintf(why, wl, "bad host name \"%.64s\"", s);
		return false;
	}
	for (i = start; i <= len; i++) {
		char ch = i < len ? s[i] : '.';

		if (ch == '.') {
			if (!label || s[i - 1] == '-' || s[i - label] == '-') {
				snprintf(why, wl, "bad host name \"%.64s\" (empty label, or one that "
					 "starts or ends with -)", s);
				return false;
			}
			label = 0;
			continue;
		}
		if (ch == '*') {
			snprintf(why, wl, "bad host name \"%.64s\": * is allowed only as the whole "
				 "first label (\"*.example.com\")", s);
			return false;
		}
		if (!isalnum((unsigned char)ch) && ch != '-' && ch != '_') {
			snprintf(why, wl, "bad host name \"%.64s\": '%c' is not allowed", s, ch);
			return false;
		}
		if (++label > 63) {
			snprintf(why, wl, "bad host name \"%.64s\": a label is longer than 63", s);
			return false;
		}
	}
	d->name = strndup(s + start, len - start);
	if (!d->name) {
		snprintf(why, wl, "out of memory");
		return false;
	}
	for (i = 0; d->name[i]; i++)
		d->name[i] = tolower((unsigned char)d->name[i]);
	d->kind = DEST_HOST;
	return true;
}

bool dest_parse(const char *s, struct pol_dest *d, char *why, size_t wl)
{
	const char *colon, *p;
	char host[POLICY_MAX_GLOB + 1];
	size_t hlen;
	int colons = 0;

	memset(d, 0, sizeof(*d));
	if (!strncmp(s, "unix:", 5)) {
		p = s + 5;
		if (*p != '/' && *p != '@') {
			snprintf(why, wl, "bad unix destination \"%.64s\": want unix:/absolute/path "
				 "or unix:@abstract-name", s);
			return false;
		}
		d->kind = DEST_UNIX;
		d->name = strdup(p);
		if (!d->name)
			snprintf(why, wl, "out of memory");
		return d->name != NULL;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close == s + 1) {
			snprintf(why, wl, "bad IPv6 destination \"%.64s\": want [ADDR]:PORT", s);
			return false;
		}
		hlen = (size_t)(close - s - 1);
		if (hlen >= sizeof(host)) {
			snprintf(why, wl, "bad IPv6 address in \"%.64s\"", s);
			return false;
		}
		memcpy(host, s + 1, hlen);
		host[hlen] = 0;
		if (!parse_cidr(host, AF_INET6, d, why, wl))
			return false;
		if (!close[1])
			return true;
		if (close[1] != ':') {
			snprintf(why, wl, "bad IPv6 destination \"%.64s\": want [ADDR]:PORT", s);
			return false;
		}
		return parse_ports(close + 2, d, why, wl);
	}
	for (p = s; *p; p++)
		colons += *p == ':';
	if (colons > 1)		/* a bare IPv6 address or network, no port */
		return parse_cidr(s, AF_INET6, d, why, wl);
	colon = strchr(s, ':');
	hlen = colon ? (size_t)(colon - s) : strlen(s);
	if (!hlen || hlen >= sizeof(host)) {
		snprintf(why, wl, "bad destination \"%.64s\"", s);
		return false;
	}
	memcpy(host, s, hlen);
	host[hlen] = 0;
	if (strspn(host, "0123456789./") == hlen) {
		if (!parse_cidr(host, AF_INET, d, why, wl))
			return false;
	} else if (strchr(host, '/')) {
		snprintf(why, wl, "bad destination \"%.64s\": a CIDR needs an IP address", s);
		return false;
	} else if (!parse_host(host, hlen, d, why, wl)) {
		return false;
	}
	return colon ? parse_ports(colon + 1, d, why, wl) : true;
}

/* ---- matching ---- */

static bool port_ok(const struct pol_dest *d, int port)
{
	return !d->port_lo || (port >= (int)d->port_lo && port <= (int)d->port_hi);
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || !((a[full] ^ b[full]) & (0xff00 >> rest));
}

static bool ip_match(const struct pol_dest *d, const char *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char buf[INET6_ADDRSTRLEN + 1];
	uint8_t a[16];
	size_t n = strcspn(ip, "%");	/* no zone index */

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, ip, n);
	buf[n] = 0;
	if (inet_pton(AF_INET, buf, a + 12) == 1) {
		if (d->kind == DEST_IP4)
			return prefix_eq(a + 12, d->addr, d->prefix);
		memcpy(a, mapped, sizeof(mapped));	/* against an IPv6 rule: ::ffff:a.b.c.d */
		return prefix_eq(a, d->addr, d->prefix);
	}
	if (inet_pton(AF_INET6, buf, a) != 1)
		return false;
	if (d->kind == DEST_IP6)
		return prefix_eq(a, d->addr, d->prefix);
	/* an IPv4 peer of a dual-stack socket: ::ffff:a.b.c.d */
	return !memcmp(a, mapped, sizeof(mapped)) && prefix_eq(a + 12, d->addr, d->prefix);
}

static bool host_match(const struct pol_dest *d, const char *domain)
{
	size_t n = strlen(domain), k = strlen(d->name);

	if (n && domain[n - 1] == '.')
		n--;
	if (!d->wildcard)
		return n == k && !strncasecmp(domain, d->name, k);
	return n > k + 1 && domain[n - k - 1] == '.' && !strncasecmp(domain + n - k, d->name, k);
}

bool dest_match(const struct pol_dest *d, const struct policy_use *u)
{
	if (!u->sink || strcmp(u->sink, "socket"))
		return false;
	switch (d->kind) {
	case DEST_UNIX:
		return u->unix_path && glob_match(d->name, u->unix_path, '/');
	case DEST_IP4:
	case DEST_IP6:
		return u->dest_ip && ip_match(d, u->dest_ip) && port_ok(d, u->dest_port);
	case DEST_HOST:
		return u->dest_domain && host_match(d, u->dest_domain) && port_ok(d, u->dest_port);
	}
	return false;
}
