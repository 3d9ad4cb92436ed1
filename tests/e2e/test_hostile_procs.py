"""A hostile traced agent attacks the tracer with its processes and descriptors: fork storms
(tests/agents/fork_storm.c), descriptors closed, duplicated over and reused at full speed,
a process killed in the middle of reading a Vault response (tests/agents/py_hostile_procs.py).
Each time a real leak written during the attack is still reported, and what the tracer
dropped is counted."""
import json
import os
import signal
import subprocess
import threading

from harness import PY, Workspace, actions, agent, agent_bin, get, timeout, wait_for
from test_hostile import assert_real_leak_found
from tls_harness import tls_ca, tls_vault


def losses(run):
    """Each reason's total: tracer.loss events are deltas, one per poll that saw a loss."""
    total = {}
    for e in actions(run.events, "tracer.loss"):
        reason = get(e, "secretrace.lost.reason")
        total[reason] = total.get(reason, 0) + get(e, "secretrace.lost.count")
    return total


def storm_then_leak(ws, mode, children, parallel, during):
    """fork_storm MODE, and the real agent (py_kv_leak.py) fetching and sending its secret:
    after the storm, or (during) once a quarter of it has run, while it goes on."""
    vault = ws.vault()
    rx = ws.tcp_receiver()
    storm = "%s %s %d %d" % (agent_bin("fork_storm"), mode, children, parallel)
    leak = "%s %s %s %s %d" % (PY, agent("py_kv_leak.py"), vault.url, vault.token_file(), rx.port)
    if during:
        started = ws.path("started")
        cmd = "%s %s > /dev/null & storm=$!; %s --send-after %s && wait $storm" % (
            storm, started, leak, started)
    else:
        cmd = "%s > /dev/null && %s" % (storm, leak)
    run = ws.run_traced(["/bin/sh", "-c", cmd], timeout=240)
    assert run.rc == 0, "exit %s; stderr: %s" % (run.rc, run.stderr[-2000:])
    return run, vault, rx


@timeout(300)
def test_fork_storm_requests_leave_nothing_behind():
    """20,000 children each write a Vault-looking request on a socket and exit without
    closing it (the kernel closes it: no close(2) is seen). Each such socket was a Vault
    connection to the tracer; the real agent that runs next must still have its Vault
    connection followed, its secret learned and its leak found."""
    with Workspace() as ws:
        run, vault, rx = storm_then_leak(ws, "request", 20000, 8, False)
        assert_real_leak_found(run, vault, rx)


@timeout(300)
def test_fork_storm_exec_during_leak():
    """5,000 children exec /bin/true with a 12 KiB environment, 8 at a time (each a big
    exec record), while the real agent fetches and sends its secret: the leak is found;
    process records lost to a full ring are counted, uses are not lost."""
    with Workspace() as ws:
        run, vault, rx = storm_then_leak(ws, "exec", 5000, 8, True)
        print("lost:", losses(run))
        assert "ringbuf_full_match" not in losses(run), losses(run)
        assert_real_leak_found(run, vault, rx)


@timeout(240)
def test_fd_churn_names_the_right_destination():
    """The agent duplicates sockets over one fd number 300 times, alternating a decoy
    receiver (sent an HTTP request naming allowed.example) and the real one (sent the
    secret), with sockets opened and closed in between: every use names the real receiver,
    never the decoy's port nor the host name learned on the decoy's connection."""
    with Workspace() as ws:
        vault = ws.vault()
        decoy, rx = ws.tcp_receiver(), ws.tcp_receiver()
        run = ws.run_traced([PY, agent("py_hostile_procs.py"), "churn", vault.url, vault.token_file(),
                             str(decoy.port), str(rx.port), "300"], timeout=180)
        assert run.rc == 0, "exit %s; stderr: %s" % (run.rc, run.stderr[-2000:])
        rec = vault.issued_one("secret/data/agent/openai", "api_key")
        rx.wait_bytes(300 * (len(rec["value"]) + 5))
        uses = [u for u in actions(run.events, "secret.use") if get(u, "vault.field") == "api_key"]
        assert uses, "the leak was not reported"
        assert {get(u, "destination.port") for u in uses} == {rx.port}, \
            [(get(u, "destination.port"), get(u, "secretrace.fd")) for u in uses]
        assert not [u for u in uses if get(u, "destination.domain")], \
            [get(u, "destination.domain") for u in uses]
        n = sum(get(u, "secretrace.repeat_count") or 1 for u in uses)
        assert n == 300, "%d uses reported for 300 sends" % n


