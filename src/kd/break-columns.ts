/**
 * Stop outputs (what kd prints when the target stops after a go command) in scanned form
 * (src/kd/columns.ts): events, locations, instructions, registers and bugcheck arguments as rows
 * of offsets and numbers instead of objects and strings. `scan` reads an output exactly as
 * tryParseBreak does (src/kd/break.ts, the reference) — exception and breakpoint lines, bugchecks
 * and their arguments, the Ctrl+C box, `Connected to` lines, symbol labels with their instruction
 * line, register dumps, bare instructions after a step, noise and unparsed lines — and
 * `result` only slices at stored offsets, lowercases what the reference lowercases and builds the
 * objects. Prompts inside an output, reboot banners, version blocks and other rare lines are left
 * to the reference (FALLBACK).
 *
 * Speed: each line is dispatched once on its first and last characters to the checks that can
 * apply (in the reference's order); events, instructions, locations and the rest are packed
 * records in one Int32Column each; character classes come from a table; kd's exact noise lines,
 * its 79-asterisk box edge and its most common break line are found by a remembered native
 * search (NextOccurrence) rather than compared character by character (a compare over the code
 * units below measured slower); a box's text is read only when the box closes on a breakpoint.
 * Characters are read from a copy of the log as UTF-16 code units (Buffer's ucs2 writer), not by
 * charCodeAt; one copy call costs about as much as copying a few thousand units, so each copy
 * takes 2048 units past the output and the next stops (after `t`, a prompt and a command away)
 * are usually read from it. Line ends are found by the string's native indexOf (a loop over the
 * units, even two at a time, measured slower), blank lines without it. Spans are stored from the
 * start of the copy (R_ORIGIN). The columns are sized once from the log's length, so they are
 * not copied as they grow.
 */
import { Buffer } from 'node:buffer';
import { FALLBACK, Float64Column, Int32Column, NO_RESULT, type ColumnTable } from './columns.js';
import type { BreakResult, StopEvent, StopKind } from './break.js';
import type { Instruction } from './disasm.js';
import type { ConnectedTarget, KdArch } from './version.js';

// Event kinds by code, as the kind column stores them.
const BREAKPOINT = 0;
const BREAK_IN = 1;
const STEP = 2;
const BUGCHECK = 3;
const RECONNECT = 4;
const EXCEPTION = 5;
const KIND_NAMES: readonly StopKind[] = ['breakpoint', 'break-in', 'step', 'bugcheck', 'reconnect', 'exception'];

// Groups of event keys, in the order the reference first assigns them (3 bits each in evKeys).
const KEY_EXCEPTION = 1; // exception, code, firstChance
const KEY_BREAKPOINT = 2;
const KEY_BUGCHECK = 3;
const KEY_RECONNECT = 4;
const KEY_LOCATION = 5;
const KEY_INSTRUCTION = 6;
const KEY_REGISTERS = 7;
const KEY_COUNT_SHIFT = 24;

// Architectures of a `Connected to` line by code (0: none), in the reference's order of trial.
const ARCH_WORDS: readonly Uint8Array[] = ['x86 compatible', 'ARM 64-bit (AArch64)', 'x64', 'x86'].map(codes);
const ARCH_VALUES: readonly KdArch[] = ['x86', 'arm64', 'x64', 'x86'];

// Words disasm.ts refuses as mnemonics, and the prefixes it joins to the next word.
// Each operand word has its own first letter: OPERAND_WORD_BY_LEAD holds the one a letter may start.
const OPERAND_WORDS: readonly string[] = ['byte', 'word', 'dword', 'qword', 'tbyte', 'fword', 'xmmword', 'ymmword', 'zmmword', 'ptr', 'st'];
const OPERAND_WORD_BY_LEAD: (Uint8Array | undefined)[] = Array.from({ length: 128 }, (_, code) => {
  const word = OPERAND_WORDS.find((candidate) => candidate.charCodeAt(0) === code);
  return word === undefined ? undefined : codes(word);
});
const PREFIXES: readonly Uint8Array[] = ['rep', 'repe', 'repz', 'repne', 'repnz', 'lock'].map(codes);

// Words the table compares lines with, as codes.
const W_CTRL_C = codes('CTRL+C');
const W_CHANCE = codes(' chance)');
const W_FIRST_CHANCE = codes(' (first chance)');
const W_SECOND_CHANCE = codes(' (second chance)');
const W_CODE = codes(' - code ');
const W_BREAK_CODE = codes('80000003');
const W_BREAKPOINT = codes('Breakpoint ');
const W_HIT = codes(' hit');
const W_BUGCHECK_CODE = codes('Bugcheck code ');
const W_FATAL = codes('*** Fatal System Error: 0x');
const W_SHUTDOWN = codes('Shutdown occurred at (');
const W_WAITING = codes('Waiting to reconnect');
const W_ESTABLISHED = codes('Kernel Debugger connection established.');
const W_CONNECTED = codes('Connected to Windows');
const W_IOPL = codes('iopl=');
const W_CS = codes('cs=');
const W_ARGUMENTS = codes('Arguments ');
const W_TARGET = codes(' target');
const W_PTR64_TRUE = codes(', ptr64 TRUE');
const W_PTR64_FALSE = codes(', ptr64 FALSE');
const W_AT = codes(' at (');
const W_INT = codes('int');
const W_PATH_VALIDATION = codes(' Path validation');
const W_SYMBOL_PATH = codes('Symbol search path is:');
const W_EXECUTABLE_PATH = codes('Executable search path is:');
const W_RESPONSE = codes('Response');
const W_PATH_VALIDATION_SUMMARY = codes(' Path validation summary ');
const W_UNABLE_ENUMERATE = codes('Unable to enumerate user-mode unloaded modules');
const W_UNABLE_READ = codes('Unable to read image header for ');
const W_DEFERRED = codes('Deferred');
const W_OK = codes('OK');

// kd's box edge (79 asterisks) and most common stop line, read by a fast path.
const BOX_EDGE = '*'.repeat(79);
const BREAK_LINE = 'Break instruction exception - code 80000003 (first chance)';

// Lines tryParseBreak ignores as chatter around a stop (exact lines).
const NOISE_LINES: readonly string[] = [
  'A fatal system error has occurred.',
  'Debugger entered on first try; Bugcheck callbacks have not been invoked.',
  'Debugger entered on first try; Bugcheck callbacks have been invoked.',
  'For analysis of this file, run !analyze -v',
  'KDTARGET: Refreshing KD connection',
  'Loading Kernel Symbols',
  'Loading User Symbols',
  'Loading unloaded module list',
];

// Starts of lines that may belong to a reboot banner's version block (FIELD_START, KNOWN_NOISE and
// version lines of src/kd/version.ts, widened): after a `Connected to` line they are left to the reference.
const VERSION_BLOCK_STARTS: readonly string[] = [
  'Built by:',
  'Edition build lab:',
  'Machine Name:',
  'Kernel ',
  'Debug session time:',
  'System Uptime:',
  'Product:',
  'Symbol search path is:',
  'Executable search path is:',
  'Windows',
  'Copyright',
  'Opened WinSock',
  'You can get the target MAC',
  'Response',
  'Deferred',
  'OK',
  'Loading Dump File',
  'Comment:',
  'Live user mode:',
  'User time:',
  'command line:',
  'dbgeng:',
  'dbghelp:',
  '[path:',
  'DIA version:',
  'KDTARGET:',
];

// Character classes by code, so hot loops test a class with one load and no call (only ever
// indexed with the code of a character inside the text).
const C_BLANK = 1;
const C_HEX = 2;
const C_LOWER_HEX = 4;
// [A-Za-z0-9_.-], the characters of a module name.
const C_MODULE = 8;
// [a-z0-9], the characters of a mnemonic after its first.
const C_MNEMONIC = 16;
const C_LOWER = 32;
// Control (not tab), CR or non-ASCII: see isOdd.
const C_ODD = 64;
const CHAR_CLASS = new Uint8Array(65536);
for (let code = 0; code < 65536; code++) {
  let flags = 0;
  if (code === 32 || code === 9) flags |= C_BLANK;
  if ((code >= 48 && code <= 57) || (code >= 97 && code <= 102) || (code >= 65 && code <= 70)) flags |= C_HEX;
  if ((code >= 48 && code <= 57) || (code >= 97 && code <= 102)) flags |= C_LOWER_HEX;
  if ((code >= 48 && code <= 57) || (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95 || code === 46 || code === 45) flags |= C_MODULE;
  if ((code >= 48 && code <= 57) || (code >= 97 && code <= 122)) flags |= C_MNEMONIC;
  if (code >= 97 && code <= 122) flags |= C_LOWER;
  if (code > 126 || (code < 32 && code !== 9)) flags |= C_ODD;
  CHAR_CLASS[code] = flags;
}

// Blank as the table reads it; any other white space the reference's trim and `\s` know is odd (below).
function isBlank(code: number): boolean {
  return code === 32 || code === 9;
}

// Not tab or printable ASCII (a control, CR, or non-ASCII character, which may be white space to the
// reference): where one could change the reference's reading, the output is left to it.
function isOdd(code: number): boolean {
  return code > 126 || (code < 32 && code !== 9);
}

// A hex digit, either case.
function isHex(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 97 && code <= 102) || (code >= 65 && code <= 70);
}

