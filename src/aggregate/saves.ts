/**
 * Atomic saves: a program writes a temporary file, then renames it onto the real name, so
 * a reader never sees half a file (Python's `os.replace`, npm's write-file-atomic, git's
 * `index.lock`, editors). A person says "wrote name"; the aggregator makes the write of the
 * temporary and the rename one FileWrite of `name` with `via` the temporary.
 *
 * To catch the rename, the write of a temporary is held open a little after its last fd
 * closes (at most the aggregator's quiet window). Only names that look temporary are held,
 * so ordinary writes are not delayed: this test decides which.
 */

/**
 * Base names of temporaries: `name.tmp`, `name.tmp.123.ab12`, `.name.tmp`, `tmpk3j2_x`
 * (mkstemp), `name~`, `name.new`, `name.part`, `name.lock`, and a numeric or hex suffix
 * of four or more (`name.12345`, `name.3f9a2c1b`: a pid or a random tag).
 */
const TEMP_NAME = /(?:^|[._~-])te?mp(?:$|[._~\d-])|^te?mp|~$|\.(?:new|part|partial|lock|\d+|[0-9a-f]{4,})$/i;

/** Whether the file at `path` looks like the temporary of an atomic save. */
export function looksTemporary(path: string): boolean {
  return TEMP_NAME.test(path.slice(path.lastIndexOf("/") + 1));
}
