"""Secrets delivered to pods on a node, found by themselves (issue 15): in the node modes,
the Vault Agent injector's emptyDir (vault-secrets) and the Secrets Store CSI driver's
mounts under the kubelet root are learned from and watched as --learn-file directories,
those of pods started before the tracer and after it. The kubelet tree is a fake one in a
temp dir (--kubelet-root) with real tmpfs mounts, as the kubelet makes them."""
import json
import os
import subprocess
import uuid

from harness import (PY, Workspace, actions, agent, assert_no_learn_failures, check_common,
                     describe_all, get, rand_secret, timeout, wait_for)
from test_delivery_paths import atomic_writer_update


def tmpfs(ws, path):
    """A tmpfs mounted at path (made), unmounted when the test ends."""
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", path],
                   check=True)
    ws.closers.append(lambda: subprocess.run(["umount", "-l", path], check=False))
    return path


def vault_secrets(ws, kroot, uid):
    """vault-k8s' injected emptyDir (medium Memory) of pod uid."""
    return tmpfs(ws, os.path.join(kroot, "pods", uid, "volumes", "kubernetes.io~empty-dir",
                                  "vault-secrets"))


def csi_volume(ws, kroot, uid, vol, driver):
    """A CSI volume of pod uid: vol_data.json naming driver, written before the mount (as
    the kubelet does), then the mount."""
    d = os.path.join(kroot, "pods", uid, "volumes", "kubernetes.io~csi", vol)
    os.makedirs(d)
    with open(os.path.join(d, "vol_data.json"), "w") as f:
        json.dump({"attachmentID": "csi-%s" % vol, "driverName": driver,
                   "nodeName": "node-1", "specVolID": vol, "volumeHandle": "csi-%s" % vol,
                   "volumeLifecycleMode": "Ephemeral"}, f)
    return tmpfs(ws, os.path.join(d, "mount"))


def write(path, value):
    with open(path, "w") as f:
        f.write(value + "\n")


def start_node_tracer(ws, kroot, extra=()):
    t = ws.start_tracer(["--all", "--kubelet-root", kroot] + list(extra))
    t.wait_event(lambda e: get(e, "event.action") == "tracer.start", 60, "tracer.start")
    return t


def file_receive(t, path, what):
    return t.wait_event(lambda e: get(e, "event.action") == "secret.receive" and
                        get(e, "file.path") == path, 60, what)[0]


def app_uses(events, pid):
    return [e for e in actions(events, "secret.use") if get(e, "process.pid") == pid]


@timeout(180)
def test_node_finds_pod_secret_mounts():
    """A pod running before the tracer (its vault-secrets emptyDir already rendered) and one
    started after (a Secrets Store CSI mount, written by the atomic writer once mounted): each
    value is a secret.receive (secret.source file, file.path, the pod's UID). A CSI volume of
    another driver is not learned from. The application, in no way in the reach set before,
    reads the three files and sends each over TCP: in the default reach scope its opening a
    learned file made it join, and the uses of the two secrets are reported (secret.source
    file, the file they came through), none of the other driver's value. The first pod
    deleted (its mount unmounted), its value is forgotten after --rotated-keep (secret.expire,
    the pod's UID)."""
    with Workspace() as ws:
        kroot = os.path.realpath(ws.mkdir("kubelet"))
        old_pod, new_pod = str(uuid.uuid4()), str(uuid.uuid4())
        agent_secret, csi_secret, other = (rand_secret(32, p) for p in ("va-", "csi-", "oth-"))
        for v, label in ((agent_secret, "vault-secrets"), (csi_secret, "csi"),
                         (other, "another driver's volume")):
            ws.extra_secrets.append((v, [], label))
        rendered = os.path.join(vault_secrets(ws, kroot, old_pod), "db-password")
        write(rendered, agent_secret)
        other_file = os.path.join(csi_volume(ws, kroot, old_pod, "certs", "other.csi.k8s.io"),
                                  "token")
        write(other_file, other)
        t = start_node_tracer(ws, kroot, ["--rotated-keep", "2"])
        first = file_receive(t, rendered, "the existing pod's vault-secrets receive")
        mount = csi_volume(ws, kroot, new_pod, "secrets-store-inline",
                           "secrets-store.csi.k8s.io")
        atomic_writer_update(mount, "password", csi_secret, 1)
        csi_file = os.path.join(mount, "password")
        second = file_receive(t, csi_file, "the new pod's CSI mount receive")
        flags = ws.mkdir("flags", 0o777)
        go, sent = os.path.join(flags, "go"), os.path.join(flags, "sent")
        open(go, "w").close()
        rx = ws.tcp_receiver()
        app = ws.spawn([PY, agent("py_files_leak.py"), str(rx.port), go, sent, rendered,
                        csi_file, other_file])
        assert app.wait(60) == 0, "the application failed (%s)" % app.returncode
        want = {first["secret"]["fingerprint"]: rendered,
                second["secret"]["fingerprint"]: csi_file}
        t.wait_event(lambda e: get(e, "event.action") == "secret.use" and
                     get(e, "process.pid") == app.pid and
                     len({get(u, "secret.fingerprint") for u in app_uses(t.events(), app.pid)})
                     == 2, 60, "the application's two uses")
        # the old pod deleted: its mount goes, and its values with it, as rotated-out ones
        subprocess.run(["umount", os.path.dirname(rendered)], check=True)
        t.wait_event(lambda e: get(e, "event.action") == "secret.expire", 60,
                     "the deleted pod's value forgotten")
        run = t.stop()
        assert run.rc == 0, "secretrace exit %s: %s" % (run.rc, run.stderr)
        check_common(run.events)
        mine = [e for e in actions(run.events, "secret.receive")
                if (get(e, "file.path") or "").startswith(kroot + "/")]
        assert_no_learn_failures([e for e in run.events
                                  if (get(e, "file.path") or "").startswith(kroot + "/")])
        for r, path, uid in ((first, rendered, old_pod), (second, csi_file, new_pod)):
            assert (get(r, "secret.source"), get(r, "file.path"), get(r, "vault.field"),
                    get(r, "orchestrator.resource.id"), get(r, "process.pid")) == \
                ("file", path, os.path.basename(path), uid, None), r
        assert len(mine) == 2, "only the two secrets mounts are learned from:%s" % \
            describe_all(mine)
        ex = actions(run.events, "secret.expire")
        assert [(get(e, "secret.fingerprint"), get(e, "file.path"),
                 get(e, "orchestrator.resource.id"), get(e, "secretrace.expire.after"))
                for e in ex] == [(get(first, "secret.fingerprint"), rendered, old_pod,
                                  "rotated_keep")], describe_all(ex)
        uses = app_uses(run.events, app.pid)
        assert {get(u, "secret.fingerprint") for u in uses} == set(want), describe_all(uses)
        for u in uses:
            assert get(u, "secret.source") == "file", u
            assert get(u, "secretrace.delivery.file") == want[get(u, "secret.fingerprint")], u
            assert get(u, "destination.port") == rx.port, u


