/**
 * What both exports share of the wire: the receiver's base URL, the OpenTelemetry JS
 * exporters (OTLP/HTTP, JSON) for spans and logs, and a failed request as one line.
 */
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { CapsuleError } from "../core/errors.js";

/** Spans (or log records) per request. */
export const BATCH = 256;

/** What an exporter's callback receives (ExportResult of @opentelemetry/core; code 0 is success). */
interface ExportResult {
  code: number;
  error?: Error;
}

export interface Exporter<T> {
  export(items: T[], cb: (r: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

/** The base URL the signal paths hang under (`http://host:4318` → `.../v1/traces`). */
export function otlpBase(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CapsuleError("USAGE", `--otlp ${url}: not a URL (e.g. http://127.0.0.1:4318)`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new CapsuleError("USAGE", `--otlp ${url}: use an http:// or https:// URL (OTLP/HTTP)`);
  return url.replace(/\/+$/, "").replace(/\/v1\/(traces|logs)$/, "");
}

export interface Signals {
  traces: { url: string; exporter: Exporter<ReadableSpan> };
  logs: { url: string; exporter: Exporter<ReadableLogRecord> };
}

/**
 * One exporter per signal for the receiver at `url`. A request is retried (what OTLP calls
 * retryable, a refused connection included) until its timeout: OTEL_EXPORTER_OTLP_TIMEOUT
 * when set, else `timeoutMs`, else the exporters' 10 s.
 */
export function openSignals(url: string, timeoutMs?: number): Signals {
  const base = otlpBase(url);
  const traces = `${base}/v1/traces`;
  const logs = `${base}/v1/logs`;
  const timeout =
    process.env.OTEL_EXPORTER_OTLP_TIMEOUT === undefined && timeoutMs !== undefined ? { timeoutMillis: timeoutMs } : {};
  return {
    traces: { url: traces, exporter: new OTLPTraceExporter({ url: traces, ...timeout }) },
    logs: { url: logs, exporter: new OTLPLogExporter({ url: logs, ...timeout }) },
  };
}

/** Sends one batch; null when the receiver took it, else why not (one line). */
export function sendBatch<T>(exporter: Exporter<T>, items: T[]): Promise<string | null> {
  const why = (err: unknown): string => {
    const e = err as { code?: number | string; cause?: { code?: string }; message?: string } | undefined;
    const detail = [e?.code, e?.cause?.code, e?.message].filter((x) => x !== undefined && x !== "").join(" ");
    return (detail || "no answer").replace(/\s+/g, " ");
  };
  return new Promise((resolve) => {
    try {
      exporter.export(items, (r) => resolve(r.code === 0 ? null : why(r.error)));
    } catch (e) {
      resolve(why(e)); // an exporter that throws instead of reporting: a failure all the same
    }
  });
}
