#!/usr/bin/python3
"""e2e agent: reads secret/data/exec (token, key) and starts programs with them: token on
a command line (argv), key in the environment (env).
usage: py_exec_leak.py VAULT_URL CREDS"""
import json
import subprocess
import sys
import urllib.request

vault, creds = sys.argv[1], sys.argv[2]
with open(creds) as f:
    root = json.load(f)["root_token"]
req = urllib.request.Request(vault + "/v1/secret/data/exec", headers={"X-Vault-Token": root})
with urllib.request.urlopen(req, timeout=10) as r:
    d = json.load(r)["data"]["data"]
subprocess.run(["/bin/true", "--token=" + d["token"]], check=True)
subprocess.run(["/bin/true"], env={"PATH": "/usr/bin:/bin", "API_KEY": d["key"]}, check=True)
