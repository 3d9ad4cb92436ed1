"""Vault's other delivery paths (issue 15): secrets an application gets from a file a
sidecar rendered (--learn-file, the fetcher traced or not), from its environment
(--learn-env), and from a file rotated while it runs."""
import datetime
import json
import os
import socket
import subprocess
import sys

from harness import (PY, REPO, SECRETRACE, Run, Workspace, actions, agent, assert_no_learn_failures, assert_uses,
                     check_common, describe_all, get, load_events, rand_secret, receives,
                     the_receive, timeout, to_vault, use_spec, wait_for)


def seed():
    return {"kv": {"secret/agent/app": {"api_key": rand_secret(40, "sk-"),
                                        "db_password": rand_secret(24, "pw-")}}}

sys.path.insert(0, os.path.join(REPO, "tools", "ocsf"))
import check_ocsf  # noqa: E402


def finish(ws, t, timeout_s=90):
    """A background secretrace -- COMMAND run to its end: Run, after the leak check and the
    contract's invariants."""
    try:
        rc = t.proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        raise AssertionError("secretrace did not finish within %ss" % timeout_s)
    t._err.close()
    with open(t.stderr_path, encoding="utf-8", errors="replace") as f:
        err = f.read()
    ws.leak_check([t.events_path, t.stderr_path])
    events = load_events(t.events_path)
    check_common(events)
    return Run(rc, events, err, t.events_path, t.stderr_path, None, t.proc.pid)


def file_receive(events, path, field):
    r = receives(events, **{"secret.source": "file", "file.path": path, "vault.field": field})
    assert len(r) == 1, "expected one secret.receive of %s in %s, found %d:%s" % (
        field, path, len(r), describe_all(actions(events, "secret.receive")))
    assert get(r[0], "process.pid") is None, "a file's secret names no process: %s" % r[0]
    return r[0]


def audit_hmac(vault, request_id, field):
    """The HMAC the stand-in's audit log wrote for a KV v2 field of a response."""
    with open(vault.audit_path, encoding="utf-8") as f:
        for line in f:
            e = json.loads(line)
            if e["type"] == "response" and e["request"]["id"] == request_id:
                return e["response"]["data"]["data"][field]
    raise AssertionError("no audit response entry for request %s" % request_id)


