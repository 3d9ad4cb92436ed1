"""secretrace correlate on real runs: an agent traced against the Vault stand-in (which
writes a Vault-format file audit log), then `secretrace correlate` on that audit log and
the events. Each of the four flags is constructed; a hostile audit log is skipped and
counted; the output holds no secret."""
import json
import os
import random
import subprocess

from harness import PY, SECRETRACE, Workspace, get, timeout

# The agent: an AppRole login, then five Vault requests, each used in its own way.
AGENT = r'''
import json, socket, subprocess, sys, time, urllib.request

vault, creds_path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
creds = json.load(open(creds_path))

def call(path, token=None, body=None):
    h = {"X-Vault-Token": token} if token else {}
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(vault + "/v1/" + path, data=data, headers=h,
                                 method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())

def send(text):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(text.encode() + b"\n")
    s.close()

tok = call("auth/approle/login", body={"role_id": creds["role_id"],
                                       "secret_id": creds["secret_id"]})["auth"]["client_token"]
# 1. fetched, never used
call("secret/data/agent/github", tok)
# 2. fetched and sent by this process
send("key=" + call("secret/data/agent/openai", tok)["data"]["data"]["api_key"])
# 3. fetched here, sent by a child (through its stdin)
pw = call("secret/data/agent/db", tok)["data"]["data"]["config"]["password"]
child = subprocess.Popen([sys.executable, "-c",
    "import socket,sys; v=sys.stdin.readline().strip(); "
    "s=socket.create_connection(('127.0.0.1', %d), timeout=10); "
    "s.sendall(('child=' + v + '\\n').encode()); s.close()" % port], stdin=subprocess.PIPE)
child.stdin.write((pw + "\n").encode())
child.stdin.close()
child.wait()
# 4. a database credential with a 1 s lease: the username at once, the password late
db = call("database/creds/readonly", tok)["data"]
send("user=" + db["username"])
# 5. a token that lives 1 s (its TTL is in the audit log), used late
short = call("auth/token/create", tok, {"ttl": "1s"})["auth"]["client_token"]
time.sleep(2.5)
send("pw=" + db["password"])
send("token=" + short)
'''


def correlate(ws, audit, events, *args, stdin=None, name="correlate"):
    """Runs secretrace correlate; returns (rc, chains by request_id, summary, stdout, stderr).
    The output and stderr get the leak check."""
    out = ws.path("%s-%d.out" % (name, random.getrandbits(32)))
    err = out + ".err"
    argv = [SECRETRACE, "correlate", "--vault-audit", audit] + list(args)
    if events is not None:
        argv.append(events)
    with open(out, "wb") as o, open(err, "wb") as e:
        if stdin is not None:
            with open(stdin, "rb") as i:
                rc = subprocess.run(argv, stdout=o, stderr=e, stdin=i, timeout=60).returncode
        else:
            rc = subprocess.run(argv, stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                                timeout=60).returncode
    ws.leak_check([out, err])
    with open(out, encoding="utf-8") as f:
        text = f.read()
    with open(err, encoding="utf-8", errors="replace") as f:
        stderr = f.read()
    chains, summary = {}, None
    if "--table" not in args:
        for line in text.splitlines():
            obj = json.loads(line)
            if "summary" in obj:
                summary = obj["summary"]
            else:
                chains[obj["request_id"]] = obj
    return rc, chains, summary, text, stderr


def traced_run(ws):
    vault = ws.vault(args=["--db-lease-ttl", "1"])
    rx = ws.tcp_receiver()
    d = ws.mkdir("agent", 0o755)
    script = os.path.join(d, "agent.py")
    with open(script, "w") as f:
        f.write(AGENT)
    run = ws.run_traced([PY, script, vault.url, vault.creds_path, str(rx.port)], timeout=60)
    assert run.rc == 0, "agent exit status %s; stderr: %s" % (run.rc, run.stderr)
    rx.wait_bytes(1)
    return vault, rx, run


def rid(vault, path, field):
    return vault.issued_one(path, field)["request_id"]


def flags(chain):
    return sorted(chain["flags"])


def uses(chain):
    return [e for e in chain["events"] if e["action"] in ("secret.use", "secret.violation")]


