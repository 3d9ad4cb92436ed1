#!/usr/bin/python3
"""e2e agent: fetch a dynamic database credential with urllib, write the
password into a log file, send username:password to a local TCP server.
usage: py_dbcreds.py VAULT_URL CREDS_FILE PORT LOGFILE"""
import json
import socket
import sys
import urllib.request

vault, creds, port, logfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(creds) as f:
    token = json.load(f)["root_token"]
req = urllib.request.Request(vault + "/v1/database/creds/readonly",
                             headers={"X-Vault-Token": token})
with urllib.request.urlopen(req, timeout=10) as resp:
    body = json.loads(resp.read())
user, pw = body["data"]["username"], body["data"]["password"]
with open(logfile, "a") as f:
    f.write("database password rotated: %s\n" % pw)
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(("%s:%s\n" % (user, pw)).encode())
s.close()
