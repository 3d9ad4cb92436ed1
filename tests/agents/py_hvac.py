#!/usr/bin/python3
"""e2e agent: hvac AppRole login (role_id/secret_id from the creds file), read
a KV v2 secret with the new token, send api_key by UDP to an IPv4 receiver
and org by UDP to an IPv6 (::1) receiver, with unconnected sockets.
usage: py_hvac.py VAULT_URL CREDS_FILE UDP4_PORT UDP6_PORT [--lookup-self]
  --lookup-self: also call client.is_authenticated() (auth/token/lookup-self)
                 after the login, as many hvac programs do"""
import json
import socket
import sys

import hvac

vault, creds, p4, p6 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lookup_self = "--lookup-self" in sys.argv[5:]
with open(creds) as f:
    c = json.load(f)
client = hvac.Client(url=vault)
client.auth.approle.login(role_id=c["role_id"], secret_id=c["secret_id"])
if lookup_self:
    assert client.is_authenticated()
resp = client.secrets.kv.v2.read_secret_version(path="agent/openai", mount_point="secret")
data = resp["data"]["data"]
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s4.sendto(data["api_key"].encode(), ("127.0.0.1", p4))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.sendto(data["org"].encode(), ("::1", p6))