@timeout(120)
def test_four_flags():
    """never_used, other_process, used_after_expiry (a lease, with --lease-ttl; a token, from
    the audit log alone), and unknown_request (the audit log of another stand-in)."""
    with Workspace() as ws:
        vault, rx, run = traced_run(ws)
        data = rx.data()
        assert b"child=" in data and b"token=" in data, "the agent did not finish: %r" % data[:200]
        rc, chains, summary, _, err = correlate(ws, vault.audit_path, run.events_path,
                                                "--lease-ttl", "1")
        assert rc == 0, "correlate exit %s: %s" % (rc, err)

        github = chains[rid(vault, "secret/data/agent/github", "token")]
        openai = chains[rid(vault, "secret/data/agent/openai", "api_key")]
        db = chains[rid(vault, "secret/data/agent/db", "config.password")]
        creds = chains[rid(vault, "database/creds/readonly", "password")]
        short = chains[rid(vault, "auth/token/create", "client_token")]
        login = chains[rid(vault, "auth/approle/login", "client_token")]

        # who, when, what: from the audit log
        for ch in (github, openai, db, creds, short):
            a = ch["audit"]
            assert a["found"] is True, ch
            assert a["display_name"] == "approle", a
            assert a["policies"] == ["agent", "default"], a
            assert a["remote_address"] == "127.0.0.1", a
            assert a["time"] <= a["response_time"], a
            assert ch["counts"]["receives"] >= 1, ch
        assert openai["audit"]["path"] == "secret/data/agent/openai"
        assert sorted(openai["vault"]["fields"]) == ["api_key", "org"], openai["vault"]
        assert login["audit"]["display_name"] == "approle", login["audit"]
        assert "unknown_request" not in login["flags"], login

        # 1. never used
        assert flags(github) == ["never_used"], github
        # 2. used by the process that fetched it, to the receiver
        assert flags(openai) == [], openai
        u = uses(openai)
        assert len(u) == 1 and u[0]["destination"] == {"ip": "127.0.0.1", "port": rx.port}, u
        assert u[0]["verdict"] == "none" and u[0]["sink"] == "socket", u
        # 3. written to the child's pipe by the fetcher, sent by the child
        assert flags(db) == ["other_process"], db
        fetcher = {e["process"]["entity_id"] for e in db["events"] if e["action"] == "secret.receive"}
        by_child = [e for e in uses(db) if e["process"]["entity_id"] not in fetcher]
        by_parent = [e for e in uses(db) if e["process"]["entity_id"] in fetcher]
        assert by_child and all(e.get("flags") == ["other_process"] for e in by_child), db
        assert any(e["sink"] == "socket" and e["destination"]["port"] == rx.port for e in by_child), db
        assert by_parent and all(e["sink"] == "pipe" and "flags" not in e for e in by_parent), db
        # 4. the lease: username in time, password after it expired
        assert flags(creds) == ["used_after_expiry"], creds
        assert creds["vault"]["lease_id"].startswith("database/creds/readonly/"), creds
        assert creds["lease"]["duration"] == 1, creds
        late = [e for e in uses(creds) if e.get("flags")]
        assert late and all(e["field"] == "password" for e in late), creds
        assert any(e["field"] == "username" and "flags" not in e for e in uses(creds)), creds
        # 5. the short token: its TTL is in the audit log (auth.token_ttl)
        assert flags(short) == ["used_after_expiry"], short
        assert short["token"]["duration"] == 1, short

        # the login's token may or may not be reported when sent back to Vault (README):
        # count what the chains say
        assert summary["flagged"]["never_used"] == sum(
            "never_used" in c["flags"] for c in chains.values()), summary
        assert summary["flagged"]["other_process"] == 1, summary
        assert summary["flagged"]["used_after_expiry"] == 2, summary
        assert summary["flagged"]["unknown_request"] == 0, summary
        assert summary["events"]["malformed"] == 0 and summary["events"]["invalid"] == 0, summary
        assert summary["audit"]["malformed"] == 0 and summary["audit"]["invalid"] == 0, summary
        assert summary["requests"] == len(chains), summary

        # without --lease-ttl: Vault does not audit a lease's duration, but the tracer saw it
        # in the response (vault.lease_duration on secret.receive), so it is still judged
        rc, chains2, summary2, _, err = correlate(ws, vault.audit_path, run.events_path)
        assert rc == 0, err
        c2 = chains2[creds["request_id"]]
        assert flags(c2) == ["used_after_expiry"] and c2["lease"]["duration"] == 1, c2
        assert flags(chains2[short["request_id"]]) == ["used_after_expiry"]

        # 6. another Vault's audit log knows none of these requests
        other = ws.vault()
        with open(other.creds_path) as f:
            root = json.load(f)["root_token"]
        subprocess.run(["curl", "-sf", "-o", "/dev/null", "-H", "X-Vault-Token: " + root,
                        other.url + "/v1/secret/data/agent/openai"], check=True, timeout=20)
        rc, chains3, summary3, _, err = correlate(ws, other.audit_path, run.events_path)
        assert rc == 0, err
        assert chains3 and all("unknown_request" in c["flags"] for c in chains3.values()), chains3
        assert all(c["audit"] == {"found": False} for c in chains3.values()), chains3
        assert summary3["flagged"]["unknown_request"] == len(chains3), summary3
        assert summary3["audit"]["used"] == 0 and summary3["audit"]["lines"] == 2, summary3

        # --table: the same, for a person
        rc, _, _, table, err = correlate(ws, vault.audit_path, run.events_path, "--lease-ttl", "1",
                                         "--table")
        assert rc == 0, err
        assert "request %s  secret/data/agent/github  [never_used]" % github["request_id"] in table, table
        assert "[other_process]" in table and "[used_after_expiry]" in table, table
        assert "by approle" in table, table
        assert "1 used by another process, 2 used after expiry, 0 unknown" in table, table


