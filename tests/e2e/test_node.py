"""The node modes (--all, --cgroup): learning from every process, scanning the reach set.

A secret is followed from the process that fetched it to the processes it reached through a
file, a unix socket and a TCP connection; a process that got the same value by a way no traced
write reaches (the stand-in's own log) is outside the reach set: not scanned in the default
scope, reported with --scan everything.
"""
import json
import os
import signal
import subprocess

from harness import (PY, SECRETRACE, Workspace, actions, agent, check_common, describe_all, get,
                     timeout, wait_for)


def start_traced(ws, args):
    """secretrace with args in the background, once tracer.start is out."""
    tr = ws.start_tracer(args)
    tr.wait_event(lambda e: get(e, "event.action") == "tracer.start", 30, "tracer.start")
    return tr


def stop_checked(tr):
    """SIGTERM: exit 0, every event valid (the contract's invariants)."""
    run = tr.stop(signal.SIGTERM)
    assert run.rc == 0, "secretrace exit %s; stderr %s" % (run.rc, run.stderr)
    check_common(run.events)
    return run


def spawn_ready(ws, argv):
    """A role that prints "ready" once it waits."""
    p = ws.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    line = p.stdout.readline()
    assert line.strip() == b"ready", "%s did not get ready: %r" % (argv[2], line)
    return p


def uses_of(events, pid, fp):
    return [e for e in actions(events, "secret.use")
            if get(e, "process.pid") == pid and get(e, "secret.fingerprint") == fp]


def run_roles(scope):
    """The fetcher, a relay reading its file, a server reading its unix socket and a
    bystander, under secretrace --all [--scan scope]. Returns (events, pids, api, ports)."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = {k: ws.tcp_receiver() for k in ("agent", "relay", "served", "bystander")}
        tok = vault.token_file()
        handoff, sock = ws.path("handoff.txt"), ws.path("serve.sock")
        node = [PY, agent("py_node.py")]
        # started before anything holds a secret, so that only what the test does reaches them
        relay = spawn_ready(ws, node + ["relay", "--file", handoff, "--tcp", str(rx["relay"].port)])
        server = spawn_ready(ws, node + ["serve", "--unix", sock, "--tcp", str(rx["served"].port)])
        by = spawn_ready(ws, node + ["bystander", "--issued", vault.issued_path,
                                     "--tcp", str(rx["bystander"].port)])
        tr = start_traced(ws, ["--all"] + (["--scan", scope] if scope else []))
        ag = ws.spawn(node + ["fetch", vault.url, tok, "--tcp", str(rx["agent"].port),
                              "--file", handoff, "--unix", sock])
        assert ag.wait(30) == 0, "the fetcher failed (%s)" % ag.returncode
        api = vault.issued_one("secret/data/agent/openai", "api_key")
        line = len("key=%s\n" % api["value"])
        rx["agent"].wait_bytes(line)
        rx["served"].wait_bytes(line + len("served "))
        relay.send_signal(signal.SIGUSR1)
        by.send_signal(signal.SIGUSR1)
        rx["relay"].wait_bytes(line + len("relayed "))
        rx["bystander"].wait_bytes(len("bystander %s\n" % api["value"]))
        for p in (relay, server, by):
            assert p.wait(20) == 0, "a role failed (%s)" % p.returncode
        pids = {"agent": ag.pid, "relay": relay.pid, "server": server.pid, "bystander": by.pid}
        # the relay's and the bystander's sends are in once a use of each process is written
        want = ("relay", "server", "bystander") if scope == "everything" else ("relay", "server")
        wait_for(lambda: all(uses_of_pid(tr.events(), pids[k]) for k in want), 20,
                 "the relayed uses")
        run = stop_checked(tr)
        start = run.events[0]
        assert get(start, "secretrace.target.mode") == "all", describe_all([start])
        assert get(start, "secretrace.target.scan") == (scope or "reach"), describe_all([start])
        return run.events, pids, api, rx


def uses_of_pid(events, pid):
    return [e for e in actions(events, "secret.use") if get(e, "process.pid") == pid]


def check_followed(events, pids, rx):
    recv = [e for e in actions(events, "secret.receive")
            if get(e, "process.pid") == pids["agent"] and get(e, "vault.field") == "api_key"]
    assert recv, "no secret.receive of api_key by the fetcher:%s" % describe_all(
        actions(events, "secret.receive"))
    fp, rid = get(recv[0], "secret.fingerprint"), get(recv[0], "vault.request_id")
    got = {k: uses_of(events, pids[k], fp) for k in pids}
    agent_sinks = {(get(e, "secretrace.sink"), get(e, "destination.port"), get(e, "file.path"))
                   for e in got["agent"]}
    assert ("socket", rx["agent"].port, None) in agent_sinks, "fetcher's TCP send:%s" % \
        describe_all(got["agent"])
    assert any(s == "file" for s, _, _ in agent_sinks), "fetcher's file write:%s" % \
        describe_all(got["agent"])
    assert any(get(e, "network.transport") == "unix" for e in got["agent"]), \
        "fetcher's unix socket send:%s" % describe_all(got["agent"])
    for k, port in (("relay", rx["relay"].port), ("server", rx["served"].port)):
        assert [e for e in got[k] if get(e, "destination.port") == port
                and get(e, "vault.request_id") == rid], \
            "the %s, reached through what the fetcher wrote, is not reported:%s" % (
                k, describe_all(uses_of_pid(events, pids[k])))
    return got


@timeout(120)
def test_all_reach_follows_the_secret():
    """--all: the fetcher is learned from (its first bytes are a request to Vault); the
    processes that read its file and its unix socket join the reach set and their sends are
    reported with the fetch's request_id; the bystander, whose copy came by a way no traced
    write reaches, is not scanned."""
    events, pids, api, rx = run_roles(None)
    got = check_followed(events, pids, rx)
    assert not got["bystander"], "the bystander is outside the reach set, yet:%s" % \
        describe_all(got["bystander"])
    stop = events[-1]
    assert get(stop, "secretrace.stats.reached") >= 3, describe_all([stop])


@timeout(120)
def test_all_scan_everything():
    """--all --scan everything: the bystander's send is reported too."""
    events, pids, api, rx = run_roles("everything")
    got = check_followed(events, pids, rx)
    assert [e for e in got["bystander"] if get(e, "destination.port") == rx["bystander"].port], \
        "the bystander's send is not reported with --scan everything:%s" % describe_all(
            uses_of_pid(events, pids["bystander"]))


