"""The checks of secretrace's end-to-end tests (stdlib only): reading the events file,
the event invariants every run must satisfy (check_common), each event against its JSON
Schema (check_schemas), the expected secret.use events of a run (assert_uses, with the
ground-truth helpers the_receive, use_spec and to_vault), the leak check over what the
tracer wrote (check_leaks), and one-line descriptions of events for assertion messages.
harness.py re-exports every name; tests import them from there.
"""

import glob
import json
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATE_GLOBS = ["/var/lib/secretrace/**"]        # where secretrace keeps state on disk


# ---------------------------------------------------------------------------
# events


def get(ev, dotted, default=None):
    cur = ev
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def load_events(path):
    out = []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return out
    for n, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            ev = json.loads(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise AssertionError("events file line %d is not a JSON object: %s: %r"
                                 % (n, e, line[:200]))
        assert isinstance(ev, dict), "events file line %d is not an object" % n
        out.append(ev)
    return out


def actions(events, action):
    return [e for e in events if get(e, "event.action") == action]


def describe(ev):
    """One-line summary of an event for assertion messages (no secret values:
    events must not hold any)."""
    keys = ["event.action", "event.sequence", "process.pid", "process.name", "vault.request_id",
            "vault.path", "vault.field", "secret.fingerprint", "secret.source", "secretrace.sink",
            "secretrace.syscall", "destination.ip", "destination.port", "network.transport",
            "destination.address", "file.path", "secretrace.repeat_count", "secretrace.rescanned"]
    parts = []
    for k in keys:
        v = get(ev, k)
        if v is not None:
            parts.append("%s=%s" % (k.split(".", 1)[-1] if k != "event.action" else "action", v))
    return "{" + " ".join(parts) + "}"


def describe_all(evs, limit=30):
    s = "\n      ".join(describe(e) for e in evs[:limit])
    if len(evs) > limit:
        s += "\n      ... %d more" % (len(evs) - limit)
    return "\n      " + s if evs else " (none)"


TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
PROCESS_ACTIONS = {"process.start", "network.connect", "secret.receive", "secret.use",
                   "secret.violation"}


_schemas = None


def check_schemas(events):
    """Every event is valid against the JSON Schema of its event.action
    (docs/schemas/, checked against ECS by tools/check_schemas.py)."""
    global _schemas
    if _schemas is None:
        import sys
        sys.path.insert(0, os.path.join(REPO, "tools"))
        import check_schemas as cs
        _schemas = cs.validators()
    errors = []
    for i, ev in enumerate(events):
        v = _schemas.get(get(ev, "event.action"))
        if v is None:
            errors.append("event #%d %s: no schema for this event.action" % (i, describe(ev)))
            continue
        for e in v.iter_errors(ev):
            where = ".".join(str(p) for p in e.absolute_path) or "(event)"
            errors.append("event #%d %s: %s: %s" % (i, describe(ev), where, e.message))
    assert not errors, "events do not match docs/schemas/:\n  " + "\n  ".join(errors[:10])


def check_common(events, stopped=True):
    """Contract invariants every run must satisfy."""
    assert events, "no events written"
    check_schemas(events)
    assert get(events[0], "event.action") == "tracer.start", \
        "first event is %s, not tracer.start" % describe(events[0])
    v = get(events[0], "secretrace.version")
    assert isinstance(v, str) and v, "tracer.start lacks secretrace.version"
    if stopped:
        assert get(events[-1], "event.action") == "tracer.stop", \
            "last event is %s, not tracer.stop" % describe(events[-1])
        assert len(actions(events, "tracer.start")) == 1, "more than one tracer.start"
        assert len(actions(events, "tracer.stop")) == 1, "more than one tracer.stop"
    ids = set()
    last_seq = None
    for i, ev in enumerate(events):
        ts = ev.get("@timestamp")
        assert isinstance(ts, str) and TS_RE.match(ts), \
            "event #%d %s: @timestamp %r is not RFC 3339 UTC with microseconds" % (i, describe(ev), ts)
        eid = get(ev, "event.id")
        assert isinstance(eid, str) and eid, "event #%d %s has no event.id" % (i, describe(ev))
        assert eid not in ids, "event.id %s repeated (event #%d %s)" % (eid, i, describe(ev))
        ids.add(eid)
        seq = get(ev, "event.sequence")
        assert isinstance(seq, int), "event #%d %s: event.sequence %r" % (i, describe(ev), seq)
        assert last_seq is None or seq > last_seq, \
            "event.sequence not strictly increasing: %s after %s (event #%d %s)" % (seq, last_seq, i, describe(ev))
        last_seq = seq
        assert get(ev, "event.kind") in ("event", "alert"), \
            "event #%d %s: event.kind %r" % (i, describe(ev), get(ev, "event.kind"))
        assert isinstance(get(ev, "host.name"), str) and get(ev, "host.name"), \
            "event #%d %s has no host.name" % (i, describe(ev))
        # a secret learned from a --learn-file file was received by no process
        if get(ev, "event.action") in PROCESS_ACTIONS and get(ev, "secret.source") != "file":
            for k in ("process.pid", "process.entity_id", "process.thread.id", "process.name",
                      "process.executable", "process.parent.pid"):
                assert get(ev, k) is not None, "event #%d %s lacks %s" % (i, describe(ev), k)
            assert isinstance(get(ev, "user.id"), str), \
                "event #%d %s: user.id %r is not a string" % (i, describe(ev), get(ev, "user.id"))
    if stopped:
        stats = get(events[-1], "secretrace.stats")
        assert isinstance(stats, dict), "tracer.stop lacks secretrace.stats"
        for k in ("events", "lost", "bytes_scanned", "bytes_not_scanned"):
            assert isinstance(stats.get(k), int), "tracer.stop lacks secretrace.stats.%s" % k


def receives(events, **match):
    return [e for e in actions(events, "secret.receive") if matches(e, match)]


def matches(ev, spec):
    for k, v in spec.items():
        if k.startswith("_"):
            continue
        if callable(v):
            if not v(get(ev, k)):
                return False
        elif get(ev, k) != v:
            return False
    return True


def sink_key(ev):
    return (get(ev, "process.entity_id"), get(ev, "secret.fingerprint"),
            get(ev, "secretrace.sink"), get(ev, "network.transport"), get(ev, "destination.ip"),
            get(ev, "destination.port"), get(ev, "destination.address"), get(ev, "file.path"))


def assert_uses(events, expected, allowed=()):
    """The secret.use events of a run are exactly `expected`.

    expected: list of specs ({dotted field: value or predicate}); each must
    match exactly one first-use event.  A spec may carry "_repeats": N, then
    exactly one repeat report (secretrace.repeat_count == N) must exist for
    that (process, secret, sink); otherwise none may.  Every first-use event
    must match an expected spec or one of the `allowed` specs (uses the test
    tolerates but does not require, e.g. a token sent back to Vault).
    Each (process, secret fingerprint, sink/destination) is reported once."""
    uses = actions(events, "secret.use")
    first = [e for e in uses if get(e, "secretrace.repeat_count") is None]
    repeats = [e for e in uses if get(e, "secretrace.repeat_count") is not None]
    errors = []
    seen = {}
    for e in first:
        seen.setdefault(sink_key(e), []).append(e)
    for k, evs in seen.items():
        if len(evs) > 1:
            errors.append("use reported %d times for one (process, secret, sink) instead of once:%s"
                          % (len(evs), describe_all(evs)))
    matched_ids = set()
    for spec in expected:
        m = [e for e in first if matches(e, spec)]
        label = spec.get("_label") or ", ".join(
            "%s=%s" % (k, v) for k, v in spec.items() if not k.startswith("_") and not callable(v))
        if len(m) != 1:
            errors.append("expected exactly one secret.use [%s], found %d:%s"
                          % (label, len(m), describe_all(m)))
            continue
        ev = m[0]
        matched_ids.add(get(ev, "event.id"))
        reps = [r for r in repeats if sink_key(r) == sink_key(ev)]
        want = spec.get("_repeats")
        if want is None:
            if reps:
                errors.append("unexpected repeat report for [%s]:%s" % (label, describe_all(reps)))
        else:
            total = sum(get(r, "secretrace.repeat_count") or 0 for r in reps)
            if total != want:
                errors.append("[%s]: expected repeats totalling %d, got %d:%s"
                              % (label, want, total, describe_all(reps)))
    for e in first:
        if get(e, "event.id") in matched_ids:
            continue
        if any(matches(e, a) for a in allowed):
            continue
        errors.append("unexpected secret.use: %s" % describe(e))
    if errors:
        raise AssertionError("secret.use events differ from the expectation:\n  - "
                             + "\n  - ".join(errors)
                             + "\n  all secret.use events:" + describe_all(uses, 12))


TOKEN_FIELDS = {"client_token", "secret_id", "role_id", "password", "wrap_info.token"}


def to_vault(vault):
    """Allowed-use spec: a Vault credential sent back to the Vault server
    (the token in X-Vault-Token, a secret_id to the login path)."""
    return {"secretrace.sink": "socket", "destination.port": vault.port,
            "destination.ip": vault.host, "vault.field": lambda f: f in TOKEN_FIELDS}


def is_pipe(path):
    return isinstance(path, str) and re.match(r"^pipe:\[\d+\]$", path) is not None


def assert_no_learn_failures(events):
    lf = actions(events, "secret.learn_failed")
    assert not lf, "secret.learn_failed events:%s" % describe_all(lf)


def the_receive(events, rec, source="response", vault=None):
    """The one secret.receive of a ground-truth record; returns it."""
    r = receives(events, **{"vault.request_id": rec["request_id"], "vault.path": rec["path"],
                            "vault.field": rec["field"]})
    assert len(r) == 1, "expected one secret.receive for %s %s (request %s), found %d:%s\n  all receives:%s" % (
        rec["path"], rec["field"], rec["request_id"], len(r), describe_all(r),
        describe_all(actions(events, "secret.receive")))
    ev = r[0]
    assert get(ev, "secret.source") == source, "secret.receive %s: secret.source %r, expected %r" % (
        describe(ev), get(ev, "secret.source"), source)
    fp = get(ev, "secret.fingerprint")
    assert isinstance(fp, str) and fp, "secret.receive %s has no fingerprint" % describe(ev)
    if rec.get("lease_id"):
        assert get(ev, "vault.lease_id") == rec["lease_id"], "secret.receive %s: vault.lease_id %r, expected %r" % (
            describe(ev), get(ev, "vault.lease_id"), rec["lease_id"])
    if vault is not None:
        assert (get(ev, "destination.ip"), get(ev, "destination.port")) == (vault.host, vault.port), \
            "secret.receive %s: destination %s:%s is not the Vault server %s:%s" % (
                describe(ev), get(ev, "destination.ip"), get(ev, "destination.port"), vault.host, vault.port)
    return ev


def use_spec(rec, sink, syscall, dest=None, transport=None, file_path=None, process=None,
             fingerprint=None, **extra):
    """A spec for assert_uses from a ground-truth issued-log record."""
    spec = {"vault.request_id": rec["request_id"], "vault.path": rec["path"],
            "vault.field": rec["field"], "secretrace.sink": sink,
            "secretrace.syscall": syscall, "event.kind": "event", "secret.encoding": "raw"}
    if fingerprint is not None:
        spec["secret.fingerprint"] = fingerprint
    if dest is not None:
        spec["destination.ip"], spec["destination.port"] = dest
    if transport is not None:
        spec["network.transport"] = transport
    if file_path is not None:
        spec["file.path"] = file_path
    if process is not None:
        spec["process.name"] = process
    if rec.get("lease_id"):
        spec["vault.lease_id"] = rec["lease_id"]
    spec.update(extra)
    spec["_label"] = "%s %s -> %s %s%s%s by %s" % (
        rec["path"], rec["field"], sink, syscall,
        " %s:%s" % dest if dest else "", " " + file_path if file_path else "",
        process or "any process")
    return spec


# ---------------------------------------------------------------------------
# leak check


def check_leaks(paths, secret_values):
    """No 8-byte run of any secret value in any file the tracer wrote
    (runs that also occur in the secret's public metadata excepted).
    secret_values() returns [(value, [metadata], label)] (Workspace.secret_values)."""
    files = list(paths)
    for g in STATE_GLOBS:
        files.extend(p for p in glob.glob(g, recursive=True) if os.path.isfile(p))
    blobs = []
    for p in files:
        try:
            with open(p, "rb") as f:
                blobs.append((p, without_random_ids(f.read())))
        except FileNotFoundError:
            pass
    problems = []
    for value, meta, label in secret_values():
        b = value.encode("utf-8")
        mb = [m.encode("utf-8") for m in meta if m]
        for i in range(len(b) - 7):
            w = b[i:i + 8]
            if any(w in m for m in mb):
                continue
            for p, data in blobs:
                k = data.find(w)
                if k >= 0:
                    problems.append("8-byte run at offset %d of secret [%s] (%s...) found in %s "
                                    "at byte %d: %r" % (i, label, value[:4], p, k,
                                                        data[max(0, k - 60):k + 20]))
                    break
            if len(problems) > 5:
                break
    if problems:
        raise AssertionError("secret leaked into tracer output:\n  " + "\n  ".join(problems))


RANDOM_IDS = re.compile(rb'"(id|entity_id|fingerprint)":"[0-9a-f-]{32,36}"')


def without_random_ids(data):
    """The tracer's own random and hashed identifiers (event.id, process.entity_id,
    secret.fingerprint) blanked: a UUID secret (a role_id, a secret_id) shares an 8-byte run
    with one of those by chance now and then, which is not a leak."""
    return RANDOM_IDS.sub(b'"\\1":""', data)
