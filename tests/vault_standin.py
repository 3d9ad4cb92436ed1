#!/usr/bin/python3
"""Stand-in for the HashiCorp Vault HTTP API, used by secretrace's end-to-end
tests and demo (no Vault binary is available on the test machines).

Standard library only.  It reproduces Vault's JSON wire format, the endpoints
agents use to fetch secrets (KV v2, dynamic database credentials, AppRole,
userpass, token, response wrapping, audit-hash, health) and Vault's file audit
device format (one JSON object per line, secrets HMAC'd with a per-run salt).

Usage:
  python3 tests/vault_standin.py --listen 127.0.0.1:0 [--listen [::1]:0 ...]
      --ready-file PATH --audit-log PATH [--seed-file PATH]
      [--tls-cert CERT --tls-key KEY] [--chunked] [--gzip]
      [--h2-responses-dir DIR] [--issued-log PATH] [--db-lease-ttl SECONDS] [-v]

Once every listener is bound, the credentials are written to
<ready-file>.creds.json:
  {"root_token": "hvs...", "role_id": "<uuid>", "secret_id": "<uuid>",
   "userpass": {"username": "alice", "password": "..."}}
and then the ready file itself (one "http[s]://HOST:PORT" line per --listen,
in command-line order), both atomically (temp file + rename).  Tests should
wait for the ready file to exist and then read the creds file.

Per-request test knobs (request headers, not part of Vault):
  X-Standin-Chunked: 1|0          force / disable chunked response bodies
  X-Standin-Encoding: gzip|deflate|identity
                                  force a Content-Encoding for the response

--h2-responses-dir DIR: every /v1/ response is also saved as
DIR/NNNNNN.json = {"seq", "method", "path", "request_id", "status",
"headers": [[":status", "200"], [lower-case name, value], ...] (HTTP/2 form,
no connection-specific headers), "body_b64": body bytes as sent (after any
content coding), "body": decoded JSON text}, so an HTTP/2 test can replay the
exact responses.

--issued-log PATH: one JSON line {"request_id", "path", "field", "value"}
(plus "lease_id" when the response has one) is
appended for every secret value a response hands out (KV v2 data.data fields
as dotted paths, database username/password, AppRole role_id/secret_id,
auth.client_token of logins, token create and renew, the id of
token/lookup-self, wrap_info.token, and the data of an unwrapped response), so
tests know the ground truth.  Written before the response is sent.

--db-lease-ttl SECONDS: the lease_duration of database credentials (and the
default increment of their renewals), 3600 by default; short leases let tests
use a credential after its lease expired.

SIGTERM / SIGINT: stop listening, flush and close the audit log, exit 0.
"""

import argparse
import base64
import copy
import email.utils
import gzip
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import ssl
import string
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

VAULT_VERSION = "1.17.0"
DEFAULT_TOKEN_TTL = 2764800          # 768h, Vault's default lease TTL
DB_LEASE_TTL = 3600
MAX_REQUEST_SIZE = 32 * 1024 * 1024  # Vault's default max_request_size
MAX_LINE = 65536

B62 = string.ascii_letters + string.digits
DB_PASSWORD_CHARS = B62 + "-"


# ---------------------------------------------------------------------------
# helpers

def rand_chars(n, alphabet=B62):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def new_token():
    return "hvs." + rand_chars(24)


def new_uuid():
    return str(uuid.uuid4())


def db_password(n=20):
    """Like Vault's default database password policy: 20 chars of
    [A-Za-z0-9-] with at least one lower, upper, digit and dash."""
    while True:
        pw = rand_chars(n, DB_PASSWORD_CHARS)
        if (any(c.islower() for c in pw) and any(c.isupper() for c in pw)
                and any(c.isdigit() for c in pw) and "-" in pw):
            return pw


def rfc3339nano(ns=None):
    """Go's time.RFC3339Nano in UTC (trailing zeros of the fraction trimmed)."""
    if ns is None:
        ns = time.time_ns()
    secs, frac = divmod(ns, 10 ** 9)
    out = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        out += "." + ("%09d" % frac).rstrip("0")
    return out + "Z"


def rfc3339(ns=None):
    if ns is None:
        ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // 10 ** 9))


_DUR_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3,
              "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DUR_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h|d)")


def parse_duration(value):
    """Vault accepts plain seconds ("300") or Go durations ("60s", "1h30m")."""
    if isinstance(value, bool):
        raise ValueError("invalid duration")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("negative duration")
        return int(value)
    s = str(value).strip()
    if not s:
        raise ValueError("empty duration")
    if s.isdigit():
        return int(s)
    pos, total = 0, 0.0
    while pos < len(s):
        m = _DUR_RE.match(s, pos)
        if not m:
            raise ValueError("invalid duration %r" % s)
        total += float(m.group(1)) * _DUR_UNITS[m.group(2)]
        pos = m.end()
    return int(total)


