/**
 * Sends a session to an OTLP/HTTP receiver with the OpenTelemetry JS exporters (JSON
 * encoding): spans to URL/v1/traces, finding logs to URL/v1/logs, in batches. The
 * exporters retry what OTLP calls retryable within their timeout (OTEL_EXPORTER_OTLP_TIMEOUT,
 * default 10 s; OTEL_EXPORTER_OTLP_HEADERS adds headers). A failure is one CapsuleError;
 * the session itself is only read.
 */

import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { loadRules } from "../classify/rules.js";
import { CapsuleError } from "../core/errors.js";
import { buildReportModel } from "../report/model.js";
import { sessionTelemetry } from "./build.js";

/** What an exporter's callback receives (ExportResult of @opentelemetry/core; code 0 is success). */
interface ExportResult {
  code: number;
  error?: Error;
}

/** Spans (or log records) per request. */
const BATCH = 256;

export interface ExportSummary {
  traceId: string;
  spans: number;
  spanEvents: number;
  logs: number;
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

function send<T>(
  exporter: { export(items: T[], cb: (r: ExportResult) => void): void },
  items: T[],
): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(items, resolve));
}

async function sendAll<T>(
  what: string,
  url: string,
  exporter: { export(items: T[], cb: (r: ExportResult) => void): void; shutdown(): Promise<void> },
  items: T[],
): Promise<void> {
  try {
    for (let i = 0; i < items.length; i += BATCH) {
      const r = await send(exporter, items.slice(i, i + BATCH));
      if (r.code !== 0) {
        const e = r.error as (Error & { code?: number | string; data?: string }) | undefined;
        const cause = (e as { cause?: { code?: string } } | undefined)?.cause?.code;
        const detail = [e?.code, cause, e?.message].filter((x) => x !== undefined && x !== "").join(" ");
        throw new CapsuleError(
          "REMOTE",
          `OTLP export of ${what} to ${url} failed: ${(detail || "no answer").replace(/\s+/g, " ")}`,
        );
      }
    }
  } finally {
    await exporter.shutdown().catch(() => {});
  }
}

/** Exports the session in `dir` to the OTLP/HTTP receiver at `url`. */
export async function exportSession(dir: string, url: string): Promise<ExportSummary> {
  const base = otlpBase(url);
  // The labelled tree (an older or interrupted session may have none recorded).
  const m = await buildReportModel(dir, {
    rules: loadRules([]),
    reevaluate: false,
    scanEnriched: false,
    home: null,
    capsuleHome: null,
  });
  const t = await sessionTelemetry(m.session, m.tree, m.risks);
  const traces = `${base}/v1/traces`;
  const logs = `${base}/v1/logs`;
  await sendAll("the process tree", traces, new OTLPTraceExporter({ url: traces }), t.spans);
  await sendAll("the findings", logs, new OTLPLogExporter({ url: logs }), t.logs);
  return {
    traceId: t.traceId,
    spans: t.spans.length,
    spanEvents: t.spans.reduce((n, s) => n + s.events.length, 0),
    logs: t.logs.length,
  };
}
