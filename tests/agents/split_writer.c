// SPDX-License-Identifier: GPL-2.0
/*
 * e2e agent: reads a secret from stdin and writes it in pieces, as loggers and shells do:
 *   split_writer bytes FILE     one byte per write(2)
 *   split_writer threes PORT    three bytes per send(2) to 127.0.0.1:PORT
 *   split_writer stdio FILE     through a 4096-byte stdio buffer, placed so that the
 *                               flush boundary cuts the secret in two
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char secret[4096], pad[4096];
	ssize_t len = 0, n, i;

	if (argc != 3)
		return 2;
	while ((n = read(0, secret + len, sizeof(secret) - 1 - len)) > 0)
		len += n;
	if (len <= 0)
		return 1;
	if (!strcmp(argv[1], "bytes")) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);

		for (i = 0; i < len; i++)
			if (write(fd, secret + i, 1) != 1)
				return 1;
		return write(fd, "\n", 1) == 1 ? 0 : 1;
	}
	if (!strcmp(argv[1], "threes")) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return 1;
		for (i = 0; i < len; i += 3)
			if (send(fd, secret + i, len - i < 3 ? len - i : 3, 0) < 0)
				return 1;
		return 0;
	}
	if (!strcmp(argv[1], "stdio")) {
		FILE *f = fopen(argv[2], "w");
		static char buf[4096];

		setvbuf(f, buf, _IOFBF, sizeof(buf));
		memset(pad, '.', sizeof(pad));
		fwrite(pad, 1, sizeof(buf) - len / 2, f);	/* the flush falls mid-secret */
		fwrite(secret, 1, len, f);
		fwrite(pad, 1, 100, f);
		return fclose(f) ? 1 : 0;
	}
	return 2;
}
