/**
 * Memory dumps (`db`, `dw`, `dd`, `dc`, `dq`, `dp`) in scanned form (src/kd/columns.ts): each
 * displayed unit is kept as a number (two for a qword) instead of a string per cell, a BigInt per
 * line and an array per output. `scan` reads an output exactly as parseMemory does
 * (src/kd/memory.ts, the reference) — address column, cells split by one space or `-`, the unit
 * the command names, gaps between lines, the ASCII column checked against the bytes — storing
 * numbers and offsets; `result` only formats the numbers, slices at stored offsets and builds the
 * object. Unreadable memory (`??`, `Memory access error`), prompts inside the output, `\r` and
 * non-ASCII text are left to the reference (FALLBACK).
 */
import { FALLBACK, Int32Column, type ColumnTable } from './columns.js';
import { normalizeAddress } from './common.js';
import type { MemoryResult, MemoryUnit } from './memory.js';
import { mayStartPromptAt } from './prompt.js';
import { kindForCommand } from './transcript.js';

// Hex digit value by character code (every UTF-16 code unit, so no range test), -1 for anything else.
const HEX = new Int8Array(65536).fill(-1);
for (let digit = 0; digit < 16; digit++) {
  HEX[digit.toString(16).charCodeAt(0)] = digit;
  HEX[digit.toString(16).toUpperCase().charCodeAt(0)] = digit;
}

const SPACE = 32;
const BACKTICK = 96;
const QUESTION = 63;
const DASH = 45;
const CR = 13;
const NEWLINE = 10;
const CARET = 94;
const TWO_TO_32 = 4294967296;

// Result flag bits: complete, then the unit (1, 2, 4 or 8) from bit 1 on.
const RESULT_COMPLETE = 1;
const UNIT_SHIFT = 1;

// `Memory access error` starts the only error reply the reference acts on (it stops the dump).
const MEMORY_ACCESS = 'Memory access error';

// The unit each memory kind's parser is given (src/kd/index.ts); 0 for `memory` (`dp`): from the cells.
const UNIT_OF_KIND: Readonly<Record<string, number>> = { db: 1, dw: 2, dd: 4, dc: 4, dq: 8, memory: 0 };

// Cell width in hex digits → unit; 0 where the width is none of kd's.
function unitOfWidth(digits: number): number {
  return digits === 2 ? 1 : digits === 4 ? 2 : digits === 8 ? 4 : digits === 16 ? 8 : 0;
}

// The whitespace String.prototype.trim removes, among ASCII codes (`\n` never occurs inside a line).
function isAsciiSpace(code: number): boolean {
  return code === SPACE || (code >= 9 && code <= 13);
}

// A character readCells of the reference takes into a cell: a hex digit or `?`.
function isCellCode(code: number): boolean {
  return code === QUESTION || HEX[code]! >= 0;
}

// How kd shows a byte in the ASCII column: itself when printable, else `.`.
function asciiCode(byte: number): number {
  return byte >= 0x20 && byte <= 0x7e ? byte : 46;
}

/** Memory dumps held as columns; equal to parseMemory's results through `result(text, row)`. */
export class MemoryTable implements ColumnTable<MemoryResult> {
  // Per cell, its value: one entry (byte, word or dword, as int32) or two for a qword (high, low).
  private readonly cellValue = new Int32Column(8192);
  // Per ASCII column part: a span of the log [start, end), or the rendering of cells [-start - 1, end).
  private readonly asciiStart = new Int32Column();
  private readonly asciiEnd = new Int32Column();
  // Per unparsed line: its span in the log.
  private readonly unparsedStart = new Int32Column();
  private readonly unparsedEnd = new Int32Column();
  // Per result: flags, the first address's span, the dump line count, and its cells, parts and unparsed lines.
  private readonly resultFlags = new Int32Column(256);
  private readonly resultAddressStart = new Int32Column(256);
  private readonly resultAddressEnd = new Int32Column(256);
  private readonly resultLines = new Int32Column(256);
  private readonly resultCellFirst = new Int32Column(256);
  private readonly resultCellEnd = new Int32Column(256);
  private readonly resultAsciiFirst = new Int32Column(256);
  private readonly resultAsciiEnd = new Int32Column(256);
  private readonly resultUnparsedFirst = new Int32Column(256);
  private readonly resultUnparsedEnd = new Int32Column(256);

