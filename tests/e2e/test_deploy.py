"""deploy/: the Kubernetes manifests and the Containerfile, checked without a cluster or a
registry. tests/deploy/validate.js does the checking (docs/kubernetes.md, "Checking the
manifests"); it needs the npm packages of tests/deploy, installed here with `npm ci` when
node_modules is missing or was installed from another package-lock.json. Besides: the
validator must fail on broken manifests, the sample policy must be one the tracer accepts, and
the image must carry the package of every library the built binary needs."""
import hashlib
import os
import re
import shutil
import subprocess

from harness import REPO, Workspace, timeout

DEPLOY_TESTS = os.path.join(REPO, "tests", "deploy")
MANIFESTS = os.path.join(REPO, "deploy", "kubernetes")
CONTAINERFILE = os.path.join(REPO, "deploy", "Containerfile")
STAMP = os.path.join(DEPLOY_TESTS, "node_modules", ".secretrace-lock-sha256")
SUMMARY = re.compile(r"^deploy: (\d+) passed, (\d+) failed$", re.M)


def need(cmd):
    path = shutil.which(cmd)
    assert path, "%s is not installed (the machine's Node.js provides node and npm; " \
                 "kubectl is needed too)" % cmd
    return path


def node_modules():
    """npm ci in tests/deploy unless node_modules was installed from this package-lock.json."""
    with open(os.path.join(DEPLOY_TESTS, "package-lock.json"), "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    try:
        with open(STAMP, encoding="ascii") as f:
            if f.read().strip() == want:
                return
    except OSError:
        pass
    r = subprocess.run([need("npm"), "ci", "--no-audit", "--no-fund"], cwd=DEPLOY_TESTS,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, "npm ci in tests/deploy failed (%s):\n%s%s" % (
        r.returncode, r.stdout[-3000:], r.stderr[-3000:])
    with open(STAMP, "w", encoding="ascii") as f:
        f.write(want + "\n")


def validate(*args):
    node_modules()
    need("kubectl")
    r = subprocess.run([need("node"), os.path.join(DEPLOY_TESTS, "validate.js")] + list(args),
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    m = SUMMARY.findall(r.stdout)
    assert m, "validate.js printed no summary (exit %s):\n%s%s" % (r.returncode, r.stdout[-3000:],
                                                                  r.stderr[-3000:])
    passed, failed = (int(x) for x in m[-1])
    print(r.stdout)
    return r, passed, failed


@timeout(600)
def test_manifests_valid():
    r, passed, failed = validate()
    fails = [line for line in r.stdout.splitlines() if line.startswith("FAIL")]
    assert r.returncode == 0 and failed == 0, "validate.js: %d failed:\n%s" % (
        failed, "\n".join(fails) or r.stdout[-3000:])
    # The parts of the job, each present: the objects, their cross-references, the overlay,
    # the documentation's objects, the Containerfile, and the negative self-tests.
    for what in ("DaemonSet/secretrace: valid apps/v1 DaemonSet, no unknown field",
                 "the ClusterRole grants get, list and watch on pods, and nothing else",
                 "the probes ask the --metrics port",
                 "kubectl reads every file as the validator does",
                 "kustomization.yaml lists every manifest",
                 "examples/siem: kubectl kustomize builds it",
                 "docs: kubernetes.md",
                 "Containerfile: the image installs the runtime libraries",
                 "self-test: an unknown field", "self-test: a field of the wrong type"):
        assert any(line.startswith("PASS ") and what in line for line in r.stdout.splitlines()), \
            "no passing check of %r in validate.js's output" % what
    assert passed >= 50, "only %d checks ran" % passed


@timeout(600)
def test_broken_manifests_fail():
    with Workspace() as ws:
        broken = ws.path("kubernetes")
        shutil.copytree(MANIFESTS, broken)
        p = os.path.join(broken, "daemonset.yaml")
        with open(p, encoding="utf-8") as f:
            text = f.read()
        # a wrong type, an unknown field beside it, a misspelt field deeper down
        for old, new in (("      hostPID: true\n", '      hostPID: "yes"\n      hostNetwrk: true\n'),
                         ("            privileged: false\n",
                          "            privileged: false\n            readOnlyRootFilesytem: true\n")):
            assert old in text, "daemonset.yaml no longer has %r" % old
            text = text.replace(old, new, 1)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        r, passed, failed = validate("--manifests", broken)
        assert r.returncode == 1 and failed >= 1, "validate.js accepted the broken DaemonSet " \
            "(exit %s, %d failed)" % (r.returncode, failed)
        out = r.stdout
        i = out.find("FAIL daemonset.yaml DaemonSet/secretrace")
        assert i >= 0, "the DaemonSet's schema check did not fail:\n%s" % out[-3000:]
        report = out[i:].split("\nPASS", 1)[0].split("\nFAIL", 2)[0]
        for what in ("hostNetwrk", "readOnlyRootFilesytem", "hostPID must be boolean",
                     "spec.template.spec.hostPID: Type 'string' is not assignable to type 'boolean"):
            assert what in report, "the DaemonSet's failure does not mention %r:\n%s" % (what, report)
        assert "hostPID is not true" in out, "the hostPID check did not fail:\n%s" % out[-3000:]


def sample_policy(ws):
    """The policy.yaml of deploy/kubernetes/configmap-policy.yaml, as a file."""
    with open(os.path.join(MANIFESTS, "configmap-policy.yaml"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    start = lines.index("  policy.yaml: |") + 1
    body = []
    for line in lines[start:]:
        if line.strip() and not line.startswith("    "):
            break
        body.append(line[4:])
    p = ws.path("policy.yaml")
    with open(p, "w", encoding="utf-8") as f:
        f.write("\n".join(body).rstrip("\n") + "\n")
    return p


@timeout(90)
def test_sample_policy_accepted():
    with Workspace() as ws:
        policy = sample_policy(ws)
        with open(policy, encoding="utf-8") as f:
            assert "rules:" in f.read(), "no policy found in configmap-policy.yaml"
        marker = ws.path("ran")
        run = ws.run_traced(["/usr/bin/touch", marker], tracer_args=["--policy", policy])
        assert run.rc == 0, "the sample policy was refused: exit %s; stderr: %s" % (run.rc, run.stderr)
        assert os.path.exists(marker), "the command did not run"


def package_of(soname):
    """The Debian package that holds soname on this machine (Debian 12, as the image)."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    paths = [l.split(" => ")[-1].strip() for l in out.splitlines()
             if l.strip().startswith(soname + " ") and "x86-64" in l]
    assert paths, "%s: not found by ldconfig" % soname
    for p in (paths[0], os.path.realpath(paths[0])):
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":", 1)[0]
    raise AssertionError("%s (%s): no Debian package owns it" % (soname, paths[0]))


def image_packages():
    """The packages the Containerfile's last stage installs."""
    with open(CONTAINERFILE, encoding="utf-8") as f:
        text = re.sub(r"\\\n", " ", f.read())
    last = re.split(r"^FROM\s", text, flags=re.M)[-1]
    pkgs = set()
    for m in re.finditer(r"apt-get\s+install\s+([^&;\n]*)", last):
        pkgs.update(t for t in m.group(1).split() if not t.startswith("-"))
    return pkgs


@timeout(60)
def test_image_has_the_binarys_libraries():
    # the binary the image ships, not another build under test (SECRETRACE=, make test-asan)
    binary = os.path.join(REPO, "build", "secretrace")
    assert os.path.exists(binary), "build/secretrace is not built (make)"
    dyn = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True,
                         check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
    assert "libbpf.so.1" in needed, "readelf found no NEEDED libbpf.so.1: %s" % needed
    with open(binary, "rb") as f:
        blob = f.read()
    # loaded with dlopen when an https:// or syslog+tls:// output is opened
    lazy = [s for s in ("libcurl.so.4", "libssl.so.3") if s.encode() in blob]
    assert len(lazy) == 2, "the binary no longer names libcurl.so.4 and libssl.so.3: %s" % lazy
    have = image_packages()
    missing = {}
    for so in needed + lazy:
        pkg = package_of(so)
        if pkg != "libc6" and pkg not in have:       # libc6 is in every Debian image
            missing[so] = pkg
    assert not missing, "the image lacks the packages of %s (it installs %s)" % (
        ", ".join("%s (%s)" % kv for kv in sorted(missing.items())), " ".join(sorted(have)))
