// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's workload: for each SIZE, calls of write(2) to /dev/null (or sendto(2)
 * to a local UDP socket) of SIZE bytes, timed, about BUDGET_MS milliseconds each. With a
 * fifo argument, it waits for one byte on it before starting (so a tracer can attach
 * first). Prints "SIZE NS_PER_CALL" per size.
 *
 *   write_loop write|sendto SIZE[,SIZE...] BUDGET_MS [GO_FIFO]
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int one_call(int fd, int use_sendto, const char *buf, size_t size,
		    const struct sockaddr_in *sin)
{
	/* UDP to a socket that is never read: the kernel drops what its buffer cannot hold,
	 * after the copy (and the scan) */
	if (use_sendto)
		return sendto(fd, buf, size, MSG_DONTWAIT, (const struct sockaddr *)sin,
			      sizeof(*sin)) < 0 ? -1 : 0;
	return write(fd, buf, size) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	size_t sizes[16], nsizes = 0, max = 0, i, k;
	char *buf, *list, *tok, *save = NULL;
	double budget, t0, t;
	int fd, use_sendto;

	if (argc < 4) {
		fprintf(stderr, "usage: write_loop write|sendto SIZE[,SIZE...] BUDGET_MS [GO_FIFO]\n");
		return 2;
	}
	use_sendto = !strcmp(argv[1], "sendto");
	list = strdup(argv[2]);
	for (tok = strtok_r(list, ",", &save); tok && nsizes < 16; tok = strtok_r(NULL, ",", &save)) {
		sizes[nsizes] = strtoul(tok, NULL, 10);
		if (sizes[nsizes] > max)
			max = sizes[nsizes];
		nsizes++;
	}
	budget = atof(argv[3]) * 1e6;
	buf = malloc(max);
	for (i = 0; i < max; i++)	/* text that holds no secret, every page touched */
		buf[i] = "the quick brown fox jumps over the lazy dog "[i % 44];
	if (use_sendto) {
		int rx = socket(AF_INET, SOCK_DGRAM, 0);
		socklen_t len = sizeof(sin);

		bind(rx, (struct sockaddr *)&sin, sizeof(sin));
		getsockname(rx, (struct sockaddr *)&sin, &len);
		fd = socket(AF_INET, SOCK_DGRAM, 0);
	} else {
		fd = open("/dev/null", O_WRONLY);
	}
	if (argc > 4) {
		char go;
		int f = open(argv[4], O_RDONLY);

		if (f < 0 || read(f, &go, 1) != 1)
			return 1;
		close(f);
	}
	for (k = 0; k < nsizes; k++) {
		/* UDP carries at most 65507 bytes: larger sends fail before copying anything */
		size_t size = use_sendto && sizes[k] > 65000 ? 65000 : sizes[k];
		size_t n = 0, batch = 64;

		for (i = 0; i < 256; i++)	/* warm up */
			one_call(fd, use_sendto, buf, size, &sin);
		t0 = now_ns();
		do {
			for (i = 0; i < batch; i++)
				if (one_call(fd, use_sendto, buf, size, &sin))
					return 1;
			n += batch;
			t = now_ns();
		} while (t - t0 < budget);
		printf("%zu %.1f\n", sizes[k], (t - t0) / n);
		fflush(stdout);
	}
	return 0;
}
