// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <dirent.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "output/emit.h"
#include "enrich/destination.h"
#include "lib/u64map.h"

static struct u64map connected;	/* (pid, fd) -> struct st_rec_connect * */
static struct u64map domains;	/* (pid, fd) -> struct domain * */

/* A host name seen on a socket, and the socket (its inode): the fd number may be another
 * socket's by the time of a use (dup2 replaces it with neither a connect nor a close). */
struct domain {
	uint64_t ino;
	char name[];
};

int enrich_init(void)
{
	return u64map_init(&connected, 64) || u64map_init(&domains, 64) ? -1 : 0;
}

void enrich_free(void)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&connected, &i, &k, &v))
		free((void *)(uintptr_t)v);
	u64map_free(&connected);
	i = 0;
	while (u64map_next(&domains, &i, &k, &v))
		free((void *)(uintptr_t)v);
	u64map_free(&domains);
}

/* connected and domains own their values: one malloc'ed block per key */
static void drop_owned(struct u64map *m, uint64_t k)
{
	uint64_t old;

	if (u64map_get(m, k, &old)) {
		u64map_del(m, k);
		free((void *)(uintptr_t)old);
	}
}

/* Replace k's value with p (the old one freed first, so a failed put leaves no entry
 * pointing at it); p is freed if it cannot be stored. */
static void put_owned(struct u64map *m, uint64_t k, void *p)
{
	drop_owned(m, k);
	if (u64map_put(m, k, (uintptr_t)p))
		free(p);
}

static uint64_t fd_key(uint32_t pid, int32_t fd)
{
	return u64map_key(((uint64_t)pid << 32 | (uint32_t)fd) + 1);
}

void enrich_addr(const struct st_addr *a, char *ip, size_t iplen, int *port)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	ip[0] = 0;
	*port = 0;
	if (a->family == AF_INET) {
		inet_ntop(AF_INET, a->addr, ip, iplen);
	} else if (a->family == AF_INET6) {
		if (!memcmp(a->addr, mapped, sizeof(mapped)))
			inet_ntop(AF_INET, a->addr + 12, ip, iplen);
		else
			inet_ntop(AF_INET6, a->addr, ip, iplen);
	} else {
		return;
	}
	*port = a->port;
}

void enrich_connect(const struct st_rec_connect *r)
{
	struct st_rec_connect *copy = malloc(sizeof(*copy));
	uint64_t k = fd_key(r->hdr.pid, r->fd);

	/* a new connection on this fd: the host name of the last one is not its own */
	drop_owned(&domains, k);
	if (!copy)
		return;
	*copy = *r;
	put_owned(&connected, k, copy);
}

/* The server name of a TLS ClientHello (RFC 8446 4.1.2, RFC 6066 3), or NULL. */
static char *client_hello_sni(const uint8_t *p, size_t n)
{
	size_t at = 5 + 4 + 2 + 32, len, end;

	/* record: handshake (22), ClientHello (1) */
	if (n < at + 1 || p[0] != 22 || p[5] != 1)
		return NULL;
	at += 1 + p[at];			/* session id */
	if (at + 2 > n)
		return NULL;
	at += 2 + (p[at] << 8 | p[at + 1]);	/* cipher suites */
	if (at + 1 > n)
		return NULL;
	at += 1 + p[at];			/* compression methods */
	if (at + 2 > n)
		return NULL;
	end = at + 2 + (p[at] << 8 | p[at + 1]);
	at += 2;
	if (end > n)
		end = n;
	while (at + 4 <= end) {
		unsigned type = p[at] << 8 | p[at + 1];

		len = p[at + 2] << 8 | p[at + 3];
		at += 4;
		/* server_name: list length (2), name type 0 (1), name length (2), name */
		if (type == 0 && at + 5 <= end && p[at + 2] == 0) {
			size_t nl = p[at + 3] << 8 | p[at + 4];

			return at + 5 + nl <= end && nl ? strndup((const char *)p + at + 5, nl) : NULL;
		}
		at += len;
	}
	return NULL;
}