@timeout(120)
def test_hostile_audit_log():
    """Truncated lines, wrong types, non-JSON, binary, a line over --max-line: skipped and
    counted; the chains are those of the clean log. Events come on standard input."""
    with Workspace() as ws:
        vault, rx, run = traced_run(ws)
        rc, clean, _, _, err = correlate(ws, vault.audit_path, run.events_path, "--lease-ttl", "1")
        assert rc == 0, err
        with open(vault.audit_path, encoding="utf-8") as f:
            lines = [l.rstrip("\n") for l in f if l.strip()]
        ours = [l for l in lines if any(r in l for r in clean)]
        assert len(ours) >= 10, "expected the audit entries of our requests"
        hostile, malformed, invalid = [], 0, 0
        for i, line in enumerate(lines):
            hostile.append(line)
            if line not in ours[:6]:
                continue
            e = json.loads(line)
            cut = len(line) // 2
            while line[cut - 1] == "}":
                cut -= 1
            hostile.append(line[:cut])                          # truncated
            hostile.append(line[:-1])                           # one byte short
            malformed += 2
            for bad in ({"time": 12345}, {"auth": "root"}, {"type": ["request"]},
                        {"response": [1, 2]}):
                b = dict(e)
                b.update(bad)
                hostile.append(json.dumps(b))
                invalid += 1
            b = json.loads(line)
            b["request"]["path"] = 7
            hostile.append(json.dumps(b))
            invalid += 1
            b = json.loads(line)
            b["auth"] = dict(b.get("auth") or {}, policies="root", display_name="x")
            hostile.append(json.dumps(b))
            invalid += 1
        hostile.insert(3, "this is not JSON " + next(iter(clean)))
        hostile.insert(5, "")
        hostile.insert(7, "[%s]" % json.dumps(next(iter(clean))))
        hostile.insert(9, "{" + "x" * 200000 + "}")               # over --max-line
        malformed += 2
        path = ws.path("hostile-audit.log")
        with open(path, "wb") as f:
            for l in hostile:
                f.write(l.encode("utf-8") + b"\n")
            f.write(b"\x00\xff\xfe{\"request\":{\"id\":\x01}}\n")   # binary, not an object
            f.write(b'{"time":"2026-01-01T00:00:00Z","type":"request","request":{"id":"')  # cut, no newline
        malformed += 2
        rc, chains, summary, _, err = correlate(ws, path, None, "--lease-ttl", "1",
                                                "--max-line", "65536", stdin=run.events_path)
        assert rc == 0, "correlate exit %s: %s" % (rc, err)
        a = summary["audit"]
        assert a["malformed"] == malformed, (a, malformed)
        assert a["invalid"] == invalid, (a, invalid)
        assert a["too_long"] == 1, a
        assert a["lines"] == len(hostile) - 1 + 2, a              # the blank line is no entry
        assert "skipped audit lines: %d malformed, %d invalid, 1 too long" % (malformed, invalid) in err, err
        assert sorted(chains) == sorted(clean), "chains differ"
        for r, ch in clean.items():
            assert chains[r]["flags"] == ch["flags"], (chains[r], ch)
            assert chains[r]["audit"] == ch["audit"], (chains[r]["audit"], ch["audit"])


@timeout(60)
def test_command_line():
    """Exit statuses: 2 on usage errors, 1 when a file cannot be read, 0 otherwise; no root
    needed (correlate loads no BPF)."""
    with Workspace() as ws:
        ev = ws.path("events.json")
        au = ws.path("audit.log")
        for p in (ev, au):
            with open(p, "w") as f:
                f.write("{}\n")
        def rc(*args, user=None):
            r = subprocess.run([SECRETRACE, "correlate"] + list(args), capture_output=True,
                               timeout=30, stdin=subprocess.DEVNULL, user=user)
            return r.returncode, r.stdout.decode(), r.stderr.decode()
        code, out, err = rc()
        assert code == 2 and "--vault-audit FILE is required" in err, (code, err)
        code, out, err = rc("--vault-audit", au, ev, ev)
        assert code == 2 and err.startswith("secretrace: correlate: unexpected argument"), (code, err)
        code, out, err = rc("--vault-audit", au, "--nope")
        assert code == 2 and "unknown option --nope" in err, (code, err)
        code, out, err = rc("--vault-audit", ws.path("missing.log"), ev)
        assert code == 1 and "missing.log: No such file or directory" in err, (code, err)
        code, out, err = rc("--vault-audit", au, ws.path("missing.json"))
        assert code == 1 and "missing.json: No such file or directory" in err, (code, err)
        code, out, err = rc("--help")
        assert code == 0 and "Usage: secretrace correlate" in out, (code, out)
        code, out, err = rc("--vault-audit", au, ev, user="nobody")
        assert code == 0, (code, err)
        s = json.loads(out.splitlines()[-1])["summary"]
        assert s["requests"] == 0 and s["events"]["invalid"] == 1, s
