"""The other hooked calls and sinks: pwrite64, sendmsg, sendmmsg, a unix
socket, and the environment of an execve; calls whose bytes cannot be scanned."""
import os

from harness import (Workspace, agent_bin, assert_no_learn_failures, assert_uses, get, rand_secret,
                     the_receive, timeout, to_vault, use_spec)


@timeout(90)
def test_other_syscalls_and_sinks():
    """Each field of one KV secret leaves through a different call: pwrite64
    to a file, sendmsg (split iovecs) to TCP, sendmmsg to UDP, write to a
    unix socket, execve env; each is reported once with its sink."""
    with Workspace() as ws:
        fields = ("pw", "sm", "smm", "ux", "env")
        vault = ws.vault(seed={"kv": {"secret/agent/sinks": {f: rand_secret(32, f + "-") for f in fields}}})
        tcp = ws.tcp_receiver()
        udp = ws.udp_receiver()
        d = ws.mkdir("agent", 0o700)
        upath = os.path.join(d, "rx.sock")
        ux = ws.tcp_receiver(upath)
        out = os.path.realpath(os.path.join(d, "out.bin"))
        rc, events, err = ws.run_traced([agent_bin("sinks"), vault.host, str(vault.port),
                                         vault.creds_path, "secret/data/agent/sinks", out,
                                         str(tcp.port), str(udp.port), upath])
        assert rc == 0, "agent exit status %s; stderr: %s" % (rc, err)
        rec = {f: vault.issued_one("secret/data/agent/sinks", f) for f in fields}
        with open(out, "rb") as f:
            assert f.read()[4096:] == rec["pw"]["value"].encode()
        tcp.wait_bytes(len(rec["sm"]["value"]))
        ux.wait_bytes(len(rec["ux"]["value"]))
        assert udp.received() == [b"hello", rec["smm"]["value"].encode()], udp.received()
        assert_no_learn_failures(events)
        fp = {f: get(the_receive(events, rec[f], vault=vault), "secret.fingerprint") for f in fields}
        assert_uses(events, [
            use_spec(rec["pw"], "file", "pwrite64", file_path=out, process="sinks", fingerprint=fp["pw"]),
            use_spec(rec["sm"], "socket", "sendmsg", dest=("127.0.0.1", tcp.port), transport="tcp",
                     process="sinks", fingerprint=fp["sm"]),
            use_spec(rec["smm"], "socket", "sendmmsg", dest=("127.0.0.1", udp.port), transport="udp",
                     process="sinks", fingerprint=fp["smm"]),
            use_spec(rec["ux"], "socket", "write", transport="unix", process="sinks",
                     fingerprint=fp["ux"], **{"destination.address": upath}),
            use_spec(rec["env"], "env", "execve", fingerprint=fp["env"]),
        ], allowed=[to_vault(vault)])


UNSCANNED_AGENT = r"""
import os, socket, sys
a, b = socket.socketpair()
src = os.open(sys.argv[1], os.O_RDONLY)
sent = os.sendfile(a.fileno(), src, 0, 50000)
r, w = os.pipe()
os.write(w, b"x" * 1000)
null = os.open("/dev/null", os.O_WRONLY)
spliced = os.splice(r, null, 1000)
print(a.fileno(), sent, null, spliced)
"""


@timeout(60)
def test_unscanned_calls_are_counted():
    """sendfile and splice move bytes no hook can read: each call is a
    tracer.unscanned event naming the syscall, the destination fd and the
    bytes, counted in calls_not_scanned and bytes_not_scanned."""
    with Workspace() as ws:
        src = os.path.join(ws.root, "payload.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(100000))
        run = ws.run_traced(["/usr/bin/python3", "-c", UNSCANNED_AGENT, src])
        rc, events, err = run
        assert rc == 0, "agent exit status %s; stderr: %s" % (rc, err)
        sock_fd, sent, null_fd, spliced = map(int, run.stdout().split())
        assert (sent, spliced) == (50000, 1000), (sent, spliced)
        got = sorted((get(e, "secretrace.syscall"), get(e, "secretrace.fd"), get(e, "secretrace.bytes"))
                     for e in events if get(e, "event.action") == "tracer.unscanned")
        assert got == sorted([("sendfile", sock_fd, 50000), ("splice", null_fd, 1000)]), got
        stats = get(events[-1], "secretrace.stats")
        assert stats["calls_not_scanned"] == 2, stats
        assert stats["bytes_not_scanned"] >= 51000, stats
        assert "splice" in err and "sendfile" in err, err
