#!/usr/bin/python3
"""Checks docs/schemas/*.json, the JSON Schema of each event action:

- each is a valid JSON Schema (draft 2020-12) and is what tools/gen_schemas.py writes;
- every field outside vault.*, secret.* and secretrace.* is an ECS field
  (tools/ecs/fields.csv, ECS's own field list) of a compatible type (keyword -> string, long -> integer,
  arrays only where ECS says array, ...);
- with EVENTS_FILE arguments: every event in them (one JSON object per line) is valid
  against the schema of its event.action.

    tools/check_schemas.py [--ecs CSV] [EVENTS_FILE ...]

Prints one line per problem and "schemas: N passed, M failed"; exits 1 on any problem.
"""
import csv
import glob
import json
import os
import subprocess
import sys

import jsonschema

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMAS = os.path.join(REPO, "docs", "schemas")
ECS_CSV = os.path.join(REPO, "tools", "ecs", "fields.csv")
OWN = ("vault", "secret", "secretrace")

# ECS type -> JSON Schema types a value of it may have
COMPATIBLE = {
    "keyword": {"string"}, "constant_keyword": {"string"}, "wildcard": {"string"},
    "match_only_text": {"string"}, "text": {"string"}, "ip": {"string"}, "date": {"string"},
    "version": {"string"},
    "long": {"integer"}, "integer": {"integer"}, "short": {"integer"}, "byte": {"integer"},
    "unsigned_long": {"integer"},
    "float": {"number", "integer"}, "double": {"number", "integer"},
    "scaled_float": {"number", "integer"}, "half_float": {"number", "integer"},
    "boolean": {"boolean"},
    "object": {"object"}, "flattened": {"object"}, "nested": {"array", "object"},
    "geo_point": {"object", "string", "array"},
}


def load_ecs(path):
    fields = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            fields[row["Field"]] = (row["Type"], "array" in (row.get("Normalization") or ""))
    return fields


def leaves(sch, prefix=""):
    """(dotted name, JSON type, is array) of each leaf field a schema describes."""
    for name, sub in (sch.get("properties") or {}).items():
        dotted = prefix + name
        t = sub.get("type")
        if t == "object" and "properties" in sub:
            yield from leaves(sub, dotted + ".")
        elif t == "array":
            yield dotted, (sub.get("items") or {}).get("type"), True
        else:
            yield dotted, t, False


def check_schema_file(path, ecs, problems):
    name = os.path.basename(path)
    with open(path, encoding="utf-8") as f:
        sch = json.load(f)
    try:
        jsonschema.Draft202012Validator.check_schema(sch)
    except jsonschema.SchemaError as e:
        problems.append("%s: not a valid draft 2020-12 schema: %s" % (name, e.message))
        return 0
    if sch.get("title") + ".json" != name:
        problems.append("%s: title %r does not name the file" % (name, sch.get("title")))
    n = 0
    for dotted, jtype, is_array in leaves(sch):
        n += 1
        if dotted.split(".")[0] in OWN:
            continue
        if dotted not in ecs:
            problems.append("%s: %s is not an ECS field (own fields go under %s)"
                            % (name, dotted, ", ".join(o + ".*" for o in OWN)))
            continue
        etype, ecs_array = ecs[dotted]
        if jtype not in COMPATIBLE.get(etype, set()):
            problems.append("%s: %s is a JSON %s, but ECS says %s" % (name, dotted, jtype, etype))
        if is_array and not ecs_array and etype != "nested":
            problems.append("%s: %s is an array, but ECS does not make it one" % (name, dotted))
    return n


def validators():
    out = {}
    for path in glob.glob(os.path.join(SCHEMAS, "*.json")):
        with open(path, encoding="utf-8") as f:
            sch = json.load(f)
        out[sch["title"]] = jsonschema.Draft202012Validator(
            sch, format_checker=jsonschema.FormatChecker())
    return out


def check_events(path, vals, problems):
    n = 0
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            n += 1
            ev = json.loads(line)
            action = (ev.get("event") or {}).get("action")
            v = vals.get(action)
            if v is None:
                problems.append("%s:%d: no schema for event.action %r" % (path, lineno, action))
                continue
            for e in v.iter_errors(ev):
                where = ".".join(str(p) for p in e.absolute_path) or "(event)"
                problems.append("%s:%d: %s %s: %s" % (path, lineno, action, where, e.message))
    return n


def main(argv):
    ecs_path = ECS_CSV
    if argv[:1] == ["--ecs"]:
        ecs_path, argv = argv[1], argv[2:]
    problems = []
    gen = subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen_schemas.py"), "--check"],
                         capture_output=True, text=True)
    if gen.returncode:
        problems.append(gen.stdout.strip() or "tools/gen_schemas.py --check failed")
    if not os.path.exists(ecs_path):
        print("%s: not found (ECS's field list; tools/ecs/README.md says where it comes from)" % ecs_path)
        print("schemas: 0 passed, 1 failed")
        return 1
    ecs = load_ecs(ecs_path)
    files = sorted(glob.glob(os.path.join(SCHEMAS, "*.json")))
    fields = sum(check_schema_file(p, ecs, problems) for p in files)
    events = 0
    if argv:
        vals = validators()
        events = sum(check_events(p, vals, problems) for p in argv)
    for p in problems:
        print(p)
    print("checked %d schemas (%d fields) against %s%s" % (
        len(files), fields, os.path.relpath(ecs_path, REPO),
        ", and %d events" % events if argv else ""))
    print("schemas: %d passed, %d failed" % (0 if problems else 1, 1 if problems else 0))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
