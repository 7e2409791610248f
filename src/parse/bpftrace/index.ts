/** The parser for the eBPF tracer's raw lines: the same events the strace parser makes. */
export { FORMAT_VERSION, STRLEN } from "./format.js";
export {
  type BpftraceParser,
  type BpftraceParserOptions,
  type BpftraceParserStats,
  createBpftraceParser,
} from "./parser.js";
