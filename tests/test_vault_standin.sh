#!/bin/bash
# Self-check for tests/vault_standin.py: starts the stand-in in several modes
# and checks endpoints with curl, hvac and raw sockets, plus the audit log.
# Usage: tests/test_vault_standin.sh        (exit 0 = all good)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
STANDIN="$HERE/vault_standin.py"
PY=/usr/bin/python3
WORK="$(mktemp -d /tmp/vault-standin-check.XXXXXX)"
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

# start NAME [args...]: launches the stand-in, waits for its ready file
start() {
    local name="$1"; shift
    local dir="$WORK/$name"
    mkdir -p "$dir"
    "$PY" "$STANDIN" --ready-file "$dir/ready" --audit-log "$dir/audit.log" "$@" \
        >"$dir/stdout" 2>"$dir/stderr" &
    local pid=$!
    PIDS+=("$pid")
    echo "$pid" >"$dir/pid"
    for _ in $(seq 100); do
        [ -f "$dir/ready" ] && break
        kill -0 "$pid" 2>/dev/null || { cat "$dir/stderr" >&2; fail "$name: stand-in died"; }
        sleep 0.05
    done
    [ -f "$dir/ready" ] || fail "$name: no ready file"
}

# stop NAME: SIGTERM, expect exit status 0 and clean stderr
stop() {
    local dir="$WORK/$1" pid rc=0
    pid="$(cat "$dir/pid")"
    kill -TERM "$pid"
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || fail "$1: exit status $rc after SIGTERM"
    [ ! -s "$dir/stderr" ] || { cat "$dir/stderr" >&2; fail "$1: stderr not empty"; }
    ok "$1: SIGTERM -> exit 0, nothing on stderr"
}

url() { head -1 "$WORK/$1/ready"; }
root() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["root_token"])' "$WORK/$1/ready.creds.json"; }

# ---------------------------------------------------------------- plain mode
start plain --listen 127.0.0.1:0 --listen '[::1]:0' --h2-responses-dir "$WORK/plain/h2"
U="$(url plain)"; T="$(root plain)"
[ "$(wc -l <"$WORK/plain/ready")" = 2 ] || fail "ready file should have one line per listener"
grep -q '^http://\[::1\]:[0-9]*$' "$WORK/plain/ready" || fail "no IPv6 URL"
curl -sf "$(sed -n 2p "$WORK/plain/ready")/v1/sys/health" | grep -q '"sealed":false' || fail "IPv6 health"
[ "$(stat -c %a "$WORK/plain/ready.creds.json")" = 600 ] || fail "creds file mode"
ok "plain: ready file, creds file, IPv6 listener"

# keep-alive: two requests over one connection
curl -sv -o /dev/null -o /dev/null -H "X-Vault-Token: $T" \
    "$U/v1/secret/data/agent/openai" "$U/v1/database/creds/readonly" 2>"$WORK/ka.txt"
grep -q 'Re-using existing connection' "$WORK/ka.txt" || { cat "$WORK/ka.txt"; fail "keep-alive"; }
ok "plain: keep-alive"

# chunked request body
curl -sf -H "X-Vault-Token: $T" -H 'Transfer-Encoding: chunked' -X POST \
    --data-binary '{"data":{"k":"chunked-body-value"}}' "$U/v1/secret/data/chunky" >/dev/null \
    || fail "chunked request body"
curl -sf -H "X-Vault-Token: $T" "$U/v1/secret/data/chunky" | grep -q chunked-body-value \
    || fail "chunked write not stored"
ok "plain: chunked request body"

"$PY" - "$WORK/plain" <<'EOF'
import base64, gzip, hashlib, hmac, http.client, json, os, re, socket, sys, time, warnings, zlib
warnings.simplefilter("error")          # hvac must not warn
warnings.simplefilter("ignore", ResourceWarning)   # unclosed client sessions (client side)
import hvac

d = sys.argv[1]
U = open(os.path.join(d, "ready")).readline().strip()
C = json.load(open(os.path.join(d, "ready.creds.json")))
ROOT = C["root_token"]
host, port = U.split("//")[1].rsplit(":", 1)
port = int(port)
TOP = ["request_id", "lease_id", "renewable", "lease_duration", "data",
       "wrap_info", "warnings", "auth", "mount_type"]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
