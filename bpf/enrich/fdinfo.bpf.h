/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a file descriptor leads: socket peer, file path, pipe or tty, read from the
 * kernel's own structures (CO-RE). bpf_d_path is not allowed in tracepoints, so file
 * paths are walked from the dentry up, crossing mounts.
 */
#ifndef SECRETRACE_FDINFO_BPF_H
#define SECRETRACE_FDINFO_BPF_H

#include "maps.bpf.h"

#define ST_S_IFMT 00170000
#define ST_S_IFSOCK 0140000
#define ST_S_IFREG 0100000
#define ST_S_IFCHR 0020000
#define ST_S_IFIFO 0010000
#define ST_AF_UNIX 1
#define ST_AF_INET 2
#define ST_AF_INET6 10
#define ST_SOCK_STREAM 1
#define ST_SOCK_DGRAM 2
#define ST_PATH_DEPTH 40
#define ST_NAME_READ 255

static __always_inline struct file *st_fd_file(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline __u32 st_file_mode(struct file *f)
{
	return BPF_CORE_READ(f, f_inode, i_mode) & ST_S_IFMT;
}

static __always_inline bool st_fd_is_socket(int fd)
{
	struct file *f = st_fd_file(fd);

	return f && st_file_mode(f) == ST_S_IFSOCK;
}

/* Fill dst from a user sockaddr (sendto/sendmsg destination, connect argument). */
static __always_inline __u16 st_read_sockaddr(struct st_addr *dst, __u64 uaddr, __u32 len)
{
	struct sockaddr_in6 sa = {};

	if (!uaddr || len < 2)
		return 0;
	if (len > sizeof(sa))
		len = sizeof(sa);
	barrier_var(len);
	if (bpf_probe_read_user(&sa, len & 0x1f, (void *)uaddr))
		return 0;
	dst->family = sa.sin6_family;
	dst->port = bpf_ntohs(sa.sin6_port);
	if (sa.sin6_family == ST_AF_INET)
		__builtin_memcpy(dst->addr, &((struct sockaddr_in *)&sa)->sin_addr, 4);
	else if (sa.sin6_family == ST_AF_INET6)
		__builtin_memcpy(dst->addr, &sa.sin6_addr, 16);
	return sa.sin6_family;
}

static __always_inline __u32 st_transport(struct socket *sock, __u16 family)
{
	short type = BPF_CORE_READ(sock, type);

	if (family == ST_AF_UNIX)
		return ST_TRANSPORT_UNIX;
	if (family != ST_AF_INET && family != ST_AF_INET6)
		return ST_TRANSPORT_OTHER;
	if (type == ST_SOCK_STREAM)
		return ST_TRANSPORT_TCP;
	if (type == ST_SOCK_DGRAM)
		return ST_TRANSPORT_UDP;
	return ST_TRANSPORT_OTHER;
}

/* The peer of a socket: inet address and port, or a unix socket's bound path. */
static __always_inline void st_socket_peer(struct file *f, struct st_sinkinfo *si, char *path)
{
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	si->transport = st_transport(sock, family);
	if (family == ST_AF_INET || family == ST_AF_INET6) {
		/* An unconnected datagram socket leaves these zero; the caller then uses the
		 * call's own sockaddr. */
		si->dst.family = family;
		si->dst.port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		/* sized reads: BPF_CORE_READ_INTO into an array would copy one element */
		if (family == ST_AF_INET)
			bpf_core_read(si->dst.addr, 4, &sk->__sk_common.skc_daddr);
		else
			bpf_core_read(si->dst.addr, 16, &sk->__sk_common.skc_v6_daddr);
	} else if (family == ST_AF_UNIX) {
		struct sock *peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
		struct unix_address *ua;
		__u32 n;
		int len;

		si->dst.family = family;
		if (!peer)
			return;
		/* the peer's inode: userspace finds the process holding it */
		si->ino = BPF_CORE_READ(peer, sk_socket, file, f_inode, i_ino);
		ua = BPF_CORE_READ((struct unix_sock *)peer, addr);
		if (!ua)
			return;
		len = BPF_CORE_READ(ua, len) - 2;	/* minus sun_family */
		if (len <= 0)
			return;
		if (len > 107)
			len = 107;
		n = len;
		barrier_var(n);
		bpf_probe_read_kernel(path, n & 0x7f, &ua->name[0].sun_path);
		si->path_off = 0;
		si->path_len = len;
	}
}

/* An address folded into 64 bits (IPv6 by halves), for a connection's key. */
static __always_inline __u64 st_fold_addr(struct sock_common *c, bool local, __u16 family)
{
	__u64 w[2] = {};

	if (family == ST_AF_INET)
		return local ? BPF_CORE_READ(c, skc_rcv_saddr) : BPF_CORE_READ(c, skc_daddr);
	if (local)
		bpf_core_read(w, 16, &c->skc_v6_rcv_saddr);
	else
		bpf_core_read(w, 16, &c->skc_v6_daddr);
	return w[0] ^ (w[1] * 0x9e3779b97f4a7c15ULL);
}

/*
 * The key under which bytes written to f are found again by whoever reads them: the inode of
 * a file or pipe, the receiving sock of a unix socket, or a TCP connection seen from its
 * receiving end, so that the writer (receiver = its peer) and the reader (receiver =
 * itself) compute the same key. False if f is none of these.
 */
static __always_inline bool st_taint_key(struct file *f, bool writer, struct st_taint_key *k)
{
	__u32 mode = st_file_mode(f);
	struct sock_common *c;
	struct socket *sock;
	struct sock *sk;
	__u64 ra, la, rp, lp;
	__u16 family;

	if (mode != ST_S_IFSOCK) {
		k->kind = ST_TAINT_INODE;
		k->id = (__u64)BPF_CORE_READ(f, f_inode);
		return true;
	}
	sock = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(sock, sk);
	c = &sk->__sk_common;
	family = BPF_CORE_READ(c, skc_family);
	if (family == ST_AF_UNIX) {
		/* the receiving sock itself: it exists from connect on, before the server's
		 * accept gives it a file */
		k->kind = ST_TAINT_SOCK;
		k->id = writer ? (__u64)BPF_CORE_READ((struct unix_sock *)sk, peer) : (__u64)sk;
		return k->id != 0;
	}
	if ((family != ST_AF_INET && family != ST_AF_INET6) ||
	    BPF_CORE_READ(sock, type) != ST_SOCK_STREAM)
		return false;
	ra = st_fold_addr(c, false, family);
	la = st_fold_addr(c, true, family);
	rp = bpf_ntohs(BPF_CORE_READ(c, skc_dport));
	lp = BPF_CORE_READ(c, skc_num);
	k->kind = ST_TAINT_TCP;
	/* (receiver address, port, sender address, port) */
	k->id = writer ? (ra * 0xff51afd7ed558ccdULL) ^ (la * 0xc4ceb9fe1a85ec53ULL) ^ (rp << 16 | lp)
		       : (la * 0xff51afd7ed558ccdULL) ^ (ra * 0xc4ceb9fe1a85ec53ULL) ^ (lp << 16 | rp);
	return true;
}

struct st_walk {
	char *path;
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *mnt_root;
	__u32 pos;		/* the path so far is path[pos..ST_PATH_MAX - 256) */
	__u32 truncated;
};

static long st_walk_step(__u32 i, struct st_walk *w)
{
	/* locals, so that CO-RE relocations name kernel types only */
	struct dentry *dentry = w->dentry, *parent;
	struct mount *mnt = w->mnt;
	const unsigned char *name;
	__u32 len;

	st_loop_forget(w->pos);
	if (dentry == w->mnt_root) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (!up || up == mnt)
			return 1;
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		w->mnt_root = BPF_CORE_READ(up, mnt.mnt_root);
		return 0;
	}
	parent = BPF_CORE_READ(dentry, d_parent);
	if (!parent || parent == dentry)
		return 1;
	len = BPF_CORE_READ(dentry, d_name.len);
	name = BPF_CORE_READ(dentry, d_name.name);
	if (len > ST_NAME_READ)
		len = ST_NAME_READ;
	if (w->pos < len + 1) {
		w->truncated = 1;
		return 1;
	}
	w->pos -= len;
	bpf_probe_read_kernel(w->path + (w->pos & (ST_PATH_MAX - 256 - 1)), len & ST_NAME_READ, name);
	w->pos -= 1;
	w->path[w->pos & (ST_PATH_MAX - 256 - 1)] = '/';
	w->dentry = parent;
	return 0;
}

