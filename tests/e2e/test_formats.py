"""--format text and --format ocsf on a real traced agent, and `secretrace report` opened in
headless Chromium (issue 18). The agent is tests/agents/py_policy_leak.py under a policy, so
one run has receives, allowed uses, violations to a socket and to a file, connects, process
starts and the tracer's own events. Its ECS events (the harness's file) are the reference:
the text and OCSF outputs of the same run must say the same, event for event, and hold no
secret (the harness's leak check)."""
import copy
import json
import os
import pty
import re
import select
import subprocess
import sys

from harness import (PY, REPO, SECRETRACE, Workspace, agent, get, rand_secret, timeout,
                     wait_for)

sys.path.insert(0, os.path.join(REPO, "tools", "ocsf"))
import check_ocsf  # noqa: E402

POLICY = ("default: report\n"
          "rules:\n"
          "  - name: llm-key-to-api-only\n"
          "    vault_path: \"secret/data/agent/*\"\n"
          "    field: api_key\n"
          "    allow:\n"
          "      - destination: \"api.example.com:%d\"\n")
SCREENSHOT = os.path.join(REPO, "build", "report-screenshot.png")


def policy_run(ws, extra_args=()):
    """py_policy_leak.py traced with the policy, ECS to the harness's file and the given
    outputs besides: (vault, rx_a, rx_b, key file, run)."""
    vault = ws.vault()
    rx_a = ws.tcp_receiver(http=True)
    rx_b = ws.tcp_receiver(http=True)
    d = os.path.realpath(ws.mkdir("agent", 0o700))
    pol = os.path.join(d, "policy.yaml")
    with open(pol, "w") as f:
        f.write(POLICY % rx_a.port)
    out = os.path.join(d, "key.txt")
    run = ws.run_traced([PY, agent("py_policy_leak.py"), vault.url, vault.creds_path,
                         str(rx_a.port), str(rx_b.port), out],
                        tracer_args=["--policy", pol] + list(extra_args))
    assert run.rc == 0, "agent exit status %s; stderr: %s" % (run.rc, run.stderr)
    return vault, rx_a, rx_b, out, run


def read_terminal(master, timeout_s=60):
    """All a pseudo-terminal's program wrote, until it closed its end (then closes ours)."""
    data = b""
    while select.select([master], [], [], timeout_s)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:         # EIO: the program has exited, the terminal is closed
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    return data


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


