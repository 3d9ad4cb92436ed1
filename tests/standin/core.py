"""The fake Vault's state and request handling: tokens, AppRole roles, userpass users,
KV v2 stores, leases and wrapped responses; its mounts and the route table from paths to
the h_* endpoint handlers (endpoints.py, inherited); handle(), which turns one HTTP request
into Vault's JSON response and writes the file audit device's request and response entries
(secrets HMAC'd); response wrapping; the issued-secrets log (test ground truth) and the
saved responses for HTTP/2 replay.
"""

import base64
import copy
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import threading
import time
from urllib.parse import parse_qs, unquote

from .endpoints import Endpoints
from .util import (DB_LEASE_TTL, VAULT_VERSION, APIError, Token, atomic_write,
                   bad_request, drop_empty, new_uuid, parse_duration, rand_chars,
                   rfc3339, rfc3339nano, sanitize_policies, sorted_maps)


# ---------------------------------------------------------------------------
# the fake Vault


class Vault(Endpoints):
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
