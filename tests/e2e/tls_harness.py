"""TLS and HTTP/2 fixtures for secretrace's end-to-end tests (issue 3), built on
harness.Workspace (stdlib only, plus the real programs: openssl, nghttpd, the clients).

    with Workspace() as ws:
        ca = tls_ca(ws)                     # CA + server cert for 127.0.0.1 / localhost
        vault = tls_vault(ws, seed)         # the stand-in over HTTPS (ALPN http/1.1)
        h2 = h2_vault(ws, ["secret/data/x", "database/creds/readonly"], seed)
                                            # nghttpd (ALPN h2) serving stand-in responses
        rx = tls_receiver(ws)               # HTTPS receiver, records the plaintext
        curl(), python_hvac(), node(), gnutls_cli()   # the clients, checked

Everything is started through the Workspace, so it is killed and reaped, and its
files removed, when the `with` block ends, also on failure.  Readiness is waited
for, never slept for: the stand-in's ready file, nghttpd's listening socket (found
through /proc) followed by a TLS handshake that must select ALPN h2.

The HTTP/2 Vault.  nghttpd serves files: `GET /v1/<path>` returns the file
<htdocs>/v1/<path> (the query string is dropped, %-escapes decoded, the path
normalised; a directory answers 301; a missing file 404).  So the responses are
made first by the real stand-in (plain HTTP, untraced, with --h2-responses-dir and
--issued-log), and each saved body is laid out at its path: the body, and so its
request_id and secret values, is byte for byte the stand-in's.  The ground truth
(request_id, path, field, value) is the stand-in's issued log, restricted to the
request_ids served.  What differs from Vault: nghttpd's own response headers
(`server`, `cache-control: max-age=3600`, `last-modified`, `content-length`, `date`;
no `content-type`, as nghttpd derives it from a file extension and Vault paths
have none), it ignores X-Vault-Token, each path has exactly one response (fetching
it again returns the same request_id), and only GET/HEAD make sense (it would
return the file to a POST too; logins over h2 are not needed).
"""

import base64
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import threading
import urllib.request

from harness import PY, TCPReceiver, wait_for

OPENSSL = "/usr/bin/openssl"
NGHTTPD = "/usr/sbin/nghttpd"
CURL = "/usr/bin/curl"
NODE = "/usr/bin/node"            # the nodesource build: OpenSSL linked in, SSL_* exported
GNUTLS_CLI = "/usr/bin/gnutls-cli"
BASE64 = "/usr/bin/base64"


# ---------------------------------------------------------------------------
# the clients


def _need(path, package):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError("%s not found: install the Debian package %s (tools/install-deps.sh)"
                             % (path, package))
    return path


def _out(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, timeout=20).stdout.decode("utf-8", "replace")


_checked = {}


def _once(key, fn):
    if key not in _checked:
        _checked[key] = fn()
    return _checked[key]


def curl():
    """/usr/bin/curl, built with OpenSSL (libssl.so.3) and HTTP/2 (Debian's is)."""
    def check():
        _need(CURL, "curl")
        v = _out([CURL, "--version"])
        assert "OpenSSL/" in v, "curl is not built with OpenSSL:\n%s" % v
        assert re.search(r"(?m)^Features:.*\bHTTP2\b", v), "curl lacks HTTP/2:\n%s" % v
        return CURL
    return _once("curl", check)


