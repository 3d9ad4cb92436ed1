"""The reference designs' cost (part of make bench, tools/bench/bench.py).

For write(2) and sendto(2) at every size, one size per run, the loop's ns per call under
tools/bench/peers (peers.bpf.c):

  floor     the hooks copy each call's bytes into a per-CPU buffer and do nothing else
  copy-out  the same copy sent through a 16 MiB ring buffer to a Hyperscan matcher holding
            the same 1,000 secrets secretrace holds (raw forms only: generous to it); its
            cost is the loop's added time plus the consumer's CPU per call, and its losses

REPEATS times interleaved with each other; medians.
"""
import json
import os
import signal
import statistics
import subprocess
import time

MODES = ("floor", "copy-out")


def _one(peers, loop, call, size, budget_ms, mode, secrets_file, work):
    fifo = os.path.join(work, "peers.go")
    ready = os.path.join(work, "peers.ready")
    for p in (fifo, ready):
        if os.path.exists(p):
            os.unlink(p)
    os.mkfifo(fifo)
    w = subprocess.Popen([loop, call, str(size), str(budget_ms), fifo], stdout=subprocess.PIPE,
                         text=True)
    p = subprocess.Popen([peers, mode, str(w.pid), secrets_file, ready], stdout=subprocess.PIPE,
                         text=True)
    try:
        deadline = time.time() + 60
        while not os.path.exists(ready):
            if p.poll() is not None or time.time() > deadline:
                raise SystemExit("bench: peers %s did not attach" % mode)
            time.sleep(0.02)
        with open(fifo, "w") as f:
            f.write("g")
        ns = float(w.communicate()[0].split()[1])
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
        p.send_signal(signal.SIGINT)
    stats = json.loads(p.communicate(timeout=60)[0])
    return ns, stats


def run(peers, loop, sizes, repeats, budget_ms, secrets, work):
    """{call: {size: {mode: {ns, consumer_ns, lost_fraction}}}}"""
    secrets_file = os.path.join(work, "peers.secrets")
    with open(secrets_file, "w") as f:
        f.write("\n".join(secrets) + "\n")
    raw = {c: {s: {m: [] for m in MODES} for s in sizes} for c in ("write", "sendto")}
    for _ in range(repeats):
        for call in raw:
            for size in sizes:
                for mode in MODES:
                    ns, st = _one(peers, loop, call, size, budget_ms, mode, secrets_file, work)
                    calls = max(st["calls"], 1)
                    raw[call][size][mode].append((ns, st["consumer_cpu_ns"] / calls,
                                                  st["lost"] / calls))
    out = {}
    for call, by_size in raw.items():
        out[call] = {}
        for size, by_mode in by_size.items():
            out[call][size] = {m: {"ns": statistics.median(r[0] for r in v),
                                   "consumer_ns": statistics.median(r[1] for r in v),
                                   "lost_fraction": max(r[2] for r in v)}
                               for m, v in by_mode.items()}
    return out
