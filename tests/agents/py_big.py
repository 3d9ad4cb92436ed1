#!/usr/bin/python3
"""e2e agent: reads secret/data/big (near, far) and writes two 4 MiB buffers, one call
each: `near` 10 bytes in (scanned), `far` 3 MiB in (past the scan limit: counted as not
scanned, not found).
usage: py_big.py VAULT_URL CREDS OUT"""
import json
import os
import sys
import urllib.request

vault, creds, out = sys.argv[1:4]
with open(creds) as f:
    root = json.load(f)["root_token"]
req = urllib.request.Request(vault + "/v1/secret/data/big", headers={"X-Vault-Token": root})
with urllib.request.urlopen(req, timeout=10) as r:
    d = json.load(r)["data"]["data"]
size = 4 << 20
for name, value, at in (("near.bin", d["near"], 10), ("far.bin", d["far"], 3 << 20)):
    buf = bytearray(b"." * size)
    buf[at:at + len(value)] = value.encode()
    fd = os.open(os.path.join(out, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    assert os.write(fd, buf) == size
    os.close(fd)
