"""Attaching to a running process (-p) and running the command as a user (-u)."""
import errno
import json
import os
import signal

from harness import (PY, Workspace, actions, agent, assert_no_learn_failures, assert_uses,
                     check_common, describe_all, get, the_receive, timeout, to_vault, use_spec,
                     wait_for)


def open_fifo_writer(path):
    try:
        return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ENXIO:       # no reader yet
            return None
        raise


@timeout(90)
def test_attach_pid():
    """-p PID: attach to an untraced agent that waits on a fifo; once
    tracer.start is written, let it fetch and leak a secret; the use is
    reported; SIGTERM makes the tracer exit 0 with tracer.stop last."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver()
        tok = vault.token_file()
        fifo = ws.path("go")
        os.mkfifo(fifo, 0o600)
        log = open(ws.path("agent.log"), "wb")
        ws.closers.append(log.close)
        ag = ws.spawn([PY, agent("py_kv_leak.py"), vault.url, tok, str(rx.port), "--go-fifo", fifo,
                       "--linger", "60"], stdout=log, stderr=log)
        fd = wait_for(lambda: open_fifo_writer(fifo), 20, "the agent to open its fifo", alive=ag)
        tr = ws.start_tracer(["-p", str(ag.pid)])
        tr.wait_event(lambda e: get(e, "event.action") == "tracer.start", 30, "tracer.start")
        os.write(fd, b"go\n")
        os.close(fd)
        api = wait_for(lambda: [r for r in vault.issued() if r["field"] == "api_key"], 20,
                       "the agent's fetch")[0]
        rx.wait_bytes(len("key=%s\n" % api["value"]))
        # the receiver has the bytes before the agent's sendto returns, and a call still in
        # the kernel when the tracer stops is after its end: stop once the use is out
        tr.wait_event(lambda e: get(e, "event.action") == "secret.use" and
                      get(e, "process.pid") == ag.pid, 20, "the agent's use")
        assert ag.poll() is None, "the agent exited early (%s)" % ag.returncode
        run = tr.stop(signal.SIGTERM)
        assert run.rc == 0, "secretrace exit %s after SIGTERM; stderr %s" % (run.rc, run.stderr)
        check_common(run.events)
        events = run.events
        targets = get(events[0], "secretrace.target")
        assert_no_learn_failures(events)
        fp = get(the_receive(events, api, vault=vault), "secret.fingerprint")
        assert_uses(events, [
            use_spec(api, "socket", "sendto", dest=("127.0.0.1", rx.port), transport="tcp",
                     process="python3", fingerprint=fp, **{"process.pid": ag.pid}),
        ], allowed=[to_vault(vault)])
        assert str(ag.pid) in json.dumps(targets), \
            "tracer.start does not name the target pid %d: %s" % (ag.pid, targets)


@timeout(90)
def test_run_as_user_nobody():
    """-u nobody: the command runs as uid 65534 (process.start user.id) and
    its uses are still reported."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver()
        tok = vault.token_file(mode=0o644)
        run = ws.run_traced([PY, agent("py_kv_leak.py"), vault.url, tok, str(rx.port)],
                            tracer_args=["-u", "nobody"])
        assert run.rc == 0, "agent exit status %s; stderr: %s" % (run.rc, run.stderr)
        events = run.events
        api = vault.issued_one("secret/data/agent/openai", "api_key")
        rx.wait_bytes(len("key=%s\n" % api["value"]))
        starts = [e for e in actions(events, "process.start") if get(e, "process.parent.pid") == run.pid]
        assert len(starts) == 1, "no single process.start of the command:%s" % describe_all(
            actions(events, "process.start"))
        assert get(starts[0], "user.id") == "65534", "process.start user.id %r" % get(starts[0], "user.id")
        for e in events:
            if get(e, "process.pid") is not None:
                assert get(e, "user.id") == "65534", "event by uid %r:%s" % (get(e, "user.id"), describe_all([e]))
        assert_no_learn_failures(events)
        fp = get(the_receive(events, api, vault=vault), "secret.fingerprint")
        assert_uses(events, [
            use_spec(api, "socket", "sendto", dest=("127.0.0.1", rx.port), transport="tcp",
                     process="python3", fingerprint=fp, **{"user.id": "65534"}),
        ], allowed=[to_vault(vault)])
