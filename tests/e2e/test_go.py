"""Go programs over TLS: Go's own crypto/tls, seen through uprobes on crypto/tls.(*Conn).Write
and .Read (docs/go.md).

tests/agents/go/kvleak (standard library only) is built here with Debian's Go (/usr/bin/go),
twice: with symbols and stripped (-ldflags="-s -w"). Traced with `secretrace -- ./kvleak`,
it GETs secret/data/agent/openai from the stand-in over HTTPS (net/http, HTTP/1.1 unless
-h2), then sends the api_key as "Authorization: Bearer" to one HTTPS receiver and in a JSON
body to another, writes it to a file and hands it to /bin/true on its command line. Each use
must be reported once (go_tls_write with secretrace.tls true and the receiver's port; write;
execve), the secret.receive must name the stand-in's request_id and the Vault server as
destination (found through the *tls.Conn's socket), and nothing may fail to be learned.
"""
import os
import subprocess

from harness import (REPO, Workspace, actions, assert_no_learn_failures, assert_uses, get,
                     rand_secret, the_receive, timeout, to_vault, use_spec)
from tls_harness import h2_vault, tls_ca, tls_receiver, tls_vault

GO = "/usr/bin/go"
SRC = os.path.join(REPO, "tests", "agents", "go")
KV = "secret/data/agent/openai"


def build_kvleak(ws, stripped=False, name="kvleak"):
    """kvleak (or another agent of tests/agents/go/) built into the workspace (its own
    GOCACHE, GOPATH, HOME): the binary's path."""
    if not os.access(GO, os.X_OK):
        raise AssertionError("%s not found: apt-get install golang-go" % GO)
    d = ws.path("gobuild")
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, name + ("-stripped" if stripped else ""))
    env = {"PATH": "/usr/bin:/bin", "HOME": d, "GOCACHE": os.path.join(d, "cache"),
           "GOPATH": os.path.join(d, "gopath"), "CGO_ENABLED": "0", "GOFLAGS": "",
           "GOTOOLCHAIN": "local", "GO111MODULE": "on"}
    argv = [GO, "build"] + (["-ldflags=-s -w"] if stripped else []) + ["-o", out, "./" + name]
    r = subprocess.run(argv, cwd=SRC, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300)
    assert r.returncode == 0, "go build failed:\n%s" % r.stdout.decode(errors="replace")
    return out


def seed():
    return {"kv": {"secret/agent/openai": {"api_key": rand_secret(40, "sk-")}}}


def run_kvleak(ws, exe, h2=False, shell=False):
    ca = tls_ca(ws)
    vault = h2_vault(ws, [KV], seed=seed()) if h2 else tls_vault(ws, seed=seed())
    bearer, body = tls_receiver(ws), tls_receiver(ws)
    d = os.path.realpath(ws.mkdir("agent-go", 0o700))
    out = os.path.join(d, "openai.env")
    # run as ./kvleak from its directory, as an operator would
    argv = ["./" + os.path.basename(exe)] + (["-h2"] if h2 else []) + [
        vault.url, ca.ca_cert, vault.creds_path, "https://127.0.0.1:%d/bearer" % bearer.port,
        "https://127.0.0.1:%d/json" % body.port, out]
    if shell:
        # started by a traced shell, the probes come from the exec record, a few to tens of
        # milliseconds late (docs/coverage.md): a first run (usage, exit 2) gets them on the
        # file, the second run is seen whole
        argv = ["/bin/sh", "-c", '"$1" 2>/dev/null; sleep 1; "$@"', "sh"] + argv
    rc, events, err = ws.run_traced(argv, timeout=60, cwd=os.path.dirname(exe))
    assert rc == 0, "kvleak exit status %s; tracer stderr: %s" % (rc, err[-2000:])

    api = vault.issued_one(KV, "api_key")
    # the agent did its job, whatever the tracer saw
    got = b"".join(bearer.connections())
    assert ("Bearer %s" % api["value"]).encode() in got, "no Bearer header at the receiver"
    assert api["value"].encode() in b"".join(body.connections()), "no JSON body at the receiver"
    with open(out) as f:
        assert api["value"] in f.read(), "the file lacks the api_key"

    assert_no_learn_failures(events)
    ev = the_receive(events, api, vault=vault)
    fp = get(ev, "secret.fingerprint")
    name = os.path.basename(exe)[:15]

    def tls_use(port):
        return use_spec(api, "socket", "go_tls_write", dest=("127.0.0.1", port), transport="tcp",
                        process=name, fingerprint=fp, **{"secretrace.tls": True})

    json_use = tls_use(body.port)
    json_use["secret.encoding"] = lambda e: e in ("raw", "json")
    assert_uses(events, [
        tls_use(bearer.port),
        json_use,
        use_spec(api, "file", "write", file_path=out, process=name, fingerprint=fp,
                 **{"secretrace.tls": False}),
        use_spec(api, "argv", "execve", process="true", fingerprint=fp),
    ], allowed=[to_vault(vault)])
    bad = [e for e in actions(events, "secret.use")
           if get(e, "secretrace.syscall") == "go_tls_write"
           and get(e, "destination.port") not in (bearer.port, body.port, vault.port)]
    assert not bad, "go_tls_write uses to unexpected destinations: %s" % bad
    return events, err


