#!/usr/bin/env node
// Validates deploy/ offline, without a cluster:
//
//   node tests/deploy/validate.js [--manifests DIR] [--examples DIR]
//
// - every YAML document of DIR (default deploy/kubernetes) parses as kubectl reads it, and
//   kubectl itself reads every file (`kubectl label --local`: client-side `kubectl create
//   --dry-run=client` needs an API server for its resource mapping);
// - every object is valid for its kind: types, required fields and enums (kubernetes-models'
//   JSON schemas), and no field the API does not know (its TypeScript types; see lib/schema.js);
// - the objects agree with one another and with the tracer's command line (lib/checks.js);
// - kustomization.yaml lists every manifest and `kubectl kustomize` builds exactly them; each
//   overlay in deploy/examples/ builds, and its output passes the same checks (with --manifests,
//   only if --examples is given too);
// - the Kubernetes objects quoted in docs/kubernetes.md are valid too;
// - deploy/Containerfile is well formed and agrees with the repository (lib/containerfile.js);
// - the checks can fail: broken copies of the DaemonSet and the ClusterRole are rejected.
//
// Prints PASS/FAIL per check and ends with "deploy: N passed, M failed"; exit status 1 if any
// check failed. npm ci in tests/deploy installs what it needs.
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, isKustomization, kustomize, markdownObjects, parseDocs, yamlFiles } from "./lib/load.js";
import { typeCheck, validateModel } from "./lib/schema.js";
import { CHECKS, runChecks } from "./lib/checks.js";
import { checkContainerfile } from "./lib/containerfile.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "../..");

let passed = 0;
let failed = 0;
function report(name, problems) {
  if (!problems.length) {
    passed++;
    console.log(`PASS ${name}`);
    return;
  }
  failed++;
  console.log(`FAIL ${name}`);
  for (const p of problems) console.log(`    ${p}`);
}

function readOr(file, fallback) {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
}

// Schema and field checks of docs ([{file, index, obj}]), one line each, prefixed.
async function checkObjects(docs, prefix) {
  const typed = typeCheck(docs.map((d) => d.obj));
  for (let i = 0; i < docs.length; i++) {
    const problems = [...(await validateModel(docs[i].obj)), ...typed[i]];
    report(`${prefix}${describe(docs[i])}: valid ${docs[i].obj.apiVersion} ${docs[i].obj.kind}, no unknown field`, problems);
  }
}

function checkRefs(objs, ctx, prefix) {
  for (const [name, problems] of runChecks(objs, ctx)) report(prefix + name, problems);
}

const MARK = "secretrace-validate";
// Concatenated JSON values (what kubectl -o json prints for several objects) as a list.
function jsonStream(text) {
  const out = [];
  let depth = 0, start = -1, inStr = false, esc = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inStr) {
      if (esc) esc = false;
      else if (ch === "\\") esc = true;
      else if (ch === '"') inStr = false;
    } else if (ch === '"') inStr = true;
    else if (ch === "{") {
      if (depth++ === 0) start = i;
    } else if (ch === "}" && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
  }
  return out;
}
function unmark(o) {
  const labels = (o.metadata || {}).labels || {};
  delete labels[MARK];
  if (o.metadata && o.metadata.labels && !Object.keys(labels).length) delete o.metadata.labels;
  if (o.metadata && !Object.keys(o.metadata).length) delete o.metadata;
  return o;
}
// JSON with sorted keys.
function canonical(x) {
  if (Array.isArray(x)) return `[${x.map(canonical).join(",")}]`;
  if (x && typeof x === "object") return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonical(x[k])}`).join(",")}}`;
  return JSON.stringify(x);
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const key = (o) => `${o.kind}/${(o.metadata || {}).namespace || ""}/${(o.metadata || {}).name}`;

// Broken copies of the real objects, each of which some check must reject.
async function selfTest(objs, ctx) {
  const ds = objs.find((o) => o.kind === "DaemonSet");
  if (!ds) return report("self-test: the checks reject broken manifests", ["no DaemonSet to break"]);
  const podOf = (o) => o.find((x) => x.kind === "DaemonSet").spec.template.spec;
  const cases = [
    ["an unknown field (securityContext.privilegd)", (o) => { podOf(o).containers[0].securityContext.privilegd = true; },
      async (o) => typeCheck([o.find((x) => x.kind === "DaemonSet")])[0].filter((p) => p.includes("privilegd"))],
    ["a field of the wrong type (hostPID: \"yes\")", (o) => { podOf(o).hostPID = "yes"; },
      async (o) => {
        const d = o.find((x) => x.kind === "DaemonSet");
        const m = await validateModel(d);
        const t = typeCheck([d])[0].filter((p) => p.includes("hostPID"));
        return m.length && t.length ? [...m, ...t] : [];
      }],
    ["privileged: true", (o) => { podOf(o).containers[0].securityContext.privileged = true; },
      async (o) => CHECKS["no privileged container; the capabilities are exactly the documented ones"](o, ctx)],
    ["a readiness probe on another port than --metrics", (o) => { podOf(o).containers[0].readinessProbe.httpGet.port = 9999; },
      async (o) => CHECKS["the probes ask the --metrics port: liveness and startup /healthz, readiness /readyz"](o, ctx)],
    ["a ClusterRole that also grants create on secrets", (o) => {
      o.find((x) => x.kind === "ClusterRole").rules.push({ apiGroups: [""], resources: ["secrets"], verbs: ["create"] });
    }, async (o) => CHECKS["the ClusterRole grants get, list and watch on pods, and nothing else"](o, ctx)],
    ["a ClusterRoleBinding to another ServiceAccount", (o) => {
      o.find((x) => x.kind === "ClusterRoleBinding").subjects[0].name = "default";
    }, async (o) => CHECKS["the ClusterRoleBinding binds the DaemonSet's ServiceAccount to the ClusterRole"](o, ctx)],
    ["a surge of two tracers on a node", (o) => { o.find((x) => x.kind === "DaemonSet").spec.updateStrategy.rollingUpdate.maxSurge = 1; },
      async (o) => CHECKS["RollingUpdate with maxUnavailable, and no surge (one tracer a node)"](o, ctx)],
  ];
  for (const [what, mutate, detect] of cases) {
    const copy = structuredClone(objs);
    let problems;
    try {
      mutate(copy);
      problems = await detect(copy);
    } catch (e) {
      problems = [];
      report(`self-test: ${what} is rejected`, [`could not build the case: ${e.message}`]);
      continue;
    }
    report(`self-test: ${what} is rejected`, problems.length ? [] : ["the checks accepted it"]);
  }
}

