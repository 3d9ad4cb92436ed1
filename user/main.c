// SPDX-License-Identifier: GPL-2.0
/*
 * secretrace: targets -> probes -> learning -> dictionary -> detection -> enrichment ->
 * sinks. This file wires the stages together and runs the event loop.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tracer/cli.h"
#include "tracer/privileges.h"
#include "correlate/correlate.h"
#include "correlate/report.h"
#include "dict/dict.h"
#include "output/emit.h"
#include "enrich/destination.h"
#include "tracer/dispatch.h"
#include "detect/hold.h"
#include "dict/keyfile.h"
#include "dict/state.h"
#include "learn/audit_hash.h"
#include "learn/conn.h"
#include "learn/learn_env.h"
#include "learn/learn_file.h"
#include "learn/learn_node.h"
#include "learn/reach_files.h"
#include "lib/log.h"
#include "policy/policy.h"
#include "probes/probes.h"
#include "enrich/procs.h"
#include "enrich/workload.h"
#include "lib/redact.h"
#include "lib/secmem.h"
#include "secretrace.skel.h"
#include "output/metrics.h"
#include "output/sinks.h"
#include "tracer/stats.h"
#include "targets/targets.h"
#include "probes/tls.h"
#include "probes/go.h"
#include "policy/uses.h"

#define TICK_MS 100
#define HOLD_LIMIT (1024 * 1024)

/* Request markers: a match marks a connection as Vault's (they are never reported). */
static const char *const markers[] = { "X-Vault-Token: ", "x-vault-token: ", "X-Vault-Request: ",
				       "x-vault-request: ", NULL };

struct tracer {
	struct config cfg;
	struct probes probes;
	struct dict dict;
	struct events_ctx ev;
	struct ring_buffer *rb;		/* events */
	struct ring_buffer *vrb;	/* vault_events: read first */
	struct launch launch;
	struct policy *policy;	/* --policy, NULL without one */
	struct state state;	/* --state-file */
	struct state_result restored;
	char cgroup_paths[CLI_MAX_CGROUPS][PATH_MAX];	/* --cgroup, resolved */
	int sfd, tfd, efd;
	bool child_exited, stopping;
	int child_status;
	uint64_t linger_until;
};

/* --state-file: what this start restored, and how long no tracer ran. */
static void state_start_fields(json_t *ev, const struct state_result *r)
{
	ev_int(ev, "secretrace.state.restored", r->restored);
	ev_int(ev, "secretrace.state.expired", r->expired);
	ev_int(ev, "secretrace.state.skipped", r->skipped);
	if (r->gap_s >= 0)
		ev_int(ev, "secretrace.state.gap_seconds", r->gap_s);
	if (r->refused[0])
		ev_str(ev, "secretrace.state.refused", r->refused);
}

static void tracer_start_event(struct tracer *t)
{
	json_t *ev = ev_new("tracer.start"), *pids = json_array();
	int i;

	ev_str(ev, "secretrace.version", SECRETRACE_VERSION);
	if (t->cfg.command) {
		ev_str(ev, "secretrace.target.mode", "command");
		ev_str(ev, "secretrace.target.command", t->launch.path);
		json_array_append_new(pids, json_integer(t->launch.pid));
	} else if (t->cfg.npids) {
		ev_str(ev, "secretrace.target.mode", "pids");
		for (i = 0; i < t->cfg.npids; i++)
			json_array_append_new(pids, json_integer(t->cfg.pids[i]));
	}
	if (cli_node_mode(&t->cfg)) {
		json_t *cgs = json_array();

		json_decref(pids);
		pids = NULL;
		ev_str(ev, "secretrace.target.mode", t->cfg.all ? "all" : "cgroups");
		for (i = 0; i < t->cfg.ncgroups; i++)
			json_array_append_new(cgs, json_string(t->cgroup_paths[i]));
		if (t->cfg.ncgroups)
			ev_set(ev, "secretrace.target.cgroups", cgs);
		else
			json_decref(cgs);
		ev_str(ev, "secretrace.target.scan", t->cfg.scan_scope == ST_SCOPE_EVERYTHING ?
							  "everything" : "reach");
	} else {
		ev_set(ev, "secretrace.target.pids", pids);
	}
	ev_int(ev, "secretrace.config.scan_limit", (long long)t->cfg.scan_limit);
	{
		/* TLS libraries, then Go binaries with crypto/tls probes */
		char all[4200];

		snprintf(all, sizeof(all), "%s%s%s", tls_attached(),
			 tls_attached()[0] && go_attached()[0] ? "," : "", go_attached());
		ev_str(ev, "secretrace.tls_libraries", all);
	}
	if (t->probes.nfailed)
		ev_str(ev, "secretrace.probes_failed", t->probes.failed);
	{
		const char *what[2];
		int n = probes_degraded(&t->probes, what);
		json_t *arr = json_array();

		for (i = 0; i < n; i++)
			json_array_append_new(arr, json_string(what[i]));
		if (n)
			ev_set(ev, "secretrace.degraded", arr);
		else
			json_decref(arr);
	}
	if (t->cfg.state_file)
		state_start_fields(ev, &t->restored);
	ev_emit(ev);
	sinks_flush();
}

