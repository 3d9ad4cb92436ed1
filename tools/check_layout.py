#!/usr/bin/python3
"""Checks that the tree keeps the shape README.md's Layout describes:

- no file reads or links the workspace beside the repository (it stands alone);
- user/ has one folder per stage, each with a README.md, and no .c at its top but main.c;
- no two source files include each other, directly or around a longer circle (a .c and
  its .h count as one unit);
- no source file over 800 lines (bpf/arch/*/vmlinux.h, generated, aside);
- every long option of user/tracer/cli.c is documented in docs/cli.md.

Prints one line per problem and "layout: N passed, M failed".
"""
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_LINES = 800
STAGES = ["tracer", "targets", "probes", "learn", "dict", "detect", "enrich", "policy",
          "output", "correlate", "lib"]


def tracked():
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    return [p for p in out.splitlines() if os.path.isfile(os.path.join(REPO, p))]


def read(p):
    with open(os.path.join(REPO, p), "rb") as f:
        return f.read().decode("utf-8", "replace")


def check_standalone(files):
    # built from pieces so that this file does not name it itself
    outside = re.compile(r"\.\./" + "shared|/work/" + "shared")
    bad = []
    for p in files:
        if p.endswith((".csv", ".png")):
            continue
        for n, line in enumerate(read(p).splitlines(), 1):
            if outside.search(line):
                bad.append("%s:%d reads or links the workspace beside the repository" % (p, n))
    return bad


def check_folders(files):
    bad = []
    top = [p for p in files if re.match(r"user/[^/]+\.c$", p)]
    if top != ["user/main.c"]:
        bad.append("user/ has .c files at its top besides main.c: %s" % top)
    for d in sorted({p.split("/")[1] for p in files if re.match(r"user/[^/]+/", p)}):
        if d not in STAGES:
            bad.append("user/%s/ is not a stage README.md's Layout names" % d)
        if "user/%s/README.md" % d not in files:
            bad.append("user/%s/ has no README.md (what it receives, hands on, never does)" % d)
    readme = read("README.md")
    layout = readme[readme.find("## Layout"):]
    for d in STAGES:
        if not re.search(r"`(user/)?%s/" % d, layout):
            bad.append("README.md's Layout does not name user/%s/" % d)
    return bad


def unit(p):
    for ext in (".bpf.c", ".bpf.h", ".c", ".h"):
        if p.endswith(ext):
            return p[:-len(ext)]
    return p


def check_includes(files):
    srcs = [p for p in files if re.match(r"(user|bpf|include)/.*\.(c|h)$", p) and "arch/" not in p]
    roots = {"user": ["user", "include"], "bpf": ["bpf", "include"], "include": ["include"]}
    graph = {}
    for p in srcs:
        u = unit(p)
        graph.setdefault(u, set())
        for inc in re.findall(r'^#include "([^"]+)"', read(p), re.M):
            for r in [os.path.dirname(p)] + roots[p.split("/")[0]]:
                q = os.path.normpath(os.path.join(r, inc))
                if q in srcs:
                    if unit(q) != u:
                        graph[u].add(unit(q))
                    break
    bad, state, stack = [], {}, []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                bad.append("include circle: " + " -> ".join(stack[stack.index(v):] + [v]))
            elif not state.get(v):
                visit(v)
        stack.pop()
        state[u] = 2

    for u in sorted(graph):
        if not state.get(u):
            visit(u)
    return bad


def check_sizes(files):
    bad = []
    for p in files:
        if re.match(r"(user|bpf|include|tests|tools)/.*\.(c|h|py)$", p) and "vmlinux.h" not in p:
            n = read(p).count("\n")
            if n > MAX_LINES:
                bad.append("%s: %d lines (at most %d: split it by job)" % (p, n, MAX_LINES))
    return bad


def check_cli_docs(files):
    opts = re.findall(r'\{ "([a-z0-9-]+)", (?:required|no|optional)_argument', read("user/tracer/cli.c"))
    doc = read("docs/cli.md")
    return ["--%s is not in docs/cli.md" % o for o in opts if "--" + o not in doc]


def main():
    files = tracked()
    checks = [check_standalone, check_folders, check_includes, check_sizes, check_cli_docs]
    passed = failed = 0
    for c in checks:
        bad = c(files)
        for b in bad:
            print(b)
        if bad:
            failed += 1
        else:
            passed += 1
    print("layout: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
