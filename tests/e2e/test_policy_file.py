"""--policy FILE at start: a broken policy is refused with FILE:LINE:COLUMN: reason before
anything is loaded (exit 2, or 125 with -- COMMAND, and the command never runs); a good one
is accepted. (Verdicts on uses are the detection path's tests.)"""
import os
import subprocess

from harness import SECRETRACE, Workspace, timeout

GOOD = """default: report
rules:
  - name: llm-key-to-api-only
    vault_path: "secret/data/agent/*"
    field: api_key
    allow:
      - destination: "203.0.113.0/24:443"
      - destination: "api.example.com:443"
        executable: "/usr/bin/curl"
      - sink: pipe
"""


def write(ws, name, text):
    p = ws.path(name)
    with open(p, "w") as f:
        f.write(text)
    return p


@timeout(60)
def test_broken_policy_refused_at_start():
    with Workspace() as ws:
        marker = ws.path("ran")
        cases = [
            ("dup.yaml", "default: report\nrules: []\ndefault: deny\n", 3, 1,
             'policy: duplicate key "default"'),
            ("key.yaml", "rules:\n  - name: a\n    vault_pat: x\n", 3, 5,
             'rule: unknown key "vault_pat"'),
            ("cidr.yaml", GOOD.replace("203.0.113.0/24", "203.0.113.0/33"), 7, 22,
             'destination: bad CIDR "203.0.113.0/33": the prefix length must be 0 to 32'),
            ("port.yaml", GOOD.replace(":443\"\n        exec", ":0\"\n        exec"), 8, 22,
             'destination: bad port "0" (ports are 1 to 65535, or LOW-HIGH)'),
            ("syntax.yaml", "rules:\n  - name: a\n   vault_path: x\n", 3, 4,
             "did not find expected '-' indicator"),
            ("json.json", '{"rules": [{"name": "a", "vault_path": "x", "allow": [{"sink": "socks"}]}]}',
             1, 64, 'sink: unknown sink "socks"'),
        ]
        for name, text, line, col, why in cases:
            path = write(ws, name, text)
            where = "secretrace: %s:%d:%d: " % (path, line, col)
            r = subprocess.run([SECRETRACE, "--policy", path, "-p", str(os.getpid())],
                               capture_output=True, timeout=30)
            err = r.stderr.decode()
            assert r.returncode == 2, "%s: exit %s, expected 2; stderr: %s" % (name, r.returncode, err)
            assert err.startswith(where) and why in err and len(err.strip().splitlines()) == 1, \
                "%s: stderr %r, expected one line %r...%r" % (name, err, where, why)
            r = subprocess.run([SECRETRACE, "--policy", path, "--", "/usr/bin/touch", marker],
                               capture_output=True, timeout=30)
            err = r.stderr.decode()
            assert r.returncode == 125, "%s: exit %s with -- COMMAND, expected 125; %s" % (
                name, r.returncode, err)
            assert err.startswith(where) and why in err, "%s: stderr %r" % (name, err)
            assert not os.path.exists(marker), "%s: the command ran despite the broken policy" % name
        # refused before anything else, so without root too
        path = write(ws, "dup2.yaml", "default: deny\ndefault: deny\n")
        r = subprocess.run([SECRETRACE, "--policy", path, "-p", "1"], capture_output=True,
                           timeout=30, user="nobody")
        assert r.returncode == 2 and ":2:1: policy: duplicate key" in r.stderr.decode(), r
        r = subprocess.run([SECRETRACE, "--policy", ws.path("missing.yaml"), "-p", "1"],
                           capture_output=True, timeout=30)
        assert r.returncode == 2 and "missing.yaml: No such file or directory" in r.stderr.decode(), r


@timeout(60)
def test_good_policy_accepted():
    with Workspace() as ws:
        path = write(ws, "good.yaml", GOOD)
        marker = ws.path("ran")
        run = ws.run_traced(["/usr/bin/touch", marker], tracer_args=["--policy", path])
        assert run.rc == 0, "exit %s; stderr: %s" % (run.rc, run.stderr)
        assert os.path.exists(marker), "the command did not run"
