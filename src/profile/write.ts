/** A profile as YAML text (capsule-profile.yml), with a header saying how to read it. */
import { FS_MODES, type FsRules, type Profile } from "./model.js";

const q = (s: string): string => JSON.stringify(s);

function fsSection(name: string, rules: FsRules, comment: string): string {
  let out = `${comment}\n${name}:\n`;
  for (const mode of FS_MODES) {
    const list = rules[mode];
    if (list.length === 0) {
      out += `  ${mode}: []\n`;
      continue;
    }
    out += `  ${mode}:\n`;
    for (const r of list) {
      const extra = `${r.seen ? `, seen: ${r.seen}` : ""}${r.secret ? ", secret: true" : ""}`;
      out += extra ? `    - { path: ${q(r.path)}${extra} }\n` : `    - ${q(r.path)}\n`;
    }
  }
  return out;
}

export function profileYaml(p: Profile): string {
  let out = "# Capsule profile: what an agent's session may do (capsule check / capsule run --profile | --enforce).\n";
  out += "# cwd:// is the project (the run's working directory), home:// the user's home; `*` stays in one\n";
  out += "# directory, `**` spans any depth; `seen` counts the paths a collapsed rule stood for.\n";
  out += `version: ${p.version}\n`;
  if (p.learned_from.length === 0) out += "learned_from: []\n";
  else {
    out += "learned_from:\n";
    for (const s of p.learned_from) {
      out += `  - session: ${q(s.session)}\n    command: [${s.command.map(q).join(", ")}]\n`;
      out += `    level: ${s.level === null ? "null" : q(s.level)}\n`;
      if (s.tracer !== undefined) out += `    tracer: ${s.tracer === null ? "null" : q(s.tracer)}\n`;
      const heads = Object.entries(s.chain_heads);
      out += heads.length ? "    chain_heads:\n" : "    chain_heads: {}\n";
      for (const [k, v] of heads) out += `      ${k}: ${q(v)}\n`;
    }
  }
  out += fsSection("fs", p.fs, "# What the agent's own work touched.");
  out += fsSection("startup", p.startup, "# Start-up noise: the loader, libraries, locale and interpreter files.");
  out += p.exec.length ? "exec:\n" : "exec: []\n";
  for (const e of p.exec)
    out += e.sha256 ? `  - { path: ${q(e.path)}, sha256: ${q(e.sha256)} }\n` : `  - ${q(e.path)}\n`;
  out += "net:\n";
  for (const dir of ["connect", "listen"] as const) {
    const list = p.net[dir];
    out += list.length ? `  ${dir}:\n` : `  ${dir}: []\n`;
    for (const r of list) {
      const addrs = r.addresses?.length ? `, addresses: [${r.addresses.map(q).join(", ")}]` : "";
      out += `    - { host: ${q(r.host)}${r.port === null ? "" : `, port: ${r.port}`}, protocol: ${r.protocol}${addrs} }\n`;
    }
  }
  if (p.syscalls === null) return out;
  out += "# System calls seen (at the tracing level of each session above).\n";
  out += `syscalls: [${p.syscalls.join(", ")}]\n`;
  return out;
}