@timeout(120)
def test_reader_of_learned_file_joins_reach_set():
    """--all in the default reach scope with --learn-file: an application that got nothing
    from Vault and read no tainted file opens the learned file and sends its value: it
    joined the reach set by that open, and the use is reported; a process that sends the same
    value without having opened the file (given it in its arguments' file, not learned) is
    not in the reach set and is not scanned. The file rewritten in place is learned again
    (the tracer's own open of a marked file is not held)."""
    with Workspace() as ws:
        kroot = os.path.realpath(ws.mkdir("kubelet"))
        value, rotated = rand_secret(32, "lf-"), rand_secret(32, "lf2-")
        for v in (value, rotated):
            ws.extra_secrets.append((v, [], "a learned file's value"))
        d = os.path.realpath(ws.mkdir("secrets", 0o755))
        learned = os.path.join(d, "api-key")
        write(learned, value)
        copy = os.path.join(ws.mkdir("elsewhere", 0o755), "copy")
        write(copy, value)
        t = start_node_tracer(ws, kroot, ["--learn-file", d])
        r = file_receive(t, learned, "the learned file's receive")
        flags = ws.mkdir("flags", 0o777)
        go = os.path.join(flags, "go")
        open(go, "w").close()
        rx = ws.tcp_receiver()
        apps = [ws.spawn([PY, agent("py_files_leak.py"), str(rx.port), go,
                          os.path.join(flags, "sent-%s" % n), f])
                for n, f in (("reader", learned), ("bystander", copy))]
        for a in apps:
            assert a.wait(60) == 0, "an application failed (%s)" % a.returncode
        rx.wait_bytes(2 * len(value + "\n"))
        t.wait_event(lambda e: get(e, "event.action") == "secret.use" and
                     get(e, "process.pid") == apps[0].pid, 60, "the reader's use")
        # rewritten in place: the tracer opens the marked file again itself (its own opens
        # are answered by the fanotify thread, not held)
        write(learned, rotated)
        t.wait_event(lambda e: get(e, "event.action") == "secret.receive" and
                     get(e, "file.path") == learned and
                     get(e, "secret.fingerprint") != get(r, "secret.fingerprint"), 60,
                     "the value rewritten in place")
        run = t.stop()
        assert run.rc == 0, "secretrace exit %s: %s" % (run.rc, run.stderr)
        check_common(run.events)
        uses = app_uses(run.events, apps[0].pid)
        assert [(get(u, "secret.fingerprint"), get(u, "secret.source"),
                 get(u, "secretrace.delivery.file"), get(u, "destination.port")) for u in uses] \
            == [(get(r, "secret.fingerprint"), "file", learned, rx.port)], describe_all(uses)
        assert not actions(run.events, "secret.expire"), \
            "nothing is due within --rotated-keep's hour, at exit neither"
        assert not app_uses(run.events, apps[1].pid), \
            "the bystander was scanned:%s" % describe_all(app_uses(run.events, apps[1].pid))
