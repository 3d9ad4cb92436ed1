"""TLS and HTTP/2 (issue 3): real clients fetch secrets from Vault over TLS and use them.

Each client reads secret/data/agent/tls (api_key, token) and database/creds/readonly
(username, password) from a Vault over TLS: the stand-in over HTTPS (HTTP/1.1), or for
curl --http2 nghttpd serving the stand-in's responses over HTTP/2 (tls_harness.py). Then
it uses
  - api_key over TLS to an HTTPS receiver, as "Authorization: Bearer" (raw),
  - token over plain TCP to a TCP receiver (raw, secretrace.tls false),
  - username:password over TLS to the HTTPS receiver, as HTTP Basic auth (base64).
The tests check the secret.receive of every fetched secret (request_id, path, field,
lease, the Vault server as destination), and that the secret.use events are exactly the
expected ones, each once: for the TLS uses secretrace.tls true and the TLS library's call
(SSL_write; python's ssl module calls SSL_write_ex; gnutls_record_send), never also a
plain write of the same bytes; the local hand-offs of the shell agents (files, a pipe)
with their own syscall and sink. The harness's leak check runs on every traced run.
"""
import base64
import json
import os
import subprocess

from harness import (PY, Workspace, actions, agent, assert_no_learn_failures, assert_uses,
                     check_common, describe_all, get, is_pipe, rand_secret, receives,
                     the_receive, timeout, to_vault, use_spec, wait_for)
from tls_harness import (NODE, curl, gnutls_cli, h2_vault, node, python_hvac, run_untraced,
                         tls_ca, tls_receiver, tls_vault)

KV = "secret/data/agent/tls"
DB = "database/creds/readonly"
CLIENTS = ("curl_h1", "curl_h2", "hvac", "node", "gnutls")

# per client: the process that fetches and sends over TLS, the TLS call it makes (checked
# with uprobes on these machines: curl and node call SSL_write, python's _ssl module
# SSL_write_ex, gnutls-cli gnutls_record_send), and the plain-socket send
TLS_CALL = {
    "curl_h1": "SSL_write", "curl_h2": "SSL_write", "node": "SSL_write",
    # the contract names SSL_write; python calls SSL_write_ex: either name is accepted
    "hvac": lambda s: s in ("SSL_write", "SSL_write_ex"),
    "gnutls": "gnutls_record_send",
}
PROCESS = {"curl_h1": "curl", "curl_h2": "curl", "hvac": "python3", "node": "node",
           "gnutls": "gnutls-cli"}
PLAIN_CALL = {
    "curl_h1": "sendto", "curl_h2": "sendto", "hvac": "sendto",
    "node": lambda s: s in ("write", "writev"),      # libuv: write(2) for one buffer
    "gnutls": "write",                               # bash's printf on /dev/tcp
}
PLAIN_PROCESS = {"curl_h1": "curl", "curl_h2": "curl", "hvac": "python3", "node": "node",
                 "gnutls": None}                     # bash (the agent script itself)


def tls_seed():
    return {"kv": {"secret/agent/tls": {"api_key": rand_secret(40, "sk-"),
                                        "token": rand_secret(32, "tcp-")}}}


def _name(v):
    return v if isinstance(v, str) else "<one of several>"


def spec(rec, sink, syscall, fp, tls, encoding="raw", dest=None, file_path=None,
         process=None, **extra):
    """use_spec with secretrace.tls and secret.encoding, and a readable label."""
    extra = dict(extra)
    extra["secretrace.tls"] = tls
    extra["secret.encoding"] = encoding
    s = use_spec(rec, sink, syscall, dest=dest, transport="tcp" if sink == "socket" else None,
                 file_path=file_path, process=process, fingerprint=fp, **extra)
    s["_label"] = "%s %s -> %s %s tls=%s %s%s%s by %s" % (
        rec["path"], rec["field"], sink, _name(syscall), tls, encoding,
        " %s:%s" % dest if dest else "", " " + file_path if file_path else "",
        process or "any process")
    return s


