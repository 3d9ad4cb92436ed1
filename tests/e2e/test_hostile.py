"""A hostile traced agent attacks the tracer through its own fake "Vault" (tests/agents/
py_hostile.py): it floods the dictionary, hands out protocol text as "secrets", or (under
--vault-strict) any secret at all. Each attack is refused and counted in tracer.anomaly
events, and a real agent's leak written after it is still reported."""
import os
import subprocess

from harness import PY, SECRETRACE, Workspace, actions, agent, get, timeout


def run_after(ws, hostile_args, tracer_args=(), vault=None, timeout_s=240):
    """The hostile agent, then py_kv_leak.py (the real agent: a KV secret from the stand-in
    sent to a TCP receiver), under one tracer: (run, vault, receiver, values handed out)."""
    vault = vault or ws.vault()
    rx = ws.tcp_receiver()
    handed = ws.path("handed")
    cmd = "%s %s %s > %s && %s %s %s %s %d" % (
        PY, agent("py_hostile.py"), " ".join(hostile_args), handed,
        PY, agent("py_kv_leak.py"), vault.url, vault.token_file(), rx.port)
    run = ws.run_traced(["/bin/sh", "-c", cmd], timeout=timeout_s, tracer_args=tracer_args)
    assert run.rc == 0, "exit %s; stderr: %s" % (run.rc, run.stderr[-2000:])
    with open(handed) as f:
        return run, vault, rx, int(f.read().split()[-1])


def assert_real_leak_found(run, vault, rx):
    rec = vault.issued_one("secret/data/agent/openai", "api_key")
    rx.wait_bytes(len(rec["value"]) + 5)
    receives = [e for e in actions(run.events, "secret.receive")
                if get(e, "vault.request_id") == rec["request_id"] and get(e, "vault.field") == "api_key"]
    assert len(receives) == 1, "the real agent's secret was not learned"
    fp = get(receives[0], "secret.fingerprint")
    uses = [u for u in actions(run.events, "secret.use") if get(u, "secret.fingerprint") == fp
            and get(u, "destination.port") == rx.port and get(u, "process.name") == "python3"]
    assert len(uses) == 1, "the real leak over TCP was reported %d times" % len(uses)


def hostile(events):
    """secret.receive events of values the fake Vault handed out (not presented tokens)."""
    return [e for e in actions(events, "secret.receive")
            if (get(e, "vault.path") or "").startswith("secret/data/hostile/")
            and get(e, "secret.source") == "response"]


def anomalies(events):
    """{kind: refusals}; each event names its process, and the first of each its server
    (those counted at the process's exit have no connection to name)."""
    out = {}
    for e in actions(events, "tracer.anomaly"):
        k = get(e, "secretrace.anomaly.kind")
        assert get(e, "process.pid"), "anomaly without its process"
        assert k in out or get(e, "destination.port"), "first %s anomaly without its server" % k
        out[k] = out.get(k, 0) + get(e, "secretrace.anomaly.count")
    return out


@timeout(300)
def test_flood_does_not_blind():
    """Three processes fetch 20 answers of 1,000 random values each from their fake Vault
    (60,000 "secrets"; the dictionary took ~22,000 before it was full): each process learns at
    most its burst, the server as a whole at most its own, every other value is counted in a
    tracer.anomaly; the dictionary never fills, and the real agent that runs next still has
    its leak found. A 64 MiB ring buffer keeps this test to the dictionary: with the default
    4 MiB the flood also overflows the ring (counted in tracer.loss; docs/hardening.md)."""
    with Workspace() as ws:
        run, vault, rx, handed = run_after(ws, ["flood", "3", "20", "1000"], ["--ring-buffer", "64"])
        assert handed == 60000
        assert get(run.events[-1], "secretrace.stats.lost") == 0, "lost: %s" % [
            (get(e, "secretrace.lost.reason"), get(e, "secretrace.lost.count"))
            for e in actions(run.events, "tracer.loss")]
        learned = hostile(run.events)
        refused = anomalies(run.events)
        assert set(refused) <= {"process_rate", "server_rate"}, refused
        assert refused.get("process_rate", 0) > 1000 and refused.get("server_rate", 0) > 1000, refused
        assert len(learned) + sum(refused.values()) == handed, \
            "%d learned + %s refused != %d handed out" % (len(learned), refused, handed)
        assert get(run.events[-1], "secretrace.stats.not_learned") == sum(refused.values())
        per_proc = {}
        for e in learned:
            per_proc[get(e, "process.pid")] = per_proc.get(get(e, "process.pid"), 0) + 1
        # the burst, plus what the buckets refilled while the flood went on
        assert all(n <= 2048 + 8 * 120 for n in per_proc.values()), per_proc
        assert len(learned) <= 4096 + 16 * 120, len(learned)
        assert not actions(run.events, "secret.learn_failed"), "the dictionary filled up"
        assert_real_leak_found(run, vault, rx)


