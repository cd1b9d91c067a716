// What the column table tests (test/kd/*-columns.test.ts) share: placing an output inside a larger
// log, the object parser's answer as a reference, the "equal or FALLBACK" check of one scan against
// it, and the damage and hostile inserts they feed the tables — one version of each, so that every
// table is held to its parser the same way.
import fc from 'fast-check';
import { expect } from 'vitest';
import { type ColumnTable, FALLBACK } from '../../src/kd/columns.js';
import { KdParseError, type ParseResultBase } from '../../src/kd/common.js';

// A table reads its output in place inside a log, so the tests hand it one with text on both sides.
/** An output placed in a larger log: the log's text and the output's span `[from, to)` in it. */
export interface Embedded {
  text: string;
  from: number;
  to: number;
}

// Each table's tests embed every output between the same two texts, chosen for that kind.
/** A function that places an output between `before` and `after`, so that reading it in place must respect both ends. */
export function embedder(before: string, after: string): (output: string) => Embedded {
  return (output) => ({ text: before + output + after, from: before.length, to: before.length + output.length });
}

// The object parser is the table's specification: its JSON (key order included) is what a kept row must equal.
/**
 * The object parser's answer for an output as JSON, or undefined where it refuses the output (throws).
 * With `coded`, only a KdParseError counts as a refusal and any other error propagates, as a bug.
 */
export function referenceOf<A extends unknown[]>(parse: (output: string, ...rest: A) => unknown, options: { coded?: boolean } = {}): (output: string, ...rest: A) => string | undefined {
  return (output, ...rest) => {
    try {
      return JSON.stringify(parse(output, ...rest));
    } catch (error) {
      if (options.coded && !(error instanceof KdParseError)) throw error;
      return undefined;
    }
  };
}

// The contract of columns.ts that holds whatever the output: a fallback keeps nothing, a row's shortcuts match its result.
/**
 * Scan `log`'s span into `table` as the output of `command`: a FALLBACK must keep nothing, a kept
 * row must be the next row and its complete/unparsed shortcuts must agree with its result.
 * Returns the result's JSON, or FALLBACK.
 */
export function scanChecked<R extends ParseResultBase>(table: ColumnTable<R>, log: Embedded, command: string): string | typeof FALLBACK {
  const size = table.size;
  const row = table.scan(log.text, log.from, log.to, command);
  if (row === FALLBACK) {
    expect(table.size).toBe(size);
    return FALLBACK;
  }
  expect(row).toBe(size);
  const result = table.result(log.text, row);
  expect(table.complete(row)).toBe(result.complete);
  expect(table.unparsed(log.text, row)).toEqual(result.unparsed);
  return JSON.stringify(result);
}

// The property every table test checks: never a different answer from the parser, only a fallback.
/**
 * Hold one scan (as scanChecked) to the parser's answer `expected` (referenceOf's JSON): equal, or
 * FALLBACK — only FALLBACK where the parser throws (`expected` undefined). Returns whether the row was kept.
 */
export function equalOrFallback<R extends ParseResultBase>(table: ColumnTable<R>, log: Embedded, command: string, expected: string | undefined): boolean {
  const got = scanChecked(table, log, command);
  const label = JSON.stringify(log.text.slice(log.from, log.to).slice(0, 300));
  if (expected === undefined) expect(got, `the parser throws but the table kept a row for ${label}`).toBe(FALLBACK);
  else if (got !== FALLBACK) expect(got, label).toBe(expected);
  return got !== FALLBACK;
}

// One vocabulary of damage for all tables; each kind keeps the exact meaning a test drew it with, so seeded cases stay the same.
/**
 * The damage a test can do to an output. Line damage works on line `at` modulo the line count;
 * character damage at position `at` modulo the text's length + 1; `value`, `text` and `other` are
 * read only by the kinds that say so.
 */
