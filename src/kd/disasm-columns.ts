/**
 * Disassembly (`u`, `ub`, `uf`) in scanned form (src/kd/columns.ts): one row of offsets per
 * instruction instead of an object with four to eight strings. `scan` reads an output exactly as
 * parseDisasm does (src/kd/disasm.ts, the reference) — symbol labels, the optional segment, the
 * 8- or 16-digit address, the opcode-bytes column told from a mnemonic, `rep`/`lock` prefixes,
 * the effective-address annotation and the branch target — storing where each piece lies; `result`
 * only slices at those offsets, normalises addresses as the reference does and builds the objects.
 * Prompts, `\r`, tabs and other blanks but the space, non-ASCII text and a prefix set apart from
 * its instruction by more than one space are left to the reference (FALLBACK).
 */
import { FALLBACK, Int32Column, type ColumnTable } from './columns.js';
import type { DisasmResult, Instruction } from './disasm.js';

// Numbers per instruction in `instructions`: address start, bytes span, mnemonic span, operands
// span, flags, and the row of its extra record (effective address, symbol label) or -1.
const STRIDE = 9;
const ADDRESS = 0;
const BYTES_START = 1;
const BYTES_END = 2;
const MNEMONIC_START = 3;
const MNEMONIC_END = 4;
const OPERANDS_START = 5;
const OPERANDS_END = 6;
const FLAGS = 7;
const EXTRA = 8;
// Numbers per extra record: effective-address span, symbol-label span (0, 0 when absent).
const EXTRA_STRIDE = 4;

// Instruction flag bits: a 16-digit (backtick) address, a segment before it, an effective-address
// annotation, a branch target of 8 or of 16 digits at the operands' end, a symbol label.
const LONG_ADDRESS = 1;
const SEGMENT = 2;
const EFFECTIVE = 4;
const TARGET_SHORT = 8;
const TARGET_LONG = 16;
const SYMBOL = 32;

// Numbers per result in `results`: first and end instruction, first and end unparsed line, complete.
const RESULT_STRIDE = 5;

// Character codes read by name.
const SPACE = 32;
const NEWLINE = 10;
const COLON = 58;
const BANG = 33;
const PLUS = 43;
const BACKTICK = 96;
const OPEN = 40;
const CLOSE = 41;
const EQUALS = 61;
const QUESTION = 63;


// Hex digit flags by character code (ASCII only): 1 lower-case or decimal digit, 2 upper-case letter.
const HEX = new Uint8Array(128);
for (let code = 48; code <= 57; code++) HEX[code] = 1;
for (let code = 97; code <= 102; code++) HEX[code] = 1;
for (let code = 65; code <= 70; code++) HEX[code] = 2;

// Characters of a module name in parseSymbolLocation: `[A-Za-z0-9_.-]`.
const NAME = new Uint8Array(128);
for (let code = 48; code <= 57; code++) NAME[code] = 1;
for (let code = 65; code <= 90; code++) NAME[code] = 1;
for (let code = 97; code <= 122; code++) NAME[code] = 1;
NAME[95] = NAME[46] = NAME[45] = 1;

// Words the reference never takes for a mnemonic (OPERAND_WORDS of src/kd/disasm.ts).
const OPERAND_WORDS = ['byte', 'word', 'dword', 'qword', 'tbyte', 'fword', 'xmmword', 'ymmword', 'zmmword', 'ptr', 'st'];
// First letters of the operand words (each 2 to 7 letters long).
const OPERAND_LEADS = new Uint8Array(128);
for (const word of OPERAND_WORDS) OPERAND_LEADS[word.charCodeAt(0)] = 1;
// Prefixes kd prints as a word of their own (PREFIXES of src/kd/disasm.ts).
const PREFIXES = ['rep', 'repe', 'repz', 'repne', 'repnz', 'lock'];