@timeout(120)
def test_text_and_ocsf_of_a_policy_run():
    """Every ECS event of the run has its text line and its OCSF event, in the same order.
    Text: the event's time first, name[pid], the verb (received, used, VIOLATION), the
    secret as path#field, where it went and via which call, no colour in a file. OCSF: every
    event valid against OCSF 1.1.0's schema (tools/ocsf/check_ocsf.py); violations are
    Detection Findings naming the rule, uses on sockets Network Activity, receives API
    Activity carrying the Vault request ID. OCSF to syslog: framed as ECS is, the header's
    time, MSGID (event.action) and severity (alert for violations) read from the OCSF object."""
    with Workspace() as ws:
        txt, ocsf = ws.path("events.txt"), ws.path("events.ocsf")
        udp = ws.udp_receiver()
        vault, rx_a, rx_b, out, run = policy_run(
            ws, ["-o", "text+file:" + txt, "-o", "ocsf+file:" + ocsf,
                 "-o", "ocsf+syslog+udp://127.0.0.1:%d" % udp.port,
                 "--spool-dir", ws.mkdir("spool", 0o700)])
        ws.leak_check([txt, ocsf])
        events, lines, objs = run.events, read_lines(txt), [json.loads(x) for x in read_lines(ocsf)]
        assert len(lines) == len(events) == len(objs), (len(lines), len(events), len(objs))
        key = vault.issued_one("secret/data/agent/openai", "api_key")

        for ev, line in zip(events, lines):
            assert "\x1b" not in line, "colour in a file: %r" % line
            assert line.startswith(get(ev, "@timestamp") + " "), line
            if get(ev, "process.pid"):
                assert " %s[%d] " % (get(ev, "process.name"), get(ev, "process.pid")) in line, line
            action = get(ev, "event.action")
            if action in ("secret.receive", "secret.use", "secret.violation"):
                assert "%s#%s" % (get(ev, "vault.path"), get(ev, "vault.field")) in line, line
                assert get(ev, "vault.request_id") in line, line
            if action == "secret.violation":
                assert " VIOLATION " in line and "rule " + get(ev, "rule.name") in line, line
                if get(ev, "secretrace.sink") == "socket":
                    assert "-> 127.0.0.1:%d (evil.example.net) via" % rx_b.port in line, line
                else:
                    assert "-> file %s via write" % out in line, line
            elif action == "secret.use":
                assert " used " in line and " via " + get(ev, "secretrace.syscall") in line, line
            elif action == "secret.receive":
                assert " received " in line, line
        print("text excerpt:\n  " + "\n  ".join(l for l in lines if "VIOLATION" in l or
                                                 "api_key" in l)[:1500])

        for ev, o in zip(events, objs):
            problems = check_ocsf.check_event(o)
            assert not problems, "%s: %s\n  %s" % (get(ev, "event.action"), problems, o)
            assert o["metadata"]["uid"] == get(ev, "event.id")
            assert o["metadata"]["event_code"] == get(ev, "event.action")
        by_action = {}
        for ev, o in zip(events, objs):
            by_action.setdefault(get(ev, "event.action"), []).append((ev, o))
        viol = by_action["secret.violation"]
        assert len(viol) == 2, [o for _, o in viol]
        for ev, o in viol:
            assert o["class_uid"] == 2004 and o["severity_id"] == 4, o
            assert o["finding_info"]["analytic"]["name"] == "llm-key-to-api-only", o
            assert o["unmapped"]["vault"]["request_id"] == key["request_id"], o
            assert o["resources"][0]["name"] == "secret/data/agent/openai", o
        socket_uses = [(e, o) for e, o in by_action["secret.use"]
                       if get(e, "secretrace.sink") == "socket"]
        assert socket_uses
        for ev, o in socket_uses:
            assert o["class_uid"] == 4001 and o["activity_id"] == 6, o
            assert o["dst_endpoint"]["port"] == get(ev, "destination.port"), o
        for ev, o in by_action["secret.receive"]:
            assert o["class_uid"] == 6003 and o["api"]["request"]["uid"] == get(
                ev, "vault.request_id"), o
        print("OCSF violation: " + json.dumps(viol[0][1])[:1500])

        wait_for(lambda: len(udp.received()) >= len(events), 20, "every event over syslog")
        for ev, d in zip(events, udp.received()):
            m = re.match(rb"<(\d+)>1 (\S+) \S+ secretrace \d+ (\S+) - (.*)$", d, re.S)
            assert m, d
            assert int(m.group(1)) == 10 * 8 + (1 if get(ev, "event.kind") == "alert" else
                                                4 if get(ev, "event.action") == "tracer.loss"
                                                else 6), d
            assert m.group(2).decode() == get(ev, "@timestamp")[:23] + "Z", d
            assert m.group(3).decode() == get(ev, "event.action"), d
            assert json.loads(m.group(4))["metadata"]["uid"] == get(ev, "event.id"), d


@timeout(90)
def test_pipe_tty_unix_sinks_in_text_and_ocsf():
    """The sinks the policy run has not: a pipe read by cat, a pseudo-terminal, a unix
    socket (tests/agents/py_sinks_more.py). Text names each as docs/formats.md says; their
    OCSF events (File System Activity for the pipe and tty, Network Activity with a named
    endpoint for the unix socket) pass OCSF's schema."""
    with Workspace() as ws:
        seed = {"kv": {"secret/sinks": {k: rand_secret(30, k + "-") for k in "ptu"}}}
        vault = ws.vault(seed=seed)
        upath = ws.path("agent.sock")
        ws.tcp_receiver(host=upath)
        txt, ocsf = ws.path("events.txt"), ws.path("events.ocsf")
        run = ws.run_traced([PY, agent("py_sinks_more.py"), vault.url, vault.creds_path, upath,
                             "{events}"],
                            tracer_args=["-o", "text+file:" + txt, "-o", "ocsf+file:" + ocsf])
        assert run.rc == 0, run.stderr
        ws.leak_check([txt, ocsf])
        text = "\n".join(read_lines(txt))
        cat = next(e for e in run.events if get(e, "secretrace.sink") == "pipe")
        assert re.search(r" used      secret/data/sinks#p raw -> pipe pipe:\[\d+\] \(read by "
                         r"cat\[%d\]\) via write " % get(cat, "secretrace.peer.pid"), text), text
        assert re.search(r"#t raw -> tty /dev/pts/\d+ via write ", text), text
        assert "#u raw -> unix:%s via sendto " % upath in text, text
        objs = [json.loads(x) for x in read_lines(ocsf)]
        for o in objs:
            assert not check_ocsf.check_event(o), (check_ocsf.check_event(o), o)
        files = {o["file"]["path"]: o for o in objs if o["class_uid"] == 1001}
        assert any(f["file"]["type_id"] == 3 for f in files.values()), files   # the tty
        assert any(f["file"].get("type") == "pipe" for f in files.values()), files
        assert any(o["class_uid"] == 4001 and o["dst_endpoint"].get("name") == upath
                   for o in objs), objs


