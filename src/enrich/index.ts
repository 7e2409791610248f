/** The enricher stage: parsed events in, self-contained EnhancedEvents out (seed 004). */
export { createEnricher, type EnricherOptions } from "./enricher.js";
export { type CallInfo, callInfo, knownCalls } from "./semantics.js";