/** Disassembly results held as columns; equal to parseDisasm's results through `result(text, row)`. */
export class DisasmTable implements ColumnTable<DisasmResult> {
  private readonly instructions = new Int32Column(STRIDE * 1024);
  private readonly extras = new Int32Column(EXTRA_STRIDE * 64);
  // Per unparsed line: its span in the log (start, end).
  private readonly unparsedSpans = new Int32Column(2 * 64);
  private readonly results = new Int32Column(RESULT_STRIDE * 256);
  // The label waiting for the next instruction (-1: none), while an output is read.
  private labelStart = -1;
  private labelEnd = -1;
  // The output being read, as bytes (offsets relative to `base`, its start in the log), then LF.
  private bytes = new Uint8Array(1 << 12);
  private readonly encoder = new TextEncoder();
  private base = 0;

  /** How many results the table holds. */
  get size(): number {
    return this.results.length / RESULT_STRIDE;
  }

  /** Read the disassembly text[from, to); FALLBACK (nothing kept) where parseDisasm would throw or the shape is not held. */
  scan(text: string, from: number, to: number, _command: string): number {
    if (!(from >= 0 && to <= text.length && from <= to)) return FALLBACK;
    const length = to - from;
    // The output as a string of its own is a view into the log, not a copy. Only the space and the
    // line feed are blanks here: the others `\s` and trim know are left to the reference.
    const output = text.slice(from, to);
    if (output.indexOf('\t') >= 0 || output.indexOf('\r') >= 0 || output.indexOf('\v') >= 0 || output.indexOf('\f') >= 0) return FALLBACK;
    if (this.bytes.length <= length) this.bytes = new Uint8Array(Math.max(length + 1, this.bytes.length * 2));
    const bytes = this.bytes;
    if (length > 0) {
      // UTF-8 of ASCII is the same offsets; anything longer or cut short was not ASCII.
      const copied = this.encoder.encodeInto(output, bytes);
      if (copied.read !== length || copied.written !== length) return FALLBACK;
    }
    bytes[length] = NEWLINE;
    this.base = from;
    const instructionsBefore = this.instructions.length;
    const extrasBefore = this.extras.length;
    const unparsedBefore = this.unparsedSpans.length;
    this.labelStart = -1;
    this.labelEnd = -1;
    if (!this.read(text, bytes, length) || this.instructions.length === instructionsBefore) {
      // Given up, or no instruction at all (where the reference throws).
      this.instructions.truncate(instructionsBefore);
      this.extras.truncate(extrasBefore);
      this.unparsedSpans.truncate(unparsedBefore);
      return FALLBACK;
    }
    const results = this.results;
    if (results.length + RESULT_STRIDE > results.data.length) reserve(results, RESULT_STRIDE);
    const data = results.data;
    const at = results.length;
    data[at] = instructionsBefore / STRIDE;
    data[at + 1] = this.instructions.length / STRIDE;
    data[at + 2] = unparsedBefore >> 1;
    data[at + 3] = this.unparsedSpans.length >> 1;
    // A label with no instruction after it means the output was cut off.
    data[at + 4] = this.labelStart < 0 ? 1 : 0;
    results.length = at + RESULT_STRIDE;
    return at / RESULT_STRIDE;
  }

