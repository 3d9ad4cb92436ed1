#!/usr/bin/python3
"""e2e agent (negative test): learn secrets, then send 5 MB of random bytes to
a TCP server and write 5 MB of random text to a file. No secret leaves.
usage: py_noise.py VAULT_URL CREDS_FILE PORT OUTFILE"""
import base64
import json
import os
import socket
import sys
import urllib.request

vault, creds, port, outfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(creds) as f:
    token = json.load(f)["root_token"]
for path in ("secret/data/agent/openai", "secret/data/agent/github", "database/creds/readonly"):
    req = urllib.request.Request(vault + "/v1/" + path, headers={"X-Vault-Token": token})
    with urllib.request.urlopen(req, timeout=10) as resp:
        json.loads(resp.read())
TOTAL, CHUNK = 5 * 1024 * 1024, 32 * 1024       # chunks below the default scan limit
s = socket.create_connection(("127.0.0.1", port), timeout=30)
for _ in range(TOTAL // CHUNK):
    s.sendall(os.urandom(CHUNK))
s.close()
with open(outfile, "w") as f:
    for _ in range(TOTAL // CHUNK):
        f.write(base64.b64encode(os.urandom(CHUNK * 3 // 4)).decode())
        f.flush()