@timeout(240)
def test_unix_dup_names_no_stale_path():
    """A socket connected to a named unix socket, then a socketpair's end (no address)
    duplicated over the same fd number, 50 rounds, the secret sent on each: the uses on
    the named connection name its path, those on the socketpair name none (the path of
    the fd number's last connect was lent to them: a policy rule for that path would
    have allowed them)."""
    rounds = 50
    with Workspace() as ws:
        vault = ws.vault()
        path = ws.path("app.sock")
        run = ws.run_traced([PY, agent("py_hostile_procs.py"), "unixdup", vault.url,
                             vault.token_file(), path, str(rounds)], timeout=180)
        assert run.rc == 0, "exit %s; stderr: %s" % (run.rc, run.stderr[-2000:])
        uses = [u for u in actions(run.events, "secret.use") if get(u, "vault.field") == "api_key"]
        assert {get(u, "network.transport") for u in uses} == {"unix"}, uses
        by = {}
        for u in uses:
            a = get(u, "destination.address")
            by[a] = by.get(a, 0) + (get(u, "secretrace.repeat_count") or 1)
        assert by == {path: rounds, None: rounds}, by


@timeout(180)
def test_vanish_mid_read():
    """A process reading its (fake) Vault's answer is killed when half the secret's value
    has reached it: nothing of the half value is learned, the lost response is a
    secret.learn_failed, and the real agent that runs next still has its leak found."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver()
        out = ws.path("vanish.out")
        cmd = "%s %s vanish %s > %s && %s %s %s %s %d" % (
            PY, agent("py_hostile_procs.py"), ws.path("ready"), out,
            PY, agent("py_kv_leak.py"), vault.url, vault.token_file(), rx.port)
        run = ws.run_traced(["/bin/sh", "-c", cmd], timeout=120)
        assert run.rc == 0, "exit %s; stderr: %s" % (run.rc, run.stderr[-2000:])
        with open(out) as f:
            half = f.readline().strip()
        assert not [e for e in actions(run.events, "secret.receive")
                    if get(e, "vault.path") == "secret/data/vanish" and get(e, "secret.source") == "response"]
        with open(run.events_path) as f:
            assert half[:8] not in f.read(), "part of the half-read value in the events"
        failed = [e for e in actions(run.events, "secret.learn_failed")
                  if get(e, "vault.path") == "secret/data/vanish"]
        assert len(failed) == 1 and "exited in the middle" in get(failed[0], "error.message"), failed
        assert_real_leak_found(run, vault, rx)


@timeout(240)
def test_use_spray_does_not_hide_a_leak():
    """One process writes its secret to /dev/null as fast as it can for 8 s (a use record
    per write) while the real agent leaks another secret: the leak is found, and every
    write is reported or counted lost (docs/hardening.md's figures are printed)."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver()
        started, sprayed = ws.path("started"), ws.path("sprayed")
        cmd = "%s %d %s 8 %s > %s & s=$!; %s %s %s %s %d --path secret/data/agent/github " \
              "--field token --send-after %s && wait $s" % (
                  agent_bin("use_spray"), vault.port, vault.creds_path, started, sprayed,
                  PY, agent("py_kv_leak.py"), vault.url, vault.token_file(), rx.port, started)
        run = ws.run_traced(["/bin/sh", "-c", cmd], timeout=180)
        assert run.rc == 0, "exit %s; stderr: %s" % (run.rc, run.stderr[-2000:])
        with open(sprayed) as f:
            n = int(f.read())
        spray = [u for u in actions(run.events, "secret.use") if get(u, "process.name") == "use_spray"]
        assert {get(u, "file.path") for u in spray} == {"/dev/null"}, {get(u, "file.path") for u in spray}
        uses = sum(get(u, "secretrace.repeat_count") or 1 for u in spray)
        lost = losses(run)
        stats = get(run.events[-1], "secretrace.stats")
        print("sprayed %d, reported %d, lost %s, bytes not rescanned %d" % (
            n, uses, lost, stats["bytes_not_rescanned"]))
        assert uses <= n, "sprayed %d, reported %d" % (n, uses)
        assert stats["lost"] == sum(get(e, "secretrace.lost.count") for e in actions(run.events, "tracer.loss")
                                    if get(e, "secretrace.lost.unit") != "bytes"), stats
        # Every write not reported is accounted for: a use record or a held copy lost
        # (one record per write: the line is short), or a held copy over the bound (its
        # bytes counted, at least a line's per write). stats.lost is every counted record.
        line = len("key=%s\n" % vault.issued_one("secret/data/agent/openai", "api_key")["value"])
        assert n - uses <= stats["lost"] + stats["bytes_not_rescanned"] // line, \
            "%d writes neither reported nor counted lost (%s)" % (n - uses, lost)
        rec = vault.issued_one("secret/data/agent/github", "token")
        rx.wait_bytes(len(rec["value"]) + 5)
        assert [u for u in actions(run.events, "secret.use")
                if get(u, "vault.field") == "token" and get(u, "destination.port") == rx.port]


def tracer_of(pid):
    """The secretrace process pid runs under (its nearest ancestor of that name)."""
    while pid > 1:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:]
        if comm == "secretrace":
            return pid
        pid = int(rest.split()[1])
    raise AssertionError("no secretrace above the agent")


