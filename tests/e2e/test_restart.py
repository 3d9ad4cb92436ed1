"""--state-file: what one tracer learned, the next one knows (docs/hardening.md, "Restarts")."""
import json
import os
import random
import signal
import stat
import subprocess
import time

from harness import (PY, SECRETRACE, Workspace, actions, agent, describe, describe_all, get, rand_secret,
                     timeout, wait_for)


def state_args(ws, key=None):
    """--state-file in a directory the tracer makes, and a key file of this test's own."""
    return ["--state-file", ws.path("state", "state"), "--key-file", key or ws.path("fingerprint.key")]


def start_event(run):
    starts = actions(run.events, "tracer.start")
    assert len(starts) == 1, describe_all(starts)
    return starts[0]


def learn(ws, vault, rx, args):
    """Tracer A: an agent fetches secret/agent/openai and sends api_key; the tracer is
    stopped with SIGTERM. Returns A's secret.receive of api_key."""
    tok = vault.token_file()
    t = ws.start_tracer(args + ["--", PY, agent("py_kv_leak.py"), vault.url, tok, str(rx.port),
                               "--linger", "120"])
    t.wait_event(lambda e: get(e, "event.action") == "secret.use"
                 and get(e, "destination.port") == rx.port, 60, "tracer A's secret.use")
    run = t.stop(signal.SIGTERM)
    recv = [e for e in actions(run.events, "secret.receive") if get(e, "vault.field") == "api_key"]
    assert len(recv) == 1, "tracer A (exit %s): %s\n%s" % (run.rc, describe_all(recv), run.stderr)
    return recv[0]


def send_known(ws, value, port, args):
    """Tracer B: a process that fetched nothing sends value (read from a file) over TCP."""
    src = ws.path("known-%d.json" % random.randrange(1 << 30))
    with open(src, "w") as f:
        json.dump({"data": {"data": {"api_key": value}}}, f)
    os.chmod(src, 0o600)
    with open(src) as stdin:
        return ws.run_traced([PY, agent("send_field.py"), str(port), "api_key"],
                             tracer_args=args, stdin=stdin, timeout=120)