@timeout(180)
def test_common_values_refused():
    """The fake Vault hands out protocol text (Content-Type: application/json, a status
    line, JSON of Vault's own) and plain strings (aaaa..., 0101...): none is learned, so the
    agent's own HTTP and file writes match nothing; each is counted (common_value,
    low_entropy); the real agent's leak is found."""
    with Workspace() as ws:
        out = os.path.realpath(ws.path("hostile.txt"))
        run, vault, rx, handed = run_after(ws, ["common", out])
        assert not hostile(run.events), "protocol text learned as secrets"
        assert anomalies(run.events) == {"common_value": 7, "low_entropy": 3}, anomalies(run.events)
        assert handed == 10
        assert not [u for u in actions(run.events, "secret.use") if get(u, "file.path") == out]
        assert_real_leak_found(run, vault, rx)


@timeout(180)
def test_vault_strict():
    """--vault-addr names the stand-in, --vault-strict learns from it alone: the fake
    Vault's plausible secret (and the token presented to it) are refused
    (strict_unnamed_server), so the agent writing that value to a file is not a use; the
    real agent's secret is learned and its leak found. Without --vault-addr, --vault-strict
    is a usage error."""
    usage = subprocess.run([SECRETRACE, "--vault-strict", "--", "/bin/true"], capture_output=True,
                           text=True, timeout=30)
    assert usage.returncode == 125 and "--vault-strict needs --vault-addr" in usage.stderr, usage
    with Workspace() as ws:
        out = os.path.realpath(ws.path("hostile.txt"))
        vault = ws.vault()
        run, _, rx, handed = run_after(ws, ["fake", out], ["--vault-addr", vault.url, "--vault-strict"],
                                       vault)
        assert handed == 1
        assert not [e for e in actions(run.events, "secret.receive")
                    if (get(e, "vault.path") or "").startswith("secret/data/hostile/")]
        assert anomalies(run.events) == {"strict_unnamed_server": 2}, anomalies(run.events)
        assert not [u for u in actions(run.events, "secret.use") if get(u, "file.path") == out]
        assert_real_leak_found(run, vault, rx)


@timeout(300)
def test_leak_during_ring_flood():
    """The flood with the default 4 MiB ring buffer, the real agent's leak written in the
    middle of it (the agent read its secret before the flood began): the flood's Vault
    traffic overflows the ring (data records lost, counted), but the ring's last eighth is
    kept for uses and process records, so none of those is lost and the leak is found."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver()
        fetched, started = ws.path("fetched"), ws.path("started")
        cmd = "%s %s %s %s %d --fetched %s --send-after %s & real=$!; %s %s flood 3 20 1000 %s %s " \
              "> /dev/null && wait $real" % (
                  PY, agent("py_kv_leak.py"), vault.url, vault.token_file(), rx.port, fetched, started,
                  PY, agent("py_hostile.py"), fetched, started)
        run = ws.run_traced(["/bin/sh", "-c", cmd], timeout=240)
        assert run.rc == 0, "exit %s; stderr: %s" % (run.rc, run.stderr[-2000:])
        lost = {get(e, "secretrace.lost.reason"): get(e, "secretrace.lost.count")
                for e in actions(run.events, "tracer.loss")}
        assert not {"ringbuf_full_match", "ringbuf_full_process"} & set(lost), lost
        assert_real_leak_found(run, vault, rx)