// A lowercase hex digit.
function isLowerHex(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 97 && code <= 102);
}

// The value of a hex digit known to be one.
function hexValue(code: number): number {
  return code <= 57 ? code - 48 : (code | 32) - 87;
}

// `count` hex digits (either case) at `at`.
function isHexRun(b: Uint16Array, at: number, count: number): boolean {
  for (let index = at; index < at + count; index++) if (!isHex(b[index])) return false;
  return true;
}

// A word as its character codes (ASCII), for the compare loops below.
function codes(word: string): Uint8Array {
  const result = new Uint8Array(word.length);
  for (let index = 0; index < word.length; index++) result[index] = word.charCodeAt(index);
  return result;
}

// Where one word next occurs in the text last searched: `text.indexOf(word, from)` remembered, so
// asking whether the word is at each of many increasing positions searches the text natively
// (skipping most of it) about once, instead of comparing the word at each position.
class NextOccurrence {
  private text: string | undefined = undefined;
  private from = 0;
  private at = -1;

  constructor(readonly word: string) {}

  // True when the word occurs at `position` of the text.
  isAt(text: string, position: number): boolean {
    if (text !== this.text || position < this.from || (this.at >= 0 && this.at < position)) {
      this.at = text.indexOf(this.word, position);
      this.from = position;
      this.text = text;
    }
    return this.at === position;
  }
}

// The trimmed line [ts, te) of the output at `o` in the text is exactly the word.
function lineIs(text: string, o: number, ts: number, te: number, word: NextOccurrence): boolean {
  return te - ts === word.word.length && word.isAt(text, o + ts);
}

// `word` is at `at` in the text (a compare loop over codes: cheaper than startsWith in V8).
function matchAt(b: Uint16Array, at: number, word: Uint8Array): boolean {
  const length = word.length;
  if (at < 0 || at + length > b.length) return false;
  for (let index = 0; index < length; index++) if (b[at + index] !== word[index]) return false;
  return true;
}

// `word` starts the trimmed line [ts, te) (never reads past its end).
function startsAt(b: Uint16Array, ts: number, te: number, word: Uint8Array): boolean {
  return te - ts >= word.length && matchAt(b, ts, word);
}

// `text[start, end)` equals `word`.
function spanIs(b: Uint16Array, start: number, end: number, word: Uint8Array): boolean {
  return end - start === word.length && matchAt(b, start, word);
}

// The first `code` in [start, end), or -1.
function findCode(b: Uint16Array, code: number, start: number, end: number): number {
  for (let index = start; index < end; index++) if (b[index] === code) return index;
  return -1;
}

// The first occurrence of `word` inside [start, end), or -1 (never looks past `end`).
function findWord(b: Uint16Array, word: Uint8Array, start: number, end: number): number {
  const first = word[0];
  for (let index = start; index + word.length <= end; index++) if (b[index] === first && matchAt(b, index, word)) return index;
  return -1;
}

// isMnemonic of disasm.ts on a span: /^[a-z][a-z0-9]*$/ and not an operand word.
function isMnemonicSpan(b: Uint16Array, start: number, end: number): boolean {
  if (end <= start) return false;
  const lead = b[start];
  if (lead < 97 || lead > 122) return false;
  for (let index = start + 1; index < end; index++) {
    const code = b[index];
    if (!((code >= 97 && code <= 122) || (code >= 48 && code <= 57))) return false;
  }
  const word = OPERAND_WORD_BY_LEAD[lead];
  return word === undefined || !spanIs(b, start, end, word);
}

// Digits [start, end) as a number, or -1 when they might not convert exactly (more than 15 significant digits).
function decimalValue(b: Uint16Array, start: number, end: number): number {
  let value = 0;
  let significant = 0;
  for (let index = start; index < end; index++) {
    const digit = b[index] - 48;
    if (significant > 0 || digit !== 0) significant++;
    value = value * 10 + digit;
  }
  return significant > 15 ? -1 : value;
}

// Hex digits [start, end) as a number, or -1 when more than 52 bits (parseInt may round them).
function hexNumber(b: Uint16Array, start: number, end: number): number {
  let value = 0;
  let significant = 0;
  for (let index = start; index < end; index++) {
    const digit = hexValue(b[index]);
    if (significant > 0 || digit !== 0) significant++;
    value = value * 16 + digit;
  }
  return significant > 13 ? -1 : value;
}

// Buffer's own UTF-16LE writer (what `buffer.write(text, 0, 'utf16le')` calls after sorting out its
// arguments); write() where a Node lacks it.
interface Ucs2Writer {
  ucs2Write(text: string, offset: number, length: number): number;
}
// Whether a Uint16Array reads the UTF-16LE that Buffer writes (else every output falls back).
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
// Units of the log copied past an output's end: longer than any word compared, so every read past
// the end sees what the log holds there (or zeros past the log's end), never an earlier copy.
const SLACK = 64;
// Units copied past an output's end beyond SLACK: kd's next stop (after `t`, a prompt and a command
// away) is often inside them, and its scan then copies nothing.
const LOOKAHEAD = 2048;

// Fields of an event record (EVENT_STRIDE values a row in the events column).
const E_KIND = 0;
const E_LINE = 1;
// Key order: 3 bits a group, the count above KEY_COUNT_SHIFT.
const E_KEYS = 2;
// Groups present, a bit per group.
const E_HAS = 3;
// Exception name span, code start (8 characters), first chance (1/0).
const E_EXCEPTION_START = 4;
const E_EXCEPTION_END = 5;
const E_CODE = 6;
const E_FIRST_CHANCE = 7;
// Breakpoint number; bugcheck code (32 bits, read back unsigned).
const E_BREAKPOINT = 8;
const E_BUGCHECK = 9;
// Bugcheck arguments and registers: first row and count.
const E_ARG_FIRST = 10;
const E_ARG_COUNT = 11;
const E_REGISTER_FIRST = 12;
const E_REGISTER_COUNT = 13;
// Rows of the location, the instruction and the `Connected to` line (-1: none).
const E_LOCATION = 14;
const E_INSTRUCTION = 15;
const E_CONNECTED = 16;
const EVENT_STRIDE = 17;

// Bits of E_HAS for the groups the loop asks about.
const HAS_EXCEPTION = 1 << KEY_EXCEPTION;
const HAS_BUGCHECK = 1 << KEY_BUGCHECK;
const HAS_RECONNECT = 1 << KEY_RECONNECT;
const HAS_LOCATION = 1 << KEY_LOCATION;
const HAS_INSTRUCTION = 1 << KEY_INSTRUCTION;
const HAS_REGISTERS = 1 << KEY_REGISTERS;

// Fields of a result record: complete flag, events [first, end), unparsed lines [first, end).
const R_COMPLETE = 0;
const R_EVENT_FIRST = 1;
const R_EVENT_END = 2;
const R_UNPARSED_FIRST = 3;
const R_UNPARSED_END = 4;
// Where the output starts in the log: every span of its records is stored from there.
const R_ORIGIN = 5;
const RESULT_STRIDE = 6;

// Fields of a location record: the label (symbol) span, module end, function span (-1: none); the
// offset is in its own Float64Column.
const L_START = 0;
const L_END = 1;
const L_MODULE_END = 2;
const L_FUNCTION_START = 3;
const L_FUNCTION_END = 4;
const LOCATION_STRIDE = 5;

// Fields of an instruction record: spans of address, bytes, mnemonic, prefixed word (-1), operands,
// segment (-1, 4 long), effective address (-1) and branch target (-1).
const I_ADDRESS = 0;
const I_ADDRESS_END = 1;
const I_BYTES = 2;
const I_BYTES_END = 3;
const I_MNEMONIC = 4;
const I_MNEMONIC_END = 5;
const I_WORD = 6;
const I_WORD_END = 7;
const I_OPERANDS = 8;
const I_OPERANDS_END = 9;
const I_SEGMENT = 10;
const I_EFFECTIVE = 11;
const I_EFFECTIVE_END = 12;
const I_TARGET = 13;
const I_TARGET_END = 14;
const INSTRUCTION_STRIDE = 15;

// Fields of a `Connected to` record: name span, arch code (0 none), ptr64 (-1 none), `at` span (-1
// none); the build is in its own Float64Column.
const C_NAME = 0;
const C_NAME_END = 1;
const C_ARCH = 2;
const C_PTR64 = 3;
const C_AT = 4;
const C_AT_END = 5;
const CONNECTED_STRIDE = 6;

// Room for `count` more values in a packed column; returns its array (growing replaces it).
function room(column: Int32Column, count: number): Int32Array {
  const data = column.data;
  if (column.length + count <= data.length) return data;
  const next = new Int32Array(Math.max(data.length * 2, column.length + count));
  next.set(data);
  column.data = next;
  return next;
}

