"""The node modes' cost (part of make bench, tools/bench/bench.py).

- A bystander: write(2) at 64 B and 4 KiB by a process that never received a secret, untraced,
  under `secretrace --all` (reach scope, the default: the filter, a reach lookup and a look at
  the write's first 16 bytes) and under `--all --scan everything` (every write scanned), side by
  side, REPEATS times interleaved; medians.
- The tracer on a busy node: 1,000 processes alive and 200 short-lived ones a second (fork and
  exec of /bin/true) for CHURN_S seconds under `--all`: the tracer's CPU time and peak RSS
  (tracer.stop), and what it lost.
"""
import json
import os
import signal
import statistics
import subprocess
import time

CHURN_S = 5
IDLE_PROCS = 1000


def _start(tracer, work, args):
    events = os.path.join(work, "node.json")
    if os.path.exists(events):
        os.unlink(events)
    p = subprocess.Popen([tracer, "-o", "file:" + events] + args, stdout=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (os.path.exists(events) and "tracer.start" in open(events).read()):
        if p.poll() is not None or time.time() > deadline:
            raise SystemExit("bench: secretrace %s did not start" % " ".join(args))
        time.sleep(0.02)
    return p, events


def _stop(p, events):
    p.send_signal(signal.SIGTERM)
    p.wait(60)
    stats = {}
    with open(events) as f:
        for line in f:
            if '"tracer.stop"' in line:
                stats = json.loads(line)["secretrace"]["stats"]
    os.unlink(events)
    return stats


def bystander(tracer, loop, parse, repeats, budget_ms, work):
    sizes = [64, 4096]
    runs = {m: {s: [] for s in sizes} for m in ("untraced", "all-reach", "all-everything")}
    cmd = [loop, "write", ",".join(map(str, sizes)), str(budget_ms)]
    for _ in range(repeats):
        for mode in runs:
            p = None
            if mode != "untraced":
                args = ["--all"] + (["--scan", "everything"] if mode == "all-everything" else [])
                p, events = _start(tracer, work, args)
            try:
                for size, ns in parse(subprocess.check_output(cmd, text=True)).items():
                    runs[mode][size].append(ns)
            finally:
                if p:
                    _stop(p, events)
    return {s: {m: statistics.median(runs[m][s]) for m in runs} for s in sizes}


def busy_node(tracer, work):
    idle = [subprocess.Popen(["sleep", "600"]) for _ in range(IDLE_PROCS)]
    try:
        p, events = _start(tracer, work, ["--all"])
        churn = subprocess.Popen(["/bin/sh", "-c", "end=$(($(date +%%s) + %d)); "
                                  "while [ $(date +%%s) -lt $end ]; do "
                                  "for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done; "
                                  "sleep 0.05; done" % CHURN_S])
        churn.wait()
        stats = _stop(p, events)
    finally:
        for q in idle:
            q.kill()
        for q in idle:
            q.wait()
    return {"processes": IDLE_PROCS, "churn_s": CHURN_S,
            "cpu_ms": stats.get("cpu_user_ms", 0) + stats.get("cpu_system_ms", 0),
            "peak_rss_kib": stats.get("peak_rss_kib"), "lost": stats.get("lost")}


def run(tracer, loop, parse, repeats, budget_ms, work):
    by = bystander(tracer, loop, parse, repeats, budget_ms, work)
    busy = busy_node(tracer, work)
    print()
    print("node modes: a bystander's write(2), ns per call (median of %d)" % repeats)
    print("%6s %9s %9s %9s   %7s %7s" % ("size", "untraced", "all", "all-every", "all/un",
                                         "every/un"))
    for size, m in by.items():
        print("%6d %9.0f %9.0f %9.0f   %7.2f %7.2f" % (
            size, m["untraced"], m["all-reach"], m["all-everything"],
            m["all-reach"] / m["untraced"], m["all-everything"] / m["untraced"]))
    print("--all with %d processes and %d s of churn (~200 execs/s): tracer CPU %d ms, "
          "peak RSS %.1f MiB, lost %s" % (busy["processes"], busy["churn_s"], busy["cpu_ms"],
                                          (busy["peak_rss_kib"] or 0) / 1024.0, busy["lost"]))
    return {"bystander_ns_per_write": by, "busy_node": busy}
