// SPDX-License-Identifier: GPL-2.0
/* Definitions of the maps and globals every other unit declares extern. */
#define ST_DEFINE_MAPS
#include "maps.bpf.h"

const volatile __u32 target_mode = ST_TARGET_PIDS;
const volatile __u32 scan_scope = ST_SCOPE_REACH;
const volatile __u32 self_tgid;
const volatile __u64 scan_limit = ST_SCAN_LIMIT_DEFAULT;
const volatile __u64 hold_limit = 1024 * 1024;
const volatile struct st_keys keys;

__u32 prefilter_mask;
__u32 have_short;
__u32 dict_gen;
__u32 carry_want;
__u64 in_seq;
__u64 learned_seq;
__u64 hold_bytes;
__u64 conn_ids;
__u64 tls_waiting;
__u64 taint_count;
__u32 tracer_stopped;

char LICENSE[] SEC("license") = "GPL";