// Make a column's array hold at least `capacity` values (at most 1 << 24 reserved ahead).
function reserve(column: Int32Column, capacity: number): void {
  const wanted = Math.min(capacity, 1 << 24);
  if (wanted <= column.data.length) return;
  const next = new Int32Array(wanted);
  next.set(column.data.subarray(0, column.length));
  column.data = next;
}

/** Stop outputs held as columns; equal to tryParseBreak's results through `result(text, row)`. */
export class BreakTable implements ColumnTable<BreakResult> {
  // Packed records (see the strides above): results, events, unparsed lines (start, end), bugcheck
  // arguments (start, end; lowercased and one backtick dropped in result), registers (name start,
  // the `=`, value end), locations, instructions and `Connected to` lines.
  private readonly results = new Int32Column(RESULT_STRIDE * 1024);
  private readonly events = new Int32Column(EVENT_STRIDE * 1024);
  private readonly unparsedLines = new Int32Column(2 * 1024);
  private readonly args = new Int32Column(2 * 1024);
  private readonly registers = new Int32Column(3 * 1024);
  private readonly locations = new Int32Column(LOCATION_STRIDE * 1024);
  private readonly locationOffsets = new Float64Column(1024);
  private readonly instructions = new Int32Column(INSTRUCTION_STRIDE * 1024);
  private readonly connects = new Int32Column(CONNECTED_STRIDE * 16);
  private readonly connectBuilds = new Float64Column(16);

  // The exact noise lines (NOISE_LINES), the common box edge and the common break line, found by search.
  private readonly noiseLines = NOISE_LINES.map((line) => new NextOccurrence(line));
  private readonly boxEdge = new NextOccurrence(BOX_EDGE);
  private readonly breakLine = new NextOccurrence(BREAK_LINE);

  // Every column's length when the current scan began (undone when it falls back).
  private readonly marks = new Int32Array(10);

  // The command last seen and what it says: `.breakin` (a break is a break-in) and `t`/`p` (a stop is a step).
  private lastCommand: string | undefined;
  private commandBreakin = false;
  private commandStep = false;

  // A stretch of the log, [windowFrom, windowTo) of windowText, as UTF-16 code units
  // (`units[position - windowFrom]`; zeros after the log's end), with `buffer` over the same memory.
  private units = new Uint16Array(1 << 16);
  private buffer = Buffer.from(this.units.buffer);
  private windowText = '';
  private windowFrom = 0;
  private windowTo = 0;
  // The log the columns were last sized for.
  private reservedFor = '';

  // The instruction readInstruction stored last: is it `int 3`.
  private instructionIsInt3 = false;

  /** How many results the table holds. */
  get size(): number {
    return this.results.length / RESULT_STRIDE;
  }

  /** The result's `complete` flag. */
  complete(row: number): boolean {
    return this.results.data[row * RESULT_STRIDE + R_COMPLETE] === 1;
  }

  /** The result's unparsed lines. */
  unparsed(text: string, row: number): string[] {
    const lines: string[] = [];
    const result = this.results.data;
    const spans = this.unparsedLines.data;
    const o = result[row * RESULT_STRIDE + R_ORIGIN]!;
    for (let index = result[row * RESULT_STRIDE + R_UNPARSED_FIRST]!; index < result[row * RESULT_STRIDE + R_UNPARSED_END]!; index++) {
      lines.push(text.slice(o + spans[2 * index]!, o + spans[2 * index + 1]!));
    }
    return lines;
  }

  /** The result at `row`, as tryParseBreak returns it for the same output. */
  result(text: string, row: number): BreakResult {
    const result: BreakResult = { complete: this.complete(row), unparsed: this.unparsed(text, row), events: [] };
    const data = this.results.data;
    const o = data[row * RESULT_STRIDE + R_ORIGIN]!;
    for (let event = data[row * RESULT_STRIDE + R_EVENT_FIRST]!; event < data[row * RESULT_STRIDE + R_EVENT_END]!; event++) result.events.push(this.event(text, o, event));
    return result;
  }

  // Build one event object, its keys in the order the reference assigned them.
  private event(text: string, o: number, row: number): StopEvent {
    const ev = this.events.data;
    const at = row * EVENT_STRIDE;
    const event: StopEvent = { kind: KIND_NAMES[ev[at + E_KIND]!]!, line: ev[at + E_LINE]! };
    const keys = ev[at + E_KEYS]!;
    const count = keys >>> KEY_COUNT_SHIFT;
    for (let slot = 0; slot < count; slot++) {
      const key = (keys >>> (3 * slot)) & 7;
      if (key === KEY_EXCEPTION) {
        event.exception = text.slice(o + ev[at + E_EXCEPTION_START]!, o + ev[at + E_EXCEPTION_END]!);
        const code = o + ev[at + E_CODE]!;
        event.code = text.slice(code, code + 8).toLowerCase();
        event.firstChance = ev[at + E_FIRST_CHANCE] === 1;
      } else if (key === KEY_BREAKPOINT) {
        event.breakpoint = ev[at + E_BREAKPOINT]!;
      } else if (key === KEY_BUGCHECK) {
        const args: string[] = [];
        const spans = this.args.data;
        const first = ev[at + E_ARG_FIRST]!;
        for (let arg = first; arg < first + ev[at + E_ARG_COUNT]!; arg++) args.push(text.slice(o + spans[2 * arg]!, o + spans[2 * arg + 1]!).replace('`', '').toLowerCase());
        event.bugcheck = { code: ev[at + E_BUGCHECK]! >>> 0, args };
      } else if (key === KEY_RECONNECT) {
        event.reconnect = { waiting: false, established: false, connected: this.connected(text, o, ev[at + E_CONNECTED]!) };
      } else if (key === KEY_LOCATION) {
        const location = ev[at + E_LOCATION]!;
        const loc = this.locations.data;
        const base = location * LOCATION_STRIDE;
        const start = o + loc[base + L_START]!;
        const value = { module: text.slice(start, o + loc[base + L_MODULE_END]!), offset: this.locationOffsets.data[location]! } as NonNullable<StopEvent['location']>;
        if (loc[base + L_FUNCTION_START]! >= 0) value.function = text.slice(o + loc[base + L_FUNCTION_START]!, o + loc[base + L_FUNCTION_END]!);
        value.symbol = text.slice(start, o + loc[base + L_END]!);
        event.location = value;
      } else if (key === KEY_INSTRUCTION) {
        event.instruction = this.instruction(text, o, ev[at + E_INSTRUCTION]!);
      } else if (key === KEY_REGISTERS) {
        const registers: Record<string, string> = {};
        const spans = this.registers.data;
        const first = ev[at + E_REGISTER_FIRST]!;
        for (let reg = first; reg < first + ev[at + E_REGISTER_COUNT]!; reg++) {
          const equals = o + spans[3 * reg + 1]!;
          registers[text.slice(o + spans[3 * reg]!, equals)] = text.slice(equals + 1, o + spans[3 * reg + 2]!);
        }
        event.registers = registers;
      }
    }
    return event;
  }

  // Build an instruction object with disasm.ts's key order.
  private instruction(text: string, o: number, row: number): Instruction {
    const ins = this.instructions.data;
    const at = row * INSTRUCTION_STRIDE;
    const word = ins[at + I_WORD]!;
    const mnemonic = text.slice(o + ins[at + I_MNEMONIC]!, o + ins[at + I_MNEMONIC_END]!);
    const instruction: Instruction = {
      address: text.slice(o + ins[at + I_ADDRESS]!, o + ins[at + I_ADDRESS_END]!).replace('`', '').toLowerCase(),
      bytes: text.slice(o + ins[at + I_BYTES]!, o + ins[at + I_BYTES_END]!),
      mnemonic: word < 0 ? mnemonic : `${mnemonic} ${text.slice(o + word, o + ins[at + I_WORD_END]!)}`,
      operands: text.slice(o + ins[at + I_OPERANDS]!, o + ins[at + I_OPERANDS_END]!),
    };
    const segment = ins[at + I_SEGMENT]!;
    if (segment >= 0) instruction.segment = text.slice(o + segment, o + segment + 4);
    if (ins[at + I_EFFECTIVE]! >= 0) instruction.effectiveAddress = text.slice(o + ins[at + I_EFFECTIVE]!, o + ins[at + I_EFFECTIVE_END]!);
    if (ins[at + I_TARGET]! >= 0) instruction.target = text.slice(o + ins[at + I_TARGET]!, o + ins[at + I_TARGET_END]!).replace('`', '').toLowerCase();
    return instruction;
  }