class Scenario:
    """One client: its servers, its argv, what must arrive, the events it must cause."""

    def __init__(self, ws, client):
        assert client in CLIENTS, client
        self.ws, self.client = ws, client
        {"curl_h1": curl, "curl_h2": curl, "hvac": python_hvac, "node": node,
         "gnutls": gnutls_cli}[client]()
        self.ca = tls_ca(ws)
        if client == "curl_h2":
            # nghttpd speaks only h2 over TLS: curl succeeding means HTTP/2 was used
            self.vault = h2_vault(ws, [KV, DB], seed=tls_seed())
        else:
            self.vault = tls_vault(ws, seed=tls_seed())
        self.rx = tls_receiver(ws)
        self.tcp = ws.tcp_receiver(http=True)
        self.dir = os.path.realpath(ws.mkdir("agent-" + client, 0o700))
        base = [self.vault.url, self.ca.ca_cert, self.vault.creds_path, str(self.rx.port),
                str(self.tcp.port)]
        self.argv = {
            "curl_h1": [agent("tls_curl.sh")] + base + [self.dir],
            "curl_h2": [agent("tls_curl.sh")] + base + [self.dir, "--http2"],
            "hvac": [PY, agent("tls_hvac.py")] + base,
            "node": [NODE, agent("tls_node.js")] + base,
            "gnutls": [agent("tls_gnutls.sh")] + base + [self.dir],
        }[client]

    def truth(self):
        """The ground-truth records of api_key, token, username, password."""
        v = self.vault
        return (v.issued_one(KV, "api_key"), v.issued_one(KV, "token"),
                v.issued_one(DB, "username"), v.issued_one(DB, "password"))

    def check_delivered(self):
        """The agent did its job (independent of the tracer): the receivers got the
        Bearer header, the Basic header and the token; over h2, what curl saved is
        byte for byte what nghttpd served."""
        api, tok, user, pw = self.truth()
        bearer = ("Authorization: Bearer %s\r\n" % api["value"]).encode()
        basic = ("Authorization: Basic %s\r\n" % base64.b64encode(
            ("%s:%s" % (user["value"], pw["value"])).encode()).decode()).encode()
        conns = self.rx.connections()
        for what, b in (("Bearer", bearer), ("Basic", basic)):
            n = sum(b in c for c in conns)
            assert n == 1, "%s: the HTTPS receiver got the %s header on %d connections, not 1 " \
                "(agent broken?); TLS sessions: %s" % (self.client, what, n, self.rx.sessions)
        errs = [s for s in self.rx.sessions if s["error"]]
        assert not errs, "%s: HTTPS receiver errors: %s" % (self.client, errs)
        wait_for(lambda: ("X-Api-Token: %s" % tok["value"]).encode() in self.tcp.data(), 10,
                 "%s: the token at the TCP receiver" % self.client)
        if self.client == "curl_h2":
            for path, fn in ((KV, "kv.json"), (DB, "db.json")):
                with open(os.path.join(self.dir, fn), "rb") as f:
                    got = f.read()
                assert got == self.vault.body(path), \
                    "curl --http2 saved other bytes for %s than nghttpd served" % path

    def expected_uses(self, fps):
        api, tok, user, pw = self.truth()
        c, d = self.client, self.dir
        proc, tls_call = PROCESS[c], TLS_CALL[c]
        rx = ("127.0.0.1", self.rx.port)
        tcp = ("127.0.0.1", self.tcp.port)
        fp = lambda r: fps.get(r["field"])
        exp = [
            # the three uses the issue asks for
            spec(api, "socket", tls_call, fp(api), True, dest=rx, process=proc),
            spec(tok, "socket", PLAIN_CALL[c], fp(tok), False, dest=tcp, process=PLAIN_PROCESS[c]),
            spec(user, "socket", tls_call, fp(user), True, "base64", dest=rx, process=proc),
            spec(pw, "socket", tls_call, fp(pw), True, "base64", dest=rx, process=proc),
        ]
        if c in ("curl_h1", "curl_h2"):
            # curl -o saves the responses; bash writes the -K config files
            for rec, fn in ((api, "kv.json"), (tok, "kv.json"), (user, "db.json"),
                            (pw, "db.json")):
                exp.append(spec(rec, "file", "write", fp(rec), False,
                                file_path=os.path.join(d, fn), process="curl"))
            for rec, fn in ((api, "bearer.cfg"), (tok, "plain.cfg"), (user, "basic.cfg"),
                            (pw, "basic.cfg")):
                exp.append(spec(rec, "file", "write", fp(rec), False,
                                file_path=os.path.join(d, fn)))
        elif c == "gnutls":
            # (gnutls-cli's responses: see allowed_uses)
            exp.append(spec(api, "file", "write", fp(api), False,
                            file_path=os.path.join(d, "bearer.req")))
            for rec in (user, pw):
                exp += [
                    spec(rec, "file", "write", fp(rec), False,
                         file_path=os.path.join(d, "basic.txt")),
                    spec(rec, "pipe", "write", fp(rec), False, "base64", process="base64",
                         **{"file.path": is_pipe}),
                    spec(rec, "file", "write", fp(rec), False, "base64",
                         file_path=os.path.join(d, "basic.req")),
                ]
        return exp

    def allowed_uses(self, fps):
        """Uses that may be reported or not, but if reported, then once and so."""
        allowed = [to_vault(self.vault)]
        if self.client == "gnutls":
            # gnutls-cli writes what it receives one byte per write(2), starting as soon as
            # gnutls_record_recv returns: such a secret is never whole in one buffer, which
            # the contract does not require to be found (the per-fd carry may find it)
            api, tok, user, pw = self.truth()
            fp = lambda r: fps.get(r["field"])
            for rec, fn in ((api, "kv.resp"), (tok, "kv.resp"), (user, "db.resp"),
                            (pw, "db.resp")):
                allowed.append(spec(rec, "file", "write", fp(rec), False,
                                    file_path=os.path.join(self.dir, fn), process="gnutls-cli",
                                    **{"secretrace.split": True}))
        return allowed

    def check_events(self, events):
        """All tracer assertions; every group is checked and the failures reported
        together."""
        errors = []

        def soft(label, fn):
            try:
                return fn()
            except AssertionError as e:
                errors.append("[%s] %s" % (label, e))
                return None

        api, tok, user, pw = self.truth()
        soft("learn failures", lambda: assert_no_learn_failures(events))
        fps = {}
        for rec in (api, tok, user, pw):
            ev = soft("secret.receive %s %s" % (rec["path"], rec["field"]),
                      lambda: the_receive(events, rec, vault=self.vault))
            if ev is not None:
                fps[rec["field"]] = get(ev, "secret.fingerprint")
                if get(ev, "process.name") != PROCESS[self.client]:
                    errors.append("[secret.receive %s] by %s, not %s" % (
                        rec["field"], get(ev, "process.name"), PROCESS[self.client]))
        if len(set(fps.values())) != len(fps):
            errors.append("[fingerprints] different secrets share a fingerprint: %s" % fps)
        if self.client == "hvac":
            soft("login client_token receive",
                 lambda: the_receive(events, self.vault.issued_one("auth/approle/login",
                                                                   "client_token"),
                                     vault=self.vault))
            sid = receives(events, **{"vault.field": "secret_id", "secret.source": "request"})
            if len(sid) != 1 or get(sid[0], "vault.path") != "auth/approle/login":
                errors.append("[presented secret_id] expected one secret.receive "
                              "(source request, path auth/approle/login), found:%s"
                              % describe_all(sid))
        soft("TLS uses are not plain writes", lambda: self.check_tls_not_plain(events))
        soft("secret.use", lambda: assert_uses(events, self.expected_uses(fps),
                                               allowed=self.allowed_uses(fps)))
        if errors:
            raise AssertionError("%s: %d check(s) failed:\n  " % (self.client, len(errors))
                                 + "\n  ".join(e.replace("\n", "\n    ") for e in errors))

    def check_tls_not_plain(self, events):
        """Uses towards the HTTPS receiver are TLS uses only: the same bytes must not
        also be reported by the socket syscall that carried their ciphertext."""
        bad = [e for e in actions(events, "secret.use")
               if get(e, "destination.port") == self.rx.port
               and (get(e, "secretrace.tls") is not True
                    or get(e, "secretrace.syscall") in ("write", "writev", "sendto", "sendmsg"))]
        assert not bad, "uses to the HTTPS receiver reported as plain writes:%s" % describe_all(bad)
        bad = [e for e in actions(events, "secret.use")
               if get(e, "secretrace.tls") is True and get(e, "secretrace.sink") != "socket"]
        assert not bad, "secretrace.tls true on a use that is not a socket's:%s" % describe_all(bad)