  // The last command's unit (a log repeats its commands): -1 when it is not a memory dump.
  private lastCommand = '';
  private lastUnit = -1;
  // What the output being read has shown so far (fields, so no object per output).
  private unit = 0;
  private lines = 0;
  private addressStart = 0;
  private addressEnd = 0;
  // Whether a dump line did not continue the one before, and the address the next one should
  // start at, as unsigned 32-bit halves (the high one may pass 2^32: no line matches then).
  private gap = false;
  private nextHigh = 0;
  private nextLow = 0;

  /** How many results the table holds. */
  get size(): number {
    return this.resultFlags.length;
  }

  /** Read the dump text[from, to) of `command` (`dq rcx` → qwords); FALLBACK (nothing kept) where parseMemory would throw or the shape is not held. */
  scan(text: string, from: number, to: number, command: string): number {
    if (command !== this.lastCommand) {
      const kind = kindForCommand(command);
      this.lastCommand = command;
      this.lastUnit = kind === undefined ? -1 : (UNIT_OF_KIND[kind] ?? -1);
    }
    const unit = this.lastUnit;
    if (unit < 0 || !(from >= 0 && to <= text.length && from <= to)) return FALLBACK;
    const cellsBefore = this.cellValue.length;
    const asciiBefore = this.asciiStart.length;
    const unparsedBefore = this.unparsedStart.length;
    const flags = this.read(text, from, to, unit);
    if (flags === FALLBACK) {
      this.cellValue.truncate(cellsBefore);
      this.asciiStart.truncate(asciiBefore);
      this.asciiEnd.truncate(asciiBefore);
      this.unparsedStart.truncate(unparsedBefore);
      this.unparsedEnd.truncate(unparsedBefore);
      return FALLBACK;
    }
    this.resultAddressStart.push(this.addressStart);
    this.resultAddressEnd.push(this.addressEnd);
    this.resultLines.push(this.lines);
    this.resultCellFirst.push(cellsBefore);
    this.resultCellEnd.push(this.cellValue.length);
    this.resultAsciiFirst.push(asciiBefore);
    this.resultAsciiEnd.push(this.asciiStart.length);
    this.resultUnparsedFirst.push(unparsedBefore);
    this.resultUnparsedEnd.push(this.unparsedStart.length);
    return this.resultFlags.push(flags);
  }

  /** The result at `row`, JSON-equal (key order included) to parseMemory of the same output with the command's unit. */
  result(text: string, row: number): MemoryResult {
    const flags = this.resultFlags.at(row);
    const unit = (flags >> UNIT_SHIFT) as MemoryUnit;
    const result: MemoryResult = {
      complete: (flags & RESULT_COMPLETE) !== 0,
      unparsed: this.unparsed(text, row),
      address: normalizeAddress(text.slice(this.resultAddressStart.at(row), this.resultAddressEnd.at(row))),
      unit,
      lines: this.resultLines.at(row),
    };
    const cells = this.cellValue.data;
    const first = this.resultCellFirst.at(row);
    const end = this.resultCellEnd.at(row);
    if (unit === 1) {
      const bytes: number[] = [];
      for (let index = first; index < end; index++) bytes.push(cells[index]!);
      result.bytes = bytes;
    } else {
      const values: string[] = [];
      if (unit === 8) {
        for (let index = first; index < end; index += 2) values.push(hex(cells[index]!, 8) + hex(cells[index + 1]!, 8));
      } else {
        for (let index = first; index < end; index++) values.push(hex(cells[index]!, unit * 2));
      }
      result.values = values;
    }
    const asciiFirst = this.resultAsciiFirst.at(row);
    const asciiEnd = this.resultAsciiEnd.at(row);
    if (asciiEnd > asciiFirst) {
      let ascii = '';
      for (let part = asciiFirst; part < asciiEnd; part++) {
        const start = this.asciiStart.at(part);
        const stop = this.asciiEnd.at(part);
        ascii += start >= 0 ? text.slice(start, stop) : this.rendering(-start - 1, stop, unit);
      }
      result.ascii = ascii;
    }
    return result;
  }

