#!/usr/bin/python3
"""Writes docs/schemas/<event.action>.json: one JSON Schema (draft 2020-12) per event
action, from the field tables below (the one place to edit). Each schema is whole (no
$ref between files) and closed: every object lists its fields and allows no others.

    tools/gen_schemas.py            rewrite docs/schemas/
    tools/gen_schemas.py --check    exit 1 if docs/schemas/ is not what this writes
"""
import copy
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "docs", "schemas")
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def s(desc, **kw):
    return dict({"type": "string", "description": desc}, **kw)


def i(desc, **kw):
    return dict({"type": "integer", "description": desc}, **kw)


def n(desc):
    return i(desc, minimum=0)


def b(desc):
    return {"type": "boolean", "description": desc}


UUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
HASH = "^[0-9a-f]{32}$"

COMMON = {
    "@timestamp": s("RFC 3339, UTC, microseconds", pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"),
    "event.id": s("unique; receivers may drop duplicates by it (the Elastic _id)", pattern=UUID),
    "event.kind": s("event, or alert for violations", enum=["event"]),
    "event.action": s("what happened"),
    "event.sequence": i("strictly increasing within one run", minimum=1),
    "host.name": s("NODE_NAME from the environment, else the host name", minLength=1),
}
COMMON_REQUIRED = list(COMMON)

PROCESS = {
    "process.pid": i("process ID", minimum=1),
    "process.entity_id": s("unique across PID reuse: a hash of boot ID, PID and start time", pattern=HASH),
    "process.thread.id": i("thread that made the call", minimum=1),
    "process.name": s("comm"),
    "process.executable": s("path of the executable"),
    "process.parent.pid": i("parent's process ID", minimum=0),
    "user.id": s("user ID, as a string"),
    "container.id": s("container ID, where the cgroup path names one"),
    "container.runtime": s("the container runtime, from the cgroup path",
                           enum=["containerd", "cri-o", "docker", "podman"]),
    "container.name": s("the container's name (Kubernetes: its name in the pod spec)"),
    "container.image.name": s("the container's image"),
    "container.labels": {"type": "object", "additionalProperties": {"type": "string"},
                         "description": "the pod's labels"},
    "orchestrator.type": s("kubernetes", enum=["kubernetes"]),
    "orchestrator.namespace": s("Kubernetes namespace of the pod"),
    "orchestrator.resource.name": s("pod name"),
    "orchestrator.resource.type": s("pod", enum=["pod"]),
    "orchestrator.resource.id": s("the pod's UID"),
    "orchestrator.cluster.name": s("cluster name"),
    "secretrace.in_container": b("false for a process outside any container"),
}
# When a process is named at all, these are there.
PROCESS_INNER = ["process.pid", "user.id"]
PROCESS_FULL = ["process.pid", "process.entity_id", "process.thread.id", "process.name",
                "process.executable", "process.parent.pid", "user.id"]

PEER = {
    "destination.ip": s("peer IP address", anyOf=[{"format": "ipv4"}, {"format": "ipv6"}]),
    "destination.port": i("peer port", minimum=0, maximum=65535),
    "destination.address": s("unix socket path (@name for abstract ones)"),
    "destination.domain": s("host name the connection is for: its TLS SNI or HTTP Host"),
    "network.transport": s("transport", enum=["tcp", "udp", "unix", "raw", "other"]),
}

DELIVERY = {
    "vault.request_id": s("request_id of the Vault response that delivered the secret "
                          "(request.id in Vault's audit log)"),
    "vault.path": s("Vault path the secret was read from"),
    "vault.field": s("dotted path of the value below the secret's data root"),
    "vault.lease_id": s("lease ID, if any"),
    "vault.namespace": s("Vault namespace, if any"),
    "vault.correlation_id": s("X-Vault-Correlation-Id / request correlation ID, if any"),
    "secret.source": s("how the secret was learned: response (a Vault response), request (a "
                       "credential presented to Vault), env (a process's environment: "
                       "VAULT_TOKEN, --learn-env), file (--learn-file)",
                       enum=["response", "request", "env", "file"]),
    "secretrace.delivery.file": s("the delivered file the secret was learned from (--learn-file)"),
    "vault.audit_hash": s("the value's HMAC as Vault's audit log writes it, from "
                          "sys/audit-hash (--vault-audit-hash)", pattern="^hmac-sha256:[0-9a-f]{64}$"),
}

ENCODINGS = ["raw", "base64", "base64url", "hex", "url", "json", "hpack"]
SINKS = ["socket", "file", "pipe", "tty", "argv", "env"]
SYSCALL = s("the hooked call (write, writev, pwrite64, sendto, sendmsg, sendmmsg, SSL_write, "
            "gnutls_record_send, go_tls_write, "
            "execve, ...)", pattern="^[A-Za-z0-9_]+$")

USE = dict(PROCESS, **PEER, **DELIVERY, **{
    "secretrace.delivery.process.pid": i("the process that wrote the secret to "
                                         "secretrace.delivery.file (a fetcher rendering it)",
                                         minimum=1),
    "secretrace.delivery.process.executable": s("that process's executable"),
    "secretrace.delivery.user.id": s("that process's user ID, as a string"),
    "secretrace.delivery.files": {"type": "array", "items": {"type": "string"},
                                  "description": "every file other processes wrote the secret "
                                                 "to, when more than one (oldest first)"},
    "secret.fingerprint": s("keyed hash of the secret value", pattern=HASH),
    "secret.encoding": s("how the secret was written", enum=ENCODINGS),
    "secretrace.syscall": SYSCALL,
    "secretrace.fd": i("file descriptor"),
    "secretrace.tls": b("written through a TLS library (before encryption)"),
    "secretrace.offset": i("where in the call's stream the secret starts"),
    "secretrace.split": b("the secret was spread over several calls"),
    "secretrace.occurrences": i("times the secret occurs in the call, if more than one", minimum=2),
    "secretrace.rescanned": b("found by the rescan of a buffer written while learning"),
    "secretrace.sink": s("kind of sink", enum=SINKS),
    "secretrace.repeat_count": i("identical uses since the last report", minimum=1),
    "secretrace.path_truncated": b("file.path was cut at the kernel's copy limit"),
    "file.path": s("file or tty path; pipe:[inode] for pipes"),
    "secretrace.peer.pid": i("for pipes and unix sockets: the reading or peer process", minimum=1),
    "secretrace.peer.name": s("... and its name (comm)"),
    "rule.name": s("the policy rule that allowed the use (a use no rule matched has none)"),
})
# vault.request_id and vault.path are absent for a VAULT_TOKEN from the environment, and for a
# credential the process presented to Vault, used again before Vault answered that request
USE_REQUIRED = PROCESS_FULL + ["vault.field", "secret.fingerprint",
                               "secret.encoding", "secretrace.syscall", "secretrace.sink"]

ACTIONS = {
    "tracer.start": {
        "description": "first event, written once every probe is attached",
        "fields": {
            "secretrace.version": s("secretrace's version"),
            "secretrace.target.mode": s("how targets were given", enum=["command", "pids", "cgroups", "all"]),
            "secretrace.target.cgroups": {"type": "array", "items": {"type": "string"},
                                          "description": "the --cgroup subtrees (their directories)"},
            "secretrace.target.scan": s("--scan: whose writes are scanned in the node modes",
                                        enum=["reach", "everything"]),
            "secretrace.target.command": s("the command run (-- COMMAND)"),
            "secretrace.target.pids": {"type": "array", "items": {"type": "integer", "minimum": 1},
                                       "description": "the command's PID, or the -p PIDs"},
            "secretrace.config.scan_limit": n("bytes of one call scanned"),
            "secretrace.probes_failed": s("probes that could not attach"),
            "secretrace.degraded": {"type": "array",
                                    "items": {"type": "string",
                                              "enum": ["bounded_loops", "uprobe_per_function"]},
                                    "description": "what this kernel lacks and how the tracer "
                                                   "makes do (docs/kernels.md)"},
            "secretrace.tls_libraries": s("files with TLS uprobes, comma-separated"),
            # --state-file: what this start restored of the previous run's dictionary
            "secretrace.state.restored": n("secrets put back from the state file"),
            "secretrace.state.expired": n("secrets in the state file not put back: every lease had ended"),
            "secretrace.state.skipped": n("secrets (or encoded forms) in the state file not put back: "
                                          "known already, or no room"),
            "secretrace.state.gap_seconds": n("seconds from the state file's last write to this start: "
                                              "the time no tracer watched"),
            "secretrace.state.refused": s("why the state file was not used (it is kept as PATH.refused "
                                          "and this run starts without it)"),
        },
        "required": ["secretrace.version", "secretrace.target.mode"],
    },
    "tracer.stop": {
        "description": "last event, with the run's counters",
        "fields": dict({"secretrace.stats." + k: n(d) for k, d in [
            ("events", "events written, this one included"),
            ("lost", "events and records lost (the sum of the tracer.loss counts that are not bytes)"),
            ("bytes_scanned", "bytes scanned"),
            ("bytes_not_scanned", "bytes written but not scanned"),
            ("calls_not_scanned", "calls whose bytes could not be scanned"),
            ("bytes_rescanned", "bytes rescanned after learning"),
            ("bytes_not_rescanned", "bytes written while learning that were not rescanned"),
            ("vault_bytes_not_learned", "Vault response bytes past the per-call copy limit"),
            ("candidates", "prefilter candidates"),
            ("confirms", "confirmed matches"),
            ("secrets_learned", "secrets learned"),
            ("learn_failed", "Vault responses not learned"),
            ("not_learned", "values refused as secrets (the tracer.anomaly counts, and those "
                            "of processes still running)"),
            ("uses", "secret.use events"),
            ("violations", "secret.violation events"),
            ("redacted", "strings the redactor replaced"),
            ("reached", "node modes: processes that joined the reach set (their writes scanned)"),
            ("undelivered", "events network outputs had not delivered when this was written "
                            "(kept in their spools)"),
            ("cpu_user_ms", "the tracer's own CPU time in user mode"),
            ("cpu_system_ms", "the tracer's own CPU time in the kernel (its BPF programs run "
                              "in the traced processes and are not counted here)"),
            ("peak_rss_kib", "the tracer's peak resident memory"),
        ]}, **{"process.exit_code": i("the command's exit status (-- COMMAND)"),
               # --state-file
               "secretrace.state.writes": n("state file writes, the exit's included"),
               "secretrace.state.write_failed": n("state file writes that failed (each also a "
                                                  "stderr line)")}),
        "required": ["secretrace.stats.events", "secretrace.stats.lost",
                     "secretrace.stats.bytes_scanned", "secretrace.stats.bytes_not_scanned"],
    },
    "tracer.loss": {
        "description": "something was lost; loss is never silent",
        "fields": {
            "secretrace.lost.count": i("how many", minimum=1),
            "secretrace.lost.reason": s("why (ringbuf_full_match, sink_spool_full, ...; "
                                        "docs/events.md)", pattern="^[a-z0-9_]+$"),
            "secretrace.lost.output": s("for sink_* reasons: the output that lost them"),
            "secretrace.lost.unit": s("bytes, when the count is bytes rather than events", enum=["bytes"]),
        },
        "required": ["secretrace.lost.count", "secretrace.lost.reason"],
    },
    "tracer.anomaly": {
        "description": "a traced process tried to blind the tracer: values it was handed as "
                       "secrets were refused (docs/hardening.md); at most one a second per "
                       "process and kind, counting the refusals since the last; never content",
        "fields": dict(PROCESS, **PEER, **{
            "secretrace.anomaly.kind": s("what was refused", enum=[
                "common_value", "low_entropy", "process_rate", "server_rate", "unnamed_share",
                "strict_unnamed_server"]),
            "secretrace.anomaly.count": i("refusals of this kind since the last such event", minimum=1),
        }),
        "required": ["secretrace.anomaly.kind", "secretrace.anomaly.count"],
        "inner": PROCESS_INNER,
    },
    "tracer.unscanned": {
        "description": "a call whose bytes cannot be scanned (the first per process and call)",
        "fields": dict(PROCESS, **{
            "secretrace.syscall": SYSCALL,
            "secretrace.fd": i("file descriptor"),
            "secretrace.bytes": n("bytes the call moved"),
        }),
        "required": ["secretrace.syscall"],
        "inner": PROCESS_INNER,
    },
    "process.start": {
        "description": "a traced process execs",
        "fields": dict(PROCESS, **{
            "process.args_count": n("number of arguments"),
            "process.args": {"type": "array", "items": {"type": "string"},
                             "description": "the arguments, unless a secret is in them"},
            "secretrace.args_withheld": b("process.args left out: a secret is in them"),
            "secretrace.args_truncated": b("process.args cut at the copy limit"),
        }),
        "required": PROCESS_FULL + ["process.args_count"],
    },
    "network.connect": {
        "description": "a traced process connects",
        "fields": dict(PROCESS, **PEER, **{
            "secretrace.fd": i("file descriptor"),
            "secretrace.vault": b("a known Vault server"),
        }),
        "required": PROCESS_FULL + ["network.transport"],
    },
    "secret.receive": {
        "description": "a traced process received a secret from Vault (or presented one to it)",
        "fields": dict(PROCESS, **PEER, **DELIVERY, **{
            "vault.accessor": s("token accessor, for login tokens"),
            "vault.lease_duration": i("seconds the lease (or login token) lasts, if any", minimum=1),
            "secret.fingerprint": s("keyed hash of the secret value", pattern=HASH),
            "file.path": s("the delivered file (secret.source file)"),
        }),
        "required": ["vault.field", "secret.fingerprint", "secret.source"],
        # a file's secrets are learned by the tracer itself: no process; every other
        # source names the process that received it
        "if_not_file": ["process.pid", "process.entity_id", "process.name", "user.id"],
    },
    "secret.use": {
        "description": "a learned secret left a traced process through a hooked call",
        "fields": USE,
        "required": USE_REQUIRED,
    },
    "secret.violation": {
        "description": "a use the policy forbids, reported instead of secret.use",
        "fields": dict(USE, **{"rule.name": s("the policy rule that decided")}),
        "required": USE_REQUIRED + ["rule.name"],
        "kind": "alert",
    },
    "secret.expire": {
        "description": "a secret rotated out of a learned file (or whose directory, a pod's "
                       "mount, went) is no longer tracked (its lease ended, or --rotated-keep "
                       "passed): its uses from now on are not reported",
        "fields": dict(PROCESS, **DELIVERY, **{
            "secret.fingerprint": s("keyed hash of the secret value", pattern=HASH),
            "file.path": s("the file the secret was rotated out of"),
            "secretrace.expire.after": s("what ended it: the lease the file said "
                                         "(lease_duration), or --rotated-keep",
                                         enum=["lease", "rotated_keep"]),
        }),
        "required": ["secret.fingerprint", "secret.source", "file.path",
                     "secretrace.expire.after"],
        "inner": PROCESS_INNER,
    },
    "secret.learn_failed": {
        "description": "a Vault response could not be learned",
        "fields": dict(PROCESS, **PEER, **{
            "vault.request_id": s("request_id, when it can be read"),
            "vault.path": s("Vault path of the request"),
            "file.path": s("the delivered file that could not be learned (--learn-file)"),
            "error.message": s("why (never response content)"),
        }),
        "required": ["error.message"],
        "inner": PROCESS_INNER,
    },
}


def nest(fields, required, inner):
    """Dotted field table -> closed nested object schema."""
    root = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}

    def obj(path):
        cur = root
        for part in path:
            cur = cur["properties"].setdefault(part, {
                "type": "object", "properties": {}, "required": [], "additionalProperties": False})
        return cur

    for dotted, spec in fields.items():
        # "@timestamp" has no dots; every other name is nested at its dots
        parts = dotted.split(".") if dotted != "@timestamp" else [dotted]
        obj(parts[:-1])["properties"][parts[-1]] = copy.deepcopy(spec)
    for dotted in required:
        parts = dotted.split(".") if dotted != "@timestamp" else [dotted]
        for k in range(len(parts)):
            o = obj(parts[:k])
            if parts[k] not in o["required"]:
                o["required"].append(parts[k])
    for dotted in inner:
        parts = dotted.split(".")
        o = obj(parts[:-1])
        if parts[-1] not in o["required"]:
            o["required"].append(parts[-1])

    def tidy(o):
        if o.get("type") == "object" and "properties" in o:
            if not o["required"]:
                del o["required"]
            for v in o["properties"].values():
                tidy(v)
    tidy(root)
    return root


