#!/usr/bin/python3
"""make fpbench: false positives. With 1,000 secrets learned (8 to 64 bytes, all their
encoded forms indexed), a traced agent (tests/agents/py_benign.py) pushes GIB GiB of benign
traffic (English-like text, binary, random bytes, near misses of every secret) through
write(2) to /dev/null and send(2) to a local TCP sink. Prints the secret.use count (the
target is zero) and the volume; writes build/fpbench.json.

usage: fp.py [GIB]   (default 1)
"""
import json
import os
import secrets
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRACER = os.path.join(TOP, "build", "secretrace")
ALPHA = string.ascii_letters + string.digits + "-_+/="


def discard_server():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def serve():
        while True:
            c, _ = srv.accept()
            threading.Thread(target=lambda: [None for _ in iter(lambda: c.recv(1 << 20), b"")],
                             daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def main():
    gib = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    mib = int(gib * 1024)
    with tempfile.TemporaryDirectory(prefix="secretrace-fp.") as work:
        fields = {"k%04d" % i: "".join(secrets.choice(ALPHA) for _ in range(8 + i % 57))
                  for i in range(1000)}
        with open(os.path.join(work, "seed.json"), "w") as f:
            json.dump({"kv": {"secret/fp": fields}}, f)
        ready = os.path.join(work, "ready")
        vault = subprocess.Popen(["/usr/bin/python3", os.path.join(TOP, "tests", "vault_standin.py"),
                                  "--listen", "127.0.0.1:0", "--ready-file", ready,
                                  "--audit-log", os.path.join(work, "audit.log"),
                                  "--seed-file", os.path.join(work, "seed.json")])
        try:
            deadline = time.time() + 20
            while not os.path.exists(ready) and time.time() < deadline:
                time.sleep(0.02)
            url = open(ready).read().split()[0]
            port = discard_server()
            events = os.path.join(work, "events.json")
            t0 = time.time()
            subprocess.run([TRACER, "-o", "file:" + events, "--", "/usr/bin/python3",
                            os.path.join(TOP, "tests", "agents", "py_benign.py"), url,
                            ready + ".creds.json", str(port), "/dev/null", str(mib), events],
                           check=True, stdout=subprocess.DEVNULL)
            elapsed = time.time() - t0
        finally:
            vault.terminate()
            vault.wait()
        evs = [json.loads(l) for l in open(events)]
    uses = [e for e in evs if e["event"]["action"] == "secret.use" and
            (e.get("destination", {}).get("port") == port or
             e.get("file", {}).get("path") == "/dev/null")]
    learned = sum(1 for e in evs if e["event"]["action"] == "secret.receive"
                  and e.get("secret", {}).get("source") == "response")
    stats = evs[-1]["secretrace"]["stats"]
    report = {"secrets_learned": learned, "bytes_written": mib << 20,
              "bytes_scanned": stats["bytes_scanned"], "false_positives": len(uses),
              "candidates": stats["candidates"], "confirms": stats["confirms"],
              "seconds": round(elapsed, 1)}
    with open(os.path.join(TOP, "build", "fpbench.json"), "w") as f:
        json.dump(report, f, indent=1)
    print("false positives: %d secret.use events for %.2f GiB of benign traffic (%d secrets "
          "learned, %.2f GiB scanned, %d prefilter candidates, %d confirmations, %.0f s)" % (
              len(uses), (mib << 20) / 2**30, learned, stats["bytes_scanned"] / 2**30,
              stats["candidates"], stats["confirms"], elapsed))
    for e in uses[:5]:
        print("  e.g. %s %s via %s" % (e["vault"]["field"], e["secret"]["encoding"],
                                      e["secretrace"]["syscall"]))
    sys.exit(1 if uses else 0)


if __name__ == "__main__":
    main()
