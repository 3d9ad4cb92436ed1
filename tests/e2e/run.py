#!/usr/bin/python3
"""End-to-end test runner for secretrace (stdlib only).

Usage (from the repository root, as root):
    /usr/bin/python3 tests/e2e/run.py [-v] [FILTER]

Discovers test_* functions in tests/e2e/test_*.py (in file order), runs each
one in its own child process (own session, own temp dir) with a timeout,
prints one line per test and ends with the line `e2e: N passed, M failed`.
Exit status 0 only if M == 0.  FILTER keeps the tests whose name
(module.function) contains it.  -v prints each test's own output (tracebacks,
agent diagnostics).
E2E_KEEP=1 in the environment keeps the temp dirs (events, stderr, logs) for
debugging; their processes are still killed.
"""

import ast
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
DEFAULT_TIMEOUT = 90
# slower machines (the kernel test's TCG guests) stretch every timeout, harness.py's too
TIME_SCALE = float(os.environ.get("E2E_TIME_SCALE", "1"))


def discover():
    """[(module, function, timeout)] in file order, without importing."""
    out = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        mod = fn[:-3]
        with open(os.path.join(HERE, fn), encoding="utf-8") as f:
            tree = ast.parse(f.read(), fn)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                timeout = DEFAULT_TIMEOUT
                for dec in node.decorator_list:
                    # @timeout(N)
                    if (isinstance(dec, ast.Call) and getattr(dec.func, "id", "") == "timeout"
                            and dec.args and isinstance(dec.args[0], ast.Constant)):
                        timeout = dec.args[0].value
                out.append((mod, node.name, timeout))
    return out


def marked_pids(mark):
    """Processes carrying our per-test marker in their environment."""
    pids = []
    needle = ("E2E_MARK=%s" % mark).encode()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env:
            pids.append(int(d))
    return pids


def kill_leftovers(proc, mark):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for pid in marked_pids(mark):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def run_one(mod, func, timeout, verbose):
    tmp = tempfile.mkdtemp(prefix="secretrace-e2e-")
    os.chmod(tmp, 0o755)        # some tests run agents as nobody
    mark = uuid.uuid4().hex
    result_path = os.path.join(tmp, "result.json")
    log_path = os.path.join(tmp, "output.log")
    env = dict(os.environ)
    env.update({"E2E_TMP": tmp, "E2E_MARK": mark, "E2E_RESULT": result_path,
                "PYTHONDONTWRITEBYTECODE": "1"})
    status, msg = "FAIL", ""
    start = time.monotonic()
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([PY, os.path.abspath(__file__), "--child", mod, func],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    env=env, start_new_session=True)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                msg = "timed out after %ss" % timeout
            finally:
                if proc.poll() is None:          # still running: its whole session
                    kill_leftovers(proc, mark)
                    try:
                        proc.wait(10)
                    except subprocess.TimeoutExpired:
                        pass
        if not msg:
            try:
                with open(result_path, encoding="utf-8") as f:
                    res = json.load(f)
                status, msg = res["status"], res.get("message", "")
            except (OSError, ValueError, KeyError):
                msg = "test process exited with %s and no result" % proc.returncode
        output = ""
        if verbose:
            try:
                with open(log_path, encoding="utf-8", errors="replace") as f:
                    output = f.read()
            except OSError:
                pass
    finally:
        # kill again (a straggler may have been forked during the first sweep)
        for pid in marked_pids(mark):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if os.environ.get("E2E_KEEP"):
            print("    (kept %s)" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return status, msg, output, time.monotonic() - start


def child(mod, func):
    """Runs inside the per-test process."""
    sys.path.insert(0, HERE)
    result = os.environ["E2E_RESULT"]
    try:
        m = importlib.import_module(mod)
        getattr(m, func)()
        res = {"status": "PASS"}
    except AssertionError as e:
        traceback.print_exc()
        res = {"status": "FAIL", "message": str(e) or "assertion failed"}
    except BaseException as e:                       # noqa: B902 - report everything
        traceback.print_exc()
        res = {"status": "FAIL", "message": "%s: %s" % (type(e).__name__, e)}
    with open(result, "w", encoding="utf-8") as f:
        json.dump(res, f)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv):
    if len(argv) >= 4 and argv[1] == "--child":
        child(argv[2], argv[3])
        return 0
    verbose = False
    filt = None
    for a in argv[1:]:
        if a in ("-v", "--verbose"):
            verbose = True
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            filt = a
    if os.geteuid() != 0:
        print("e2e: must run as root (secretrace needs it)", file=sys.stderr)
    tests = [t for t in discover() if filt is None or filt in "%s.%s" % (t[0], t[1])]
    # E2E_SKIP=NAME,...: tests a build under test cannot pass for a stated reason (Makefile)
    skip = [s for s in os.environ.get("E2E_SKIP", "").split(",") if s]
    passed = failed = 0
    for mod, func, timeout in tests:
        name = "%s.%s" % (mod, func)
        if any(s in name for s in skip):
            print("SKIP %s (E2E_SKIP)" % name, flush=True)
            continue
        status, msg, output, took = run_one(mod, func, timeout * TIME_SCALE, verbose)
        if status == "PASS":
            passed += 1
            print("PASS %s (%.1fs)" % (name, took), flush=True)
        else:
            failed += 1
            print("FAIL %s (%.1fs): %s" % (name, took, msg.replace("\n", "\n    ")), flush=True)
        if output and verbose:
            for line in output.rstrip("\n").split("\n"):
                print("    | " + line)
            sys.stdout.flush()
    print("e2e: %d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
