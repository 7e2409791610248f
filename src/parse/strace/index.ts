/** The strace text parser: scanner, stage, redaction, -ff merge, sniffing, exact values. */
export { checkFfFolder, type FfReport, ffName, ffSetOf, readFfFolder } from "./ff.js";
export {
  createStraceParser,
  type StraceParser,
  type StraceParserOptions,
  type StraceParserStats,
} from "./parser.js";
export { redactDataArgs } from "./redact.js";
export { type StraceSniff, sniffStrace } from "./sniff.js";
export { argWord, numValue } from "./values.js";
