// SPDX-License-Identifier: GPL-2.0
/*
 * The event-rate workload: writes a 64-byte line holding the secret read from SECRET_FILE
 * to /dev/null, RATE times a second for MS milliseconds, paced in 1 ms slices (so the
 * tracer sees a steady stream rather than one burst). Every write is one use of the
 * secret; under a deny-all policy every use is one secret.violation event. Prints the
 * number of writes made and the rate achieved.
 *
 *   use_loop SECRET_FILE RATE MS
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	char line[64], secret[48];
	long long rate, t0, end, done = 0, due;
	struct timespec slice = { 0, 0 };
	ssize_t n;
	int fd, sf;

	if (argc != 4) {
		fprintf(stderr, "usage: use_loop SECRET_FILE RATE MS\n");
		return 2;
	}
	sf = open(argv[1], O_RDONLY);
	if (sf < 0 || (n = read(sf, secret, sizeof(secret) - 1)) < 8) {
		fprintf(stderr, "use_loop: %s: no secret of 8 bytes or more\n", argv[1]);
		return 1;
	}
	close(sf);
	memset(line, '.', sizeof(line));
	memcpy(line, "password=", 9);
	memcpy(line + 9, secret, (size_t)n < sizeof(line) - 10 ? (size_t)n : sizeof(line) - 10);
	line[sizeof(line) - 1] = '\n';
	memset(secret, 0, sizeof(secret));
	rate = atoll(argv[2]);
	fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || rate <= 0)
		return 1;
	t0 = now_ns();
	end = t0 + atoll(argv[3]) * 1000000LL;
	for (;;) {
		long long t = now_ns();

		if (t >= end)
			break;
		/* catch up to where the schedule says we should be by now */
		due = (t - t0) * rate / 1000000000LL;
		while (done < due) {
			if (write(fd, line, sizeof(line)) != sizeof(line))
				return 1;
			done++;
		}
		slice.tv_nsec = 1000000 - (t - t0) % 1000000;
		nanosleep(&slice, NULL);
	}
	printf("%lld %.0f\n", done, done * 1e9 / (double)(now_ns() - t0));
	return 0;
}
