// SPDX-License-Identifier: GPL-2.0
/*
 * e2e agent: fetch a KV v2 secret over a plain TCP connection (GET with
 * X-Vault-Token, response read with read() until EOF), extract one field, then
 *  - on a connection to PORT_A: one writev() with the value split across two
 *    iovecs in the middle of the secret;
 *  - on a connection to PORT_B: for k = 1 .. len-1, one writev() with the
 *    split after byte k (len-1 calls).
 * usage: writev_split VAULT_HOST VAULT_PORT CREDS_FILE KV_PATH FIELD PORT_A PORT_B
 * e.g.   writev_split 127.0.0.1 8200 creds.json secret/data/agent/openai api_key 4000 4001
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
#include <unistd.h>

#include "agent.h"

static char resp[1 << 20];

static void writev_all(int fd, struct iovec *iov, int n)
{
	size_t want = 0;
	ssize_t w;

	for (int i = 0; i < n; i++)
		want += iov[i].iov_len;
	w = writev(fd, iov, n);
	if (w < 0 || (size_t)w != want)
		die("writev");
}

int main(int argc, char **argv)
{
	char token[256], req[1024], secret[1024];
	const char *body, *v;
	size_t got = 0, len;
	ssize_t n;
	int fd, a, b;

	if (argc != 8) {
		fprintf(stderr, "usage: writev_split VAULT_HOST VAULT_PORT CREDS KV_PATH FIELD PORT_A PORT_B\n");
		return 2;
	}
	read_token(argv[3], token, sizeof(token));
	fd = connect_in(argv[1], atoi(argv[2]), SOCK_STREAM);
	n = snprintf(req, sizeof(req),
		     "GET /v1/%s HTTP/1.1\r\nHost: %s:%s\r\nX-Vault-Token: %s\r\n"
		     "Connection: close\r\n\r\n", argv[4], argv[1], argv[2], token);
	write_all(fd, req, n);
	while ((n = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += n;
	if (n < 0)
		die("read");
	close(fd);
	resp[got] = 0;
	body = strstr(resp, "\r\n\r\n");
	if (!body || !(v = json_str(body, argv[5], &len)) || len < 2 || len >= sizeof(secret)) {
		fprintf(stderr, "writev_split: field %s not in the response\n", argv[5]);
		return 1;
	}
	memcpy(secret, v, len);

	/* one writev, split in the middle of the secret */
	a = connect_in("127.0.0.1", atoi(argv[6]), SOCK_STREAM);
	{
		char pre[] = "Authorization: Bearer ";
		char post[] = "\r\n";
		char first[sizeof(pre) + sizeof(secret)];
		size_t k = len / 2;

		memcpy(first, pre, sizeof(pre) - 1);
		memcpy(first + sizeof(pre) - 1, secret, k);
		struct iovec iov[3] = {
			{ first, sizeof(pre) - 1 + k },
			{ secret + k, len - k },
			{ post, sizeof(post) - 1 },
		};
		/* two iovecs carry the secret; the third is a harmless suffix */
		writev_all(a, iov, 3);
	}
	close(a);

	/* a writev for every split offset */
	b = connect_in("127.0.0.1", atoi(argv[7]), SOCK_STREAM);
	for (size_t k = 1; k < len; k++) {
		struct iovec iov[2] = { { secret, k }, { secret + k, len - k } };

		writev_all(b, iov, 2);
	}
	close(b);
	return 0;
}
