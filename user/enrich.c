// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <dirent.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "emit.h"
#include "enrich.h"
#include "u64map.h"

static struct u64map connected;	/* (pid, fd) -> struct st_rec_connect * */

int enrich_init(void)
{
	return u64map_init(&connected, 64);
}

void enrich_free(void)
{
	size_t i = 0;
	uint64_t k, v;

	while (u64map_next(&connected, &i, &k, &v))
		free((void *)(uintptr_t)v);
	u64map_free(&connected);
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
	uint64_t k = fd_key(r->hdr.pid, r->fd), old;

	if (!copy)
		return;
	*copy = *r;
	if (u64map_get(&connected, k, &old))
		free((void *)(uintptr_t)old);
	if (u64map_put(&connected, k, (uintptr_t)copy))
		free(copy);
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
	if (u64map_get(&connected, fd_key(pid, fd), &v)) {
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

void enrich_sink(json_t *ev, uint32_t pid, int32_t fd, const struct st_sinkinfo *si,
		 const char *path)
{
	char ip[INET6_ADDRSTRLEN], pipe_id[48];
	const char *upath;
	int port;

	ev_str(ev, "secretrace.sink", sink_name(si->sink));
	if (si->sink == ST_SINK_SOCKET) {
		const struct st_addr *a = peer_of(pid, fd, si, &upath);

		ev_str(ev, "network.transport", transport_name(si->transport));
		enrich_addr(a, ip, sizeof(ip), &port);
		if (ip[0]) {
			ev_str(ev, "destination.ip", ip);
			ev_int(ev, "destination.port", port);
		}
		ev_str(ev, "destination.address", unix_peer(si, path, upath));
		if (si->transport == ST_TRANSPORT_UNIX)
			peer_fields(ev, "socket", si->ino, pid);
	} else if (si->sink == ST_SINK_PIPE) {
		snprintf(pipe_id, sizeof(pipe_id), "pipe:[%llu]", (unsigned long long)si->ino);
		ev_str(ev, "file.path", pipe_id);
		peer_fields(ev, "pipe", si->ino, pid);
	} else if (si->sink == ST_SINK_FILE || si->sink == ST_SINK_TTY) {
		if (si->path_len && si->path_off + si->path_len <= ST_PATH_MAX) {
			char buf[ST_PATH_MAX];

			snprintf(buf, sizeof(buf), "%.*s", si->path_len, path + si->path_off);
			ev_str(ev, "file.path", buf);
			if (si->path_truncated)
				ev_bool(ev, "secretrace.path_truncated", true);
		}
	}
}

void enrich_sink_key(uint32_t pid, int32_t fd, const struct st_sinkinfo *si, const char *path,
		     char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN];
	const char *upath;
	int port;

	if (si->sink == ST_SINK_SOCKET) {
		enrich_addr(peer_of(pid, fd, si, &upath), ip, sizeof(ip), &port);
		snprintf(out, outlen, "s|%u|%s|%d|%s", si->transport, ip, port,
			 unix_peer(si, path, upath) ? unix_peer(si, path, upath) : "");
	} else if (si->sink == ST_SINK_PIPE) {
		snprintf(out, outlen, "p|%llu", (unsigned long long)si->ino);
	} else if (si->path_len && si->path_off + si->path_len <= ST_PATH_MAX) {
		snprintf(out, outlen, "f|%u|%.*s", si->sink, si->path_len, path + si->path_off);
	} else {
		snprintf(out, outlen, "k|%u|%llu", si->sink, (unsigned long long)si->ino);
	}
}