static void tracer_stop_event(struct tracer *t, int status)
{
	json_t *ev;

	/* network outputs deliver what they hold, within --flush-timeout, so that tracer.stop
	 * can say what they could not */
	sinks_drain();
	ev = ev_new("tracer.stop");
	stats_fill_stop(ev);
	if (t->cfg.state_file) {	/* the exit's write included */
		ev_int(ev, "secretrace.state.writes", t->state.writes);
		ev_int(ev, "secretrace.state.write_failed", t->state.write_failed);
	}
	if (status >= 0)
		ev_int(ev, "process.exit_code", status);
	ev_emit(ev);
	sinks_drain();
}

static int setup_loop(struct tracer *t, char *err, size_t errlen)
{
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000L },
				  .it_value = { 0, TICK_MS * 1000000L } };
	struct epoll_event e = { .events = EPOLLIN };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	t->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	t->efd = epoll_create1(EPOLL_CLOEXEC);
	if (t->sfd < 0 || t->tfd < 0 || t->efd < 0 || timerfd_settime(t->tfd, 0, &its, NULL)) {
		snprintf(err, errlen, "event loop setup: %s", strerror(errno));
		return -errno;
	}
	e.data.fd = t->sfd;
	epoll_ctl(t->efd, EPOLL_CTL_ADD, t->sfd, &e);
	e.data.fd = t->tfd;
	epoll_ctl(t->efd, EPOLL_CTL_ADD, t->tfd, &e);
	e.data.fd = ring_buffer__epoll_fd(t->rb);
	epoll_ctl(t->efd, EPOLL_CTL_ADD, e.data.fd, &e);
	e.data.fd = ring_buffer__epoll_fd(t->vrb);
	epoll_ctl(t->efd, EPOLL_CTL_ADD, e.data.fd, &e);
	if (learn_files_fd() >= 0) {
		e.data.fd = learn_files_fd();
		epoll_ctl(t->efd, EPOLL_CTL_ADD, e.data.fd, &e);
	}
	if (audit_hash_fd() >= 0) {
		e.data.fd = audit_hash_fd();
		epoll_ctl(t->efd, EPOLL_CTL_ADD, e.data.fd, &e);
	}
	return 0;
}

static void on_signal(struct tracer *t)
{
	struct signalfd_siginfo si;

	while (read(t->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			int status;

			if (t->launch.pid > 0 && !t->child_exited &&
			    waitpid(t->launch.pid, &status, WNOHANG) == t->launch.pid) {
				t->child_exited = true;
				t->child_status = WIFEXITED(status) ? WEXITSTATUS(status)
								    : 128 + WTERMSIG(status);
				t->linger_until = now_boot_ns() + t->cfg.linger_s * 1000000000ULL;
				/* no descendant left to linger for: stop now, not at the next tick */
				if (probes_traced_count(&t->probes) == 0)
					t->stopping = true;
			}
			while (waitpid(-1, NULL, WNOHANG) > 0)	/* nothing else is ours */
				;
			continue;
		}
		if (t->cfg.command && !t->child_exited) {
			/* like timeout(1): pass on what was sent to us alone (a terminal's ^C
			 * reaches the command by itself) */
			if (si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE)
				kill(t->launch.pid, si.ssi_signo);
			continue;
		}
		t->stopping = true;
	}
}

