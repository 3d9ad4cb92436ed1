#!/usr/bin/python3
"""Checks OCSF events (secretrace --format ocsf) against OCSF's own schema, the source files
of OCSF 1.1.0 vendored in tools/ocsf/schema/ (Apache-2.0, see its LICENSE and NOTICE), the
way OCSF's schema server compiles them: a class is its `extends` chain and `$include`s
merged over the dictionary's attribute definitions, an object the same.

For each event: class_uid, category_uid and type_uid agree with the class file; every
attribute the class or an object requires is there (those of a profile only when the event
lists the profile in metadata.profiles); no attribute the class or object does not define;
types (string, integer, long, boolean, float, objects, arrays) and their regexes and
ranges; enum values; the objects' at_least_one and just_one constraints. `unmapped` and
json_t values are free, as OCSF defines them.

    tools/ocsf/check_ocsf.py FILE ...      one OCSF object per line

Prints one line per problem and "ocsf: N passed, M failed" (events); exits 1 on a problem.
Use as a module: check_event(ev) returns the list of problems of one event.
"""
import json
import os
import re
import sys

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema")
# the class files vendored (what the mapper emits), by name
CLASS_FILES = ["events/base_event.json", "events/findings/finding.json",
               "events/findings/detection_finding.json", "events/system/system.json",
               "events/system/process.json", "events/system/filesystem.json",
               "events/network/network.json", "events/network/network_activity.json",
               "events/application/application.json",
               "events/application/application_lifecycle.json",
               "events/application/api.json"]


def load(rel):
    with open(os.path.join(SCHEMA, rel)) as f:
        return json.load(f)


DICT = load("dictionary.json")
ATTRS = DICT["attributes"]
TYPES = DICT["types"]["attributes"]
CATEGORIES = {k: v["uid"] for k, v in load("categories.json")["attributes"].items()}
VERSION = load("version.json")["version"]


def merge(base, over):
    """OCSF's deep merge: over's keys win, dicts (enums) are merged."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def attributes_of(doc):
    """A file's attributes with its $includes resolved: {name: (definition, profile)}."""
    out = {}
    own = doc.get("attributes", {})
    for rel in own.get("$include", []):
        inc = load(rel)
        profile = inc.get("name") if inc.get("meta") == "profile" else None
        for k, (d, p) in attributes_of(inc).items():
            out[k] = (merge(out[k][0], d) if k in out else d, profile or p)
    for k, v in own.items():
        if k != "$include":
            out[k] = (merge(out[k][0], v) if k in out else v, out[k][1] if k in out else None)
    return out


def compile_chain(docs):
    """docs from the root of the extends chain down: the merged attributes."""
    attrs = {}
    for doc in docs:
        for k, (d, p) in attributes_of(doc).items():
            attrs[k] = (merge(attrs[k][0], d) if k in attrs else d, p)
    # the dictionary's definition under the class's own
    return {k: (merge(ATTRS.get(k, {}), d), p) for k, (d, p) in attrs.items()}


def build_classes():
    by_name = {}
    for rel in CLASS_FILES:
        doc = load(rel)
        by_name[doc["name"]] = doc
    classes = {}
    for name, doc in by_name.items():
        chain = [doc]
        while chain[0].get("extends"):
            chain.insert(0, by_name[chain[0]["extends"]])
        category = next((d["category"] for d in reversed(chain) if d.get("category")), "other")
        cat_uid = CATEGORIES.get(category, 0)
        uid = cat_uid * 1000 + doc.get("uid", 0) if "uid" in doc or name == "base_event" else None
        if uid is None:
            continue        # abstract (network, system, finding, application)
        attrs = compile_chain(chain)
        # as the schema server does: the class's own uids are the enums of these two
        for k, v in (("class_uid", uid), ("category_uid", cat_uid)):
            attrs[k] = (dict(attrs[k][0], enum={str(v): {}}), None)
        classes[uid] = {"name": name, "category_uid": cat_uid, "attrs": attrs,
                        "constraints": doc.get("constraints", {})}
    return classes


OBJECTS = {}


def object_def(name):
    if name not in OBJECTS:
        path = os.path.join("objects", name + ".json")
        if not os.path.exists(os.path.join(SCHEMA, path)):
            return None
        doc = load(path)
        chain = [doc]
        while chain[0].get("extends"):
            chain.insert(0, load(os.path.join("objects", chain[0]["extends"] + ".json")))
        constraints = {}
        for d in chain:
            constraints.update(d.get("constraints", {}))
        OBJECTS[name] = {"attrs": compile_chain(chain), "constraints": constraints}
    return OBJECTS[name]


