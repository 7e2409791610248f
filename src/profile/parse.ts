/**
 * Reading a profile file: YAML in, a checked Profile out. Every problem is one line
 * naming the file and the line (`capsule-profile.yml:12: unknown key "reads" in fs`),
 * thrown as a BAD_INPUT CapsuleError, so the CLI prints it and exits 2. The accepted
 * shape is schema/profile.schema.json; this reader is its executable form.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from "yaml";
import { CapsuleError } from "../core/errors.js";
import { STREAM_NAMES } from "../session/layout.js";
import { isHostName } from "./dns.js";
import {
  emptyFsRules,
  emptyProfile,
  FS_MODES,
  type FsRules,
  NET_DIRECTIONS,
  type NetRule,
  type PathRule,
  PROFILE_VERSION,
  PROTOCOLS,
  type Profile,
  type Protocol,
} from "./model.js";
import { formatRulePath, parseRulePath, type Roots, symlinkEscape } from "./paths.js";

class At extends Error {
  constructor(
    readonly node: Node | null,
    message: string,
  ) {
    super(message);
  }
}

const TOP_KEYS = ["version", "learned_from", "fs", "startup", "exec", "net", "syscalls"] as const;

/**
 * Symlinks that lead a `cwd://` or `home://` rule out of its prefix on this machine: a
 * one-line error naming the rule's line (checked when the roots are known: check, run).
 */
export function assertNoSymlinkEscape(p: Profile, roots: Roots, name: string): void {
  const rules = [...FS_MODES.flatMap((m) => [...p.fs[m], ...p.startup[m]]), ...p.exec];
  for (const r of rules) {
    const why = symlinkEscape(parseRulePath(r.path), roots);
    if (why) throw new CapsuleError("BAD_INPUT", `${name}:${r.line}: ${why}`);
  }
}

/** Reads and checks a profile file. */
export function loadProfile(file: string): Profile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CapsuleError("BAD_INPUT", `${file}: cannot read the profile (${code ?? (e as Error).message})`);
  }
  return parseProfile(text, file);
}

/** Parses profile text; `name` prefixes every message. */
export function parseProfile(text: string, name: string): Profile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const lineOf = (offset: number): number => lc.linePos(offset).line;
  const first = doc.errors[0];
  if (first) {
    const msg = first.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new CapsuleError("BAD_INPUT", `${name}:${lineOf(first.pos[0])}: not valid YAML: ${msg}`);
  }
  try {
    return readTop(doc.contents as Node | null, lineOf);
  } catch (e) {
    if (!(e instanceof At)) throw e;
    const line = e.node?.range ? lineOf(e.node.range[0]) : 1;
    throw new CapsuleError("BAD_INPUT", `${name}:${line}: ${e.message}`);
  }
}

type LineOf = (offset: number) => number;

function mapOf(node: Node | null, what: string, keys: readonly string[]): YAMLMap<Node, Node | null> {
  if (!isMap(node)) throw new At(node, `${what} must be a mapping`);
  for (const pair of node.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : null;
    if (k === null || !keys.includes(k))
      throw new At(pair.key as Node, `unknown key ${JSON.stringify(k)} in ${what} (expected ${keys.join(", ")})`);
  }
  return node as YAMLMap<Node, Node | null>;
}

function entries(map: YAMLMap<Node, Node | null>): Array<[string, Node | null]> {
  return map.items.map((p) => [String((p.key as { value: unknown }).value), p.value]);
}

function listOf(node: Node | null, what: string): Node[] {
  if (node === null || (isScalar(node) && node.value === null)) return [];
  if (!isSeq(node)) throw new At(node, `${what} must be a list`);
  return node.items as Node[];
}

function str(node: Node | null, what: string): string {
  if (!isScalar(node) || typeof node.value !== "string" || node.value === "")
    throw new At(node, `${what} must be a non-empty string`);
  return node.value;
}

function readTop(root: Node | null, lineOf: LineOf): Profile {
  const p = emptyProfile();
  const top = mapOf(root, "the profile", TOP_KEYS);
  let version: number | null = null;
  for (const [k, v] of entries(top)) {
    switch (k) {
      case "version":
        if (!isScalar(v) || v.value !== PROFILE_VERSION)
          throw new At(v, `version must be ${PROFILE_VERSION} (this Capsule reads profile version ${PROFILE_VERSION})`);
        version = PROFILE_VERSION;
        break;
      case "learned_from":
        for (const item of listOf(v, "learned_from")) p.learned_from.push(readSource(item));
        break;
      case "fs":
        p.fs = readFs(v, "fs", lineOf);
        break;
      case "startup":
        p.startup = readFs(v, "startup", lineOf);
        break;
      case "exec":
        for (const item of listOf(v, "exec")) p.exec.push(readExec(item, lineOf));
        break;
      case "net":
        p.net = readNet(v, lineOf);
        break;
      case "syscalls":
        p.syscalls = listOf(v, "syscalls").map((n) => {
          const s = str(n, "a system call");
          if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new At(n, `"${s}" is not a system call name`);
          return s;
        });
        break;
    }
  }
  if (version === null) throw new At(root, `no version (write "version: ${PROFILE_VERSION}" first)`);
  return p;
}

