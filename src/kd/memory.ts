/**
 * Parse memory dumps: `db` (bytes, `-` between the 8th and 9th, ASCII column), `dw`, `dd`,
 * `dc` (dwords plus ASCII) and `dq` (qwords split by a backtick). `??` / `????????` mark
 * unreadable memory: the values stop there and the result is incomplete.
 */
import { KdParseError, normalizeAddress, splitLines, type ParseResultBase } from './common.js';
import { matchKdErrorLine } from './errors.js';
import { matchPrompt } from './prompt.js';

/** Width of one displayed unit in bytes. */
export type MemoryUnit = 1 | 2 | 4 | 8;

/** Result of `db`/`dw`/`dd`/`dc`/`dq`. */
export interface MemoryResult extends ParseResultBase {
  /** Address of the first unit shown. */
  address: string;
  unit: MemoryUnit;
  /** `db`: the bytes, in address order. */
  bytes?: number[];
  /** `dw`/`dd`/`dc`/`dq`: each unit as lowercase hex, zero-padded, no backtick (`fffff8009be61090`). */
  values?: string[];
  /** The ASCII column (`db`, `dc`), concatenated over all lines. */
  ascii?: string;
  /** Address of the first unit kd could not read (`??`), when any. */
  unreadable?: string;
  /** Number of dump lines read. */
  lines: number;
}

// Address column: 8 hex digits, or two halves of 8 joined by a backtick, or 16 digits.
const ADDRESS = /^([0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})?)  (?=\S)/;

// Hex digit or `?` test by char code (no regex per character).
function isCell(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 97 && code <= 102) || (code >= 65 && code <= 70) || code === 63;
}

// Read one dump line's cells: runs of hex/`?` (a backtick allowed inside a qword) separated by one space or `-`.
function readCells(rest: string): { cells: string[]; end: number } {
  const cells: string[] = [];
  let pos = 0;
  while (pos < rest.length) {
    let end = pos;
    while (end < rest.length && (isCell(rest.charCodeAt(end)) || (rest[end] === '`' && end > pos))) end++;
    if (end === pos) break;
    cells.push(rest.slice(pos, end));
    pos = end;
    const separator = rest[pos];
    if ((separator === ' ' || separator === '-') && pos + 1 < rest.length && isCell(rest.charCodeAt(pos + 1))) {
      pos++;
      continue;
    }
    break;
  }
  return { cells, end: pos };
}

// 1-byte cells are 2 wide, words 4, dwords 8, qwords 16 (17 with the backtick).
function unitOfCell(cell: string): MemoryUnit | undefined {
  const width = cell.replace('`', '').length;
  if (width === 2) return 1;
  if (width === 4) return 2;
  if (width === 8) return 4;
  if (width === 16) return 8;
  return undefined;
}

// How kd renders bytes in the ASCII column: printable ASCII as is, the rest as '.'.
function renderAscii(bytes: readonly number[]): string {
  return bytes.map((byte) => (byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : '.')).join('');
}

// Bytes of a hex value in memory (little-endian) order.
function littleEndianBytes(hex: string): number[] {
  const bytes: number[] = [];
  for (let index = hex.length; index > 0; index -= 2) bytes.push(parseInt(hex.slice(Math.max(0, index - 2), index), 16));
  return bytes;
}

/** Parse a memory dump; `unit` is taken from the command (`dd` → 4) or, when omitted, from the cell width. */
export function parseMemory(text: string, unit?: MemoryUnit): MemoryResult {
  const lines = splitLines(text);
  let result: MemoryResult | undefined;
  const unparsed: string[] = [];
  let expectedNext: bigint | undefined;
  let gap = false;
  let stopped = false;
  let errorSeen = false;
  for (const line of lines) {
    const trimmedEnd = line.trimEnd();
    if (trimmedEnd.trim() === '') continue;
    const prompt = matchPrompt(trimmedEnd.trimStart());
    if (prompt) {
      if (!/^d[bwdqcp]\b/.test(prompt.command) || result) unparsed.push(line);
      continue;
    }
    const address = ADDRESS.exec(trimmedEnd);
    if (!address || stopped) {
      const error = matchKdErrorLine(line);
      if (error && error.kind === 'memory-access') {
        errorSeen = true;
        if (result && result.unreadable === undefined && /^[0-9a-fA-F`]+$/.test(error.subject)) {
          result.unreadable = normalizeAddress(error.subject);
        }
        stopped = true;
        continue;
      }
      unparsed.push(line);
      continue;
    }
    const rest = trimmedEnd.slice(address[0].length);
    const { cells, end } = readCells(rest);
    const lineUnit = cells.length > 0 ? unitOfCell(cells[0]) : undefined;
    const useUnit = unit ?? result?.unit ?? lineUnit;
    if (useUnit === undefined || cells.length === 0 || cells.some((cell) => unitOfCell(cell) !== useUnit)) {
      unparsed.push(line);
      continue;
    }
    const lineAddress = normalizeAddress(address[1]);
    result ??= { complete: true, unparsed, address: lineAddress, unit: useUnit, lines: 0 };
    result.lines++;
    const here = BigInt(`0x${lineAddress}`);
    if (expectedNext !== undefined && here !== expectedNext) gap = true;
    expectedNext = here + BigInt(cells.length * useUnit);
    const readable: string[] = [];
    for (let index = 0; index < cells.length; index++) {
      const cell = cells[index].replace('`', '').toLowerCase();
      if (cell.includes('?')) {
        result.unreadable ??= (here + BigInt(index * useUnit)).toString(16).padStart(lineAddress.length, '0');
        stopped = true;
        break;
      }
      readable.push(cell);
    }
    const asciiColumn = rest.slice(end).replace(/^ {2,}/, '');
    if (useUnit === 1) {
      const bytes = readable.map((cell) => parseInt(cell, 16));
      result.bytes ??= [];
      result.bytes.push(...bytes);
      if (asciiColumn.trim() !== '') result.ascii = (result.ascii ?? '') + pickAscii(asciiColumn, renderAscii(bytes), cells.length);
    } else {
      result.values ??= [];
      result.values.push(...readable);
      if (asciiColumn.trim() !== '' && useUnit === 4) {
        const bytes = readable.flatMap((cell) => littleEndianBytes(cell));
        result.ascii = (result.ascii ?? '') + pickAscii(asciiColumn, renderAscii(bytes), cells.length * 4);
      }
    }
  }
  if (!result) {
    if (errorSeen) {
      throw new KdParseError('memory', 'The dump shows no memory: kd replied "Memory access error"');
    }
    throw new KdParseError('memory', 'No memory dump lines found: expected "<address>  <hex values>"');
  }
  result.complete = result.unreadable === undefined && !gap && !errorSeen;
  return result;
}

// The ASCII column, trailing padding removed; kd's rendering of the bytes when that is what it shows.
function pickAscii(column: string, expected: string, width: number): string {
  if (column.trim() === expected.trim()) return expected;
  return column.slice(0, width);
}

/** Parse `db` output. */
export function parseDb(text: string): MemoryResult {
  return parseMemory(text, 1);
}

/** Parse `dd` output. */
export function parseDd(text: string): MemoryResult {
  return parseMemory(text, 4);
}

/** Parse `dc` output (dwords with an ASCII column). */
export function parseDc(text: string): MemoryResult {
  return parseMemory(text, 4);
}

/** Parse `dq` output. */
export function parseDq(text: string): MemoryResult {
  return parseMemory(text, 8);
}
