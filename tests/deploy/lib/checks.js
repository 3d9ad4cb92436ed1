// What the manifests must say to one another and to the tracer's command line. Each check
// takes the list of objects (plain JS, as parsed) and a context with the documentation's text,
// and returns its problems (an empty list when it holds).

// The capabilities the pod grants, each explained in docs/kubernetes.md.
export const CAPABILITIES = ["BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE", "DAC_READ_SEARCH"];
// Options of the node-wide mode: docs/kubernetes.md must explain them too.
export const NODE_WIDE_OPTIONS = ["--all", "--scan", "--metrics", "--node-name", "--kube-api", "--runtime-state"];
// Options that take no value.
const FLAGS = new Set(["--all", "-v", "--verbose", "-h", "--help", "--version"]);
const READ_ONLY_HOST_PATHS = ["/sys/kernel/btf", "/sys/kernel/tracing"];
const STATE_DIR = "/var/lib/secretrace";

const all = (objs, kind) => objs.filter((o) => o && o.kind === kind);
const nameOf = (o) => (o.metadata || {}).name;
const nsOf = (o) => (o.metadata || {}).namespace;

function daemonSet(objs) {
  const ds = all(objs, "DaemonSet");
  if (ds.length !== 1) throw new Error(`expected one DaemonSet, found ${ds.length}`);
  const pod = ((ds[0].spec || {}).template || {}).spec || {};
  const c = (pod.containers || []).find((x) => x.name === "secretrace") || (pod.containers || [])[0];
  if (!c) throw new Error("the DaemonSet has no container");
  return { ds: ds[0], pod, c };
}

// [[option, value]] of a container's command line (--opt value, --opt=value, -o value).
export function options(args) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    const a = String(args[i]);
    if (!a.startsWith("-") || a === "-") {
      out.push([null, a]);
      continue;
    }
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    if (eq > 0) out.push([a.slice(0, eq), a.slice(eq + 1)]);
    else if (FLAGS.has(a)) out.push([a, true]);
    else {
      i++;
      out.push([a, i < args.length ? String(args[i]) : undefined]);
    }
  }
  return out;
}

const optionValues = (c, name) => options(c.args || []).filter(([o]) => o === name).map(([, v]) => v);
const mountOf = (c, volume) => (c.volumeMounts || []).find((m) => m.name === volume);
const under = (file, dir) => dir && (file === dir || file.startsWith(dir.replace(/\/$/, "") + "/"));

// The volume mounted where file lives, and the file's path inside it.
function volumeFor(pod, c, file) {
  let best = null;
  for (const m of c.volumeMounts || [])
    if (under(file, m.mountPath) && (!best || m.mountPath.length > best.mountPath.length)) best = m;
  if (!best) return null;
  const vol = (pod.volumes || []).find((v) => v.name === best.name);
  return { mount: best, vol, rel: file.slice(best.mountPath.replace(/\/$/, "").length + 1) };
}

// Is option named in text (`--output`, `-o, --output SPEC`, "--metrics ADDR:PORT")?
function names(text, option) {
  const esc = option.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp("(^|[\\s`,(])" + esc + "(?![\\w-])", "m").test(text || "");
}

function userCreatedSecret(name, ctx) {
  return new RegExp(`create secret [a-z]+ ${name}\\b`).test(ctx.k8sDoc || "");
}

