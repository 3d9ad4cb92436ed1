"""The stand-in's HTTP/1.1 layer and command line: Handler reads a request (Content-Length
or chunked bodies, with Vault's size limit), hands it to Vault.handle() and writes the
response (gzip/deflate and chunked on request, each chunk in its own send); Server is a
threading HTTP(S) server on one address; main() parses the command line, listens, writes
the creds and ready files, and serves until SIGTERM or SIGINT.
"""

import argparse
import email.utils
import gzip
import json
import os
import signal
import socket
import socketserver
import ssl
import sys
import threading
import traceback
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .core import Vault
from .util import DB_LEASE_TTL, MAX_LINE, MAX_REQUEST_SIZE, atomic_write, go_json


class BodyError(Exception):
    def __init__(self, status, msg):
        super().__init__(msg)
        self.status = status
        self.msg = msg


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120                      # idle keep-alive connections
    server_version = "vault-standin"
    sys_version = ""

    # -- plumbing ------------------------------------------------------------

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def log_message(self, fmt, *args):
        if self.server.vault.verbose:
            sys.stderr.write("vault_standin: %s - %s\n" % (self.client_address[0], fmt % args))

    def send_error(self, code, message=None, explain=None):
        """Used by the base class for malformed request lines/headers."""
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = ""
        self.log_error("code %d, message %s", code, message)
        body = go_json({"errors": [message or phrase]})
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.1"
        self._write(code, [("Content-Type", "application/json")], body, close=True,
                    allow_chunked=False, allow_encoding=False)

    def _read_body(self):
        te = self.headers.get_all("Transfer-Encoding") or []
        if te:
            codings = [c.strip().lower() for v in te for c in v.split(",") if c.strip()]
            if codings != ["chunked"]:
                raise BodyError(501, "unsupported transfer encoding: %s" % ",".join(codings))
            if self.headers.get("Content-Length") is not None:
                self.close_connection = True     # RFC 9112 6.3: TE wins, then close
            return self._read_chunked()
        cls = self.headers.get_all("Content-Length") or []
        if not cls:
            return b""
        vals = {v.strip() for c in cls for v in c.split(",")}
        if len(vals) != 1:
            raise BodyError(400, "invalid Content-Length")
        v = vals.pop()
        if not v.isdigit():
            raise BodyError(400, "invalid Content-Length")
        n = int(v)
        if n > MAX_REQUEST_SIZE:
            raise BodyError(413, "http: request body too large")
        data = self.rfile.read(n)
        if len(data) != n:
            raise BodyError(400, "unexpected EOF reading request body")
        return data

    def _read_chunked(self):
        out = bytearray()
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            if not line or len(line) > MAX_LINE or not line.endswith(b"\n"):
                raise BodyError(400, "malformed chunked encoding")
            size_s = line.split(b";", 1)[0].strip()
            try:
                if not size_s or not all(c in b"0123456789abcdefABCDEF" for c in size_s):
                    raise ValueError
                size = int(size_s, 16)
            except ValueError:
                raise BodyError(400, "malformed chunked encoding")
            if size == 0:
                break
            if len(out) + size > MAX_REQUEST_SIZE:
                raise BodyError(413, "http: request body too large")
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise BodyError(400, "unexpected EOF reading request body")
            out += chunk
            crlf = self.rfile.readline(MAX_LINE + 1)
            if crlf not in (b"\r\n", b"\n"):
                raise BodyError(400, "malformed chunked encoding")
        # trailer section
        for _ in range(100):
            line = self.rfile.readline(MAX_LINE + 1)
            if not line:
                raise BodyError(400, "unexpected EOF reading request body")
            if line in (b"\r\n", b"\n"):
                return bytes(out)
        raise BodyError(400, "too many trailers")

    def _choose_encoding(self):
        forced = (self.headers.get("X-Standin-Encoding") or "").strip().lower()
        if forced in ("gzip", "deflate"):
            return forced
        if forced in ("identity", "none"):
            return None
        if not self.server.opts.gzip:
            return None
        for item in (self.headers.get("Accept-Encoding") or "").split(","):
            parts = [p.strip() for p in item.split(";")]
            if parts[0].lower() in ("gzip", "x-gzip"):
                q = 1.0
                for p in parts[1:]:
                    if p.lower().startswith("q="):
                        try:
                            q = float(p[2:])
                        except ValueError:
                            q = 0.0
                if q > 0:
                    return "gzip"
        return None

    def _want_chunked(self):
        h = (self.headers.get("X-Standin-Chunked") or "").strip().lower()
        if h in ("1", "true", "yes"):
            return True
        if h in ("0", "false", "no"):
            return False
        return self.server.opts.chunked

    def _write(self, status, headers, body, close=False, head=False,
               allow_chunked=True, allow_encoding=True):
        """Write one response.  Each chunk goes out in its own send()."""
        headers = list(headers)
        headers.append(("Date", email.utils.formatdate(usegmt=True)))
        no_body = status == 204 or status == 304 or 100 <= status < 200
        chunked = False
        if not no_body and body:
            enc = self._choose_encoding() if allow_encoding else None
            if enc == "gzip":
                body = gzip.compress(body, mtime=0)
            elif enc == "deflate":
                body = zlib.compress(body)
            if enc:
                headers.append(("Content-Encoding", enc))
                headers.append(("Vary", "Accept-Encoding"))
            chunked = (allow_chunked and not head and self._want_chunked()
                       and self.request_version == "HTTP/1.1")
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        elif not no_body:
            headers.append(("Content-Length", str(len(body))))
        if self.request_version != "HTTP/1.1" and not close:
            if (self.headers.get("Connection") or "").lower() == "keep-alive":
                headers.append(("Connection", "keep-alive"))
        if close:
            self.close_connection = True
        if self.close_connection:
            headers.append(("Connection", "close"))
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        head_bytes = ("HTTP/1.1 %d %s\r\n" % (status, phrase)
                      + "".join("%s: %s\r\n" % (k, v) for k, v in headers)
                      + "\r\n").encode("latin-1")
        self.log_request(status, len(body) if body else 0)
        self.wfile.write(head_bytes)
        if not no_body and not head and body:
            if chunked:
                pos, sizes = 0, [7, 100]
                while pos < len(body):
                    n = sizes.pop(0) if sizes else len(body) - pos
                    piece = body[pos:pos + n]
                    pos += len(piece)
                    self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(body)
        elif chunked:
            self.wfile.write(b"0\r\n\r\n")
        if hasattr(self.wfile, "flush"):
            self.wfile.flush()
        return headers, body

    # -- dispatch ------------------------------------------------------------

    def _serve(self):
        method = self.command.upper()
        vault = self.server.vault
        try:
            body = self._read_body()
        except BodyError as e:
            self._write(e.status, [("Cache-Control", "no-store"),
                                   ("Content-Type", "application/json")],
                        go_json({"errors": [e.msg]}), close=True)
            return
        url = urlsplit(self.path)
        remote = (self.client_address[0], self.client_address[1])
        try:
            status, obj, rid = vault.handle(method, url.path or "/", url.query,
                                            self.headers, body, remote)
        except Exception:                               # a bug in the stand-in
            traceback.print_exc()
            status, obj, rid = 500, {"errors": ["internal error"]}, None
        payload = go_json(obj) if obj is not None else b""
        hdrs = [("Cache-Control", "no-store")]
        if status != 204:
            hdrs.append(("Content-Type", "application/json"))
        sent_headers, sent_body = self._write(status, hdrs, payload, head=(method == "HEAD"))
        if url.path.startswith("/v1/") and url.path.rstrip("/") != "/v1/sys/health":
            vault.dump_h2(method, url.path, rid, status, sent_headers, sent_body)

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_LIST = do_HEAD = do_GET


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, addr, family, vault, opts, ssl_ctx):
        self.address_family = family
        self.vault = vault
        self.opts = opts
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, Handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            try:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            except OSError:
                pass
        socketserver.TCPServer.server_bind(self)     # skip getfqdn() lookup
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]
        if self.ssl_ctx is not None:
            self.socket = self.ssl_ctx.wrap_socket(self.socket, server_side=True,
                                                   do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError, OSError)):
            if self.vault.verbose:
                sys.stderr.write("vault_standin: %s: %s\n" % (client_address, exc))
            return
        super().handle_error(request, client_address)


