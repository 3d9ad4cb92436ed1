#!/usr/bin/python3
"""Stand-in for the part of the Kubernetes API server a node agent uses: listing and
watching pods (GET /api/v1/pods), for the unit tests of user/enrich/pods*.c.

Standard library only. The answers are those of the real API server, from recorded
shapes in a data directory (tests/data/kube/):

  pods.json      a PodList (apiVersion v1, kind PodList, metadata.resourceVersion, items
                 as the server lists them: without kind/apiVersion)
  watch.json     events sent to the first watch after the list, in order
                 ({"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK", "object": {...}})
  late-pod.json  a Pod a test adds later (POST /_standin/add)
  garbage.txt    lines that are no event, sent by POST /_standin/garbage

Usage:
  kube_standin.py --listen 127.0.0.1:0 --ready-file PATH --token-file PATH
                  [--data-dir DIR] [--tls-cert CERT --tls-key KEY]

The base URL ("http[s]://127.0.0.1:PORT") is written to the ready file (atomically)
once the socket listens.

API (every /api/ request needs "Authorization: Bearer <token file's first line>", else
401 with a Status object, as the API server answers):
  GET /api/v1/pods[?fieldSelector=spec.nodeName%3DNODE]    the PodList, filtered
  GET /api/v1/pods?watch=true&resourceVersion=RV[&fieldSelector=...][&timeoutSeconds=S]
      chunked JSON, one event a line, each with kind/apiVersion and a fresh
      metadata.resourceVersion: the events after RV, then new ones as they come. An RV
      older than the last compaction gets {"type":"ERROR","object":<Status 410 Expired>}
      and the end of the stream, as from the real server. The first event of each watch
      is written in two chunks, cut in the middle.

Control (no token; for the tests):
  POST /_standin/delete?uid=UID   DELETED event (the pod with deletionTimestamp)
  POST /_standin/add              ADDED event of late-pod.json
  POST /_standin/gone[?drop=UID]  compaction: every open watch gets ERROR 410 and ends;
                                  drop: the pod also leaves the state silently, so only a
                                  new list can tell
  POST /_standin/garbage          garbage.txt's lines, a line of binary bytes and a 5 MiB
                                  line, to every open watch
  POST /_standin/error            {"type":"ERROR"} with a 500 Status to every open watch
  GET  /_standin/requests         [{"path", "query", "authorized"}, ...] of /api/ requests
  GET  /_standin/watchers         number of open watches

SIGTERM / SIGINT: exit 0.
"""

import argparse
import copy
import json
import os
import signal
import ssl
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class RawLine(bytes):
    """A garbage line: sent to every watch as it is, never filtered."""


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class State:
    """The pods, the resource version, and the history of events watches replay."""

    def __init__(self, data_dir):
        self.dir = data_dir
        with open(os.path.join(data_dir, "pods.json")) as f:
            podlist = json.load(f)
        with open(os.path.join(data_dir, "watch.json")) as f:
            self.scripted = json.load(f)
        self.rv = int(podlist["metadata"]["resourceVersion"])
        self.pods = {p["metadata"]["uid"]: p for p in podlist["items"]}
        self.history = []               # (rv, line bytes)
        self.compacted = 0              # watches from an RV below this get 410
        self.epoch = 0                  # bumped by a compaction: open watches end
        self.watchers = 0
        self.requests = []
        self.cv = threading.Condition()

    # callers hold self.cv
    def event(self, etype, pod):
        self.rv += 1
        obj = copy.deepcopy(pod)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if etype != "BOOKMARK":
            obj = dict({"kind": "Pod", "apiVersion": "v1"}, **obj)
            if etype == "DELETED":
                self.pods.pop(obj["metadata"]["uid"], None)
            else:
                item = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
                self.pods[obj["metadata"]["uid"]] = item
        line = json.dumps({"type": etype, "object": obj}, separators=(",", ":"))
        self.history.append((self.rv, line.encode() + b"\n"))
        self.cv.notify_all()

    def raw(self, data):
        self.history.append((self.rv, RawLine(data)))
        self.cv.notify_all()

    def run_script(self):
        """The scripted events, once, when the first watch comes (after the first list)."""
        for ev in self.scripted:
            self.event(ev["type"], ev["object"])
        self.scripted = []


