"""HTTP receivers that misbehave, one fault per test, against a _bulk receiver scripted on a raw
socket (so it can hang, reset mid-body and answer what no HTTP library would): every event is
stored exactly once by event.id, except where the receiver's own answer left it unknown."""
import collections
import json
import socket
import struct
import threading
import time

from harness import Workspace, actions, check_common, get, load_events, timeout, wait_for
from test_delivery import bulk_items, fifo, stderr_of

OK = b'{"took":1,"errors":false,"items":[]}'   # what several ES-compatible collectors answer


class ScriptedReceiver:
    """A _bulk receiver: the k-th request (from 0) gets script(k), one of
    ("ok",) store the items, answer 200 OK;
    ("hang",) read the request, never answer (until the client closes);
    ("reset",) read part of the body, then reset the connection;
    ("status", code, headers) answer code without storing;
    ("garbage200",) store the items, answer 200 with a body that is not a _bulk answer;
    ("garbage",) answer bytes that are not HTTP at all, close.
    Bound at once; refuses connections until start()."""

    def __init__(self, ws, script):
        self.script = script
        self.lock = threading.Lock()
        self.started = 0        # requests whose headers arrived
        self.received = []      # (monotonic time, action, ids) of each whole request body
        self.stored = []        # ids stored, in order
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d/_bulk" % self.port
        ws.closers.append(self.sock.close)

    def start(self):
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def ids(self, action=None):
        """Counter of event ids received in whole bodies (of requests answered action)."""
        with self.lock:
            return collections.Counter(i for _, a, ids in self.received
                                       if action in (None, a) for i in ids)

    def _serve(self, c):
        buf = b""
        with c:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v)
                with self.lock:
                    act = self.script(self.started)
                    self.started += 1
                if act[0] == "reset":
                    while not buf:
                        buf = c.recv(65536)
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                while len(buf) < length:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                body, buf = buf[:length], buf[length:]
                ids = [i for i, _ in bulk_items(body)]
                with self.lock:
                    self.received.append((time.monotonic(), act[0], ids))
                    if act[0] in ("ok", "garbage200"):
                        self.stored.extend(ids)
                if act[0] == "hang":
                    while c.recv(65536):
                        pass
                    return
                if act[0] == "garbage":
                    c.sendall(b"\x00\x17 not HTTP at all \xff\r\n\r\n")
                    return
                code, hdrs, out = 200, {}, OK
                if act[0] == "status":
                    code, hdrs, out = act[1], act[2], b'{"error":"busy"}'
                elif act[0] == "garbage200":
                    out = b"<html><body>stored, probably</body></html>"
                c.sendall(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
                          % (code, len(out), b"".join(b"%s: %s\r\n" % (k.encode(), v.encode())
                                                      for k, v in hdrs.items()), out))


def traced(ws, rx, n=40, gate=False):
    """The tracer with rx as its _bulk output over sh running n /bin/true (and n more once the
    gate fifo is written, when gate)."""
    cmd = "for i in $(seq %d); do /bin/true; done" % n
    go = None
    if gate:
        go = fifo(ws)
        cmd += "; read x < %s; %s" % (go, cmd)
    t = ws.start_tracer(["-o", rx.url, "--batch-size", "20", "--batch-wait", "100",
                         "--spool-dir", ws.mkdir("spool", 0o700), "--flush-timeout", "60",
                         "--", "/bin/sh", "-c", cmd])
    return t, go


def finish(ws, t):
    rc = t.proc.wait(120)
    err = stderr_of(t)
    assert rc == 0, "exit %s, stderr %s" % (rc, err)
    ws.leak_check([t.events_path, t.stderr_path])
    events = load_events(t.events_path)
    check_common(events)
    return events, err


def assert_once(rx, events, given_up=()):
    """Every event stored once, except those given up."""
    ids = [get(e, "event.id") for e in events]
    stored = collections.Counter(rx.stored)
    for i in ids:
        if i not in given_up:
            assert stored[i] == 1, "event %s stored %d times" % (i, stored[i])
    assert set(stored) <= set(ids), "the receiver stored events the tracer did not write"
    if not given_up:    # else the tracer.loss written while draining is still in the spool
        assert get(events[-1], "secretrace.stats.undelivered") == 0


@timeout(150)
def test_http_errors_false_after_outage():
    """The bug found: after an outage, a receiver answering every _bulk POST with
    {"errors":false,"items":[]}: each event arrives once (it arrived 24 times), nothing is left
    undelivered or counted lost."""
    with Workspace() as ws:
        rx = ScriptedReceiver(ws, lambda k: ("ok",))
        t, go = traced(ws, rx, gate=True)
        wait_for(lambda: len(actions(t.events(), "process.start")) >= 41, 60,
                 "40 process.start events while the receiver refuses", alive=t.proc)
        wait_for(lambda: "cannot deliver" in stderr_of(t), 20, "the refusal on stderr", alive=t.proc)
        rx.start()
        with open(go, "w") as f:
            f.write("go\n")
        events, err = finish(ws, t)
        assert rx.ids() == collections.Counter(get(e, "event.id") for e in events), \
            "not every event received once: %s" % sorted(rx.ids().values())
        assert rx.stored == [get(e, "event.id") for e in events], "stored out of order"
        assert get(events[-1], "secretrace.stats.lost") == 0
        assert "delivering again" in err, err


