#!/usr/bin/python3
"""e2e agent: reads secret/data/sinks (p, t, u) and writes p into a pipe read by a child
`cat` (sink pipe, the reader named), t to a pseudo-terminal (sink tty), u over a connected
unix socket to the server at UNIX_PATH. cat is kept reading until the tracer's EVENTS file
shows the pipe use (the tracer names the reader from /proc, so it must still be there).
usage: py_sinks_more.py VAULT_URL CREDS UNIX_PATH EVENTS"""
import json
import os
import pty
import socket
import subprocess
import sys
import time
import urllib.request

vault, creds, upath, events = sys.argv[1:5]
with open(creds) as f:
    root = json.load(f)["root_token"]
req = urllib.request.Request(vault + "/v1/secret/data/sinks", headers={"X-Vault-Token": root})
with urllib.request.urlopen(req, timeout=10) as r:
    d = json.load(r)["data"]["data"]
cat = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
os.write(cat.stdin.fileno(), d["p"].encode())
deadline = time.time() + 20
while '"sink":"pipe"' not in open(events).read() and time.time() < deadline:
    time.sleep(0.02)
cat.stdin.close()
cat.wait()
master, slave = pty.openpty()
os.write(slave, d["t"].encode() + b"\r\n")
os.read(master, 4096)
u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
u.connect(upath)
u.sendall(d["u"].encode())
u.close()