def map_of(tracer, name):
    """The id of the BPF map NAME that process tracer holds (other sessions' tracers have
    their own): its fds' map_id, from /proc/PID/fdinfo, against bpftool's names."""
    ids = set()
    for fd in os.listdir("/proc/%d/fdinfo" % tracer):
        try:
            with open("/proc/%d/fdinfo/%s" % (tracer, fd)) as f:
                ids.update(int(l.split()[1]) for l in f if l.startswith("map_id:"))
        except OSError:
            continue
    maps = json.loads(subprocess.run(["bpftool", "-j", "map", "show"], check=True,
                                     capture_output=True, text=True).stdout)
    found = [m["id"] for m in maps if m["id"] in ids and m.get("name") == name]
    assert len(found) == 1, "map %s of tracer %d: %s" % (name, tracer, found)
    return found[0]


def stash_entries(map_id, tgid):
    """Entries of the tls_stash map (keyed by pid_tgid) of process tgid."""
    dump = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "id", str(map_id)],
                                     check=True, capture_output=True, text=True).stdout)
    keys = [int(e["formatted"]["key"]) if "formatted" in e else
            int.from_bytes(bytes(int(b, 16) for b in e["key"]), "little") for e in dump]
    return sum(1 for k in keys if k >> 32 == tgid)


@timeout(240)
def test_killed_tls_readers_leave_no_stash():
    """A process with 200 threads inside SSL_read on a Vault session (its own fake Vault
    over TLS, which never answers) is SIGKILLed: the uretprobes never run, and each thread's
    read in flight stayed in the kernel's tls_stash (16,384, not LRU) for good, so enough
    kills filled it and later TLS Vault reads were lost. The entries must go with the
    threads; then a real agent's fetch over TLS is learned and its leak found."""
    threads = 200
    with Workspace() as ws:
        vault = tls_vault(ws)
        rx = ws.tcp_receiver()
        ca = tls_ca(ws)
        ready, go = ws.path("ready"), ws.path("go")
        cmd = "%s %s tlsstuck %s %s %d %s %s && %s %s %s %s %d" % (
            PY, agent("py_hostile_procs.py"), ca.cert, ca.key, threads, ready, go,
            PY, agent("py_kv_leak.py"), vault.url, vault.token_file(), rx.port)
        out = {}
        t = threading.Thread(target=lambda: out.update(run=ws.run_traced(
            ["/bin/sh", "-c", cmd], timeout=180, env=ws.env(SSL_CERT_FILE=ca.ca_cert))))
        t.start()
        try:
            wait_for(lambda: os.path.exists(ready) or "run" in out, 60, "the stuck readers")
            assert not out, "the traced run ended first: %r" % (out["run"].stderr[-2000:],)
            with open(ready) as f:
                child = int(f.read())
            stash = map_of(tracer_of(child), "tls_stash")
            seen = []
            wait_for(lambda: seen.append(stash_entries(stash, child)) or seen[-1] == threads, 60,
                     "%d reads in flight in tls_stash" % threads, interval=0.2,
                     about=lambda: "entries seen: %s" % seen[-5:])
            os.kill(child, signal.SIGKILL)
            wait_for(lambda: stash_entries(stash, child) == 0, 20,
                     "the killed threads' tls_stash entries to go", interval=0.2)
        finally:
            open(go, "w").close()
            t.join()
        run = out["run"]
        assert run.rc == 0, "exit %s; stderr: %s" % (run.rc, run.stderr[-2000:])
        assert_real_leak_found(run, vault, rx)