  // Build a `Connected to` object with version.ts's key order.
  private connected(text: string, o: number, row: number): ConnectedTarget {
    const con = this.connects.data;
    const at = row * CONNECTED_STRIDE;
    const connected: ConnectedTarget = { name: text.slice(o + con[at + C_NAME]!, o + con[at + C_NAME_END]!), build: this.connectBuilds.data[row]! };
    const arch = con[at + C_ARCH]!;
    if (arch > 0) connected.arch = ARCH_VALUES[arch - 1]!;
    const ptr64 = con[at + C_PTR64]!;
    if (ptr64 >= 0) connected.ptr64 = ptr64 === 1;
    if (con[at + C_AT]! >= 0) connected.at = text.slice(o + con[at + C_AT]!, o + con[at + C_AT_END]!);
    return connected;
  }

  /**
   * Read the stop output `text[from, to)` (the answer to go command `command`) into the table.
   * Returns its row, NO_RESULT where tryParseBreak finds no stop, or FALLBACK for a shape not held.
   */
  scan(text: string, from: number, to: number, command: string): number {
    if (!(from >= 0 && to <= text.length && from <= to)) return FALLBACK;
    if (command !== this.lastCommand) this.readCommand(command);
    if (text !== this.reservedFor) this.reserve(text);
    if ((text !== this.windowText || from < this.windowFrom || to + SLACK > this.windowTo) && !this.encode(text, from, to)) return FALLBACK;
    this.mark();
    const o = this.windowFrom;
    const outcome = this.read(text, this.units, o, from - o, to - o);
    if (outcome < 0) this.undo();
    return outcome;
  }

  // Copy text[from, to) and what follows (SLACK and LOOKAHEAD, or up to the log's end and then
  // zeros) into `units`; false where the copy is not exact (a big-endian machine).
  private encode(text: string, from: number, to: number): boolean {
    this.windowText = '';
    if (!LITTLE_ENDIAN) return false;
    const end = Math.min(text.length, to + SLACK + LOOKAHEAD);
    const length = end - from;
    if (length + SLACK > this.units.length) {
      let size = this.units.length * 2;
      while (size < length + SLACK) size *= 2;
      this.units = new Uint16Array(size);
      this.buffer = Buffer.from(this.units.buffer);
    }
    const buffer = this.buffer as Buffer & Partial<Ucs2Writer>;
    const slice = text.slice(from, end);
    const written = buffer.ucs2Write === undefined ? buffer.write(slice, 0, 'utf16le') : buffer.ucs2Write(slice, 0, 2 * length);
    if (written !== 2 * length) return false;
    if (end === text.length) for (let index = length; index < length + SLACK; index++) this.units[index] = 0;
    this.windowText = text;
    this.windowFrom = from;
    this.windowTo = end === text.length ? end + SLACK : end;
    return true;
  }

  // Note what the go command says about bare stops (the reference's `.breakin` and `t`/`p` tests).
  private readCommand(command: string): void {
    this.lastCommand = command;
    let trimmed = typeof command === 'string' ? command : '';
    // Most commands have nothing to trim (printable ASCII at both ends).
    const first = trimmed.charCodeAt(0);
    const last = trimmed.charCodeAt(trimmed.length - 1);
    if (!(first > 32 && first < 127 && last > 32 && last < 127)) trimmed = trimmed.trim();
    const lead = trimmed.charCodeAt(0);
    this.commandStep = lead === 116 || lead === 112;
    // `^\.breakin\b`: the word ends the command or a non-word character follows it.
    const after = trimmed.charCodeAt(8);
    this.commandBreakin = trimmed.startsWith('.breakin') && !(after === 95 || (after >= 48 && after <= 57) || ((after | 32) >= 97 && (after | 32) <= 122));
  }

  // Size the columns for a log of this length (the bench corpus's proportions, about the most a log
  // of stops holds): most logs then never copy a column, and untouched room costs no page.
  private reserve(text: string): void {
    this.reservedFor = text;
    const length = text.length;
    reserve(this.results, length >> 9);
    reserve(this.events, length >> 7);
    reserve(this.unparsedLines, length >> 10);
    reserve(this.args, length >> 10);
    reserve(this.registers, length >> 10);
    reserve(this.locations, length >> 9);
    reserve(this.instructions, length >> 7);
  }

  // Remember every column's length.
  private mark(): void {
    const marks = this.marks;
    marks[0] = this.results.length;
    marks[1] = this.events.length;
    marks[2] = this.unparsedLines.length;
    marks[3] = this.args.length;
    marks[4] = this.registers.length;
    marks[5] = this.locations.length;
    marks[6] = this.locationOffsets.length;
    marks[7] = this.instructions.length;
    marks[8] = this.connects.length;
    marks[9] = this.connectBuilds.length;
  }

  // Cut every column back to its remembered length.
  private undo(): void {
    const marks = this.marks;
    this.results.truncate(marks[0]!);
    this.events.truncate(marks[1]!);
    this.unparsedLines.truncate(marks[2]!);
    this.args.truncate(marks[3]!);
    this.registers.truncate(marks[4]!);
    this.locations.truncate(marks[5]!);
    this.locationOffsets.truncate(marks[6]!);
    this.instructions.truncate(marks[7]!);
    this.connects.truncate(marks[8]!);
    this.connectBuilds.truncate(marks[9]!);
  }

  // Append an event record (the reference's start()); returns its row.
  private startEvent(kind: number, line: number): number {
    const column = this.events;
    const ev = room(column, EVENT_STRIDE);
    const at = column.length;
    ev[at + E_KIND] = kind;
    ev[at + E_LINE] = line;
    ev[at + E_KEYS] = 0;
    ev[at + E_HAS] = 0;
    ev[at + E_EXCEPTION_START] = 0;
    ev[at + E_EXCEPTION_END] = 0;
    ev[at + E_CODE] = 0;
    ev[at + E_FIRST_CHANCE] = 0;
    ev[at + E_BREAKPOINT] = 0;
    ev[at + E_BUGCHECK] = 0;
    ev[at + E_ARG_FIRST] = 0;
    ev[at + E_ARG_COUNT] = 0;
    ev[at + E_REGISTER_FIRST] = 0;
    ev[at + E_REGISTER_COUNT] = 0;
    ev[at + E_LOCATION] = -1;
    ev[at + E_INSTRUCTION] = -1;
    ev[at + E_CONNECTED] = -1;
    column.length = at + EVENT_STRIDE;
    return at / EVENT_STRIDE;
  }

  // Record that the event got a key group (its first assignment fixes its place in the key order).
  private addKey(event: number, key: number): void {
    const ev = this.events.data;
    const at = event * EVENT_STRIDE;
    const has = ev[at + E_HAS]!;
    if ((has & (1 << key)) !== 0) return;
    ev[at + E_HAS] = has | (1 << key);
    const keys = ev[at + E_KEYS]!;
    const count = keys >>> KEY_COUNT_SHIFT;
    ev[at + E_KEYS] = (keys & ((1 << KEY_COUNT_SHIFT) - 1)) | (key << (3 * count)) | ((count + 1) << KEY_COUNT_SHIFT);
  }