CLASSES = build_classes()


def base_type(t):
    """A dictionary type down to string_t, integer_t, long_t, float_t, boolean_t, json_t."""
    seen = []
    while t in TYPES and TYPES[t].get("type"):
        seen.append(TYPES[t])
        t = TYPES[t]["type"]
    return t, seen


def check_value(where, definition, value, profiles, problems):
    t = definition.get("type", "string_t")
    if definition.get("is_array"):
        if not isinstance(value, list):
            problems.append("%s: expected an array" % where)
            return
        for i, v in enumerate(value):
            check_scalar("%s[%d]" % (where, i), t, definition, v, profiles, problems)
    else:
        check_scalar(where, t, definition, value, profiles, problems)


def check_scalar(where, t, definition, value, profiles, problems):
    if t == "object_t":
        t = definition.get("object_type")
    if t not in TYPES:
        if t == "object":           # unmapped and the like: any object
            if not isinstance(value, dict):
                problems.append("%s: expected an object" % where)
            return
        obj = object_def(t)
        if obj is None:
            problems.append("%s: object %s is not vendored in tools/ocsf/schema" % (where, t))
            return
        check_object(where, obj, value, profiles, problems)
        return
    base, chain = base_type(t)
    ok = {"string_t": lambda v: isinstance(v, str),
          "integer_t": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "long_t": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "float_t": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "boolean_t": lambda v: isinstance(v, bool),
          "json_t": lambda v: True}.get(base, lambda v: True)
    if not ok(value):
        problems.append("%s: %r is not a %s" % (where, value, t))
        return
    for d in [TYPES.get(t, {})] + chain:
        if "regex" in d and isinstance(value, str) and not re.search(d["regex"], value):
            problems.append("%s: %r does not match %s" % (where, value, t))
        if "range" in d and not d["range"][0] <= value <= d["range"][1]:
            problems.append("%s: %r is out of %s" % (where, value, d["range"]))
    enum = definition.get("enum")
    if enum and str(value) not in enum:
        problems.append("%s: %r is not one of %s" % (where, value, sorted(enum, key=int)))


def check_attrs(where, attrs, constraints, value, profiles, problems):
    for k, (d, profile) in attrs.items():
        if d.get("requirement") == "required" and k not in value and \
                (profile is None or profile in profiles):
            problems.append("%s%s: required, missing" % (where, k))
    for k, v in value.items():
        if k not in attrs:
            problems.append("%s%s: not an attribute of this %s" % (where, k, "class" if not where
                                                                    else "object"))
            continue
        check_value(where + k, attrs[k][0], v, profiles, problems)
    for names in constraints.get("at_least_one", []) and [constraints["at_least_one"]]:
        if not any(n in value for n in names):
            problems.append("%s: needs one of %s" % (where or "event", names))
    for names in constraints.get("just_one", []) and [constraints["just_one"]]:
        if sum(n in value for n in names) != 1:
            problems.append("%s: needs exactly one of %s" % (where or "event", names))


def check_object(where, obj, value, profiles, problems):
    if not isinstance(value, dict):
        problems.append("%s: expected an object" % where)
        return
    check_attrs(where + ".", obj["attrs"], obj["constraints"], value, profiles, problems)


def check_event(ev):
    """The problems of one OCSF event (a dict), [] if none."""
    if not isinstance(ev, dict):
        return ["not a JSON object"]
    cls = CLASSES.get(ev.get("class_uid"))
    if cls is None:
        return ["class_uid %r: not a class vendored in tools/ocsf/schema" % ev.get("class_uid")]
    problems = []
    profiles = set((ev.get("metadata") or {}).get("profiles") or [])
    check_attrs("", cls["attrs"], cls["constraints"], ev, profiles, problems)
    if isinstance(ev.get("activity_id"), int) and \
            ev.get("type_uid") != ev["class_uid"] * 100 + ev["activity_id"]:
        problems.append("type_uid %r: expected class_uid * 100 + activity_id" % ev.get("type_uid"))
    version = (ev.get("metadata") or {}).get("version")
    if version != VERSION:
        problems.append("metadata.version %r: the schema vendored is %s" % (version, VERSION))
    return problems


def main(argv):
    passed = failed = 0
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    ev = json.loads(line)
                except ValueError as e:
                    problems = ["not JSON: %s" % e]
                else:
                    problems = check_event(ev)
                for p in problems:
                    print("%s:%d: %s" % (path, n, p))
                if problems:
                    failed += 1
                else:
                    passed += 1
    print("ocsf: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
