#!/usr/bin/python3
"""e2e agent: a Vault Agent-like sidecar. Logs in with AppRole, reads a KV v2 secret and
renders it into OUT_DIR as Vault Agent templates do: app.env (export KEY="value" lines) and
app.json (the data as a JSON object), each written to a temporary file in the same directory
and renamed over the target (consul-template's atomic write).
usage: py_vault_sidecar.py VAULT_URL CREDS_FILE OUT_DIR [--path P]"""
import argparse
import json
import os
import tempfile
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("vault")
ap.add_argument("creds")
ap.add_argument("out_dir")
ap.add_argument("--path", default="secret/data/agent/app")
a = ap.parse_args()
with open(a.creds) as f:
    creds = json.load(f)


def call(path, token=None, body=None):
    headers = {"X-Vault-Token": token} if token else {}
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(a.vault + "/v1/" + path, data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def render(name, text):
    fd, tmp = tempfile.mkstemp(dir=a.out_dir, prefix="")  # consul-template: a bare random name
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, os.path.join(a.out_dir, name))


token = call("auth/approle/login", body={"role_id": creds["role_id"],
                                         "secret_id": creds["secret_id"]})["auth"]["client_token"]
data = call(a.path, token)["data"]["data"]
render("app.env", "".join('export %s="%s"\n' % (k.upper(), v) for k, v in sorted(data.items())))
render("app.json", json.dumps(data) + "\n")