/* The metrics endpoint's snapshot, about once a second (the traced set is walked for it). */
static void publish_metrics(struct tracer *t, uint64_t now)
{
	static uint64_t last;
	struct metrics_snapshot m;

	if (!t->cfg.metrics)
		return;
	metrics_heartbeat();
	if (now - last < 1000000000ULL)
		return;
	last = now;
	stats_fill_metrics(&m);
	metrics_publish(&m);
}

static void on_tick(struct tracer *t)
{
	uint64_t now = now_boot_ns(), ticks;

	if (read(t->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		st_debug("timerfd: %s", strerror(errno));
	stats_poll();
	publish_metrics(t, now);
	uses_flush(now, false, 0);
	learn_files_tick(now);
	learn_node_tick();
	events_flush_starts(now, false, 0);
	hold_tick(now, learner_idle());
	if (t->cfg.state_file)
		state_tick(&t->state, &t->dict, time(NULL));
	if (t->cfg.command && t->child_exited &&
	    (now >= t->linger_until || probes_traced_count(&t->probes) == 0))
		t->stopping = true;
	/* the node modes run until stopped; -p until every traced process has gone */
	if (t->cfg.npids && probes_traced_count(&t->probes) == 0) {
		if (!t->linger_until)
			t->linger_until = now + t->cfg.linger_s * 1000000000ULL;
		else if (now >= t->linger_until)
			t->stopping = true;
	}
}

static int run_loop(struct tracer *t)
{
	struct epoll_event evs[4];
	int n, i, rc;

	while (!t->stopping) {
		n = epoll_wait(t->efd, evs, 4, TICK_MS);
		if (n < 0 && errno != EINTR) {
			st_err("epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == t->sfd)
				on_signal(t);
			else if (evs[i].data.fd == t->tfd)
				on_tick(t);
			else if (evs[i].data.fd == learn_files_fd())
				learn_files_changed();
			else if (evs[i].data.fd == audit_hash_fd())
				audit_hash_collect();
		}
		rc = ring_buffer__consume(t->vrb);
		events_vault_done();
		if ((rc < 0 || ring_buffer__consume(t->rb) < 0) && errno != EINTR) {
			st_err("reading the ring buffer: %s", strerror(errno));
			return 1;
		}
		sinks_flush();
	}
	return 0;
}

static void setup_dict_bpf(struct tracer *t, struct dict_bpf *b)
{
	struct secretrace_bpf *s = t->probes.skel;

	*b = (struct dict_bpf){
		.windows_fd = bpf_map__fd(s->maps.windows),
		.secrets_fd = bpf_map__fd(s->maps.secrets),
		.prefilter = t->probes.prefilter,
		.mask = &s->bss->prefilter_mask,
		.have_short = &s->bss->have_short,
		.gen = &s->bss->dict_gen,
		.carry_want = &s->bss->carry_want,
	};
}

/* Adds to keep (of n) those of names the process holds: what was not granted (a pod's five)
 * is not asked for. */
static size_t keep_held(const char **keep, size_t n, const char *const *names)
{
	for (; *names; names++)
		if (privileges_held(*names))
			keep[n++] = *names;
	return n;
}

/* Once attached: keep /proc and file reading (and what late uprobes need on kernels without
 * uprobe_multi, and signalling the command); docs/privileges.md. */
static int drop_privileges(struct tracer *t, char *err, size_t errlen)
{
	static const char *const common[] = { PRIVILEGES_KEEP, NULL };
	static const char *const command[] = { PRIVILEGES_KEEP_COMMAND, NULL };
	static const char *const perf[] = { PRIVILEGES_KEEP_PERF_UPROBES, NULL };
	const char *keep[(sizeof(common) + sizeof(command) + sizeof(perf)) / sizeof(char *)];
	size_t n = keep_held(keep, 0, common);

	if (t->cfg.command)
		n = keep_held(keep, n, command);
	if (!t->probes.uprobe_multi)
		n = keep_held(keep, n, perf);
	keep[n] = NULL;
	return privileges_drop(keep, err, errlen);
}

static int confine(struct tracer *t, char *err, size_t errlen)
{
	struct confinement c = { .perf_uprobes = !t->probes.uprobe_multi,
				 .signal_pid = t->cfg.command ? t->launch.pid : 0 };
	int ret = privileges_confine(&c, err, errlen);

	if (ret)
		st_err("%s", err);
	return ret;
}

/* Everything before the event loop; returns 0 or an exit status (with a message). */
static int start(struct tracer *t)
{
	struct learner_cfg lc = { .max_body = t->cfg.max_response, .max_items = t->cfg.max_items };
	struct probes_cfg pc = {
		.target_mode = t->cfg.all ? ST_TARGET_ALL :
			       t->cfg.ncgroups ? ST_TARGET_CGROUPS : ST_TARGET_PIDS,
		.scan_scope = t->cfg.scan_scope,
		.scan_limit = t->cfg.scan_limit,
		.hold_limit = HOLD_LIMIT,
		.ringbuf_bytes = t->cfg.ringbuf_bytes,
	};
	int fail = t->cfg.command ? 125 : 1, usage = cli_usage_status(&t->cfg), ret, i;
	uint8_t fp_key[DICT_FP_KEY_BYTES];
	struct pods_cfg pods = { 0 };
	struct dict_bpf db;
	struct hold_shared hs;
	struct audit_hash_cfg ahc;
	char err[512], host[256] = "localhost";

	/* a broken policy is a usage error, reported before anything is loaded */
	if (t->cfg.policy_file &&
	    policy_load(t->cfg.policy_file, &t->policy, err, sizeof(err))) {
		st_err("%s", err);
		return usage;
	}
	/* first: it starts the detacher, a copy of this process, which must hold no secret */
	if (probes_check(&t->probes, err, sizeof(err))) {
		st_err("%s", err);
		return geteuid() ? usage : fail;
	}
	/* the bounded-loop object scans fewer bytes of a call */
	if (t->probes.bounded_loops && t->cfg.scan_limit > ST_BOUNDED_SCAN_LIMIT)
		pc.scan_limit = t->cfg.scan_limit = ST_BOUNDED_SCAN_LIMIT;
	if (secmem_init() || redact_init() || procs_init() || enrich_init()) {
		st_err("cannot initialise (out of memory or no entropy)");
		return fail;
	}
	/* the delivery paths' usage errors before anything is loaded (the token read here is a
	 * secret: after the detacher started; the dictionary is used once the loop runs) */
	learn_env_init(&t->dict, t->cfg.learn_env, t->cfg.nlearn_env);
	ahc = (struct audit_hash_cfg){ .vault_addr = t->cfg.nvault ? t->cfg.vault_addrs[0] : NULL,
				       .device = t->cfg.vault_audit_hash,
				       .token_file = t->cfg.vault_token_file,
				       .ca_file = t->cfg.sinks.ca_file };
	if (audit_hash_init(&t->dict, &ahc, err, sizeof(err))) {
		st_err("%s", err);
		return usage;
	}
	if (learn_files_init(&t->dict, t->cfg.learn_files, t->cfg.nlearn_files,
			     t->cfg.max_response, t->cfg.max_items, t->cfg.rotated_keep_s, err,
			     sizeof(err)) ||
	    (cli_node_mode(&t->cfg) &&
	     learn_node_init(t->cfg.kubelet_root, err, sizeof(err)))) {
		st_err("%s", err);
		return usage;
	}
	if (keyfile_load(t->cfg.key_file, fp_key, sizeof(fp_key), err, sizeof(err))) {
		st_err("%s", err);
		return usage;
	}
	gethostname(host, sizeof(host) - 1);
	t->cfg.sinks.host = getenv("NODE_NAME") ? getenv("NODE_NAME") : host;
	emit_init(t->cfg.sinks.host);
	if (sinks_open(t->cfg.outputs, t->cfg.noutputs, &t->cfg.sinks, err, sizeof(err))) {
		st_err("%s", err);
		return usage;
	}
	if (t->cfg.state_file) {
		/* restored fingerprints match only under the keys they were made with */
		uint8_t run_key[REDACT_KEY_BYTES];

		if (state_open(&t->state, t->cfg.state_file, fp_key, err, sizeof(err))) {
			st_err("%s", err);
			return fail;
		}
		state_derive_keys(fp_key, &pc.keys, run_key);
		ret = redact_set_key(run_key);
		secmem_wipe(run_key, sizeof(run_key));
		if (ret) {
			st_err("cannot key the redactor for --state-file");
			return fail;
		}
	} else {
		dict_random_keys(&pc.keys);
	}
	if (probes_load(&t->probes, &pc, err, sizeof(err))) {
		st_err("%s", err);
		return fail;
	}
	setup_dict_bpf(t, &db);
	/* without it (no CAP_SYS_ADMIN) tracing goes on, the readers of learned files unjoined */
	if (cli_node_mode(&t->cfg) && t->cfg.scan_scope == ST_SCOPE_REACH &&
	    reach_files_init(bpf_map__fd(t->probes.skel->maps.traced), err, sizeof(err)))
		st_warn("%s", err);
	lc.vault_conns_fd = bpf_map__fd(t->probes.skel->maps.vault_conns);
	lc.vault_addrs_fd = bpf_map__fd(t->probes.skel->maps.vault_addrs);
	lc.tls_conns_fd = bpf_map__fd(t->probes.skel->maps.tls_conns);
	lc.strict = t->cfg.vault_strict;
	hs = (struct hold_shared){ .in_seq = &t->probes.skel->bss->in_seq,
				   .learned_seq = &t->probes.skel->bss->learned_seq,
				   .hold_bytes = &t->probes.skel->bss->hold_bytes };
	if (dict_init(&t->dict, &db, &pc.keys, fp_key) || learner_init(&t->dict, &lc) ||
	    uses_init(&t->dict, t->cfg.repeat_s, t->policy) || hold_init(&t->dict, &hs) ||
	    events_init(&t->ev, &t->probes, &t->dict)) {
		st_err("cannot initialise the dictionary (out of memory)");
		return fail;
	}
	secmem_wipe(fp_key, sizeof(fp_key));
	if (t->cfg.state_file)
		dict_keep_windows(&t->dict);
	for (i = 0; markers[i]; i++)
		if (dict_add_marker(&t->dict, markers[i])) {
			st_err("cannot index Vault request markers");
			return fail;
		}
	if (t->cfg.state_file)
		state_load(&t->state, &t->dict, time(NULL), &t->restored);
	dict_commit(&t->dict);
	stats_init(&t->probes);
	for (i = 0; i < t->cfg.nvault; i++)
		if (events_watch_vault_addr(t->cfg.vault_addrs[i], true, err, sizeof(err))) {
			st_err("--vault-addr %s: %s", t->cfg.vault_addrs[i], err);
			return usage;
		}
	if (t->cfg.command) {
		ret = launch_prepare(&t->launch, t->cfg.command, t->cfg.user, err, sizeof(err));
		if (ret) {
			st_err("%s", err);
			return ret;
		}
		if (probes_trace_pid(&t->probes, t->launch.pid, t->launch.pid)) {
			st_err("cannot trace the command: %s", strerror(errno));
			return fail;
		}
	}
	if (probes_attach(&t->probes, err, sizeof(err))) {
		st_err("%s", err);
		return fail;
	}
	tls_attach_system(&t->probes);
	/* the command's own file, before it runs: a Go program's first TLS call is seen */
	if (t->cfg.command)
		go_attach_file(&t->probes, t->launch.path);
	for (i = 0; i < t->cfg.ncgroups; i++) {
		ret = targets_add_cgroup(&t->probes, t->cfg.cgroups[i], t->cgroup_paths[i],
					 sizeof(t->cgroup_paths[i]), err, sizeof(err));
		if (ret < 0) {
			st_err("%s", err);
			return usage;
		}
	}
	for (i = 0; i < t->cfg.npids; i++) {
		if (targets_add_pid(&t->probes, t->cfg.pids[i], err, sizeof(err))) {
			st_err("%s", err);
			return usage;
		}
		tls_attach_process(&t->probes, t->cfg.pids[i]);
		go_attach_process(&t->probes, t->cfg.pids[i]);
	}
	/* every probe is attached: what is left to do needs few of root's rights, and the
	 * threads (pods, metrics, network outputs) start only now, so that none keeps more */
	if (drop_privileges(t, err, sizeof(err))) {
		st_err("%s", err);
		return fail;
	}
	pods.state_dirs = t->cfg.nstate_dirs ? t->cfg.state_dirs : NULL;
	pods.kube_api = t->cfg.kube_api;
	pods.token_file = t->cfg.kube_token_file;
	pods.ca_file = t->cfg.kube_ca_file;
	pods.node_name = t->cfg.node_name;
	if (workload_init(&pods, err, sizeof(err))) {
		st_err("%s", err);
		return usage;
	}
	if (t->cfg.metrics && metrics_start(t->cfg.metrics, err, sizeof(err))) {
		st_err("--metrics %s: %s", t->cfg.metrics, err);
		return usage;
	}
	if (audit_hash_start(err, sizeof(err))) {
		st_err("%s", err);
		return fail;
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->probes.skel->maps.events), events_handle, &t->ev,
				 NULL);
	t->vrb = ring_buffer__new(bpf_map__fd(t->probes.skel->maps.vault_events), events_handle,
				  &t->ev, NULL);
	t->ev.events_rb = t->rb;
	if (!t->rb || !t->vrb || setup_loop(t, err, sizeof(err))) {
		st_err("%s", t->rb && t->vrb ? err : "cannot open the ring buffer");
		return fail;
	}
	for (i = 0; i < t->cfg.npids; i++)
		procs_from_proc(t->cfg.pids[i]);
	tracer_start_event(t);
	learn_files_scan();	/* before the command runs: its first read of one is seen */
	audit_hash_wait(5000);	/* and their receives name their audit HMAC */
	metrics_set_ready();
	if (t->cfg.command) {
		ret = launch_go(&t->launch, err, sizeof(err));
		if (ret) {
			st_err("%s", err);
			t->child_exited = true;
			t->child_status = ret;
			return ret;
		}
	}
	return confine(t, err, sizeof(err)) ? fail : 0;
}

static void finish(struct tracer *t, int status)
{
	probes_stop(&t->probes);	/* so that nothing comes after what is consumed here */
	if (t->rb && t->vrb) {
		/* what is still in flight; the exits read last wait for a Vault pass too */
		ring_buffer__consume(t->vrb);
		ring_buffer__consume(t->rb);
		ring_buffer__consume(t->vrb);
		events_vault_done();
		hold_release(t->probes.skel->bss->in_seq);
		hold_flush();	/* calls whose last record never came */
		events_flush_starts(0, true, 0);
		learn_files_tick(UINT64_MAX);	/* files written in the last tick */
		audit_hash_stop();	/* receives waiting for their hash go out now */
		uses_flush(now_boot_ns(), true, 0);
		if (t->cfg.state_file)	/* loaded (rb comes after): what this run learned too */
			state_save(&t->state, &t->dict, time(NULL));
		tracer_stop_event(t, t->cfg.command ? status : -1);
	}
	ring_buffer__free(t->vrb);
	ring_buffer__free(t->rb);
	audit_hash_stop();	/* a start that failed after the worker started */
	metrics_stop();
	events_free();
	hold_free();
	uses_free();
	learner_free();
	reach_files_free();
	learn_node_free();
	learn_files_free();
	if (t->probes.skel)
		dict_free(&t->dict);
	probes_destroy(&t->probes);
	tls_free();
	go_free();
	enrich_free();
	procs_free();
	workload_free();
	sinks_close();
	if (t->state.path)
		state_close(&t->state);
	redact_free();
	policy_free(t->policy);
	t->policy = NULL;
}

#ifdef __SANITIZE_ADDRESS__
/* make test-asan: LeakSanitizer would stop the process with ptrace, which the seccomp filter
 * forbids; the options are built in because the tests run the tracer with a clean
 * environment. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

const char *__ubsan_default_options(void)
{
	return "print_stacktrace=1";
}
#endif

int main(int argc, char **argv)
{
	static struct tracer t = { .sfd = -1, .tfd = -1, .efd = -1 };
	int status;

	/* a subcommand of its own: no root, no BPF */
	if (argc > 1 && !strcmp(argv[1], "correlate"))
		return correlate_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "report"))
		return report_main(argc - 1, argv + 1);
	switch (cli_parse(argc, argv, &t.cfg)) {
	case CLI_EXIT_OK:
		return 0;
	case CLI_USAGE:
		return cli_usage_status(&t.cfg);
	case CLI_RUN:
		break;
	}
	st_verbose = t.cfg.verbose;
	status = start(&t);
	if (status) {
		if (t.launch.pid > 0 && !t.child_exited)
			launch_abort(&t.launch);
		else if (t.launch.pid > 0)
			waitpid(t.launch.pid, NULL, 0);
		finish(&t, status);
		return status;
	}
	status = run_loop(&t);
	if (t.cfg.command)
		status = t.child_exited ? t.child_status : 125;
	finish(&t, status);
	free(t.launch.path);
	return status;
}
