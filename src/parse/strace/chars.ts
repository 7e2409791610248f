/**
 * Character codes and classes for the strace scanner. The scanner compares
 * `charCodeAt` results against these numbers instead of allocating one-char strings.
 */

export const TAB = 9;
export const LF = 10;
export const CR = 13;
export const SPACE = 32;
export const BANG = 33;
export const QUOTE = 34;
export const AMP = 38;
export const LPAREN = 40;
export const RPAREN = 41;
export const STAR = 42;
export const PLUS = 43;
export const COMMA = 44;
export const MINUS = 45;
export const DOT = 46;
export const SLASH = 47;
export const D0 = 48;
export const D7 = 55;
export const D9 = 57;
export const COLON = 58;
export const LT = 60;
export const EQ = 61;
export const GT = 62;
export const QUESTION = 63;
export const AT = 64;
export const UA = 65;
export const UF = 70;
export const UZ = 90;
export const LBRACK = 91;
export const BACKSLASH = 92;
export const RBRACK = 93;
export const UNDERSCORE = 95;
export const LA = 97;
export const LF_ = 102;
export const LX = 120;
export const LZ = 122;
export const LBRACE = 123;
export const PIPE = 124;
export const RBRACE = 125;
export const TILDE = 126;

export function isDigit(c: number): boolean {
  return c >= D0 && c <= D9;
}

export function isHexDigit(c: number): boolean {
  return (c >= D0 && c <= D9) || (c >= LA && c <= LF_) || (c >= UA && c <= UF);
}

/** Value of a hex digit (caller checked `isHexDigit`). */
export function hexValue(c: number): number {
  if (c <= D9) return c - D0;
  if (c >= LA) return c - LA + 10;
  return c - UA + 10;
}

/** First character of a C identifier. */
export function isIdentStart(c: number): boolean {
  return (c >= LA && c <= LZ) || (c >= UA && c <= UZ) || c === UNDERSCORE;
}

/** Later characters of a C identifier. */
export function isIdentPart(c: number): boolean {
  return (c >= LA && c <= LZ) || (c >= UA && c <= UZ) || c === UNDERSCORE || (c >= D0 && c <= D9);
}

/** An errno name: E2BIG, ENOENT, ERESTARTSYS, ERESTART_RESTARTBLOCK. */
export function isUpperIdentPart(c: number): boolean {
  return (c >= UA && c <= UZ) || c === UNDERSCORE || (c >= D0 && c <= D9);
}
