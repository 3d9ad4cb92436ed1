// Reading manifests the way the API server's clients do: YAML 1.1 (what kubectl's YAML
// library reads: 0400 is octal, yes/no are booleans), several documents a file, duplicate keys
// refused.
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import YAML from "yaml";

const PARSE = { version: "1.1", uniqueKeys: true, prettyErrors: true };

// [{file, index, obj}] for every non-empty document of text; throws on a YAML error.
export function parseDocs(text, file) {
  const out = [];
  YAML.parseAllDocuments(text, PARSE).forEach((doc, index) => {
    const errs = [...doc.errors, ...doc.warnings];
    if (errs.length) throw new Error(`${file}: ${errs.map((e) => e.message).join("; ")}`);
    const obj = doc.toJS({ maxAliasCount: 0 });
    if (obj === null || obj === undefined) return;
    if (typeof obj !== "object" || Array.isArray(obj))
      throw new Error(`${file}: document ${index + 1} is not a mapping`);
    out.push({ file, index, obj });
  });
  return out;
}

// The YAML files directly in dir (not in its subdirectories), sorted.
export function yamlFiles(dir) {
  return fs.readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && fs.statSync(path.join(dir, f)).isFile())
    .sort()
    .map((f) => path.join(dir, f));
}

export function isKustomization(obj) {
  return obj.kind === "Kustomization" && String(obj.apiVersion).startsWith("kustomize.config.k8s.io/");
}

// `kubectl kustomize dir`, parsed.
export function kustomize(dir) {
  const text = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return parseDocs(text, `kubectl kustomize ${dir}`).map((d) => ({ ...d, file: "" }));
}

// ```yaml blocks of a Markdown file that hold Kubernetes objects (an apiVersion and a kind),
// with the line each block starts on.
export function markdownObjects(file) {
  const out = [];
  const lines = fs.readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ya?ml\s*$/.test(lines[i])) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !/^```\s*$/.test(lines[j])) j++;
    const label = `${path.basename(file)}:${start + 1}`;
    for (const d of parseDocs(lines.slice(start, j).join("\n"), label))
      if (d.obj.apiVersion && d.obj.kind && !isKustomization(d.obj)) out.push(d);
    i = j;
  }
  return out;
}

export function describe(d) {
  const name = d.obj.metadata && d.obj.metadata.name;
  return `${d.file ? path.basename(d.file) + " " : ""}${d.obj.kind}/${name}`;
}