  /** The result at `row`, JSON-equal (key order included) to parseDisasm of the same output. */
  result(text: string, row: number): DisasmResult {
    const result: DisasmResult = { complete: this.complete(row), unparsed: this.unparsed(text, row), instructions: [] };
    const data = this.instructions.data;
    const extras = this.extras.data;
    const end = this.results.at(row * RESULT_STRIDE + 1) * STRIDE;
    for (let at = this.results.at(row * RESULT_STRIDE) * STRIDE; at < end; at += STRIDE) {
      const flags = data[at + FLAGS]!;
      const address = data[at + ADDRESS]!;
      const operandsEnd = data[at + OPERANDS_END]!;
      const instruction: Instruction = {
        address: normalized(text, address, address + ((flags & LONG_ADDRESS) !== 0 ? 17 : 8)),
        bytes: text.slice(data[at + BYTES_START]!, data[at + BYTES_END]!),
        mnemonic: text.slice(data[at + MNEMONIC_START]!, data[at + MNEMONIC_END]!),
        operands: text.slice(data[at + OPERANDS_START]!, operandsEnd),
      };
      if ((flags & SEGMENT) !== 0) instruction.segment = text.slice(address - 5, address - 1);
      const extra = data[at + EXTRA]! * EXTRA_STRIDE;
      if ((flags & EFFECTIVE) !== 0) instruction.effectiveAddress = text.slice(extras[extra]!, extras[extra + 1]!);
      if ((flags & TARGET_SHORT) !== 0) instruction.target = normalized(text, operandsEnd - 9, operandsEnd - 1);
      else if ((flags & TARGET_LONG) !== 0) instruction.target = normalized(text, operandsEnd - 18, operandsEnd - 1);
      if ((flags & SYMBOL) !== 0) instruction.symbol = text.slice(extras[extra + 2]!, extras[extra + 3]!);
      result.instructions.push(instruction);
    }
    return result;
  }

  /** The result's `complete` flag. */
  complete(row: number): boolean {
    return this.results.at(row * RESULT_STRIDE + 4) === 1;
  }

  /** The result's `unparsed` lines. */
  unparsed(text: string, row: number): string[] {
    const lines: string[] = [];
    const spans = this.unparsedSpans.data;
    const end = this.results.at(row * RESULT_STRIDE + 3);
    for (let index = this.results.at(row * RESULT_STRIDE + 2); index < end; index++) lines.push(text.slice(spans[2 * index]!, spans[2 * index + 1]!));
    return lines;
  }

  // parseDisasm of the reference over the output's bytes[0, length), line by line: blank lines
  // skipped, labels kept for the next instruction, instructions and unparsed lines appended (at
  // their offsets in the log). False to give up.
  private read(text: string, bytes: Uint8Array, length: number): boolean {
    const base = this.base;
    for (let position = 0; position < length; ) {
      let lineEnd = text.indexOf('\n', base + position) - base;
      if (lineEnd < 0 || lineEnd > length) lineEnd = length;
      const lineStart = position;
      position = lineEnd + 1;
      let start = lineStart;
      while (start < lineEnd && bytes[start] === SPACE) start++;
      if (start === lineEnd) continue;
      let end = lineEnd;
      while (bytes[end - 1] === SPACE) end--;
      const lead = bytes[start]!;
      // matchPrompt of the reference would look at this line: a prompt inside the output.
      if (mayStartPrompt(bytes, start, end, lead)) return false;
      if (bytes[end - 1] === COLON && isLabel(bytes, start, end - 1)) {
        this.labelStart = base + start;
        this.labelEnd = base + end - 1;
        continue;
      }
      const read = HEX[lead] !== 0 ? this.readInstruction(text, bytes, start, end) : NOT_INSTRUCTION;
      if (read === GIVE_UP) return false;
      if (read === NOT_INSTRUCTION) {
        const spans = this.unparsedSpans;
        if (spans.length + 2 > spans.data.length) reserve(spans, 2);
        spans.data[spans.length] = base + lineStart;
        spans.data[spans.length + 1] = base + lineEnd;
        spans.length += 2;
      }
    }
    return true;
  }

