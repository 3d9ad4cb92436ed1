"""Fixtures and assertions for secretrace's end-to-end tests (stdlib only).

A test does:

    with Workspace() as ws:
        vault = ws.vault()                      # the Vault stand-in, ready
        rx = ws.tcp_receiver()                  # harness-owned receiver, port known
        run = ws.run_traced([PY, agent("x.py"), ...])
        rc, events, stderr = run                # leak check and event schema done
        ...

Everything a Workspace starts is killed and reaped, and its temp dir removed,
when the `with` block ends, also on failure.
"""

import glob
import json
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SECRETRACE = os.path.join(REPO, "build", "secretrace")
STANDIN = os.path.join(REPO, "tests", "vault_standin.py")
AGENTS = os.path.join(REPO, "tests", "agents")
AGENT_BIN = os.path.join(REPO, "build", "tests")
PY = "/usr/bin/python3"
STATE_GLOBS = ["/var/lib/secretrace/**"]        # where secretrace keeps state on disk
CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

B62 = string.ascii_letters + string.digits


def timeout(seconds):
    """Decorator: per-test timeout (read statically by run.py)."""
    def deco(fn):
        fn.timeout = seconds
        return fn
    return deco


def agent(name):
    """Path of an agent script in tests/agents/."""
    return os.path.join(AGENTS, name)


def agent_bin(name):
    """Path of a compiled C agent (built by `make e2e` into build/tests/)."""
    p = os.path.join(AGENT_BIN, name)
    if not os.path.exists(p) or (os.path.getmtime(p) < os.path.getmtime(os.path.join(AGENTS, name + ".c"))):
        os.makedirs(AGENT_BIN, exist_ok=True)
        subprocess.run(["gcc", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-o", p,
                        os.path.join(AGENTS, name + ".c")], check=True)
    return p


def rand_secret(n, prefix="", alphabet=B62):
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


def wait_for(pred, timeout, what, interval=0.02, alive=None):
    """Poll pred() until true (returns its value) or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if alive is not None and alive.poll() is not None:
            raise AssertionError("%s: process exited with %s while waiting" % (what, alive.returncode))
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


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
        if get(ev, "event.action") in PROCESS_ACTIONS:
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
# processes and workspace


class Run:
    """Result of a traced run; unpacks as (rc, events, stderr)."""

    def __init__(self, rc, events, stderr, events_path, stderr_path, stdout_path, pid):
        self.rc, self.events, self.stderr = rc, events, stderr
        self.events_path, self.stderr_path, self.stdout_path = events_path, stderr_path, stdout_path
        self.pid = pid

    def __iter__(self):
        return iter((self.rc, self.events, self.stderr))

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read()


class Workspace:
    def __init__(self):
        base = os.environ.get("E2E_TMP") or None
        self.root = tempfile.mkdtemp(prefix="ws-", dir=base)
        os.chmod(self.root, 0o755)
        self.procs = []
        self.closers = []
        self.vaults = []
        self.extra_secrets = []       # (value, [metadata], label)
        self.counter = 0

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        for c in reversed(self.closers):
            try:
                c()
            except Exception:
                pass
        self.closers = []
        for p in reversed(self.procs):
            stop_process(p)
        self.procs = []
        if not os.environ.get("E2E_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def mkdir(self, name, mode=0o755):
        self.counter += 1
        d = os.path.join(self.root, "%s-%d" % (name, self.counter))
        os.makedirs(d)
        os.chmod(d, mode)
        return d

    def env(self, **extra):
        """Environment for agents: clean PATH (no pyenv shims), our marker."""
        env = {"PATH": CLEAN_PATH, "HOME": self.root, "LANG": "C.UTF-8",
               "TMPDIR": self.root}
        if os.environ.get("E2E_MARK"):
            env["E2E_MARK"] = os.environ["E2E_MARK"]
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def spawn(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("env", self.env())
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    # -- fixtures ------------------------------------------------------------

    def vault(self, seed=None, args=()):
        v = Vault(self, seed, args)
        self.vaults.append(v)
        return v

    def tcp_receiver(self, host="127.0.0.1", http=False):
        r = TCPReceiver(host, http)
        self.closers.append(r.close)
        return r

    def udp_receiver(self, host="127.0.0.1"):
        r = UDPReceiver(host)
        self.closers.append(r.close)
        return r

    # -- the tracer ----------------------------------------------------------

    def run_traced(self, argv, timeout=60, tracer_args=(), env=None, cwd=None, check=True,
                   stdin=None):
        """build/secretrace -o file:EVENTS [tracer_args] -- argv, with a timeout.
        "{events}" in argv is replaced by the events file path.  Returns a Run
        (rc, events, stderr) after the leak check and, with check=True, the
        contract's per-event invariants."""
        d = self.mkdir("trace")
        evp = os.path.join(d, "events.json")
        errp = os.path.join(d, "tracer-stderr.txt")
        outp = os.path.join(self.root, "agent-stdout-%d.txt" % self.counter)
        argv = [a.replace("{events}", evp) for a in argv]
        cmd = [SECRETRACE, "-o", "file:" + evp] + list(tracer_args) + ["--"] + list(argv)
        with open(errp, "wb") as ef, open(outp, "wb") as of:
            p = self.spawn(cmd, stdout=of, stderr=ef, env=env or self.env(), cwd=cwd or self.root,
                           stdin=stdin if stdin is not None else subprocess.DEVNULL)
            try:
                rc = p.wait(timeout)
            except subprocess.TimeoutExpired:
                stop_process(p)
                raise AssertionError("secretrace -- %s did not finish within %ss"
                                     % (" ".join(argv), timeout))
        with open(errp, encoding="utf-8", errors="replace") as f:
            stderr = f.read()
        self.leak_check([evp, errp])
        events = load_events(evp)
        if check:
            try:
                check_common(events)
            except AssertionError as e:
                raise AssertionError("%s\n  tracer exit %s, stderr: %s" % (e, rc, stderr.strip()[-2000:]))
        else:
            check_schemas(events)
        return Run(rc, events, stderr, evp, errp, outp, p.pid)

    def start_tracer(self, tracer_args):
        """Starts build/secretrace -o file:EVENTS tracer_args in the background."""
        d = self.mkdir("trace")
        t = BackgroundTracer(self, d, tracer_args)
        return t

    # -- leak check ----------------------------------------------------------

    def secret_values(self):
        vals = []
        for v in self.vaults:
            for r in v.issued():
                vals.append((r["value"], [r["path"], r["field"], r.get("lease_id", "")],
                             "%s %s (request %s)" % (r["path"], r["field"], r["request_id"])))
            c = v.creds
            vals.append((c["root_token"], [], "root token"))
            vals.append((c["role_id"], ["auth/approle/login", "role_id"], "role_id"))
            vals.append((c["secret_id"], ["auth/approle/login", "secret_id"], "secret_id"))
            vals.append((c["userpass"]["password"],
                         ["auth/userpass/login/" + c["userpass"]["username"], "password"],
                         "userpass password"))
            for path, field, value in v.seed_values():
                vals.append((value, [path, field], "seed %s %s" % (path, field)))
        vals.extend(self.extra_secrets)
        return vals

    def leak_check(self, paths):
        """No 8-byte run of any secret value in any file the tracer wrote
        (runs that also occur in the secret's public metadata excepted)."""
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
        for value, meta, label in self.secret_values():
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


