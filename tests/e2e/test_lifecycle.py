"""Tracer lifecycle, exit statuses and the per-event contract."""
import datetime
import json
import os
import signal
import subprocess

from harness import (SECRETRACE, Workspace, actions, get, describe, describe_all, timeout,
                     wait_for)


def ts(ev):
    return datetime.datetime.strptime(ev["@timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")


def command_start(run):
    """The process.start of the command secretrace ran (its direct child)."""
    starts = [e for e in actions(run.events, "process.start") if get(e, "process.parent.pid") == run.pid]
    assert len(starts) == 1, "expected one process.start of the command (parent %d):%s" % (
        run.pid, describe_all(actions(run.events, "process.start")))
    return starts[0]


def check_stop(run):
    stop = run.events[-1]
    stats = get(stop, "secretrace.stats")
    assert stats["events"] == len(run.events), \
        "secretrace.stats.events %s, but %d events were written" % (stats["events"], len(run.events))
    assert stats["lost"] == 0 and not actions(run.events, "tracer.loss"), "events lost: %s" % stats
    assert stats["bytes_scanned"] >= 0 and stats["bytes_not_scanned"] >= 0


@timeout(60)
def test_start_first_and_command_after_it():
    """tracer.start is the first event and is already written when the
    command starts (the command copies the events file at its start); it
    precedes every event of the command; tracer.stop is last with stats."""
    with Workspace() as ws:
        run = ws.run_traced(["/bin/cat", "{events}"])
        assert run.rc == 0, "exit %s, stderr %s" % (run.rc, run.stderr)
        seen = [json.loads(l) for l in run.stdout().decode().splitlines() if l.strip()]
        assert seen, "the command saw an empty events file: it started before tracer.start was written"
        assert get(seen[0], "event.action") == "tracer.start", \
            "the command saw %s first" % describe(seen[0])
        assert seen[0] == run.events[0], "the events file changed its first line"
        start = run.events[0]
        ps = command_start(run)
        assert get(ps, "process.executable") == "/usr/bin/cat", describe(ps)
        assert get(ps, "process.args") == ["/bin/cat", run.events_path], get(ps, "process.args")
        assert get(ps, "process.args_count") == 2
        assert get(ps, "event.sequence") > get(start, "event.sequence")
        assert ts(ps) >= ts(start), "command's process.start @%s before tracer.start @%s" % (
            ps["@timestamp"], start["@timestamp"])
        for e in run.events[1:]:
            assert get(e, "event.sequence") > get(start, "event.sequence")
        check_stop(run)


@timeout(60)
def test_exit_status_passthrough():
    """The command's exit status is secretrace's: 3 -> 3, SIGKILL -> 137."""
    with Workspace() as ws:
        run = ws.run_traced(["/bin/sh", "-c", "exit 3"])
        assert run.rc == 3, "exit 3 gave %s (stderr %s)" % (run.rc, run.stderr)
        check_stop(run)
        run = ws.run_traced(["/bin/sh", "-c", "kill -9 $$"])
        assert run.rc == 137, "SIGKILL gave %s (stderr %s)" % (run.rc, run.stderr)
        check_stop(run)


@timeout(60)
def test_exec_failures():
    """-- /nonexistent exits 127 and a non-executable file 126, each with one
    line on stderr."""
    with Workspace() as ws:
        run = ws.run_traced(["/nonexistent"], check=False)
        assert run.rc == 127, "exit %s" % run.rc
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "/nonexistent" in lines[0], "stderr: %r" % run.stderr
        p = ws.path("not-executable")
        with open(p, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(p, 0o644)
        run = ws.run_traced([p], check=False)
        assert run.rc == 126, "exit %s" % run.rc
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "not-executable" in lines[0], "stderr: %r" % run.stderr


# Run as the command: the tracer is its parent and has attached everything (tracer.start is
# out before a command starts); its descriptors name its links and programs (one it closes
# meanwhile is named no more: grep's complaint about it is ignored).
RECORD_IDS = ("grep -h -e '^link_id:' -e '^prog_id:' /proc/$PPID/fdinfo/* > {ids}.tmp 2>/dev/null; "
              "mv {ids}.tmp {ids}")


def read_ids(path):
    ids = {"link_id": set(), "prog_id": set()}
    with open(path) as f:
        for line in f:
            key, value = line.split(":")
            ids[key].add(int(value))
    assert len(ids["link_id"]) >= 10 and ids["prog_id"], "the tracer's ids: %s" % ids
    return ids


def bpf_ids(kind):
    out = subprocess.run(["bpftool", "-j", kind, "list"], check=True, capture_output=True).stdout
    return {o["id"] for o in json.loads(out)}


def wait_detached(ids, what):
    """Every link and program the tracer had is gone from the kernel (detached, freed)."""
    def gone():
        return not (ids["link_id"] & bpf_ids("link")) and not (ids["prog_id"] & bpf_ids("prog"))
    wait_for(gone, 60, "the links and programs of %s to be gone" % what, interval=0.1)


@timeout(120)
def test_probes_detached_after_exit():
    """Once secretrace has returned the command's status (at once: the links are left to
    its detacher, docs/performance.md), every link and program it had is gone; and when
    the tracer is killed (SIGKILL), too."""
    with Workspace() as ws:
        ids_path = ws.path("ids")
        run = ws.run_traced(["/bin/sh", "-c", RECORD_IDS.format(ids=ids_path) + "; exit 5"])
        assert run.rc == 5, "exit %s, stderr %s" % (run.rc, run.stderr)
        check_stop(run)
        wait_detached(read_ids(ids_path), "a tracer that exited")

        ids_path = ws.path("ids-killed")
        events = ws.path("killed.json")
        pid_path = ws.path("command.pid")
        tracer = ws.spawn([SECRETRACE, "-o", "file:" + events, "--", "/bin/sh", "-c",
                           "echo $$ > %s; %s; exec sleep 600" % (pid_path, RECORD_IDS.format(ids=ids_path))],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ws.root)
        wait_for(lambda: os.path.exists(ids_path), 60, "the command to record the ids", alive=tracer)
        tracer.kill()
        tracer.wait(30)
        with open(pid_path) as f:
            os.kill(int(f.read()), signal.SIGKILL)      # the orphaned command
        wait_detached(read_ids(ids_path), "a tracer killed with SIGKILL")


def raw(ws, args, timeout=30):
    d = ws.mkdir("raw")
    out, err = os.path.join(d, "stdout"), os.path.join(d, "stderr")
    with open(out, "wb") as o, open(err, "wb") as e:
        p = ws.spawn([SECRETRACE] + args, stdout=o, stderr=e)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("secretrace %s did not exit within %ss" % (" ".join(args), timeout))
    ws.leak_check([out, err])
    with open(err) as f:
        return rc, f.read()


@timeout(60)
def test_usage_errors():
    """--bogus: 2 without a command, 125 with one; -p 999999: 2, "no such process"."""
    with Workspace() as ws:
        rc, err = raw(ws, ["--bogus"])
        assert rc == 2, "--bogus exit %s, stderr %r" % (rc, err)
        assert "bogus" in err, "stderr %r does not name the option" % err
        rc, err = raw(ws, ["--bogus", "--", "true"])
        assert rc == 125, "--bogus -- true exit %s, stderr %r" % (rc, err)
        rc, err = raw(ws, ["-o", "file:" + ws.path("p.json"), "-p", "999999"])
        assert rc == 2, "-p 999999 exit %s, stderr %r" % (rc, err)
        assert "no such process" in err.lower(), "stderr %r" % err
        assert len(err.strip().splitlines()) == 1, "stderr is not one line: %r" % err
