"""e2e agent (issue 14): httpx with h2 reads secret/data/agent/h2 (api_key, token, pin) from
an HTTP/2 Vault, then sends two requests on one HTTP/2 connection to RX_URL, each with
Authorization: Bearer <api_key> (h2 never indexes it: Huffman-coded both times), X-Token:
<token> and X-Pin: <pin> (a literal added to the table, then by table index) and X-Decoy
(secret-looking, random); between them, a POST of 300 KiB (DATA frames the kernel does not
copy once the session is known not to be Vault's: the table must still be followed).
usage: h2_httpx.py VAULT_URL CA_FILE CREDS_FILE RX_URL"""
import json
import secrets
import sys

import httpx

vault, ca, creds, rx = sys.argv[1:5]
with open(creds) as f:
    token = json.load(f)["root_token"]
with httpx.Client(http2=True, verify=ca) as c:
    r = c.get(vault + "/v1/secret/data/agent/h2", headers={"X-Vault-Token": token})
    r.raise_for_status()
    assert r.http_version == "HTTP/2", r.http_version
    kv = r.json()["data"]["data"]
headers = {"Authorization": "Bearer " + kv["api_key"], "X-Token": kv["token"],
           "X-Pin": kv["pin"],
           "X-Decoy": "sk-" + secrets.token_urlsafe(30)}
with httpx.Client(http2=True, verify=ca) as c:
    for path in ("/a", "/b"):
        r = c.get(rx + path, headers=headers)
        r.raise_for_status()
        assert r.http_version == "HTTP/2", r.http_version
        if path == "/a":
            r = c.post(rx + "/a", content=secrets.token_bytes(300 * 1024))
            assert r.http_version == "HTTP/2", r.http_version
