// SPDX-License-Identifier: GPL-2.0
/*
 * e2e agent: floods the tracer with uses. Reads a KV v2 secret's api_key over plain HTTP,
 * then writes a line holding it to /dev/null as fast as it can for SECONDS (one use record
 * per write), creating STARTED after the first 1,000 writes (another process's cue).
 * usage: use_spray VAULT_PORT CREDS_FILE SECONDS STARTED (the stand-in's creds file)
 * Prints the number of writes.
 */
#include "agent.h"

#include <time.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char token[256], key[512], line[600];
	double end;
	long long n = 0;
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: use_spray VAULT_PORT CREDS_FILE SECONDS STARTED\n");
		return 2;
	}
	read_token(argv[2], token, sizeof(token));
	fetch_api_key(atoi(argv[1]), token, key, sizeof(key));
	snprintf(line, sizeof(line), "key=%s\n", key);
	fd = open("/dev/null", O_WRONLY);
	if (fd < 0)
		die("open /dev/null");
	end = now() + atof(argv[3]);
	while (now() < end) {
		write_all(fd, line, strlen(line));
		if (++n == 1000) {
			int s = open(argv[4], O_WRONLY | O_CREAT, 0644);

			if (s < 0)
				die("open");
			close(s);
		}
	}
	printf("%lld\n", n);
	return 0;
}
