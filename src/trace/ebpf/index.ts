/** The kernel eBPF tracer (bpftrace): follows the command's process tree from its first instruction. */
export { type Availability, checkAvailable } from "./available.js";
export { createEbpfTracer, type EbpfTracerOptions } from "./tracer.js";