@timeout(60)
def test_text_colour_on_a_terminal_only():
    """--format text on stdout: colour when stdout is a terminal, none with NO_COLOR set;
    a control character a traced process puts in its arguments is escaped (\\x1b), never
    passed to the terminal."""
    with Workspace() as ws:
        def on_pty(env_extra):
            master, slave = pty.openpty()
            env = ws.env(**env_extra)
            p = ws.spawn([SECRETRACE, "--format", "text", "--", "/bin/echo", "a\x1b[2Jb"],
                         stdout=slave, stderr=subprocess.PIPE, env=env)
            os.close(slave)
            data = read_terminal(master)
            p.wait(30)
            assert p.returncode == 0, (p.returncode, p.stderr.read())
            return data.decode("utf-8", "replace")

        coloured = on_pty({})
        assert "\x1b[" in coloured and "tracer stop" in coloured, coloured
        plain = on_pty({"NO_COLOR": "1"})
        assert "tracer stop" in plain, plain
        # the echo's own output is on this terminal too: only its line has the raw ESC
        ours = [l for l in plain.splitlines() if "tracer " in l or " start " in l]
        assert ours and all("\x1b" not in l for l in ours), ours
        start = [l for l in ours if " echo[" in l and " start " in l]
        assert start and "a\\x1b[2Jb" in start[0], start


@timeout(60)
def test_ocsf_checker_catches_mistakes():
    """The OCSF check can fail: a required attribute missing, a wrong class/category or
    type_uid, an activity the class does not have, an attribute OCSF does not define, a
    wrong type."""
    good = {"category_uid": 4, "class_uid": 4001, "activity_id": 6, "type_uid": 400106,
            "severity_id": 1, "time": 1796660278125,
            "src_endpoint": {"hostname": "vm"}, "dst_endpoint": {"ip": "127.0.0.1", "port": 80},
            "metadata": {"version": "1.1.0", "product": {"name": "secretrace",
                                                         "vendor_name": "secretrace"}}}
    assert check_ocsf.check_event(good) == [], check_ocsf.check_event(good)

    def broken(change):
        ev = copy.deepcopy(good)
        change(ev)
        return check_ocsf.check_event(ev)
    cases = {
        "vendor_name missing": lambda e: e["metadata"]["product"].pop("vendor_name"),
        "time missing": lambda e: e.pop("time"),
        "category of another class": lambda e: e.update(category_uid=2),
        "type_uid": lambda e: e.update(type_uid=400107),
        "activity": lambda e: e.update(activity_id=7, type_uid=400107),
        "unknown attribute": lambda e: e.update(secret={"a": 1}),
        "port type": lambda e: e["dst_endpoint"].update(port="80"),
        "ip regex": lambda e: e["dst_endpoint"].update(ip="not an ip"),
        "endpoint constraint": lambda e: e.update(src_endpoint={"port": 1}),
        "version": lambda e: e["metadata"].update(version="1.0.0"),
    }
    for what, change in cases.items():
        assert broken(change), "%s: not caught" % what


def chromium(*args):
    """Debian's chromium, headless, on a file; returns its stdout."""
    return subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-dev-shm-usage", "--user-data-dir=" + args[0]] +
                          list(args[1:]), capture_output=True, text=True, timeout=120,
                          check=True).stdout