  // parseInstructionLine of the reference on the line trimmed to [start, end) (it starts with a hex
  // digit): appends the instruction, or tells that the line is none or that the fast path gives up.
  private readInstruction(text: string, bytes: Uint8Array, start: number, end: number): number {
    const base = this.base;
    let address = start;
    let flags = 0;
    // `(?:([0-9a-fA-F]{4}):)?`: once four hex digits and a colon are there, only that reading can work.
    if (end - start > 5 && bytes[start + 4] === COLON && hexRun(bytes, start, 4)) {
      address = start + 5;
      flags |= SEGMENT;
    }
    if (end - address < 10 || !hexRun(bytes, address, 8)) return NOT_INSTRUCTION;
    let rest: number;
    const afterAddress = bytes[address + 8];
    if (afterAddress === BACKTICK) {
      if (end - address < 19 || !hexRun(bytes, address + 9, 8) || bytes[address + 17] !== SPACE) return NOT_INSTRUCTION;
      flags |= LONG_ADDRESS;
      rest = address + 18;
    } else if (afterAddress === SPACE) {
      rest = address + 9;
    } else {
      return NOT_INSTRUCTION;
    }
    // `(?=\S)` after the one space; the line is trimmed, so something follows.
    if (bytes[rest] === SPACE) return NOT_INSTRUCTION;

    // The first word, then the second; the first is the bytes column when it is an even run of
    // lower-case hex digits and the second could be a mnemonic.
    let firstEnd = text.indexOf(' ', base + rest) - base;
    if (firstEnd < 0 || firstEnd > end) firstEnd = end;
    let second = firstEnd;
    while (second < end && bytes[second] === SPACE) second++;
    let secondEnd = second < end ? text.indexOf(' ', base + second) - base : end;
    if (secondEnd < 0 || secondEnd > end) secondEnd = end;
    let bytesStart = base;
    let bytesEnd = base;
    let mnemonicStart = rest;
    let mnemonicEnd = firstEnd;
    if (isByteRun(bytes, rest, firstEnd) && isMnemonic(bytes, second, secondEnd)) {
      bytesStart = base + rest;
      bytesEnd = base + firstEnd;
      mnemonicStart = second;
      mnemonicEnd = secondEnd;
    } else if (!isMnemonic(bytes, rest, firstEnd)) {
      return NOT_INSTRUCTION;
    }
    let operands = mnemonicEnd;
    while (operands < end && bytes[operands] === SPACE) operands++;
    if (operands < end && isPrefix(bytes, mnemonicStart, mnemonicEnd)) {
      let wordEnd = text.indexOf(' ', base + operands) - base;
      if (wordEnd < 0 || wordEnd > end) wordEnd = end;
      if (isMnemonic(bytes, operands, wordEnd)) {
        // `rep movs`: one string in the reference, one span here only when one space joins them.
        if (operands !== mnemonicEnd + 1) return GIVE_UP;
        mnemonicEnd = wordEnd;
        operands = wordEnd;
        while (operands < end && bytes[operands] === SPACE) operands++;
      }
    }
    let operandsEnd = end;
    let effective = -1;
    if (operands < end) {
      // ` ([a-z]{2}:[0-9a-f]{4}:[0-9a-fA-F`]+=[0-9a-fA-F?]+)$`: the word after the last space,
      // made only of the characters that pattern allows.
      let space = end - 1;
      while (space > operands && isEffectiveCode(bytes[space]!)) space--;
      if (bytes[space] === SPACE && isEffectiveAddress(bytes, space + 1, end)) {
        flags |= EFFECTIVE;
        effective = space + 1;
        operandsEnd = space;
        while (operandsEnd > operands && bytes[operandsEnd - 1] === SPACE) operandsEnd--;
      }
      // `\(([0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?)\)$` on the operands left.
      if (operandsEnd - operands >= 10 && bytes[operandsEnd - 1] === CLOSE) {
        if (operandsEnd - operands >= 19 && bytes[operandsEnd - 19] === OPEN && bytes[operandsEnd - 10] === BACKTICK && hexRun(bytes, operandsEnd - 18, 8) && hexRun(bytes, operandsEnd - 9, 8)) {
          flags |= TARGET_LONG;
        } else if (bytes[operandsEnd - 10] === OPEN && hexRun(bytes, operandsEnd - 9, 8)) {
          flags |= TARGET_SHORT;
        }
      }
    } else {
      operandsEnd = operands;
    }

    let extra = -1;
    if (effective >= 0 || this.labelStart >= 0) {
      // The rare fields go to an extra record.
      const extras = this.extras;
      if (extras.length + EXTRA_STRIDE > extras.data.length) reserve(extras, EXTRA_STRIDE);
      const record = extras.data;
      const at = extras.length;
      record[at] = effective >= 0 ? base + effective : 0;
      record[at + 1] = effective >= 0 ? base + end : 0;
      if (this.labelStart >= 0) {
        flags |= SYMBOL;
        record[at + 2] = this.labelStart;
        record[at + 3] = this.labelEnd;
        this.labelStart = this.labelEnd = -1;
      } else {
        record[at + 2] = record[at + 3] = 0;
      }
      extras.length = at + EXTRA_STRIDE;
      extra = at / EXTRA_STRIDE;
    }
    const column = this.instructions;
    if (column.length + STRIDE > column.data.length) reserve(column, STRIDE);
    const data = column.data;
    const at = column.length;
    data[at + ADDRESS] = base + address;
    data[at + BYTES_START] = bytesStart;
    data[at + BYTES_END] = bytesEnd;
    data[at + MNEMONIC_START] = base + mnemonicStart;
    data[at + MNEMONIC_END] = base + mnemonicEnd;
    data[at + OPERANDS_START] = base + operands;
    data[at + OPERANDS_END] = base + operandsEnd;
    data[at + FLAGS] = flags;
    data[at + EXTRA] = extra;
    column.length = at + STRIDE;
    return INSTRUCTION;
  }
}