@timeout(300)
def test_restart_keeps_learned_secrets():
    """Tracer A learns api_key from the stand-in and is stopped (SIGTERM); tracer B, with
    the same --state-file and key, reports a process that never fetched it sending it,
    with A's request_id and fingerprint; tracer.start says what was restored and the gap.
    The state file is 0600 and holds no 8-byte run of any secret."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver()
        args = state_args(ws)
        recv = learn(ws, vault, rx, args)
        st = ws.path("state", "state")
        mode = os.stat(st).st_mode
        assert stat.S_IMODE(mode) == 0o600 and os.stat(st).st_uid == 0, oct(mode)
        assert stat.S_IMODE(os.stat(os.path.dirname(st)).st_mode) == 0o700
        ws.leak_check([st, st + ".lock"])
        time.sleep(1.1)  # a gap of at least one second to report
        run = send_known(ws, vault.kv("secret/agent/openai", "api_key"), rx.port, args)
        assert run.rc == 0, "exit %s: %s" % (run.rc, run.stderr)
        start = start_event(run)
        assert get(start, "secretrace.state.restored") >= 1, describe(start)
        assert get(start, "secretrace.state.gap_seconds") >= 1, describe(start)
        assert get(start, "secretrace.state.refused") is None, describe(start)
        uses = [e for e in actions(run.events, "secret.use") if get(e, "destination.port") == rx.port]
        assert len(uses) == 1, describe_all(actions(run.events, "secret.use"))
        u = uses[0]
        for f in ("vault.request_id", "vault.path", "vault.field", "secret.fingerprint"):
            assert get(u, f) == get(recv, f), "%s: %s, learned as %s" % (f, get(u, f), get(recv, f))
        assert not actions(run.events, "secret.receive"), "B fetched nothing"
        stop = run.events[-1]
        assert get(stop, "secretrace.state.writes") >= 1, describe(stop)
        assert get(stop, "secretrace.state.write_failed") == 0, describe(stop)
        ws.leak_check([st])


def quick_run(ws, args, check=True):
    """A traced /bin/true: the tracer loads the state file, writes it at exit."""
    return ws.run_traced(["/bin/true"], tracer_args=args, check=check, timeout=120)


@timeout(300)
def test_bad_state_files_are_set_aside():
    """A state file that is not one, is truncated, or was written with another key file is
    refused with one stderr line and secretrace.state.refused; the tracer starts without
    it, keeps it as PATH.refused and writes a good one at exit, which the next run loads
    (checked after the first case)."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver()
        args = state_args(ws)
        learn(ws, vault, rx, args)
        st = ws.path("state", "state")
        with open(st, "rb") as f:
            good = f.read()
        other = ws.path("other.key")
        with open(other, "wb") as f:
            f.write(os.urandom(32))
        cases = [
            ("garbage", b"not a state file at all\n" * 10, args, "not a secretrace state file"),
            ("empty", b"", args, "not a secretrace state file"),
            ("truncated", good[:len(good) // 2], args, "corrupt or truncated"),
            ("header only", good[:60], args, "truncated"),
            ("bit flip", good[:-9] + bytes([good[-9] ^ 1]) + good[-8:], args, "corrupt"),
            ("version", good[:8] + b"\x63\0\0\0" + good[12:], args, "format version 99"),
            ("other key", good, state_args(ws, other), "another --key-file"),
        ]
        for name, data, a, why in cases:
            with open(st, "wb") as f:
                f.write(data)
            os.chmod(st, 0o600)
            run = quick_run(ws, a)
            assert run.rc == 0, "%s: exit %s: %s" % (name, run.rc, run.stderr)
            start = start_event(run)
            assert why in (get(start, "secretrace.state.refused") or ""), "%s: %s" % (name, describe(start))
            assert get(start, "secretrace.state.restored") == 0, describe(start)
            lines = [l for l in run.stderr.splitlines() if "state file" in l]
            assert len(lines) == 1 and why in lines[0] and "refused" in lines[0], \
                "%s: stderr %r" % (name, run.stderr)
            with open(st + ".refused", "rb") as f:
                assert f.read() == data, "%s: the refused file was not kept as it was" % name
            if name != "garbage":
                continue
            again = quick_run(ws, a)
            s2 = start_event(again)
            assert get(s2, "secretrace.state.refused") is None, "%s: %s" % (name, describe(s2))
            assert get(s2, "secretrace.state.gap_seconds") is not None, describe(s2)
        ws.leak_check([st, st + ".refused"])


@timeout(500)
def test_sigkill_mid_write_leaves_a_loadable_file():
    """1,000 secrets learned; then, again and again, a tracer is sent SIGTERM and, as soon
    as its exit's write of the state file has begun (PATH.tmp appears), SIGKILL: every next
    tracer loads the file whole (the old one or the new one, never a torn one)."""
    with Workspace() as ws:
        fields = {"k%04d" % i: rand_secret(16 + i % 40) for i in range(1000)}
        vault = ws.vault(seed={"kv": {"secret/many": fields}})
        args = state_args(ws)
        tok = vault.token_file()
        fetch = ("import json,sys,urllib.request as u;"
                 "r=u.Request(sys.argv[1]+'/v1/secret/data/many',headers={'X-Vault-Token':"
                 "open(sys.argv[2]).read().strip()});d=u.urlopen(r,timeout=20).read();"
                 "open(sys.argv[3],'w').close();import signal;signal.pause()")
        st = ws.path("state", "state")
        hits = 0
        for i in range(6):
            done = ws.path("fetched-%d" % i)
            t = ws.start_tracer(args + ["--", PY, "-c", fetch, vault.url, tok, done])
            wait_for(lambda: os.path.exists(done), 60, "the fetch", alive=t.proc)
            t.wait_event(lambda e: get(e, "event.action") == "secret.receive"
                         and get(e, "vault.field") == "k0999", 60, "the secrets learned")
            if os.path.exists(st + ".tmp"):
                os.unlink(st + ".tmp")
            t.proc.send_signal(signal.SIGTERM)
            if i:  # the first exit is clean: the file then holds the 1,000
                deadline = time.monotonic() + 30
                while not os.path.exists(st + ".tmp") and t.proc.poll() is None \
                        and time.monotonic() < deadline:
                    pass
                t.proc.send_signal(signal.SIGKILL)
            t.proc.wait(60)
            hits += os.path.exists(st + ".tmp")
            run = quick_run(ws, args)
            start = start_event(run)
            assert get(start, "secretrace.state.refused") is None, \
                "round %d: %s\n%s" % (i, describe(start), run.stderr)
            assert get(start, "secretrace.state.restored") >= 1000, "round %d: %s" % (i, describe(start))
        print("rounds killed in the middle of a write (PATH.tmp left): %d of 5" % hits)
        assert hits, "no SIGKILL landed while the state file was written"


@timeout(300)
def test_two_tracers_one_state_file():
    """A second tracer given the state file a running one holds refuses to start, naming
    the running one's PID; with another state file, or once the first has gone, it runs."""
    with Workspace() as ws:
        args = state_args(ws)
        ready = ws.path("ready")
        t = ws.start_tracer(args + ["--", PY, "-c",
                                    "import signal, sys; open(sys.argv[1], 'w').close(); signal.pause()",
                                    ready])
        wait_for(lambda: os.path.exists(ready), 60, "the first tracer's command", alive=t.proc)
        run = quick_run(ws, args, check=False)
        assert run.rc != 0, "the second tracer ran: %s" % run.stderr
        line = run.stderr.strip().splitlines()
        assert len(line) == 1 and "in use by another tracer (PID %d)" % t.proc.pid in line[0], \
            "stderr: %r" % run.stderr
        other = ["--state-file", ws.path("state2", "state")] + args[2:]
        side = quick_run(ws, other)
        assert side.rc == 0, side.stderr
        t.stop(signal.SIGTERM)
        after = quick_run(ws, args)
        assert after.rc == 0 and get(start_event(after), "secretrace.state.refused") is None, after.stderr


@timeout(60)
def test_state_file_usage_error():
    """--state-file '' or a directory's path ('/'-ended): one line naming the option, 125
    (the command does not run)."""
    with Workspace() as ws:
        marker = ws.path("ran")
        for bad in ("", ws.path("dir") + "/"):
            p = subprocess.run([SECRETRACE, "--state-file", bad, "--", "/usr/bin/touch", marker],
                               capture_output=True, text=True, timeout=30)
            lines = p.stderr.strip().splitlines()
            assert p.returncode == 125 and len(lines) == 1 and "--state-file" in lines[0], \
                "%r: exit %s, stderr %r" % (bad, p.returncode, p.stderr)
            assert not os.path.exists(marker)
