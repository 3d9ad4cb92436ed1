/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the C e2e agents share: failing loudly, connecting, writing whole buffers, and
 * finding a string value in a JSON text (the Vault stand-in's responses and its creds
 * file). None of it makes a system call it does not name, so an agent that must call
 * nothing between a read and its next write can parse in between.
 */
#ifndef SECRETRACE_AGENT_H
#define SECRETRACE_AGENT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(errno));
	exit(1);
}

/* A connected socket of type (SOCK_STREAM, SOCK_DGRAM) to host:port (IPv4). */
static inline int connect_in(const char *host, int port, int type)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, type, 0);

	if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	return fd;
}

static inline void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			die("write");
		p += w;
		n -= w;
	}
}

/* The string value of "key" in a JSON text (compact or pretty-printed): a pointer into
 * it, and its length; NULL if absent. */
static inline const char *json_str(const char *text, const char *key, size_t *len)
{
	char pat[256];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(text, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p++ != '"')
		return NULL;
	e = strchr(p, '"');
	if (!e)
		return NULL;
	*len = e - p;
	return p;
}

/* The string value of "key" in text into out (NUL-terminated); exits if absent. */
static inline size_t json_copy(const char *text, const char *key, char *out, size_t outlen)
{
	size_t len;
	const char *v = json_str(text, key, &len);

	if (!v || len >= outlen) {
		fprintf(stderr, "%s: no %s in the response\n", program_invocation_short_name, key);
		exit(1);
	}
	memcpy(out, v, len);
	out[len] = 0;
	return len;
}

/* The root token from the Vault stand-in's creds file. */
static inline void read_token(const char *path, char *out, size_t outlen)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("open creds");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	json_copy(buf, "root_token", out, outlen);
}

/* GET secret/data/agent/openai from the stand-in at 127.0.0.1:port over plain HTTP; the
 * api_key of its answer into key. */
static inline void fetch_api_key(int port, const char *token, char *key, size_t keylen)
{
	static char resp[1 << 16];
	char req[1024];
	size_t got = 0;
	ssize_t r;
	int fd = connect_in("127.0.0.1", port, SOCK_STREAM);

	snprintf(req, sizeof(req), "GET /v1/secret/data/agent/openai HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "X-Vault-Token: %s\r\nConnection: close\r\n\r\n", token);
	write_all(fd, req, strlen(req));
	while (got < sizeof(resp) - 1 && (r = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += r;
	close(fd);
	resp[got] = 0;
	json_copy(resp, "api_key", key, keylen);
}

#endif
