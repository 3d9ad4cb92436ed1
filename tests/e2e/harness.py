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

This module holds the Workspace, the processes, the Vault stand-in fixture, the
receivers and run_traced; the checks (leak check, event schemas and invariants,
assert_uses, describe) are in checks.py, and every one of their names is
re-exported here, so tests import all they need from harness.
"""

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

# the checks, re-exported: tests import them from here
from checks import (PROCESS_ACTIONS, RANDOM_IDS, STATE_GLOBS, TOKEN_FIELDS,  # noqa: F401
                    TS_RE, actions, assert_no_learn_failures, assert_uses, check_common,
                    check_leaks, check_schemas, describe, describe_all, get, is_pipe,
                    load_events, matches, receives, sink_key, the_receive, to_vault, use_spec,
                    without_random_ids)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# SECRETRACE=PATH tests another build of the same tree (make test-asan: build/asan/secretrace)
SECRETRACE = os.environ.get("SECRETRACE") or os.path.join(REPO, "build", "secretrace")
STANDIN = os.path.join(REPO, "tests", "vault_standin.py")
AGENTS = os.path.join(REPO, "tests", "agents")
AGENT_BIN = os.path.join(REPO, "build", "tests")
PY = "/usr/bin/python3"
CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# E2E_TIME_SCALE (run.py) stretches the waits on slow machines (the kernel test's guests)
TIME_SCALE = float(os.environ.get("E2E_TIME_SCALE", "1"))

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


def wait_for(pred, timeout, what, interval=0.02, alive=None, about=None):
    """Poll pred() until true (returns its value) or the deadline passes (about(): what
    the failure message adds)."""
    timeout *= TIME_SCALE
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if alive is not None and alive.poll() is not None:
            raise AssertionError("%s: process exited with %s while waiting" % (what, alive.returncode))
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s%s" % (
                timeout, what, "; " + about() if about else ""))
        time.sleep(interval)


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
        # make kernel-test's second pass: the tracer with its bounded-loop object (kernels.md)
        if os.environ.get("SECRETRACE_FORCE_BOUNDED_LOOPS"):
            env["SECRETRACE_FORCE_BOUNDED_LOOPS"] = os.environ["SECRETRACE_FORCE_BOUNDED_LOOPS"]
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
                rc = p.wait(timeout * TIME_SCALE)
            except subprocess.TimeoutExpired:
                stop_process(p)
                raise AssertionError("secretrace -- %s did not finish within %ss"
                                     % (" ".join(argv), timeout * TIME_SCALE))
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
                # a database username ends in the Unix time it was issued at (as Vault's
                # default template): public, like the role name before it, and the same
                # digits as an OCSF event's time (docs/formats.md)
                issued_at = re.findall(r"-(\d{10})$", r["value"]) if r["field"] == "username" else []
                vals.append((r["value"], [r["path"], r["field"], r.get("lease_id", "")] + issued_at,
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
        check_leaks(paths, self.secret_values)


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
