"""Verdicts (issue 5): a policy file decides which uses are allowed; the others are
secret.violation alerts naming the rule."""
import os

from harness import PY, Workspace, agent, describe_all, get, timeout


def verdicts(events, field):
    return [e for e in events if get(e, "event.action") in ("secret.use", "secret.violation")
            and get(e, "vault.field") == field and get(e, "secretrace.repeat_count") is None]


def one(evs, what, **match):
    m = [e for e in evs if all(get(e, k) == v for k, v in match.items())]
    assert len(m) == 1, "expected one %s %s, found %d:%s\n  all:%s" % (
        what, match, len(m), describe_all(m), describe_all(evs))
    return m[0]


def run_policy_leak(ws, policy_for):
    """tests/agents/py_policy_leak.py under the policy policy_for(port of receiver A) gives,
    with two HTTP receivers (A, B) and a file: (vault, rx_a, rx_b, file, events, stderr)."""
    vault = ws.vault()
    rx_a = ws.tcp_receiver(http=True)
    rx_b = ws.tcp_receiver(http=True)
    d = os.path.realpath(ws.mkdir("agent", 0o700))
    pol = os.path.join(d, "policy.yaml")
    with open(pol, "w") as f:
        f.write(policy_for(rx_a.port))
    out = os.path.join(d, "key.txt")
    rc, events, err = ws.run_traced([PY, agent("py_policy_leak.py"), vault.url,
                                     vault.creds_path, str(rx_a.port), str(rx_b.port), out],
                                    tracer_args=["--policy", pol])
    assert rc == 0, "agent exit status %s; stderr: %s" % (rc, err)
    return vault, rx_a, rx_b, out, events, err


@timeout(90)
def test_host_rule_allows_one_destination_and_catches_others():
    """Rule: api_key may go only to api.example.com:PORT_A (named by the HTTP Host header).
    Sent there: secret.use with rule.name. Sent to another host: secret.violation (alert).
    Written to a file: secret.violation. Secrets no rule matches: plain secret.use."""
    with Workspace() as ws:
        vault, rx_a, rx_b, out, events, err = run_policy_leak(ws, lambda port_a: (
            "default: report\n"
            "rules:\n"
            "  - name: llm-key-to-api-only\n"
            "    vault_path: \"secret/data/agent/*\"\n"
            "    field: api_key\n"
            "    allow:\n"
            "      - destination: \"api.example.com:%d\"\n" % port_a))
        key = vault.issued_one("secret/data/agent/openai", "api_key")
        uses = verdicts(events, "api_key")
        ok = one(uses, "allowed use", **{"destination.port": rx_a.port})
        assert get(ok, "event.action") == "secret.use" and get(ok, "event.kind") == "event"
        assert get(ok, "rule.name") == "llm-key-to-api-only"
        assert get(ok, "destination.domain") == "api.example.com"
        assert get(ok, "vault.request_id") == key["request_id"]
        bad = one(uses, "violation", **{"destination.port": rx_b.port})
        assert get(bad, "event.action") == "secret.violation", describe_all([bad])
        assert get(bad, "event.kind") == "alert" and get(bad, "rule.name") == "llm-key-to-api-only"
        assert get(bad, "destination.domain") == "evil.example.net"
        f = one(uses, "file violation", **{"file.path": out})
        assert get(f, "event.action") == "secret.violation" and get(f, "secretrace.sink") == "file"
        assert "policy llm-key-to-api-only" in err, "violations go to stderr too: %r" % err
        pw = verdicts(events, "password")
        assert pw and all(get(e, "event.action") == "secret.use" and get(e, "rule.name") is None
                          for e in pw), "a secret no rule matches is not judged:%s" % describe_all(pw)
        stats = get(events[-1], "secretrace.stats")
        assert stats["violations"] == 2, stats


@timeout(90)
def test_default_deny_and_the_vault_credential_exception():
    """default: deny. Database credentials may go to any socket; everything else is a
    violation (rule "default"): the api_key in a file and on the wire. The token the agent
    sends back to the Vault server it came from is always allowed."""
    with Workspace() as ws:
        vault, rx_a, rx_b, out, events, err = run_policy_leak(ws, lambda port_a: (
            "default: deny\nrules:\n  - name: db-to-sockets\n"
            "    vault_path: \"database/creds/*\"\n    allow:\n      - sink: socket\n"))
        pw = one(verdicts(events, "password"), "password use", **{"destination.port": rx_a.port})
        assert get(pw, "event.action") == "secret.use" and get(pw, "rule.name") == "db-to-sockets"
        key_uses = verdicts(events, "api_key")
        assert len(key_uses) == 3 and all(
            get(e, "event.action") == "secret.violation" and get(e, "rule.name") == "default"
            for e in key_uses), describe_all(key_uses)
        tok = [e for e in events if get(e, "vault.field") == "client_token"
               and get(e, "event.action") in ("secret.use", "secret.violation")]
        assert tok and all(get(e, "event.action") == "secret.use" and
                           get(e, "destination.port") == vault.port for e in tok), \
            "the token sent back to Vault must be allowed:%s" % describe_all(tok)


@timeout(90)
def test_repeated_violations_each_reported():
    """Violations are reported one by one: the same secret written to the same file 20
    times, then through a second descriptor, is 21 events with their own ids, sequence
    numbers, descriptors and offsets (the repeats are rendered from one template), and
    one line on stderr."""
    with Workspace() as ws:
        vault = ws.vault()
        d = os.path.realpath(ws.mkdir("agent", 0o700))
        pol = os.path.join(d, "policy.yaml")
        with open(pol, "w") as f:
            f.write("default: deny\n")
        out = os.path.join(d, "key.txt")
        run = ws.run_traced([PY, agent("py_repeat_leak.py"), vault.url, vault.creds_path, out],
                            tracer_args=["--policy", pol])
        assert run.rc == 0, "agent exit status %s; stderr: %s" % (run.rc, run.stderr)
        with open(run.stdout_path) as f:
            fd, again = map(int, f.read().split())
        evs = [e for e in verdicts(run.events, "api_key") if get(e, "file.path") == out]
        assert len(evs) == 21 and all(get(e, "event.action") == "secret.violation" and
                                      get(e, "rule.name") == "default" for e in evs), \
            describe_all(evs)
        want = [(fd, len("n=%d key=" % i)) for i in range(20)] + [(again, len("last key="))]
        assert [(get(e, "secretrace.fd"), get(e, "secretrace.offset")) for e in evs] == want, \
            describe_all(evs)
        seqs = [get(e, "event.sequence") for e in evs]
        assert seqs == sorted(seqs) and len(set(seqs)) == 21, seqs
        assert len({get(e, "event.id") for e in evs}) == 21
        stamps = [get(e, "@timestamp") for e in evs]
        assert stamps == sorted(stamps), stamps
        first = {k: v for k, v in evs[0].items() if k not in ("@timestamp", "event", "secretrace")}
        assert all({k: v for k, v in e.items() if k not in ("@timestamp", "event", "secretrace")}
                   == first for e in evs), describe_all(evs)
        assert all(get(e, "process.thread.id") == get(e, "process.pid") for e in evs)
        assert run.stderr.count("policy default: api_key") == 1, run.stderr
