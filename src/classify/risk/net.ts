/**
 * Network rules, decided as events arrive:
 * - connect: a connection (or an attempt) to an endpoint, by `remote`, `ports`, `except_ports`;
 * - listen: a socket put to listen, tested on its own address the same way;
 * - after: a chain: the first finding of `after_family` (a secret read), then a connection
 *   to a destination nobody in the session had contacted before it. One finding per new
 *   destination, holding the secret's evidence and the connection.
 *
 * State: for `after` rules, the destinations contacted before the trigger (at most
 * MAX_DESTINATIONS) and the trigger's evidence.
 */
import { type EnhancedEvent, namedEndpoint } from "../../core/events.js";
import { remoteMatches } from "../activity.js";
import { connectionOf, endpointText } from "../facts.js";
import type { Family } from "../rules.js";
import { BoundedSet } from "./bounded.js";
import { type CompiledRule, programsPass } from "./compile.js";
import type { FindingSink } from "./findings.js";
import type { Procs } from "./procs.js";

export const MAX_DESTINATIONS = 4096;

function portsPass(c: CompiledRule, port: number | null): boolean {
  const r = c.rule;
  if (r.ports && (port === null || !r.ports.includes(port))) return false;
  if (r.except_ports && port !== null && r.except_ports.includes(port)) return false;
  return true;
}

export function createNetDetector(rules: readonly CompiledRule[], procs: Procs, sink: FindingSink) {
  const connects = rules.filter((c) => c.rule.detector === "connect");
  const listens = rules.filter((c) => c.rule.detector === "listen");
  const afters = rules.filter((c) => c.rule.detector === "after");
  const before = new BoundedSet<string>(MAX_DESTINATIONS);
  const triggers = new Map<Family, { seqs: number[]; what: string }>();
  sink.onFinding((family, seqs, what) => {
    if (!triggers.has(family) && afters.some((c) => c.rule.after_family === family))
      triggers.set(family, { seqs: seqs.slice(0, 8), what });
  });

  const listenOf = (e: EnhancedEvent) => {
    if (e.operation !== "LISTEN" || e.errno !== null || !e.net || !/INET/i.test(e.net.family)) return null;
    const host = e.net.local_addr;
    return host ? { host, port: e.net.local_port } : null;
  };

  return {
    event(e: EnhancedEvent) {
      const conn = connectionOf(e);
      const pid = e.pid;
      if (conn) {
        const endpoint = endpointText(conn.host, conn.port);
        const program = procs.name(pid);
        const named = conn.name === null ? endpoint : namedEndpoint(conn.name, conn.port, conn.host);
        const shown = conn.failed ? `${named} (failed: ${conn.failed})` : named;
        for (const c of connects) {
          if (!programsPass(c, procs.names(pid)) || !portsPass(c, conn.port)) continue;
          if (c.rule.remote && !remoteMatches(endpoint, c.rule.remote)) continue;
          sink.add({
            c,
            key: `${pid}|${endpoint}`,
            pid,
            vars: { program, pid: String(pid), endpoint: shown },
            seqs: [e.seq],
            attempt: conn.failed ?? undefined,
          });
        }
        for (const c of afters) {
          const t = triggers.get(c.rule.after_family as Family);
          if (!t) continue;
          if (before.has(endpoint) || !programsPass(c, procs.names(pid)) || !portsPass(c, conn.port)) continue;
          if (c.rule.remote && !remoteMatches(endpoint, c.rule.remote)) continue;
          sink.add({
            c,
            key: endpoint,
            pid,
            vars: { program, pid: String(pid), endpoint: shown, first: t.what },
            seqs: [...t.seqs, e.seq],
            attempt: conn.failed ?? undefined,
          });
        }
        if (triggers.size === 0) before.add(endpoint);
      }
      const l = listenOf(e);
      if (l) {
        const endpoint = endpointText(l.host, l.port);
        const program = procs.name(pid);
        // Listening on 0.0.0.0 or :: is listening on every interface: reachable from others.
        const local = /^(127\.|::1$|::ffff:127\.)/.test(l.host);
        for (const c of listens) {
          if (!programsPass(c, procs.names(pid)) || !portsPass(c, l.port)) continue;
          const want = c.rule.remote ?? "any";
          if (want !== "any" && local !== (want === "loopback")) continue;
          sink.add({ c, key: `${pid}|${endpoint}`, pid, vars: { program, pid: String(pid), endpoint }, seqs: [e.seq] });
        }
      }
    },
    memory: () => ({ destinations: before.size }),
  };
}
