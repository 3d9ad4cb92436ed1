"""No false positives: megabytes of random data after secrets were learned."""
import os

from harness import (PY, Workspace, actions, agent, assert_uses, get, timeout, to_vault)

MB5 = 5 * 1024 * 1024


@timeout(180)
def test_random_bytes_no_uses():
    """After learning secrets, 5 MB of os.urandom to a TCP server and 5 MB of
    random text to a file yield no secret.use, and the bytes are accounted for
    in secretrace.stats (scanned or counted as not scanned)."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver()
        d = ws.mkdir("agent", 0o700)
        out = os.path.realpath(os.path.join(d, "noise.txt"))
        rc, events, err = ws.run_traced([PY, agent("py_noise.py"), vault.url, vault.creds_path,
                                         str(rx.port), out], timeout=150)
        assert rc == 0, "agent exit status %s; stderr: %s" % (rc, err)
        rx.wait_bytes(MB5)
        assert len(rx.data()) == MB5
        assert os.path.getsize(out) == MB5
        learned = actions(events, "secret.receive")
        assert len([e for e in learned if get(e, "secret.source") == "response"]) >= 5, \
            "expected the agent's secrets to be learned first (%d receives)" % len(learned)
        sinks = [e for e in actions(events, "secret.use")
                 if get(e, "destination.port") == rx.port or get(e, "file.path") == out]
        assert not sinks, "secret.use reported for random data: %s" % sinks[:5]
        assert_uses(events, [], allowed=[to_vault(vault)])
        stats = get(events[-1], "secretrace.stats")
        seen = stats["bytes_scanned"] + stats["bytes_not_scanned"]
        assert seen >= 2 * MB5, "stats account for only %d of the %d bytes written: %s" % (seen, 2 * MB5, stats)
