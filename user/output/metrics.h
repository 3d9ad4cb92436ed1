/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --metrics: a Prometheus endpoint (/metrics) and the health checks a DaemonSet needs
 * (/healthz, /readyz), served by libmicrohttpd on its own thread. The tracer never waits for
 * it: once a tick it publishes a snapshot of its counters (numbers, and names the code fixes),
 * and a scrape formats the last one. Nothing a traced process sends can reach the endpoint.
 */
#ifndef SECRETRACE_METRICS_H
#define SECRETRACE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_NAME_LEN 32
#define METRICS_MAX_ACTIONS 16
#define METRICS_MAX_LOSSES 24

/* A counter with a label value the code fixes (an event.action, a tracer.loss reason). */
struct metrics_count {
	char name[METRICS_NAME_LEN];
	uint64_t value;
	bool bytes;		/* a loss counted in bytes (tracer.loss unit "bytes"), not events */
};

struct metrics_snapshot {
	struct metrics_count events[METRICS_MAX_ACTIONS];	/* events written, by action */
	struct metrics_count lost[METRICS_MAX_LOSSES];		/* losses, by reason */
	size_t nevents, nlost;
	uint64_t bytes_scanned, bytes_not_scanned;
	uint64_t secrets;		/* secrets held (learned: none is ever forgotten) */
	uint64_t probes_failed;		/* optional probes that did not attach */
	uint64_t traced_processes;
	uint64_t undelivered;		/* events the network outputs hold, not yet delivered */
	double ringbuf_fill;		/* kernel-to-tracer ring buffer, 0..1 */
};

/*
 * Parses spec ([ADDR]:PORT or PORT: ":9102" and "9102" are 127.0.0.1:9102, "0.0.0.0:9102",
 * "[::]:9102" (IPv6 and IPv4), "[::1]:9102"; numeric addresses only, port 0 picks a free
 * one), binds, loads libmicrohttpd and starts its thread. 0, or -errno with err saying why
 * (a bad spec, the address in use, no libmicrohttpd). Call it once no capability is needed
 * any more: the thread keeps the caller's.
 */
int metrics_start(const char *spec, char *err, size_t errlen);
/* The port bound (the one picked for port 0), 0 when not started. */
int metrics_port(void);
/* The tracer's counters, copied: scrapes from now on show them. */
void metrics_publish(const struct metrics_snapshot *s);
/* The event loop is alive; /healthz answers 503 after the stall time without one (counted
 * from metrics_start until the first). */
void metrics_heartbeat(void);
/* tracer.start is written: /readyz answers 200 from now on. */
void metrics_set_ready(void);
/* 5000 ms unless set (tests). */
void metrics_set_stall_ms(unsigned int ms);
/* Stops the thread and closes the socket; metrics_start may be called again. */
void metrics_stop(void);

#endif
