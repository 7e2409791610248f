/** How much a tracer records (DESIGN.md "Tracing levels"). */
export type TraceLevel = "process" | "files" | "full";
export const TRACE_LEVELS: readonly TraceLevel[] = ["process", "files", "full"];