export type DamageOp =
  /** The line removed. */
  | 'drop'
  /** The line repeated. */
  | 'duplicate'
  /** An empty line inserted before the line. */
  | 'blank'
  /** A line of `value` % 3 spaces inserted before the line. */
  | 'spaceLine'
  /** `text` inserted as a line before the line. */
  | 'line'
  /** The line's leading blanks removed. */
  | 'strip'
  /** Every space of the line doubled. */
  | 'widen'
  /** Every run of two or more spaces in the line replaced by one tab. */
  | 'tabs'
  /** A carriage return appended to the line. */
  | 'crlf'
  /** The line exchanged with line `other`. */
  | 'swap'
  /** The text cut at the position. */
  | 'truncate'
  /** The text cut at `value` modulo its length + 1. */
  | 'truncateAtValue'
  /** Bit 0x20 of the character toggled (a letter's case; a digit or blank becomes a control character). */
  | 'flip'
  /** The character replaced by the printable ASCII character 32 + `value` % 95. */
  | 'printable'
  /** The next decimal digit d at or after the position becomes (d + 7) % 10. */
  | 'bumpDigit'
  /** The next lower-case hex digit d at or after the position becomes 15 - d. */
  | 'mirrorHex'
  /** The next hex digit (either case) at or after the position becomes the decimal digit `value` % 10. */
  | 'digit'
  /** The next decimal digit at or after the position becomes the decimal digit `value` % 10. */
  | 'decimalDigit'
  /** The next lower-case hex digit at or after the position becomes the lower-case hex digit `value` % 16. */
  | 'lowerHexDigit'
  /** The next hex digit (either case) at or after the position becomes one of 0-9, a-f, A-F chosen by `value`. */
  | 'hex'
  /** Three spaces inserted at the position. */
  | 'spaces'
  /** The next space at or after the position becomes `value` % 4 spaces. */
  | 'respace'
  /** `text` inserted at the position. */
  | 'insert'
  /** `text` written over as many characters from the position on. */
  | 'overwrite';

// What damages() draws and damaged() applies.
/** One damage done to an output. */
export interface Damage {
  op: DamageOp;
  at: number;
  value?: number;
  text?: string;
  other?: number;
}

// Tests weight line and character damage differently and draw different fields; a family says which.
/** A family of damage a test draws: its kinds, how often, and which of the optional fields it generates. */
export interface DamageFamily {
  ops: readonly [DamageOp, ...DamageOp[]];
  /** Relative frequency among the families (1 unless given). */
  weight?: number;
  /** Generate `value` (kinds that do not read it ignore it). */
  value?: boolean;
  /** Generate `text` from this. */
  text?: fc.Arbitrary<string>;
  /** Generate `other`. */
  other?: boolean;
}

// Fields are drawn in a fixed order (op, at, value, text, other) so a test's seed gives the cases it gave with its own arbitrary.
/**
 * An arbitrary of damage drawn from the families: one of them (by weight), then a record of `op`,
 * `at` and the family's fields in the order value, text, other.
 */
export function damages(...families: readonly DamageFamily[]): fc.Arbitrary<Damage> {
  return fc.oneof(
    ...families.map((family) => ({
      weight: family.weight ?? 1,
      arbitrary: fc.record({
        op: fc.constantFrom(...family.ops),
        at: fc.nat(),
        ...(family.value ? { value: fc.nat() } : {}),
        ...(family.text ? { text: family.text } : {}),
        ...(family.other ? { other: fc.nat() } : {}),
      }) as fc.Arbitrary<Damage>,
    })),
  );
}

// The index of the first match of a one-character class at or after `from`, or -1.
function nextMatch(text: string, pattern: RegExp, from: number): number {
  const global = new RegExp(pattern.source, 'g');
  global.lastIndex = from;
  return global.exec(text)?.index ?? -1;
}

