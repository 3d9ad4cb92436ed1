/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Node modes, reach scope: a process that opens a learned file (--learn-file, a pod's
 * secrets mount) joins the reach set before it can read it, as one reading a file a traced
 * write tainted does. fanotify permission events on the files' inodes, answered by a thread
 * of their own.
 */
#ifndef SECRETRACE_LEARN_REACH_FILES_H
#define SECRETRACE_LEARN_REACH_FILES_H

#include <stddef.h>

/* Before the privileges are dropped (fanotify_init needs CAP_SYS_ADMIN); traced_map_fd:
 * the kernel's reach set. 0, or -1 with err set (then marks are never made). */
int reach_files_init(int traced_map_fd, char *err, size_t errlen);
/* The file open at fd was learned from: its openers join from now on (the thread that
 * answers them starts at the first). Nothing without reach_files_init. */
void reach_files_mark(int fd);
/* Stops the thread; opens waiting on it are let through. */
void reach_files_free(void);

#endif