def sorted_maps(obj):
    """Go marshals map[string]interface{} with sorted keys."""
    if isinstance(obj, dict):
        return {k: sorted_maps(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [sorted_maps(v) for v in obj]
    return obj


def go_json(obj):
    """Encode like Go's json.Encoder: compact, HTML-escaped, trailing newline."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    s = (s.replace("<", "\\u003c").replace(">", "\\u003e")
         .replace("&", "\\u0026").replace("\u2028", "\\u2028")
         .replace("\u2029", "\\u2029"))
    return (s + "\n").encode("utf-8")


def drop_empty(d, keep=()):
    """Mimic Go's omitempty."""
    return {k: v for k, v in d.items()
            if k in keep or not (v is None or v == "" or v == 0 or v is False
                                 or v == {} or v == [])}


def atomic_write(path, text, mode=0o644):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class APIError(Exception):
    """An error response.  errors -> {"errors": [...]}; envelope -> a full
    Vault response body sent with an error status (KV v2 deleted version)."""

    def __init__(self, status, errors=(), audit_error=None, envelope=None):
        super().__init__(status, errors)
        self.status = status
        self.errors = list(errors)
        self.audit_error = (audit_error if audit_error is not None
                            else (self.errors[0] if self.errors else ""))
        self.envelope = envelope


def bad_request(msg):
    return APIError(400, [msg])


class Token:
    def __init__(self, policies, display_name, path, ttl=0, meta=None,
                 entity_id="", orphan=False, renewable=None, num_uses=0,
                 wrapping=False, token_id=None):
        self.id = token_id or new_token()
        self.accessor = rand_chars(24)
        self.policies = list(policies)
        self.token_policies = list(policies)
        self.display_name = display_name
        self.path = path
        self.ttl = int(ttl)
        self.meta = meta
        self.entity_id = entity_id
        self.orphan = orphan
        self.renewable = (ttl > 0) if renewable is None else renewable
        self.num_uses = num_uses
        self.wrapping = wrapping
        self.type = "service"
        self.issue_ns = time.time_ns()
        self.expire_at = (time.time() + ttl) if ttl > 0 else None

    def remaining(self):
        if self.expire_at is None:
            return 0
        return max(0, int(round(self.expire_at - time.time())))

    def auth_block(self, lease_duration=None):
        return {
            "client_token": self.id,
            "accessor": self.accessor,
            "policies": list(self.policies),
            "token_policies": list(self.token_policies),
            "metadata": sorted_maps(self.meta) if self.meta else None,
            "lease_duration": self.ttl if lease_duration is None else lease_duration,
            "renewable": self.renewable,
            "entity_id": self.entity_id,
            "token_type": self.type,
            "orphan": self.orphan,
            "mfa_requirement": None,
            "num_uses": self.num_uses,
        }


def sanitize_policies(policies, add_default=True):
    """Vault de-duplicates and sorts policy lists; "root" stands alone."""
    out = sorted({p.strip().lower() for p in policies if p and p.strip()})
    if "root" in out:
        return ["root"]
    if add_default and "default" not in out:
        out = sorted(out + ["default"])
    return out


def as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in (x.strip() for x in value.split(",")) if v]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise bad_request("expected a list or comma separated string")


# ---------------------------------------------------------------------------
# the fake Vault


class Vault:
    def __init__(self, args):
        self.lock = threading.RLock()
        self.audit_lock = threading.Lock()
        self.verbose = args.verbose
        # Vault's file audit device HMACs with a random per-device salt.
        self.salt = new_uuid().encode()
        self.cluster_name = "vault-cluster-" + secrets.token_hex(4)
        self.cluster_id = new_uuid()
        self.tokens = {}      # token id -> Token
        self.wrapped = {}     # wrapping token id -> stored response envelope
        self.leases = {}      # lease id -> {"expire_at", "ttl"}
        self.entities = {}    # alias key -> entity id
        self.kv = {}          # kv mount name -> {path: record}
        self.db_roles = {"readonly"}
        self.db_lease_ttl = getattr(args, "db_lease_ttl", None) or DB_LEASE_TTL
        self.h2_dir = args.h2_responses_dir
        self.issued_lock = threading.Lock()
        self.issued = None
        if getattr(args, "issued_log", None):
            self.issued = open(os.open(args.issued_log,
                                       os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                                       0o600), "a", encoding="utf-8")
        self.h2_seq = 0

        self.mounts = {}
        self._add_mount("sys/", "system", "", "system endpoints used for control, policy and debugging")
        self._add_mount("database/", "database", "secret", "")
        self._add_mount("auth/token/", "token", "auth", "token based credentials")
        self._add_mount("auth/approle/", "approle", "auth", "")
        self._add_mount("auth/userpass/", "userpass", "auth", "")
        self._add_kv_mount("secret")

        self.root = Token(["root"], "root", "auth/token/root", ttl=0,
                          orphan=True, renewable=False)
        self.tokens[self.root.id] = self.root

        self.approle = {}
        self._create_approle("agent", ["agent"])
        agent = self.approle["agent"]
        self.agent_secret_id = self._new_secret_id(agent)
        self.userpass = {"alice": {"password": rand_chars(20),
                                   "policies": ["agent"]}}

        if args.seed_file:
            self._load_seed(args.seed_file)
        else:
            self._demo_data()

        if args.audit_log:
            self.audit = open(os.open(args.audit_log,
                                      os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                                      0o600), "a", encoding="utf-8")
        else:
            self.audit = None
        self._build_routes()

    # -- setup -------------------------------------------------------------

    def _add_mount(self, prefix, mtype, mclass, desc, options=None):
        self.mounts[prefix] = {
            "type": mtype,
            "class": mclass,
            "accessor": "%s_%s" % (prefix.rstrip("/").replace("/", "_"),
                                   secrets.token_hex(4)),
            "uuid": new_uuid(),
            "description": desc,
            "options": options,
        }

    def _add_kv_mount(self, name):
        name = name.strip("/")
        if not name or name in self.kv:
            return
        self.kv[name] = {}
        self._add_mount(name + "/", "kv", "secret", "key/value secret storage",
                        {"version": "2"})
        self.mounts[name + "/"]["accessor"] = "kv_" + secrets.token_hex(4)

    def _create_approle(self, name, policies):
        self.approle[name] = {"role_id": new_uuid(),
                              "policies": sanitize_policies(policies),
                              "secret_ids": {}}

    def _new_secret_id(self, role, meta=None):
        sid = new_uuid()
        role["secret_ids"][sid] = {"accessor": new_uuid(), "metadata": meta or {},
                                   "creation_time": rfc3339nano()}
        return sid

    def _demo_data(self):
        self.kv_put("secret", "agent/openai", {
            "api_key": "sk-" + rand_chars(48),
            "org": "org-" + rand_chars(24),
        })
        self.kv_put("secret", "agent/db", {
            "config": {"password": rand_chars(24), "host": "db.internal"},
        })

    def _load_seed(self, path):
        with open(path, encoding="utf-8") as f:
            seed = json.load(f)
        if not isinstance(seed, dict):
            raise SystemExit("seed file: top level must be an object")
        for key, fields in (seed.get("kv") or {}).items():
            if not isinstance(fields, dict):
                raise SystemExit("seed file: kv[%r] must be an object" % key)
            mount, _, rest = key.strip("/").partition("/")
            if rest.startswith("data/"):          # tolerate "secret/data/x"
                rest = rest[len("data/"):]
            if not mount or not rest:
                raise SystemExit("seed file: bad kv key %r (want mount/path)" % key)
            self._add_kv_mount(mount)
            self.kv_put(mount, rest, fields)
        for role in seed.get("database_roles") or []:
            self.db_roles.add(str(role))

    # -- tokens ------------------------------------------------------------

    def lookup_token(self, tok):
        if not tok:
            return None
        with self.lock:
            rec = self.tokens.get(tok)
            if rec is None:
                return None
            if rec.expire_at is not None and time.time() > rec.expire_at:
                self._revoke(rec)
                return None
            return rec

    def _revoke(self, rec):
        self.tokens.pop(rec.id, None)
        self.wrapped.pop(rec.id, None)

    def use_token(self, rec):
        with self.lock:
            if rec.num_uses > 0:
                rec.num_uses -= 1
                if rec.num_uses == 0:
                    rec.num_uses = -1           # last use: revoke afterwards
            elif rec.num_uses < 0:
                self._revoke(rec)

    def after_request(self, rec):
        with self.lock:
            if rec is not None and rec.num_uses < 0:
                self._revoke(rec)

    def issue_token(self, **kw):
        rec = Token(**kw)
        with self.lock:
            self.tokens[rec.id] = rec
        return rec

    def entity_for(self, key):
        with self.lock:
            if key not in self.entities:
                self.entities[key] = new_uuid()
            return self.entities[key]

    # -- audit -------------------------------------------------------------

    def hmac(self, value):
        return "hmac-sha256:" + hmac.new(self.salt, value.encode("utf-8"),
                                         hashlib.sha256).hexdigest()

    def hash_struct(self, obj):
        if isinstance(obj, str):
            return self.hmac(obj)
        if isinstance(obj, dict):
            return {k: self.hash_struct(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.hash_struct(v) for v in obj]
        return obj

    def audit_write(self, entry):
        if self.audit is None:
            return
        line = json.dumps(entry, separators=(",", ":"), ensure_ascii=False)
        with self.audit_lock:
            if self.audit is None or self.audit.closed:
                return
            self.audit.write(line + "\n")
            self.audit.flush()

    # -- issued-secrets log (test ground truth, not part of Vault) ------------

    def _issued_values(self, env, vpath, fn):
        """(field, value) pairs of the secret values a response hands out."""
        out = []

        def leaves(obj, prefix):
            if isinstance(obj, str):
                if obj and prefix:
                    out.append((prefix, obj))
            elif isinstance(obj, dict):
                for k in sorted(obj):
                    leaves(obj[k], prefix + "." + k if prefix else k)
            elif isinstance(obj, list):
                for i, v in enumerate(obj):
                    leaves(v, "%s.%d" % (prefix, i))

        data = env.get("data")
        if isinstance(data, dict):
            mtype = env.get("mount_type")
            if mtype == "kv" and isinstance(data.get("data"), dict) and "metadata" in data:
                leaves(data["data"], "")
            elif mtype == "database":
                for k in ("username", "password"):
                    if isinstance(data.get(k), str):
                        out.append((k, data[k]))
            elif mtype == "approle":
                for k in ("role_id", "secret_id"):
                    if isinstance(data.get(k), str):
                        out.append((k, data[k]))
            elif mtype == "token" and fn == self.h_token_lookup_self:
                if isinstance(data.get("id"), str):
                    out.append(("id", data["id"]))
            elif fn == self.h_unwrap:
                leaves(data, "")
        auth = env.get("auth")
        if isinstance(auth, dict) and isinstance(auth.get("client_token"), str):
            out.append(("client_token", auth["client_token"]))
        wi = env.get("wrap_info")
        if isinstance(wi, dict) and isinstance(wi.get("token"), str):
            out.append(("wrap_info.token", wi["token"]))
        return out

    def log_issued(self, request_id, vpath, env, fn):
        if self.issued is None:
            return
        extra = {"lease_id": env["lease_id"]} if env.get("lease_id") else {}
        lines = [json.dumps(dict({"request_id": request_id, "path": vpath,
                                  "field": f, "value": v}, **extra), ensure_ascii=False)
                 for f, v in self._issued_values(env, vpath, fn)]
        if not lines:
            return
        with self.issued_lock:
            if self.issued.closed:
                return
            self.issued.write("".join(l + "\n" for l in lines))
            self.issued.flush()

    def close(self):
        with self.issued_lock:
            if self.issued is not None and not self.issued.closed:
                self.issued.close()
        with self.audit_lock:
            if self.audit is not None and not self.audit.closed:
                self.audit.flush()
                try:
                    os.fsync(self.audit.fileno())
                except OSError:
                    pass
                self.audit.close()

    def audit_auth(self, rec, allowed=True):
        if rec is None:
            return {"policy_results": {"allowed": allowed}, "token_type": "default"}
        a = {
            "client_token": self.hmac(rec.id),
            "accessor": self.hmac(rec.accessor),
            "display_name": rec.display_name,
            "policies": list(rec.policies),
            "token_policies": list(rec.token_policies),
            "metadata": rec.meta,
            "entity_id": rec.entity_id,
            "policy_results": {"allowed": allowed},
            "token_type": rec.type,
            "token_ttl": rec.ttl,
            "token_issue_time": rfc3339(rec.issue_ns),
        }
        return drop_empty(a, keep=("policy_results", "token_type"))

    def audit_response_auth(self, auth):
        rec = self.lookup_token(auth.get("client_token"))
        a = {
            "client_token": self.hmac(auth["client_token"]),
            "accessor": self.hmac(auth["accessor"]),
            "display_name": rec.display_name if rec else "",
            "policies": auth.get("policies"),
            "token_policies": auth.get("token_policies"),
            "metadata": auth.get("metadata"),
            "entity_id": auth.get("entity_id"),
            "token_type": auth.get("token_type"),
            "token_ttl": auth.get("lease_duration"),
            "token_issue_time": rfc3339(rec.issue_ns) if rec else "",
        }
        return drop_empty(a, keep=("token_type",))

    def audit_wrap_info(self, wi):
        out = dict(wi)
        out["token"] = self.hmac(wi["token"])
        out["accessor"] = self.hmac(wi["accessor"])
        if wi.get("wrapped_accessor"):
            out["wrapped_accessor"] = self.hmac(wi["wrapped_accessor"])
        return drop_empty(out)

    # -- KV v2 -------------------------------------------------------------

    def kv_put(self, mount, path, data, cas=None):
        with self.lock:
            store = self.kv[mount]
            rec = store.get(path)
            now = rfc3339nano()
            if rec is None:
                if cas is not None and cas != 0:
                    raise bad_request("check-and-set parameter did not match the current version")
                rec = {"created_time": now, "updated_time": now,
                       "current_version": 0, "oldest_version": 0,
                       "max_versions": 0, "cas_required": False,
                       "delete_version_after": "0s",
                       "custom_metadata": None, "versions": {}}
                store[path] = rec
            elif cas is not None and cas != rec["current_version"]:
                raise bad_request("check-and-set parameter did not match the current version")
            ver = rec["current_version"] + 1
            rec["current_version"] = ver
            if rec["oldest_version"] == 0:
                rec["oldest_version"] = 1
            rec["updated_time"] = now
            rec["versions"][ver] = {"data": copy.deepcopy(data), "created_time": now,
                                    "deletion_time": "", "destroyed": False}
            return self._kv_version_meta(rec, ver)

    @staticmethod
    def _kv_version_meta(rec, ver):
        v = rec["versions"][ver]
        return {"created_time": v["created_time"],
                "custom_metadata": rec["custom_metadata"],
                "deletion_time": v["deletion_time"],
                "destroyed": v["destroyed"],
                "version": ver}

    # -- routing -----------------------------------------------------------

    def _build_routes(self):
        R = []

        def add(pattern, mount, fn, ops, auth="token"):
            R.append((re.compile(pattern + r"\Z"), mount, fn, ops, auth))

        for name in sorted(self.kv, key=len, reverse=True):
            m = re.escape(name)
            add(m + r"/data/(?P<path>.+)", name + "/", self.h_kv_data,
                {"read", "create", "update", "delete", "patch"})
            add(m + r"/metadata(?:/(?P<path>.*))?", name + "/", self.h_kv_metadata,
                {"read", "list", "create", "update", "delete"})
            add(m + r"/(?P<action>delete|undelete|destroy)/(?P<path>.+)", name + "/",
                self.h_kv_versions, {"create", "update"})
            add(m + r"/config", name + "/", self.h_kv_config, {"read"})
        add(r"database/creds/(?P<role>[^/]+)", "database/", self.h_db_creds, {"read"})
        add(r"database/roles/?", "database/", self.h_db_roles, {"list"})
        add(r"auth/approle/login", "auth/approle/", self.h_approle_login, {"update"}, auth="none")
        add(r"auth/approle/role/?", "auth/approle/", self.h_approle_list, {"list"})
        add(r"auth/approle/role/(?P<role>[^/]+)/role-id", "auth/approle/",
            self.h_approle_role_id, {"read"})
        add(r"auth/approle/role/(?P<role>[^/]+)/secret-id", "auth/approle/",
            self.h_approle_secret_id, {"update"})
        add(r"auth/approle/role/(?P<role>[^/]+)", "auth/approle/",
            self.h_approle_role, {"read", "update", "delete"})
        add(r"auth/userpass/login/(?P<user>[^/]+)", "auth/userpass/",
            self.h_userpass_login, {"update"}, auth="none")
        add(r"auth/token/lookup-self", "auth/token/", self.h_token_lookup_self, {"read", "update"})
        add(r"auth/token/create(?:-orphan)?", "auth/token/", self.h_token_create, {"update"})
        add(r"auth/token/renew-self", "auth/token/", self.h_token_renew_self, {"update"})
        add(r"auth/token/revoke-self", "auth/token/", self.h_token_revoke_self, {"update"})
        add(r"sys/wrapping/unwrap", "sys/", self.h_unwrap, {"update"}, auth="wrapping")
        add(r"sys/wrapping/lookup", "sys/", self.h_wrap_lookup, {"update"}, auth="wrapping")
        add(r"sys/wrapping/wrap", "sys/", self.h_wrap, {"update"})
        add(r"sys/audit-hash/(?P<device>.+)", "sys/", self.h_audit_hash, {"update"})
        add(r"sys/(?:leases/)?renew(?:/(?P<lease>.+))?", "sys/", self.h_lease_renew, {"update"})
        add(r"sys/(?:leases/)?revoke(?:/(?P<lease>.+))?", "sys/", self.h_lease_revoke, {"update"})
        add(r"sys/internal/ui/mounts/(?P<path>.+)", "sys/", self.h_ui_mounts, {"read"})
        self.routes = R

    def route(self, vpath):
        for rx, mount, fn, ops, auth in self.routes:
            m = rx.match(vpath)
            if m:
                return mount, fn, ops, auth, {k: v for k, v in m.groupdict().items()}
        return None

    def mount_for(self, vpath):
        best = None
        for prefix in self.mounts:
            if (vpath + "/").startswith(prefix) and (best is None or len(prefix) > len(best)):
                best = prefix
        return best

    # -- request entry point ----------------------------------------------

    def envelope(self, mount_type, data=None, auth=None, lease_id="",
                 renewable=False, lease_duration=0, wrap_info=None, warnings=None):
        return {
            "request_id": None,
            "lease_id": lease_id,
            "renewable": renewable,
            "lease_duration": lease_duration,
            "data": sorted_maps(data) if data is not None else None,
            "wrap_info": wrap_info,
            "warnings": warnings,
            "auth": auth,
            "mount_type": mount_type,
        }

    def health(self):
        return {
            "initialized": True,
            "sealed": False,
            "standby": False,
            "performance_standby": False,
            "replication_performance_mode": "disabled",
            "replication_dr_mode": "disabled",
            "server_time_utc": int(time.time()),
            "version": VAULT_VERSION,
            "enterprise": False,
            "cluster_name": self.cluster_name,
            "cluster_id": self.cluster_id,
            "echo_duration_ms": 0,
            "clock_skew_ms": 0,
            "replication_primary_canary_age_ms": 0,
        }

    def handle(self, method, raw_path, query_string, headers, body, remote):
        """Returns (status, json-able body or None, request_id or None)."""
        path = unquote(raw_path)
        if path.rstrip("/") == "/v1/sys/health":
            if method not in ("GET", "HEAD"):
                return 405, {"errors": ["unsupported operation"]}, None
            return 200, self.health(), None
        if not path.startswith("/v1/"):
            return 404, {"errors": []}, None
        vpath = path[len("/v1/"):]
        query = parse_qs(query_string, keep_blank_values=True)

        is_list = method == "LIST" or (
            method == "GET" and query.get("list", [""])[-1].lower() in ("true", "1", "t"))
        op = {"GET": "read", "HEAD": "read", "POST": "update", "PUT": "update",
              "DELETE": "delete", "PATCH": "patch", "LIST": "list"}.get(method)
        if is_list:
            op = "list"
        if op is None:
            return 405, {"errors": ["unsupported operation"]}, None

        # request data: JSON body for writes, query parameters for reads
        data = {}
        if method in ("POST", "PUT", "PATCH", "LIST") and body.strip():
            try:
                data = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                return 400, {"errors": ["failed to parse JSON input: %s" % e]}, None
            if not isinstance(data, dict):
                return 400, {"errors": ["failed to parse JSON input: "
                                        "expected a JSON object"]}, None
        elif method in ("GET", "DELETE", "HEAD"):
            data = {k: v[-1] for k, v in query.items() if k != "list"}

        tok = headers.get("X-Vault-Token", "").strip()
        if not tok:
            authz = headers.get("Authorization", "").strip()
            if authz[:7].lower() == "bearer ":
                tok = authz[7:].strip()
        rec = self.lookup_token(tok)

        ns_hdr = headers.get("X-Vault-Namespace", "").strip().strip("/")
        namespace = {"id": ns_hdr, "path": ns_hdr + "/"} if ns_hdr else {"id": "root"}

        wrap_ttl = 0
        wrap_hdr = headers.get("X-Vault-Wrap-TTL")
        if wrap_hdr is not None and wrap_hdr.strip():
            try:
                wrap_ttl = parse_duration(wrap_hdr)
            except ValueError as e:
                return 400, {"errors": ["error parsing X-Vault-Wrap-TTL header: %s" % e]}, None

        audited_headers = {}
        for h in ("correlation-id", "x-correlation-id"):
            vals = headers.get_all(h)
            if vals:
                audited_headers[h] = [str(v) for v in vals]

        request_id = new_uuid()
        found = self.route(vpath)
        mount = found[0] if found else self.mount_for(vpath)
        minfo = self.mounts.get(mount) if mount else None

        ctx = {
            "op": op, "method": method, "vpath": vpath, "data": data,
            "query": query, "token": rec, "headers": headers,
            "wrap_ttl": wrap_ttl, "mount": mount,
            "mount_type": minfo["type"] if minfo else "",
        }
        if found and found[1] == self.h_kv_data and op == "update":
            # Vault's existence check turns writes to new paths into "create"
            mname = mount.rstrip("/")
            with self.lock:
                if found[4]["path"] not in self.kv[mname]:
                    op = ctx["op"] = "create"

        areq = {
            "id": request_id,
            "client_id": rec.entity_id if rec else "",
            "operation": op,
            "mount_point": mount or "",
            "mount_type": minfo["type"] if minfo else "",
            "mount_accessor": minfo["accessor"] if minfo else "",
            "mount_class": minfo["class"] if minfo else "",
            "client_token": self.hmac(tok) if tok else "",
            "client_token_accessor": self.hmac(rec.accessor) if rec else "",
            "namespace": namespace,
            "path": vpath,
            "data": self.hash_struct(data) if data else None,
            "remote_address": remote[0],
            "remote_port": remote[1],
            "wrap_ttl": wrap_ttl,
            "headers": audited_headers,
        }
        areq = drop_empty(areq, keep=("id", "operation", "namespace", "path"))
        aresp_base = drop_empty({
            "mount_point": mount or "",
            "mount_type": minfo["type"] if minfo else "",
            "mount_accessor": minfo["accessor"] if minfo else "",
            "mount_class": minfo["class"] if minfo else "",
        })

        def audit_request(auth_rec, allowed, error=None):
            t = rfc3339nano()
            e1 = {"time": t, "type": "request",
                  "auth": self.audit_auth(auth_rec, allowed), "request": areq}
            if error and not allowed:
                e1["error"] = error
            self.audit_write(e1)
            return e1

        def audit_response(auth_rec, allowed, response, error=None):
            e2 = {"time": rfc3339nano(), "type": "response",
                  "auth": self.audit_auth(auth_rec, allowed), "request": areq,
                  "response": response}
            if error:
                e2["error"] = error
            self.audit_write(e2)

        # unknown path
        if not found:
            err = "no handler for route %s. route entry not found." % json.dumps(vpath)
            audit_request(rec, True)
            audit_response(rec, True, aresp_base, err)
            return 404, {"errors": []}, None

        _, fn, ops, auth_mode, params = found
        allowed = True
        if auth_mode == "token":
            allowed = rec is not None and not rec.wrapping
        elif auth_mode == "wrapping":
            body_tok = data.get("token") if isinstance(data.get("token"), str) else ""
            allowed = bool(body_tok) or (rec is not None and rec.wrapping)
            if not allowed and rec is not None:
                # a normal token without a body token: Vault rejects as invalid
                audit_request(rec, True)
                audit_response(rec, True, aresp_base, "wrapping token is not valid or does not exist")
                return 400, {"errors": ["wrapping token is not valid or does not exist"]}, None
        if not allowed:
            audit_request(rec, False, "permission denied")
            audit_response(rec, False, aresp_base, "permission denied")
            return 403, {"errors": ["permission denied"]}, None

        audit_request(rec, True)
        if auth_mode == "token":
            self.use_token(rec)

        if op not in ops and not (op == "create" and "update" in ops):
            audit_response(rec, True, aresp_base, "unsupported operation")
            self.after_request(rec)
            return 405, {"errors": ["unsupported operation"]}, None

        try:
            env = fn(ctx, **params)
        except APIError as e:
            aresp = dict(aresp_base)
            if e.envelope is not None:
                env = e.envelope
                env["request_id"] = request_id
                if env.get("data") is not None:
                    aresp["data"] = self.hash_struct(env["data"])
                audit_response(rec, True, aresp, e.audit_error or None)
                self.after_request(rec)
                return e.status, env, request_id
            if e.status == 400 and e.errors:
                aresp["data"] = {"error": self.hmac(e.errors[0])}
            audit_response(rec, True, aresp, e.audit_error or None)
            self.after_request(rec)
            return e.status, {"errors": e.errors}, None

        if env is None:                       # 204 No Content
            audit_response(rec, True, aresp_base)
            self.after_request(rec)
            return 204, None, None

        if wrap_ttl > 0 and fn is not self.h_wrap:
            env = self.wrap(env, wrap_ttl, vpath)

        env["request_id"] = request_id
        self.log_issued(request_id, vpath, env, fn)
        aresp = dict(aresp_base)
        if env.get("auth"):
            aresp["auth"] = self.audit_response_auth(env["auth"])
        if env.get("lease_id"):
            aresp["secret"] = {"lease_id": env["lease_id"]}
        if env.get("data") is not None:
            aresp["data"] = self.hash_struct(env["data"])
        if env.get("wrap_info"):
            aresp["wrap_info"] = self.audit_wrap_info(env["wrap_info"])
        if env.get("warnings"):
            aresp["warnings"] = env["warnings"]
        audit_response(rec, True, aresp)
        self.after_request(rec)
        return 200, env, request_id

    # -- wrapping ----------------------------------------------------------

    def wrap(self, env, ttl, creation_path):
        wtok = self.issue_token(policies=["response-wrapping"], display_name="",
                                path=creation_path, ttl=ttl, num_uses=1,
                                renewable=False, orphan=True, wrapping=True)
        stored = copy.deepcopy(env)
        stored["request_id"] = None
        creation = rfc3339nano(wtok.issue_ns)
        with self.lock:
            self.wrapped[wtok.id] = {"env": stored, "creation_time": creation,
                                     "creation_path": creation_path, "ttl": ttl}
        wrapped_accessor = env["auth"]["accessor"] if env.get("auth") else ""
        wi = {"token": wtok.id, "accessor": wtok.accessor, "ttl": ttl,
              "creation_time": creation, "creation_path": creation_path,
              "wrapped_accessor": wrapped_accessor}
        return self.envelope(env.get("mount_type", ""), wrap_info=wi)

    def _wrapping_token(self, ctx):
        body_tok = ctx["data"].get("token")
        if isinstance(body_tok, str) and body_tok:
            return body_tok
        rec = ctx["token"]
        return rec.id if rec is not None and rec.wrapping else ""

    def h_unwrap(self, ctx):
        wt = self._wrapping_token(ctx)
        with self.lock:
            rec = self.tokens.get(wt)
            entry = self.wrapped.get(wt)
            if (rec is None or entry is None or
                    (rec.expire_at is not None and time.time() > rec.expire_at)):
                if rec is not None:
                    self._revoke(rec)
                raise bad_request("wrapping token is not valid or does not exist")
            self._revoke(rec)                    # single use
        return copy.deepcopy(entry["env"])

    def h_wrap_lookup(self, ctx):
        wt = self._wrapping_token(ctx)
        with self.lock:
            entry = self.wrapped.get(wt)
            rec = self.tokens.get(wt)
        if entry is None or rec is None:
            raise bad_request("wrapping token is not valid or does not exist")
        return self.envelope("system", data={
            "creation_path": entry["creation_path"],
            "creation_time": entry["creation_time"],
            "creation_ttl": entry["ttl"]})

    def h_wrap(self, ctx):
        if ctx["wrap_ttl"] <= 0:
            raise bad_request("wrapping requested but no wrap TTL given")
        env = self.envelope("system", data=ctx["data"])
        return self.wrap(env, ctx["wrap_ttl"], "sys/wrapping/wrap")

    # -- KV handlers ---------------------------------------------------------

    def _kv_env(self, data):
        return self.envelope("kv", data=data)

    def h_kv_data(self, ctx, path):
        mount = ctx["mount"].rstrip("/")
        op = ctx["op"]
        if op == "read":
            ver = ctx["data"].get("version", "0")
            try:
                ver = int(ver or 0)
            except (TypeError, ValueError):
                raise bad_request("invalid version")
            with self.lock:
                rec = self.kv[mount].get(path)
                if rec is None:
                    raise APIError(404, [])
                if ver == 0:
                    ver = rec["current_version"]
                v = rec["versions"].get(ver)
                if v is None:
                    raise APIError(404, [])
                meta = self._kv_version_meta(rec, ver)
                if v["deletion_time"] or v["destroyed"]:
                    raise APIError(404, [], audit_error="",
                                   envelope=self._kv_env({"data": None, "metadata": meta}))
                return self._kv_env({"data": copy.deepcopy(v["data"]), "metadata": meta})
        if op in ("create", "update"):
            d = ctx["data"].get("data")
            if not isinstance(d, dict):
                raise bad_request("no data provided")
            opts = ctx["data"].get("options") or {}
            cas = opts.get("cas") if isinstance(opts, dict) else None
            if cas is not None:
                try:
                    cas = int(cas)
                except (TypeError, ValueError):
                    raise bad_request("invalid cas value")
            return self._kv_env(self.kv_put(mount, path, d, cas))
        if op == "patch":
            d = ctx["data"].get("data")
            if not isinstance(d, dict):
                raise bad_request("no data provided")
            with self.lock:
                rec = self.kv[mount].get(path)
                if rec is None:
                    raise APIError(404, [])
                cur = rec["versions"][rec["current_version"]]
                if cur["deletion_time"] or cur["destroyed"]:
                    raise APIError(404, [])
                merged = copy.deepcopy(cur["data"])
                for k, v in d.items():
                    if v is None:
                        merged.pop(k, None)
                    else:
                        merged[k] = v
                return self._kv_env(self.kv_put(mount, path, merged))
        if op == "delete":
            with self.lock:
                rec = self.kv[mount].get(path)
                if rec is not None:
                    v = rec["versions"][rec["current_version"]]
                    if not v["deletion_time"]:
                        v["deletion_time"] = rfc3339nano()
            return None
        raise APIError(405, ["unsupported operation"])

    def h_kv_metadata(self, ctx, path=None):
        mount = ctx["mount"].rstrip("/")
        path = path or ""
        op = ctx["op"]
        with self.lock:
            store = self.kv[mount]
            if op == "list":
                prefix = path.strip("/")
                prefix = prefix + "/" if prefix else ""
                keys = set()
                for p in store:
                    if p.startswith(prefix):
                        rest = p[len(prefix):]
                        head, sep, _ = rest.partition("/")
                        keys.add(head + "/" if sep else head)
                if not keys:
                    raise APIError(404, [])
                return self._kv_env({"keys": sorted(keys)})
            path = path.strip("/")
            if not path:
                raise APIError(405, ["unsupported operation"])
            rec = store.get(path)
            if op == "read":
                if rec is None:
                    raise APIError(404, [])
                versions = {str(n): {"created_time": v["created_time"],
                                     "deletion_time": v["deletion_time"],
                                     "destroyed": v["destroyed"]}
                            for n, v in rec["versions"].items()}
                return self._kv_env({
                    "cas_required": rec["cas_required"],
                    "created_time": rec["created_time"],
                    "current_version": rec["current_version"],
                    "custom_metadata": rec["custom_metadata"],
                    "delete_version_after": rec["delete_version_after"],
                    "max_versions": rec["max_versions"],
                    "oldest_version": rec["oldest_version"],
                    "updated_time": rec["updated_time"],
                    "versions": versions,
                })
            if op == "delete":
                store.pop(path, None)
                return None
            # create / update: only the few settable fields
            if rec is None:
                raise APIError(404, [])
            d = ctx["data"]
            if "custom_metadata" in d:
                cm = d["custom_metadata"]
                if cm is not None and not isinstance(cm, dict):
                    raise bad_request("custom_metadata must be an object")
                rec["custom_metadata"] = {k: str(v) for k, v in cm.items()} if cm else None
            if "max_versions" in d:
                try:
                    rec["max_versions"] = int(d["max_versions"])
                except (TypeError, ValueError):
                    raise bad_request("invalid max_versions")
            if "cas_required" in d:
                rec["cas_required"] = bool(d["cas_required"])
            rec["updated_time"] = rfc3339nano()
            return None

    def h_kv_versions(self, ctx, action, path):
        mount = ctx["mount"].rstrip("/")
        try:
            versions = [int(v) for v in as_list(ctx["data"].get("versions"))]
        except ValueError:
            raise bad_request("invalid versions")
        if not versions:
            raise bad_request("no version number provided")
        with self.lock:
            rec = self.kv[mount].get(path)
            if rec is None:
                return None
            for n in versions:
                v = rec["versions"].get(n)
                if v is None or v["destroyed"]:
                    continue
                if action == "delete" and not v["deletion_time"]:
                    v["deletion_time"] = rfc3339nano()
                elif action == "undelete":
                    v["deletion_time"] = ""
                elif action == "destroy":
                    v["destroyed"] = True
                    v["data"] = None
        return None

    def h_kv_config(self, ctx):
        return self._kv_env({"cas_required": False, "delete_version_after": "0s",
                             "max_versions": 0})

    # -- database ------------------------------------------------------------

    def h_db_creds(self, ctx, role):
        if role not in self.db_roles:
            raise bad_request("unknown role: %s" % role)
        username = "v-token-%s-%s-%d" % (role, rand_chars(20), int(time.time()))
        lease_id = "database/creds/%s/%s" % (role, rand_chars(24))
        with self.lock:
            self.leases[lease_id] = {"expire_at": time.time() + self.db_lease_ttl}
        return self.envelope("database",
                             data={"username": username, "password": db_password()},
                             lease_id=lease_id, renewable=True,
                             lease_duration=self.db_lease_ttl)

    def h_db_roles(self, ctx):
        return self.envelope("database", data={"keys": sorted(self.db_roles)})

    # -- AppRole -------------------------------------------------------------

    def _role(self, role):
        r = self.approle.get(role)
        if r is None:
            raise bad_request("role %s does not exist" % role)
        return r

    def h_approle_list(self, ctx):
        with self.lock:
            keys = sorted(self.approle)
        if not keys:
            raise APIError(404, [])
        return self.envelope("approle", data={"keys": keys})

    def h_approle_role(self, ctx, role):
        with self.lock:
            if ctx["op"] == "read":
                r = self.approle.get(role)
                if r is None:
                    raise APIError(404, [])
                return self.envelope("approle", data={
                    "bind_secret_id": True, "local_secret_ids": False,
                    "secret_id_bound_cidrs": None, "secret_id_num_uses": 0,
                    "secret_id_ttl": 0, "token_bound_cidrs": [],
                    "token_explicit_max_ttl": 0, "token_max_ttl": 0,
                    "token_no_default_policy": False, "token_num_uses": 0,
                    "token_period": 0,
                    "token_policies": [p for p in r["policies"] if p != "default"],
                    "policies": [p for p in r["policies"] if p != "default"],
                    "token_ttl": 0, "token_type": "default"})
            if ctx["op"] == "delete":
                self.approle.pop(role, None)
                return None
            d = ctx["data"]
            pol = as_list(d.get("token_policies", d.get("policies")))
            if role not in self.approle:
                self._create_approle(role, pol)
            elif "token_policies" in d or "policies" in d:
                self.approle[role]["policies"] = sanitize_policies(pol)
            if isinstance(d.get("role_id"), str) and d["role_id"]:
                self.approle[role]["role_id"] = d["role_id"]
        return None

    def h_approle_role_id(self, ctx, role):
        with self.lock:
            r = self._role(role)
            return self.envelope("approle", data={"role_id": r["role_id"]})

    def h_approle_secret_id(self, ctx, role):
        meta = ctx["data"].get("metadata")
        if isinstance(meta, str) and meta:
            try:
                meta = json.loads(meta)
            except ValueError:
                raise bad_request("failed to parse metadata")
        with self.lock:
            r = self._role(role)
            sid = self._new_secret_id(r, meta if isinstance(meta, dict) else None)
            acc = r["secret_ids"][sid]["accessor"]
        return self.envelope("approle", data={
            "secret_id": sid, "secret_id_accessor": acc,
            "secret_id_num_uses": 0, "secret_id_ttl": 0})

    def h_approle_login(self, ctx):
        d = ctx["data"]
        role_id = d.get("role_id")
        secret_id = d.get("secret_id")
        if not isinstance(role_id, str) or not role_id:
            raise bad_request("missing role_id")
        if not isinstance(secret_id, str) or not secret_id:
            raise bad_request("missing secret_id")
        with self.lock:
            name = next((n for n, r in self.approle.items()
                         if hmac.compare_digest(r["role_id"], role_id)), None)
            if name is None or secret_id not in self.approle[name]["secret_ids"]:
                raise bad_request("invalid role or secret ID")
            policies = list(self.approle[name]["policies"])
            rid = self.approle[name]["role_id"]
        rec = self.issue_token(policies=policies, display_name="approle",
                               path="auth/approle/login", ttl=DEFAULT_TOKEN_TTL,
                               meta={"role_name": name}, orphan=True,
                               entity_id=self.entity_for("approle:" + rid))
        return self.envelope("approle", auth=rec.auth_block())

    # -- userpass ------------------------------------------------------------

    def h_userpass_login(self, ctx, user):
        user = user.lower()
        pw = ctx["data"].get("password")
        if not isinstance(pw, str) or not pw:
            raise bad_request("missing password")
        u = self.userpass.get(user)
        if u is None or not hmac.compare_digest(u["password"].encode(), pw.encode()):
            raise bad_request("invalid username or password")
        rec = self.issue_token(policies=sanitize_policies(u["policies"]),
                               display_name="userpass-" + user,
                               path="auth/userpass/login/" + user,
                               ttl=DEFAULT_TOKEN_TTL, meta={"username": user},
                               orphan=True, entity_id=self.entity_for("userpass:" + user))
        return self.envelope("userpass", auth=rec.auth_block())

    # -- tokens --------------------------------------------------------------

    def h_token_lookup_self(self, ctx):
        rec = ctx["token"]
        exp = rfc3339nano(int(rec.expire_at * 1e9)) if rec.expire_at else None
        return self.envelope("token", data={
            "accessor": rec.accessor,
            "creation_time": rec.issue_ns // 10 ** 9,
            "creation_ttl": rec.ttl,
            "display_name": rec.display_name,
            "entity_id": rec.entity_id,
            "expire_time": exp,
            "explicit_max_ttl": 0,
            "id": rec.id,
            "issue_time": rfc3339nano(rec.issue_ns),
            "meta": rec.meta,
            "num_uses": max(rec.num_uses, 0),
            "orphan": rec.orphan,
            "path": rec.path,
            "policies": list(rec.policies),
            "renewable": rec.renewable,
            "ttl": rec.remaining(),
            "type": rec.type,
        })

    def h_token_create(self, ctx):
        parent = ctx["token"]
        d = ctx["data"]
        req_pol = as_list(d.get("policies"))
        if req_pol:
            policies = sanitize_policies(req_pol, add_default=not d.get("no_default_policy"))
        else:
            policies = list(parent.policies)
        ttl = DEFAULT_TOKEN_TTL
        if d.get("ttl") not in (None, ""):
            try:
                ttl = parse_duration(d["ttl"])
            except ValueError:
                raise bad_request("invalid ttl")
        if policies == ["root"] and d.get("ttl") in (None, ""):
            ttl = 0
        display = "token"
        if isinstance(d.get("display_name"), str) and d["display_name"]:
            display = "token-" + re.sub(r"[^a-zA-Z0-9-]", "-", d["display_name"]).lower()
        meta = d.get("meta") if isinstance(d.get("meta"), dict) else None
        try:
            num_uses = int(d.get("num_uses") or 0)
        except (TypeError, ValueError):
            raise bad_request("invalid num_uses")
        orphan = ctx["vpath"].endswith("-orphan") or bool(d.get("no_parent"))
        renewable = d.get("renewable", True) is not False and ttl > 0
        rec = self.issue_token(policies=policies, display_name=display,
                               path=ctx["vpath"], ttl=ttl, meta=meta,
                               orphan=orphan, renewable=renewable,
                               num_uses=num_uses, entity_id=parent.entity_id)
        return self.envelope("token", auth=rec.auth_block())

    def h_token_renew_self(self, ctx):
        rec = ctx["token"]
        if not rec.renewable or rec.ttl == 0:
            raise bad_request("lease is not renewable")
        inc = rec.ttl
        if ctx["data"].get("increment") not in (None, ""):
            try:
                inc = parse_duration(ctx["data"]["increment"])
            except ValueError:
                raise bad_request("invalid increment")
        with self.lock:
            rec.expire_at = time.time() + inc
        return self.envelope("token", auth=rec.auth_block(lease_duration=inc))

    def h_token_revoke_self(self, ctx):
        with self.lock:
            self._revoke(ctx["token"])
        return None

    # -- sys -----------------------------------------------------------------

    def h_audit_hash(self, ctx, device):
        v = ctx["data"].get("input")
        if isinstance(v, bool):
            v = "1" if v else "0"
        elif isinstance(v, (int, float)):
            v = str(v)
        if not isinstance(v, str) or v == "":
            raise bad_request('the "input" parameter is empty')
        return self.envelope("system", data={"hash": self.hmac(v)})

    def _lease_arg(self, ctx, lease):
        lid = lease or ctx["data"].get("lease_id") or ctx["data"].get("lease")
        if not isinstance(lid, str) or not lid:
            raise bad_request("lease_id must be specified")
        return lid

    def h_lease_renew(self, ctx, lease=None):
        lid = self._lease_arg(ctx, lease)
        inc = self.db_lease_ttl
        if ctx["data"].get("increment") not in (None, "", 0):
            try:
                inc = min(parse_duration(ctx["data"]["increment"]), DEFAULT_TOKEN_TTL)
            except ValueError:
                raise bad_request("invalid increment")
        with self.lock:
            l = self.leases.get(lid)
            if l is None or time.time() > l["expire_at"]:
                self.leases.pop(lid, None)
                raise bad_request("lease not found")
            l["expire_at"] = time.time() + inc
        return self.envelope("system", lease_id=lid, renewable=True, lease_duration=inc)

    def h_lease_revoke(self, ctx, lease=None):
        lid = self._lease_arg(ctx, lease)
        with self.lock:
            self.leases.pop(lid, None)
        return None

    def h_ui_mounts(self, ctx, path):
        prefix = self.mount_for(path.strip("/"))
        if prefix is None:
            raise APIError(404, [])
        m = self.mounts[prefix]
        return self.envelope("system", data={
            "accessor": m["accessor"],
            "config": {"default_lease_ttl": 0, "force_no_cache": False, "max_lease_ttl": 0},
            "description": m["description"],
            "external_entropy_access": False,
            "local": False,
            "options": m["options"],
            "path": prefix,
            "plugin_version": "",
            "running_plugin_version": "v%s+builtin.vault" % VAULT_VERSION,
            "running_sha256": "",
            "seal_wrap": False,
            "type": m["type"],
            "uuid": m["uuid"],
        })

    # -- h2 dump -----------------------------------------------------------------

    def dump_h2(self, method, path, request_id, status, headers, body):
        if not self.h2_dir:
            return
        with self.lock:
            self.h2_seq += 1
            seq = self.h2_seq
        hop = {"connection", "keep-alive", "transfer-encoding", "upgrade",
               "proxy-connection"}
        h2 = [[":status", str(status)]] + [[k.lower(), v] for k, v in headers
                                             if k.lower() not in hop]
        try:
            text = body.decode("utf-8") if body else ""
        except UnicodeDecodeError:
            text = None
        rec = {"seq": seq, "method": method, "path": path, "request_id": request_id,
               "status": status, "headers": h2,
               "body_b64": base64.b64encode(body).decode("ascii"), "body": text}
        try:
            atomic_write(os.path.join(self.h2_dir, "%06d.json" % seq),
                         json.dumps(rec, indent=1) + "\n")
        except OSError as e:
            sys.stderr.write("vault_standin: h2 dump failed: %s\n" % e)


# ---------------------------------------------------------------------------
# HTTP layer


class BodyError(Exception):
    def __init__(self, status, msg):
        super().__init__(msg)
        self.status = status
        self.msg = msg


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120                      # idle keep-alive connections
    server_version = "vault-standin"
    sys_version = ""

    # -- plumbing ------------------------------------------------------------

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def log_message(self, fmt, *args):
        if self.server.vault.verbose:
            sys.stderr.write("vault_standin: %s - %s\n" % (self.client_address[0], fmt % args))

    def send_error(self, code, message=None, explain=None):
        """Used by the base class for malformed request lines/headers."""
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = ""
        self.log_error("code %d, message %s", code, message)
        body = go_json({"errors": [message or phrase]})
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.1"
        self._write(code, [("Content-Type", "application/json")], body, close=True,
                    allow_chunked=False, allow_encoding=False)

    def _read_body(self):
        te = self.headers.get_all("Transfer-Encoding") or []
        if te:
            codings = [c.strip().lower() for v in te for c in v.split(",") if c.strip()]
            if codings != ["chunked"]:
                raise BodyError(501, "unsupported transfer encoding: %s" % ",".join(codings))
            if self.headers.get("Content-Length") is not None:
                self.close_connection = True     # RFC 9112 6.3: TE wins, then close
            return self._read_chunked()
        cls = self.headers.get_all("Content-Length") or []
        if not cls:
            return b""
        vals = {v.strip() for c in cls for v in c.split(",")}
        if len(vals) != 1:
            raise BodyError(400, "invalid Content-Length")
        v = vals.pop()
        if not v.isdigit():
            raise BodyError(400, "invalid Content-Length")
        n = int(v)
        if n > MAX_REQUEST_SIZE:
            raise BodyError(413, "http: request body too large")
        data = self.rfile.read(n)
        if len(data) != n:
            raise BodyError(400, "unexpected EOF reading request body")
        return data

    def _read_chunked(self):
        out = bytearray()
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            if not line or len(line) > MAX_LINE or not line.endswith(b"\n"):
                raise BodyError(400, "malformed chunked encoding")
            size_s = line.split(b";", 1)[0].strip()
            try:
                if not size_s or not all(c in b"0123456789abcdefABCDEF" for c in size_s):
                    raise ValueError
                size = int(size_s, 16)
            except ValueError:
                raise BodyError(400, "malformed chunked encoding")
            if size == 0:
                break
            if len(out) + size > MAX_REQUEST_SIZE:
                raise BodyError(413, "http: request body too large")
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise BodyError(400, "unexpected EOF reading request body")
            out += chunk
            crlf = self.rfile.readline(MAX_LINE + 1)
            if crlf not in (b"\r\n", b"\n"):
                raise BodyError(400, "malformed chunked encoding")
        # trailer section
        for _ in range(100):
            line = self.rfile.readline(MAX_LINE + 1)
            if not line:
                raise BodyError(400, "unexpected EOF reading request body")
            if line in (b"\r\n", b"\n"):
                return bytes(out)
        raise BodyError(400, "too many trailers")

    def _choose_encoding(self):
        forced = (self.headers.get("X-Standin-Encoding") or "").strip().lower()
        if forced in ("gzip", "deflate"):
            return forced
        if forced in ("identity", "none"):
            return None
        if not self.server.opts.gzip:
            return None
        for item in (self.headers.get("Accept-Encoding") or "").split(","):
            parts = [p.strip() for p in item.split(";")]
            if parts[0].lower() in ("gzip", "x-gzip"):
                q = 1.0
                for p in parts[1:]:
                    if p.lower().startswith("q="):
                        try:
                            q = float(p[2:])
                        except ValueError:
                            q = 0.0
                if q > 0:
                    return "gzip"
        return None

    def _want_chunked(self):
        h = (self.headers.get("X-Standin-Chunked") or "").strip().lower()
        if h in ("1", "true", "yes"):
            return True
        if h in ("0", "false", "no"):
            return False
        return self.server.opts.chunked

    def _write(self, status, headers, body, close=False, head=False,
               allow_chunked=True, allow_encoding=True):
        """Write one response.  Each chunk goes out in its own send()."""
        headers = list(headers)
        headers.append(("Date", email.utils.formatdate(usegmt=True)))
        no_body = status == 204 or status == 304 or 100 <= status < 200
        chunked = False
        if not no_body and body:
            enc = self._choose_encoding() if allow_encoding else None
            if enc == "gzip":
                body = gzip.compress(body, mtime=0)
            elif enc == "deflate":
                body = zlib.compress(body)
            if enc:
                headers.append(("Content-Encoding", enc))
                headers.append(("Vary", "Accept-Encoding"))
            chunked = (allow_chunked and not head and self._want_chunked()
                       and self.request_version == "HTTP/1.1")
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        elif not no_body:
            headers.append(("Content-Length", str(len(body))))
        if self.request_version != "HTTP/1.1" and not close:
            if (self.headers.get("Connection") or "").lower() == "keep-alive":
                headers.append(("Connection", "keep-alive"))
        if close:
            self.close_connection = True
        if self.close_connection:
            headers.append(("Connection", "close"))
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        head_bytes = ("HTTP/1.1 %d %s\r\n" % (status, phrase)
                      + "".join("%s: %s\r\n" % (k, v) for k, v in headers)
                      + "\r\n").encode("latin-1")
        self.log_request(status, len(body) if body else 0)
        self.wfile.write(head_bytes)
        if not no_body and not head and body:
            if chunked:
                pos, sizes = 0, [7, 100]
                while pos < len(body):
                    n = sizes.pop(0) if sizes else len(body) - pos
                    piece = body[pos:pos + n]
                    pos += len(piece)
                    self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(body)
        elif chunked:
            self.wfile.write(b"0\r\n\r\n")
        if hasattr(self.wfile, "flush"):
            self.wfile.flush()
        return headers, body

    # -- dispatch ------------------------------------------------------------

    def _serve(self):
        method = self.command.upper()
        vault = self.server.vault
        try:
            body = self._read_body()
        except BodyError as e:
            self._write(e.status, [("Cache-Control", "no-store"),
                                   ("Content-Type", "application/json")],
                        go_json({"errors": [e.msg]}), close=True)
            return
        url = urlsplit(self.path)
        remote = (self.client_address[0], self.client_address[1])
        try:
            status, obj, rid = vault.handle(method, url.path or "/", url.query,
                                            self.headers, body, remote)
        except Exception:                               # a bug in the stand-in
            traceback.print_exc()
            status, obj, rid = 500, {"errors": ["internal error"]}, None
        payload = go_json(obj) if obj is not None else b""
        hdrs = [("Cache-Control", "no-store")]
        if status != 204:
            hdrs.append(("Content-Type", "application/json"))
        sent_headers, sent_body = self._write(status, hdrs, payload, head=(method == "HEAD"))
        if url.path.startswith("/v1/") and url.path.rstrip("/") != "/v1/sys/health":
            vault.dump_h2(method, url.path, rid, status, sent_headers, sent_body)

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_LIST = do_HEAD = do_GET


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, addr, family, vault, opts, ssl_ctx):
        self.address_family = family
        self.vault = vault
        self.opts = opts
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, Handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            try:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            except OSError:
                pass
        socketserver.TCPServer.server_bind(self)     # skip getfqdn() lookup
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]
        if self.ssl_ctx is not None:
            self.socket = self.ssl_ctx.wrap_socket(self.socket, server_side=True,
                                                   do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError, OSError)):
            if self.vault.verbose:
                sys.stderr.write("vault_standin: %s: %s\n" % (client_address, exc))
            return
        super().handle_error(request, client_address)


