/* SPDX-License-Identifier: GPL-2.0 */
/* Uprobes on Go binaries' crypto/tls (docs/go.md), per file, for every process; the links
 * are kept with the other probes (probes.h). */
#ifndef SECRETRACE_GO_ATTACH_H
#define SECRETRACE_GO_ATTACH_H

#include <stdint.h>

struct probes;

/* A file, if it is a supported Go binary with crypto/tls (once per file: device, inode).
 * Returns the probes attached (0: not Go, no crypto/tls, unsupported, seen before). An
 * unsupported Go binary gets one warning naming it and why. */
int go_attach_file(struct probes *p, const char *path);
/* A process's executable, resolved through its root (containers). */
int go_attach_exe(struct probes *p, uint32_t pid, const char *exe);
/* A running process's executable (/proc/PID/exe). */
int go_attach_process(struct probes *p, uint32_t pid);
/* The Go binaries with probes, comma-separated. */
const char *go_attached(void);
/* Forget the files looked at (the links themselves are the probes' to destroy). */
void go_free(void);

#endif