# ---------------------------------------------------------------------------
# --cgroup: trees laid out as kubelet lays them out


def cgroup2_root():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] == "cgroup2":
                return left.split()[4]
    raise AssertionError("no cgroup2 mount")


class CgroupTree:
    """Cgroup directories made under the cgroup2 mount, removed (deepest first) at the end."""

    def __init__(self, ws):
        self.root = cgroup2_root()
        self.made = []
        ws.closers.append(self.remove)

    def make(self, rel):
        path = self.root
        for part in rel.strip("/").split("/"):
            path = os.path.join(path, part)
            if not os.path.isdir(path):
                os.mkdir(path)
                self.made.append(path)
        return path

    def run_in(self, ws, cg, argv, **kw):
        """argv started inside cgroup cg (the shell moves itself there, then execs)."""
        return ws.spawn(["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg] + argv,
                        **kw)

    def remove(self):
        for path in reversed(self.made):
            try:
                os.rmdir(path)
            except OSError:
                pass


CID1 = "4c0a5f1de0c1b6f8e7a9c3d2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2"
CID2 = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"
POD1 = "0f7c1a2e-5b3d-4e6f-8a9b-0c1d2e3f4a5b"
POD2 = "a1b2c3d4-e5f6-4a7b-8c9d-e0f1a2b3c4d5"


@timeout(120)
def test_cgroup_subtrees_systemd_and_cgroupfs_drivers():
    """--cgroup on a kubelet-like tree: an agent in a systemd-driver containerd container
    (made after the tracer started: joined through the cgroup_mkdir hook) and one in a
    cgroupfs-driver container are traced, with their container.id; the same agent outside the
    subtree is not traced at all."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver()
        tok = vault.token_file()
        cgs = CgroupTree(ws)
        uid1 = POD1.replace("-", "_")
        base = "secretrace-e2e-%d" % os.getpid()
        cgs.make(base + "/kubepods.slice/kubepods-burstable.slice")
        cgs.make(base + "/kubepods/besteffort/pod" + POD2 + "/" + CID2)
        outside = cgs.make(base + "-outside")
        tr = start_traced(ws, ["--cgroup", base + "/kubepods.slice", "--cgroup",
                              cgs.root + "/" + base + "/kubepods"])
        c1 = cgs.make("%s/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/"
                      "cri-containerd-%s.scope" % (base, uid1, CID1))
        c2 = os.path.join(cgs.root, base, "kubepods/besteffort/pod" + POD2, CID2)
        node = [PY, agent("py_node.py"), "fetch", vault.url, tok, "--tcp", str(rx.port)]
        procs = {name: cgs.run_in(ws, cg, node) for name, cg in
                 (("systemd", c1), ("cgroupfs", c2), ("outside", outside))}
        for name, p in procs.items():
            assert p.wait(30) == 0, "the %s agent failed (%s)" % (name, p.returncode)
        issued = [r for r in vault.issued() if r["field"] == "api_key"]
        assert len(issued) == 3, "expected three fetches, the stand-in saw %d" % len(issued)
        rx.wait_bytes(sum(len("key=%s\n" % r["value"]) for r in issued))
        want = {"systemd": CID1, "cgroupfs": CID2}
        wait_for(lambda: all(uses_of_pid(tr.events(), procs[k].pid) for k in want), 20,
                 "the uses of both containers' agents")
        run = stop_checked(tr)
        start = run.events[0]
        assert get(start, "secretrace.target.mode") == "cgroups", describe_all([start])
        cg_list = get(start, "secretrace.target.cgroups")
        assert cg_list == [os.path.join(cgs.root, base, "kubepods.slice"),
                           os.path.join(cgs.root, base, "kubepods")], cg_list
        for name, cid in want.items():
            uses = uses_of_pid(run.events, procs[name].pid)
            assert uses, "no use by the %s agent" % name
            for e in uses + [e for e in actions(run.events, "secret.receive")
                             if get(e, "process.pid") == procs[name].pid]:
                assert get(e, "container.id") == cid, "%s: container.id %r, want %s:%s" % (
                    name, get(e, "container.id"), cid, describe_all([e]))
        assert not [e for e in run.events if get(e, "process.pid") == procs["outside"].pid], \
            "the agent outside the subtrees was traced:%s" % describe_all(
                [e for e in run.events if get(e, "process.pid") == procs["outside"].pid])


@timeout(30)
def test_cgroup_usage_errors():
    """--cgroup of a path that is not a cgroup, and mixed modes: one clear line, exit 2."""
    with Workspace():
        for args, want in ((["--cgroup", "no-such-cgroup-%d" % os.getpid()], "not there"),
                           (["--all", "-p", "1"], "give one of"),
                           (["-p", "1", "--scan", "everything"], "--scan needs"),
                           (["--all", "--scan", "some"], "expected reach or everything")):
            p = subprocess.run([SECRETRACE] + args, capture_output=True, text=True, timeout=20)
            assert p.returncode == 2, "%s: exit %s, stderr %r" % (args, p.returncode, p.stderr)
            assert want in p.stderr and p.stderr.count("\n") == 1, "%s: %r" % (args, p.stderr)


# ---------------------------------------------------------------------------
# a real container (podman), its attribution checked against podman inspect

PODMAN = ["podman", "--runtime", "/usr/sbin/runc"]
# this machine's hard limits are below podman's defaults for a container
PODMAN_RUN = ["run", "--network", "host", "--ulimit", "nofile=1024:1024",
              "--ulimit", "nproc=1024:1024"]


def podman(*args, check=True, timeout=120):
    p = subprocess.run(PODMAN + list(args), capture_output=True, text=True, timeout=timeout)
    if check and p.returncode:
        raise AssertionError("podman %s: exit %s: %s" % (" ".join(args), p.returncode,
                                                        p.stderr.strip()[-400:]))
    return p.stdout.strip()


@timeout(180)
def test_podman_container_attributed():
    """An image built here from a static agent (no registry: podman import of a one-file
    rootfs); the agent in a real container, under --all: its receive and use carry the
    container.id podman inspect gives, and container.runtime podman."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver()
        tok = vault.token_file(mode=0o644)
        rootfs = ws.mkdir("rootfs")
        subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Werror", "-o",
                        os.path.join(rootfs, "kv_send"), os.path.join(os.path.dirname(
                            agent("kv_send.c")), "kv_send.c")], check=True)
        tar = ws.path("rootfs.tar")
        subprocess.run(["tar", "-C", rootfs, "-cf", tar, "."], check=True)
        image = "localhost/secretrace-e2e-agent:%d" % os.getpid()
        podman("import", tar, image)
        ws.closers.append(lambda: podman("rmi", "-f", image, check=False))
        tr = start_traced(ws, ["--all"])
        cidfile = ws.path("cid")
        name = "secretrace-e2e-%d" % os.getpid()
        ws.closers.append(lambda: podman("rm", "-f", name, check=False))
        podman(*PODMAN_RUN, "--name", name, "--cidfile", cidfile, "-v", tok + ":/token:ro",
               image, "/kv_send", str(vault.port), "/token", str(rx.port))
        api = vault.issued_one("secret/data/agent/openai", "api_key")
        rx.wait_bytes(len("key=%s\n" % api["value"]))
        inspect = podman("inspect", "--format", "{{.Id}}", name)
        with open(cidfile) as f:
            assert f.read().strip() == inspect, "podman's cidfile and inspect disagree"
        mine = lambda evs: [e for e in evs if get(e, "process.name") == "kv_send"
                            and get(e, "event.action") in ("secret.receive", "secret.use")]
        wait_for(lambda: [e for e in mine(tr.events())
                          if get(e, "event.action") == "secret.use"], 20, "the container's use")
        run = stop_checked(tr)
        evs = mine(run.events)
        assert {get(e, "event.action") for e in evs} == {"secret.receive", "secret.use"}, \
            describe_all(evs)
        for e in evs:
            assert get(e, "container.id") == inspect and \
                get(e, "container.runtime") == "podman", \
                "container fields %r/%r, podman inspect says %s:%s" % (
                    get(e, "container.id"), get(e, "container.runtime"), inspect,
                    describe_all([e]))


