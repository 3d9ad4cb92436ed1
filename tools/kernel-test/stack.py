#!/usr/bin/python3
"""The BPF stack each program's deepest chain of calls uses, as kernels' verifiers count it.

The verifier adds up the frames of every chain of calls from a program (bpf-to-bpf calls
and bpf_loop callbacks alike) and refuses more than 512 bytes. 6.1 rounds each frame up to
32 bytes and counts at least 32; kernels since about 6.8 round a JIT-ed program's frames to
16 and count 0 for an empty one (docs/kernels.md). A frame here is the deepest stack offset
the function's code touches, which is what the verifier records.

  tools/kernel-test/stack.py [build/secretrace.bpf.o]

Prints each program's worst chain under both roundings; exits 1 when one is over 512.
"""
import re
import subprocess
import sys

LIMIT = 512
HEADER = re.compile(r"^([0-9a-f]+) <(\S+)>:$")
SECTION = re.compile(r"^Disassembly of section (\S+):$")
INSN = re.compile(r"^\s+(\d+):\s+((?:[0-9a-f]{2} ){7}[0-9a-f]{2})\s+(.*)$")
RELOC = re.compile(r"^\s+[0-9a-f]+:\s+(R_BPF_\S+)\s+(\S+)$")


def parse(obj):
    """Functions' frames and callees: {(section, byte offset): name}, {name: depth},
    {name: set of callee names}."""
    out = subprocess.run(["llvm-objdump", "-dr", obj], capture_output=True, text=True,
                         check=True).stdout
    names, depth, edges = {}, {}, {}
    sec = cur = None
    base = {}		# register -> True while it holds r10 (a stack address being built)
    pending = None	# (kind, data) of the instruction a relocation line may complete
    raw = []		# (function, kind, section, data) resolved once every name is known
    for line in out.splitlines():
        m = SECTION.match(line)
        if m:
            sec = m.group(1)
            continue
        m = HEADER.match(line)
        if m:
            if not m.group(2).startswith("LBB"):
                cur = m.group(2)
                if cur in depth:	# a static function of several units: one per copy
                    cur = "%s@%s" % (cur, m.group(1).lstrip("0"))
                names[(sec, int(m.group(1), 16))] = cur
                depth[cur], edges[cur], base = 0, set(), {}
            continue
        m = RELOC.match(line)
        if m and pending:
            raw.append((cur, pending[0], sec, pending[1], m.group(2)))
            pending = None
            continue
        m = INSN.match(line)
        if not m or cur is None:
            continue
        if pending:
            raw.append((cur, pending[0], sec, pending[1], None))
            pending = None
        pc, code, asm = int(m.group(1)), bytes.fromhex(m.group(2).replace(" ", "")), m.group(3)
        for off in re.findall(r"r10 - (0x[0-9a-f]+|\d+)\)", asm):
            depth[cur] = max(depth[cur], int(off, 0))
        a = re.match(r"r(\d+) = r10$", asm)
        if a:
            base[a.group(1)] = True
            continue
        a = re.match(r"r(\d+) \+= -(\d+)$", asm)
        if a and base.get(a.group(1)):
            depth[cur] = max(depth[cur], int(a.group(2)))
            continue
        a = re.match(r"r(\d+) ", asm)
        if a:
            base.pop(a.group(1), None)
        imm = int.from_bytes(code[4:8], "little", signed=True)
        if code[0] == 0x85 and code[1] >> 4 == 1:	# a call of a BPF function
            pending = ("call", (pc, imm))
        elif code[0] == 0x18:	# a 64-bit constant: a function's address (a callback) when
            pending = ("func", (pc, imm))	# it is relocated against .text
    for fn, kind, sec, (pc, imm), sym in raw:
        if kind == "call":
            if sym and not sym.startswith("."):	# a global function, by name
                target = sym if sym in depth else None
            elif sym == ".text":
                target = names.get((".text", (imm + 1) * 8))
            else:
                target = names.get((sec, (pc + imm + 1) * 8))
        else:
            target = names.get((".text", imm)) if sym == ".text" else None
        if target:
            edges[fn].add(target)
    programs = sorted({n for (s, _), n in names.items() if s != ".text"})
    return programs, depth, edges


def worst(fn, depth, edges, frame, seen=()):
    """(bytes, chain) of the deepest chain of calls from fn."""
    below = max((worst(c, depth, edges, frame, seen + (fn,)) for c in edges[fn]
                 if c not in seen), default=(0, []))
    return frame(depth[fn]) + below[0], ["%s(%d)" % (fn, depth[fn])] + below[1]


def main():
    obj = sys.argv[1] if len(sys.argv) > 1 else "build/secretrace.bpf.o"
    programs, depth, edges = parse(obj)
    old = lambda d: (max(d, 1) + 31) // 32 * 32	# 6.1
    new = lambda d: (d + 15) // 16 * 16		# 6.8 and later, JIT-ed
    over = False
    for p in programs:
        n61, chain = worst(p, depth, edges, old)
        n_new = worst(p, depth, edges, new)[0]
        over |= n61 > LIMIT or n_new > LIMIT
        print("stack: %-26s 6.1 %3d, 6.18 %3d of %d: %s" % (p, n61, n_new, LIMIT,
                                                              " > ".join(chain)))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