export const CHECKS = {
  "the DaemonSet's ServiceAccount exists in its namespace"(objs) {
    const { ds, pod } = daemonSet(objs);
    const sa = pod.serviceAccountName;
    if (!sa) return ["spec.template.spec.serviceAccountName is not set"];
    return all(objs, "ServiceAccount").some((o) => nameOf(o) === sa && nsOf(o) === nsOf(ds))
      ? [] : [`ServiceAccount ${nsOf(ds)}/${sa} is not among the manifests`];
  },

  "every ConfigMap and Secret the DaemonSet uses exists, or is documented as created by the user"(objs, ctx) {
    const { ds, pod, c } = daemonSet(objs);
    const bad = [];
    const cm = (name) => all(objs, "ConfigMap").find((o) => nameOf(o) === name && nsOf(o) === nsOf(ds));
    const secret = (name) => all(objs, "Secret").find((o) => nameOf(o) === name && nsOf(o) === nsOf(ds));
    for (const v of pod.volumes || []) {
      if (v.configMap) {
        const o = cm(v.configMap.name);
        if (!o) bad.push(`volume ${v.name}: ConfigMap ${v.configMap.name} is not among the manifests`);
        for (const it of v.configMap.items || [])
          if (o && !(it.key in (o.data || {}))) bad.push(`volume ${v.name}: ConfigMap ${v.configMap.name} has no key ${it.key}`);
      }
      if (v.secret && !secret(v.secret.secretName)) {
        if (!userCreatedSecret(v.secret.secretName, ctx))
          bad.push(`volume ${v.name}: Secret ${v.secret.secretName} is neither among the manifests nor created in docs/kubernetes.md`);
        for (const it of v.secret.items || [])
          if (!new RegExp(`--from-file=${it.key}=`).test(ctx.k8sDoc || ""))
            bad.push(`volume ${v.name}: docs/kubernetes.md does not create key ${it.key} of Secret ${v.secret.secretName}`);
      }
    }
    for (const e of c.env || []) {
      const ref = (e.valueFrom || {}).secretKeyRef || (e.valueFrom || {}).configMapKeyRef;
      if (!ref || ref.optional) continue;
      const found = (e.valueFrom.secretKeyRef ? secret : cm)(ref.name);
      if (!found && !userCreatedSecret(ref.name, ctx)) bad.push(`env ${e.name}: ${ref.name} does not exist and is not optional`);
    }
    return bad;
  },

  "--policy and --key-file name files of the mounted ConfigMap and Secret; the spool is on the state volume"(objs) {
    const { pod, c } = daemonSet(objs);
    const bad = [];
    for (const p of optionValues(c, "--policy")) {
      const at = volumeFor(pod, c, p);
      const cm = at && at.vol && at.vol.configMap;
      const o = cm && all(objs, "ConfigMap").find((x) => nameOf(x) === cm.name);
      const key = cm && cm.items ? (cm.items.find((it) => it.path === at.rel) || {}).key : at && at.rel;
      if (!o || !(key in (o.data || {}))) bad.push(`--policy ${p} is not a key of a mounted ConfigMap`);
    }
    const keys = optionValues(c, "--key-file");
    if (keys.length !== 1) bad.push("--key-file must be given once (the key every node shares)");
    for (const k of keys) {
      const at = volumeFor(pod, c, k);
      const s = at && at.vol && at.vol.secret;
      if (!s || (s.items && !s.items.some((it) => it.path === at.rel)))
        bad.push(`--key-file ${k} is not a file of a mounted Secret`);
    }
    for (const d of optionValues(c, "--spool-dir")) {
      const at = volumeFor(pod, c, d);
      if (!at || !at.vol || !at.vol.hostPath || at.mount.readOnly) bad.push(`--spool-dir ${d} is not on a writable hostPath volume`);
    }
    return bad;
  },

  "the ClusterRoleBinding binds the DaemonSet's ServiceAccount to the ClusterRole"(objs) {
    const { ds, pod } = daemonSet(objs);
    const roles = all(objs, "ClusterRole").map(nameOf);
    const ok = all(objs, "ClusterRoleBinding").some((b) =>
      b.roleRef && b.roleRef.kind === "ClusterRole" && b.roleRef.apiGroup === "rbac.authorization.k8s.io" &&
      roles.includes(b.roleRef.name) &&
      (b.subjects || []).some((s) => s.kind === "ServiceAccount" && s.name === pod.serviceAccountName && s.namespace === nsOf(ds)));
    return ok ? [] : [`no ClusterRoleBinding binds ServiceAccount ${nsOf(ds)}/${pod.serviceAccountName} to a ClusterRole of the manifests`];
  },

  "the ClusterRole grants get, list and watch on pods, and nothing else"(objs) {
    const roles = [...all(objs, "ClusterRole"), ...all(objs, "Role")];
    if (roles.length !== 1) return [`expected one ClusterRole, found ${roles.length} roles`];
    const r = roles[0];
    const bad = [];
    if (r.aggregationRule) bad.push("aggregationRule would add other roles' rules");
    const verbs = new Set();
    for (const rule of r.rules || []) {
      if (JSON.stringify(rule.apiGroups) !== '[""]') bad.push(`apiGroups ${JSON.stringify(rule.apiGroups)}: only the core group`);
      if (JSON.stringify(rule.resources) !== '["pods"]') bad.push(`resources ${JSON.stringify(rule.resources)}: only pods`);
      if (rule.nonResourceURLs) bad.push("nonResourceURLs are granted");
      for (const v of rule.verbs || []) {
        if (!["get", "list", "watch"].includes(v)) bad.push(`verb ${v} is granted`);
        verbs.add(v);
      }
    }
    for (const v of ["get", "list", "watch"]) if (!verbs.has(v)) bad.push(`verb ${v} on pods is missing`);
    return bad;
  },

  "the probes ask the --metrics port: liveness and startup /healthz, readiness /readyz"(objs) {
    const { c } = daemonSet(objs);
    const m = optionValues(c, "--metrics");
    if (m.length !== 1) return ["--metrics ADDR:PORT must be given once"];
    const port = Number(String(m[0]).split(":").pop());
    const named = (c.ports || []).filter((p) => p.containerPort === port).map((p) => p.name);
    if (!named.length) return [`no containerPort ${port} (--metrics ${m[0]})`];
    const bad = [];
    const want = { livenessProbe: "/healthz", readinessProbe: "/readyz", startupProbe: "/healthz" };
    for (const [probe, path] of Object.entries(want)) {
      const h = (c[probe] || {}).httpGet;
      if (!h) {
        if (probe !== "startupProbe") bad.push(`${probe} is not an httpGet probe`);
        continue;
      }
      if (h.path !== path) bad.push(`${probe} asks ${h.path}, not ${path}`);
      if (h.port !== port && !named.includes(h.port)) bad.push(`${probe} asks port ${h.port}, not the --metrics port ${port}`);
    }
    return bad;
  },

  "no privileged container; the capabilities are exactly the documented ones"(objs, ctx) {
    const { pod, c } = daemonSet(objs);
    const bad = [];
    const walk = (x, where) => {
      if (Array.isArray(x)) x.forEach((y, i) => walk(y, `${where}[${i}]`));
      else if (x && typeof x === "object")
        for (const [k, v] of Object.entries(x)) {
          if (k === "privileged" && v !== false) bad.push(`${where}.privileged is ${JSON.stringify(v)}`);
          walk(v, `${where}.${k}`);
        }
    };
    walk(pod, "spec.template.spec");
    const sc = c.securityContext || {};
    if (sc.allowPrivilegeEscalation !== false) bad.push("allowPrivilegeEscalation is not false");
    const caps = sc.capabilities || {};
    if (!(caps.drop || []).includes("ALL")) bad.push("capabilities.drop does not include ALL");
    const add = [...(caps.add || [])].map((x) => x.replace(/^CAP_/, "")).sort();
    if (JSON.stringify(add) !== JSON.stringify([...CAPABILITIES].sort()))
      bad.push(`capabilities.add is ${JSON.stringify(caps.add)}, not ${JSON.stringify(CAPABILITIES)}`);
    for (const cap of CAPABILITIES)
      if (!(ctx.k8sDoc || "").includes(`CAP_${cap}`)) bad.push(`CAP_${cap} is not explained in docs/kubernetes.md`);
    for (const x of [...(pod.initContainers || []), ...(pod.containers || [])].filter((x) => x !== c))
      if (((x.securityContext || {}).capabilities || {}).add) bad.push(`container ${x.name} adds capabilities`);
    return bad;
  },

  "hostPID; host paths read-only but the state directory; the runtime state mounted where --runtime-state says"(objs) {
    const { pod, c } = daemonSet(objs);
    const bad = [];
    if (pod.hostPID !== true) bad.push("hostPID is not true");
    for (const k of ["hostNetwork", "hostIPC"]) if (pod[k]) bad.push(`${k} is set`);
    const hostVols = new Map((pod.volumes || []).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath]));
    for (const m of c.volumeMounts || []) {
      const hp = hostVols.get(m.name);
      if (!hp) continue;
      if (hp.path === STATE_DIR) {
        if (m.readOnly) bad.push(`${STATE_DIR} must be writable (the spools)`);
      } else if (m.readOnly !== true) bad.push(`hostPath ${hp.path} is mounted writable`);
      if (m.mountPropagation && m.mountPropagation !== "None") bad.push(`hostPath ${hp.path}: mountPropagation ${m.mountPropagation}`);
    }
    const mounted = new Map((c.volumeMounts || []).filter((m) => hostVols.has(m.name)).map((m) => [m.mountPath, hostVols.get(m.name).path]));
    for (const p of [...READ_ONLY_HOST_PATHS, STATE_DIR])
      if (mounted.get(p) !== p) bad.push(`the host's ${p} is not mounted at ${p}`);
    const rs = optionValues(c, "--runtime-state");
    if (!rs.length) bad.push("--runtime-state is not given");
    for (const d of rs) if (!mounted.has(d)) bad.push(`--runtime-state ${d} is not a mounted hostPath`);
    return bad;
  },

  "every option in the container's args is documented"(objs, ctx) {
    const { c } = daemonSet(objs);
    const bad = [];
    for (const [o, v] of options(c.args || [])) {
      if (o === null) bad.push(`stray argument ${JSON.stringify(v)}`);
      else if (v === undefined) bad.push(`${o} has no value`);
      else if (o.startsWith("--") && !names(ctx.cliDoc, o))
        bad.push(`${o} is not in docs/cli.md`);
      if (NODE_WIDE_OPTIONS.includes(o) && !names(ctx.k8sDoc, o)) bad.push(`${o} is not in docs/kubernetes.md`);
    }
    if (!optionValues(c, "--all").length) bad.push("--all is not given (node-wide mode)");
    return bad;
  },

  "NODE_NAME comes from the downward API's spec.nodeName"(objs) {
    const { c } = daemonSet(objs);
    const e = (c.env || []).find((x) => x.name === "NODE_NAME");
    const f = e && e.valueFrom && e.valueFrom.fieldRef;
    return f && f.fieldPath === "spec.nodeName" ? [] : ["env NODE_NAME is not fieldRef spec.nodeName"];
  },

  "terminationGracePeriodSeconds outlasts --flush-timeout"(objs) {
    const { pod, c } = daemonSet(objs);
    const flush = Number(optionValues(c, "--flush-timeout").pop() || 5);
    const grace = pod.terminationGracePeriodSeconds === undefined ? 30 : pod.terminationGracePeriodSeconds;
    return grace >= flush + 5 ? [] : [`terminationGracePeriodSeconds ${grace} leaves less than 5 s past --flush-timeout ${flush}`];
  },

  "RollingUpdate with maxUnavailable, and no surge (one tracer a node)"(objs) {
    const { ds } = daemonSet(objs);
    const u = ds.spec.updateStrategy || {};
    const bad = [];
    if (u.type !== "RollingUpdate") bad.push(`updateStrategy.type is ${u.type}`);
    const r = u.rollingUpdate || {};
    if (r.maxUnavailable === undefined || r.maxUnavailable === 0 || r.maxUnavailable === "0%") bad.push("maxUnavailable is not set above 0");
    if (r.maxSurge !== undefined && r.maxSurge !== 0 && r.maxSurge !== "0%") bad.push(`maxSurge is ${r.maxSurge}: two tracers on a node`);
    return bad;
  },

  "scheduled on every node: all taints tolerated, system-node-critical"(objs) {
    const { pod } = daemonSet(objs);
    const bad = [];
    if (!(pod.tolerations || []).some((t) => t.operator === "Exists" && !t.key && !t.effect)) bad.push("no toleration of every taint (operator: Exists)");
    if (pod.priorityClassName !== "system-node-critical") bad.push(`priorityClassName is ${pod.priorityClassName}`);
    if (pod.nodeName || pod.affinity) bad.push("nodeName or affinity restricts the nodes");
    return bad;
  },

  "cpu and memory requests and limits"(objs) {
    const { c } = daemonSet(objs);
    const r = c.resources || {};
    return ["requests", "limits"].flatMap((k) => ["cpu", "memory"].filter((x) => !(r[k] || {})[x]).map((x) => `resources.${k}.${x} is not set`));
  },

  "the namespace admits privileged pods and holds every namespaced object"(objs) {
    const ns = all(objs, "Namespace");
    if (ns.length !== 1) return [`expected one Namespace, found ${ns.length}`];
    const bad = [];
    const labels = ns[0].metadata.labels || {};
    if (labels["pod-security.kubernetes.io/enforce"] !== "privileged") bad.push("label pod-security.kubernetes.io/enforce is not privileged");
    const cluster = ["Namespace", "ClusterRole", "ClusterRoleBinding"];
    for (const o of objs)
      if (!cluster.includes(o.kind) && nsOf(o) !== nameOf(ns[0])) bad.push(`${o.kind}/${nameOf(o)} is in namespace ${nsOf(o)}`);
    return bad;
  },
};

// Run every check; returns [[name, problems]].
export function runChecks(objs, ctx) {
  return Object.entries(CHECKS).map(([name, fn]) => {
    try {
      return [name, fn(objs, ctx)];
    } catch (e) {
      return [name, [e.message]];
    }
  });
}
