/** `capsule export --otlp URL` and `capsule run --otlp URL`: one line saying what was sent. */
export async function exportOtlp(dir: string, url: string): Promise<void> {
  const { exportSession } = await import("../otlp/export.js");
  const r = await exportSession(dir, url);
  process.stderr.write(
    `capsule: exported to ${url}: trace ${r.traceId}, ${r.spans} process spans, ${r.spanEvents} action events, ${r.logs} finding logs\n`,
  );
}

/** After a run the session is kept whatever happens to the export: a failure is one line, the exit status stays the program's. */
export async function exportAfterRun(dir: string, url: string): Promise<void> {
  try {
    await exportOtlp(dir, url);
  } catch (e) {
    const { isCapsuleError } = await import("../core/errors.js");
    if (!isCapsuleError(e)) throw e;
    process.stderr.write(`capsule: ${e.message} (the session is kept: capsule export --otlp ${url} ${dir})\n`);
  }
}
