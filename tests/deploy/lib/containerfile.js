// deploy/Containerfile, read the way a builder reads it (instructions, continuation lines,
// stages), and checked against the repository: no registry is reachable here, so it cannot
// be built; tests/e2e/test_deploy.py checks the runtime packages against the built binary.
import fs from "node:fs";
import path from "node:path";

const OPS = new Set(["FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
  "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"]);

// Libraries the image must carry (the binary's, the lazily loaded libcurl and OpenSSL, the
// node-wide mode's libmicrohttpd and libseccomp) and the CA certificates.
export const RUNTIME_PACKAGES = ["libbpf1", "libelf1", "zlib1g", "libjansson4", "libsodium23", "libcap2",
  "libnghttp2-14", "libyaml-0-2", "libhttp-parser2.9", "libmicrohttpd12", "libseccomp2", "libcurl4",
  "libssl3", "ca-certificates"];
export const BINARY = "/usr/local/sbin/secretrace";

export function parse(text) {
  const out = [];
  let cur = null;
  let start = 0;
  text.split("\n").forEach((raw, n) => {
    const line = raw.replace(/\r$/, "");
    if (/^\s*#/.test(line) || (cur === null && !line.trim())) return;
    const cont = /\\\s*$/.test(line);
    const piece = line.replace(/\\\s*$/, "").trim();
    if (cur === null) start = n + 1;
    cur = cur === null ? piece : `${cur} ${piece}`;
    if (cont) return;
    const m = cur.match(/^(\S+)\s*(.*)$/);
    out.push({ line: start, op: m[1].toUpperCase(), args: m[2] });
    cur = null;
  });
  if (cur !== null) throw new Error(`line ${start}: the file ends inside a continued instruction`);
  return out;
}

// Stages: [{from, name, instrs}].
function stages(instrs) {
  const out = [];
  for (const i of instrs) {
    if (i.op === "FROM") {
      const m = i.args.match(/^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$/i);
      out.push({ from: m ? m[1] : i.args, name: m && m[2], instrs: [] });
    } else if (out.length) out[out.length - 1].instrs.push(i);
  }
  return out;
}

// The packages every `apt-get install` of a stage names.
function aptPackages(stage) {
  const pkgs = [];
  for (const i of stage.instrs.filter((x) => x.op === "RUN"))
    for (const part of i.args.split(/&&|;/)) {
      const m = part.match(/apt-get\s+install\s+(.*)$/);
      if (m) pkgs.push(...m[1].split(/\s+/).filter((t) => t && !t.startsWith("-")));
    }
  return pkgs;
}

// The packages of the "# build" part of tools/install-deps.sh's PACKAGES.
export function buildPackages(installDeps) {
  const m = installDeps.match(/PACKAGES=\(\s*\n\s*# build\n([\s\S]*?)\n\s*#/);
  if (!m) throw new Error("tools/install-deps.sh: no \"# build\" part in PACKAGES");
  return m[1].split(/\s+/).filter(Boolean);
}

// [[name, problems]] for the Containerfile at file, the repository at repo.
export function checkContainerfile(file, repo) {
  let instrs;
  try {
    instrs = parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    return [["the Containerfile parses", [e.message]]];
  }
  const st = stages(instrs);
  const builder = st.find((s) => s.name === "builder");
  const final = st[st.length - 1];
  const results = [];
  const check = (name, fn) => {
    try {
      results.push([name, fn()]);
    } catch (e) {
      results.push([name, [e.message]]);
    }
  };
  check("the Containerfile parses: known instructions, a builder stage and a final one", () => {
    const bad = instrs.filter((i) => !OPS.has(i.op)).map((i) => `line ${i.line}: unknown instruction ${i.op}`);
    if (instrs[0] && instrs[0].op !== "FROM" && instrs[0].op !== "ARG") bad.push("the first instruction is neither FROM nor ARG");
    if (!builder) bad.push("no stage named builder");
    if (st.length < 2 || final === builder) bad.push("no final stage after the builder");
    return bad;
  });
  check("both stages are Debian 12 (bookworm), the image the slim one", () => {
    const bad = st.filter((s) => !/^(docker\.io\/)?(library\/)?debian:bookworm(-slim)?(@sha256:[0-9a-f]{64})?$/.test(s.from))
      .map((s) => `FROM ${s.from}`);
    if (final && !/bookworm-slim/.test(final.from)) bad.push(`the image is FROM ${final.from}, not bookworm-slim`);
    return bad;
  });
  check("the builder installs every build package of tools/install-deps.sh", () => {
    const have = new Set(aptPackages(builder));
    const want = buildPackages(fs.readFileSync(path.join(repo, "tools/install-deps.sh"), "utf8"));
    const bad = want.filter((p) => !have.has(p)).map((p) => `${p} is not installed in the builder`);
    if (!builder.instrs.some((i) => i.op === "RUN" && /\bmake\b/.test(i.args))) bad.push("the builder does not run make");
    return bad;
  });
  check("every path the builder copies exists in the repository", () =>
    builder.instrs.filter((i) => i.op === "COPY" && !/--from=/.test(i.args)).flatMap((i) => {
      const words = i.args.split(/\s+/).filter((w) => !w.startsWith("--"));
      return words.slice(0, -1).filter((src) => !fs.existsSync(path.join(repo, src))).map((src) => `line ${i.line}: COPY ${src}: no such path`);
    }));
  check("the image installs the runtime libraries and CA certificates, and no compiler", () => {
    const have = aptPackages(final);
    const bad = RUNTIME_PACKAGES.filter((p) => !have.includes(p)).map((p) => `${p} is not installed in the image`);
    for (const p of have) if (/-dev$|^(gcc|clang|llvm|make)$/.test(p)) bad.push(`${p} is a build tool in the image`);
    return bad;
  });
  check(`the binary is copied from the builder to ${BINARY} and is the ENTRYPOINT, in exec form`, () => {
    const bad = [];
    if (!final.instrs.some((i) => i.op === "COPY" && /--from=builder\b/.test(i.args) && i.args.trim().endsWith(` ${BINARY}`)))
      bad.push(`no COPY --from=builder ... ${BINARY}`);
    const eps = final.instrs.filter((i) => i.op === "ENTRYPOINT");
    let ep = null;
    try {
      ep = eps.length === 1 ? JSON.parse(eps[0].args) : null;
    } catch {
      ep = null;
    }
    if (!Array.isArray(ep) || ep[0] !== BINARY) bad.push(`ENTRYPOINT is not ["${BINARY}", ...]`);
    const user = final.instrs.filter((i) => i.op === "USER").pop();
    if (user && !/^(0|root)(:(0|root))?$/.test(user.args.trim())) bad.push(`USER ${user.args}: the tracer must run as root`);
    return bad;
  });
  return results;
}