async function main(argv) {
  let dir = path.join(REPO, "deploy/kubernetes");
  let examples = path.join(REPO, "deploy/examples");
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--manifests" && i + 1 < argv.length) {
      dir = path.resolve(argv[++i]);
      examples = null;
    } else if (argv[i] === "--examples" && i + 1 < argv.length) examples = path.resolve(argv[++i]);
    else {
      console.error("usage: validate.js [--manifests DIR] [--examples DIR]");
      return 2;
    }
  }
  const ctx = {
    cliDoc: readOr(path.join(REPO, "docs/cli.md"), ""),
    k8sDoc: readOr(path.join(REPO, "docs/kubernetes.md"), ""),
  };

  // Parse every file.
  const docs = [];
  for (const f of yamlFiles(dir)) {
    try {
      const d = parseDocs(fs.readFileSync(f, "utf8"), f);
      docs.push(...d);
      report(`${path.basename(f)}: parses (YAML 1.1, no duplicate key), ${d.length} document(s)`, d.length ? [] : ["no document"]);
    } catch (e) {
      report(`${path.basename(f)}: parses`, [e.message]);
    }
  }
  const objs = docs.filter((d) => !isKustomization(d.obj));
  const kust = docs.filter((d) => isKustomization(d.obj));

  // kubectl's own reading of the files, compared with ours: the same objects, field for field
  // (so both read YAML alike: octal modes, booleans, numbers).
  try {
    const out = jsonStream(execFileSync("kubectl", ["label", "--local", "--dry-run=client", "-o", "json", "-f", dir, `${MARK}=yes`],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
    const theirs = out.map(unmark).map(canonical).sort();
    const ours = docs.map((d) => canonical(d.obj)).sort();
    const problems = [];
    if (theirs.length !== ours.length) problems.push(`kubectl read ${theirs.length} objects, the YAML parser ${ours.length}`);
    else theirs.forEach((t, i) => { if (t !== ours[i]) problems.push(`kubectl reads differently: ${t.slice(0, 300)}`); });
    report(`kubectl reads every file as the validator does (kubectl label --local -f ${path.relative(REPO, dir) || dir})`, problems);
  } catch (e) {
    report("kubectl reads every file as the validator does", [String(e.stderr || e.message).trim()]);
  }

  await checkObjects(objs, "");
  checkRefs(objs.map((d) => d.obj), ctx, "");

  // The kustomization: every manifest listed, and what kubectl builds is exactly them.
  {
    const problems = [];
    if (kust.length !== 1) problems.push(`expected one kustomization.yaml, found ${kust.length}`);
    else {
      const listed = (kust[0].obj.resources || []).slice().sort();
      const files = yamlFiles(dir).map((f) => path.basename(f)).filter((f) => !/^kustomization\.ya?ml$/.test(f)).sort();
      if (!same(listed, files)) problems.push(`resources ${JSON.stringify(listed)} differ from the files ${JSON.stringify(files)}`);
      try {
        const built = kustomize(dir).map((d) => key(d.obj)).sort();
        const mine = objs.map((d) => key(d.obj)).sort();
        if (!same(built, mine)) problems.push(`kubectl kustomize builds ${JSON.stringify(built)}, the files hold ${JSON.stringify(mine)}`);
      } catch (e) {
        problems.push(String(e.stderr || e.message).trim());
      }
    }
    report("kustomization.yaml lists every manifest, and kubectl kustomize builds exactly them", problems);
  }

  // Example overlays of the base.
  if (examples && fs.existsSync(examples))
    for (const name of fs.readdirSync(examples).sort()) {
      const ex = path.join(examples, name);
      if (!fs.existsSync(path.join(ex, "kustomization.yaml"))) continue;
      let built;
      try {
        built = kustomize(ex);
      } catch (e) {
        report(`examples/${name}: kubectl kustomize builds it`, [String(e.stderr || e.message).trim()]);
        continue;
      }
      report(`examples/${name}: kubectl kustomize builds it`, []);
      await checkObjects(built, `examples/${name}: `);
      checkRefs(built.map((d) => d.obj), ctx, `examples/${name}: `);
    }

  // Objects quoted in the documentation.
  const md = path.join(REPO, "docs/kubernetes.md");
  if (fs.existsSync(md)) {
    try {
      await checkObjects(markdownObjects(md), "docs: ");
    } catch (e) {
      report("docs: the YAML blocks of docs/kubernetes.md parse", [e.message]);
    }
  } else report("docs/kubernetes.md exists", ["missing"]);

  for (const [name, problems] of checkContainerfile(path.join(REPO, "deploy/Containerfile"), REPO)) report(`Containerfile: ${name}`, problems);

  await selfTest(objs.map((d) => d.obj), ctx);

  console.log(`deploy: ${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
