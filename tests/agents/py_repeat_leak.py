#!/usr/bin/python3
"""e2e agent for repeated violations: reads secret/data/agent/openai, then writes its
api_key to FILE 20 times ("n=I key=KEY\n", each its own write), and once more through a
second descriptor of the same file.
usage: py_repeat_leak.py VAULT_URL CREDS FILE"""
import json
import os
import sys
import urllib.request

vault, creds, path = sys.argv[1], sys.argv[2], sys.argv[3]
with open(creds) as f:
    token = json.load(f)["root_token"]
req = urllib.request.Request(vault + "/v1/secret/data/agent/openai",
                             headers={"X-Vault-Token": token})
with urllib.request.urlopen(req, timeout=10) as r:
    key = json.load(r)["data"]["data"]["api_key"]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
for i in range(20):
    os.write(fd, ("n=%d key=%s\n" % (i, key)).encode())
again = os.open(path, os.O_WRONLY | os.O_APPEND)
os.write(again, ("last key=%s\n" % key).encode())
print(fd, again)
