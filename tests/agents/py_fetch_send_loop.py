#!/usr/bin/python3
"""e2e agent: N times, fetch secret/data/loop/I over one keep-alive HTTP
connection (http.client) and send its api_key in one UDP datagram right away.
usage: py_fetch_send_loop.py VAULT_HOST VAULT_PORT CREDS_FILE UDP_PORT N"""
import http.client
import json
import socket
import sys

host, port, creds, uport, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
with open(creds) as f:
    token = json.load(f)["root_token"]
conn = http.client.HTTPConnection(host, port, timeout=10)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    conn.request("GET", "/v1/secret/data/loop/%d" % i, headers={"X-Vault-Token": token})
    value = json.loads(conn.getresponse().read())["data"]["data"]["api_key"]
    u.sendto(value.encode(), ("127.0.0.1", uport))
