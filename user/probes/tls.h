/* SPDX-License-Identifier: GPL-2.0 */
/* Uprobes on TLS libraries (OpenSSL, GnuTLS), per file, for every process; the links are
 * kept with the other probes (probes.h). */
#ifndef SECRETRACE_TLS_ATTACH_H
#define SECRETRACE_TLS_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

struct probes;

/* Every OpenSSL/GnuTLS on the library paths, node in PATH. Returns files attached. */
int tls_attach_system(struct probes *p);
/* A file, if it exports TLS functions (once per file). Returns functions attached. */
int tls_attach_file(struct probes *p, const char *path);
/* What a process maps, resolved through its root (containers). */
int tls_attach_process(struct probes *p, uint32_t pid);
/* A process's executable, if it may hold a TLS library statically (node). */
int tls_attach_exe(struct probes *p, uint32_t pid, const char *exe);
const char *tls_attached(void);
/* Forget the files looked at (the links themselves are the probes' to destroy). */
void tls_free(void);

#endif
