#!/usr/bin/python3
"""Prints secretrace's events as one line each, for a person."""
import json
import sys

for line in open(sys.argv[1]):
    e = json.loads(line)
    action = e["event"]["action"]
    proc = e.get("process", {})
    who = "%s[%s]" % (proc.get("name", "-"), proc.get("pid", "-"))
    v = e.get("vault", {})
    st = e.get("secretrace", {})
    if action == "secret.receive":
        what = "learned %s of %s (request %s)" % (v.get("field"), v.get("path"), v.get("request_id"))
    elif action == "secret.use":
        d = e.get("destination", {})
        where = (("%s:%s" % (d["ip"], d["port"])) if "ip" in d else
                 e.get("file", {}).get("path") or d.get("address") or st.get("sink"))
        what = "%s of %s went to %s %s via %s (request %s)" % (
            v.get("field"), v.get("path"), st.get("sink"), where, st.get("syscall"),
            v.get("request_id"))
    elif action == "network.connect":
        d = e.get("destination", {})
        what = "connect %s:%s" % (d.get("ip", d.get("address")), d.get("port", ""))
    elif action == "process.start":
        what = " ".join(proc.get("args", ["(arguments withheld: a secret is in them)"]))
    elif action == "tracer.stop":
        what = json.dumps(st.get("stats", {}))
    else:
        what = ""
    print("%-16s %-22s %s" % (action, who, what))