def parse_listen(s):
    s = s.strip()
    if s.startswith("["):
        host, sep, port = s[1:].partition("]:")
        if not sep:
            raise argparse.ArgumentTypeError("bad --listen %r (want [HOST]:PORT)" % s)
    else:
        host, sep, port = s.rpartition(":")
        if not sep:
            raise argparse.ArgumentTypeError("bad --listen %r (want HOST:PORT)" % s)
    try:
        port = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError("bad port in --listen %r" % s)
    return host or "127.0.0.1", port


def main(argv=None):
    ap = argparse.ArgumentParser(description="HashiCorp Vault HTTP API stand-in")
    ap.add_argument("--listen", action="append", type=parse_listen, required=True,
                    metavar="HOST:PORT", help="address to listen on (repeatable; port 0 = any)")
    ap.add_argument("--ready-file", required=True,
                    help="written (atomically) with the URL(s) once listening")
    ap.add_argument("--audit-log", required=True, help="Vault file-audit-device style log")
    ap.add_argument("--seed-file", help='JSON {"kv": {"mount/path": {field: value}}}')
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--chunked", action="store_true",
                    help="send response bodies with Transfer-Encoding: chunked")
    ap.add_argument("--gzip", action="store_true",
                    help="gzip response bodies when the client accepts gzip")
    ap.add_argument("--h2-responses-dir", help="also save every response here (see docstring)")
    ap.add_argument("--issued-log",
                    help="append one JSON line per secret value handed out (see docstring)")
    ap.add_argument("--db-lease-ttl", type=int, metavar="SECONDS",
                    help="lease_duration of database credentials (default %d)" % DB_LEASE_TTL)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    if args.db_lease_ttl is not None and args.db_lease_ttl < 1:
        ap.error("--db-lease-ttl must be at least 1")
    for p in (args.ready_file, args.ready_file + ".creds.json"):
        try:
            os.unlink(p)                     # never let a stale file look ready
        except FileNotFoundError:
            pass
    if args.h2_responses_dir:
        os.makedirs(args.h2_responses_dir, exist_ok=True)

    ssl_ctx = None
    if args.tls_cert:
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.load_cert_chain(args.tls_cert, args.tls_key)
        ssl_ctx.set_alpn_protocols(["http/1.1"])

    vault = Vault(args)
    servers = []
    scheme = "https" if ssl_ctx else "http"
    try:
        for host, port in args.listen:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
            family, _, _, _, sockaddr = infos[0]
            servers.append(Server(sockaddr[:2], family, vault, args, ssl_ctx))
    except OSError as e:
        sys.stderr.write("vault_standin: cannot listen: %s\n" % e)
        for s in servers:
            s.server_close()
        vault.close()
        return 1

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threads = []
    for s in servers:
        t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                             daemon=True, name="serve-%s" % (s.server_address,))
        t.start()
        threads.append(t)

    urls = []
    for s in servers:
        host, port = s.server_address[:2]
        if s.address_family == socket.AF_INET6:
            host = "[%s]" % host
        urls.append("%s://%s:%d" % (scheme, host, port))

    creds = {
        "root_token": vault.root.id,
        "role_id": vault.approle["agent"]["role_id"],
        "secret_id": vault.agent_secret_id,
        "userpass": {"username": "alice", "password": vault.userpass["alice"]["password"]},
    }
    atomic_write(args.ready_file + ".creds.json", json.dumps(creds, indent=2) + "\n", 0o600)
    atomic_write(args.ready_file, "\n".join(urls) + "\n")
    for u in urls:
        print(u)
    sys.stdout.flush()

    while not stop.is_set():
        stop.wait(0.5)

    for s in servers:
        s.shutdown()
    for s in servers:
        s.server_close()
    vault.close()
    sys.stdout.flush()
    return 0
