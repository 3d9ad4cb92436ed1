/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Go binaries: where crypto/tls.(*Conn).Write and .Read start and return, and how to reach
 * the socket from a *tls.Conn, read from the file alone (docs/go.md). Nothing here attaches
 * a probe: it says where one may go.
 */
#ifndef SECRETRACE_GOBIN_H
#define SECRETRACE_GOBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GOBIN_MAX_RETS 32

struct go_func {
	uint64_t entry;		/* file offset of the first instruction (a uprobe's) */
	uint64_t rets[GOBIN_MAX_RETS];	/* file offsets of every RET inside the function */
	int nrets;
};

struct go_binary {
	char version[32];	/* "go1.19.8" from the build info; "" if unknown */
	int major, minor;	/* 1, 19 */
	bool stripped;		/* no .symtab: symbols came from .gopclntab */
	bool has_dwarf;
	struct go_func write, read;	/* crypto/tls.(*Conn).Write and .Read */
	/* Offsets to reach the socket's file descriptor from a *tls.Conn: */
	int64_t conn_iface_off;	/* tls.Conn.conn (a net.Conn interface: itab, data) */
	int64_t netconn_fd_off;	/* net.conn.fd (*netFD) inside *net.TCPConn (iface data) */
	int64_t netfd_pfd_off;	/* netFD.pfd (poll.FD) */
	int64_t pfd_sysfd_off;	/* poll.FD.Sysfd (int) */
	const char *offsets_from;	/* "dwarf" or "table" */
	bool regabi;		/* register ABI (Go 1.17+ on amd64) */
};

/* The Go versions whose layouts (pclntab, ABI, the table of offsets) are known. */
#define GOBIN_MIN_MINOR 17
#define GOBIN_MAX_MINOR 23

/*
 * Is path a Go executable (or shared object) with crypto/tls? Fills b. Returns 0;
 * -ENOENT if it is not a Go binary or has no crypto/tls; -ENOTSUP if it is a Go binary
 * this code does not support (another architecture, a Go version outside
 * GOBIN_MIN_MINOR..GOBIN_MAX_MINOR, a table format it does not know, a function it cannot
 * disassemble); -EINVAL if the file is damaged (truncated, tables pointing outside it);
 * another -errno if it cannot be opened or mapped. On every error why (if whylen) holds
 * one line saying what it is; nothing is ever guessed.
 */
int gobin_inspect(const char *path, struct go_binary *b, char *why, size_t whylen);

#endif