def schema(action, spec):
    fields = dict(COMMON)
    fields["event.action"] = s("what happened", const=action)
    if spec.get("kind"):
        fields["event.kind"] = s("alert: a policy violation", const=spec["kind"])
    fields.update(spec["fields"])
    inner = spec.get("inner", PROCESS_INNER if "process.pid" in fields else [])
    sch = nest(fields, COMMON_REQUIRED + spec.get("required", []), inner)
    out = {"$schema": DRAFT, "$id": "%s.json" % action, "title": action,
           "description": "secretrace event %s: %s. Generated by tools/gen_schemas.py; fields "
                          "are described in docs/events.md." % (action, spec["description"])}
    out.update(sch)
    if spec.get("if_not_file"):
        req = nest({}, spec["if_not_file"], [])
        req.pop("additionalProperties", None)
        out["if"] = {"properties": {"secret": {"properties": {"source": {"const": "file"}}}}}
        out["else"] = strip_closed(req)
    return out


def strip_closed(o):
    """Only the required lists of a nested object schema (for a conditional branch)."""
    out = {k: v for k, v in o.items() if k == "required"}
    props = {k: strip_closed(v) for k, v in o.get("properties", {}).items() if v.get("required")}
    if props:
        out["properties"] = props
    return out


def render():
    return {"%s.json" % a: json.dumps(schema(a, spec), indent=2, sort_keys=False) + "\n"
            for a, spec in ACTIONS.items()}


def main(argv):
    files = render()
    if "--check" in argv:
        bad = []
        for name, text in files.items():
            try:
                with open(os.path.join(OUT, name), encoding="utf-8") as f:
                    if f.read() != text:
                        bad.append(name)
            except FileNotFoundError:
                bad.append(name)
        extra = sorted(set(f for f in os.listdir(OUT) if f.endswith(".json")) - set(files)) \
            if os.path.isdir(OUT) else []
        if bad or extra:
            print("docs/schemas/ is stale (run tools/gen_schemas.py): %s" % ", ".join(bad + extra))
            return 1
        return 0
    os.makedirs(OUT, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
