// SPDX-License-Identifier: GPL-2.0
/*
 * e2e agent small enough to be a container's whole image (built static): read a KV v2 secret
 * over plain HTTP and send its api_key to a TCP receiver, both on 127.0.0.1.
 * usage: kv_send VAULT_PORT TOKEN_FILE PORT
 * (TOKEN_FILE holds the token alone, as the harness's token_file() writes it.)
 */
#include "agent.h"

int main(int argc, char **argv)
{
	char token[256], key[512], line[600];
	ssize_t n;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: kv_send VAULT_PORT TOKEN_FILE PORT\n");
		return 2;
	}
	fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		die("open token");
	n = read(fd, token, sizeof(token) - 1);
	close(fd);
	token[n > 0 ? n : 0] = 0;
	token[strcspn(token, "\r\n")] = 0;
	fetch_api_key(atoi(argv[1]), token, key, sizeof(key));
	snprintf(line, sizeof(line), "key=%s\n", key);
	fd = connect_in("127.0.0.1", atoi(argv[3]), SOCK_STREAM);
	write_all(fd, line, strlen(line));
	close(fd);
	return 0;
}