clear = set()          # every secret we were handed; must never be in the audit log

def check(cond, msg):
    if not cond:
        raise SystemExit("FAIL: " + msg)

def req(method, path, body=None, token=ROOT, headers=None):
    c = http.client.HTTPConnection(host, port, timeout=10)
    h = dict(headers or {})
    if token:
        h["X-Vault-Token"] = token
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        h["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    raw = r.read()
    c.close()
    return r.status, r, (json.loads(raw) if raw else None)

def envelope(j):
    check(list(j) == TOP, "top-level fields %s" % list(j))
    check(UUID.match(j["request_id"]), "request_id uuid4")

def audit_lines():
    return [json.loads(l) for l in open(os.path.join(d, "audit.log"))]

def audit_for(rid):
    es = [e for e in audit_lines() if e["request"]["id"] == rid]
    check([e["type"] for e in es] == ["request", "response"], "audit pair for %s: %s" % (rid, es))
    return es

# --- hvac: KV v2
c = hvac.Client(url=U, token=ROOT)
check(c.is_authenticated(), "hvac is_authenticated")
kw = {}
import inspect
if "raise_on_deleted_version" in inspect.signature(c.secrets.kv.v2.read_secret_version).parameters:
    kw["raise_on_deleted_version"] = True
r = c.secrets.kv.v2.read_secret_version(path="agent/openai", mount_point="secret", **kw)
envelope(r)
check(r["mount_type"] == "kv" and r["lease_id"] == "" and r["lease_duration"] == 0
      and r["renewable"] is False, "kv envelope values")
sec = r["data"]["data"]
check(re.fullmatch(r"sk-[A-Za-z0-9]{48}", sec["api_key"]), "api_key format")
check(re.fullmatch(r"org-[A-Za-z0-9]{24}", sec["org"]), "org format")
md = r["data"]["metadata"]
check(list(md) == ["created_time", "custom_metadata", "deletion_time", "destroyed", "version"], "kv metadata keys")
check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", md["created_time"]), "created_time")
clear |= {sec["api_key"], sec["org"]}
kv_rid = r["request_id"]
db = c.secrets.kv.v2.read_secret_version(path="agent/db", mount_point="secret", **kw)["data"]["data"]
check(db["config"]["host"] == "db.internal" and len(db["config"]["password"]) == 24, "agent/db nested")
clear.add(db["config"]["password"])

w = c.secrets.kv.v2.create_or_update_secret(path="app/new", secret={"tok": "s3cr3t-write-value", "n": 5},
                                            mount_point="secret")
envelope(w)
check(w["data"]["version"] == 1 and w["data"]["deletion_time"] == "", "write -> metadata only")
clear.add("s3cr3t-write-value")
w2 = c.secrets.kv.v2.create_or_update_secret(path="app/new", secret={"tok": "s3cr3t-write-v2"}, mount_point="secret")
check(w2["data"]["version"] == 2, "second version")
clear.add("s3cr3t-write-v2")
ops = [(e["request"]["operation"]) for e in audit_lines() if e["request"]["path"] == "secret/data/app/new" and e["type"] == "request"]
check(ops == ["create", "update"], "create then update ops %s" % ops)
m = c.secrets.kv.v2.read_secret_metadata(path="app/new", mount_point="secret")
check(m["data"]["current_version"] == 2 and set(m["data"]["versions"]) == {"1", "2"}, "metadata versions")
l = c.secrets.kv.v2.list_secrets(path="agent", mount_point="secret")
check(l["data"]["keys"] == ["db", "openai"], "list keys")
check(c.secrets.kv.v2.read_secret_version(path="app/new", version=1, mount_point="secret", **kw)["data"]["data"]["tok"]
      == "s3cr3t-write-value", "read old version")
try:
    c.secrets.kv.v2.read_secret_version(path="does/not/exist", mount_point="secret", **kw)
    check(False, "missing secret should raise")
except hvac.exceptions.InvalidPath:
    pass
st, _, j = req("DELETE", "/v1/secret/data/app/new")
check(st == 204 and j is None, "kv soft delete")
st, _, j = req("GET", "/v1/secret/data/app/new")
check(st == 404 and j["data"]["data"] is None and j["data"]["metadata"]["deletion_time"], "deleted version -> 404 + metadata")
print("ok - hvac kv v2 read/write/metadata/list/delete")

# --- dynamic DB creds
seen = set()
for _ in range(2):
    r = c.read("database/creds/readonly")
    envelope(r)
    dd = r["data"]
    check(re.fullmatch(r"v-token-readonly-[A-Za-z0-9]{20}-\d{10}", dd["username"]), "db username %s" % dd["username"])
    check(len(dd["password"]) >= 20 and re.fullmatch(r"[A-Za-z0-9-]+", dd["password"]), "db password")
    check(re.fullmatch(r"database/creds/readonly/[A-Za-z0-9]{24}", r["lease_id"]), "lease_id")
    check(r["lease_duration"] == 3600 and r["renewable"] is True and r["mount_type"] == "database", "db lease")
    seen.add(dd["password"]); clear.add(dd["password"])
    db_rid, db_lease = r["request_id"], r["lease_id"]
check(len(seen) == 2, "fresh creds each call")
resp = audit_for(db_rid)[1]["response"]
check(resp["secret"] == {"lease_id": db_lease}, "lease_id in clear in audit")
check(resp["data"]["password"].startswith("hmac-sha256:"), "db password hmac'd")
rn = c.sys.renew_lease(lease_id=db_lease, increment=60)
check(rn["lease_id"] == db_lease and rn["lease_duration"] == 60, "lease renew")
print("ok - database creds + lease renew")

# --- AppRole
check(c.auth.approle.read_role_id("agent")["data"]["role_id"] == C["role_id"], "role-id")
sid = c.auth.approle.generate_secret_id("agent")["data"]
check(UUID.match(sid["secret_id"]) and UUID.match(sid["secret_id_accessor"]), "secret-id")
check(sid["secret_id_num_uses"] == 0 and sid["secret_id_ttl"] == 0, "secret-id fields")
clear.add(sid["secret_id"])
a = hvac.Client(url=U)
lr = a.auth.approle.login(role_id=C["role_id"], secret_id=C["secret_id"])
envelope(lr)
au = lr["auth"]
check(lr["data"] is None and lr["mount_type"] == "approle", "login envelope")
check(re.fullmatch(r"hvs\.[A-Za-z0-9]{24}", au["client_token"]), "client_token format")
check(list(au) == ["client_token", "accessor", "policies", "token_policies", "metadata", "lease_duration",
                   "renewable", "entity_id", "token_type", "orphan", "mfa_requirement", "num_uses"], "auth keys")
check(sorted(au["policies"]) == ["agent", "default"] and au["metadata"] == {"role_name": "agent"}, "auth policies/meta")
check(au["lease_duration"] == 2764800 and au["token_type"] == "service" and au["orphan"] is True, "auth values")
clear |= {au["client_token"], C["secret_id"], C["root_token"]}
check(a.is_authenticated(), "approle token accepted")
ls = a.lookup_token()["data"]
check(ls["id"] == au["client_token"] and ls["display_name"] == "approle" and ls["accessor"] == au["accessor"], "lookup-self")
check(a.read("database/creds/readonly")["data"]["username"].startswith("v-token-readonly-"), "approle token works")
e = audit_for(lr["request_id"])
check(e[0]["request"]["data"]["secret_id"].startswith("hmac-sha256:"), "secret_id hmac'd in request")
check(e[1]["response"]["auth"]["client_token"].startswith("hmac-sha256:"), "response auth token hmac'd")
check(e[1]["response"]["auth"]["display_name"] == "approle", "response auth display_name")
try:
    hvac.Client(url=U).auth.approle.login(role_id=C["role_id"], secret_id="nope")
    check(False, "bad secret id accepted")
except hvac.exceptions.InvalidRequest as ex:
    check("invalid role or secret ID" in str(ex), "bad secret id message")
print("ok - approle")

# --- userpass
up = hvac.Client(url=U)
r = up.auth.userpass.login(username="alice", password=C["userpass"]["password"])
check(r["auth"]["metadata"] == {"username": "alice"}, "userpass meta")
clear |= {C["userpass"]["password"], r["auth"]["client_token"]}
check(up.lookup_token()["data"]["display_name"] == "userpass-alice", "userpass display name")
st, _, j = req("POST", "/v1/auth/userpass/login/alice", {"password": "wrong"}, token=None)
check(st == 400 and j == {"errors": ["invalid username or password"]}, "userpass wrong password")
print("ok - userpass")

# --- token create
t = c.auth.token.create(policies=["agent"], ttl="1h")
check(t["auth"]["policies"] == ["agent", "default"] and t["auth"]["lease_duration"] == 3600, "token create")
clear.add(t["auth"]["client_token"])
check(hvac.Client(url=U, token=t["auth"]["client_token"]).is_authenticated(), "created token accepted")
print("ok - token create")

# --- 403 / 404 / 405 / 400
st, _, j = req("GET", "/v1/secret/data/agent/openai", token=None)
check(st == 403 and j == {"errors": ["permission denied"]}, "no token -> 403")
st, _, j = req("GET", "/v1/secret/data/agent/openai", token="hvs.bogus")
check(st == 403 and j == {"errors": ["permission denied"]}, "bad token -> 403")
st, _, j = req("GET", "/v1/secret/data/agent/openai", token=None, headers={"Authorization": "Bearer " + ROOT})
check(st == 200, "Bearer token")
st, _, j = req("GET", "/v1/no/such/thing")
check(st == 404 and j == {"errors": []}, "unknown path")
st, _, j = req("GET", "/v1/database/creds/nosuchrole")
check(st == 400 and "unknown role" in j["errors"][0], "unknown db role")
c2 = http.client.HTTPConnection(host, port, timeout=5)
c2.request("POST", "/v1/secret/data/x", body=b"{not json", headers={"X-Vault-Token": ROOT})
r2 = c2.getresponse(); j2 = json.loads(r2.read())
check(r2.status == 400 and j2["errors"][0].startswith("failed to parse JSON"), "bad json")
c2.request("GET", "/v1/sys/health")          # same connection still usable
check(c2.getresponse().status == 200, "keep-alive after 400")
c2.close()
print("ok - error responses")

# --- raw socket: malformed requests must get a 400, not kill the server
def raw(payload):
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(payload)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out
check(raw(b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400"), "garbage request line")
check(raw(b"POST /v1/sys/audit-hash/file HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").startswith(b"HTTP/1.1 400"),
      "bad chunk size")
check(raw(b"POST /v1/sys/audit-hash/file HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n").startswith(b"HTTP/1.1 400"),
      "bad content-length")
out = raw(("POST /v1/sys/audit-hash/file HTTP/1.1\r\nHost: x\r\nX-Vault-Token: %s\r\n"
           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           "5\r\n{\"inp\r\n9;ext=1\r\nut\":\"abc\"\r\n1\r\n}\r\n0\r\nTrailer: x\r\n\r\n" % ROOT).encode())
check(out.startswith(b"HTTP/1.1 200") and b"hmac-sha256:" in out, "chunked body with extensions and trailers")
print("ok - malformed requests")

# --- response wrapping
st, _, j = req("GET", "/v1/database/creds/readonly", headers={"X-Vault-Wrap-TTL": "60s"})
envelope(j)
wi = j["wrap_info"]
check(st == 200 and j["data"] is None and j["auth"] is None, "wrapped envelope")
check(list(wi) == ["token", "accessor", "ttl", "creation_time", "creation_path", "wrapped_accessor"], "wrap_info keys")
check(wi["ttl"] == 60 and wi["creation_path"] == "database/creds/readonly" and wi["token"].startswith("hvs."), "wrap_info values")
clear.add(wi["token"])
aw = audit_for(j["request_id"])[1]["response"]["wrap_info"]
check(aw["token"].startswith("hmac-sha256:") and aw["accessor"].startswith("hmac-sha256:"), "wrap token hmac'd")
st, _, u = req("POST", "/v1/sys/wrapping/unwrap", token=wi["token"])
envelope(u)
check(st == 200 and u["request_id"] != j["request_id"] and u["lease_id"].startswith("database/creds/readonly/"), "unwrap")
check(u["data"]["username"].startswith("v-token-readonly-"), "unwrapped creds")
clear.add(u["data"]["password"])
st, _, u2 = req("POST", "/v1/sys/wrapping/unwrap", token=wi["token"])
check(st in (400, 403), "unwrap is single use")
# wrapped login, unwrapped via body token (as hvac does)
st, _, j = req("POST", "/v1/auth/approle/login", {"role_id": C["role_id"], "secret_id": C["secret_id"]},
               token=None, headers={"X-Vault-Wrap-TTL": "300"})
check(j["wrap_info"]["ttl"] == 300 and j["wrap_info"]["wrapped_accessor"], "wrapped login")
clear.add(j["wrap_info"]["token"])
uw = c.sys.unwrap(j["wrap_info"]["token"])
check(uw["auth"]["accessor"] == j["wrap_info"]["wrapped_accessor"], "unwrapped login")
clear.add(uw["auth"]["client_token"])
check(hvac.Client(url=U, token=uw["auth"]["client_token"]).is_authenticated(), "unwrapped token works")
print("ok - response wrapping")

# --- audit-hash + correlation header + namespace
st, _, j = req("POST", "/v1/sys/audit-hash/file", {"input": sec["api_key"]},
               headers={"X-Correlation-Id": "corr-123", "X-Vault-Namespace": "team1"})
envelope(j)
h = j["data"]["hash"]
check(re.fullmatch(r"hmac-sha256:[0-9a-f]{64}", h), "audit-hash format")
kvresp = audit_for(kv_rid)[1]["response"]
check(kvresp["data"]["data"]["api_key"] == h, "audit-hash matches audit log HMAC")
req_e = audit_for(j["request_id"])[0]["request"]
check(req_e["headers"] == {"x-correlation-id": ["corr-123"]}, "correlation id header in clear")
check(req_e["namespace"]["id"] == "team1", "namespace recorded")
check(req_e["data"]["input"] == h, "audit-hash input hmac'd")
st, _, j = req("POST", "/v1/sys/audit-hash/syslog", {"input": "x"})
check(st == 400 and "unknown audit backend" in j["errors"][0], "audit-hash of an unknown device")
print("ok - audit-hash, headers, namespace")

# --- audit log sanity
lines = audit_lines()
for e in lines:
    check(e["type"] in ("request", "response") and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", e["time"]), "entry time/type")
    check(e["request"]["path"] != "sys/health", "health not audited")
    for k in ("client_token", "client_token_accessor"):
        if k in e["request"]:
            check(e["request"][k].startswith("hmac-sha256:"), "request %s hmac'd" % k)
text = open(os.path.join(d, "audit.log")).read()
for s in clear:
    check(s not in text, "secret in clear in audit log: %s" % s)
print("ok - audit log: %d entries, %d secrets never in clear" % (len(lines), len(clear)))

# --- h2 dump
files = sorted(os.listdir(os.path.join(d, "h2")))
check(files, "h2 dir populated")
f0 = json.load(open(os.path.join(d, "h2", files[0])))
check(f0["headers"][0][0] == ":status" and base64.b64decode(f0["body_b64"]).decode() == f0["body"], "h2 dump format")
print("ok - h2 responses dir")

# --- concurrency
import concurrent.futures
def one(_):
    return hvac.Client(url=U, token=ROOT).read("database/creds/readonly")["data"]["password"]
with concurrent.futures.ThreadPoolExecutor(16) as ex:
    pws = list(ex.map(one, range(64)))
check(len(set(pws)) == 64, "concurrent creds")
print("ok - 64 concurrent requests")
EOF
stop plain

# ----------------------------------------------------- chunked + gzip mode
start cg --listen 127.0.0.1:0 --chunked --gzip
U="$(url cg)"; T="$(root cg)"
curl -s --raw -D "$WORK/h1" -o "$WORK/b1" -H "X-Vault-Token: $T" "$U/v1/secret/data/agent/openai"
grep -qi '^Transfer-Encoding: chunked' "$WORK/h1" || fail "chunked header"
grep -qi '^Content-Length' "$WORK/h1" && fail "Content-Length with chunked"
head -c 3 "$WORK/b1" | grep -q '^7' || fail "first chunk should be 7 bytes"
"$PY" - "$WORK/b1" <<'EOF' || fail "chunk sizes"
import sys
b = open(sys.argv[1], "rb").read()
sizes = []
while True:
    line, b = b.split(b"\r\n", 1)
    n = int(line, 16); sizes.append(n)
    if n == 0: break
    b = b[n + 2:]
assert sizes[:2] == [7, 100] and sizes[-1] == 0 and len(sizes) >= 4, sizes
print("ok - chunk sizes", sizes)
EOF
curl -s --compressed -D "$WORK/h2" -H "X-Vault-Token: $T" "$U/v1/secret/data/agent/openai" >"$WORK/b2"
grep -qi '^Content-Encoding: gzip' "$WORK/h2" || fail "gzip header"
grep -q '"api_key":"sk-' "$WORK/b2" || fail "gzip body"
curl -s -H "X-Vault-Token: $T" "$U/v1/secret/data/agent/openai" | grep -q '"api_key":"sk-' \
    || fail "no Accept-Encoding -> identity"
curl -s -D "$WORK/h3" -o "$WORK/b3" -H "X-Standin-Encoding: deflate" -H "X-Standin-Chunked: 0" \
    -H "X-Vault-Token: $T" "$U/v1/database/creds/readonly"
grep -qi '^Content-Encoding: deflate' "$WORK/h3" && grep -qi '^Content-Length' "$WORK/h3" || fail "deflate override"
"$PY" -c 'import sys,zlib,json; json.loads(zlib.decompress(open(sys.argv[1],"rb").read()))' "$WORK/b3" \
    || fail "deflate body is not zlib-wrapped JSON"
"$PY" -W error -W ignore::ResourceWarning - "$U" "$T" <<'EOF' || fail "hvac in chunked+gzip mode"
import sys, hvac
c = hvac.Client(url=sys.argv[1], token=sys.argv[2])
assert c.secrets.kv.v2.read_secret_version(path="agent/db", mount_point="secret")["data"]["data"]["config"]["host"] == "db.internal"
assert c.read("database/creds/readonly")["lease_duration"] == 3600
EOF
ok "chunked+gzip: chunks 7/100/rest, gzip, deflate override, hvac"
stop cg

# ------------------------------------------- per-request chunked, seed file
cat >"$WORK/seed.json" <<'EOF'
{"kv": {"secret/app/x": {"token": "seeded-value"}, "kv/team/y": {"a": {"b": "deep"}}}}
EOF
start seed --listen 127.0.0.1:0 --seed-file "$WORK/seed.json"
U="$(url seed)"; T="$(root seed)"
curl -s -H "X-Vault-Token: $T" "$U/v1/secret/data/app/x" | grep -q seeded-value || fail "seed secret/"
curl -s -H "X-Vault-Token: $T" "$U/v1/kv/data/team/y" | grep -q '"b":"deep"' || fail "seed extra kv mount"
curl -s -o /dev/null -w '%{http_code}' -H "X-Vault-Token: $T" "$U/v1/secret/data/agent/openai" | grep -q 404 \
    || fail "no demo data with seed file"
curl -s --raw -D "$WORK/h4" -o /dev/null -H "X-Standin-Chunked: 1" -H "X-Vault-Token: $T" "$U/v1/secret/data/app/x"
grep -qi '^Transfer-Encoding: chunked' "$WORK/h4" || fail "X-Standin-Chunked"
ok "seed file, per-request chunking"
stop seed

# ------------------------------------------------------------------- TLS
if command -v openssl >/dev/null; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
    start tls --listen 127.0.0.1:0 --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"
    U="$(url tls)"; T="$(root tls)"
    case "$U" in https://*) ;; *) fail "tls ready URL";; esac
    curl -s --cacert "$WORK/cert.pem" -H "X-Vault-Token: $T" "$U/v1/secret/data/agent/openai" \
        | grep -q '"api_key":"sk-' || fail "https kv read"
    "$PY" -W error -W ignore::ResourceWarning - "$U" "$T" "$WORK/cert.pem" <<'EOF' || fail "hvac over TLS"
import sys, hvac
c = hvac.Client(url=sys.argv[1], token=sys.argv[2], verify=sys.argv[3])
assert c.read("database/creds/readonly")["renewable"] is True
EOF
    # a client that connects and never handshakes must not block others
    "$PY" -c 'import socket,sys,time; s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); time.sleep(3)' \
        "${U##*:}" &
    sleep 0.3
    curl -s -m 2 --cacert "$WORK/cert.pem" "$U/v1/sys/health" | grep -q '"sealed":false' \
        || fail "stalled TLS client blocks the server"
    wait $! || true
    ok "tls"
    stop tls
fi

echo "all vault stand-in checks passed"
