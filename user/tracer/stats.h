/* SPDX-License-Identifier: GPL-2.0 */
/* Counters: every loss becomes a tracer.loss event and a line on stderr as it happens;
 * tracer.stop carries the totals. */
#ifndef SECRETRACE_STATS_H
#define SECRETRACE_STATS_H

#include <jansson.h>

struct probes;
struct metrics_snapshot;

void stats_init(struct probes *p);
/* Report losses since the last call. */
void stats_poll(void);
/* secretrace.stats.* of tracer.stop */
void stats_fill_stop(json_t *ev);
/* The counters as of the last stats_poll, for metrics_publish. It walks the traced-process
 * map (a system call per process): once a second is plenty for scrapes. */
void stats_fill_metrics(struct metrics_snapshot *s);

#endif
