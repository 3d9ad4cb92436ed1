// Objects against the Kubernetes API's own types, two ways:
//
// - kubernetes-models' validate(): the JSON schema of each kind (types, required fields, enums,
//   formats). It does not refuse fields the API does not know: its schemas leave
//   additionalProperties open.
// - the same package's TypeScript declarations, through the TypeScript compiler: each object
//   becomes an object literal typed with its kind's interface, and an object literal may only
//   name known properties ("excess property" checks, at every depth), with the right types.
//
// Both cover the API version the package was generated from; see package.json.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(HERE);
const require = createRequire(import.meta.url);
const ts = require("typescript");

// apps/v1 + DaemonSet -> kubernetes-models/apps/v1/DaemonSet (class DaemonSet, interface
// IDaemonSet); v1 + Namespace -> kubernetes-models/v1/Namespace.
function modulePath(obj) {
  if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string" ||
      !/^[a-z0-9.]*\/?v[0-9a-z]+$/.test(obj.apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(obj.kind))
    return null;
  return `kubernetes-models/${obj.apiVersion}/${obj.kind}`;
}

// Returns a list of problems (strings); empty when the object is valid.
export async function validateModel(obj) {
  const mod = modulePath(obj);
  if (!mod) return [`apiVersion ${JSON.stringify(obj.apiVersion)} / kind ${JSON.stringify(obj.kind)} is not a Kubernetes type`];
  let cls;
  try {
    cls = (await import(mod))[obj.kind];
  } catch {
    cls = undefined;
  }
  if (typeof cls !== "function") return [`no Kubernetes type ${obj.apiVersion} ${obj.kind}`];
  try {
    new cls(structuredClone(obj)).validate();
  } catch (e) {
    return String(e.message || e).split("\n").map((l) => l.trim()).filter(Boolean);
  }
  return [];
}

// The innermost node of sf containing pos.
function nodeAt(sf, pos) {
  let found = sf;
  const visit = (n) => {
    if (pos >= n.getStart(sf) && pos < n.getEnd()) {
      found = n;
      ts.forEachChild(n, visit);
    }
  };
  ts.forEachChild(sf, visit);
  return found;
}

// The field path of a node inside the object literal: spec.template.spec.containers[0].name.
function fieldPath(node) {
  const parts = [];
  for (let n = node; n && !ts.isVariableDeclaration(n); n = n.parent) {
    if (ts.isPropertyAssignment(n)) parts.unshift("." + n.name.text);
    else if (n.parent && ts.isArrayLiteralExpression(n.parent))
      parts.unshift(`[${n.parent.elements.indexOf(n)}]`);
  }
  return parts.join("").replace(/^\./, "") || "(object)";
}

// Type-checks every object against its kind's interface. Returns one list of problems per
// object, in order.
export function typeCheck(objs) {
  const out = objs.map(() => []);
  const imports = [];
  const decls = [];
  objs.forEach((obj, i) => {
    const mod = modulePath(obj);
    if (!mod) {
      out[i].push("not a Kubernetes type");
      return;
    }
    imports.push(`import type { I${obj.kind} as T${i} } from ${JSON.stringify(mod)};`);
    decls.push(`export const o${i}: T${i} = ${JSON.stringify(obj, null, 1)};`);
  });
  const file = path.join(ROOT, "__manifests__.ts");
  const text = imports.join("\n") + "\n" + decls.join("\n") + "\n";
  const options = {
    strict: true, noEmit: true, skipLibCheck: true, types: [],
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, text, lang, true) : getSourceFile.call(host, name, lang, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? text : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  const sf = program.getSourceFile(file);
  const checker = program.getTypeChecker();
  const indexOfDecl = (node) => {
    let decl = node;
    while (decl && !ts.isVariableDeclaration(decl)) decl = decl.parent;
    return decl ? Number(decl.name.text.slice(1)) : -1;
  };
  // Unknown fields, every one of them: the compiler reports one error per object literal,
  // so a wrong type would hide an unknown field beside it. Each literal's keys are compared
  // with the properties of the type it is checked against.
  const visit = (n) => {
    if (ts.isObjectLiteralExpression(n)) {
      const t = checker.getContextualType(n);
      const types = (t ? (t.isUnion() ? t.types : [t]) : [])
        .filter((x) => !(x.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
      const open = types.some((x) => checker.getIndexInfosOfType(x).length > 0 || !(x.flags & ts.TypeFlags.Object));
      if (types.length && !open) {
        const known = new Set(types.flatMap((x) => checker.getPropertiesOfType(x).map((p) => p.name)));
        for (const prop of n.properties)
          if (ts.isPropertyAssignment(prop) && !known.has(prop.name.text)) {
            const i = indexOfDecl(prop);
            const type = types.map((x) => checker.typeToString(x)).join(" | ");
            if (i >= 0) out[i].push(`${fieldPath(prop)}: unknown field (${type} has no "${prop.name.text}")`);
          }
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const msg = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (!d.file || d.file.fileName !== file) {
      out.forEach((o) => o.push(`TypeScript: ${msg}`));
      continue;
    }
    if (d.code === 2353 || d.code === 2561) continue; // excess property: reported above
    const node = nodeAt(sf, d.start);
    const i = indexOfDecl(node);
    if (i >= 0) out[i].push(`${fieldPath(node)}: ${msg}`);
    else out.forEach((o) => o.push(`TypeScript: ${msg}`));
  }
  return out;
}