def run_client(client):
    with Workspace() as ws:
        sc = Scenario(ws, client)
        rc, events, err = ws.run_traced(sc.argv, timeout=45)
        assert rc == 0, "%s: agent exit status %s; tracer stderr: %s" % (client, rc, err[-2000:])
        sc.check_delivered()
        sc.check_events(events)


@timeout(60)
def test_curl_http1_over_tls():
    """curl --cacert over HTTPS with HTTP/1.1: two Vault reads on one TLS connection
    learned through SSL_read; Bearer and Basic uses through SSL_write, the token over
    plain TCP (sendto), the files curl and bash write."""
    run_client("curl_h1")


@timeout(60)
def test_curl_http2_over_tls():
    """curl --http2 against nghttpd (ALPN h2) serving the stand-in's responses: two
    streams on one connection (HPACK, DATA frames) learned with the saved request_ids;
    then the same uses as over HTTP/1.1."""
    run_client("curl_h2")


@timeout(60)
def test_hvac_over_tls():
    """python3-hvac with verify=CA: AppRole login (client_token and the presented
    secret_id learned), KV and database reads with the new token; requests sends Bearer
    and Basic over TLS (libssl's SSL_write_ex), a socket the token."""
    run_client("hvac")


@timeout(60)
def test_node_https():
    """/usr/bin/node https (OpenSSL linked into the executable, its SSL_* exported): KV
    and database reads, Bearer and Basic (the `auth` option) over TLS, net for plain TCP."""
    run_client("node")


