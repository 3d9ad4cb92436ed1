#!/usr/bin/python3
"""make bench: what tracing costs, every figure measured side by side in one run.

For write(2) to /dev/null and sendto(2) over UDP at 64 B, 1 KiB, 4 KiB and 64 KiB, and
OpenSSL's SSL_write over a socketpair at 64 B and 4 KiB, the ns per call of the same
workload (tools/bench/write_loop.c, tools/bench/ssl_loop.c):

  untraced        nothing attached
  bpftrace        Debian's bpftrace counting the same call for that PID (a peer's bare hook:
                  a syscall tracepoint, or a uprobe on libssl's SSL_write)
  secretrace-0    traced by secretrace, no secret learned
  secretrace-1k   traced by secretrace holding 1,000 learned secrets (from a Vault stand-in;
                  8 to 64 bytes long, every encoded form in the dictionary)
  bystander       untraced, while secretrace traces another process (for SSL_write it
                  takes the trap too: secretrace's uprobes are on the library file)
  bt-bystander    untraced, while bpftrace's hook filters for another process

Each configuration runs REPEATS times, interleaved; the median is reported. Ratios: the cost
secretrace adds over untraced, divided by the cost bpftrace adds; a bystander's cost under
secretrace divided by its cost under bpftrace's filtered hook.

Then the tracer's capacity, once each: in-kernel scan throughput per core (a 64 KiB write's
added cost, with 0, 1,000 and 10,000 secrets), the secret.violation events per second a
file output takes with no loss (tools/bench/use_loop.c at rising rates under a deny-all
policy), the tracer's CPU time and peak RSS holding 10,000 secrets, and the time from
launch to exit of a short command (true) untraced and traced, and for the traced one from
launch to tracer.start and from there to the tracer's exit; the node modes' cost
(tools/bench/node.py: a bystander under --all, the tracer on a busy node). Writes
build/bench.json.
"""
import datetime
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import node
import peers

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(TOP, "build")
TRACER = os.path.join(BUILD, "secretrace")
LOOP = os.path.join(BUILD, "bench", "write_loop")
USE_LOOP = os.path.join(BUILD, "bench", "use_loop")
SSL_LOOP = os.path.join(BUILD, "bench", "ssl_loop")
PEERS = os.path.join(BUILD, "bench", "peers")
SSL_SIZES = [64, 4096]
LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3"
SIZES = [64, 1024, 4096, 65536]
CALLS = ["write", "sendto", "SSL_write"]


def sizes_of(call):
    return SSL_SIZES if call == "SSL_write" else SIZES