  /** The result's `complete` flag. */
  complete(row: number): boolean {
    return (this.resultFlags.at(row) & RESULT_COMPLETE) !== 0;
  }

  /** The result's `unparsed` lines. */
  unparsed(text: string, row: number): string[] {
    const lines: string[] = [];
    const end = this.resultUnparsedEnd.at(row);
    for (let index = this.resultUnparsedFirst.at(row); index < end; index++) lines.push(text.slice(this.unparsedStart.at(index), this.unparsedEnd.at(index)));
    return lines;
  }

  // kd's ASCII rendering of the bytes of cells [first, end) (dwords little-endian).
  private rendering(first: number, end: number, unit: number): string {
    let rendered = '';
    for (let byte = 0, count = (end - first) * (unit === 4 ? 4 : 1); byte < count; byte++) rendered += String.fromCharCode(asciiCode(this.byteAt(first, byte, unit)));
    return rendered;
  }

  // Byte `index` of the cells from `first`, in address order: a byte cell itself, or a dword's bytes low first.
  private byteAt(first: number, index: number, unit: number): number {
    const cells = this.cellValue.data;
    if (unit === 1) return cells[first + index]!;
    return (cells[first + (index >> 2)]! >>> ((index & 3) * 8)) & 0xff;
  }

  // parseMemory's loop over lines, in the same order of tests; appends cells, ASCII parts and
  // unparsed spans and returns the result's flags, or FALLBACK where the reference would throw
  // (no dump line) or a line's shape is one this reader leaves to it.
  private read(text: string, from: number, to: number, givenUnit: number): number {
    this.unit = givenUnit;
    this.lines = 0;
    this.gap = false;
    this.nextHigh = 0;
    this.nextLow = 0;
    const cells = this.cellValue;
    for (let start = from; start <= to; ) {
      // Most qword lines have kd's own layout, read at fixed positions without a search for the line's end.
      if (givenUnit === 8) {
        start = this.qwordLines(text, start, to);
        if (start > to) break;
      }
      let end = text.indexOf('\n', start);
      if (end < 0 || end > to) end = to;
      const lineStart = start;
      start = end + 1;

      // The address column: 8 hex digits, then 8 more, with or without a backtick, then two spaces and a non-space.
      let high = 0;
      let low = 0;
      let addressEnd = -1;
      if (lineStart + 11 <= end) {
        low = readHex8(text, lineStart);
        if (low !== -1) {
          const next = text.charCodeAt(lineStart + 8);
          if (next === SPACE) addressEnd = lineStart + 8;
          else if (lineStart + 19 <= end) {
            const digitsAt = next === BACKTICK ? lineStart + 9 : lineStart + 8;
            const second = readHex8(text, digitsAt);
            if (second !== -1) {
              high = low;
              low = second;
              addressEnd = digitsAt + 8;
            }
          }
        }
        if (addressEnd >= 0) {
          const after = addressEnd + 2 < end ? text.charCodeAt(addressEnd + 2) : SPACE;
          if (after >= 128) return FALLBACK;
          if (text.charCodeAt(addressEnd) !== SPACE || text.charCodeAt(addressEnd + 1) !== SPACE || isAsciiSpace(after)) addressEnd = -1;
        }
      }
      if (addressEnd < 0) {
        const outcome = this.otherLine(text, lineStart, end);
        if (outcome === FALLBACK) return FALLBACK;
        continue;
      }

      // The cells: runs of hex (a backtick inside), one space or `-` between them.
      const cellsBefore = cells.length;
      let unit = this.unit;
      let count = 0;
      let cursor = addressEnd + 2;
      let fits = true;
      for (;;) {
        const runStart = cursor;
        let upper = 0;
        let lower = 0;
        let digits = 0;
        let ticks = 0;
        while (cursor < end) {
          const code = text.charCodeAt(cursor);
          const digit = HEX[code]!;
          if (digit >= 0) {
            upper = (upper << 4) | (lower >>> 28);
            lower = (lower << 4) | digit;
            digits++;
          } else if (code === BACKTICK && cursor > runStart) ticks++;
          else if (code === QUESTION) return FALLBACK;
          else break;
          cursor++;
        }
        if (cursor === runStart) break;
        if (ticks > 1) return FALLBACK;
        const cellUnit = unitOfWidth(digits);
        if (count === 0 && unit === 0) unit = cellUnit;
        if (cellUnit === 0 || cellUnit !== unit) {
          fits = false;
          break;
        }
        if (unit === 8) cells.push(upper);
        cells.push(lower);
        count++;
        const separator = cursor < end ? text.charCodeAt(cursor) : 0;
        if ((separator === SPACE || separator === DASH) && cursor + 1 < end && isCellCode(text.charCodeAt(cursor + 1))) {
          cursor++;
          continue;
        }
        break;
      }
      if (!fits || count === 0) {
        cells.truncate(cellsBefore);
        if (this.unparsedLine(text, lineStart, end) === FALLBACK) return FALLBACK;
        continue;
      }

      // A dump line: the first one fixes the address and unit, the others must continue it.
      if (this.lines === 0) {
        this.unit = unit;
        this.addressStart = lineStart;
        this.addressEnd = addressEnd;
      } else if (high !== this.nextHigh || low !== this.nextLow) this.gap = true;
      this.lines++;
      const sum = low + count * unit;
      const carry = Math.floor(sum / TWO_TO_32);
      this.nextLow = sum - carry * TWO_TO_32;
      this.nextHigh = high + carry;
      if ((unit === 1 || unit === 4) && this.asciiColumn(text, cursor, end, cellsBefore, count * (unit === 4 ? 4 : 1)) === FALLBACK) return FALLBACK;
    }
    if (this.lines === 0) return FALLBACK;
    return (this.gap ? 0 : RESULT_COMPLETE) | (this.unit << UNIT_SHIFT);
  }