function readSource(node: Node): Profile["learned_from"][number] {
  const m = mapOf(node, "a learned_from entry", ["session", "command", "level", "tracer", "chain_heads"]);
  const src: Profile["learned_from"][number] = { session: "", command: [], level: null, chain_heads: {} };
  for (const [k, v] of entries(m)) {
    if (k === "session") src.session = str(v, "session");
    else if (k === "level") src.level = isScalar(v) && v.value === null ? null : str(v, "level");
    else if (k === "tracer") src.tracer = isScalar(v) && v.value === null ? null : str(v, "tracer");
    else if (k === "command") src.command = listOf(v, "command").map((n) => String((n as { value?: unknown }).value));
    else if (k === "chain_heads") {
      const heads = mapOf(v, "chain_heads", STREAM_NAMES);
      for (const [s, h] of entries(heads)) src.chain_heads[s] = str(h, `chain_heads.${s}`);
    }
  }
  return src;
}

function readFs(node: Node | null, what: string, lineOf: LineOf): FsRules {
  const rules = emptyFsRules();
  if (node === null) return rules;
  for (const [mode, list] of entries(mapOf(node, what, FS_MODES)))
    for (const item of listOf(list, `${what}.${mode}`))
      rules[mode as keyof FsRules].push(readPathRule(item, `${what}.${mode}`, lineOf));
  return rules;
}

function checkedPath(node: Node | null, what: string): string {
  const text = str(node, `a path in ${what}`);
  try {
    return formatRulePath(parseRulePath(text));
  } catch (e) {
    throw new At(node, (e as Error).message);
  }
}

function readPathRule(node: Node, what: string, lineOf: LineOf): PathRule {
  const line = node.range ? lineOf(node.range[0]) : 0;
  if (isScalar(node)) return { path: checkedPath(node, what), line };
  const m = mapOf(node, `a rule in ${what}`, ["path", "seen", "secret"]);
  const rule: PathRule = { path: "", line };
  for (const [k, v] of entries(m)) {
    if (k === "path") rule.path = checkedPath(v, what);
    else if (k === "seen") {
      if (!isScalar(v) || !Number.isInteger(v.value) || (v.value as number) < 1)
        throw new At(v, "seen must be a positive whole number");
      rule.seen = v.value as number;
    } else if (k === "secret") {
      if (!isScalar(v) || typeof v.value !== "boolean") throw new At(v, "secret must be true or false");
      rule.secret = v.value;
    }
  }
  if (rule.path === "") throw new At(node, `a rule in ${what} has no path`);
  if (rule.secret && parseRulePath(rule.path).firstGlob >= 0)
    throw new At(node, `"${rule.path}": a secret must be an exact path, not a glob`);
  return rule;
}

function readExec(node: Node, lineOf: LineOf): Profile["exec"][number] {
  const line = node.range ? lineOf(node.range[0]) : 0;
  if (isScalar(node)) return { path: checkedPath(node, "exec"), line };
  const m = mapOf(node, "an exec entry", ["path", "sha256"]);
  const rule: Profile["exec"][number] = { path: "", line };
  for (const [k, v] of entries(m)) {
    if (k === "path") rule.path = checkedPath(v, "exec");
    else {
      const h = str(v, "sha256");
      if (!/^[0-9a-f]{64}$/.test(h)) throw new At(v, "sha256 must be 64 lowercase hex digits");
      rule.sha256 = h;
    }
  }
  if (rule.path === "") throw new At(node, "an exec entry has no path");
  return rule;
}

function readNet(node: Node | null, lineOf: LineOf): Profile["net"] {
  const net: Profile["net"] = { connect: [], listen: [] };
  if (node === null) return net;
  for (const [dir, list] of entries(mapOf(node, "net", NET_DIRECTIONS)))
    for (const item of listOf(list, `net.${dir}`)) net[dir as keyof Profile["net"]].push(readEndpoint(item, lineOf));
  return net;
}

function readEndpoint(node: Node, lineOf: LineOf): NetRule {
  const m = mapOf(node, "an endpoint", ["host", "port", "protocol", "addresses"]);
  const rule: NetRule = { host: "", port: null, protocol: "tcp", line: node.range ? lineOf(node.range[0]) : 0 };
  for (const [k, v] of entries(m)) {
    if (k === "host") rule.host = isScalar(v) ? String(v.value) : str(v, "host");
    else if (k === "port") {
      if (!isScalar(v) || !Number.isInteger(v.value) || (v.value as number) < 1 || (v.value as number) > 65535)
        throw new At(v, "port must be a whole number from 1 to 65535");
      rule.port = v.value as number;
    } else if (k === "addresses") {
      rule.addresses = listOf(v, "addresses").map((n) => {
        const a = str(n, "an address");
        if (isIP(a) === 0) throw new At(n, `"${a}" is not an IP address`);
        return a;
      });
    } else {
      const p = str(v, "protocol");
      if (!(PROTOCOLS as readonly string[]).includes(p))
        throw new At(v, `protocol must be one of ${PROTOCOLS.join(", ")}`);
      rule.protocol = p as Protocol;
    }
  }
  if (rule.host === "") throw new At(node, "an endpoint has no host");
  if (rule.addresses && !isHostName(rule.host))
    throw new At(node, "addresses belong to an endpoint whose host is a name");
  if (rule.protocol !== "unix" && rule.port === null) throw new At(node, `a ${rule.protocol} endpoint needs a port`);
  return rule;
}