@timeout(420)
def test_fork_storm_uses_during_leak():
    """20,000 children, 8 at a time, each write the secret their parent read from Vault to
    /dev/null (a use, and fork and exit records, each) while the real agent fetches another
    secret and sends it over TCP. Uses and process records filled the one ring buffer: the
    real agent's Vault answer could be lost with them (its leak never reported), and events
    of processes whose fork record was lost had no process.executable. Now: the answer is
    learned (Vault traffic has a ring of its own), the leak reported with its request ID,
    every use of the storm's secret reported, folded or lost (counted), every event valid
    against its schema (run_traced checks that). A 1 MiB ring (the smallest) so that the
    storm fills it on any machine; the default 4 MiB filled the same way under load."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver()
        started = ws.path("started")
        children = 20000
        cmd = "%s use %d 8 %s %d %s > /dev/null & s=$!; %s %s %s %s %d --path secret/data/agent/github " \
              "--field token --send-after %s && wait $s" % (
                  agent_bin("fork_storm"), children, started, vault.port, vault.creds_path,
                  PY, agent("py_kv_leak.py"), vault.url, vault.token_file(), rx.port, started)
        run = ws.run_traced(["/bin/sh", "-c", cmd], timeout=360, tracer_args=["--ring-buffer", "1"])
        assert run.rc == 0, "exit %s; stderr: %s" % (run.rc, run.stderr[-2000:])
        lost = losses(run)
        storm = vault.issued_one("secret/data/agent/openai", "api_key")
        fp = [get(e, "secret.fingerprint") for e in actions(run.events, "secret.receive")
              if get(e, "vault.request_id") == storm["request_id"] and get(e, "vault.field") == "api_key"]
        uses = [u for u in actions(run.events, "secret.use") if get(u, "secret.fingerprint") in fp]
        assert len(fp) == 1 and {get(u, "process.name") for u in uses} == {"fork_storm"}
        reported = sum(get(u, "secretrace.repeat_count") or 1 for u in uses)
        stats = get(run.events[-1], "secretrace.stats")
        print("reported %d of %d uses; lost %s; stats %s" % (reported, children, lost, stats))
        assert reported + lost.get("uses_folded", 0) + lost.get("ringbuf_full_match", 0) == children, \
            "%d uses reported for %d writes, losses %s" % (reported, children, lost)
        rec = vault.issued_one("secret/data/agent/github", "token")
        rx.wait_bytes(len(rec["value"]) + 5)
        receives = [e for e in actions(run.events, "secret.receive")
                    if get(e, "vault.request_id") == rec["request_id"] and get(e, "vault.field") == "token"]
        assert len(receives) == 1, "the real agent's secret was not learned; lost %s" % lost
        leaks = [u for u in actions(run.events, "secret.use")
                 if get(u, "secret.fingerprint") == get(receives[0], "secret.fingerprint")
                 and get(u, "destination.port") == rx.port]
        assert len(leaks) == 1, "the real leak was reported %d times" % len(leaks)
        assert get(leaks[0], "vault.request_id") == rec["request_id"]