  // Qword lines exactly as kd lays them out — `hhhhhhhh`llllllll  ` and qwords of the same form
  // split by one space, up to the line's end — read from `start` at fixed positions, with no
  // search for line ends: their cells are appended and the dump's state advanced. Returns where
  // the first line of any other shape starts (the general reader takes it), or past `to`.
  private qwordLines(text: string, start: number, to: number): number {
    const cells = this.cellValue;
    let lines = this.lines;
    let gap = this.gap;
    let nextHigh = this.nextHigh;
    let nextLow = this.nextLow;
    let line = start;
    while (line + 36 <= to && text.charCodeAt(line + 8) === BACKTICK && text.charCodeAt(line + 17) === SPACE && text.charCodeAt(line + 18) === SPACE) {
      const high = readHex8(text, line);
      const low = readHex8(text, line + 9);
      if (high < 0 || low < 0) break;
      const before = cells.length;
      let at = line + 19;
      let end = -1;
      for (;;) {
        if (at + 17 > to || text.charCodeAt(at + 8) !== BACKTICK) break;
        const upper = readHex8(text, at);
        const lower = readHex8(text, at + 9);
        if (upper < 0 || lower < 0) break;
        cells.push(upper | 0);
        cells.push(lower | 0);
        at += 17;
        if (at === to || text.charCodeAt(at) === NEWLINE) {
          end = at;
          break;
        }
        if (text.charCodeAt(at) !== SPACE) break;
        at++;
      }
      if (end < 0) {
        cells.truncate(before);
        break;
      }
      if (lines === 0) {
        this.unit = 8;
        this.addressStart = line;
        this.addressEnd = line + 17;
      } else if (high !== nextHigh || low !== nextLow) gap = true;
      lines++;
      const sum = low + (cells.length - before) * 4;
      const carry = sum >= TWO_TO_32 ? 1 : 0;
      nextLow = sum - carry * TWO_TO_32;
      nextHigh = high + carry;
      line = end + 1;
    }
    this.lines = lines;
    this.gap = gap;
    this.nextHigh = nextHigh;
    this.nextLow = nextLow;
    return line;
  }

