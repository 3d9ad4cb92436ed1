// SPDX-License-Identifier: GPL-2.0
/*
 * e2e agent for the race between learning a secret and its first use: for
 * each of three sinks (a file, a TCP socket, a pipe to a child process) it
 * fetches a KV v2 secret with fields "a" and "b" over plain HTTP, reading the
 * response with read() until Content-Length is satisfied, and writes field a
 * with write()/send() as the very next system call after the read() that
 * completed the response, then field b. All buffers are static and parsing
 * makes no system calls, so nothing happens in between.
 * usage: fast_leaker VAULT_HOST VAULT_PORT CREDS_FILE FILE PORT
 * Paths fetched: secret/data/fast/file, secret/data/fast/sock, secret/data/fast/pipe.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

static char resp[1 << 16], req[1024], token[256];

/* Complete when the head is in and Content-Length bytes of body follow it.
 * No system calls. */
static int complete(size_t got)
{
	const char *end = strstr(resp, "\r\n\r\n"), *cl;

	if (!end)
		return 0;
	cl = strcasestr(resp, "\r\nContent-Length:");
	if (!cl || cl > end)
		return 0;
	return got >= (size_t)(end + 4 - resp) + strtoul(cl + 17, NULL, 10);
}

/* Fetch PATH, then write fields a and b to SINK with write() or send(). */
static void fetch_and_leak(const char *host, int port, const char *path, int sink, int use_send)
{
	size_t got = 0, alen, blen;
	const char *a, *b;
	ssize_t n;
	int fd = connect_in(host, port, SOCK_STREAM);

	n = snprintf(req, sizeof(req),
		     "GET /v1/%s HTTP/1.1\r\nHost: %s:%d\r\nX-Vault-Token: %s\r\n\r\n", path, host,
		     port, token);
	if (write(fd, req, n) != n)
		die("write request");
	for (;;) {
		n = read(fd, resp + got, sizeof(resp) - 1 - got);
		if (n <= 0) {
			fprintf(stderr, "fast_leaker: %s: short response\n", path);
			exit(1);
		}
		got += n;
		resp[got] = 0;
		if (complete(got))
			break;
	}
	/* --- no system call between the read() above and the write below --- */
	a = json_str(resp, "a", &alen);
	b = json_str(resp, "b", &blen);
	if (!a || !b)
		exit(3);
	if (use_send)
		n = send(sink, a, alen, 0);
	else
		n = write(sink, a, alen);
	if (n != (ssize_t)alen)
		die("leak a");
	if (use_send)
		n = send(sink, b, blen, 0);
	else
		n = write(sink, b, blen);
	if (n != (ssize_t)blen)
		die("leak b");
	close(fd);
}

int main(int argc, char **argv)
{
	int file, sock, p[2], port, status;
	char buf[4096];
	pid_t child;

	if (argc != 6) {
		fprintf(stderr, "usage: fast_leaker VAULT_HOST VAULT_PORT CREDS FILE PORT\n");
		return 2;
	}
	port = atoi(argv[2]);
	read_token(argv[3], token, sizeof(token));

	file = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (file < 0)
		die("open file");
	sock = connect_in("127.0.0.1", atoi(argv[5]), SOCK_STREAM);
	if (pipe(p))
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		close(p[1]);
		while (read(p[0], buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(p[0]);

	fetch_and_leak(argv[1], port, "secret/data/fast/file", file, 0);
	fetch_and_leak(argv[1], port, "secret/data/fast/sock", sock, 1);
	fetch_and_leak(argv[1], port, "secret/data/fast/pipe", p[1], 0);

	close(p[1]);
	close(sock);
	close(file);
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	return 0;
}
