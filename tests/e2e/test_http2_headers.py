"""Secrets in HTTP/2 request headers (issue 14): HPACK Huffman-codes header values and
sends a header seen before on the connection as one index byte into its dynamic table.

A client reads secret/data/agent/h2 from an HTTP/2 Vault (nghttpd serving the stand-in's
response, tls_harness.py): api_key and token (long enough for their Huffman forms to be
indexed in the kernel) and pin (10 characters: too short for that). Then it sends two
requests on one HTTP/2 connection to another nghttpd, each with Authorization: Bearer
<api_key>, X-Token: <token>, X-Pin: <pin> and X-Decoy (a random secret-looking value).
Each secret's two sends must be reported, encoding hpack, through SSL_write to the
receiver, found where they can be (FIELDS); the decoy never.
"""
import os

from harness import (PY, Workspace, actions, agent, assert_no_learn_failures, describe_all,
                     get, rand_secret, the_receive, timeout, wait_for)
from test_go import build_kvleak
from tls_harness import NGHTTPD, alpn_probe, curl, h2_vault, listening_ports, nghttpd, tls_ca

KV = "secret/data/agent/h2"


def h2_receiver(ws):
    """nghttpd (TLS, ALPN h2) serving /a and /b; its URL once it completes handshakes."""
    nghttpd()
    ca = tls_ca(ws)
    htdocs = ws.mkdir("rx-htdocs", 0o755)
    for name in ("a", "b"):
        with open(os.path.join(htdocs, name), "w") as f:
            f.write("ok\n")
        os.chmod(os.path.join(htdocs, name), 0o644)
    log = open(os.path.join(ws.root, "rx-nghttpd.log"), "wb")
    ws.closers.append(log.close)
    p = ws.spawn([NGHTTPD, "--address=127.0.0.1", "--htdocs=" + htdocs, "0", ca.key, ca.cert],
                 stdout=log, stderr=log, cwd=htdocs)
    ports = wait_for(lambda: listening_ports(p.pid), 20, "the receiver's listening socket",
                     alive=p)
    assert len(ports) == 1, "nghttpd listens on %s" % ports
    wait_for(lambda: alpn_probe("127.0.0.1", ports[0], ca, "h2"), 20,
             "the receiver to complete a TLS handshake selecting ALPN h2", interval=0.05,
             alive=p)
    return ports[0]


def sends(events, fp, port):
    """The sends of the secret fp to the receiver that were reported, as (found by the
    kernel's scan, found by decoding the header block: secretrace.offset 0), counting the
    repeats a summary stands for; each checked as an hpack use over TLS."""
    kernel = decoded = 0
    for e in actions(events, "secret.use"):
        if get(e, "secret.fingerprint") != fp or get(e, "destination.port") != port:
            continue
        assert get(e, "secret.encoding") == "hpack", "not hpack: %s" % describe_all([e])
        assert get(e, "secretrace.tls") is True and get(e, "secretrace.syscall") in (
            "SSL_write", "SSL_write_ex", "go_tls_write"), "not a TLS write: %s" % describe_all([e])
        n = get(e, "secretrace.repeat_count") or 1
        if get(e, "secretrace.offset"):
            kernel += n
        else:
            decoded += n
    return kernel, decoded


# per field: its value, and how its two sends are found. api_key goes in Authorization,
# which nghttp2 and Python's h2 never index: Huffman-coded twice, found by its Huffman forms
# in the kernel. token and pin are indexed: a Huffman-coded literal, then the table index,
# which only decoding finds; pin is too short for Huffman forms (10 characters of codes of
# 5 or 6 bits: at most 60 bits, no 8 bytes from the secret alone): decoding finds both.
SHORT_CODES = "abcdefghilmnoprstu0123456789"
FIELDS = {
    "api_key": (lambda: rand_secret(40, "sk-"), (2, 0)),
    "token": (lambda: rand_secret(32, "tk-"), (1, 1)),
    "pin": (lambda: rand_secret(10, alphabet=SHORT_CODES), (0, 2)),
}


def run_h2(argv_of, want=None):
    """Runs the agent argv_of(workspace, vault, ca_file, receiver_url) gives, traced; checks
    each field's sends as FIELDS says, or as want (field -> (kernel, decoded)) does."""
    want = dict({f: w for f, (_, w) in FIELDS.items()}, **(want or {}))
    seed = {"kv": {"secret/agent/h2": {f: make() for f, (make, _) in FIELDS.items()}}}
    with Workspace() as ws:
        vault = h2_vault(ws, [KV], seed=seed)
        port = h2_receiver(ws)
        rx = "https://127.0.0.1:%d" % port
        run = ws.run_traced(argv_of(ws, vault, vault.ca.ca_cert, rx), timeout=60)
        assert run.rc == 0, "agent failed (%s): %s" % (run.rc, run.stderr[-2000:])
        ev = run.events
        assert_no_learn_failures(ev)
        fps = {}
        for field in FIELDS:
            fp = fps[field] = get(the_receive(ev, vault.issued_one(KV, field), vault=vault),
                                  "secret.fingerprint")
            got = sends(ev, fp, port)
            assert got == want[field], "%s: sends reported (kernel, decoded) %s, not %s:\n%s" % (
                field, got, want[field], describe_all(actions(ev, "secret.use")))
        # the decoy is not a secret: no other use to the receiver
        other = [e for e in actions(ev, "secret.use") if get(e, "destination.port") == port
                 and get(e, "secret.fingerprint") not in fps.values()]
        assert not other, "uses of no secret sent: %s" % describe_all(other)
        lost = [e for e in actions(ev, "tracer.loss")
                if get(e, "secretrace.lost.reason") == "hpack_not_followed"]
        assert not lost, "an HTTP/2 session was not followed: %s" % describe_all(lost)


@timeout(90)
def test_curl_http2_headers_twice():
    """curl --http2 (nghttp2's HPACK encoder), two requests on one connection."""
    sh = curl() and agent("h2_curl.sh")
    run_h2(lambda ws, v, ca, rx: [sh, v.url, ca, v.creds_path, rx, ws.root])


@timeout(90)
def test_httpx_http2_headers_twice():
    """httpx with h2 (Python's hpack), two requests on one connection."""
    run_h2(lambda ws, v, ca, rx: [PY, agent("h2_httpx.py"), v.url, ca, v.creds_path, rx])


@timeout(240)
def test_go_http2_headers_twice():
    """A Go net/http agent (tests/agents/go/h2headers; Go's hpack indexes every field, so
    the second Bearer goes as a table index too), built here like test_go's."""
    run_h2(lambda ws, v, ca, rx: [build_kvleak(ws, name="h2headers"), v.url, ca, v.creds_path,
                                  rx], want={"api_key": (1, 1)})
