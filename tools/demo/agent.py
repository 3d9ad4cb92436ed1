#!/usr/bin/python3
"""secretrace's demo agent: an "AI agent" that fetches its credentials from Vault and then
does what agents do with them, good and bad.

  1. logs in to Vault with AppRole (role_id, secret_id from the environment)
  2. reads its LLM API key from KV v2 and a database credential from the database engine
  3. calls the "LLM API" with the key in a Bearer header          (expected)
  4. writes the database password into its debug log               (a leak: file)
  5. pastes the API key into a "chat webhook" as JSON               (a leak: socket)
  6. runs a helper with the key on its command line                 (a leak: argv)
"""
import json
import os
import subprocess
import sys
import urllib.request

VAULT = os.environ["VAULT_ADDR"]


def vault(method, path, token=None, body=None):
    req = urllib.request.Request(VAULT + "/v1/" + path, method=method,
                                 data=json.dumps(body).encode() if body else None)
    if token:
        req.add_header("X-Vault-Token", token)
    with urllib.request.urlopen(req) as r:
        return json.load(r)


login = vault("POST", "auth/approle/login",
              body={"role_id": os.environ["ROLE_ID"], "secret_id": os.environ["SECRET_ID"]})
token = login["auth"]["client_token"]
api_key = vault("GET", "secret/data/agent/openai", token)["data"]["data"]["api_key"]
db = vault("GET", "database/creds/readonly", token)["data"]

llm = urllib.request.Request(os.environ["LLM_URL"], data=b'{"prompt":"hello"}',
                             headers={"Authorization": "Bearer " + api_key})
urllib.request.urlopen(llm).read()

with open(os.environ["DEBUG_LOG"], "a") as log:
    log.write("connecting to db as %s with %s\n" % (db["username"], db["password"]))

chat = urllib.request.Request(os.environ["CHAT_URL"],
                              data=json.dumps({"text": "my key is " + api_key}).encode())
urllib.request.urlopen(chat).read()

subprocess.run(["/bin/echo", "--api-key", api_key], stdout=subprocess.DEVNULL, check=True)
print("agent: done", file=sys.stderr)
