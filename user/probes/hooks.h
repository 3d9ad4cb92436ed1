/* SPDX-License-Identifier: GPL-2.0 */
/* Names of hooked calls, as events print them (secretrace.syscall). */
#ifndef SECRETRACE_HOOKS_H
#define SECRETRACE_HOOKS_H

#include <stdbool.h>

#include "secretrace.h"

static inline const char *hook_name(unsigned int hook)
{
	static const char *const names[ST_HOOK_MAX] = {
		[ST_HOOK_WRITE] = "write",
		[ST_HOOK_WRITEV] = "writev",
		[ST_HOOK_PWRITE64] = "pwrite64",
		[ST_HOOK_PWRITEV] = "pwritev",
		[ST_HOOK_PWRITEV2] = "pwritev2",
		[ST_HOOK_SENDTO] = "sendto",
		[ST_HOOK_SENDMSG] = "sendmsg",
		[ST_HOOK_SENDMMSG] = "sendmmsg",
		[ST_HOOK_EXECVE] = "execve",
		[ST_HOOK_READ] = "read",
		[ST_HOOK_READV] = "readv",
		[ST_HOOK_RECVFROM] = "recvfrom",
		[ST_HOOK_RECVMSG] = "recvmsg",
		[ST_HOOK_RECVMMSG] = "recvmmsg",
		[ST_HOOK_CONNECT] = "connect",
		[ST_HOOK_SENDFILE] = "sendfile",
		[ST_HOOK_SPLICE] = "splice",
		[ST_HOOK_IO_URING] = "io_uring_enter",
		[ST_HOOK_PROCESS_VM_WRITEV] = "process_vm_writev",
		[ST_HOOK_SSL_WRITE] = "SSL_write",
		[ST_HOOK_SSL_READ] = "SSL_read",
		[ST_HOOK_GNUTLS_SEND] = "gnutls_record_send",
		[ST_HOOK_GNUTLS_RECV] = "gnutls_record_recv",
		[ST_HOOK_GO_TLS_WRITE] = "go_tls_write",	/* crypto/tls.(*Conn).Write */
		[ST_HOOK_GO_TLS_READ] = "go_tls_read",	/* crypto/tls.(*Conn).Read */
	};

	return hook < ST_HOOK_MAX && names[hook] ? names[hook] : "unknown";
}

/* A call into a TLS library or Go's crypto/tls (the bytes are a TLS session's plaintext). */
static inline bool hook_is_tls(unsigned int hook)
{
	return hook >= ST_HOOK_SSL_WRITE && hook <= ST_HOOK_GO_TLS_READ;
}

#endif
