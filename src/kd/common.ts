/**
 * Shapes and helpers shared by every kd output parser (one module per kind of output).
 * Parsers are pure functions: text in, JSON-ready data out.
 */

/** Fields every parse result carries. */
export interface ParseResultBase {
  /** False where the output was cut, elided (`...`) or interrupted. */
  complete: boolean;
  /** Lines the parser did not understand, in order; never silently dropped. */
  unparsed: string[];
}

/** Thrown only when the input is not this kind of output at all; callers may rely on the type. */
export class KdParseError extends Error {
  readonly code = 'KD_PARSE_ERROR';
  constructor(
    readonly kind: string,
    message: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'KdParseError';
  }
}

/** `fffff800`02c438e8`, `0xFFFFF80002C438E8`, `820f2ba4` → `fffff80002c438e8` (lowercase, no backtick, no 0x). */
export function normalizeAddress(text: string): string {
  // Stacks print millions of addresses already in kd's form; only the rest goes through the regexes.
  const length = text.length;
  if (length === 8 && isLowerHexRun(text, 0, 8)) return text;
  if (length === 17 && text.charCodeAt(8) === 96 && isLowerHexRun(text, 0, 8) && isLowerHexRun(text, 9, 17)) return text.slice(0, 8) + text.slice(9);
  return text.trim().replace(/^0x/i, '').replace(/`/g, '').toLowerCase();
}

/** True when every character of `text` from `start` to `end` is a lowercase hex digit. */
export function isLowerHexRun(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) {
    const code = text.charCodeAt(index);
    if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 102))) return false;
  }
  return true;
}

/**
 * The one rule for what a pool tag may be, wherever one is given (playbook inputs and `with:`,
 * scenarios, kd output): 1 to 4 printable ASCII characters, space to `~`, not all spaces. Windows
 * takes any of them, `;` and quotes too (a disk quota driver's `Q;"1` is legal), so leakhunt
 * never sends a tag to kd as command text: PoolHitTag and retagged code get its bytes (`eb`),
 * `!poolfind` its value (`0x…`); safety invariant 6 holds by that, not by refusing tags.
 */
export const POOL_TAG_RULE = '1 to 4 printable ASCII characters (space to ~), not all spaces';

/** POOL_TAG_RULE as a JSON Schema pattern. */
export const POOL_TAG_PATTERN = '^(?=.*[^ ])[ -~]{1,4}$';

/** Why `value` is not a pool tag under POOL_TAG_RULE, in words with the value found; undefined for a tag. */
export function poolTagProblem(value: unknown): string | undefined {
  if (typeof value === 'string' && new RegExp(POOL_TAG_PATTERN).test(value)) return undefined;
  return `a pool tag is ${POOL_TAG_RULE}; got ${JSON.stringify(value)}`;
}

/** A tag as kd shows it, padded with spaces to 4 characters (`Abc` → `Abc `). */
export function padTag(tag: string): string {
  return tag.length >= 4 ? tag.slice(0, 4) : tag.padEnd(4, ' ');
}

/** Split kd text into lines, accepting `\r\n` and `\n`. */
export function splitLines(text: string): string[] {
  // A plain split is several times faster than the regex one, and kd logs rarely carry CRs.
  const lines = text.indexOf('\r') < 0 ? text.split('\n') : text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Format an address the way kd prints it for the pointer size (x64: backtick between halves). */
export function formatAddress(value: bigint, pointerSize: 4 | 8): string {
  if (pointerSize === 4) return (value & 0xffffffffn).toString(16).padStart(8, '0');
  const hex = (value & 0xffffffffffffffffn).toString(16).padStart(16, '0');
  return `${hex.slice(0, 8)}\`${hex.slice(8)}`;
}

/**
 * Register values from `r eax` / `r rax, rcx` / a register dump line (`eax=0088c2d8 ebx=…`):
 * name → lowercase hex without backtick. Words that are not `name=hex` are ignored.
 */
export function parseRegisterValues(text: string): Record<string, string> {
  const registers: Record<string, string> = {};
  for (const line of splitLines(text)) {
    for (const word of line.trim().split(/\s+/)) {
      const match = /^(\$?[a-z][a-z0-9]{0,7})=([0-9a-fA-F`]+)$/.exec(word);
      if (match) registers[match[1]!] = match[2]!.replace(/`/g, '').toLowerCase();
    }
  }
  return registers;
}

/** True for the characters String.prototype.trim removes (ECMAScript WhiteSpace and LineTerminator). */
export function isTrimSpace(code: number): boolean {
  if (code <= 32) return code === 32 || (code >= 9 && code <= 13);
  if (code < 0xa0) return false;
  return code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff;
}

/**
 * Interns the short names parsers cut out of kd text (modules, functions, tags): the same name
 * read again is returned as the string made the first time, compared in place, so a log that
 * repeats its stacks does not allocate and keep one copy of `nt` per frame. Direct-mapped, so
 * its memory is bounded; a collision only costs a fresh string.
 */
export class StringPool {
  private readonly slots: (string | undefined)[];
  private readonly mask: number;

  constructor(bits = 12) {
    this.slots = new Array<string | undefined>(1 << bits).fill(undefined);
    this.mask = (1 << bits) - 1;
  }

  /** The text [start, end) of `source`, as a string already handed out when there is one. */
  take(source: string, start: number, end: number): string {
    let hash = end - start;
    for (let index = start; index < end; index++) hash = (Math.imul(hash, 31) + source.charCodeAt(index)) | 0;
    const slot = (hash ^ (hash >>> 15)) & this.mask;
    const known = this.slots[slot];
    if (known !== undefined && known.length === end - start && source.startsWith(known, start)) return known;
    const made = source.slice(start, end);
    this.slots[slot] = made;
    return made;
  }
}

/**
 * Walks the lines of `text[from, to)` in place, as splitLines cuts them (`\r\n` or `\n`, a final
 * empty line dropped): after each `next()`, the line's bounds and its trimmed bounds.
 */
export class LineCursor {
  lineStart = 0;
  lineEnd = 0;
  start = 0;
  end = 0;
  private position: number;

  constructor(
    private readonly text: string,
    from: number,
    private readonly to: number,
  ) {
    this.position = from;
  }

  /** Move to the next line; false after the last. */
  next(): boolean {
    const { text, to, position } = this;
    if (position > to) return false;
    let newline = text.indexOf('\n', position);
    if (newline >= to) newline = -1;
    if (newline < 0 && position === to) return false;
    let lineEnd = newline < 0 ? to : newline;
    if (newline >= 0 && lineEnd > position && text.charCodeAt(lineEnd - 1) === 13) lineEnd -= 1;
    this.position = newline < 0 ? to + 1 : newline + 1;
    let start = position;
    let end = lineEnd;
    while (start < end && isTrimSpace(text.charCodeAt(start))) start++;
    while (end > start && isTrimSpace(text.charCodeAt(end - 1))) end--;
    this.lineStart = position;
    this.lineEnd = lineEnd;
    this.start = start;
    this.end = end;
    return true;
  }
}

/** The lines of kd text that are not blank, each with its trimmed form and whether it is the first of them. */
export function* contentLines(text: string): Generator<{ line: string; trimmed: string; first: boolean }> {
  let first = true;
  for (const line of splitLines(text)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    yield { line, trimmed, first };
    first = false;
  }
}
