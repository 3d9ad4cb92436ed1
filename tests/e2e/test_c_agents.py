"""writev splits across iovecs, and the race between learning a secret and its use."""
import os

from harness import (PY, Workspace, agent, agent_bin, assert_no_learn_failures, assert_uses, get, is_pipe, wait_for,
                     rand_secret, the_receive, timeout, to_vault, use_spec)


@timeout(90)
def test_writev_split_iovecs():
    """A secret split across two iovecs of one writev is reported (syscall
    writev): once for a split in the middle, and for a split at every offset
    1..len-1 (first use reported, the len-2 later ones as one repeat count)."""
    with Workspace() as ws:
        vault = ws.vault()
        ra = ws.tcp_receiver()
        rb = ws.tcp_receiver()
        rc, events, err = ws.run_traced([agent_bin("writev_split"), vault.host, str(vault.port),
                                         vault.creds_path, "secret/data/agent/openai", "api_key",
                                         str(ra.port), str(rb.port)])
        assert rc == 0, "agent exit status %s; stderr: %s" % (rc, err)
        api = vault.issued_one("secret/data/agent/openai", "api_key")
        value = api["value"].encode()
        n = len(value)
        assert ra.data() == b"Authorization: Bearer " + value + b"\r\n", "receiver A got %r" % ra.data()
        rb.wait_bytes(n * (n - 1))
        assert rb.data() == value * (n - 1), "receiver B got the wrong bytes"
        assert_no_learn_failures(events)
        fp = get(the_receive(events, api, vault=vault), "secret.fingerprint")
        assert_uses(events, [
            use_spec(api, "socket", "writev", dest=("127.0.0.1", ra.port), transport="tcp",
                     process="writev_split", fingerprint=fp),
            use_spec(api, "socket", "writev", dest=("127.0.0.1", rb.port), transport="tcp",
                     process="writev_split", fingerprint=fp, _repeats=n - 2),
        ], allowed=[to_vault(vault)])


@timeout(90)
def test_fast_leaker_race():
    """Each secret is written (file, TCP socket, pipe to a child) by the very
    next syscall after the read() that completed the Vault response; all are
    reported with the right request_id (found by hold-and-rescan)."""
    with Workspace() as ws:
        seed = {"kv": {"secret/fast/%s" % k: {"a": rand_secret(30, "fa-%s-" % k),
                                              "b": rand_secret(30, "fb-%s-" % k)}
                       for k in ("file", "sock", "pipe")}}
        vault = ws.vault(seed=seed)
        rx = ws.tcp_receiver()
        d = ws.mkdir("agent", 0o700)
        out = os.path.realpath(os.path.join(d, "leak.txt"))
        rc, events, err = ws.run_traced([agent_bin("fast_leaker"), vault.host, str(vault.port),
                                         vault.creds_path, out, str(rx.port)])
        assert rc == 0, "agent exit status %s; stderr: %s" % (rc, err)
        recs = {(k, f): vault.issued_one("secret/data/fast/%s" % k, f)
                for k in ("file", "sock", "pipe") for f in ("a", "b")}
        assert len({r["request_id"] for r in recs.values()}) == 3
        with open(out, "rb") as f:
            assert f.read() == (recs["file", "a"]["value"] + recs["file", "b"]["value"]).encode()
        rx.wait_bytes(len(recs["sock", "a"]["value"]) + len(recs["sock", "b"]["value"]))
        assert_no_learn_failures(events)
        expected = []
        for (k, f), rec in sorted(recs.items()):
            fp = get(the_receive(events, rec, vault=vault), "secret.fingerprint")
            if k == "file":
                expected.append(use_spec(rec, "file", "write", file_path=out, process="fast_leaker",
                                         fingerprint=fp))
            elif k == "sock":
                expected.append(use_spec(rec, "socket", "sendto", dest=("127.0.0.1", rx.port),
                                         transport="tcp", process="fast_leaker", fingerprint=fp))
            else:
                expected.append(use_spec(rec, "pipe", "write", process="fast_leaker", fingerprint=fp,
                                         **{"file.path": is_pipe}))
        assert_uses(events, expected, allowed=[to_vault(vault)])


@timeout(120)
def test_fetch_then_send_once_each():
    """100 times: fetch a fresh secret over a keep-alive connection and send
    it at once in one UDP datagram. Each of the 100 sends is reported exactly
    once (no repeat count: each secret is sent once), with its own request_id."""
    n = 100
    with Workspace() as ws:
        seed = {"kv": {"secret/loop/%d" % i: {"api_key": rand_secret(32, "sk-loop%d-" % i)} for i in range(n)}}
        vault = ws.vault(seed=seed)
        udp = ws.udp_receiver()
        rc, events, err = ws.run_traced([PY, agent("py_fetch_send_loop.py"), vault.host, str(vault.port),
                                         vault.creds_path, str(udp.port), str(n)])
        assert rc == 0, "agent exit status %s; stderr: %s" % (rc, err)
        recs = [vault.issued_one("secret/data/loop/%d" % i, "api_key") for i in range(n)]
        wait_for(lambda: len(udp.received()) == n, 10, "%d datagrams" % n)
        assert_no_learn_failures(events)
        assert_uses(events, [
            use_spec(r, "socket", "sendto", dest=("127.0.0.1", udp.port), transport="udp", process="python3",
                     fingerprint=get(the_receive(events, r, vault=vault), "secret.fingerprint"))
            for r in recs], allowed=[to_vault(vault)])
