#!/usr/bin/python3
"""e2e agent (issue 3): traced TLS processes that stay alive while a test runs untraced
TLS clients beside them, so that the tracer's hooks on libssl.so.3 (python3),
/usr/bin/node and libgnutls.so.30 (gnutls-cli) are live meanwhile. It
  - reads secret/data/agent/hold over HTTPS (urllib, verified against CA_FILE) with the
    root token from the creds file (python3 -> libssl.so.3),
  - starts /usr/bin/node, which GETs /v1/sys/health over https and then waits for its
    stdin to close,
  - starts gnutls-cli connected to the Vault, its handshake done, waiting for its stdin,
  - writes READY_FILE (JSON {"pids": [its own, node's, gnutls-cli's], "request_id"}),
  - blocks reading FIFO until EOF; then sends GET /v1/sys/health through gnutls-cli,
    closes node's stdin, and checks that both answered 200 and exit 0.
Nothing it learns is written anywhere.
usage: tls_hold.py VAULT_URL CA_FILE CREDS_FILE FIFO READY_FILE"""
import json
import os
import ssl
import subprocess
import sys
import urllib.request

vault, ca, creds, fifo, ready = sys.argv[1:6]
hostport = vault.split("://", 1)[1]
host, port = hostport.rsplit(":", 1)
with open(creds) as f:
    token = json.load(f)["root_token"]
ctx = ssl.create_default_context(cafile=ca)
req = urllib.request.Request(vault + "/v1/secret/data/agent/hold", headers={"X-Vault-Token": token})
with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
    doc = json.load(r)
assert doc["data"]["data"], "empty KV secret"

NODE_JS = r"""
const https = require('https'), fs = require('fs');
https.get(process.argv[1] + '/v1/sys/health', { ca: fs.readFileSync(process.argv[2]), agent: false }, (res) => {
  res.resume();
  res.on('end', () => {
    console.log('ready ' + res.statusCode);
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(res.statusCode === 200 ? 0 : 1));
  });
}).on('error', (e) => { console.error(e.message); process.exit(1); });
"""
node = subprocess.Popen(["/usr/bin/node", "-e", NODE_JS, vault, ca], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE)
line = node.stdout.readline().decode()
assert line.strip() == "ready 200", "node: %r" % line

gnutls = subprocess.Popen(["gnutls-cli", "--x509cafile", ca, "-p", port, host],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
seen = []
while True:
    line = gnutls.stdout.readline().decode("utf-8", "replace")
    assert line, "gnutls-cli ended before its handshake: %r" % "".join(seen)
    seen.append(line)
    if line.startswith("- Simple Client Mode"):
        break

tmp = ready + ".tmp"
with open(tmp, "w") as f:
    json.dump({"pids": [os.getpid(), node.pid, gnutls.pid], "request_id": doc["request_id"]}, f)
os.rename(tmp, ready)

with open(fifo, "rb") as f:
    f.read()

out, _ = gnutls.communicate(("GET /v1/sys/health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                             % hostport).encode(), timeout=20)
# (its exit status is not checked: the stand-in closes without close_notify, which
# gnutls-cli may report as an error after the complete response)
assert b"HTTP/1.1 200 OK" in out, "gnutls-cli: %r" % out[-300:]
node.stdin.close()
assert node.wait(20) == 0, "node exit %s" % node.returncode