@timeout(60)
def test_gnutls_cli():
    """gnutls-cli as a raw HTTP/1.1 client (gnutls_record_send/recv): bash's files,
    base64's pipe, bash's /dev/tcp write, the Bearer and Basic requests through
    gnutls_record_send (the responses gnutls-cli writes byte by byte may be reported)."""
    run_client("gnutls")


def open_fifo_writer(path):
    try:
        return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == 6:          # ENXIO: no reader yet
            return None
        raise


BULK = r"""
import http.client, json, ssl, sys, threading
host, port, ca, creds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
threads, n = int(sys.argv[5]), int(sys.argv[6])
token = json.load(open(creds))["root_token"]
ctx = ssl.create_default_context(cafile=ca)
ids, errors, lock = set(), [], threading.Lock()

def client():
    try:
        c = http.client.HTTPSConnection(host, port, context=ctx, timeout=10)
        for i in range(n):                   # keep-alive: one TLS session, n requests
            c.request("GET", "/v1/secret/data/agent/tls", headers={"X-Vault-Token": token})
            r = c.getresponse()
            body = r.read()
            assert r.status == 200, r.status
            doc = json.loads(body)
            assert sorted(doc["data"]["data"]) == ["api_key", "token"], doc["data"]["data"].keys()
            with lock:
                ids.add(doc["request_id"])
        c.close()
    except Exception as e:
        with lock:
            errors.append(repr(e))

ts = [threading.Thread(target=client) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
assert not errors, errors
assert len(ids) == threads * n, len(ids)
print(len(ids))
"""