def correlate(ws, vault, events_path):
    """secretrace correlate on the stand-in's audit log: (chains by request_id, summary),
    after the leak check of its output."""
    out = ws.path("correlate.out")
    with open(out, "wb") as o:
        r = subprocess.run([SECRETRACE, "correlate", "--vault-audit", vault.audit_path,
                            events_path], stdout=o, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 0, "correlate exit %s: %s" % (r.returncode, r.stderr)
    ws.leak_check([out])
    with open(out, encoding="utf-8") as f:
        lines = [json.loads(l) for l in f if l.strip()]
    return {c["request_id"]: c for c in lines[:-1]}, lines[-1]["summary"]


@timeout(120)
def test_learn_file_fetcher_untraced():
    """A Vault Agent-like sidecar (not traced) renders app.env and app.json into a directory
    secretrace watches (--learn-file DIR), each through a temporary file renamed over the
    target; the application, traced, reads app.env and leaks API_KEY over TCP and
    DB_PASSWORD into its log. Each value is a secret.receive (secret.source file, file.path
    the target, not the temporary name, the key as vault.field; app.json's values, known by
    then, are not new), both uses say secret.source file and the file they came through,
    and all carry vault.audit_hash, the HMAC the stand-in's audit log wrote for the value in
    the sidecar's fetch; correlate files the uses under that fetch's request."""
    with Workspace() as ws:
        vault = ws.vault(seed=seed())
        d = os.path.realpath(ws.mkdir("rendered", 0o755))
        env_file = os.path.join(d, "app.env")
        go = os.path.join(d, ".go")
        rx = ws.tcp_receiver()
        log = os.path.join(os.path.realpath(ws.mkdir("log", 0o777)), "app.log")
        ocsf = ws.path("events.ocsf")
        t = ws.start_tracer(["-o", "ocsf+file:" + ocsf, "--learn-file", d, "--vault-addr", vault.url,
                             "--vault-audit-hash", "file", "--vault-token-file", vault.token_file(),
                             "--", PY, agent("py_file_app.py"), env_file, str(rx.port), "API_KEY",
                             "DB_PASSWORD", log, "--wait", go])
        t.wait_event(lambda e: get(e, "event.action") == "tracer.start", 60, "tracer.start")
        subprocess.run([PY, agent("py_vault_sidecar.py"), vault.url, vault.creds_path, d],
                       check=True, timeout=60, env=ws.env())
        t.wait_event(lambda e: get(e, "event.action") == "secret.receive" and
                     get(e, "vault.field") == "DB_PASSWORD", 60, "the rendered file's receives")
        open(go, "w").close()
        run = finish(ws, t)
        assert run.rc == 0, "agent exit status %s; stderr: %s" % (run.rc, run.stderr)
        assert_no_learn_failures(run.events)
        # the same events in OCSF: valid against its schema (a file's receive has no process)
        ws.leak_check([ocsf])
        with open(ocsf, encoding="utf-8") as f:
            objs = [json.loads(l) for l in f if l.strip()]
        assert len(objs) == len(run.events), (len(objs), len(run.events))
        for o in objs:
            assert not check_ocsf.check_event(o), (check_ocsf.check_event(o), o)
        assert len(actions(run.events, "secret.receive")) == 2, \
            describe_all(actions(run.events, "secret.receive"))
        fetch = vault.issued_one("secret/data/agent/app", "api_key")["request_id"]
        hmacs = {f: audit_hmac(vault, fetch, f) for f in ("api_key", "db_password")}
        api = file_receive(run.events, env_file, "API_KEY")
        pw = file_receive(run.events, env_file, "DB_PASSWORD")
        assert get(api, "vault.audit_hash") == hmacs["api_key"], api
        assert get(pw, "vault.audit_hash") == hmacs["db_password"], pw
        common = {"secret.source": "file", "secretrace.delivery.file": env_file,
                  "vault.request_id": None, "event.kind": "event", "secret.encoding": "raw",
                  "process.name": "python3"}
        assert_uses(run.events, [
            dict(common, **{"vault.field": "API_KEY", "secretrace.sink": "socket",
                            "destination.port": rx.port, "network.transport": "tcp",
                            "secret.fingerprint": get(api, "secret.fingerprint"),
                            "vault.audit_hash": hmacs["api_key"]}),
            dict(common, **{"vault.field": "DB_PASSWORD", "secretrace.sink": "file",
                            "file.path": log, "secretrace.syscall": "write",
                            "secret.fingerprint": get(pw, "secret.fingerprint"),
                            "vault.audit_hash": hmacs["db_password"]}),
        ])
        chains, summary = correlate(ws, vault, run.events_path)
        assert fetch in chains, "correlate made no chain of the fetch %s: %s" % (fetch, chains)
        ch = chains[fetch]
        assert ch["audit"]["found"] and ch["audit"]["path"] == "secret/data/agent/app", ch
        joined = [e for e in ch["events"] if e.get("joined_by") == "audit_hash"]
        assert sorted((e["action"], e["field"]) for e in joined) == [
            ("secret.receive", "API_KEY"), ("secret.receive", "DB_PASSWORD"),
            ("secret.use", "API_KEY"), ("secret.use", "DB_PASSWORD")], ch["events"]
        assert ch["counts"]["uses"] == 2 and "never_used" not in ch["flags"], ch
        assert summary["events"]["no_vault_ids"] == 0, summary


@timeout(120)
def test_sidecar_traced_file_handoff():
    """The sidecar and the application both traced (one after the other, as an init
    container and the app): the sidecar logs in, fetches and renders app.env (a temporary
    file renamed over the target). The application reads it and leaks API_KEY over TCP and
    DB_PASSWORD into its log: both uses carry the fetch's request_id, and name the files the
    sidecar wrote the values to (found again after the renames), the sidecar and its user."""
    with Workspace() as ws:
        vault = ws.vault(seed=seed())
        d = os.path.realpath(ws.mkdir("rendered", 0o755))
        env_file = os.path.join(d, "app.env")
        rx = ws.tcp_receiver()
        log = os.path.join(os.path.realpath(ws.mkdir("log", 0o777)), "app.log")
        run = ws.run_traced(["/bin/sh", "-c", '"$0" "$1" "$2" "$3" "$4" && "$0" "$5" "$6" "$7" '
                             'API_KEY DB_PASSWORD "$8"', PY, agent("py_vault_sidecar.py"),
                             vault.url, vault.creds_path, d, agent("py_file_app.py"), env_file,
                             str(rx.port), log])
        assert run.rc == 0, "agent exit status %s; stderr: %s" % (run.rc, run.stderr)
        assert_no_learn_failures(run.events)
        api = vault.issued_one("secret/data/agent/app", "api_key")
        pw = vault.issued_one("secret/data/agent/app", "db_password")
        rec = the_receive(run.events, api, vault=vault)
        sidecar = get(rec, "process.pid")
        rendered = lambda p: isinstance(p, str) and p.startswith(d + "/") and \
            not p.endswith((".env", ".json"))
        # the values went into both app.env and app.json: which one the application read is
        # not seen, both are named (found again by inode after the renames)
        both = sorted([env_file, os.path.join(d, "app.json")])
        handoff = {"secretrace.delivery.file": lambda f: f in both,
                   "secretrace.delivery.files": lambda fs: sorted(fs or []) == both,
                   "secretrace.delivery.process.pid": sidecar,
                   "secretrace.delivery.process.executable": lambda e: "python3" in (e or ""),
                   "secretrace.delivery.user.id": "0", "secret.source": "response"}
        rendering = {"process.pid": sidecar, "secretrace.sink": "file", "file.path": rendered,
                     "vault.request_id": api["request_id"]}
        assert_uses(run.events, [
            use_spec(api, "socket", "sendto", dest=("127.0.0.1", rx.port), transport="tcp",
                     process="python3", **handoff),
            use_spec(pw, "file", "write", file_path=log, process="python3", **handoff),
        ], allowed=[to_vault(vault), rendering])
        # the sidecar rendered each value twice (app.env, app.json), under temporary names
        writes = [e for e in actions(run.events, "secret.use") if get(e, "process.pid") == sidecar
                  and get(e, "secretrace.sink") == "file"]
        assert sorted(get(e, "vault.field") for e in writes) == \
            ["api_key", "api_key", "db_password", "db_password"], describe_all(writes)
        assert not any(get(e, "secretrace.delivery.process.pid") for e in writes), writes


@timeout(120)
def test_learn_env_from_parent():
    """A parent reads a secret and starts its child with it in the environment (as a
    secretKeyRef does): with --learn-env 'APP_*' the child's exec teaches it (secret.source
    env, the variable's name as vault.field, the child as the process) and the child's
    send is a use with secret.source env."""
    with Workspace() as ws:
        value = rand_secret(32, "env-")
        ws.extra_secrets.append((value, ["APP_DB_PASSWORD"], "the environment's secret"))
        d = ws.mkdir("env", 0o700)
        secret_file = os.path.join(d, "secret")
        with open(secret_file, "w") as f:
            f.write(value)
        go = os.path.join(d, "go")
        rx = ws.tcp_receiver()
        t = ws.start_tracer(["--learn-env", "APP_*", "--", PY, agent("py_env_parent.py"),
                             secret_file, "APP_DB_PASSWORD", str(rx.port), go])
        rec = t.wait_event(lambda e: get(e, "event.action") == "secret.receive" and
                           get(e, "secret.source") == "env", 60,
                           "the secret.receive of the child's environment")[0]
        open(go, "w").close()
        run = finish(ws, t)
        assert run.rc == 0, "agent exit status %s; stderr: %s" % (run.rc, run.stderr)
        assert get(rec, "vault.field") == "APP_DB_PASSWORD", rec
        assert get(rec, "process.name") == "python3", rec
        assert rx.wait_bytes(len(value)), "the child sent nothing"
        assert_uses(run.events, [{
            "secret.source": "env", "vault.field": "APP_DB_PASSWORD", "secretrace.sink": "socket",
            "destination.port": rx.port, "secret.fingerprint": get(rec, "secret.fingerprint"),
            "process.pid": get(rec, "process.pid")}])


def atomic_writer_update(d, name, value, gen):
    """Kubernetes' atomic writer (Secret volumes, the Secrets Store CSI driver): the files of a
    new ..<timestamp> directory, ..data_tmp pointing at it renamed over ..data."""
    ts = os.path.join(d, "..2026_%02d" % gen)
    os.mkdir(ts)
    with open(os.path.join(ts, name), "w") as f:
        f.write(value)
    os.symlink(os.path.basename(ts), os.path.join(d, "..data_tmp"))
    os.rename(os.path.join(d, "..data_tmp"), os.path.join(d, "..data"))
    if not os.path.lexists(os.path.join(d, name)):
        os.symlink(os.path.join("..data", name), os.path.join(d, name))


@timeout(120)
def test_rotated_file_old_value_kept():
    """A mounted secret (Kubernetes' atomic writer layout, as the CSI driver writes it) is
    rotated while the application runs: the new value is learned from the ..data swap, and
    both the new and the old value are reported when the application sends them."""
    with Workspace() as ws:
        old, new = rand_secret(28, "old-"), rand_secret(28, "new-")
        for v in (old, new):
            ws.extra_secrets.append((v, ["password"], "a mounted secret"))
        mount = os.path.realpath(ws.mkdir("csi-mount", 0o755))
        atomic_writer_update(mount, "password", old, 1)
        flags = ws.mkdir("flags", 0o777)
        go1, sent1, go2 = (os.path.join(flags, n) for n in ("go1", "sent1", "go2"))
        rx1, rx2 = ws.tcp_receiver(), ws.tcp_receiver()
        path = os.path.join(mount, "password")
        t = ws.start_tracer(["--learn-file", mount, "--", PY, agent("py_rotation_app.py"), path,
                             str(rx1.port), str(rx2.port), go1, sent1, go2])
        first = t.wait_event(lambda e: get(e, "event.action") == "secret.receive", 60,
                             "the mounted secret's secret.receive")[0]
        open(go1, "w").close()
        wait_for(lambda: os.path.exists(sent1), 60, "the first send", alive=t.proc)
        atomic_writer_update(mount, "password", new, 2)
        second = t.wait_event(lambda e: get(e, "event.action") == "secret.receive" and
                              get(e, "secret.fingerprint") != get(first, "secret.fingerprint"),
                              60, "the rotated secret's secret.receive")[0]
        open(go2, "w").close()
        run = finish(ws, t)
        assert run.rc == 0, "agent exit status %s; stderr: %s" % (run.rc, run.stderr)
        assert_no_learn_failures(run.events)
        for r in (first, second):
            assert (get(r, "secret.source"), get(r, "vault.field"), get(r, "file.path")) == \
                ("file", "password", path), r
        fp_old, fp_new = get(first, "secret.fingerprint"), get(second, "secret.fingerprint")
        use = {"secret.source": "file", "vault.field": "password", "secretrace.sink": "socket",
               "secretrace.delivery.file": path}
        assert_uses(run.events, [
            dict(use, **{"secret.fingerprint": fp_old, "destination.port": rx1.port}),
            dict(use, **{"secret.fingerprint": fp_new, "destination.port": rx1.port}),
            dict(use, **{"secret.fingerprint": fp_old, "destination.port": rx2.port}),
        ])
        assert len(receives(run.events, **{"secret.source": "file"})) == 2, \
            describe_all(actions(run.events, "secret.receive"))


def expires(events):
    return actions(events, "secret.expire")


@timeout(150)
def test_rotated_out_value_forgotten():
    """A mounted secret is rotated (--rotated-keep 4): the old value, sent before the
    rotation and right after it, is reported both times; once its secret.expire is out
    (secretrace.expire.after rotated_keep, the file), the old value sent again is not
    reported, and the new one, sent by the same process, is."""
    with Workspace() as ws:
        old, new = rand_secret(28, "old-"), rand_secret(28, "new-")
        for v in (old, new):
            ws.extra_secrets.append((v, ["password"], "a mounted secret"))
        mount = os.path.realpath(ws.mkdir("csi-mount", 0o755))
        atomic_writer_update(mount, "password", old, 1)
        flags = ws.mkdir("flags", 0o777)
        rx = [ws.tcp_receiver() for _ in range(3)]
        path = os.path.join(mount, "password")
        t = ws.start_tracer(["--learn-file", mount, "--rotated-keep", "4", "--", PY,
                             agent("py_rotation_expiry.py"), path, flags] +
                            [str(r.port) for r in rx])
        first = t.wait_event(lambda e: get(e, "event.action") == "secret.receive", 60,
                             "the mounted secret's secret.receive")[0]

        def step(n):
            open(os.path.join(flags, "go%d" % n), "w").close()
            wait_for(lambda: os.path.exists(os.path.join(flags, "sent%d" % n)), 60,
                     "step %d" % n, alive=t.proc)

        step(1)
        atomic_writer_update(mount, "password", new, 2)
        second = t.wait_event(lambda e: get(e, "event.action") == "secret.receive" and
                              get(e, "secret.fingerprint") != get(first, "secret.fingerprint"),
                              60, "the rotated secret's secret.receive")[0]
        step(2)
        t.wait_event(lambda e: get(e, "event.action") == "secret.use" and
                     get(e, "destination.port") == rx[1].port, 30,
                     "the old value's use right after the rotation")
        assert not expires(t.events()), "expired before --rotated-keep passed"
        t.wait_event(lambda e: get(e, "event.action") == "secret.expire", 60,
                     "the old value's secret.expire")
        step(3)
        run = finish(ws, t)
        assert run.rc == 0, "agent exit status %s; stderr: %s" % (run.rc, run.stderr)
        assert_no_learn_failures(run.events)
        fp_old, fp_new = get(first, "secret.fingerprint"), get(second, "secret.fingerprint")
        ex = expires(run.events)
        assert [(get(e, "secret.fingerprint"), get(e, "file.path"), get(e, "secret.source"),
                 get(e, "vault.field"), get(e, "secretrace.expire.after")) for e in ex] == \
            [(fp_old, path, "file", "password", "rotated_keep")], describe_all(ex)
        use = {"secret.source": "file", "vault.field": "password", "secretrace.sink": "socket",
               "secretrace.delivery.file": path}
        assert_uses(run.events, [
            dict(use, **{"secret.fingerprint": fp_old, "destination.port": rx[0].port}),
            dict(use, **{"secret.fingerprint": fp_old, "destination.port": rx[1].port}),
            dict(use, **{"secret.fingerprint": fp_new, "destination.port": rx[2].port}),
        ])
        rx[2].wait_bytes(2 * len("password=%s\n" % old))


@timeout(120)
def test_rotated_out_value_kept_for_its_lease():
    """A rendered Vault response (JSON with lease_duration 3) rotated under --rotated-keep
    3600: the old value is forgotten when its lease ends (secretrace.expire.after lease),
    about 3 s after it was learned, not an hour after."""
    with Workspace() as ws:
        old, new = rand_secret(28, "old-"), rand_secret(28, "new-")
        for v in (old, new):
            ws.extra_secrets.append((v, ["password"], "a rendered secret"))
        d = os.path.realpath(ws.mkdir("rendered", 0o755))
        path = os.path.join(d, "creds.json")

        def render(value):
            tmp = os.path.join(d, "4097215834")
            with open(tmp, "w") as f:
                json.dump({"request_id": "r", "lease_id": "database/creds/app/x",
                           "lease_duration": 3, "renewable": True,
                           "data": {"password": value}}, f)
            os.rename(tmp, path)

        render(old)
        t = ws.start_tracer(["--all", "--learn-file", d])
        # fields named as in a Vault response: data's keys (its IDs are not secrets)
        mine = {"event.action": "secret.receive", "file.path": path, "vault.field": "password"}
        first = t.wait_event(lambda e: matches(e, mine), 60, "the rendered secret")[0]
        render(new)
        t.wait_event(lambda e: matches(e, mine) and
                     get(e, "secret.fingerprint") != get(first, "secret.fingerprint"),
                     60, "the rotated secret")
        ex = t.wait_event(lambda e: get(e, "event.action") == "secret.expire", 30,
                          "the old value's secret.expire")
        run = t.stop()
        assert run.rc == 0, "secretrace exit %s: %s" % (run.rc, run.stderr)
        assert [(get(e, "secret.fingerprint"), get(e, "secretrace.expire.after"))
                for e in ex] == [(get(first, "secret.fingerprint"), "lease")], describe_all(ex)
        learned, expired = (ts(e) for e in (first, ex[0]))
        assert 2.5 <= expired - learned < 30, "expired %.1f s after learned" % (expired - learned)


def matches(e, spec):
    return all(get(e, k) == v for k, v in spec.items())


def ts(e):
    return datetime.datetime.strptime(get(e, "@timestamp"), "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


@timeout(60)
def test_usage_errors():
    """Bad delivery-path options: one line on stderr naming the option, 125 with -- COMMAND
    (which does not run), 2 without, before anything is loaded."""
    with Workspace() as ws:
        marker = ws.path("ran")
        tok = ws.path("token")
        with open(tok, "w") as f:
            f.write("hvs.not-a-real-token\n")
        cases = [
            (["--learn-file", ws.path("no-such-dir", "app.env")], "--learn-file"),
            (["--vault-audit-hash", "file"], "--vault-audit-hash needs --vault-token-file"),
            (["--vault-audit-hash", "file", "--vault-token-file", ws.path("nope"),
              "--vault-addr", "http://127.0.0.1:1"], "--vault-token-file"),
            (["--vault-audit-hash", "a b", "--vault-token-file", tok,
              "--vault-addr", "http://127.0.0.1:1"], "not an audit device path"),
            (["--learn-env", ""], "--learn-env"),
        ]
        for args, want in cases:
            r = subprocess.run([SECRETRACE] + args + ["--", "/usr/bin/touch", marker],
                               capture_output=True, text=True, timeout=30)
            lines = r.stderr.strip().splitlines()
            assert r.returncode == 125 and len(lines) == 1 and want in lines[0], (args, r)
            assert not os.path.exists(marker), "the command ran despite %s" % args
        r = subprocess.run([SECRETRACE, "--all", "--learn-file", ws.path("no-such-dir", "x")],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and r.stderr.startswith("secretrace: --learn-file"), r


@timeout(90)
def test_audit_hash_vault_unreachable():
    """--vault-audit-hash with nothing listening at the Vault address: each learned value is
    still a secret.receive (without vault.audit_hash), and a secret.learn_failed names its
    fingerprint and the reason, never the value; counted in stats.learn_failed; one line on
    stderr."""
    with Workspace() as ws:
        values = {"A_KEY": rand_secret(30, "a-"), "B_KEY": rand_secret(30, "b-")}
        for k, v in values.items():
            ws.extra_secrets.append((v, [k], "a file's secret"))
        d = ws.mkdir("secrets", 0o700)
        path = os.path.join(d, "app.env")
        with open(path, "w") as f:
            f.write("".join("%s=%s\n" % kv for kv in values.items()))
        tok = ws.path("token")
        with open(tok, "w") as f:
            f.write("hvs.not-a-real-token\n")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))    # bound, never listening: connections are refused
        try:
            run = ws.run_traced(["/bin/true"], tracer_args=[
                "--learn-file", path, "--vault-addr", "http://127.0.0.1:%d" % s.getsockname()[1],
                "--vault-audit-hash", "file", "--vault-token-file", tok])
        finally:
            s.close()
        assert run.rc == 0, run.stderr
        recs = actions(run.events, "secret.receive")
        fails = actions(run.events, "secret.learn_failed")
        assert len(recs) == 2 and not any(get(e, "vault.audit_hash") for e in recs), recs
        fps = sorted(get(e, "secret.fingerprint") for e in recs)
        assert sorted(get(e, "error.message").split()[3] for e in fails) == fps, fails
        assert get(run.events[-1], "secretrace.stats.learn_failed") == 2, run.events[-1]
        lines = [l for l in run.stderr.splitlines() if "audit_hash" in l]
        assert len(lines) == 1, run.stderr
