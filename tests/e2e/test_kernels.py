"""Kernels without bpf_loop (before 5.17): the bounded-loop object, forced on this kernel
with SECRETRACE_FORCE_BOUNDED_LOOPS (docs/kernels.md), loads, says what is degraded, finds
leaks, and counts the bytes past its smaller per-call scan limit."""
import os

from harness import (PY, Workspace, actions, agent, assert_uses, get, rand_secret, the_receive,
                     timeout, to_vault, use_spec)

BOUNDED_SCAN_LIMIT = 4096	# ST_BOUNDED_SCAN_LIMIT, include/secretrace.h


@timeout(120)
def test_bounded_loops_forced():
    """Forced fallback: tracer.start names bounded_loops in secretrace.degraded with the scan
    limit capped, stderr says so; a secret 100 bytes into a 6000-byte write is found, one
    290,000 bytes into a 300,000-byte write is not and the bytes past the limit are counted;
    a secret cut across two iovecs of a sendmsg is found."""
    with Workspace() as ws:
        seed = {"kv": {"secret/bounded": {"near": rand_secret(24, "near-"),
                                          "far": rand_secret(24, "far-"),
                                          "split": rand_secret(24, "split-")}}}
        vault = ws.vault(seed=seed)
        rx = ws.tcp_receiver()
        out = os.path.realpath(ws.mkdir("agent", 0o700))
        rc, events, err = ws.run_traced(
            [PY, agent("py_bounded.py"), vault.url, vault.creds_path, out, str(rx.port)],
            timeout=90, env=ws.env(SECRETRACE_FORCE_BOUNDED_LOOPS=1))
        assert rc == 0, "agent exit status %s; stderr: %s" % (rc, err)
        start = actions(events, "tracer.start")[0]
        assert "bounded_loops" in (get(start, "secretrace.degraded") or []), start
        assert get(start, "secretrace.config.scan_limit") == BOUNDED_SCAN_LIMIT, start
        assert "bounded loops" in err, "stderr does not say the programs are degraded: %s" % err

        def spec(field, sink, syscall, **kw):
            rec = vault.issued_one("secret/data/bounded", field)
            fp = get(the_receive(events, rec, vault=vault), "secret.fingerprint")
            return use_spec(rec, sink, syscall, fingerprint=fp, process="python3", **kw)
        assert_uses(events, [
            spec("near", "file", "write", file_path=out + "/near.bin"),
            spec("split", "socket", "sendmsg", dest=("127.0.0.1", rx.port), transport="tcp"),
        ], allowed=[to_vault(vault)])
        stats = get(events[-1], "secretrace.stats")
        assert stats["bytes_not_scanned"] >= 6000 + 300000 - 2 * BOUNDED_SCAN_LIMIT, \
            "the bytes past the bounded-loop limit are not counted: %s" % stats
