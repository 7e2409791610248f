/** Parsers from tracer output to TraceEvents. strace today; each tracer's parser lives in its own folder. */
export * from "./strace/index.js";