/* Absolute path of an open file (as seen from the initial mount namespace). */
static __always_inline void st_file_path(struct file *f, struct st_sinkinfo *si, char *path)
{
	struct mount *mnt = container_of(BPF_CORE_READ(f, f_path.mnt), struct mount, mnt);
	struct st_walk w = {
		.path = path,
		.dentry = BPF_CORE_READ(f, f_path.dentry),
		.mnt = mnt,
		.mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root),
		.pos = ST_PATH_MAX - 256,
	};

	st_loop(ST_PATH_DEPTH, st_walk_step, &w);
	if (w.pos == ST_PATH_MAX - 256) {	/* the root itself */
		w.pos -= 1;
		path[w.pos & (ST_PATH_MAX - 256 - 1)] = '/';
	}
	si->path_off = w.pos;
	si->path_len = ST_PATH_MAX - 256 - w.pos;
	si->path_truncated = w.truncated;
}

static __always_inline bool st_is_tty(struct file *f)
{
	__u32 major = BPF_CORE_READ(f, f_inode, i_rdev) >> 20;

	/* 4: ttyN/ttySN, 5: tty/console/ptmx, 136-143: pts */
	return major == 4 || major == 5 || (major >= 136 && major <= 143);
}

/* Classify fd and describe its far end. uname/ulen: the call's own destination, if any. */
static __always_inline void st_describe_fd(int fd, __u64 uname, __u32 ulen,
					   struct st_sinkinfo *si, char *path)
{
	struct file *f = st_fd_file(fd);
	__u32 mode;

	if (!f)
		return;
	mode = st_file_mode(f);
	si->ino = BPF_CORE_READ(f, f_inode, i_ino);	/* a unix socket's is its peer's */
	if (mode == ST_S_IFSOCK) {
		si->sink = ST_SINK_SOCKET;
		st_socket_peer(f, si, path);
		if (uname) {
			struct st_addr a = {};

			if (st_read_sockaddr(&a, uname, ulen))
				si->dst = a;
		}
	} else if (mode == ST_S_IFIFO) {
		si->sink = ST_SINK_PIPE;
		st_file_path(f, si, path);
	} else if (mode == ST_S_IFCHR && st_is_tty(f)) {
		si->sink = ST_SINK_TTY;
		st_file_path(f, si, path);
	} else {
		si->sink = ST_SINK_FILE;
		st_file_path(f, si, path);
	}
}

#endif /* SECRETRACE_FDINFO_BPF_H */
