/* SPDX-License-Identifier: GPL-2.0 */
/* Where JSON lines go: stdout (-) and file:PATH for now. Every failed write is counted. */
#ifndef SECRETRACE_SINKS_H
#define SECRETRACE_SINKS_H

#include <stddef.h>
#include <stdint.h>

#define SINKS_MAX 8

/* Validate and open; on error, err names the spec and the reason. */
int sinks_open(const char *const *specs, int n, char *err, size_t errlen);
void sinks_write(const char *line, size_t len);
void sinks_flush(void);
void sinks_close(void);
/* Lines not written by some sink since the last call (and in total). */
uint64_t sinks_take_failures(const char **which);
uint64_t sinks_failures_total(void);

#endif
