// SPDX-License-Identifier: GPL-2.0
/*
 * The bench's two reference designs on the hooks secretrace uses for write(2) and
 * sendto(2) (tools/bench/peers.c loads them):
 *
 *   floor     each call's bytes (up to the scan limit) copied from user memory into a
 *             per-CPU buffer, nothing else: what looking at the bytes at all costs.
 *   copy-out  the same copy, then the bytes sent through a ring buffer to a userspace
 *             matcher, as bcc's sslsniff and eCapture do.
 *
 * Only the target process's calls are taken, as secretrace's filter does.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define PEER_LIMIT (64 * 1024)	/* secretrace's default scan limit */

struct peer_chunk {
	__u32 len;
	__u8 data[PEER_LIMIT];
};

const volatile __u32 target_tgid;
const volatile bool copy_out;

__u64 calls, bytes, lost;

/* one per CPU, indexed by CPU (a per-CPU map's values are limited to 32 KiB); the loader
 * sizes it; a tracepoint program is not migrated while it runs */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct peer_chunk);
} chunk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} ring SEC(".maps");

static __always_inline int take(const void *buf, __u64 count)
{
	struct peer_chunk *c;
	__u32 cpu = bpf_get_smp_processor_id(), n;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	c = bpf_map_lookup_elem(&chunk, &cpu);
	if (!c)
		return 0;
	n = count > PEER_LIMIT ? PEER_LIMIT : count;
	if (bpf_probe_read_user(c->data, n, buf))
		return 0;
	__sync_fetch_and_add(&calls, 1);
	__sync_fetch_and_add(&bytes, n);
	if (copy_out) {
		c->len = n;
		if (bpf_ringbuf_output(&ring, c, sizeof(c->len) + n, 0))
			__sync_fetch_and_add(&lost, 1);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int peer_write(struct trace_event_raw_sys_enter *ctx)
{
	return take((const void *)ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int peer_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return take((const void *)ctx->args[1], ctx->args[2]);
}

char LICENSE[] SEC("license") = "GPL";