/* The Host header of an HTTP/1.x request (without a port), or NULL. */
static char *http_host(const uint8_t *p, size_t n)
{
	const char *s = (const char *)p, *end = s + n, *h, *e;

	for (h = s; h + 7 < end; h++) {
		if ((h == s || h[-1] == '\n') && !strncasecmp(h, "Host:", 5)) {
			for (h += 5; h < end && (*h == ' ' || *h == '\t'); h++)
				;
			for (e = h; e < end && *e != '\r' && *e != '\n' && *e != ':'; e++)
				;
			if (*h == '[')	/* [v6]:port */
				return NULL;
			return e > h && e < end ? strndup(h, e - h) : NULL;
		}
	}
	return NULL;
}

void enrich_peek(const struct st_rec_data *r)
{
	uint64_t k = fd_key(r->hdr.pid, r->fd);
	size_t n = r->len < ST_DATA_CHUNK ? r->len : ST_DATA_CHUNK;
	char *name = client_hello_sni(r->data, n);

	if (!name)
		name = http_host(r->data, n);
	if (name) {	/* an address literal is not a host name */
		uint8_t a[16];

		if (inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1) {
			free(name);
			name = NULL;
		}
	}
	if (name) {
		struct domain *d = malloc(sizeof(*d) + strlen(name) + 1);

		if (d) {
			d->ino = r->si.ino;
			strcpy(d->name, name);
			put_owned(&domains, k, d);
		}
		free(name);
	}
}

void enrich_exit(uint32_t pid)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&connected, &i, &k, &v)) {
		struct st_rec_connect *c = (void *)(uintptr_t)v;

		if (c->hdr.pid == pid) {
			u64map_del(&connected, k);
			free(c);
		}
	}
	/* the domains of its sockets: keys hold the pid */
	i = 0;
	while (u64map_next(&domains, &i, &k, &v)) {
		if ((k - 1) >> 32 == pid) {
			u64map_del(&domains, k);
			free((void *)(uintptr_t)v);
		}
	}
}

const char *transport_name(uint32_t t)
{
	switch (t) {
	case ST_TRANSPORT_TCP:
		return "tcp";
	case ST_TRANSPORT_UDP:
		return "udp";
	case ST_TRANSPORT_UNIX:
		return "unix";
	default:
		return NULL;
	}
}

static const char *sink_name(uint32_t sink)
{
	switch (sink) {
	case ST_SINK_SOCKET:
		return "socket";
	case ST_SINK_PIPE:
		return "pipe";
	case ST_SINK_TTY:
		return "tty";
	case ST_SINK_ARGV:
		return "argv";
	case ST_SINK_ENV:
		return "env";
	default:
		return "file";
	}
}

/* The peer: from the kernel socket, else from the connect() the process made. */
static const struct st_addr *peer_of(uint32_t pid, int32_t fd, const struct st_sinkinfo *si,
				     const char **unix_path)
{
	uint64_t v;

	*unix_path = NULL;
	if (si->dst.family == AF_INET || si->dst.family == AF_INET6) {
		static const uint8_t zero[16];

		if (si->dst.port || memcmp(si->dst.addr, zero, sizeof(zero)))
			return &si->dst;
	}
	/* Only the socket the connect was made on: dup2 may have put another one on the fd
	 * number since. si->ino is the socket's own inode, but a connected unix socket's is
	 * its peer's, which never equals the connecting socket's: such a socket's peer and
	 * path come from the kernel alone (a socketpair has none). */
	if (u64map_get(&connected, fd_key(pid, fd), &v) &&
	    ((const struct st_rec_connect *)(uintptr_t)v)->ino == si->ino) {
		const struct st_rec_connect *c = (void *)(uintptr_t)v;

		if (c->dst.family == AF_UNIX)
			*unix_path = c->path;
		return &c->dst;
	}
	return &si->dst;
}

static const char *unix_peer(const struct st_sinkinfo *si, const char *path, const char *fallback)
{
	static char buf[ST_PATH_MAX];

	if (si->transport != ST_TRANSPORT_UNIX)
		return NULL;
	if (si->path_len && si->path_off + si->path_len <= ST_PATH_MAX) {
		snprintf(buf, sizeof(buf), "%.*s", si->path_len, path + si->path_off);
		if (!buf[0] && si->path_len > 1)	/* abstract socket: "@name" */
			snprintf(buf, sizeof(buf), "@%.*s", si->path_len - 1, path + si->path_off + 1);
		return buf;
	}
	return fallback && *fallback ? fallback : NULL;
}

/* The other process holding `what` (pipe:[ino] or socket:[ino]) open: the reader of a
 * pipe, the peer of a unix socket. Walks /proc, so only for a first use. */
