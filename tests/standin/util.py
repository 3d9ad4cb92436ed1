"""The stand-in's small pieces: Vault's constants (version, default TTLs, request size
limits), random tokens, UUIDs and database passwords, Go-style time stamps, durations and
JSON, omitempty, atomic file writes, the APIError a handler raises for an error response,
the Token record with its auth block, and policy and list argument normalisation.
"""

import json
import os
import re
import secrets
import string
import tempfile
import time
import uuid

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