  // The reading itself: tryParseBreak's loop over lines, in place, each line dispatched on its first
  // and last characters to the checks that can apply, in the reference's order. Returns the row,
  // NO_RESULT or FALLBACK.
  private read(text: string, b: Uint16Array, o: number, first: number, to: number): number {
    const eventFirst = this.events.length / EVENT_STRIDE;
    const unparsedFirst = this.unparsedLines.length >> 1;
    let current = -1;
    let pendingArgs = false;
    let inBox = false;
    // Where the open box's lines begin.
    let boxFrom = 0;
    let lineNumber = 0;
    let start = first;
    for (;;) {
      // A blank line (a fifth of kd's lines around stops) is told without a search.
      let end = start >= to ? to : b[start] === 10 ? start : text.indexOf('\n', o + start) - o;
      if (end < 0 || end > to) end = to;
      lineNumber++;
      const lineStart = start;
      start = end + 1;
      line: if (end > lineStart) {
        let ts = lineStart;
        let lead = b[ts];
        if (lead === 32 || lead === 9) {
          do ts++;
          while (ts < end && isBlank(b[ts]));
          if (ts === end) break line;
          lead = b[ts];
        }
        let te = end;
        let last = b[te - 1];
        if (last === 32 || last === 9) {
          do te--;
          while (isBlank(b[te - 1]));
          last = b[te - 1];
        }
        // An odd character at either end may be white space the reference trims (neither end is blank).
        if (lead < 33 || lead > 126 || last < 33 || last > 126) return FALLBACK;
        // A prompt inside the output (mayStartPrompt of prompt.ts, a superset of matchPrompt) is left to the reference.
        if (lead === 107 || lead === 75) {
          if (b[ts + 1] === 100 && b[ts + 2] === 62) return FALLBACK;
        } else if (lead === 108) {
          if (b[ts + 2] === 100 && b[ts + 3] === 62) return FALLBACK;
        } else if (lead >= 48 && lead <= 57) {
          for (let index = ts + 1; index <= ts + 3 && index < te; index++) {
            const code = b[index];
            if (code === 58) return FALLBACK;
            if (code < 48 || code > 57) break;
          }
        }
        const has = current >= 0 ? this.events.data[current * EVENT_STRIDE + E_HAS]! : 0;
        // `(0x…,0x…)`: the arguments of the bugcheck on the line before.
        if (pendingArgs) {
          pendingArgs = false;
          if (lead === 40 && (has & HAS_BUGCHECK) !== 0 && this.readParenArgs(b, ts, te, current)) break line;
        }
        // Boxes of asterisks: the Ctrl+C banner (a breakpoint inside it is a break-in) and others.
        if (lead === 42) {
          let stars = ts + 1;
          if (te - ts === 79 && last === 42) stars = lineIs(text, o, ts, te, this.boxEdge) ? te : ts + 1;
          else while (stars < te && b[stars] === 42) stars++;
          if (stars === te && te - ts >= 20) {
            // The box's text is read only when it matters: closing it with a breakpoint current.
            if (inBox && current >= 0 && this.events.data[current * EVENT_STRIDE + E_KIND] === BREAKPOINT && boxSaysCtrlC(b, boxFrom, lineStart)) this.events.data[current * EVENT_STRIDE + E_KIND] = BREAK_IN;
            inBox = !inBox;
            boxFrom = start;
            break line;
          }
          // A line of the box (its text is read when the box closes).
          if (inBox) break line;
        }
        // `<name> - code XXXXXXXX (first|second chance)`.
        if (last === 41 && te - ts >= 8) {
          // kd's most common stop line is found by search; any other is read in parts.
          const common = te - ts === BREAK_LINE.length && lead === 66 && lineIs(text, o, ts, te, this.breakLine);
          const first = common || (matchAt(b, te - 8, W_CHANCE) && matchAt(b, te - 15, W_FIRST_CHANCE));
          const tail = first ? 31 : matchAt(b, te - 16, W_SECOND_CHANCE) ? 32 : 0;
          if (common || (tail > 0 && te - tail > ts && matchAt(b, te - tail, W_CODE) && isHexRun(b, te - tail + 8, 8))) {
            const code = te - tail + 8;
            // `.` of the reference's `(.+?)` stops at CR and the Unicode line separators.
            if (!common) for (let index = ts; index < te - tail; index++) if (isOdd(b[index])) return FALLBACK;
            let event = current;
            if (!(current >= 0 && this.events.data[current * EVENT_STRIDE + E_KIND] === BUGCHECK && (has & (HAS_EXCEPTION | HAS_LOCATION)) === 0)) {
              const kind = common || matchAt(b, code, W_BREAK_CODE) ? (this.commandBreakin ? BREAK_IN : BREAKPOINT) : EXCEPTION;
              event = current = this.startEvent(kind, lineNumber);
            }
            const ev = this.events.data;
            const at = event * EVENT_STRIDE;
            ev[at + E_EXCEPTION_START] = ts;
            ev[at + E_EXCEPTION_END] = te - tail;
            ev[at + E_CODE] = code;
            ev[at + E_FIRST_CHANCE] = first ? 1 : 0;
            this.addKey(event, KEY_EXCEPTION);
            break line;
          }
        }
        switch (lead) {
          case 66: // B
            // `Breakpoint N hit`.
            if (last === 116 && te - ts > 15 && startsAt(b, ts, te, W_BREAKPOINT) && matchAt(b, te - 4, W_HIT)) {
              let digits = ts + 11;
              while (digits < te - 4 && b[digits] >= 48 && b[digits] <= 57) digits++;
              if (digits === te - 4) {
                const number = decimalValue(b, ts + 11, te - 4);
                // Numbers past 32 bits are left to the reference.
                if (number < 0 || number > 0x7fffffff) return FALLBACK;
                current = this.startEvent(BREAKPOINT, lineNumber);
                this.events.data[current * EVENT_STRIDE + E_BREAKPOINT] = number;
                this.addKey(current, KEY_BREAKPOINT);
                break line;
              }
            }
            // `Bugcheck code XXXXXXXX`.
            if (te - ts >= 15 && te - ts <= 22 && startsAt(b, ts, te, W_BUGCHECK_CODE) && isHexRun(b, ts + 14, te - ts - 14)) {
              current = this.startBugcheck(b, ts + 14, te, lineNumber);
              break line;
            }
            break;
          case 42: // *
            // `*** Fatal System Error: 0xXXXXXXXX`, its arguments on the next line.
            if (te - ts >= 27 && te - ts <= 34 && startsAt(b, ts, te, W_FATAL) && isHexRun(b, ts + 26, te - ts - 26)) {
              current = this.startBugcheck(b, ts + 26, te, lineNumber);
              pendingArgs = true;
              break line;
            }
            break;
          case 65: // A
            // `Arguments a b c d` of a bugcheck that has none yet.
            if ((has & HAS_BUGCHECK) !== 0 && this.events.data[current * EVENT_STRIDE + E_ARG_COUNT] === 0 && this.readArgumentsLine(b, ts, te, current)) break line;
            break;
          // Reboot and reconnect banners other than `Connected to` are left to the reference.
          case 83: // S
            if (startsAt(b, ts, te, W_SHUTDOWN)) return FALLBACK;
            break;
          case 87: // W
            if (startsAt(b, ts, te, W_WAITING)) return FALLBACK;
            break;
          case 75: // K
            if (startsAt(b, ts, te, W_ESTABLISHED)) return FALLBACK;
            break;
          case 67: // C
            if (startsAt(b, ts, te, W_CONNECTED)) {
              const connected = this.readConnected(b, ts, te);
              if (connected < 0) return FALLBACK;
              // A previous reconnect event always has its connect line here, so each line starts an event.
              current = this.startEvent(RECONNECT, lineNumber);
              this.events.data[current * EVENT_STRIDE + E_CONNECTED] = connected;
              this.addKey(current, KEY_RECONNECT);
              break line;
            }
            break;
        }
        // After a connect line and before the location, version block lines are left to the reference.
        if ((has & (HAS_RECONNECT | HAS_LOCATION)) === HAS_RECONNECT && (mayStartVersionBlockLine(b, ts, te, lead) || hasKernelVersion(b, ts, te))) return FALLBACK;
        // `module!Function+0x1a:` and the instruction line after it.
        if (last === 58 && te - ts >= 3) {
          const label = this.readLabel(b, ts, te);
          if (label === LABEL_FALLBACK) return FALLBACK;
          if (label >= 0) {
            let instruction = -1;
            let nextEnd = end;
            if (end < to) {
              nextEnd = text.indexOf('\n', o + end + 1) - o;
              if (nextEnd < 0 || nextEnd > to) nextEnd = to;
              instruction = this.readInstruction(b, end + 1, nextEnd);
              if (instruction === INSTRUCTION_UNSURE) return FALLBACK;
            }
            let event = current >= 0 && (has & HAS_LOCATION) === 0 && this.events.data[current * EVENT_STRIDE + E_KIND] !== STEP ? current : -1;
            if (event < 0) event = current = this.startEvent(instruction >= 0 && this.instructionIsInt3 && !this.commandStep ? BREAKPOINT : STEP, lineNumber);
            this.events.data[event * EVENT_STRIDE + E_LOCATION] = label;
            this.addKey(event, KEY_LOCATION);
            if (instruction >= 0) {
              this.events.data[event * EVENT_STRIDE + E_INSTRUCTION] = instruction;
              this.addKey(event, KEY_INSTRUCTION);
              // The label's instruction line was read with it.
              lineNumber++;
              end = nextEnd;
              start = end + 1;
            }
            break line;
          }
        }
        // Only a lowercase first character can start a register dump, `iopl=` or `cs=`.
        if (lead >= 97 && lead <= 122) {
          // Register dump lines (`eax=… ebx=…`), added to the current event.
          const registers = this.registers.length;
          const count = this.readRegisters(b, ts, te);
          if (count < 0) return FALLBACK;
          if (count > 0) {
            if (current >= 0) {
              const ev = this.events.data;
              const at = current * EVENT_STRIDE;
              if ((has & HAS_REGISTERS) === 0) ev[at + E_REGISTER_FIRST] = registers / 3;
              ev[at + E_REGISTER_COUNT] = ev[at + E_REGISTER_COUNT]! + count;
              this.addKey(current, KEY_REGISTERS);
              break line;
            }
            this.registers.truncate(registers);
          }
          if (lead === 105 && startsAt(b, ts, te, W_IOPL)) break line;
          if (lead === 99 && (has & HAS_REGISTERS) !== 0 && te - ts > 8 && startsAt(b, ts, te, W_CS) && isLowerHexRun4(b, ts + 3)) {
            if (isBlank(b[ts + 7])) break line;
            if (isOdd(b[ts + 7])) return FALLBACK;
          }
        }
        // A stop without a label: an instruction line alone (after `t`), or the instruction of the current stop.
        if (isHex(lead)) {
          const bare = this.readInstruction(b, ts, end);
          if (bare === INSTRUCTION_UNSURE) return FALLBACK;
          if (bare >= 0) {
            if (current < 0 || (has & (HAS_LOCATION | HAS_INSTRUCTION)) !== 0) current = this.startEvent(STEP, lineNumber);
            this.events.data[current * EVENT_STRIDE + E_INSTRUCTION] = bare;
            this.addKey(current, KEY_INSTRUCTION);
            break line;
          }
        }
        const noise = isNoiseLine(b, text, o, ts, te, lead, this.noiseLines);
        if (noise === NOISE_UNSURE) return FALLBACK;
        if (noise === NOISE_YES) break line;
        const spans = room(this.unparsedLines, 2);
        const at = this.unparsedLines.length;
        spans[at] = lineStart;
        spans[at + 1] = end;
        this.unparsedLines.length = at + 2;
      }
      if (end >= to) break;
    }
    const eventEnd = this.events.length / EVENT_STRIDE;
    if (eventEnd === eventFirst) return NO_RESULT;
    const ev = this.events.data;
    const last = (eventEnd - 1) * EVENT_STRIDE;
    const lastHas = ev[last + E_HAS]!;
    const complete = (lastHas & (HAS_LOCATION | HAS_INSTRUCTION)) !== 0 || (ev[last + E_KIND] === BUGCHECK && ev[last + E_ARG_COUNT]! > 0 && (lastHas & HAS_EXCEPTION) !== 0);
    const column = this.results;
    const data = room(column, RESULT_STRIDE);
    const at = column.length;
    data[at + R_COMPLETE] = complete ? 1 : 0;
    data[at + R_EVENT_FIRST] = eventFirst;
    data[at + R_EVENT_END] = eventEnd;
    data[at + R_UNPARSED_FIRST] = unparsedFirst;
    data[at + R_UNPARSED_END] = this.unparsedLines.length >> 1;
    data[at + R_ORIGIN] = o;
    column.length = at + RESULT_STRIDE;
    return at / RESULT_STRIDE;
  }