static uint32_t holder_of(const char *what, uint32_t not_pid)
{
	char dir[64], link[64], fdpath[384];
	struct dirent *p, *f;
	uint32_t found = 0;
	DIR *procs, *fds;

	procs = opendir("/proc");
	if (!procs)
		return 0;
	while (!found && (p = readdir(procs))) {
		uint32_t pid = strtoul(p->d_name, NULL, 10);

		if (!pid || pid == not_pid)
			continue;
		snprintf(dir, sizeof(dir), "/proc/%u/fd", pid);
		fds = opendir(dir);
		if (!fds)
			continue;
		while ((f = readdir(fds))) {
			ssize_t n;

			snprintf(fdpath, sizeof(fdpath), "%s/%s", dir, f->d_name);
			n = readlink(fdpath, link, sizeof(link) - 1);
			if (n > 0 && (link[n] = 0, !strcmp(link, what))) {
				found = pid;
				break;
			}
		}
		closedir(fds);
	}
	closedir(procs);
	return found;
}

static void peer_fields(json_t *ev, const char *kind, uint64_t ino, uint32_t writer)
{
	char what[64], comm[64], path[64];
	uint32_t pid;
	FILE *f;

	if (!ino)
		return;
	snprintf(what, sizeof(what), "%s:[%llu]", kind, (unsigned long long)ino);
	pid = holder_of(what, writer);
	if (!pid)
		return;
	ev_int(ev, "secretrace.peer.pid", pid);
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "r");
	if (f) {
		if (fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = 0;
			ev_str(ev, "secretrace.peer.name", comm);
		}
		fclose(f);
	}
}

void enrich_view(uint32_t pid, int32_t fd, const struct st_sinkinfo *si, const char *path,
		 struct sink_view *v)
{
	const char *upath, *peer;
	uint64_t dom;

	memset(v, 0, sizeof(*v));
	v->sink = sink_name(si->sink);
	v->pid = pid;
	v->ino = si->ino;
	if (si->sink == ST_SINK_SOCKET) {
		v->transport = transport_name(si->transport);
		enrich_addr(peer_of(pid, fd, si, &upath), v->ip, sizeof(v->ip), &v->port);
		peer = unix_peer(si, path, upath);
		if (peer)
			snprintf(v->address, sizeof(v->address), "%s", peer);
		if (u64map_get(&domains, fd_key(pid, fd), &dom)) {
			const struct domain *d = (const void *)(uintptr_t)dom;

			/* a unix socket's ino is its peer's: compared for TCP and UDP only */
			if (!d->ino || si->transport == ST_TRANSPORT_UNIX || d->ino == si->ino)
				v->domain = d->name;
		}
	} else if (si->sink == ST_SINK_PIPE) {
		snprintf(v->file, sizeof(v->file), "pipe:[%llu]", (unsigned long long)si->ino);
	} else if ((si->sink == ST_SINK_FILE || si->sink == ST_SINK_TTY) && si->path_len &&
		   si->path_off + si->path_len <= ST_PATH_MAX) {
		snprintf(v->file, sizeof(v->file), "%.*s", si->path_len, path + si->path_off);
		v->path_truncated = si->path_truncated;
	}
}

void enrich_sink(json_t *ev, const struct sink_view *v)
{
	ev_str(ev, "secretrace.sink", v->sink);
	ev_str(ev, "network.transport", v->transport);
	if (v->ip[0]) {
		ev_str(ev, "destination.ip", v->ip);
		ev_int(ev, "destination.port", v->port);
	}
	ev_str(ev, "destination.domain", v->domain);
	if (v->address[0])
		ev_str(ev, "destination.address", v->address);
	if (v->file[0])
		ev_str(ev, "file.path", v->file);
	if (v->path_truncated)
		ev_bool(ev, "secretrace.path_truncated", true);
	if (!strcmp(v->sink, "pipe"))
		peer_fields(ev, "pipe", v->ino, v->pid);
	else if (v->transport && !strcmp(v->transport, "unix"))
		peer_fields(ev, "socket", v->ino, v->pid);
}

void enrich_sink_key(const struct sink_view *v, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s|%s|%s|%d|%s|%s|%llu", v->sink, v->transport ? v->transport : "",
		 v->ip, v->port, v->address, v->file,
		 v->file[0] || v->ip[0] || v->address[0] ? 0ULL : (unsigned long long)v->ino);
}
