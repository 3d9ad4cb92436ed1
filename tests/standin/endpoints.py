"""The fake Vault's endpoint handlers, one h_* method per route of core.py's table, as
the Endpoints mixin that Vault inherits: response wrapping (unwrap, lookup, wrap), KV v2
(data, metadata, delete/undelete/destroy, config), database credentials, AppRole and
userpass logins and roles, tokens (lookup-self, create, renew-self, revoke-self), and sys
(audit-hash, lease renew and revoke, ui mounts).  Each takes the request context and the
route's parameters and returns a response envelope, None for 204, or raises APIError.
"""

import copy
import hmac
import json
import re
import time

from .util import (DEFAULT_TOKEN_TTL, VAULT_VERSION, APIError, as_list, bad_request,
                   db_password, parse_duration, rand_chars, rfc3339nano,
                   sanitize_policies)


class Endpoints:
    """The h_* handlers; mixed into core.Vault, whose state and helpers they use."""

    # -- wrapping ----------------------------------------------------------

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
        # the one device there is: the file audit device at "file/" (--audit-log)
        if device.rstrip("/") != "file":
            raise bad_request('unknown audit backend "%s/"' % device.rstrip("/"))
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