// readInstruction's answers.
const INSTRUCTION = 0;
const NOT_INSTRUCTION = 1;
const GIVE_UP = 2;

// Make room for `count` more values: Int32Column grows (doubling) only inside push, so one push
// at full capacity is made and taken back.
function reserve(column: Int32Column, count: number): void {
  while (column.length + count > column.data.length) {
    const length = column.length;
    column.length = column.data.length;
    column.push(0);
    column.length = length;
  }
}

// An address as the reference keeps it: the backtick dropped, lower case.
function normalized(text: string, start: number, end: number): string {
  return text.slice(start, end).replace('`', '').toLowerCase();
}

// `count` hex digits (either case) from `at`.
function hexRun(bytes: Uint8Array, at: number, count: number): boolean {
  for (let index = at; index < at + count; index++) {
    const code = bytes[index]!;
    if (code >= 128 || HEX[code] === 0) return false;
  }
  return true;
}

// isByteRun of the reference on [start, end): an even run of at least two lower-case hex digits.
function isByteRun(bytes: Uint8Array, start: number, end: number): boolean {
  const length = end - start;
  if (length < 2 || (length & 1) !== 0) return false;
  for (let index = start; index < end; index++) {
    const code = bytes[index]!;
    if (code >= 128 || HEX[code] !== 1) return false;
  }
  return true;
}

// isMnemonic of the reference on [start, end): `^[a-z][a-z0-9]*$` and no operand word.
function isMnemonic(bytes: Uint8Array, start: number, end: number): boolean {
  if (end <= start) return false;
  const lead = bytes[start]!;
  if (lead < 97 || lead > 122) return false;
  for (let index = start + 1; index < end; index++) {
    const code = bytes[index]!;
    if (!((code >= 97 && code <= 122) || (code >= 48 && code <= 57))) return false;
  }
  const length = end - start;
  if (length < 2 || length > 7 || OPERAND_LEADS[lead] !== 1) return true;
  return !wordIn(bytes, start, end, OPERAND_WORDS);
}

// Whether [start, end) is one of PREFIXES.
function isPrefix(bytes: Uint8Array, start: number, end: number): boolean {
  const lead = bytes[start];
  return (lead === 114 || lead === 108) && wordIn(bytes, start, end, PREFIXES);
}

// Whether bytes[start, end) spell one of `words`.
function wordIn(bytes: Uint8Array, start: number, end: number, words: readonly string[]): boolean {
  const length = end - start;
  next: for (const word of words) {
    if (word.length !== length) continue;
    for (let index = 0; index < length; index++) if (bytes[start + index] !== word.charCodeAt(index)) continue next;
    return true;
  }
  return false;
}

