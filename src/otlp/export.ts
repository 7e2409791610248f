/**
 * Sends a session to an OTLP/HTTP receiver with the OpenTelemetry JS exporters (JSON
 * encoding): spans to URL/v1/traces, finding logs to URL/v1/logs, in batches. The
 * exporters retry what OTLP calls retryable within their timeout (OTEL_EXPORTER_OTLP_TIMEOUT,
 * default 10 s; OTEL_EXPORTER_OTLP_HEADERS adds headers). A failure is one CapsuleError;
 * the session itself is only read.
 */

import { loadRules } from "../classify/rules.js";
import { CapsuleError } from "../core/errors.js";
import { buildReportModel } from "../report/model.js";
import { sessionTelemetry } from "./build.js";
import { BATCH, type Exporter, openSignals, sendBatch } from "./wire.js";

export interface ExportSummary {
  traceId: string;
  spans: number;
  spanEvents: number;
  logs: number;
}

async function sendAll<T>(what: string, url: string, exporter: Exporter<T>, items: T[]): Promise<void> {
  try {
    for (let i = 0; i < items.length; i += BATCH) {
      const failed = await sendBatch(exporter, items.slice(i, i + BATCH));
      if (failed !== null) throw new CapsuleError("REMOTE", `OTLP export of ${what} to ${url} failed: ${failed}`);
    }
  } finally {
    await exporter.shutdown().catch(() => {});
  }
}

/** Exports the session in `dir` to the OTLP/HTTP receiver at `url`. */
export async function exportSession(dir: string, url: string): Promise<ExportSummary> {
  const signals = openSignals(url);
  // The labelled tree (an older or interrupted session may have none recorded).
  const m = await buildReportModel(dir, {
    rules: loadRules([]),
    reevaluate: false,
    scanEnriched: false,
    home: null,
    capsuleHome: null,
  });
  const t = await sessionTelemetry(m.session, m.tree, m.risks);
  await sendAll("the process tree", signals.traces.url, signals.traces.exporter, t.spans);
  await sendAll("the findings", signals.logs.url, signals.logs.exporter, t.logs);
  return {
    traceId: t.traceId,
    spans: t.spans.length,
    spanEvents: t.spans.reduce((n, s) => n + s.events.length, 0),
    logs: t.logs.length,
  };
}
