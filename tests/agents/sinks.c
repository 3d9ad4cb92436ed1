// SPDX-License-Identifier: GPL-2.0
/*
 * e2e agent: fetch a KV v2 secret over plain HTTP (read() until EOF), then send
 * each of its fields through a different hooked call:
 *   pw  -> pwrite64() into FILE at offset 4096
 *   sm  -> sendmsg() on a TCP connection to 127.0.0.1:TCP_PORT, split over 2 iovecs
 *   smm -> sendmmsg() on an unconnected UDP socket to 127.0.0.1:UDP_PORT, as the
 *          second of two messages
 *   ux  -> write() on a unix stream socket connected to UNIX_PATH
 *   env -> execve("/bin/true") with API_KEY=<value> in the environment (child)
 * usage: sinks VAULT_HOST VAULT_PORT CREDS_FILE KV_PATH FILE TCP_PORT UDP_PORT UNIX_PATH
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
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

static char resp[1 << 20];

int main(int argc, char **argv)
{
	char token[256], req[1024], pw[256], sm[256], smm[256], ux[256], env[256];
	char envvar[300];
	size_t got = 0;
	ssize_t n;
	int fd, status;

	if (argc != 9) {
		fprintf(stderr, "usage: sinks VAULT_HOST VAULT_PORT CREDS KV_PATH FILE TCP_PORT UDP_PORT UNIX_PATH\n");
		return 2;
	}
	read_token(argv[3], token, sizeof(token));

	fd = connect_in(argv[1], atoi(argv[2]), SOCK_STREAM);
	n = snprintf(req, sizeof(req),
		     "GET /v1/%s HTTP/1.1\r\nHost: %s:%s\r\nX-Vault-Token: %s\r\nConnection: close\r\n\r\n",
		     argv[4], argv[1], argv[2], token);
	if (write(fd, req, n) != n)
		die("write request");
	while ((n = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += n;
	close(fd);
	resp[got] = 0;
	json_copy(resp, "pw", pw, sizeof(pw));
	json_copy(resp, "sm", sm, sizeof(sm));
	json_copy(resp, "smm", smm, sizeof(smm));
	json_copy(resp, "ux", ux, sizeof(ux));
	json_copy(resp, "env", env, sizeof(env));

	/* pwrite64 */
	fd = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("open file");
	if (pwrite(fd, pw, strlen(pw), 4096) != (ssize_t)strlen(pw))
		die("pwrite");
	close(fd);

	/* sendmsg, split over two iovecs */
	fd = connect_in("127.0.0.1", atoi(argv[6]), SOCK_STREAM);
	{
		size_t k = strlen(sm) / 3;
		struct iovec iov[2] = { { sm, k }, { sm + k, strlen(sm) - k } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

		if (sendmsg(fd, &m, 0) != (ssize_t)strlen(sm))
			die("sendmsg");
	}
	close(fd);

	/* sendmmsg, unconnected UDP, the secret in the second message */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	{
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[7])) };
		char hello[] = "hello";
		struct iovec iov0 = { hello, 5 }, iov1 = { smm, strlen(smm) };
		struct mmsghdr mm[2] = {
			{ .msg_hdr = { .msg_name = &a, .msg_namelen = sizeof(a), .msg_iov = &iov0, .msg_iovlen = 1 } },
			{ .msg_hdr = { .msg_name = &a, .msg_namelen = sizeof(a), .msg_iov = &iov1, .msg_iovlen = 1 } },
		};

		inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
		if (sendmmsg(fd, mm, 2, 0) != 2)
			die("sendmmsg");
	}
	close(fd);

	/* unix stream socket */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un u = { .sun_family = AF_UNIX };

		snprintf(u.sun_path, sizeof(u.sun_path), "%s", argv[8]);
		if (fd < 0 || connect(fd, (struct sockaddr *)&u, sizeof(u)))
			die("connect unix");
		if (write(fd, ux, strlen(ux)) != (ssize_t)strlen(ux))
			die("write unix");
	}
	close(fd);

	/* the environment of a child's execve */
	snprintf(envvar, sizeof(envvar), "API_KEY=%s", env);
	pid_t child = fork();

	if (child < 0)
		die("fork");
	if (child == 0) {
		char *cargv[] = { "true", NULL };
		char *cenv[] = { "PATH=/usr/bin:/bin", envvar, NULL };

		execve("/bin/true", cargv, cenv);
		_exit(127);
	}
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	return 0;
}
