#!/usr/bin/python3
"""e2e agent: reads secret/data/split (a, b, c) and hands each to split_writer through
its stdin, which writes it in pieces: a one byte per write to OUT/bytes.txt, b three bytes
per send to TCP PORT, c through stdio so that a flush cuts it (OUT/stdio.txt).
usage: py_split.py VAULT_URL CREDS SPLIT_WRITER PORT OUT"""
import json
import subprocess
import sys
import urllib.request

vault, creds, writer, port, out = sys.argv[1:6]
with open(creds) as f:
    token = json.load(f)["root_token"]
req = urllib.request.Request(vault + "/v1/secret/data/split", headers={"X-Vault-Token": token})
with urllib.request.urlopen(req, timeout=10) as r:
    d = json.load(r)["data"]["data"]
for field, args in (("a", ["bytes", out + "/bytes.txt"]), ("b", ["threes", port]),
                    ("c", ["stdio", out + "/stdio.txt"])):
    subprocess.run([writer] + args, input=d[field].encode(), check=True)
