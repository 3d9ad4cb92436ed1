/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where JSON lines go: stdout (-), file:PATH (rotated by size), syslog over UDP, TCP and TLS,
 * HTTP(S) batched POST. Local outputs are written in the event loop; each network output
 * has a thread that delivers from its on-disk spool, so a slow or dead receiver never
 * slows tracing. Every event an output loses is counted, with the reason.
 */
#ifndef SECRETRACE_SINKS_H
#define SECRETRACE_SINKS_H

#include <stddef.h>
#include <stdint.h>

#include "output/sinks_cfg.h"

#define SINKS_MAX 8
#define SINKS_SPOOL_DIR "/var/lib/secretrace/spool"


void sinks_cfg_defaults(struct sinks_cfg *c);
/* Validate and open; on error, err names the output and the reason. */
int sinks_open(const char *const *specs, int n, const struct sinks_cfg *c, char *err,
	       size_t errlen);
/* Never blocks on a network output. */
void sinks_write(const char *line, size_t len);
void sinks_flush(void);
/* On stop: until every network output has delivered what it holds, or the flush timeout
 * (counted from the first call) has passed. */
void sinks_drain(void);
/* Events network outputs hold, not delivered (they stay in the spool for the next run). */
uint64_t sinks_undelivered(void);
void sinks_close(void);
/*
 * Events some output lost since the last call (0 when none): the output's name, the
 * tracer.loss reason (sink_write_failed, sink_spool_full, sink_spool_failed, sink_rejected,
 * sink_unconfirmed) and a phrase for stderr.
 */
uint64_t sinks_take_failures(const char **which, const char **reason, const char **what);
uint64_t sinks_failures_total(void);

#endif
