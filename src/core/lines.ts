import { closeSync, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { StringDecoder } from "node:string_decoder";

/**
 * Capsule's one chunk → lines splitter for text arriving in pieces (a tracer's pipe, the
 * bpftrace output file, strace -ff files, an HTTP event stream): each chunk's complete
 * lines, without their "\n"; the partial last line is kept and completed by the next
 * chunk; `end()` hands it over when the input ends without a newline. Bytes are decoded as
 * UTF-8, a character split across chunks included. (LineReader below reads a file's lines
 * as exact byte ranges instead, for hashing.)
 */
export class LineSplitter {
  private rest = "";
  private decoder: StringDecoder | null = null;

  /** The lines `chunk` completes (a fresh array, possibly empty). */
  push(chunk: string): string[] {
    // one native split per chunk: cheaper than a loop of indexOf and slice
    const parts = (this.rest.length === 0 ? chunk : this.rest + chunk).split("\n");
    this.rest = parts.pop() as string;
    return parts;
  }

  /** `push` for UTF-8 bytes. */
  write(bytes: Uint8Array): string[] {
    this.decoder ??= new StringDecoder("utf8");
    return this.push(this.decoder.write(bytes));
  }

  /** The input ended: the last line when it had no newline (else null); the splitter is empty after. */
  end(): string | null {
    const tail = this.decoder === null ? "" : this.decoder.end();
    const last = this.rest + tail;
    this.rest = "";
    return last.length > 0 ? last : null;
  }
}

/** One line of a file as bytes: buf[start, end) without its newline. */
export interface LineRef {
  buf: Buffer;
  start: number;
  end: number;
  /** Byte offset of the line in the file. */
  offset: number;
  /** False only for a last line the file ends inside of. */
  newline: boolean;
}

/**
 * Capsule's one reader of lines from a file (verify, report, export, tail): byte ranges
 * through a bounded buffer (a line longer than the buffer grows it), so a hash sees the
 * exact bytes and nothing is decoded twice. A LineRef is valid until the next call.
 * `next()` reads to the end, a last line without its newline included; `nextComplete()`
 * follows a growing file: it stops before a partial last line and reads on at its next call.
 */
export class LineReader {
  private buf: Buffer;
  private start = 0;
  private end = 0;
  private fileOffset = 0; // file offset of buf[0]
  private eof = false;
  private readonly fd: number;

  /** `from`: the file offset to start at. */
  constructor(path: string, size = 1 << 20, from = 0) {
    this.fd = openSync(path, "r");
    this.buf = Buffer.allocUnsafe(size);
    this.fileOffset = from;
  }

  /** The next complete line, or null at the end of what the file holds now (a partial line waits). */
  nextComplete(): LineRef | null {
    for (;;) {
      const line = this.takeLine();
      if (line !== null) return line;
      if (this.fill() === 0) {
        this.eof = false; // the file may grow: read again next time
        return null;
      }
    }
  }

  /** The complete line at the front of the buffer, if the buffer holds one. */
  private takeLine(): LineRef | null {
    const nl = this.buf.indexOf(10, this.start);
    if (nl === -1 || nl >= this.end) return null;
    const ref = { buf: this.buf, start: this.start, end: nl, offset: this.fileOffset + this.start, newline: true };
    this.start = nl + 1;
    return ref;
  }

  /** File offset after the last byte read (a partial line's bytes included). */
  get position(): number {
    return this.fileOffset + this.end;
  }

  /** fstat of the open file (which file this reader holds, however the path changes). */
  stat(): Stats {
    return fstatSync(this.fd);
  }

  /** The next line; at the end of the file a last line without its newline (`newline: false`). */
  next(): LineRef | null {
    for (;;) {
      const line = this.takeLine();
      if (line !== null) return line;
      if (this.eof) {
        if (this.start >= this.end) return null;
        const ref = {
          buf: this.buf,
          start: this.start,
          end: this.end,
          offset: this.fileOffset + this.start,
          newline: false,
        };
        this.start = this.end;
        return ref;
      }
      this.fill();
    }
  }

  /** Move the unread rest to the front (growing the buffer when it is full) and read more; the bytes read. */
  private fill(): number {
    const rest = this.end - this.start;
    if (rest === this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, this.start, this.end);
      this.buf = bigger;
    } else if (this.start > 0) this.buf.copy(this.buf, 0, this.start, this.end);
    this.fileOffset += this.start;
    this.start = 0;
    this.end = rest;
    const n = readSync(this.fd, this.buf, rest, this.buf.length - rest, this.fileOffset + rest);
    if (n === 0) this.eof = true;
    this.end += n;
    return n;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Reads single lines at known offsets of a file through a block cache (mostly sequential access). */
export class LineFetcher {
  private readonly fd: number;
  private block: Buffer = Buffer.alloc(0);
  private blockOffset = 0;

  constructor(path: string) {
    this.fd = openSync(path, "r");
  }

  /** The `length` bytes at `offset`, as UTF-8 text. */
  text(offset: number, length: number): string {
    if (offset < this.blockOffset || offset + length > this.blockOffset + this.block.length) {
      const size = Math.max(1 << 20, length);
      const b = Buffer.allocUnsafe(size);
      const n = readSync(this.fd, b, 0, size, offset);
      this.block = b.subarray(0, n);
      this.blockOffset = offset;
    }
    const at = offset - this.blockOffset;
    return this.block.toString("utf8", at, Math.min(at + length, this.block.length));
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * A saved trace's lines as the trace wrote them: a trace saved on another system may end its
 * lines in CRLF, and an editor's save may begin the file with a UTF-8 byte order mark, which
 * strace never writes. Cleans `batch` in place; `first` when it holds the file's first line.
 */
export function cleanSavedLines(batch: string[], first: boolean): void {
  for (let i = 0; i < batch.length; i++) {
    const l = batch[i] as string;
    if (l.charCodeAt(l.length - 1) === 13) batch[i] = l.slice(0, -1);
  }
  if (first && batch.length > 0 && (batch[0] as string).charCodeAt(0) === 0xfeff)
    batch[0] = (batch[0] as string).slice(1);
}