@timeout(180)
def test_http_slow_receiver():
    """A receiver that reads a request and never answers: tracing goes on meanwhile; the
    request times out (30 s) and its batch is sent again, the only events that may arrive
    twice (the receiver never said whether it kept them)."""
    with Workspace() as ws:
        rx = ScriptedReceiver(ws, lambda k: ("hang",) if k == 0 else ("ok",))
        rx.start()
        t, go = traced(ws, rx, gate=True)
        wait_for(lambda: rx.ids(), 60, "the first request", alive=t.proc)
        with open(go, "w") as f:
            f.write("go\n")
        wait_for(lambda: len(actions(t.events(), "process.start")) >= 81, 20,
                 "tracing to go on while the receiver hangs", alive=t.proc)
        assert rx.started == 1, "a request was sent while the first one still waited"
        events, err = finish(ws, t)
        hung = set(rx.ids("hang"))
        assert rx.ids("ok") == collections.Counter(get(e, "event.id") for e in events), \
            "after the hang, not every event received once"
        assert_once(rx, events)
        assert get(events[-1], "secretrace.stats.lost") == 0
        with rx.lock:
            at = [r[0] for r in rx.received]
        assert hung and 25 <= at[1] - at[0] <= 60, "resent %.1f s after the hang" % (at[1] - at[0])


@timeout(120)
def test_http_retry_after():
    """429 with Retry-After: 2, then 503 with Retry-After: 1: the tracer waits at least as
    long each time (its own backoff would retry after 0.1 s and 0.2 s); each event stored once."""
    with Workspace() as ws:
        script = {0: ("status", 429, {"Retry-After": "2"}), 1: ("status", 503, {"Retry-After": "1"})}
        rx = ScriptedReceiver(ws, lambda k: script.get(k, ("ok",)))
        rx.start()
        t, _ = traced(ws, rx)
        events, err = finish(ws, t)
        with rx.lock:
            at = [r[0] for r in rx.received]
        assert at[1] - at[0] >= 1.95, "retried %.2f s after Retry-After: 2" % (at[1] - at[0])
        assert at[2] - at[1] >= 0.95, "retried %.2f s after Retry-After: 1" % (at[2] - at[1])
        assert_once(rx, events)
        assert rx.ids("ok") == collections.Counter(get(e, "event.id") for e in events)
        assert get(events[-1], "secretrace.stats.lost") == 0
        assert "HTTP status 429" in err, err


@timeout(120)
def test_http_reset_mid_body():
    """Connections reset in the middle of the request body, twice: the batch is sent again on a
    new connection; each event stored once, none lost."""
    with Workspace() as ws:
        rx = ScriptedReceiver(ws, lambda k: ("reset",) if k < 2 else ("ok",))
        rx.start()
        t, _ = traced(ws, rx)
        events, err = finish(ws, t)
        assert rx.started >= 3
        assert rx.ids() == collections.Counter(get(e, "event.id") for e in events), \
            "not every event received once"
        assert_once(rx, events)
        assert get(events[-1], "secretrace.stats.lost") == 0


@timeout(120)
def test_http_garbage_answers():
    """An answer that is not HTTP (sent again, as a connection error), then three 200 answers
    that are not _bulk answers: the receiver may hold the batch, so it is sent 3 times and then
    given up, counted (tracer.loss sink_unconfirmed, the batch's size); later batches once."""
    with Workspace() as ws:
        script = {0: ("garbage",), 1: ("garbage200",), 2: ("garbage200",), 3: ("garbage200",)}
        rx = ScriptedReceiver(ws, lambda k: script.get(k, ("ok",)))
        rx.start()
        t, _ = traced(ws, rx)
        events, err = finish(ws, t)
        with rx.lock:
            first = rx.received[0][2]
            assert [r[2] for r in rx.received[:4]] == [first] * 4, "the first batch was not resent whole"
        losses = [(get(l, "secretrace.lost.reason"), get(l, "secretrace.lost.count"))
                  for l in actions(events, "tracer.loss")]
        assert losses == [("sink_unconfirmed", len(first))], losses
        assert get(events[-1], "secretrace.stats.lost") == len(first)
        assert collections.Counter(rx.stored)[first[0]] == 3
        assert_once(rx, events, given_up=set(first))
        assert rx.ids("ok") == collections.Counter(get(e, "event.id") for e in events
                                                   if get(e, "event.id") not in first)
        assert "could not be read" in err, err
