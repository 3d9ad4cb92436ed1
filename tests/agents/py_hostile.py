#!/usr/bin/python3
"""e2e agent: a hostile process that runs its own fake "Vault" (a /v1/secret/data/... server
answering in Vault's JSON, in a thread of this process) and fetches from it, to blind the
tracer.
usage: py_hostile.py flood PROCS RESPONSES VALUES [AFTER STARTED]
           PROCS child processes each fetch RESPONSES answers of VALUES random values;
           with AFTER and STARTED: once the file AFTER exists, and creating the file
           STARTED once the first child is done (the flood half over)
       py_hostile.py common FILE
           the values are protocol text and plain strings; then written to FILE
       py_hostile.py fake FILE
           one plausible secret; then written to FILE
Prints, on its last line, how many values its server handed out."""
import http.server
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

COMMON = ["Content-Type: application/json", "application/json", "Connection: close",
          "HTTP/1.0 200 OK", "User-Agent: Python-urllib/3.11", "Accept-Encoding: identity",
          '"data":{"data":{']
PLAIN = ["aaaaaaaaaaaaaaaa", "0101010101010101", "abcdabcdabcdabcd"]


def vault_json(values):
    return json.dumps({
        "request_id": str(uuid.uuid4()), "lease_id": "", "renewable": False, "lease_duration": 0,
        "data": {"data": {"k%05d" % i: v for i, v in enumerate(values)},
                 "metadata": {"created_time": "2026-01-01T00:00:00.000000Z",
                              "custom_metadata": None, "deletion_time": "", "destroyed": False,
                              "version": 1}},
        "wrap_info": None, "warnings": None, "auth": None}).encode()


def serve(make_values):
    handed = [0]

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            values = make_values()
            handed[0] += len(values)
            body = vault_json(values)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, handed


def fetch(port, n=1):
    for k in range(n):
        req = urllib.request.Request("http://127.0.0.1:%d/v1/secret/data/hostile/%d" % (port, k),
                                     headers={"X-Vault-Token": "hvs.hostile-agent-token"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()


def main():
    mode = sys.argv[1]
    if mode == "fetch":     # a flood child
        fetch(int(sys.argv[2]), int(sys.argv[3]))
        return
    if mode == "flood":
        procs, responses, values = (int(x) for x in sys.argv[2:5])
        after, started = sys.argv[5:7] if len(sys.argv) > 6 else (None, None)
        while after and not os.path.exists(after):
            time.sleep(0.01)
        srv, handed = serve(lambda: [secrets.token_urlsafe(24) for _ in range(values)])
        port = srv.server_address[1]
        for k in range(procs):  # one after the other: each a process of its own
            subprocess.run([sys.executable, __file__, "fetch", str(port), str(responses)], check=True)
            if started and k == 0:
                open(started, "w").close()
    else:
        fake = secrets.token_urlsafe(24)
        values = COMMON + PLAIN if mode == "common" else [fake]
        srv, handed = serve(lambda: values)
        fetch(srv.server_address[1])
        with open(sys.argv[2], "w") as f:
            f.write("\r\n".join(values) + "\r\n")
    srv.shutdown()
    print(handed[0])


main()
