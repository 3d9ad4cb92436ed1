#!/usr/bin/python3
"""The check 6.1's verifier makes of every function's control flow before it runs it.

6.1's check_cfg walks each program depth first and accepts a loop only where its back edge
is a jump: an instruction that falls through (any but a jump, and a call) into one still on
the walk's path is "back-edge from insn X to Y", EINVAL, whatever the loop's bounds. clang
lays some counted loops out that way (the latch above the body, entered in the middle);
later kernels accept them, so only 6.1's load, minutes into make kernel-test, would tell.

  tools/kernel-test/cfg.py [build/secretrace.bpf.o ...]

Prints each such edge; exits 1 when there is one.
"""
import re
import subprocess
import sys

HEADER = re.compile(r"^[0-9a-f]+ <(\S+)>:$")
INSN = re.compile(r"^\s+(\d+):\s+(.*)$")
JUMP = re.compile(r"goto ([+-]\d+)")


def functions(obj):
    """{name: [(slot, text)]}; clang's local labels (LBB...) are not functions."""
    out = subprocess.run(["llvm-objdump", "-d", "--no-show-raw-insn", obj], capture_output=True,
                         text=True, check=True).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        m = HEADER.match(line)
        if m:
            if not m.group(1).startswith("LBB"):
                cur = funcs.setdefault(m.group(1), [])
            continue
        m = INSN.match(line)
        if m and cur is not None:
            cur.append((int(m.group(1)), m.group(2).strip()))
    return funcs


def bad_edges(insns):
    """(from, to) slots of fallthroughs into an instruction on the depth-first path."""
    at = {slot: k for k, (slot, _) in enumerate(insns)}

    def successors(k):	# (index, is a fallthrough that must not close a loop)
        slot, text = insns[k]
        if text.startswith("exit"):
            return []
        nxt = [(k + 1, True)] if k + 1 < len(insns) else []
        m = JUMP.search(text)
        if not m:
            return nxt
        target = at[slot + int(m.group(1)) + 1]
        if text.startswith("goto"):
            return [(target, False)]
        return [(s, False) for s, _ in nxt] + [(target, False)]
    found, state, stack = [], {0: 1}, [(0, iter(successors(0)))]
    while stack:
        k, succ = stack[-1]
        for s, fall in succ:
            if state.get(s) == 1 and fall:
                found.append((insns[k][0], insns[s][0]))
            elif s not in state:
                state[s] = 1
                stack.append((s, iter(successors(s))))
                break
        else:
            state[k] = 2
            stack.pop()
    return found


def main():
    bad = 0
    for obj in sys.argv[1:] or ["build/secretrace.bpf.o"]:
        for name, insns in functions(obj).items():
            for a, b in bad_edges(insns):
                print("cfg: %s: %s: back-edge from insn %d to %d (6.1 refuses it)"
                      % (obj, name, a, b))
                bad += 1
    print("cfg: %d back-edges 6.1 refuses" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