@timeout(90)
def test_untraced_tls_clients_unaffected():
    """While the tracer traces TLS processes (python3 on libssl.so.3, node, gnutls-cli
    on libgnutls.so.30, kept alive by tls_hold.py), untraced processes using the same
    libraries and executables work: every client scenario above, run untraced, delivers
    exactly; 4 x 40 keep-alive HTTPS requests from an untraced python3 all succeed. No
    event names an untraced process or one of their Vault requests; the traced
    python3's own read over TLS is learned (the hooks were live)."""
    with Workspace() as ws:
        ca = tls_ca(ws)
        hold_vault = tls_vault(ws, seed={"kv": {"secret/agent/hold": {
            "key": rand_secret(32, "hold-")}}})
        fifo = ws.path("go")
        os.mkfifo(fifo, 0o600)
        ready = ws.path("hold-ready.json")
        t = ws.start_tracer(["--", PY, agent("tls_hold.py"), hold_vault.url, ca.ca_cert,
                             hold_vault.creds_path, fifo, ready])
        wait_for(lambda: os.path.exists(ready), 30, "the traced TLS processes (tls_hold.py)",
                 alive=t.proc)
        with open(ready) as f:
            hold = json.load(f)
        traced = set(hold["pids"])

        # untraced, beside them
        for client in CLIENTS:
            sc = Scenario(ws, client)
            rc, out, err = run_untraced(ws, sc.argv, timeout=30)
            assert rc == 0, "untraced %s: exit %s; stderr: %s" % (client, rc, err[-1500:])
            sc.check_delivered()
        bulk = tls_vault(ws, seed=tls_seed())
        rc, out, err = run_untraced(ws, [PY, "-c", BULK, bulk.host, str(bulk.port), ca.ca_cert,
                                         bulk.creds_path, "4", "40"], timeout=40)
        assert rc == 0 and out.strip() == b"160", "untraced bulk HTTPS client: exit %s %r %r" % (
            rc, out, err[-1500:])

        fd = wait_for(lambda: open_fifo_writer(fifo), 20, "tls_hold.py to open its fifo",
                      alive=t.proc)
        os.close(fd)
        try:
            t.proc.wait(30)             # tls_hold.py ends; the tracer follows (--linger)
        except subprocess.TimeoutExpired:
            raise AssertionError("secretrace -- tls_hold.py did not end within 30 s of the go")
        run = t.stop()
        assert run.rc == 0, "secretrace -- tls_hold.py: exit %s; stderr: %s" % (
            run.rc, run.stderr[-2000:])
        events = run.events
        check_common(events)
        stray = [e for e in events if get(e, "process.pid") is not None
                 and get(e, "process.pid") not in traced]
        assert not stray, "events about processes that are not traced (traced: %s):%s" % (
            sorted(traced), describe_all(stray))
        untraced_ids = {r["request_id"] for v in ws.vaults if v is not hold_vault
                        for r in v.issued()}
        foreign = [e for e in events if get(e, "vault.request_id") in untraced_ids]
        assert not foreign, "events naming untraced processes' Vault requests:%s" % \
            describe_all(foreign)
        # the hooks were live meanwhile: the traced python3 learned its KV read over TLS
        rec = hold_vault.issued_one("secret/data/agent/hold", "key")
        assert rec["request_id"] == hold["request_id"]
        ev = the_receive(events, rec, vault=hold_vault)
        assert get(ev, "process.pid") == hold["pids"][0], describe_all([ev])
        assert_uses(events, [], allowed=[to_vault(hold_vault)])
