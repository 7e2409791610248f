/**
 * A loopback OTLP/HTTP receiver for the tests: it decodes what arrives (JSON, the encoding
 * the exporter sends) and keeps spans and log records keyed the way a trace store keys
 * them (trace id + span id; a log record by its content), and every request's body, so a
 * test can tell what a second export added.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface KeyValue {
  key: string;
  value: AnyValue;
}
export interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  arrayValue?: { values: AnyValue[] };
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: KeyValue[];
  events?: Array<{ name: string; attributes: KeyValue[] }>;
  droppedEventsCount?: number;
}
export interface OtlpLog {
  traceId?: string;
  spanId?: string;
  severityNumber: number;
  severityText: string;
  body: AnyValue;
  attributes: KeyValue[];
}

export interface Receiver {
  url: string;
  spans: Map<string, OtlpSpan>;
  logs: Map<string, OtlpLog>;
  bodies: string[];
  /** Called with each span as it arrives (a test can act while the traced command still runs). */
  onSpan: ((s: OtlpSpan) => void) | null;
  /** Called after each request's data is stored. */
  onData: (() => void) | null;
  /** Never answer (a receiver that hangs): requests stay open until the client gives up. */
  hang: boolean;
  close(): Promise<void>;
}

/** An attribute's plain value: string, number, boolean or an array of them. */
export function attr(kvs: KeyValue[], key: string): unknown {
  const v = kvs.find((a) => a.key === key)?.value;
  const plain = (x: AnyValue | undefined): unknown =>
    x === undefined
      ? undefined
      : x.arrayValue
        ? x.arrayValue.values.map(plain)
        : x.intValue !== undefined
          ? Number(x.intValue)
          : (x.stringValue ?? x.boolValue);
  return plain(v);
}

export async function startReceiver(): Promise<Receiver> {
  const r: Receiver = {
    url: "",
    spans: new Map(),
    logs: new Map(),
    bodies: [],
    onSpan: null,
    onData: null,
    hang: false,
    close: async () => {},
  };
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    if (req.headers["content-type"] !== "application/json") return void res.writeHead(415).end();
    if (r.hang) return;
    r.bodies.push(body);
    const v = JSON.parse(body);
    if (req.url === "/v1/traces")
      for (const rs of v.resourceSpans ?? [])
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? []) {
            r.spans.set(`${s.traceId}/${s.spanId}`, s);
            r.onSpan?.(s);
          }
    else if (req.url === "/v1/logs")
      for (const rl of v.resourceLogs ?? [])
        for (const sl of rl.scopeLogs ?? []) for (const l of sl.logRecords ?? []) r.logs.set(JSON.stringify(l), l);
    else return void res.writeHead(404).end();
    r.onData?.();
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  r.close = () =>
    new Promise<void>((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    });
  return r;
}