@timeout(240)
def test_go_kvleak_http1():
    """Go net/http over crypto/tls, HTTP/1.1: the Vault read learned through
    (*Conn).Read's RETs, the uses through (*Conn).Write; with symbols and stripped."""
    with Workspace() as ws:
        for stripped in (False, True):
            exe = build_kvleak(ws, stripped)
            run_kvleak(ws, exe)




@timeout(240)
def test_go_kvleak_http2():
    """The same fetch over HTTP/2 (net/http's h2 by ALPN against nghttpd serving the
    stand-in's saved response): Go's h2 frames learned from (*Conn).Read."""
    with Workspace() as ws:
        run_kvleak(ws, build_kvleak(ws), h2=True)


def patch_version(src, dst, version):
    """A copy of src whose build info names another Go version (as tests/unit/test_gobin.c):
    the version string after the build info header, same length."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    i = data.find(b"\xff Go buildinf:")
    assert i >= 0, "no build info in %s" % src
    flags = data[i + 15]
    assert flags & 2, "kvleak's build info is not Go 1.18+'s inline form"
    n = data[i + 32]                      # varint length (< 128) of the version string
    v = bytes(data[i + 33:i + 33 + n])
    assert v.startswith(b"go1.19"), v
    data[i + 33:i + 33 + 6] = version.encode()
    with open(dst, "wb") as f:
        f.write(data)
    os.chmod(dst, 0o755)


@timeout(240)
def test_go_unsupported_version_warns():
    """A Go binary whose build info says go1.16 (the stack ABI) gets one warning naming the
    file and the reason, and no probes; the run is otherwise fine."""
    with Workspace() as ws:
        exe = build_kvleak(ws, stripped=True)
        old = os.path.join(os.path.dirname(exe), "kvleak116")
        patch_version(exe, old, "go1.16")
        ca = tls_ca(ws)
        vault = tls_vault(ws, seed=seed())
        rx = tls_receiver(ws)
        out = os.path.join(os.path.realpath(ws.mkdir("agent-go", 0o700)), "openai.env")
        url = "https://127.0.0.1:%d/x" % rx.port
        # -noargv: the secret is not learned here, and process.start would print its argv
        argv = ["./kvleak116", "-noargv", vault.url, ca.ca_cert, vault.creds_path, url, url, out]
        rc, events, err = ws.run_traced(argv, timeout=60, cwd=os.path.dirname(exe))
        assert rc == 0, "kvleak116 exit status %s; tracer stderr: %s" % (rc, err[-2000:])
        lines = [l for l in err.splitlines() if "kvleak116" in l]
        assert len(lines) == 1, "expected one warning about kvleak116, got: %s" % err
        assert "go1.16" in lines[0] and "not supported" in lines[0], lines[0]
        assert not [e for e in actions(events, "secret.use")
                    if get(e, "secretrace.syscall") == "go_tls_write"], "Go probes attached?"