def stop_process(p, grace=5):
    if p.poll() is None:
        try:
            p.terminate()
        except ProcessLookupError:
            pass
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                p.kill()
            except ProcessLookupError:
                pass
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass


class BackgroundTracer:
    def __init__(self, ws, d, tracer_args):
        self.ws = ws
        self.events_path = os.path.join(d, "events.json")
        self.stderr_path = os.path.join(d, "tracer-stderr.txt")
        self._err = open(self.stderr_path, "wb")
        ws.closers.append(self._err.close)
        self.proc = ws.spawn([SECRETRACE, "-o", "file:" + self.events_path] + list(tracer_args),
                             stdout=subprocess.DEVNULL, stderr=self._err, cwd=ws.root)

    def events(self):
        """Events so far (complete lines only)."""
        try:
            with open(self.events_path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        data = data[:data.rfind(b"\n") + 1]
        out = []
        for line in data.split(b"\n"):
            if line.strip():
                out.append(json.loads(line.decode("utf-8")))
        return out

    def wait_event(self, pred, timeout, what):
        return wait_for(lambda: [e for e in self.events() if pred(e)], timeout, what,
                        interval=0.05, alive=self.proc)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signals the tracer, waits; returns Run (rc, events, stderr) after
        the leak check (no event invariants: the caller checks those)."""
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stop_process(self.proc)
            raise AssertionError("secretrace did not exit within %ss of signal %d" % (timeout, sig))
        self._err.close()
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            stderr = f.read()
        self.ws.leak_check([self.events_path, self.stderr_path])
        return Run(rc, load_events(self.events_path), stderr, self.events_path,
                   self.stderr_path, None, self.proc.pid)


# ---------------------------------------------------------------------------
# the Vault stand-in


def default_seed():
    """Fresh random KV secrets."""
    return {"kv": {
        "secret/agent/openai": {"api_key": rand_secret(40, "sk-"), "org": rand_secret(24, "org-")},
        "secret/agent/db": {"config": {"password": rand_secret(24), "host": rand_secret(12, "h-")}},
        "secret/agent/github": {"token": rand_secret(36, "ghp_")},
    }}


class Vault:
    def __init__(self, ws, seed=None, args=()):
        self.ws = ws
        self.dir = ws.mkdir("vault", 0o700)
        self.seed = seed if seed is not None else default_seed()
        self.seed_path = os.path.join(self.dir, "seed.json")
        with open(self.seed_path, "w") as f:
            json.dump(self.seed, f)
        self.ready_path = os.path.join(self.dir, "ready")
        self.creds_path = self.ready_path + ".creds.json"
        self.audit_path = os.path.join(self.dir, "audit.log")
        self.issued_path = os.path.join(self.dir, "issued.log")
        self._log = open(os.path.join(self.dir, "standin.log"), "wb")
        ws.closers.append(self._log.close)
        self.proc = ws.spawn([PY, STANDIN, "--listen", "127.0.0.1:0",
                              "--ready-file", self.ready_path, "--audit-log", self.audit_path,
                              "--issued-log", self.issued_path, "--seed-file", self.seed_path]
                             + list(args), stdout=self._log, stderr=self._log)
        wait_for(lambda: os.path.exists(self.ready_path), 30, "the Vault stand-in's ready file",
                 alive=self.proc)
        with open(self.ready_path) as f:
            self.url = f.read().split()[0]
        m = re.match(r"^https?://(\[[^\]]+\]|[^:]+):(\d+)$", self.url)
        self.host, self.port = m.group(1).strip("[]"), int(m.group(2))
        with open(self.creds_path) as f:
            self.creds = json.load(f)

    def issued(self):
        try:
            with open(self.issued_path, encoding="utf-8") as f:
                return [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def issued_one(self, path, field):
        """The one record of (path, field) handed out."""
        recs = [r for r in self.issued() if r["path"] == path and r["field"] == field]
        assert len(recs) == 1, "stand-in handed out %s %s %d times, expected once" % (path, field, len(recs))
        return recs[0]

    def seed_values(self):
        out = []

        def leaves(obj, path, prefix):
            if isinstance(obj, dict):
                for k, v in obj.items():
                    leaves(v, path, prefix + "." + k if prefix else k)
            elif isinstance(obj, str):
                out.append((path, prefix, obj))

        for key, fields in (self.seed.get("kv") or {}).items():
            mount, _, rest = key.partition("/")
            leaves(fields, "%s/data/%s" % (mount, rest), "")
        return out

    def kv(self, key, field):
        """Seed value of kv key (mount/path) and dotted field."""
        cur = self.seed["kv"][key]
        for part in field.split("."):
            cur = cur[part]
        return cur

    def token_file(self, mode=0o600, dirpath=None):
        """A file holding just the root token (for agents that cannot read
        the creds file, e.g. ones running as nobody)."""
        d = dirpath or self.ws.mkdir("tok", 0o755)
        p = os.path.join(d, "token")
        with open(p, "w") as f:
            f.write(self.creds["root_token"])
        os.chmod(p, mode)
        return p


# ---------------------------------------------------------------------------
# receivers


class TCPReceiver:
    """Accepts connections on HOST:0 (or on the unix socket path HOST, when it
    starts with "/") and keeps what each one sends.  With http=True, answers
    each complete HTTP request with 204 and closes."""

    def __init__(self, host="127.0.0.1", http=False):
        self.host = host
        self.http = http
        if host.startswith("/"):             # a unix stream socket at this path
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(host)
            self.port = None
        else:
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.sock = socket.socket(fam, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((host, 0))
            self.port = self.sock.getsockname()[1]
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.lock = threading.Lock()
        self.conns = []
        self.stopping = False
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            buf = bytearray()
            with self.lock:
                self.conns.append(buf)
            t = threading.Thread(target=self._serve, args=(c, buf), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, c, buf):
        c.settimeout(0.1)
        try:
            while not self.stopping:
                try:
                    d = c.recv(1 << 16)
                except socket.timeout:
                    continue
                if not d:
                    return
                with self.lock:
                    buf += d
                if self.http and self._http_complete(bytes(buf)):
                    c.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                    return
        except OSError:
            return
        finally:
            c.close()

    @staticmethod
    def _http_complete(b):
        i = b.find(b"\r\n\r\n")
        if i < 0:
            return False
        m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", b[:i])
        return len(b) - (i + 4) >= (int(m.group(1)) if m else 0)

    def data(self):
        with self.lock:
            return b"".join(bytes(c) for c in self.conns)

    def connections(self):
        with self.lock:
            return [bytes(c) for c in self.conns]

    def wait_bytes(self, n, timeout=20):
        return wait_for(lambda: len(self.data()) >= n, timeout,
                        "%d bytes at receiver %s:%s" % (n, self.host, self.port))

    def close(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass
        for t in self.threads:
            t.join(2)


class UDPReceiver:
    def __init__(self, host="127.0.0.1"):
        self.host = host
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.datagrams = []
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopping:
            try:
                d, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.datagrams.append(d)

    def received(self):
        with self.lock:
            return list(self.datagrams)

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()
