"""--state-file: what one tracer learned, the next one knows (docs/hardening.md, "Restarts")."""
import json
import os
import random
import signal
import stat
import time

from harness import (PY, Workspace, actions, agent, describe, describe_all, get, rand_secret,
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
        ws.leak_check([st])
