#!/usr/bin/python3
"""e2e agent (issue 3): hvac over HTTPS (verify=CA). AppRole login (role_id and
secret_id from the creds file), then with the new token a KV v2 read of
secret/data/agent/tls (api_key, token) and database/creds/readonly (username, password);
then
  api_key            -> HTTPS receiver, "Authorization: Bearer" (requests, verify=CA)
  token              -> plain TCP receiver, one send of "X-Api-Token: ...\\n"
  username:password  -> HTTPS receiver, HTTP Basic auth (requests auth=(user, pw))
Nothing is written anywhere else; no secret is in an argv.
usage: tls_hvac.py VAULT_URL CA_FILE CREDS_FILE RX_TLS_PORT RX_TCP_PORT"""
import json
import socket
import sys

import hvac
import requests

vault, ca, creds, rxs, rxp = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
with open(creds) as f:
    c = json.load(f)
client = hvac.Client(url=vault, verify=ca)
client.auth.approle.login(role_id=c["role_id"], secret_id=c["secret_id"])
kv = client.secrets.kv.v2.read_secret_version(path="agent/tls", mount_point="secret")["data"]["data"]
db = client.secrets.database.generate_credentials(name="readonly", mount_point="database")["data"]

with requests.Session() as s:
    r = s.get("https://127.0.0.1:%d/chat" % rxs, verify=ca,
              headers={"Authorization": "Bearer " + kv["api_key"]}, timeout=10)
    assert r.status_code == 204, r.status_code
t = socket.create_connection(("127.0.0.1", rxp), timeout=10)
t.sendall(("X-Api-Token: %s\n" % kv["token"]).encode())
t.close()
with requests.Session() as s:
    r = s.get("https://127.0.0.1:%d/login" % rxs, verify=ca,
              auth=(db["username"], db["password"]), timeout=10)
    assert r.status_code == 204, r.status_code