BUDGET_MS = int(os.environ.get("BENCH_MS", "250"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
EVENT_RATES = [50000, 100000, 200000, 400000]
EVENT_MS = 3000		# long enough that the ring buffer cannot absorb a deficit
ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
VAULT_ADDR = []		# the stand-in's URL, once started


def wait_for(pred, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise SystemExit("bench: timed out waiting for %s" % what)


def parse(out):
    res = {}
    for line in out.split("\n"):
        if line.strip():
            size, ns = line.split()
            res[int(size)] = float(ns)
    return res


def loop_args(call, fifo=None):
    if call == "SSL_write":
        args = [SSL_LOOP, ",".join(map(str, SSL_SIZES)), str(BUDGET_MS)]
    else:
        args = [LOOP, call, ",".join(map(str, SIZES)), str(BUDGET_MS)]
    return args + [fifo] if fifo else args


def run_untraced(call):
    return parse(subprocess.check_output(loop_args(call), text=True))


def run_bpftrace(call, work, bystander=False):
    """bpftrace's hook counting the loop's calls, or (bystander) another process's."""
    fifo = os.path.join(work, "go")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    loop = subprocess.Popen(loop_args(call, fifo), stdout=subprocess.PIPE, text=True)
    other = subprocess.Popen(["sleep", "600"]) if bystander else None
    if call == "SSL_write":
        probe = "uprobe:%s:SSL_write" % LIBSSL
    else:
        probe = "tracepoint:syscalls:sys_exit_%s" % call
    # BEGIN runs once every probe is attached; stdbuf: bpftrace's stdout is a pipe here
    prog = 'BEGIN { printf("ready\\n"); } %s /pid == %d/ { @calls = count(); }' % (
        probe, (other or loop).pid)
    bt = subprocess.Popen(["stdbuf", "-oL", "bpftrace", "-e", prog], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
    try:
        ready = threading.Event()
        threading.Thread(target=lambda: [ready.set() for l in bt.stdout if l.startswith("ready")],
                         daemon=True).start()
        if not ready.wait(60):
            raise SystemExit("bench: bpftrace did not attach within 60 s")
        with open(fifo, "w") as f:
            f.write("g")
        out = loop.communicate()[0]
    finally:
        for p in (loop, other):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        bt.send_signal(signal.SIGINT)
        try:
            bt.wait(30)
        except subprocess.TimeoutExpired:
            bt.kill()
            bt.wait()
    return parse(out)


def traced(work, inner, fetch=(), learned=0, policy=None, count=None):
    """Runs the shell command inner under secretrace (events to a file), after fetching the
    given Vault URLs and waiting until learned secrets are learned: steady state, not the
    brief window in which writes are held while a response is being learned. Returns inner's
    stdout, tracer.stop's stats and how many event lines count() accepted."""
    events = os.path.join(work, "events.json")
    cmd = "".join("%s >/dev/null && " % f for f in fetch)
    if learned:
        cmd += ("until [ $(grep -c secret.receive %s) -ge %d ]; do sleep 0.05; done && "
                % (events, learned))
    # the stand-in is named: 10,000 secrets from one unnamed server would meet the limits
    # that keep a traced process's own fake "Vault" from filling the dictionary
    args = [TRACER, "-o", "file:" + events, "--vault-addr", VAULT_ADDR[0]] + \
        (["--policy", policy] if policy else [])
    out = subprocess.check_output(args + ["--", "/bin/sh", "-c", cmd + "exec " + inner],
                                  text=True)
    stats, n = {}, 0
    with open(events) as f:
        for line in f:
            if count and count(line):
                n += 1
            elif '"tracer.stop"' in line:
                stats = json.loads(line)["secretrace"]["stats"]
    os.unlink(events)
    return out, stats, n


def run_traced(call, work, fetch=(), learned=0):
    out, stats, _ = traced(work, " ".join(loop_args(call)), fetch, learned)
    return parse(out), stats


def run_bystander(call, work):
    events = os.path.join(work, "bystander.json")
    tracer = subprocess.Popen([TRACER, "-o", "file:" + events, "--", "sleep", "600"])
    wait_for(lambda: os.path.exists(events) and "tracer.start" in open(events).read(),
             "tracer.start")
    try:
        return run_untraced(call)
    finally:
        subprocess.run(["pkill", "-TERM", "-P", str(tracer.pid), "sleep"])
        tracer.wait()
        os.unlink(events)


def random_secret(n):
    return "".join(secrets.choice(ALPHA) for _ in range(n))


def start_vault(work):
    """A Vault stand-in holding secret/bench (1,000 secrets of 8 to 64 bytes), big0..big9
    (1,000 each) and secret/rate (one password, also written to rate.secret for the
    workload that uses it). Returns the process and a curl command per path."""
    kv = {"secret/bench": {"k%04d" % i: random_secret(8 + i % 57) for i in range(1000)},
          "secret/rate": {"password": random_secret(32)}}
    for p in range(10):
        kv["secret/big%d" % p] = {"k%04d" % i: random_secret(8 + i % 57) for i in range(1000)}
    with open(os.path.join(work, "seed.json"), "w") as f:
        json.dump({"kv": kv}, f)
    with open(os.path.join(work, "rate.secret"), "w") as f:
        f.write(kv["secret/rate"]["password"])
    ready = os.path.join(work, "vault.ready")
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(TOP, "tests", "vault_standin.py"),
                             "--listen", "127.0.0.1:0", "--ready-file", ready,
                             "--audit-log", os.path.join(work, "audit.log"),
                             "--seed-file", os.path.join(work, "seed.json")],
                            stdout=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(ready), "the Vault stand-in")
    addr = open(ready).read().split()[0]
    VAULT_ADDR[:] = [addr]
    token = json.load(open(ready + ".creds.json"))["root_token"]
    return proc, {p: "curl -sf -H 'X-Vault-Token: %s' %s/v1/secret/data/%s"
                  % (token, addr, p.split("/", 1)[1]) for p in kv}, \
        list(kv["secret/bench"].values())


def scan_10k(work, fetch):
    """A 64 KiB write's cost holding 10,000 secrets, and the tracer's CPU and peak RSS."""
    urls = [fetch["secret/big%d" % p] for p in range(10)]
    out, stats, _ = traced(work, "%s write 65536 %d" % (LOOP, BUDGET_MS), urls, 10000)
    if stats.get("secrets_learned", 0) < 10000:
        raise SystemExit("bench: the 10,000-secret run learned only %s secrets"
                         % stats.get("secrets_learned"))
    return parse(out)[65536], stats


def event_rates(work, fetch):
    """secret.violation events per second into a file: use_loop at rising rates, every
    write a violation of a deny-all policy, until the tracer loses or misses one."""
    policy = os.path.join(work, "deny-all.yaml")
    with open(policy, "w") as f:
        f.write("default: deny\n")
    steps = []
    for rate in EVENT_RATES:
        out, stats, n = traced(work, "%s %s %d %d" % (USE_LOOP, os.path.join(work, "rate.secret"),
                                                      rate, EVENT_MS),
                               [fetch["secret/rate"]], 1, policy,
                               lambda l: '"secret.violation"' in l and '"use_loop"' in l)
        writes, achieved = out.split()
        steps.append({"rate": rate, "achieved": float(achieved), "writes": int(writes),
                      "events": n, "lost": stats.get("lost", 0)})
        if n != int(writes) or stats.get("lost", 0):
            break
    return steps


def start_stop(work, runs=5):
    """A short command (true) launched untraced and under secretrace: seconds from launch to
    exit, and for the traced run from launch to tracer.start (its @timestamp) and from there
    to the tracer's exit (true exits at once): medians of runs, interleaved."""
    events = os.path.join(work, "start.json")
    times = {"untraced": [], "traced": [], "to_start": [], "start_to_exit": []}
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run(["true"], check=True)
        times["untraced"].append(time.monotonic() - t0)
        w0, t0 = time.time(), time.monotonic()
        rc = subprocess.run([TRACER, "-o", "file:" + events, "--", "true"]).returncode
        w1, t1 = time.time(), time.monotonic()
        with open(events) as f:
            start = json.loads(f.readline())
        if rc != 0 or start["event"]["action"] != "tracer.start":
            raise SystemExit("bench: secretrace -- true failed (status %s)" % rc)
        started = datetime.datetime.strptime(start["@timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ") \
            .replace(tzinfo=datetime.timezone.utc).timestamp()
        times["traced"].append(t1 - t0)
        times["to_start"].append(started - w0)
        times["start_to_exit"].append(w1 - started)
        os.unlink(events)
    return {k: statistics.median(v) for k, v in times.items()}


MODES = ("untraced", "bpftrace", "secretrace-0", "secretrace-1k", "bystander", "bt-bystander")


def ratio(a, b):
    return a / b if b > 0 else float("nan")


def peer_table(report, peer_report):
    """secretrace-1k against the copy floor and the copy-out design, per call and size."""
    print()
    print("against the reference designs (tools/bench/peers.py), ns per call: added = over "
          "untraced; copy-out total = its added time in the process + its consumer's CPU")
    print("%-7s %6s %9s %9s %9s %9s %9s   %8s %9s %6s" % (
        "call", "size", "st-1k+", "floor+", "co+", "co-cons", "co-total", "st/floor",
        "co/st", "co-lost"))
    table = {}
    for call, by_size in peer_report.items():
        table[call] = {}
        for size, m in by_size.items():
            base = report["ns_per_call"][call][size]["untraced"]
            st = report["ns_per_call"][call][size]["secretrace-1k"] - base
            floor = m["floor"]["ns"] - base
            co = m["copy-out"]["ns"] - base
            co_total = co + m["copy-out"]["consumer_ns"]
            row = {"secretrace_added_ns": st, "floor_added_ns": floor, "copy_out_added_ns": co,
                   "copy_out_consumer_ns": m["copy-out"]["consumer_ns"],
                   "copy_out_total_ns": co_total, "secretrace_vs_floor": ratio(st, floor),
                   "copy_out_vs_secretrace": ratio(co_total, st),
                   "copy_out_lost_fraction": m["copy-out"]["lost_fraction"]}
            table[call][size] = row
            print("%-7s %6d %9.0f %9.0f %9.0f %9.0f %9.0f   %8.2f %9.2f %5.1f%%" % (
                call, size, st, floor, co, row["copy_out_consumer_ns"], co_total,
                row["secretrace_vs_floor"], row["copy_out_vs_secretrace"],
                100 * row["copy_out_lost_fraction"]))
    return table


def main():
    results = {c: {m: {s: [] for s in sizes_of(c)} for m in MODES} for c in CALLS}
    tracer_stats = {}
    with tempfile.TemporaryDirectory(prefix="secretrace-bench.") as work:
        vault, fetch, bench_secrets = start_vault(work)
        try:
            for rep in range(REPEATS):
                for call in CALLS:
                    runs = {
                        "untraced": lambda: run_untraced(call),
                        "bpftrace": lambda: run_bpftrace(call, work),
                        "secretrace-0": lambda: run_traced(call, work)[0],
                        "bystander": lambda: run_bystander(call, work),
                        "bt-bystander": lambda: run_bpftrace(call, work, bystander=True),
                    }
                    for mode, fn in runs.items():
                        for size, ns in fn().items():
                            results[call][mode][size].append(ns)
                    r, tracer_stats = run_traced(call, work, [fetch["secret/bench"]], 1000)
                    for size, ns in r.items():
                        results[call]["secretrace-1k"][size].append(ns)
                print("bench: repeat %d/%d done" % (rep + 1, REPEATS), file=sys.stderr)
            if tracer_stats.get("secrets_learned", 0) < 1000:
                raise SystemExit("bench: the 1,000-secret run learned only %s secrets"
                                 % tracer_stats.get("secrets_learned"))
            write_64k_10k, stats_10k = scan_10k(work, fetch)
            rates = event_rates(work, fetch)
            short = start_stop(work)
            node_report = node.run(TRACER, LOOP, parse, REPEATS, BUDGET_MS, work)
            peer_report = peers.run(PEERS, LOOP, SIZES, REPEATS, BUDGET_MS, bench_secrets, work)
        finally:
            vault.terminate()
            vault.wait()

    report = {"budget_ms": BUDGET_MS, "repeats": REPEATS, "ns_per_call": {}, "ratios": {}}
    print("ns per call (median of %d); ratios: secretrace's added cost over untraced divided by "
          "bpftrace's, and a bystander's cost under secretrace divided by its cost under "
          "bpftrace's filtered hook" % REPEATS)
    print("%-9s %6s %9s %9s %9s %9s %9s %9s   %7s %7s %7s" % (
        "call", "size", "untraced", "bpftrace", "st-0", "st-1k", "bystander", "bt-byst",
        "ratio-0", "ratio-1k", "byst"))
    for call in CALLS:
        report["ns_per_call"][call] = {}
        report["ratios"][call] = {}
        for size in sizes_of(call):
            med = {m: statistics.median(v[size]) for m, v in results[call].items()}
            base = med["untraced"]
            bt_added = med["bpftrace"] - base
            r0 = ratio(med["secretrace-0"] - base, bt_added)
            r1 = ratio(med["secretrace-1k"] - base, bt_added)
            by = ratio(med["bystander"], med["bt-bystander"])
            report["ns_per_call"][call][size] = med
            report["ratios"][call][size] = {"added_vs_bpftrace_0": r0, "added_vs_bpftrace_1k": r1,
                                            "bystander_vs_bpftrace_bystander": by,
                                            "added_ns_0": med["secretrace-0"] - base,
                                            "added_ns_1k": med["secretrace-1k"] - base}
            print("%-9s %6d %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f   %7.2f %7.2f %7.2f" % (
                call, size, base, med["bpftrace"], med["secretrace-0"], med["secretrace-1k"],
                med["bystander"], med["bt-bystander"], r0, r1, by))

    # a 64 KiB write's added cost is almost all scanning, on the writer's own core
    w = report["ns_per_call"]["write"][65536]
    gbps = {n: ratio(65536, ns - w["untraced"]) for n, ns in
            (("0", w["secretrace-0"]), ("1000", w["secretrace-1k"]), ("10000", write_64k_10k))}
    sustained = max([r["achieved"] for r in rates if r["events"] == r["writes"] and not r["lost"]],
                    default=0)
    cpu_ms = stats_10k.get("cpu_user_ms", 0) + stats_10k.get("cpu_system_ms", 0)
    report["capacity"] = {
        "scan_gb_per_s_per_core": gbps,
        "event_rates": rates, "events_per_s_no_loss": sustained,
        "secrets_10k": {"cpu_ms": cpu_ms, "peak_rss_kib": stats_10k.get("peak_rss_kib"),
                        "secrets_learned": stats_10k.get("secrets_learned")},
        "launch_to_tracer_start_s": short["to_start"],
        "command_exit_to_tracer_exit_s": short["start_to_exit"],
        "short_command_s": {"untraced": short["untraced"], "traced": short["traced"]},
    }
    print()
    print("in-kernel scan, GB/s per core (64 KiB writes): %.2f with 0 secrets, %.2f with 1,000, "
          "%.2f with 10,000" % (gbps["0"], gbps["1000"], gbps["10000"]))
    for r in rates:
        print("events to a file: asked %6d/s, wrote %8.0f/s: %7d writes, %7d events, %d lost"
              % (r["rate"], r["achieved"], r["writes"], r["events"], r["lost"]))
    print("events per second to a file with no loss: %.0f" % sustained)
    print("holding 10,000 secrets: tracer CPU %d ms over the run, peak RSS %.1f MiB"
          % (cpu_ms, (stats_10k.get("peak_rss_kib") or 0) / 1024.0))
    print("launch to exit of `true`: %.3f s untraced, %.3f s traced (launch to tracer.start "
          "%.3f s, tracer.start to exit %.3f s)" % (short["untraced"], short["traced"],
                                                    short["to_start"], short["start_to_exit"]))
    report["node"] = node_report
    report["peers"] = peer_table(report, peer_report)
    with open(os.path.join(BUILD, "bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    print("written: build/bench.json")


if __name__ == "__main__":
    main()
