"""Delivery to SIEMs: a real rsyslog over UDP, TCP and TLS; HTTP receivers that refuse, fail
and answer _bulk with per-item errors; the spool's bound and its survival across runs; file
rotation; the event schemas against ECS."""
import calendar
import http.server
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time

from harness import (PY, REPO, SECRETRACE, Workspace, actions, agent, check_common, describe,
                     get, load_events, timeout, wait_for)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port, proto):
    """Whether something on this machine listens on 127.0.0.1:port (/proc/net)."""
    want = "0100007F:%04X" % port
    with open("/proc/net/%s" % proto) as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            # TCP: state 0A is LISTEN; UDP sockets are 07 (unconnected)
            if cols[1] == want and cols[3] in ("0A", "07"):
                return True
    return False


def make_ca(ws, name="ca"):
    """A test CA and a server certificate for 127.0.0.1/localhost: (ca.pem, cert, key)."""
    d = ws.mkdir(name, 0o755)
    p = lambda f: os.path.join(d, f)

    def ossl(*args):
        subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ossl("req", "-x509", *ec, "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "2",
         "-subj", "/CN=secretrace test CA %s" % name)
    ossl("req", *ec, "-keyout", p("server.key"), "-out", p("server.csr"), "-subj", "/CN=localhost")
    with open(p("ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ossl("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
         "-CAcreateserial", "-out", p("server.pem"), "-days", "2", "-extfile", p("ext"))
    return p("ca.pem"), p("server.pem"), p("server.key")


def events_of(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def run_tracer(ws, tracer_args, argv, timeout_s=90, env=None):
    """secretrace -o file:EVENTS TRACER_ARGS -- ARGV to its end: (rc, events, stderr, events_path)."""
    t = ws.start_tracer(list(tracer_args) + ["--"] + list(argv))
    try:
        rc = t.proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        raise AssertionError("secretrace did not finish within %ss" % timeout_s)
    t._err.close()
    with open(t.stderr_path, encoding="utf-8", errors="replace") as f:
        err = f.read()
    ws.leak_check([t.events_path, t.stderr_path])
    return rc, load_events(t.events_path), err, t.events_path


# ---------------------------------------------------------------------------
# syslog: Debian's rsyslogd, on high ports, with its own config, work dir and pid file


class Rsyslog:
    TEMPLATE = "%syslogfacility% %syslogseverity% %app-name% %procid% %msgid% %structured-data% %msg%\\n"

    def __init__(self, ws, tls=None):
        self.dir = ws.mkdir("rsyslog", 0o700)
        os.makedirs(os.path.join(self.dir, "work"))
        self.udp, self.tcp, self.tls = (free_port(socket.SOCK_DGRAM), free_port(), free_port())
        self.out = {k: os.path.join(self.dir, k + ".log") for k in ("udp", "tcp", "tls")}
        g = ['workDirectory="%s"' % os.path.join(self.dir, "work"), 'maxMessageSize="256k"']
        if tls:
            ca, cert, key = tls
            g += ['defaultNetstreamDriverCAFile="%s"' % ca, 'defaultNetstreamDriverCertFile="%s"' % cert,
                  'defaultNetstreamDriverKeyFile="%s"' % key]
        conf = ["global(%s)" % " ".join(g),
                'module(load="imudp")', 'module(load="imtcp")',
                'template(name="t" type="string" string="%s")' % self.TEMPLATE]
        for k in ("udp", "tcp", "tls"):
            conf.append('ruleset(name="%s") { action(type="omfile" file="%s" template="t") }'
                        % (k, self.out[k]))
        conf.append('input(type="imudp" address="127.0.0.1" port="%d" ruleset="udp")' % self.udp)
        conf.append('input(type="imtcp" address="127.0.0.1" port="%d" ruleset="tcp")' % self.tcp)
        if tls:
            conf.append('input(type="imtcp" address="127.0.0.1" port="%d" ruleset="tls" '
                        'streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")'
                        % self.tls)
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")
        self.log = open(os.path.join(self.dir, "rsyslogd.log"), "wb")
        ws.closers.append(self.log.close)
        self.proc = ws.spawn(["/usr/sbin/rsyslogd", "-n", "-f", self.conf,
                              "-i", os.path.join(self.dir, "rsyslogd.pid")],
                             stdout=self.log, stderr=self.log)
        wait_for(lambda: listening(self.udp, "udp") and listening(self.tcp, "tcp")
                 and (not tls or listening(self.tls, "tcp")), 20, "rsyslogd's inputs",
                 alive=self.proc)

    def messages(self, kind):
        """(facility, severity, app, procid, msgid, sd, msg) of each message received."""
        try:
            with open(self.out[kind], encoding="utf-8") as f:
                return [tuple(l.rstrip("\n").split(" ", 6)) for l in f if l.strip()]
        except FileNotFoundError:
            return []


def check_syslog(rs, kind, lines, pid, ordered=True):
    msgs = wait_for(lambda: (lambda m: m if len(m) >= len(lines) else None)(rs.messages(kind)),
                    20, "%d messages in rsyslog's %s file" % (len(lines), kind))
    got = [m[6] for m in msgs]
    if ordered:
        assert got == lines, "%s: rsyslog received %d messages that are not the events file's %d lines, " \
            "in order (first difference at %s)" % (kind, len(got), len(lines), next(
                (i for i, (a, b) in enumerate(zip(got, lines)) if a != b), min(len(got), len(lines))))
    else:
        assert sorted(got) == sorted(lines), "%s: rsyslog's messages are not the events" % kind
    for m, line in zip(msgs, lines):
        ev = json.loads(m[6])
        sev = "1" if get(ev, "event.kind") == "alert" else "4" if get(ev, "event.action") == "tracer.loss" else "6"
        assert m[:6] == ("10", sev, "secretrace", str(pid), get(ev, "event.action"), "-"), \
            "%s: RFC 5424 header %r for %s" % (kind, m[:6], describe(ev))


@timeout(120)
def test_syslog_udp_tcp_tls_to_rsyslog():
    """A real agent run (Vault stand-in, curl leaking a key) delivered to rsyslogd over
    syslog+udp, syslog+tcp (octet counting) and syslog+tls (a test CA given with --ca-file):
    each of rsyslog's output files holds exactly the file output's lines, in order for the
    streams, with RFC 5424 headers (facility authpriv, MSGID = event.action), and no secret."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver(http=True)
        tls = make_ca(ws)
        rs = Rsyslog(ws, tls)
        d = ws.mkdir("agent", 0o700)
        spool = ws.mkdir("spool", 0o700)
        t = ws.start_tracer(["-o", "syslog+udp://127.0.0.1:%d" % rs.udp,
                             "-o", "syslog+tcp://127.0.0.1:%d" % rs.tcp,
                             "-o", "syslog+tls://localhost:%d" % rs.tls, "--ca-file", tls[0],
                             "--spool-dir", spool, "--flush-timeout", "30", "--",
                             agent("curl_kv.sh"), vault.url, vault.creds_path, str(rx.port), d])
        rc = t.proc.wait(90)
        t._err.close()
        with open(t.stderr_path) as f:
            err = f.read()
        assert rc == 0, "exit %s, stderr %s" % (rc, err)
        events = load_events(t.events_path)
        check_common(events)
        assert actions(events, "secret.use"), "the agent's leak was not reported"
        stop = events[-1]
        assert get(stop, "secretrace.stats.undelivered") == 0, describe(stop)
        assert get(stop, "secretrace.stats.lost") == 0, get(stop, "secretrace.stats")
        lines = events_of(t.events_path)
        check_syslog(rs, "tcp", lines, t.proc.pid)
        check_syslog(rs, "tls", lines, t.proc.pid)
        check_syslog(rs, "udp", lines, t.proc.pid, ordered=False)
        ws.leak_check([t.events_path, t.stderr_path] + list(rs.out.values()))
        assert "cannot deliver" not in err, err


@timeout(90)
def test_syslog_tls_refuses_unknown_ca():
    """syslog+tls verifies the receiver: with a CA that did not sign its certificate nothing
    is sent, stderr says why, and tracer.stop counts the events left in the spool."""
    with Workspace() as ws:
        rs = Rsyslog(ws, make_ca(ws, "right"))
        wrong_ca = make_ca(ws, "wrong")[0]
        spool = ws.mkdir("spool", 0o700)
        rc, events, err, _ = run_tracer(ws, ["-o", "syslog+tls://127.0.0.1:%d" % rs.tls, "--ca-file",
                                             wrong_ca, "--spool-dir", spool, "--flush-timeout", "1"],
                                        ["/bin/true"])
        assert rc == 0, "exit %s, stderr %s" % (rc, err)
        check_common(events)
        assert re.search(r"certificate|verify", err), "stderr does not say the certificate failed: %r" % err
        assert get(events[-1], "secretrace.stats.undelivered") == len(events) - 1, describe(events[-1])
        m = re.search(r"(\d+) events not delivered within --flush-timeout", err)
        assert m and int(m.group(1)) == len(events), "stderr: %r" % err
        assert rs.messages("tls") == [], "rsyslog got messages over an unverified connection"


# ---------------------------------------------------------------------------
# HTTP receivers (in this process): refuse, fail, or answer as Elastic or Splunk would


class HTTPReceiver:
    """Bound at once; refuses connections (not listening) until start(). Each POST goes to
    answer(path, headers, body) -> (status, body)."""

    def __init__(self, ws, answer, tls=None):
        rx = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with rx.lock:
                    rx.requests.append((self.path, dict(self.headers), body))
                    status, out = answer(self.path, self.headers, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.lock = threading.Lock()
        self.requests = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler,
                                                      bind_and_activate=False)
        self.server.daemon_threads = True
        self.server.server_bind()
        self.port = self.server.server_address[1]
        self.tls = tls
        self.thread = None
        ws.closers.append(self.close)

    def start(self):
        self.server.server_activate()
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls[1], self.tls[2])
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        if self.thread:
            self.server.shutdown()
        self.server.server_close()

    def count(self):
        with self.lock:
            return len(self.requests)


def bulk_items(body):
    """(_id, event) pairs of a _bulk body."""
    lines = body.decode().split("\n")
    assert lines[-1] == "", "_bulk body does not end with a newline"
    lines = lines[:-1]
    assert len(lines) % 2 == 0, "_bulk body has an odd number of lines"
    out = []
    for action, doc in zip(lines[::2], lines[1::2]):
        a = json.loads(action)
        assert list(a) == ["create"], "_bulk action %r is not create" % action
        out.append((a["create"].get("_id"), doc))
    return out


def bulk_answer(statuses):
    items = [{"create": {"_id": i, "status": st}} for i, st in statuses]
    return json.dumps({"took": 1, "errors": any(st >= 300 for _, st in statuses),
                       "items": items}).encode()


def fifo(ws):
    p = os.path.join(ws.mkdir("fifo", 0o755), "go")
    os.mkfifo(p, 0o666)
    return p


def stderr_of(t):
    with open(t.stderr_path, encoding="utf-8", errors="replace") as f:
        return f.read()


@timeout(150)
def test_http_bulk_recovers_in_order():
    """An Elastic _bulk receiver that refuses connections, then answers 503, then accepts:
    the tracer is not held up, and once it recovers every event arrives exactly once, in
    the order written, with event.id as _id and the auth header from --http-auth-file."""
    with Workspace() as ws:
        stored, phase = [], {"status": 503}

        def answer(path, headers, body):
            if phase["status"] != 200:
                return phase["status"], b'{"error":"unavailable"}'
            items = bulk_items(body)
            stored.extend(items)
            return 200, bulk_answer([(i, 201) for i, _ in items])
        rx = HTTPReceiver(ws, answer)
        auth = os.path.join(ws.mkdir("auth", 0o700), "header")
        with open(auth, "w") as f:
            f.write("Authorization: ApiKey c2VjcmV0cmFjZTp0ZXN0\n")
        go = fifo(ws)
        t = ws.start_tracer(["-o", "http://elastic:pw@127.0.0.1:%d/secretrace/_bulk?refresh=false" % rx.port,
                             "--http-auth-file", auth, "--batch-size", "20", "--batch-wait", "100",
                             "--spool-dir", ws.mkdir("spool", 0o700), "--flush-timeout", "60", "--",
                             "/bin/sh", "-c", "for i in $(seq 60); do /bin/true; done; read x < %s; "
                             "for i in $(seq 60); do /bin/true; done" % go])
        # refused: tracing goes on regardless
        wait_for(lambda: len(actions(t.events(), "process.start")) >= 61, 60,
                 "60 process.start events while the receiver refuses", alive=t.proc)
        wait_for(lambda: "cannot deliver" in stderr_of(t), 20, "the refusal on stderr", alive=t.proc)
        # 503s, then a clean recovery
        rx.start()
        wait_for(lambda: rx.count() >= 3, 30, "three requests answered 503", alive=t.proc)
        with rx.lock:
            phase["status"] = 200
        with open(go, "w") as f:
            f.write("go\n")
        rc = t.proc.wait(90)
        err = stderr_of(t)
        assert rc == 0, "exit %s, stderr %s" % (rc, err)
        ws.leak_check([t.events_path, t.stderr_path])
        events = load_events(t.events_path)
        check_common(events)
        lines = events_of(t.events_path)
        assert [doc for _, doc in stored] == lines, \
            "the receiver stored %d events, not the %d written, in order, once each" % (len(stored), len(lines))
        assert [i for i, _ in stored] == [get(e, "event.id") for e in events], "_id is not event.id"
        assert get(events[-1], "secretrace.stats.undelivered") == 0
        assert get(events[-1], "secretrace.stats.lost") == 0
        assert "delivering again" in err, "stderr does not say the output recovered: %r" % err
        with rx.lock:
            for path, headers, _ in rx.requests:
                assert path == "/secretrace/_bulk?refresh=false", path
                assert headers.get("Authorization") == "ApiKey c2VjcmV0cmFjZTp0ZXN0", headers
                assert headers.get("Content-Type") == "application/x-ndjson", headers
        assert "elastic:pw" not in err, "URL credentials on stderr"


@timeout(90)
def test_http_bulk_item_errors():
    """A 200 _bulk answer with per-item errors: items answered 429 or 503 are sent again (and
    only those), a 409 (already there) counts as delivered, a 400 is refused for good and
    reported in tracer.loss (sink_rejected, naming the output) and in stats.lost."""
    with Workspace() as ws:
        sends, stored, rejected = {}, {}, []

        def answer(path, headers, body):
            out = []
            for k, (i, doc) in enumerate(bulk_items(body)):
                sends[i] = sends.get(i, 0) + 1
                ev = json.loads(doc)
                st = 201
                if sends[i] == 1 and len(sends) % 3 == 1:
                    st = 429 if len(sends) % 2 else 503
                elif sends[i] == 1 and len(sends) % 7 == 4:
                    st = 409                 # as if a copy had arrived before
                if get(ev, "event.action") == "process.start" and not rejected:
                    rejected.append(i)
                    st = 400
                if st in (201, 409):
                    stored[i] = doc
                out.append((i, st))
            return 200, bulk_answer(out)
        rx = HTTPReceiver(ws, answer)
        rx.start()
        url = "http://127.0.0.1:%d/_bulk" % rx.port
        rc, events, err, evp = run_tracer(ws, ["-o", url, "--batch-size", "7", "--batch-wait", "50",
                                               "--spool-dir", ws.mkdir("spool", 0o700),
                                               "--flush-timeout", "30"],
                                          ["/bin/sh", "-c", "for i in $(seq 40); do /bin/true; done"])
        assert rc == 0, "exit %s, stderr %s" % (rc, err)
        check_common(events)
        ids = [get(e, "event.id") for e in events]
        retried = [i for i in ids if sends.get(i) == 2]
        assert retried, "no item was answered with an error (test broken?)"
        for i in ids:
            if i in rejected:
                assert sends[i] == 1, "a refused item was sent again"
                assert i not in stored
                continue
            assert i in stored, "event %s never stored" % i
            assert sends[i] <= 2, "event %s sent %d times" % (i, sends[i])
        assert sum(sends.values()) == len(ids) + len(retried), "items other than the failed ones were resent"
        losses = actions(events, "tracer.loss")
        assert [(get(l, "secretrace.lost.reason"), get(l, "secretrace.lost.output"),
                 get(l, "secretrace.lost.count")) for l in losses] == [("sink_rejected", url, 1)], \
            "tracer.loss: %s" % [describe(l) for l in losses]
        assert get(events[-1], "secretrace.stats.lost") == 1
        assert "refused for good" in err, err


@timeout(90)
def test_https_hec_with_ca_and_env_auth():
    """Splunk HEC over https: verified with --ca-file, the token from --http-auth-env (and not
    passed on to the traced command); every event arrives once in HEC's envelope."""
    with Workspace() as ws:
        tls = make_ca(ws)
        got = []

        def answer(path, headers, body):
            dec, text = json.JSONDecoder(), body.decode()
            pos = 0
            while pos < len(text):
                obj, pos = dec.raw_decode(text, pos)
                got.append((headers.get("Authorization"), obj))
                while pos < len(text) and text[pos] in " \n":
                    pos += 1
            return 200, b'{"text":"Success","code":0}'
        rx = HTTPReceiver(ws, answer, tls=tls)
        rx.start()
        env = ws.env(SIEM_AUTH="Authorization: Splunk 6a2c8b4e-0d7f-4e4c-9b1b-0f3c1d2e5a6b")
        out = ws.path("env-seen")
        d = ws.mkdir("trace", 0o755)
        evp, errp = os.path.join(d, "events.json"), os.path.join(d, "stderr")
        with open(errp, "wb") as ef:
            p = ws.spawn([SECRETRACE, "-o", "file:" + evp, "-o",
                          "https://localhost:%d/services/collector/event" % rx.port,
                          "--ca-file", tls[0], "--http-auth-env", "SIEM_AUTH", "--batch-wait", "50",
                          "--spool-dir", ws.mkdir("spool", 0o700), "--", "/bin/sh", "-c",
                          "env > %s" % out], env=env, stderr=ef)
            rc = p.wait(60)
        with open(errp) as f:
            err = f.read()
        assert rc == 0, "exit %s, stderr %s" % (rc, err)
        events = load_events(evp)
        check_common(events)
        with open(out) as f:
            assert "SIEM_AUTH" not in f.read(), "the HTTP token reached the traced command's environment"
        assert [o["event"] for _, o in got] == events, "HEC events are not the events written, in order"
        for auth, o in got:
            assert auth == "Splunk 6a2c8b4e-0d7f-4e4c-9b1b-0f3c1d2e5a6b", auth
            assert o["sourcetype"] == "_json" and o["source"] == "secretrace" and o["host"] == get(o["event"], "host.name")
            ts = o["event"]["@timestamp"]
            want = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + int(ts[20:26]) / 1e6
            assert abs(o["time"] - want) < 1e-6, "HEC time %s for @timestamp %s" % (o["time"], ts)
        assert "6a2c8b4e" not in err


def test_output_libraries_loaded_only_when_needed():
    """libcurl (and GnuTLS, Kerberos, LDAP behind it) is loaded when an http(s) output is
    opened and OpenSSL when a syslog+tls one is (together about 5 MiB of RSS), not by a run
    that writes to a file."""
    with Workspace() as ws:
        rx = HTTPReceiver(ws, lambda path, headers, body: (200, b"{}"))
        rx.start()
        refused = socket.socket()
        refused.bind(("127.0.0.1", 0))   # bound, never listening: connections are refused
        libs = {"libcurl", "libssl", "libgnutls"}
        runs = (("file", [], set(), libs),   # (name, outputs, required, forbidden)
                ("http", ["-o", "http://127.0.0.1:%d/" % rx.port], {"libcurl"}, set()),
                ("syslog+tls", ["-o", "syslog+tls://127.0.0.1:%d" % refused.getsockname()[1],
                                "--spool-dir", ws.mkdir("spool", 0o700), "--flush-timeout", "1"],
                 {"libssl"}, {"libcurl", "libgnutls"}))
        for name, outs, required, forbidden in runs:
            maps = ws.path("maps-" + name.replace("+", "-"))
            p = ws.spawn([SECRETRACE, "-o", "file:" + ws.path("ev-" + name)] + outs +
                         ["--", "/bin/sh", "-c", "cat /proc/$PPID/maps > %s" % maps],
                         stderr=subprocess.DEVNULL)
            assert p.wait(60) == 0, "secretrace with %s output exited %s" % (name, p.returncode)
            with open(maps) as f:
                text = f.read()
            assert "/secretrace" in text, "the command's parent is not the tracer:\n" + text[:400]
            loaded = {lib for lib in libs if lib in text}
            assert required <= loaded and not loaded & forbidden, \
                "%s output: loaded %s; needs %s, must not have %s" % (
                    name, sorted(loaded), sorted(required), sorted(forbidden))
        refused.close()


# ---------------------------------------------------------------------------
# the spool


def spool_bytes(d):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)


@timeout(150)
def test_spool_bound_sigterm_and_next_run():
    """A receiver that stays down while 400 events are written: the spool keeps to
    --spool-max, dropping the oldest, and says so in tracer.loss (sink_spool_full, the output
    named) and stats.lost; SIGTERM stops the tracer within --flush-timeout, and tracer.stop
    and stderr count what was left undelivered. The next run with the same output delivers
    what the spool kept first, in order, then its own events."""
    with Workspace() as ws:
        stored = []

        def answer(path, headers, body):
            stored.extend(body.decode().splitlines())
            return 200, b"{}"
        rx = HTTPReceiver(ws, answer)            # bound, refusing
        url = "http://127.0.0.1:%d/ingest" % rx.port
        spool = ws.mkdir("spool", 0o700)
        go = fifo(ws)
        agent_log = open(ws.path("agent.log"), "wb")
        ws.closers.append(agent_log.close)
        ag = ws.spawn(["/bin/sh", "-c", "read x < %s; for i in $(seq 400); do /bin/true; done; "
                       "exec sleep 600" % go], stdout=agent_log, stderr=agent_log)
        t = ws.start_tracer(["-p", str(ag.pid), "-o", url, "--spool-dir", spool,
                             "--spool-max", "65536", "--flush-timeout", "2"])
        t.wait_event(lambda e: get(e, "event.action") == "tracer.start", 30, "tracer.start")
        with open(go, "w") as f:
            f.write("go\n")
        wait_for(lambda: len(actions(t.events(), "process.start")) >= 401, 60,
                 "401 process.start events", alive=t.proc)
        assert spool_bytes(spool) <= 65536 + 4096, "spool past its bound: %d bytes" % spool_bytes(spool)
        start = time.monotonic()
        run = t.stop(signal.SIGTERM, timeout=30)
        took = time.monotonic() - start
        assert run.rc == 0, "exit %s after SIGTERM, stderr %s" % (run.rc, run.stderr)
        assert took < 2 + 3, "SIGTERM took %.1fs with --flush-timeout 2" % took
        events = run.events
        check_common(events)
        stop = events[-1]
        losses = actions(events, "tracer.loss")
        assert losses, "no tracer.loss for the dropped events"
        for l in losses:
            assert get(l, "secretrace.lost.reason") == "sink_spool_full", describe(l)
            assert get(l, "secretrace.lost.output") == url, describe(l)
        lost = sum(get(l, "secretrace.lost.count") for l in losses)
        assert get(stop, "secretrace.stats.lost") == lost
        undelivered = get(stop, "secretrace.stats.undelivered")
        # nothing was delivered: every event before tracer.stop was dropped or is kept
        assert lost + undelivered == len(events) - 1, \
            "lost %d + undelivered %d != %d events before tracer.stop" % (lost, undelivered, len(events) - 1)
        m = re.search(r"(\d+) events not delivered within --flush-timeout 2s; they stay in (\S+) ",
                      run.stderr)
        assert m, "stderr does not report the undelivered events: %r" % run.stderr
        kept = int(m.group(1))
        assert m.group(2).startswith(spool + "/")
        assert re.search(r"\d+ events dropped by output %s, oldest first" % re.escape(url), run.stderr)
        ws.leak_check([os.path.join(r, f) for r, _, fs in os.walk(spool) for f in fs])

        # the next run: the receiver is up
        rx.start()
        rc, events2, err2, evp2 = run_tracer(ws, ["-o", url, "--spool-dir", spool, "--batch-wait", "50",
                                                  "--flush-timeout", "30"], ["/bin/true"])
        assert rc == 0, "exit %s, stderr %s" % (rc, err2)
        check_common(events2)
        old = events_of(run.events_path)
        new = events_of(evp2)
        assert len(stored) == kept + len(new), \
            "received %d events: not the %d kept plus the %d new" % (len(stored), kept, len(new))
        assert stored[kept:] == new, "the new run's events did not follow the kept ones, in order"
        # what was kept is the newest of the old run, in order, and whole
        assert stored[:kept] == old[len(old) - kept:], "the kept events are not the old run's last ones"


@timeout(60)
def test_file_rotation():
    """file:PATH with --rotate-size and --rotate-keep: PATH.1 ... PATH.N hold whole lines,
    none past the size by more than one event, and with PATH they are the newest events in
    order (stdout, not rotated, has them all); no more than N are kept."""
    with Workspace() as ws:
        d = ws.mkdir("rot", 0o700)
        path = os.path.join(d, "events.json")
        allp, errp = ws.path("stdout.json"), ws.path("stderr.txt")
        with open(allp, "wb") as out, open(errp, "wb") as err:
            p = ws.spawn([SECRETRACE, "-o", "file:" + path, "-o", "-", "--rotate-size", "3000",
                          "--rotate-keep", "3", "--", "/bin/sh", "-c",
                          "for i in $(seq 40); do /bin/true; done"], stdout=out, stderr=err)
            rc = p.wait(60)
        ws.leak_check([allp, errp] + [os.path.join(d, f) for f in os.listdir(d)])
        assert rc == 0, "exit %s" % rc
        check_common(load_events(allp))
        files = [path + ".%d" % k for k in (3, 2, 1)] + [path]
        assert sorted(os.listdir(d)) == sorted(os.path.basename(f) for f in files), os.listdir(d)
        lines = events_of(allp)
        longest = max(len(l) + 1 for l in lines)
        got = []
        for f in files:
            with open(f, encoding="utf-8") as fh:
                data = fh.read()
            assert data.endswith("\n"), "%s does not end with a whole line" % f
            if f != path:
                assert 3000 <= len(data) < 3000 + longest, "%s: %d bytes" % (f, len(data))
            got += events_of(f)
        assert len(got) < len(lines), "nothing was rotated away (test too small)"
        assert got == lines[len(lines) - len(got):], "the rotated files are not the newest events, in order"


@timeout(60)
def test_usage_errors_for_outputs():
    """Bad outputs and output options are refused at start, one line each, exit 2."""
    with Workspace() as ws:
        for args, want in [
            (["-o", "syslog+udp://127.0.0.1"], "HOST:PORT"),
            (["-o", "syslog+tcp://[::1]:99999"], "HOST:PORT"),
            (["-o", "ftp://x"], "not supported"),
            (["-o", "http://127.0.0.1:9/_bulk", "--http-format", "xml"], "--http-format"),
            (["-o", "http://127.0.0.1:9/", "--http-auth-file", "/nonexistent"], "--http-auth-file"),
            (["-o", "syslog+tls://127.0.0.1:6514", "--ca-file", "/nonexistent"], "CA certificates"),
            (["--spool-max", "10"], "--spool-max"),
        ]:
            d = ws.mkdir("u")
            with open(os.path.join(d, "err"), "wb") as ef:
                p = ws.spawn([SECRETRACE, "--spool-dir", os.path.join(d, "spool")] + args +
                             ["-p", str(os.getpid())], stderr=ef, stdout=subprocess.DEVNULL)
                rc = p.wait(30)
            with open(os.path.join(d, "err")) as f:
                err = f.read()
            assert rc == 2, "%s: exit %s, stderr %r" % (args, rc, err)
            assert want in err and len(err.strip().splitlines()) == 1, "%s: stderr %r" % (args, err)


@timeout(60)
def test_schemas_match_ecs():
    """tools/check_schemas.py: docs/schemas/ is what tools/gen_schemas.py writes, each schema is
    valid draft 2020-12, and every field outside vault.*, secret.*, secretrace.* is an ECS
    field of a compatible type."""
    r = subprocess.run([PY, os.path.join(REPO, "tools", "check_schemas.py")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