  // Start a bugcheck event with the code in hex digits [start, end) (1–8 of them); returns its row.
  private startBugcheck(b: Uint16Array, start: number, end: number, lineNumber: number): number {
    const event = this.startEvent(BUGCHECK, lineNumber);
    const ev = this.events.data;
    ev[event * EVENT_STRIDE + E_BUGCHECK] = hexNumber(b, start, end) | 0;
    ev[event * EVENT_STRIDE + E_ARG_FIRST] = this.args.length >> 1;
    this.addKey(event, KEY_BUGCHECK);
    return event;
  }

  // Append a bugcheck argument span.
  private pushArg(start: number, end: number): void {
    const spans = room(this.args, 2);
    const at = this.args.length;
    spans[at] = start;
    spans[at + 1] = end;
    this.args.length = at + 2;
  }

  // Set the event's arguments to those appended from `first` on.
  private setArgs(event: number, first: number): void {
    const ev = this.events.data;
    ev[event * EVENT_STRIDE + E_ARG_FIRST] = first >> 1;
    ev[event * EVENT_STRIDE + E_ARG_COUNT] = (this.args.length - first) >> 1;
  }

  // `(0x…,0x…)` as the whole trimmed line: store the arguments on the event; false when it is not one.
  private readParenArgs(b: Uint16Array, ts: number, te: number, event: number): boolean {
    if (b[te - 1] !== 41) return false;
    const first = this.args.length;
    let at = ts + 1;
    for (;;) {
      if (!(b[at] === 48 && b[at + 1] === 120)) break;
      const digits = at + 2;
      let end = digits;
      while (end < te - 1 && (isHex(b[end]) || b[end] === 96)) end++;
      if (end === digits) break;
      this.pushArg(digits, end);
      if (end === te - 1) {
        this.setArgs(event, first);
        return true;
      }
      if (b[end] !== 44) break;
      at = end + 1;
    }
    this.args.truncate(first);
    return false;
  }

  // `Arguments a b c d` as the whole trimmed line: store the arguments; false when it is not one.
  private readArgumentsLine(b: Uint16Array, ts: number, te: number, event: number): boolean {
    if (te - ts < 11 || !startsAt(b, ts, te, W_ARGUMENTS)) return false;
    const lead = b[ts + 10];
    if (!(isHex(lead) || lead === 96)) return false;
    for (let index = ts + 11; index < te; index++) {
      const code = b[index];
      if (!(isHex(code) || code === 96 || code === 32)) return false;
    }
    const first = this.args.length;
    let at = ts + 10;
    while (at < te) {
      let end = at;
      while (end < te && b[end] !== 32) end++;
      this.pushArg(at, end);
      at = end;
      while (at < te && b[at] === 32) at++;
    }
    this.setArgs(event, first);
    return true;
  }

  // parseConnectedLine of version.ts on [ts, te) (known to start `Connected to Windows`): its row, or -1.
  private readConnected(b: Uint16Array, ts: number, te: number): number {
    const rest = ts + 13;
    const target = findWord(b, W_TARGET, rest, te);
    if (target < 0) return -1;
    let headEnd = target;
    const tail = target + 7;
    let arch = 0;
    for (let index = 0; index < ARCH_WORDS.length; index++) {
      const word = ARCH_WORDS[index]!;
      const at = headEnd - word.length - 1;
      if (at >= rest && b[at] === 32 && matchAt(b, at + 1, word)) {
        arch = index + 1;
        headEnd = at;
        break;
      }
    }
    // `/ (\d+)$/` on the head: the digits after its last space.
    let digits = headEnd;
    while (digits > rest && b[digits - 1] >= 48 && b[digits - 1] <= 57) digits--;
    if (digits === headEnd || digits - 1 < rest || b[digits - 1] !== 32) return -1;
    const build = decimalValue(b, digits, headEnd);
    if (build < 0) return -1;
    let ptr64 = -1;
    let ptr64At = -1;
    if (te - 12 >= tail && matchAt(b, te - 12, W_PTR64_TRUE)) {
      ptr64 = 1;
      ptr64At = te - 12;
    } else if (te - 13 >= tail && matchAt(b, te - 13, W_PTR64_FALSE)) {
      ptr64 = 0;
      ptr64At = te - 13;
    }
    let atStart = -1;
    let atEnd = -1;
    if (matchAt(b, tail, W_AT) && tail + 5 <= te) {
      atStart = tail + 5;
      atEnd = ptr64At >= 0 ? ptr64At : te;
      if (atEnd < atStart) atEnd = atStart;
      while (atEnd > atStart && isBlank(b[atEnd - 1])) atEnd--;
      if (atEnd > atStart && isOdd(b[atEnd - 1])) return -1;
      if (atEnd > atStart && b[atEnd - 1] === 41) atEnd--;
    }
    const column = this.connects;
    const con = room(column, CONNECTED_STRIDE);
    const at = column.length;
    con[at + C_NAME] = rest;
    con[at + C_NAME_END] = digits - 1;
    con[at + C_ARCH] = arch;
    con[at + C_PTR64] = ptr64;
    con[at + C_AT] = atStart;
    con[at + C_AT_END] = atEnd;
    column.length = at + CONNECTED_STRIDE;
    this.connectBuilds.push(build);
    return at / CONNECTED_STRIDE;
  }

  // isSymbolLabel and parseSymbolLocation of disasm.ts on a trimmed line ending in `:`: the location's
  // row, LABEL_NONE when the line is no label, LABEL_FALLBACK for labels the table does not hold.
  private readLabel(b: Uint16Array, ts: number, te: number): number {
    const bodyEnd = te - 1;
    // parseSymbolLocation trims the label; the symbol keeps what kd printed before the colon.
    let end = bodyEnd;
    while (end > ts && isBlank(b[end - 1])) end--;
    if (end === ts) return LABEL_NONE;
    let bang = -1;
    let plus = -1;
    // The first character that cannot be in a module name (`!` and `+` cannot).
    let notModule = -1;
    let doubleBlank = false;
    let previousBlank = false;
    for (let index = ts; index < end; index++) {
      const code = b[index];
      const flags = CHAR_CLASS[code]!;
      if ((flags & C_MODULE) !== 0) {
        previousBlank = false;
        continue;
      }
      if (notModule < 0) notModule = index;
      if (code === 33) {
        if (bang < 0) bang = index;
        previousBlank = false;
      } else if (code === 43) {
        plus = index;
        previousBlank = false;
      } else if ((flags & C_BLANK) !== 0) {
        if (previousBlank) doubleBlank = true;
        previousBlank = true;
      } else if ((flags & C_ODD) !== 0) return LABEL_FALLBACK;
      else previousBlank = false;
    }
    // `\+(0x)?([0-9a-fA-F]+)$`: only the last `+` can start it.
    let hexStart = -1;
    if (plus >= 0) {
      if (b[plus + 1] === 48 && b[plus + 2] === 120 && plus + 3 < end && isHexRun(b, plus + 3, end - plus - 3)) hexStart = plus + 3;
      else if (plus + 1 < end && isHexRun(b, plus + 1, end - plus - 1)) hexStart = plus + 1;
    }
    if (bang < 0) {
      // Without `!` the label needs `+offset` right before the colon and a module-name base.
      if (hexStart < 0 || end !== bodyEnd || doubleBlank || notModule !== plus || plus === ts) return LABEL_NONE;
    } else {
      if (doubleBlank) return LABEL_FALLBACK;
      if (bang === ts || notModule !== bang) return LABEL_NONE;
    }
    const offset = hexStart < 0 ? 0 : hexNumber(b, hexStart, end);
    if (offset < 0) return LABEL_FALLBACK;
    const baseEnd = hexStart < 0 ? end : plus;
    const column = this.locations;
    const loc = room(column, LOCATION_STRIDE);
    const at = column.length;
    loc[at + L_START] = ts;
    loc[at + L_END] = bodyEnd;
    loc[at + L_MODULE_END] = bang < 0 ? baseEnd : bang;
    loc[at + L_FUNCTION_START] = bang >= 0 && baseEnd > bang + 1 ? bang + 1 : -1;
    loc[at + L_FUNCTION_END] = baseEnd;
    column.length = at + LOCATION_STRIDE;
    this.locationOffsets.push(offset);
    return at / LOCATION_STRIDE;
  }

