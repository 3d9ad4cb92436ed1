#!/usr/bin/python3
"""e2e helper agent: read a Vault KV v2 response (JSON) on stdin and send
data.data[FIELD] to 127.0.0.1:PORT over TCP.
usage: ... | send_field.py PORT FIELD"""
import json
import socket
import sys

port, field = int(sys.argv[1]), sys.argv[2]
value = json.load(sys.stdin)["data"]["data"][field]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(("%s=%s\n" % (field, value)).encode())
s.close()