// `text` with the character at `index` replaced by `replacement`.
function replaceAt(text: string, index: number, replacement: string): string {
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

// Damaged copies of real outputs are the nearest thing to the logs the tables meet in use.
/** `text` with the damage applied in order (see DamageOp for what each kind does). */
export function damaged(text: string, changes: readonly Damage[]): string {
  let result = text;
  for (const change of changes) {
    const value = change.value ?? 0;
    const piece = change.text ?? '';
    const lines = result.split('\n');
    const line = change.at % lines.length;
    const at = change.at % (result.length + 1);
    switch (change.op) {
      case 'drop':
        lines.splice(line, 1);
        break;
      case 'duplicate':
        lines.splice(line, 0, lines[line]!);
        break;
      case 'blank':
        lines.splice(line, 0, '');
        break;
      case 'spaceLine':
        lines.splice(line, 0, ' '.repeat(value % 3));
        break;
      case 'line':
        lines.splice(line, 0, piece);
        break;
      case 'strip':
        lines[line] = lines[line]!.trimStart();
        break;
      case 'widen':
        lines[line] = lines[line]!.replace(/ /g, '  ');
        break;
      case 'tabs':
        lines[line] = lines[line]!.replace(/ {2,}/g, '\t');
        break;
      case 'crlf':
        lines[line] = `${lines[line]}\r`;
        break;
      case 'swap': {
        const other = (change.other ?? 0) % lines.length;
        [lines[line], lines[other]] = [lines[other]!, lines[line]!];
        break;
      }
      case 'truncate':
        result = result.slice(0, at);
        continue;
      case 'truncateAtValue':
        result = result.slice(0, value % (result.length + 1));
        continue;
      case 'flip':
        result = replaceAt(result, at, String.fromCharCode((result.charCodeAt(at) || 32) ^ 0x20));
        continue;
      case 'printable':
        result = replaceAt(result, at, String.fromCharCode(32 + (value % 95)));
        continue;
      case 'bumpDigit': {
        const index = nextMatch(result, /[0-9]/, at);
        if (index >= 0) result = replaceAt(result, index, String((Number(result[index]) + 7) % 10));
        continue;
      }
      case 'mirrorHex': {
        const index = nextMatch(result, /[0-9a-f]/, at);
        if (index >= 0) result = replaceAt(result, index, 'fedcba9876543210'[Number.parseInt(result[index]!, 16)]!);
        continue;
      }
      case 'digit':
      case 'hex': {
        const index = nextMatch(result, /[0-9a-fA-F]/, at);
        const alphabet = change.op === 'digit' ? '0123456789' : '0123456789abcdefABCDEF';
        if (index >= 0) result = replaceAt(result, index, alphabet[value % alphabet.length]!);
        continue;
      }
      case 'decimalDigit': {
        const index = nextMatch(result, /[0-9]/, at);
        if (index >= 0) result = replaceAt(result, index, String(value % 10));
        continue;
      }
      case 'lowerHexDigit': {
        const index = nextMatch(result, /[0-9a-f]/, at);
        if (index >= 0) result = replaceAt(result, index, (value % 16).toString(16));
        continue;
      }
      case 'spaces':
        result = `${result.slice(0, at)}   ${result.slice(at)}`;
        continue;
      case 'respace': {
        const space = result.indexOf(' ', at);
        if (space >= 0) result = result.slice(0, space) + ' '.repeat(value % 4) + result.slice(space + 1);
        continue;
      }
      case 'insert':
        result = result.slice(0, at) + piece + result.slice(at);
        continue;
      case 'overwrite':
        result = result.slice(0, at) + piece + result.slice(at + piece.length);
        continue;
    }
    result = lines.join('\n');
  }
  return result;
}

// Latin-1 maps every byte to one character, so any byte sequence becomes text a log could hold.
/** Random bytes up to `maxLength` of them, read as Latin-1 text (every byte one character). */
export function latin1Bytes(maxLength: number): fc.Arbitrary<string> {
  return fc.uint8Array({ maxLength }).map((bytes) => Buffer.from(bytes).toString('latin1'));
}

// The tables must survive what the reliability tests throw at the object parsers.
/** The reliability tests' hostile pieces: random bytes, graphemes, control characters and kd fragments. */
export const hostilePiece: fc.Arbitrary<string> = fc.oneof(
  latin1Bytes(24),
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  fc.constantFrom('`', '0x', 'ffffffff`ffffffff', '9'.repeat(40), ' kd> ', '0: kd> ', '\r\n', '\t', '...', '!', '+0x', ' : ', 'TOTAL', '\u0000', '\uFFFD', '-'.repeat(30)),
);

// What hostileInserts draws and inserted() applies.
/** One hostile piece to insert, and where (modulo the text's length + 1). */
export interface Insert {
  at: number;
  text: string;
}

// A few pieces per output keep most of the output intact around them.
/** One to four hostile pieces with their positions. */
export const hostileInserts: fc.Arbitrary<Insert[]> = fc.array(fc.record({ at: fc.nat(), text: hostilePiece }), { minLength: 1, maxLength: 4 });

// Inserted one after another, so a later piece may land inside an earlier one.
/** `text` with the pieces inserted in order, each position taken modulo the text's length + 1 at that point. */
export function inserted(text: string, inserts: readonly Insert[]): string {
  let result = text;
  for (const { at, text: piece } of inserts) result = result.slice(0, at % (result.length + 1)) + piece + result.slice(at % (result.length + 1));
  return result;
}
