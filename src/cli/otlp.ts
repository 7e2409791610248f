/** `capsule export --otlp URL`: one line saying what was sent. */
export async function exportOtlp(dir: string, url: string): Promise<void> {
  const { exportSession } = await import("../otlp/export.js");
  const r = await exportSession(dir, url);
  process.stderr.write(
    `capsule: exported to ${url}: trace ${r.traceId}, ${r.spans} process spans, ${r.spanEvents} action events, ${r.logs} finding logs\n`,
  );
}