def node_filter(query):
    """The pods a fieldSelector keeps: only spec.nodeName=X is known (400 otherwise)."""
    sel = query.get("fieldSelector", [""])[0]
    if not sel:
        return lambda pod: True
    key, _, node = sel.partition("=")
    if key != "spec.nodeName" or not node:
        return None
    return lambda pod: pod.get("spec", {}).get("nodeName") == node


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-standin"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        st = self.server.state
        if url.path == "/_standin/requests":
            with st.cv:
                return self.send_json(200, st.requests)
        if url.path == "/_standin/watchers":
            with st.cv:
                return self.send_json(200, st.watchers)
        if url.path != "/api/v1/pods":
            return self.send_json(404, status(404, "NotFound", "the server could not find "
                                              "the requested resource"))
        auth = self.headers.get("Authorization", "") == "Bearer " + self.server.token
        with st.cv:
            st.requests.append({"path": url.path, "query": url.query, "authorized": auth})
        if not auth:
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        keep = node_filter(query)
        if keep is None:
            return self.send_json(400, status(400, "BadRequest",
                                              "unable to parse requested fieldSelector"))
        if query.get("watch", [""])[0] in ("true", "1"):
            return self.watch(query, keep)
        with st.cv:
            items = [copy.deepcopy(p) for p in st.pods.values() if keep(p)]
            rv = st.rv
        self.send_json(200, {"apiVersion": "v1", "kind": "PodList",
                             "metadata": {"resourceVersion": str(rv)}, "items": items})

    def watch(self, query, keep):
        st = self.server.state
        try:
            since = int(query.get("resourceVersion", ["0"])[0])
        except ValueError:
            return self.send_json(400, status(400, "BadRequest", "invalid resourceVersion"))
        timeout = float(query.get("timeoutSeconds", ["1800"])[0])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with st.cv:
            st.watchers += 1
            if st.scripted:
                st.run_script()
            epoch = st.epoch
            if since < st.compacted:
                pending = [status(410, "Expired", "too old resource version: %d (%d)"
                                  % (since, st.compacted))]
            else:
                pending = None
            i = next((k for k, (rv, _) in enumerate(st.history) if rv > since),
                     len(st.history))
        first = True
        try:
            if pending:
                self.chunk(json.dumps({"type": "ERROR", "object": pending[0]}).encode()
                           + b"\n")
                return
            while True:
                with st.cv:
                    if st.epoch == epoch and i >= len(st.history):
                        st.cv.wait(timeout=timeout)
                    if st.epoch != epoch:
                        gone = status(410, "Expired", "too old resource version: %d (%d)"
                                      % (since, st.compacted))
                        self.chunk(json.dumps({"type": "ERROR", "object": gone}).encode()
                                   + b"\n")
                        return
                    if i >= len(st.history):
                        return              # timeoutSeconds: the server ends the watch
                    lines = st.history[i:]
                    i = len(st.history)
                for _, line in lines:
                    if not self.wanted(line, keep):
                        continue
                    if first:               # one event cut across two chunks
                        self.chunk(line[:len(line) // 2])
                        self.chunk(line[len(line) // 2:])
                        first = False
                    else:
                        self.chunk(line)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            return
        finally:
            with st.cv:
                st.watchers -= 1
            try:
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            self.close_connection = True

    @staticmethod
    def wanted(line, keep):
        if isinstance(line, RawLine):
            return True
        ev = json.loads(line)
        return ev["type"] == "BOOKMARK" or keep(ev["object"])

    def do_POST(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        st = self.server.state
        if self.headers.get("Content-Length"):
            self.rfile.read(int(self.headers["Content-Length"]))
        with st.cv:
            if url.path == "/_standin/delete":
                pod = st.pods.get(query.get("uid", [""])[0])
                if not pod:
                    return self.send_json(404, {"error": "no such pod"})
                pod = copy.deepcopy(pod)
                pod["metadata"]["deletionTimestamp"] = "2026-11-27T10:20:00Z"
                pod["metadata"]["deletionGracePeriodSeconds"] = 0
                st.event("DELETED", pod)
            elif url.path == "/_standin/add":
                with open(os.path.join(st.dir, "late-pod.json")) as f:
                    pod = json.load(f)
                st.event("ADDED", {k: v for k, v in pod.items()
                                   if k not in ("kind", "apiVersion")})
            elif url.path == "/_standin/gone":
                st.pods.pop(query.get("drop", [""])[0], None)
                st.rv += 1
                st.compacted = st.rv
                st.history = []
                st.epoch += 1
                st.cv.notify_all()
            elif url.path == "/_standin/garbage":
                with open(os.path.join(st.dir, "garbage.txt"), "rb") as f:
                    for line in f:
                        st.raw(line if line.endswith(b"\n") else line + b"\n")
                st.raw(bytes(range(256)).replace(b"\n", b"") + b"\xff\xfe\x00\n")
                st.raw(b"x" * (5 << 20) + b"\n")
            elif url.path == "/_standin/error":
                err = status(500, "InternalError", "an error on the server (\"etcdserver: "
                             "request timed out\") has prevented the request from succeeding")
                st.raw(json.dumps({"type": "ERROR", "object": err}).encode() + b"\n")
            else:
                return self.send_json(404, {"error": "unknown control"})
            rv = st.rv
        self.send_json(200, {"resourceVersion": str(rv)})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, OSError)):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--data-dir", default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "data", "kube"))
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()

    host, _, port = args.listen.rpartition(":")
    with open(args.token_file) as f:
        token = f.readline().strip()
    srv = Server((host, int(port)), Handler)
    srv.state = State(args.data_dir)
    srv.token = token
    scheme = "http"
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        scheme = "https"
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    signal.signal(signal.SIGINT, lambda *a: os._exit(0))
    url = "%s://%s:%d" % (scheme, host, srv.server_address[1])
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(args.ready_file)))
    with os.fdopen(fd, "w") as f:
        f.write(url + "\n")
    os.rename(tmp, args.ready_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