  // The ASCII column after a byte or dword line's cells (from `at` to the line's end): none when
  // blank, kd's rendering of the bytes when it shows that (spaces at either end aside), else the
  // column's first `width` characters — pickAscii of the reference.
  private asciiColumn(text: string, at: number, end: number, firstCell: number, width: number): number {
    let spaces = at;
    while (spaces < end && text.charCodeAt(spaces) === SPACE) spaces++;
    const column = spaces - at >= 2 ? spaces : at;
    for (let index = column; index < end; index++) {
      const code = text.charCodeAt(index);
      if (code >= 128 || code === CR) return FALLBACK;
    }
    let trimmedEnd = end;
    while (trimmedEnd > column && isAsciiSpace(text.charCodeAt(trimmedEnd - 1))) trimmedEnd--;
    let trimmedStart = column;
    while (trimmedStart < trimmedEnd && isAsciiSpace(text.charCodeAt(trimmedStart))) trimmedStart++;
    if (trimmedStart === trimmedEnd) return 0;
    const unit = this.unit;
    let renderedStart = 0;
    while (renderedStart < width && this.byteAt(firstCell, renderedStart, unit) === SPACE) renderedStart++;
    let renderedEnd = width;
    while (renderedEnd > renderedStart && this.byteAt(firstCell, renderedEnd - 1, unit) === SPACE) renderedEnd--;
    let same = renderedEnd - renderedStart === trimmedEnd - trimmedStart;
    for (let index = 0; same && index < renderedEnd - renderedStart; index++) {
      same = asciiCode(this.byteAt(firstCell, renderedStart + index, unit)) === text.charCodeAt(trimmedStart + index);
    }
    if (same) {
      this.asciiStart.push(-firstCell - 1);
      this.asciiEnd.push(this.cellValue.length);
    } else {
      this.asciiStart.push(column);
      this.asciiEnd.push(Math.min(column + width, trimmedEnd));
    }
    return 0;
  }

  // A line without an address column: blank lines are passed over, prompts and `Memory access
  // error` (and `\r`, non-ASCII) are left to the reference, anything else is unparsed.
  private otherLine(text: string, start: number, end: number): number {
    let first = -1;
    for (let index = start; index < end; index++) {
      const code = text.charCodeAt(index);
      if (code >= 128 || code === CR) return FALLBACK;
      if (first < 0 && !isAsciiSpace(code)) first = index;
    }
    if (first < 0) return 0;
    if (mayStartPromptAt(text, first, end)) return FALLBACK;
    // matchKdErrorLine: an optional caret and space, then the reply with white space trimmed.
    let body = first;
    if (text.charCodeAt(body) === CARET && body + 1 < end && text.charCodeAt(body + 1) === SPACE) {
      body += 2;
      while (body < end && isAsciiSpace(text.charCodeAt(body))) body++;
    }
    if (end - body >= MEMORY_ACCESS.length && text.startsWith(MEMORY_ACCESS, body)) return FALLBACK;
    this.unparsedStart.push(start);
    this.unparsedEnd.push(end);
    return 0;
  }

  // An address line whose cells are not a dump line: kept whole as unparsed (no `\r` or non-ASCII in it).
  private unparsedLine(text: string, start: number, end: number): number {
    for (let index = start; index < end; index++) {
      const code = text.charCodeAt(index);
      if (code >= 128 || code === CR) return FALLBACK;
    }
    this.unparsedStart.push(start);
    this.unparsedEnd.push(end);
    return 0;
  }
}

// Eight hex digits at `at` as an unsigned 32-bit number, or -1 when any is not one (a digit of
// -1 makes the OR of all eight negative; the caller keeps `at + 8` within the text).
function readHex8(text: string, at: number): number {
  const d0 = HEX[text.charCodeAt(at)]!;
  const d1 = HEX[text.charCodeAt(at + 1)]!;
  const d2 = HEX[text.charCodeAt(at + 2)]!;
  const d3 = HEX[text.charCodeAt(at + 3)]!;
  const d4 = HEX[text.charCodeAt(at + 4)]!;
  const d5 = HEX[text.charCodeAt(at + 5)]!;
  const d6 = HEX[text.charCodeAt(at + 6)]!;
  const d7 = HEX[text.charCodeAt(at + 7)]!;
  if ((d0 | d1 | d2 | d3 | d4 | d5 | d6 | d7) < 0) return -1;
  return ((d0 << 28) | (d1 << 24) | (d2 << 20) | (d3 << 16) | (d4 << 12) | (d5 << 8) | (d6 << 4) | d7) >>> 0;
}

// Lowercase hex of an int32 read as unsigned, zero-padded to `width`.
function hex(value: number, width: number): string {
  return (value >>> 0).toString(16).padStart(width, '0');
}
