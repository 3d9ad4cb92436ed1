#!/usr/bin/python3
"""e2e agent: an application whose secrets are files in its pod's volumes. Waits for GO,
then for each FILE reads it and sends its content (less the final newline) to
127.0.0.1:PORT, one connection per file, and creates SENT.
usage: py_files_leak.py PORT GO SENT FILE..."""
import os
import socket
import sys
import time

port, go, sent, files = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
deadline = time.monotonic() + 120
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.02)
for path in files:
    with open(path) as f:
        value = f.read().rstrip("\n")
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("%s\n" % value).encode())
    s.close()
open(sent, "w").close()