def containerd_bundle(state, cid, pod_uid, pod, namespace, container, image):
    """A container's OCI bundle as containerd's CRI plugin leaves it on a node: its
    config.json's annotations name the pod (tests/data/kube has a whole real one)."""
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "data", "kube", "runtime-containerd-container.json")) as f:
        cfg = json.load(f)
    cfg["annotations"].update({
        "io.kubernetes.cri.container-name": container,
        "io.kubernetes.cri.image-name": image,
        "io.kubernetes.cri.sandbox-name": pod,
        "io.kubernetes.cri.sandbox-namespace": namespace,
        "io.kubernetes.cri.sandbox-uid": pod_uid,
    })
    d = os.path.join(state, "io.containerd.runtime.v2.task", "k8s.io", cid)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)


@timeout(120)
def test_secret_crosses_pods_over_a_unix_socket():
    """--cgroup on a node's kubepods.slice, pods named by containerd's bundles
    (--runtime-state): a secret fetched in pod A and passed over a unix socket to a process of
    pod B, which sends it on, is reported in both pods, each use naming its container, pod and
    namespace, and the unix send naming the receiving process."""
    with Workspace() as ws:
        vault = ws.vault()
        rx = ws.tcp_receiver()
        tok = vault.token_file()
        cgs = CgroupTree(ws)
        base = "secretrace-e2e-%d" % os.getpid()
        pods = {"a": (POD1, CID1, "agent-a-0", "team-a", "fetcher"),
                "b": (POD2, CID2, "relay-b-0", "team-b", "relay")}
        state = ws.mkdir("containerd")
        cg = {}
        for k, (uid, cid, pod, ns, ctr) in pods.items():
            containerd_bundle(state, cid, uid, pod, ns, ctr, "localhost/%s:1" % ctr)
            cg[k] = cgs.make("%s/kubepods.slice/kubepods-besteffort.slice/"
                             "kubepods-besteffort-pod%s.slice/cri-containerd-%s.scope"
                             % (base, uid.replace("-", "_"), cid))
        sock = ws.path("shared.sock")
        node = [PY, agent("py_node.py")]
        # it stays a while after sending: the unix use names it only while it is there
        server = cgs.run_in(ws, cg["b"], node + ["serve", "--unix", sock, "--tcp", str(rx.port),
                                                 "--linger", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert server.stdout.readline().strip() == b"ready"
        tr = start_traced(ws, ["--cgroup", base + "/kubepods.slice", "--runtime-state", state])
        fetcher = cgs.run_in(ws, cg["a"], node + ["fetch", vault.url, tok, "--unix", sock])
        assert fetcher.wait(30) == 0, "the fetcher failed"
        api = vault.issued_one("secret/data/agent/openai", "api_key")
        rx.wait_bytes(len("served key=%s\n" % api["value"]))
        wait_for(lambda: uses_of_pid(tr.events(), server.pid), 20, "pod B's use")
        assert server.wait(30) == 0, "the server failed"
        run = stop_checked(tr)
        for k, p, transport in (("a", fetcher, "unix"), ("b", server, "tcp")):
            uid, cid, pod, ns, ctr = pods[k]
            uses = [e for e in uses_of_pid(run.events, p.pid)
                    if get(e, "network.transport") == transport]
            assert uses, "no %s use by pod %s's process:%s" % (transport, k, describe_all(
                uses_of_pid(run.events, p.pid)))
            e = uses[0]
            want = {"container.id": cid, "container.runtime": "containerd",
                    "container.name": ctr, "container.image.name": "localhost/%s:1" % ctr,
                    "orchestrator.type": "kubernetes", "orchestrator.namespace": ns,
                    "orchestrator.resource.type": "pod", "orchestrator.resource.name": pod,
                    "orchestrator.resource.id": uid, "vault.request_id": api["request_id"]}
            got = {f: get(e, f) for f in want}
            assert got == want, "pod %s's use: %s, want %s" % (k, got, want)
        unix = [e for e in uses_of_pid(run.events, fetcher.pid)
                if get(e, "network.transport") == "unix"][0]
        assert get(unix, "secretrace.peer.pid") == server.pid, describe_all([unix])


# ---------------------------------------------------------------------------
# the DaemonSet's probes, and what the tracer keeps of root once attached


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def status_fields(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


@timeout(90)
def test_metrics_endpoint_and_dropped_privileges():
    """--all --metrics: /readyz answers 200 once tracer.start is out, /healthz 200, /metrics
    the counters in Prometheus text (events by action, losses by reason); the running tracer
    holds only the capabilities it keeps (no CAP_SYS_ADMIN, CAP_BPF or CAP_PERFMON with
    uprobe_multi links), no_new_privs, and a seccomp filter."""
    with Workspace() as ws:
        port = free_port()
        tr = start_traced(ws, ["--all", "--metrics", "127.0.0.1:%d" % port])
        assert http_get(port, "/readyz")[0] == 200
        assert http_get(port, "/healthz")[0] == 200
        assert http_get(port, "/nothing")[0] == 404
        text = wait_for(lambda: (lambda r: r[1] if 'action="tracer.start"' in r[1] else None)(
            http_get(port, "/metrics")), 10, "tracer.start counted in /metrics")
        for want in ("# TYPE secretrace_events_total counter",
                     'secretrace_events_total{action="tracer.start"} 1',
                     'secretrace_lost_total{reason="ringbuf_full_match"} 0',
                     "secretrace_bytes_scanned_total "):
            assert want in text, "%r not in /metrics:\n%s" % (want, text[:2000])
        st = status_fields(tr.proc.pid)
        eff = int(st["CapEff"], 16)
        for bit, name in ((21, "CAP_SYS_ADMIN"), (39, "CAP_BPF"), (38, "CAP_PERFMON"),
                          (1, "CAP_DAC_OVERRIDE"), (7, "CAP_SETUID")):
            assert not eff & (1 << bit), "the tracer still holds %s (CapEff %s)" % (
                name, st["CapEff"])
        assert eff & (1 << 19) and eff & (1 << 2), "CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH " \
            "kept for /proc, CapEff %s" % st["CapEff"]
        assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2", \
            "NoNewPrivs %s Seccomp %s" % (st["NoNewPrivs"], st["Seccomp"])
        run = stop_checked(tr)