def python_hvac():
    """/usr/bin/python3 with hvac and requests (python3-hvac, python3-requests); its ssl
    module uses the system libssl.so.3."""
    def check():
        _need(PY, "python3")
        r = subprocess.run([PY, "-c", "import hvac, requests, ssl; print(ssl.OPENSSL_VERSION)"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
        assert r.returncode == 0, ("%s cannot import hvac and requests: install python3-hvac "
                                   "python3-requests (tools/install-deps.sh):\n%s"
                                   % (PY, r.stdout.decode(errors="replace")))
        return PY
    return _once("python_hvac", check)


def node():
    """/usr/bin/node (only that one: the nodesource build with OpenSSL linked in
    statically, its SSL_* symbols exported)."""
    def check():
        _need(NODE, "nodejs")
        v = _out([NODE, "-p", "process.versions.openssl"]).strip()
        assert re.match(r"^\d+\.\d+", v), "%s does not report an OpenSSL version: %r" % (NODE, v)
        return NODE
    return _once("node", check)


def gnutls_cli():
    """/usr/bin/gnutls-cli (gnutls-bin), using libgnutls.so.30."""
    def check():
        _need(GNUTLS_CLI, "gnutls-bin")
        return GNUTLS_CLI
    return _once("gnutls_cli", check)


def nghttpd():
    def check():
        return _need(NGHTTPD, "nghttp2-server")
    return _once("nghttpd", check)


# ---------------------------------------------------------------------------
# the test CA


class TLSCA:
    """A CA and a server certificate for 127.0.0.1 and localhost, made with the
    openssl CLI in the workspace (P-256 keys: fast to make, every client takes them)."""

    def __init__(self, ws):
        _need(OPENSSL, "openssl")
        self.dir = ws.mkdir("pki", 0o755)
        d = self.dir
        self.ca_key = os.path.join(d, "ca.key")
        self.ca_cert = os.path.join(d, "ca.pem")       # what clients trust
        self.key = os.path.join(d, "server.key")
        self.cert = os.path.join(d, "server.pem")
        csr = os.path.join(d, "server.csr")
        ext = os.path.join(d, "server.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints = critical, CA:FALSE\n"
                    "keyUsage = critical, digitalSignature, keyEncipherment\n"
                    "extendedKeyUsage = serverAuth\n"
                    "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
                    "subjectKeyIdentifier = hash\n"
                    "authorityKeyIdentifier = keyid:always\n")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self._run([OPENSSL, "req", "-x509"] + ec + [
            "-keyout", self.ca_key, "-out", self.ca_cert, "-days", "2",
            "-subj", "/O=secretrace e2e/CN=secretrace test CA %s" % secrets.token_hex(4),
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash"])
        self._run([OPENSSL, "req", "-new"] + ec + [
            "-keyout", self.key, "-out", csr, "-subj", "/O=secretrace e2e/CN=localhost"])
        self._run([OPENSSL, "x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey",
                   self.ca_key, "-set_serial", "0x" + secrets.token_hex(8), "-days", "2",
                   "-extfile", ext, "-out", self.cert])
        # the chain must verify, for the names the tests use
        for check in (["-verify_ip", "127.0.0.1"], ["-verify_hostname", "localhost"]):
            self._run([OPENSSL, "verify", "-CAfile", self.ca_cert, "-purpose", "sslserver"]
                      + check + [self.cert])
        for p in (self.ca_key, self.key):
            os.chmod(p, 0o600)
        for p in (self.ca_cert, self.cert):
            os.chmod(p, 0o644)

    @staticmethod
    def _run(argv):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=30)
        if r.returncode != 0:
            raise AssertionError("%s failed (%s):\n%s" % (" ".join(argv), r.returncode,
                                                          r.stdout.decode(errors="replace")))

    def client_context(self, alpn=None):
        ctx = ssl.create_default_context(cafile=self.ca_cert)
        if alpn:
            ctx.set_alpn_protocols(alpn)
        return ctx

    def server_context(self, alpn=("http/1.1",)):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        return ctx


def tls_ca(ws):
    """The workspace's test CA (made on first use)."""
    ca = getattr(ws, "_tls_ca", None)
    if ca is None:
        ca = ws._tls_ca = TLSCA(ws)
    return ca


# ---------------------------------------------------------------------------
# the TLS Vault (the stand-in over HTTPS, HTTP/1.1)


def tls_vault(ws, seed=None, args=()):
    """The stand-in with --tls-cert/--tls-key (ALPN http/1.1), ready, and answering
    over TLS (checked with an untraced sys/health request).  A harness.Vault, so its
    issued log is ground truth and part of the leak check; .ca is the CA file."""
    ca = tls_ca(ws)
    v = ws.vault(seed=seed, args=["--tls-cert", ca.cert, "--tls-key", ca.key] + list(args))
    assert v.url.startswith("https://"), "TLS stand-in announced %s" % v.url
    v.ca = ca.ca_cert
    ctx = ca.client_context(alpn=["h2", "http/1.1"])
    with urllib.request.urlopen(v.url + "/v1/sys/health", context=ctx, timeout=10) as r:
        json.loads(r.read())
    return v


# ---------------------------------------------------------------------------
# the HTTP/2 Vault (nghttpd serving the stand-in's responses)


def listening_ports(pid):
    """TCP ports process PID listens on (its socket inodes matched in /proc/net/tcp{,6})."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            m = re.match(r"^socket:\[(\d+)\]$", t)
            if m:
                inodes.add(m.group(1))
    except OSError:
        return []
    ports = []
    for tab in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(tab) as f:
                next(f)
                for line in f:
                    p = line.split()
                    if len(p) > 9 and p[3] == "0A" and p[9] in inodes:
                        ports.append(int(p[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return sorted(set(ports))


def alpn_probe(host, port, ca, want):
    """TLS handshake offering h2 and http/1.1; True when the server selected `want`
    and the certificate verified."""
    ctx = ca.client_context(alpn=["h2", "http/1.1"])
    try:
        with socket.create_connection((host, port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname=host) as t:
                return t.selected_alpn_protocol() == want
    except (OSError, ssl.SSLError):
        return False


class H2Vault:
    """nghttpd (HTTP/2 over TLS, ALPN h2) serving responses the stand-in made.

    fetch: Vault API paths ("secret/data/x", "database/creds/readonly"), each fetched
    once, untraced, from a plain stand-in with --h2-responses-dir; the saved bodies are
    then served at /v1/<path>.  Like harness.Vault it has url, host, port, creds,
    creds_path, issued(), issued_one(); plus ca, responses {path: saved record}."""

    def __init__(self, ws, fetch, seed=None):
        nghttpd()
        self.ws = ws
        self.ca = tls_ca(ws)
        saved = ws.mkdir("h2-saved", 0o700)
        self.prep = ws.vault(seed=seed, args=["--h2-responses-dir", saved])
        self.creds = self.prep.creds
        self.creds_path = self.prep.creds_path
        self.seed = self.prep.seed
        self.htdocs = ws.mkdir("h2-htdocs", 0o755)
        want = []
        for path in fetch:
            path = path.strip("/")
            assert "?" not in path and "#" not in path, \
                "nghttpd drops query strings; cannot serve %r" % path
            assert ".." not in path.split("/"), path
            want.append("/v1/" + path)
            req = urllib.request.Request(self.prep.url + "/v1/" + path,
                                         headers={"X-Vault-Token": self.creds["root_token"]})
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 200, "stand-in: GET /v1/%s -> %s" % (path, r.status)
                r.read()
        def saved_responses():
            out = {}
            for fn in sorted(os.listdir(saved)):
                if fn.endswith(".json"):          # written atomically (temp file, rename)
                    with open(os.path.join(saved, fn), encoding="utf-8") as f:
                        rec = json.load(f)
                    out[rec["path"]] = rec
            return out
        # the stand-in saves a response just after sending it: wait for every one
        recs = wait_for(lambda: (lambda r: r if all(p in r for p in want) else None)(
            saved_responses()), 10, "the stand-in to save the responses of %s" % want,
            alive=self.prep.proc)
        self.responses = {}
        for urlpath in want:
            rec = recs[urlpath]
            assert rec["method"] == "GET" and rec["status"] == 200, rec
            body = base64.b64decode(rec["body_b64"])
            hdrs = {k: v for k, v in rec["headers"]}
            assert "content-encoding" not in hdrs, "saved response is content-coded: %s" % hdrs
            doc = json.loads(body)
            assert doc.get("request_id") == rec["request_id"], \
                "saved body's request_id %r is not the response's %r" % (doc.get("request_id"),
                                                                          rec["request_id"])
            dest = os.path.join(self.htdocs, urlpath.lstrip("/"))
            assert not os.path.isdir(dest), "path %s is also a directory of another" % urlpath
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb") as f:
                f.write(body)
            os.chmod(dest, 0o644)
            self.responses[urlpath[len("/v1/"):]] = dict(rec, body_bytes=body)
        self.request_ids = {r["request_id"] for r in self.responses.values()}
        # nghttpd: port 0, its port read from /proc once it listens; then a handshake
        self._log = open(os.path.join(self.htdocs + ".log"), "wb")
        ws.closers.append(self._log.close)
        self.proc = ws.spawn([NGHTTPD, "--address=127.0.0.1", "--htdocs=" + self.htdocs,
                              "0", self.ca.key, self.ca.cert],
                             stdout=self._log, stderr=self._log, cwd=self.htdocs)
        ports = wait_for(lambda: listening_ports(self.proc.pid), 20, "nghttpd's listening socket",
                         alive=self.proc)
        assert len(ports) == 1, "nghttpd listens on %s" % ports
        self.host, self.port = "127.0.0.1", ports[0]
        self.url = "https://%s:%d" % (self.host, self.port)
        wait_for(lambda: alpn_probe(self.host, self.port, self.ca, "h2"), 20,
                 "nghttpd to complete a TLS handshake selecting ALPN h2", interval=0.05,
                 alive=self.proc)

    def issued(self):
        return [r for r in self.prep.issued() if r["request_id"] in self.request_ids]

    def issued_one(self, path, field):
        recs = [r for r in self.issued() if r["path"] == path and r["field"] == field]
        assert len(recs) == 1, "%s %s served %d times, expected once" % (path, field, len(recs))
        return recs[0]

    def body(self, path):
        return self.responses[path.strip("/")]["body_bytes"]


def h2_vault(ws, fetch, seed=None):
    return H2Vault(ws, fetch, seed)


# ---------------------------------------------------------------------------
# the HTTPS receiver


class TLSReceiver(TCPReceiver):
    """Like harness.TCPReceiver(http=True), over TLS with a certificate of the test CA:
    records the plaintext each connection sends, answers each complete HTTP/1.1
    request with 204 and closes (with close_notify).  Offers ALPN http/1.1 only (a
    client that offers only h2 gets no ALPN and still sends its request)."""

    def __init__(self, ca, host="127.0.0.1", alpn=("http/1.1",)):
        self.ctx = ca.server_context(alpn)
        self.sessions = []          # per connection: {"alpn", "version", "sni", "error"}
        self._tl = threading.local()    # the handshake runs in the connection's thread
        self.ctx.sni_callback = self._sni
        super().__init__(host, http=True)

    def _sni(self, sslobj, name, ctx):
        self._tl.sni = name

    def _serve(self, c, buf):
        info = {"alpn": None, "version": None, "sni": None, "error": None}
        with self.lock:
            self.sessions.append(info)
        self._tl.sni = None
        try:
            c.settimeout(10)
            s = self.ctx.wrap_socket(c, server_side=True)
        except (OSError, ssl.SSLError) as e:
            info["error"] = "handshake: %s" % e
            c.close()
            return
        info.update(alpn=s.selected_alpn_protocol(), version=s.version(), sni=self._tl.sni)
        s.settimeout(0.1)
        try:
            while not self.stopping:
                try:
                    d = s.recv(1 << 16)
                except socket.timeout:
                    continue
                except ssl.SSLError as e:
                    if "EOF" not in str(e):
                        info["error"] = str(e)
                    return
                if not d:
                    return
                with self.lock:
                    buf += d
                if self._http_complete(bytes(buf)):
                    s.settimeout(5)
                    s.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                    try:
                        s.unwrap()          # close_notify, so strict clients end cleanly
                    except (OSError, ssl.SSLError, ValueError):
                        pass
                    return
        except OSError as e:
            info["error"] = str(e)
            return
        finally:
            s.close()


def tls_receiver(ws, host="127.0.0.1"):
    r = TLSReceiver(tls_ca(ws), host)
    ws.closers.append(r.close)
    return r


# ---------------------------------------------------------------------------
# running things untraced


def run_untraced(ws, argv, timeout=30, env=None, cwd=None):
    """Runs argv untraced (through the Workspace, so it is reaped); (rc, stdout, stderr)."""
    ws.counter += 1
    outp = os.path.join(ws.root, "untraced-%d.out" % ws.counter)
    errp = os.path.join(ws.root, "untraced-%d.err" % ws.counter)
    with open(outp, "wb") as of, open(errp, "wb") as ef:
        p = ws.spawn(list(argv), stdout=of, stderr=ef, env=env or ws.env(), cwd=cwd or ws.root)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
            raise AssertionError("%s did not finish within %ss" % (" ".join(argv), timeout))
    with open(outp, "rb") as f:
        out = f.read()
    with open(errp, "rb") as f:
        err = f.read()
    return rc, out, err