  // parseRegisterLine of break.ts on [ts, te): appends the registers and returns how many (0: not a
  // register line; -1: an odd character, white space to the reference's `\s+`, might make it one).
  private readRegisters(b: Uint16Array, ts: number, te: number): number {
    // The first `=` must be the line's 3rd to 5th character.
    const firstEquals = findCode(b, 61, ts, Math.min(te, ts + 5));
    if (firstEquals < ts + 2) return 0;
    const column = this.registers;
    const first = column.length;
    let at = ts;
    while (at < te) {
      // x86 dumps end the eip line with `iopl=0  nv up ei …`.
      if (b[at] === 105 && matchAt(b, at, W_IOPL)) return (column.length - first) / 3;
      // `[a-z][a-z0-9]{1,3}=[0-9a-f]+` up to the next blank, in one pass.
      let end = at + 1;
      if ((CHAR_CLASS[b[at]]! & C_LOWER) !== 0) while (end < te && (CHAR_CLASS[b[end]]! & C_MNEMONIC) !== 0) end++;
      const equals = end;
      if (end < te) while (++end < te && (CHAR_CLASS[b[end]]! & C_LOWER_HEX) !== 0);
      if (equals >= te || b[equals] !== 61 || equals < at + 2 || equals > at + 4 || end === equals + 1 || (end < te && !isBlank(b[end])) || (CHAR_CLASS[b[at]]! & C_LOWER) === 0) {
        column.truncate(first);
        for (let index = ts; index < te; index++) if (isOdd(b[index])) return -1;
        return 0;
      }
      const spans = room(column, 3);
      const row = column.length;
      spans[row] = at;
      spans[row + 1] = equals;
      spans[row + 2] = end;
      column.length = row + 3;
      at = end;
      while (at < te && isBlank(b[at])) at++;
    }
    return (column.length - first) / 3;
  }

  // parseInstructionLine of disasm.ts on the raw line [lineStart, lineEnd): the instruction's row, -1
  // when it is none, INSTRUCTION_UNSURE when an odd character leaves the reading to the reference.
  private readInstruction(b: Uint16Array, lineStart: number, lineEnd: number): number {
    let at = lineStart;
    if (at >= lineEnd) return -1;
    let code = b[at];
    while (code === 32 || code === 9) {
      if (++at >= lineEnd) return -1;
      code = b[at];
    }
    if ((CHAR_CLASS[code]! & C_HEX) === 0) return (CHAR_CLASS[code]! & C_ODD) !== 0 ? INSTRUCTION_UNSURE : -1;
    // `^\s*(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?) (?=\S)`
    let segment = -1;
    if (at + 5 <= lineEnd && b[at + 4] === 58 && isHexRun(b, at, 4)) {
      segment = at;
      at += 5;
    }
    if (at + 8 >= lineEnd) return -1;
    let addressEnd = at + 8;
    const after = b[addressEnd];
    if (after !== 32 && after !== 96) return -1;
    for (let index = at; index < addressEnd; index++) if ((CHAR_CLASS[b[index]]! & C_HEX) === 0) return -1;
    if (after === 96 && addressEnd + 9 <= lineEnd && isHexRun(b, addressEnd + 1, 8)) addressEnd += 9;
    if (b[addressEnd] !== 32 || addressEnd + 1 >= lineEnd || isBlank(b[addressEnd + 1])) return -1;
    const rest = addressEnd + 1;
    let restEnd = lineEnd;
    while (isBlank(b[restEnd - 1])) restEnd--;
    // Where the reference trims or looks for `\S`, an odd character may be white space to it.
    if ((CHAR_CLASS[b[rest]]! & C_ODD) !== 0 || (CHAR_CLASS[b[restEnd - 1]]! & C_ODD) !== 0) return INSTRUCTION_UNSURE;
    // The first word (up to a space), and whether it is all lowercase hex.
    let firstEnd = rest;
    let lowerHex = C_LOWER_HEX;
    for (; firstEnd < restEnd; firstEnd++) {
      const next = b[firstEnd];
      if (next === 32) break;
      lowerHex &= CHAR_CLASS[next]!;
    }
    // The bytes column is the first word when it is an even run of lowercase hex and a mnemonic follows.
    let bytes = 0;
    let bytesEnd = 0;
    let body = rest;
    let mnemonicEnd = firstEnd;
    let mnemonicKnown = false;
    if (firstEnd < restEnd) {
      let afterFirst = firstEnd + 1;
      while (afterFirst < restEnd && isBlank(b[afterFirst])) afterFirst++;
      if ((CHAR_CLASS[b[afterFirst]]! & C_ODD) !== 0) return INSTRUCTION_UNSURE;
      const length = firstEnd - rest;
      if (length >= 2 && (length & 1) === 0 && lowerHex !== 0) {
        let secondEnd = afterFirst;
        while (secondEnd < restEnd && b[secondEnd] !== 32) secondEnd++;
        if (isMnemonicSpan(b, afterFirst, secondEnd)) {
          bytes = rest;
          bytesEnd = firstEnd;
          body = afterFirst;
          mnemonicEnd = secondEnd;
          mnemonicKnown = true;
        }
      }
    }
    let operands = restEnd;
    let operandsEnd = restEnd;
    if (mnemonicEnd < restEnd) {
      operands = mnemonicEnd + 1;
      while (operands < restEnd && isBlank(b[operands])) operands++;
      if ((CHAR_CLASS[b[operands]]! & C_ODD) !== 0) return INSTRUCTION_UNSURE;
    }
    if (!mnemonicKnown && !isMnemonicSpan(b, body, mnemonicEnd)) return -1;
    let word = -1;
    let wordEnd = -1;
    if (operands < operandsEnd && isPrefix(b, body, mnemonicEnd)) {
      let next = findCode(b, 32, operands, operandsEnd);
      if (next < 0) next = operandsEnd;
      if (isMnemonicSpan(b, operands, next)) {
        word = operands;
        wordEnd = next;
        operands = next;
        while (operands < operandsEnd && isBlank(b[operands])) operands++;
        if (operands < operandsEnd && isOdd(b[operands])) return INSTRUCTION_UNSURE;
      }
    }
    // ` ([a-z]{2}:[0-9a-f]{4}:[0-9a-fA-F`]+=[0-9a-fA-F?]+)$`: only the last space can start it.
    let effective = -1;
    let effectiveEnd = -1;
    const lastOperand = b[operandsEnd - 1];
    if (operands < operandsEnd && ((CHAR_CLASS[lastOperand]! & C_HEX) !== 0 || lastOperand === 63)) {
      const space = lastCode(b, 32, operands, operandsEnd);
      if (space >= 0 && isEffectiveAddress(b, space + 1, operandsEnd)) {
        effective = space + 1;
        effectiveEnd = operandsEnd;
        operandsEnd = space;
        while (operandsEnd > operands && isBlank(b[operandsEnd - 1])) operandsEnd--;
        if (operandsEnd > operands && isOdd(b[operandsEnd - 1])) return INSTRUCTION_UNSURE;
      }
    }
    // `\(([0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?)\)$` on the operands left.
    let target = -1;
    let targetEnd = -1;
    if (operandsEnd - operands >= 10 && b[operandsEnd - 1] === 41) {
      if (b[operandsEnd - 10] === 40 && isHexRun(b, operandsEnd - 9, 8)) target = operandsEnd - 9;
      else if (operandsEnd - operands >= 19 && b[operandsEnd - 19] === 40 && b[operandsEnd - 10] === 96 && isHexRun(b, operandsEnd - 18, 8) && isHexRun(b, operandsEnd - 9, 8)) target = operandsEnd - 18;
      if (target >= 0) targetEnd = operandsEnd - 1;
    }
    this.instructionIsInt3 = word < 0 && mnemonicEnd - body === 3 && operandsEnd - operands === 1 && b[operands] === 51 && matchAt(b, body, W_INT);
    const column = this.instructions;
    const ins = room(column, INSTRUCTION_STRIDE);
    const row = column.length;
    ins[row + I_ADDRESS] = at;
    ins[row + I_ADDRESS_END] = addressEnd;
    ins[row + I_BYTES] = bytes;
    ins[row + I_BYTES_END] = bytesEnd;
    ins[row + I_MNEMONIC] = body;
    ins[row + I_MNEMONIC_END] = mnemonicEnd;
    ins[row + I_WORD] = word;
    ins[row + I_WORD_END] = wordEnd;
    ins[row + I_OPERANDS] = operands;
    ins[row + I_OPERANDS_END] = operandsEnd;
    ins[row + I_SEGMENT] = segment;
    ins[row + I_EFFECTIVE] = effective;
    ins[row + I_EFFECTIVE_END] = effectiveEnd;
    ins[row + I_TARGET] = target;
    ins[row + I_TARGET_END] = targetEnd;
    column.length = row + INSTRUCTION_STRIDE;
    return row / INSTRUCTION_STRIDE;
  }
}

