/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The syscalls secretrace hooks at their exit, shared by BPF and userspace. Each family is
 * one BPF program attached to every one of its syscalls' exit tracepoints (user/probes/load.c), and
 * the program tells them apart by the syscall number in its context: one program to
 * verify per family instead of one per syscall, which is most of the start-up time.
 *
 * X(name, x86-64 number, hook, family); the numbers are checked against <sys/syscall.h>
 * when userspace is built.
 */
#ifndef SECRETRACE_SYSCALLS_H
#define SECRETRACE_SYSCALLS_H

/* outgoing buffers, scanned: bpf/probes/send.bpf.c */
#define ST_SEND_SYSCALLS(X)                                                                  \
	X(write, 1, ST_HOOK_WRITE)                                                           \
	X(pwrite64, 18, ST_HOOK_PWRITE64)                                                    \
	X(writev, 20, ST_HOOK_WRITEV)                                                        \
	X(pwritev, 296, ST_HOOK_PWRITEV)                                                     \
	X(pwritev2, 328, ST_HOOK_PWRITEV2)                                                   \
	X(sendto, 44, ST_HOOK_SENDTO)                                                        \
	X(sendmsg, 46, ST_HOOK_SENDMSG)                                                      \
	X(sendmmsg, 307, ST_HOOK_SENDMMSG)

/* incoming buffers, copied only on Vault connections: bpf/probes/recv.bpf.c */
#define ST_RECV_SYSCALLS(X)                                                                  \
	X(read, 0, ST_HOOK_READ)                                                             \
	X(readv, 19, ST_HOOK_READV)                                                          \
	X(recvfrom, 45, ST_HOOK_RECVFROM)                                                    \
	X(recvmsg, 47, ST_HOOK_RECVMSG)                                                      \
	X(recvmmsg, 299, ST_HOOK_RECVMMSG)

/* calls that move bytes secretrace cannot see, counted: bpf/probes/process.bpf.c */
#define ST_UNSCANNED_SYSCALLS(X)                                                             \
	X(sendfile64, 40, ST_HOOK_SENDFILE)                                                  \
	X(splice, 275, ST_HOOK_SPLICE)                                                       \
	X(process_vm_writev, 311, ST_HOOK_PROCESS_VM_WRITEV)                                 \
	X(io_uring_enter, 426, ST_HOOK_IO_URING)

#endif /* SECRETRACE_SYSCALLS_H */
