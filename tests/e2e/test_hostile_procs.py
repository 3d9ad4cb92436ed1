"""A hostile traced agent attacks the tracer with its processes and descriptors: fork storms
(tests/agents/fork_storm.c), descriptors closed, duplicated over and reused at full speed,
a process killed in the middle of reading a Vault response (tests/agents/py_hostile_procs.py).
Each time a real leak written during the attack is still reported, and what the tracer
dropped is counted."""
from harness import PY, Workspace, actions, agent, agent_bin, get, timeout
from test_hostile import assert_real_leak_found


def losses(run):
    return {get(e, "secretrace.lost.reason"): get(e, "secretrace.lost.count")
            for e in actions(run.events, "tracer.loss")}


def storm_then_leak(ws, mode, children, parallel, during):
    """fork_storm MODE, and the real agent (py_kv_leak.py) fetching and sending its secret:
    after the storm, or (during) once a quarter of it has run, while it goes on."""
    vault = ws.vault()
    rx = ws.tcp_receiver()
    storm = "%s %s %d %d" % (agent_bin("fork_storm"), mode, children, parallel)
    leak = "%s %s %s %s %d" % (PY, agent("py_kv_leak.py"), vault.url, vault.token_file(), rx.port)
    if during:
        started = ws.path("started")
        cmd = "%s %s > /dev/null & storm=$!; %s --send-after %s && wait $storm" % (
            storm, started, leak, started)
    else:
        cmd = "%s > /dev/null && %s" % (storm, leak)
    run = ws.run_traced(["/bin/sh", "-c", cmd], timeout=240)
    assert run.rc == 0, "exit %s; stderr: %s" % (run.rc, run.stderr[-2000:])
    return run, vault, rx


@timeout(300)
def test_fork_storm_requests_leave_nothing_behind():
    """20,000 children each write a Vault-looking request on a socket and exit without
    closing it (the kernel closes it: no close(2) is seen). Each such socket was a Vault
    connection to the tracer; the real agent that runs next must still have its Vault
    connection followed, its secret learned and its leak found."""
    with Workspace() as ws:
        run, vault, rx = storm_then_leak(ws, "request", 20000, 8, False)
        assert_real_leak_found(run, vault, rx)


@timeout(300)
def test_fork_storm_exec_during_leak():
    """5,000 children exec /bin/true with a 12 KiB environment, 8 at a time (each a big
    exec record), while the real agent fetches and sends its secret: the leak is found;
    process records lost to a full ring are counted, uses are not lost."""
    with Workspace() as ws:
        run, vault, rx = storm_then_leak(ws, "exec", 5000, 8, True)
        print("lost:", losses(run))
        assert "ringbuf_full_match" not in losses(run), losses(run)
        assert_real_leak_found(run, vault, rx)
