#!/usr/bin/python3
"""e2e agent for the bounded-loop object (4096 bytes of a call scanned): reads
secret/data/bounded (near, far, split) and writes `near` 100 bytes into a 6000-byte buffer
(scanned), `far` 290,000 bytes into a 300,000-byte one (past the limit, and past what a write
held for a rescan keeps: counted, not found), then sends `split` over TCP with one sendmsg
of three iovecs, cut across the first two.
usage: py_bounded.py VAULT_URL CREDS OUT PORT"""
import json
import os
import socket
import sys
import urllib.request

vault, creds, out, port = sys.argv[1:5]
with open(creds) as f:
    root = json.load(f)["root_token"]
req = urllib.request.Request(vault + "/v1/secret/data/bounded", headers={"X-Vault-Token": root})
with urllib.request.urlopen(req, timeout=10) as r:
    d = json.load(r)["data"]["data"]
for name, value, at, size in (("near.bin", d["near"], 100, 6000),
                              ("far.bin", d["far"], 290000, 300000)):
    buf = bytearray(b"." * size)
    buf[at:at + len(value)] = value.encode()
    fd = os.open(os.path.join(out, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    assert os.write(fd, buf) == len(buf)
    os.close(fd)
v = d["split"].encode()
with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as s:
    parts = [b"key=" + v[:7], v[7:], b"\n"]
    assert s.sendmsg(parts) == sum(map(len, parts))
