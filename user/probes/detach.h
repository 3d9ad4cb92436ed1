/* SPDX-License-Identifier: GPL-2.0 */
/* The detacher (detach.c): the links outlive the tracer's exit by the time the kernel takes
 * to detach them, in a process of its own that shares the tracer's descriptors. */
#ifndef SECRETRACE_DETACH_H
#define SECRETRACE_DETACH_H

#include <sys/types.h>

/* Starts the detacher; its pid, or -1 (then the tracer closes its links before it exits).
 * Before any thread is started and anything secret is read: it is a copy of the process. */
pid_t detach_start(void);

#endif
