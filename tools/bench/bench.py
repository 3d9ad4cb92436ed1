#!/usr/bin/python3
"""make bench: what tracing costs, every figure measured side by side in one run.

For write(2) to /dev/null and sendto(2) over UDP at 64 B, 1 KiB, 4 KiB and 64 KiB, and
OpenSSL's SSL_write over a socketpair at 64 B and 4 KiB, the ns per call of the same
workload (tools/bench/write_loop.c, tools/bench/ssl_loop.c):

  untraced        nothing attached
  bpftrace        Debian's bpftrace counting the same call for that PID (a peer's bare hook:
                  a syscall tracepoint, or a uprobe on libssl's SSL_write)
  secretrace-0    traced by secretrace, no secret learned
  secretrace-1k   traced by secretrace holding 1,000 learned secrets (from a Vault stand-in)
  bystander       untraced, while secretrace traces another process (for SSL_write it
                  takes the trap too: secretrace's uprobes are on the library file)

Each configuration runs REPEATS times, interleaved; the median is reported. Ratios: the cost
secretrace adds over untraced, divided by the cost bpftrace adds. Writes build/bench.json.
"""
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

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(TOP, "build")
TRACER = os.path.join(BUILD, "secretrace")
LOOP = os.path.join(BUILD, "bench", "write_loop")
SSL_LOOP = os.path.join(BUILD, "bench", "ssl_loop")
SSL_SIZES = [64, 4096]
LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3"
SIZES = [64, 1024, 4096, 65536]
CALLS = ["write", "sendto", "SSL_write"]


def sizes_of(call):
    return SSL_SIZES if call == "SSL_write" else SIZES
BUDGET_MS = int(os.environ.get("BENCH_MS", "250"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


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


def run_bpftrace(call, work):
    fifo = os.path.join(work, "go")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    loop = subprocess.Popen(loop_args(call, fifo), stdout=subprocess.PIPE, text=True)
    if call == "SSL_write":
        probe = "uprobe:%s:SSL_write" % LIBSSL
    else:
        probe = "tracepoint:syscalls:sys_enter_%s" % call
    # BEGIN runs once every probe is attached; stdbuf: bpftrace's stdout is a pipe here
    prog = 'BEGIN { printf("ready\\n"); } %s /pid == %d/ { @calls = count(); }' % (probe, loop.pid)
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
        if loop.poll() is None:
            loop.kill()
            loop.wait()
        bt.send_signal(signal.SIGINT)
        try:
            bt.wait(30)
        except subprocess.TimeoutExpired:
            bt.kill()
            bt.wait()
    return parse(out)


def run_traced(call, work, preload_cmd=None, learned=0):
    events = os.path.join(work, "events.json")
    inner = " ".join(loop_args(call))
    if preload_cmd:
        # fetch, then wait until the tracer has learned them all: steady state, not the
        # brief window in which writes are held while a response is being learned
        cmd = ("%s >/dev/null && until [ $(grep -c secret.receive %s) -ge %d ]; "
               "do sleep 0.05; done && exec %s" % (preload_cmd, events, learned, inner))
    else:
        cmd = "exec " + inner
    out = subprocess.check_output([TRACER, "-o", "file:" + events, "--", "/bin/sh", "-c", cmd],
                                  text=True)
    stats = [json.loads(l) for l in open(events) if '"tracer.stop"' in l]
    os.unlink(events)
    return parse(out), stats[0]["secretrace"]["stats"] if stats else {}


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


def start_vault(work, n):
    seed = {"kv": {"secret/bench": {"k%04d" % i: secrets.token_urlsafe(24) for i in range(n)}}}
    with open(os.path.join(work, "seed.json"), "w") as f:
        json.dump(seed, f)
    ready = os.path.join(work, "vault.ready")
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(TOP, "tests", "vault_standin.py"),
                             "--listen", "127.0.0.1:0", "--ready-file", ready,
                             "--audit-log", os.path.join(work, "audit.log"),
                             "--seed-file", os.path.join(work, "seed.json")])
    wait_for(lambda: os.path.exists(ready), "the Vault stand-in")
    addr = open(ready).read().split()[0]
    token = json.load(open(ready + ".creds.json"))["root_token"]
    return proc, "curl -sf -H 'X-Vault-Token: %s' %s/v1/secret/data/bench" % (token, addr)


def main():
    results = {c: {m: {s: [] for s in sizes_of(c)} for m in
                   ("untraced", "bpftrace", "secretrace-0", "secretrace-1k", "bystander")}
               for c in CALLS}
    tracer_stats = {}
    with tempfile.TemporaryDirectory(prefix="secretrace-bench.") as work:
        vault, fetch = start_vault(work, 1000)
        try:
            for rep in range(REPEATS):
                for call in CALLS:
                    runs = {
                        "untraced": lambda: run_untraced(call),
                        "bpftrace": lambda: run_bpftrace(call, work),
                        "secretrace-0": lambda: run_traced(call, work)[0],
                        "bystander": lambda: run_bystander(call, work),
                    }
                    for mode, fn in runs.items():
                        for size, ns in fn().items():
                            results[call][mode][size].append(ns)
                    r, stats = run_traced(call, work, fetch, 1000)
                    tracer_stats = stats
                    for size, ns in r.items():
                        results[call]["secretrace-1k"][size].append(ns)
                print("bench: repeat %d/%d done" % (rep + 1, REPEATS), file=sys.stderr)
        finally:
            vault.terminate()
            vault.wait()
    if tracer_stats.get("secrets_learned", 0) < 1000:
        raise SystemExit("bench: the 1,000-secret run learned only %s secrets"
                         % tracer_stats.get("secrets_learned"))

    report = {"budget_ms": BUDGET_MS, "repeats": REPEATS, "ns_per_call": {}, "ratios": {}}
    print("ns per call (median of %d), added cost over untraced, and secretrace's added cost "
          "divided by bpftrace's" % REPEATS)
    print("%-9s %6s %9s %9s %9s %9s %9s   %7s %7s %9s" % (
        "call", "size", "untraced", "bpftrace", "st-0", "st-1k", "bystander",
        "ratio-0", "ratio-1k", "bystander"))
    for call in CALLS:
        report["ns_per_call"][call] = {}
        report["ratios"][call] = {}
        for size in sizes_of(call):
            med = {m: statistics.median(v[size]) for m, v in results[call].items()}
            base = med["untraced"]
            bt_added = med["bpftrace"] - base
            r0 = (med["secretrace-0"] - base) / bt_added if bt_added > 0 else float("nan")
            r1 = (med["secretrace-1k"] - base) / bt_added if bt_added > 0 else float("nan")
            by = med["bystander"] / base
            report["ns_per_call"][call][size] = med
            report["ratios"][call][size] = {"added_vs_bpftrace_0": r0, "added_vs_bpftrace_1k": r1,
                                            "bystander_vs_untraced": by,
                                            "added_ns_0": med["secretrace-0"] - base,
                                            "added_ns_1k": med["secretrace-1k"] - base}
            print("%-9s %6d %9.0f %9.0f %9.0f %9.0f %9.0f   %7.2f %7.2f %8.2fx" % (
                call, size, base, med["bpftrace"], med["secretrace-0"], med["secretrace-1k"],
                med["bystander"], r0, r1, by))
    with open(os.path.join(BUILD, "bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    print("written: build/bench.json")


if __name__ == "__main__":
    main()