// A character the effective-address pattern allows: letters, digits, `:`, `` ` ``, `=`, `?`.
function isEffectiveCode(code: number): boolean {
  return (code >= 48 && code <= 58) || (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === BACKTICK || code === EQUALS || code === QUESTION;
}

// `[a-z]{2}:[0-9a-f]{4}:[0-9a-fA-F`]+=[0-9a-fA-F?]+` exactly on [start, end).
function isEffectiveAddress(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start < 11) return false;
  for (let index = start; index < start + 2; index++) {
    const code = bytes[index]!;
    if (code < 97 || code > 122) return false;
  }
  if (bytes[start + 2]! !== COLON || bytes[start + 7]! !== COLON) return false;
  for (let index = start + 3; index < start + 7; index++) {
    const code = bytes[index]!;
    if (code >= 128 || HEX[code] !== 1) return false;
  }
  let position = start + 8;
  const value = position;
  while (position < end) {
    const code = bytes[position]!;
    if (code !== BACKTICK && (code >= 128 || HEX[code] === 0)) break;
    position++;
  }
  if (position === value || position >= end || bytes[position]! !== EQUALS) return false;
  position++;
  if (position === end) return false;
  for (; position < end; position++) {
    const code = bytes[position]!;
    if (code !== QUESTION && (code >= 128 || HEX[code] === 0)) return false;
  }
  return true;
}

// mayStartPrompt of src/kd/prompt.ts on the trimmed line [start, end): `kd>`, `Kd>`, `l?d>`, or
// one to three digits and a colon.
function mayStartPrompt(bytes: Uint8Array, start: number, end: number, lead: number): boolean {
  if (lead === 107 || lead === 75) return bytes[start + 1]! === 100 && bytes[start + 2]! === 62 && end - start >= 3;
  if (lead === 108) return bytes[start + 2]! === 100 && bytes[start + 3]! === 62 && end - start >= 4;
  if (lead < 48 || lead > 57) return false;
  for (let index = start + 1; index <= start + 3 && index < end; index++) {
    const next = bytes[index]!;
    if (next === COLON) return true;
    if (next < 48 || next > 57) return false;
  }
  return false;
}

// isSymbolLabel of the reference for a trimmed line [start, colon] ending in a colon, no prompt
// (blanks are spaces only).
function isLabel(bytes: Uint8Array, start: number, colon: number): boolean {
  if (colon - start < 2) return false;
  let bang = -1;
  let plus = -1;
  let space = -1;
  let doubleSpace = false;
  let end = colon;
  while (bytes[end - 1]! === SPACE) end--;
  for (let index = start; index < end; index++) {
    const code = bytes[index]!;
    if (code === SPACE) {
      if (space === index - 1) doubleSpace = true;
      space = index;
    } else if (code === BANG && bang < 0) bang = index;
    else if (code === PLUS) plus = index;
  }
  if (bang >= 0) {
    // parseSymbolLocation: the module before the first `!` is `[A-Za-z0-9_.-]+`, and no two blanks
    // in a row, unless `module! ` opens the label (the reference's second test).
    if (bang === start) return false;
    for (let index = start; index < bang; index++) if (NAME[bytes[index]!] !== 1) return false;
    return !doubleSpace || bytes[bang + 1]! === SPACE;
  }
  // `\+(?:0x)?[0-9a-fA-F]+$` at the last `+` (a blank before the colon, or anywhere, fails it or
  // the module name), and a module name before it.
  if (space >= 0 || end !== colon || plus <= start) return false;
  let digits = plus + 1;
  if (colon - digits > 2 && bytes[digits]! === 48 && bytes[digits + 1]! === 120) digits += 2;
  if (digits === colon || !hexRun(bytes, digits, colon - digits)) return false;
  for (let index = start; index < plus; index++) if (NAME[bytes[index]!] !== 1) return false;
  return true;
}