// What readInstruction says when an odd character leaves it unsure.
const INSTRUCTION_UNSURE = -2;

// What readLabel says besides a location row.
const LABEL_NONE = -1;
const LABEL_FALLBACK = -2;

// What isNoiseLine says.
const NOISE_NO = 0;
const NOISE_YES = 1;
const NOISE_UNSURE = 2;

// The last `code` in [start, end), or -1.
function lastCode(b: Uint16Array, code: number, start: number, end: number): number {
  for (let index = end - 1; index >= start; index--) if (b[index] === code) return index;
  return -1;
}

// Lowercase hex digits only, [start, end).
function isLowerHexSpan(b: Uint16Array, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (!isLowerHex(b[index])) return false;
  return true;
}

// Four lowercase hex digits at `at`.
function isLowerHexRun4(b: Uint16Array, at: number): boolean {
  return isLowerHexSpan(b, at, at + 4);
}

// A prefix disasm.ts joins to the next word (`rep movsb`).
function isPrefix(b: Uint16Array, start: number, end: number): boolean {
  const lead = b[start];
  if (lead !== 114 && lead !== 108) return false;
  for (let index = 0; index < PREFIXES.length; index++) if (spanIs(b, start, end, PREFIXES[index]!)) return true;
  return false;
}

// `[a-z]{2}:[0-9a-f]{4}:[0-9a-fA-F`]+=[0-9a-fA-F?]+` as all of [start, end).
function isEffectiveAddress(b: Uint16Array, start: number, end: number): boolean {
  if (end - start < 11) return false;
  for (let index = start; index < start + 2; index++) {
    const code = b[index];
    if (code < 97 || code > 122) return false;
  }
  if (b[start + 2] !== 58 || !isLowerHexRun4(b, start + 3) || b[start + 7] !== 58) return false;
  let at = start + 8;
  while (at < end && (isHex(b[at]) || b[at] === 96)) at++;
  if (at === start + 8 || at >= end || b[at] !== 61) return false;
  at++;
  if (at >= end) return false;
  for (; at < end; at++) {
    const code = b[at];
    if (!(isHex(code) || code === 63)) return false;
  }
  return true;
}

// VERSION_BLOCK_STARTS by their first character (ASCII code → starts; empty for most).
const NO_STARTS: readonly Uint8Array[] = [];
const VERSION_BLOCK_BY_LEAD: (readonly Uint8Array[])[] = Array.from({ length: 128 }, (_, code) => {
  const starts = VERSION_BLOCK_STARTS.filter((start) => start.charCodeAt(0) === code);
  return starts.length > 0 ? starts.map(codes) : NO_STARTS;
});

// True when a line's start may make it part of a reboot banner's version block (widened: false only when surely not).
function mayStartVersionBlockLine(b: Uint16Array, ts: number, te: number, lead: number): boolean {
  if (lead === 42) {
    // `^\*+ Path validation summary \*+$`
    let stars = ts;
    while (stars < te && b[stars] === 42) stars++;
    return matchAt(b, stars, W_PATH_VALIDATION);
  }
  const starts = lead < 128 ? VERSION_BLOCK_BY_LEAD[lead]! : NO_STARTS;
  for (let index = 0; index < starts.length; index++) if (startsAt(b, ts, te, starts[index]!)) return true;
  return false;
}

// STOP_NOISE of break.ts and isReloadNoiseLine of reload.ts on the trimmed line; unsure for rare shapes.
function isNoiseLine(b: Uint16Array, text: string, o: number, ts: number, te: number, lead: number, noise: readonly NextOccurrence[]): number {
  switch (lead) {
    case 65: // A
      return lineIs(text, o, ts, te, noise[0]!) ? NOISE_YES : NOISE_NO;
    case 70: // F
      return lineIs(text, o, ts, te, noise[3]!) ? NOISE_YES : NOISE_NO;
    case 75: // K
      return lineIs(text, o, ts, te, noise[4]!) ? NOISE_YES : NOISE_NO;
    case 76: // L
      return lineIs(text, o, ts, te, noise[5]!) || lineIs(text, o, ts, te, noise[6]!) || lineIs(text, o, ts, te, noise[7]!) ? NOISE_YES : NOISE_NO;
    case 68: // D
      return lineIs(text, o, ts, te, noise[1]!) || lineIs(text, o, ts, te, noise[2]!) ? NOISE_YES : isWordThenMore(b, ts, te, W_DEFERRED);
    case 79: // O
      return isWordThenMore(b, ts, te, W_OK);
    case 83: // S
      return startsAt(b, ts, te, W_SYMBOL_PATH) ? NOISE_YES : NOISE_NO;
    case 69: // E
      return startsAt(b, ts, te, W_EXECUTABLE_PATH) ? NOISE_YES : NOISE_NO;
    case 82: // R
      return startsAt(b, ts, te, W_RESPONSE) ? NOISE_UNSURE : NOISE_NO;
    case 42: {
      // `^\*+ Path validation summary \*+$`
      let stars = ts;
      while (stars < te && b[stars] === 42) stars++;
      if (!startsAt(b, stars, te, W_PATH_VALIDATION_SUMMARY)) return NOISE_NO;
      let tail = stars + 25;
      if (tail >= te) return NOISE_NO;
      while (tail < te && b[tail] === 42) tail++;
      return tail === te ? NOISE_YES : NOISE_NO;
    }
    case 46: // .
    case 85: {
      // Progress dots, alone or before `Unable to …`.
      let at = ts;
      while (at < te && b[at] === 46) at++;
      if (at === te) return NOISE_YES;
      return startsAt(b, at, te, W_UNABLE_ENUMERATE) || startsAt(b, at, te, W_UNABLE_READ) ? NOISE_YES : NOISE_NO;
    }
    default:
      return NOISE_NO;
  }
}

// `Kernel Version ` and, for each character code below 128, how far a Horspool search may skip
// when that character ends the window (any other character: the whole word).
const KERNEL_VERSION = codes('Kernel Version ');
const KERNEL_VERSION_SKIP = new Uint8Array(128).fill(KERNEL_VERSION.length);
for (let index = 0; index < KERNEL_VERSION.length - 1; index++) KERNEL_VERSION_SKIP[KERNEL_VERSION[index]!] = KERNEL_VERSION.length - 1 - index;

// True when `Kernel Version ` occurs inside [ts, te) (a Horspool search: most windows are skipped whole).
function hasKernelVersion(b: Uint16Array, ts: number, te: number): boolean {
  const length = KERNEL_VERSION.length;
  for (let at = ts; at + length <= te; ) {
    const last = b[at + length - 1];
    if (last === 32 && matchAt(b, at, KERNEL_VERSION)) return true;
    at += last < 128 ? KERNEL_VERSION_SKIP[last]! : length;
  }
  return false;
}

// True when a line of the box [from, to) (all lines that start with `*` inside it) says `CTRL+C`, as
// the reference's joined box text would.
function boxSaysCtrlC(b: Uint16Array, from: number, to: number): boolean {
  let hit = findWord(b, W_CTRL_C, from, to);
  while (hit >= 0) {
    let lineStart = hit;
    while (lineStart > from && b[lineStart - 1] !== 10) lineStart--;
    while (isBlank(b[lineStart])) lineStart++;
    if (b[lineStart] === 42) return true;
    // Not box text: go on after this line (each line is walked once).
    const lineEnd = findCode(b, 10, hit, to);
    if (lineEnd < 0) return false;
    hit = findWord(b, W_CTRL_C, lineEnd + 1, to);
  }
  return false;
}

// `^(?:Deferred|OK)\s+\S` for one of the words.
function isWordThenMore(b: Uint16Array, ts: number, te: number, word: Uint8Array): number {
  if (!startsAt(b, ts, te, word)) return NOISE_NO;
  let at = ts + word.length;
  if (at >= te) return NOISE_NO;
  const next = b[at];
  if (isOdd(next)) return NOISE_UNSURE;
  if (!isBlank(next)) return NOISE_NO;
  while (at < te && isBlank(b[at])) at++;
  return at < te ? NOISE_YES : NOISE_NO;
}
