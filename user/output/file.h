/* SPDX-License-Identifier: GPL-2.0 */
/* The local outputs, written in the event loop: stdout, and file:PATH appended to and
 * rotated by size (PATH.1 the newest of `keep` old files). */
#ifndef SECRETRACE_SINK_FILE_H
#define SECRETRACE_SINK_FILE_H

#include <stddef.h>
#include <stdint.h>

struct sink_file;

/* path NULL: stdout. rotate_size 0: never rotated. */
struct sink_file *sink_file_open(const char *path, uint64_t rotate_size, unsigned keep,
				 char *err, size_t errlen);
/* 0, or -1 if the line was not written. */
int sink_file_write(struct sink_file *f, const char *line, size_t len);
int sink_file_flush(struct sink_file *f);
void sink_file_close(struct sink_file *f);

#endif