@timeout(240)
def test_report_in_headless_chromium():
    """secretrace report on the run's events and the stand-in's audit log: one HTML file
    that Chromium renders with no network into d3-sankey's SVG: a node per Vault request,
    its receiving process, the destinations, the violations' destinations in red, a link
    per flow, and a table row per receive and use. A hostile string in an event (a closing
    script tag, U+2028) stays text. The screenshot is kept in build/."""
    with Workspace() as ws:
        vault, rx_a, rx_b, out, run = policy_run(ws)
        events = run.events
        hostile = copy.deepcopy(next(e for e in events if get(e, "event.action") == "secret.use"))
        hostile["process"]["name"] = "</script><script>document.title='owned'</script>\u2028x"
        hostile["process"]["entity_id"] = "f" * 32
        evp = ws.path("events-hostile.json")
        with open(evp, "w") as f:
            for ev in events + [hostile]:
                f.write(json.dumps(ev) + "\n")
        page = ws.path("report.html")
        r = subprocess.run([SECRETRACE, "report", evp, "--vault-audit", vault.audit_path,
                            "-o", page], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        ws.leak_check([page])
        with open(page, encoding="utf-8") as f:
            html = f.read()
        assert "http://" not in html.split("<script>")[0] and "src=" not in html, \
            "the page loads nothing from outside"

        profile = ws.mkdir("chromium")
        dom = chromium(profile, "--virtual-time-budget=5000", "--dump-dom", "file://" + page)
        nodes = re.findall(r'<g class="node ([a-z ]+)" data-id="([^"]*)"', dom)
        kinds = [k for k, _ in nodes]
        requests = {get(e, "vault.request_id") for e in events
                    if get(e, "event.action") in ("secret.receive", "secret.use",
                                                  "secret.violation")}
        assert kinds.count("vault") == len(requests), (kinds, requests)
        assert "process" in kinds and "destination" in kinds, kinds
        assert kinds.count("destination violation") == 2, nodes    # rx_b and the key file
        links = re.findall(r'<path class="link ([a-z]+)" d="M[^"]+"', dom)
        assert "receive" in links and "use" in links and links.count("violation") == 2, links
        assert "<title>owned</title>" not in dom and "owned" not in dom.split("<body")[0]
        assert "&lt;/script&gt;&lt;script&gt;" in dom, "the hostile name is shown as text"
        rows = dom.count("<tr") - 1
        expected = sum(1 for e in events + [hostile] if get(e, "event.action") in (
            "secret.receive", "secret.use", "secret.violation", "secret.learn_failed"))
        assert rows == expected, (rows, expected)

        os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
        chromium(profile, "--virtual-time-budget=5000", "--window-size=1400,1100",
                 "--screenshot=" + SCREENSHOT, "file://" + page)
        assert os.path.getsize(SCREENSHOT) > 10000
        print("report screenshot: %s" % SCREENSHOT)


@timeout(60)
def test_usage_errors():
    """An unknown format, text to a network output, report without its output or input:
    one clear line, the usage exit status."""
    with Workspace() as ws:
        def run(*argv):
            return subprocess.run([SECRETRACE] + list(argv), capture_output=True, text=True,
                                  timeout=30, env=ws.env())
        r = run("--format", "yaml", "--", "/bin/true")
        assert r.returncode == 125 and "--format yaml: expected ecs, text or ocsf" in r.stderr, r
        r = run("--format", "text", "-o", "syslog+udp://127.0.0.1:9", "--", "/bin/true")
        assert r.returncode == 125 and "--format text is for terminals and files" in r.stderr, r
        r = run("report", ws.path("none.json"), "-o", ws.path("r.html"))
        assert r.returncode == 1 and "none.json" in r.stderr, r
        r = run("report", ws.path("none.json"))
        assert r.returncode == 2 and "-o REPORT.html is required" in r.stderr, r


@timeout(120)
def test_progress_on_a_terminal_only():
    """report (and correlate, which reads the same way) over an events file of 17 MiB:
    "reading: N%" on stderr when it is a terminal, cleared at the end; nothing when not."""
    with Workspace() as ws:
        evp = ws.path("big.json")
        line = json.dumps({"@timestamp": "2026-11-27T10:00:00.000000Z",
                           "event": {"action": "process.start", "id": "x"},
                           "host": {"name": "h"}, "pad": "p" * 900}) + "\n"
        with open(evp, "w") as f:
            f.write(line * (17 * 1024 * 1024 // len(line) + 1))
        page = ws.path("r.html")
        master, slave = pty.openpty()
        p = ws.spawn([SECRETRACE, "report", evp, "-o", page], stdout=subprocess.DEVNULL,
                     stderr=slave)
        os.close(slave)
        err = read_terminal(master)
        assert p.wait(60) == 0, err
        assert b"\rreading: " in err and b"\r\x1b[K" in err, err
        r = subprocess.run([SECRETRACE, "report", evp, "-o", page], capture_output=True,
                           timeout=60)
        assert r.returncode == 0 and b"reading" not in r.stderr, r.stderr