def parse_listen(s):
    s = s.strip()
    if s.startswith("["):
        host, sep, port = s[1:].partition("]:")
        if not sep:
            raise argparse.ArgumentTypeError("bad --listen %r (want [HOST]:PORT)" % s)
    else:
        host, sep, port = s.rpartition(":")
        if not sep:
            raise argparse.ArgumentTypeError("bad --listen %r (want HOST:PORT)" % s)
    try:
        port = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError("bad port in --listen %r" % s)
    return host or "127.0.0.1", port


def main(argv=None):
    ap = argparse.ArgumentParser(description="HashiCorp Vault HTTP API stand-in")
    ap.add_argument("--listen", action="append", type=parse_listen, required=True,
                    metavar="HOST:PORT", help="address to listen on (repeatable; port 0 = any)")
    ap.add_argument("--ready-file", required=True,
                    help="written (atomically) with the URL(s) once listening")
    ap.add_argument("--audit-log", required=True, help="Vault file-audit-device style log")
    ap.add_argument("--seed-file", help='JSON {"kv": {"mount/path": {field: value}}}')
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--chunked", action="store_true",
                    help="send response bodies with Transfer-Encoding: chunked")
    ap.add_argument("--gzip", action="store_true",
                    help="gzip response bodies when the client accepts gzip")
    ap.add_argument("--h2-responses-dir", help="also save every response here (see docstring)")
    ap.add_argument("--issued-log",
                    help="append one JSON line per secret value handed out (see docstring)")
    ap.add_argument("--db-lease-ttl", type=int, metavar="SECONDS",
                    help="lease_duration of database credentials (default %d)" % DB_LEASE_TTL)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    if args.db_lease_ttl is not None and args.db_lease_ttl < 1:
        ap.error("--db-lease-ttl must be at least 1")
    for p in (args.ready_file, args.ready_file + ".creds.json"):
        try:
            os.unlink(p)                     # never let a stale file look ready
        except FileNotFoundError:
            pass
    if args.h2_responses_dir:
        os.makedirs(args.h2_responses_dir, exist_ok=True)

    ssl_ctx = None
    if args.tls_cert:
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.load_cert_chain(args.tls_cert, args.tls_key)
        ssl_ctx.set_alpn_protocols(["http/1.1"])

    vault = Vault(args)
    servers = []
    scheme = "https" if ssl_ctx else "http"
    try:
        for host, port in args.listen:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
            family, _, _, _, sockaddr = infos[0]
            servers.append(Server(sockaddr[:2], family, vault, args, ssl_ctx))
    except OSError as e:
        sys.stderr.write("vault_standin: cannot listen: %s\n" % e)
        for s in servers:
            s.server_close()
        vault.close()
        return 1

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threads = []
    for s in servers:
        t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                             daemon=True, name="serve-%s" % (s.server_address,))
        t.start()
        threads.append(t)

    urls = []
    for s in servers:
        host, port = s.server_address[:2]
        if s.address_family == socket.AF_INET6:
            host = "[%s]" % host
        urls.append("%s://%s:%d" % (scheme, host, port))

    creds = {
        "root_token": vault.root.id,
        "role_id": vault.approle["agent"]["role_id"],
        "secret_id": vault.agent_secret_id,
        "userpass": {"username": "alice", "password": vault.userpass["alice"]["password"]},
    }
    atomic_write(args.ready_file + ".creds.json", json.dumps(creds, indent=2) + "\n", 0o600)
    atomic_write(args.ready_file, "\n".join(urls) + "\n")
    for u in urls:
        print(u)
    sys.stdout.flush()

    while not stop.is_set():
        stop.wait(0.5)

    for s in servers:
        s.shutdown()
    for s in servers:
        s.server_close()
    vault.close()
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
