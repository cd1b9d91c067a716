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
 */
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
const ARCH_WORDS: readonly string[] = ['x86 compatible', 'ARM 64-bit (AArch64)', 'x64', 'x86'];
const ARCH_VALUES: readonly KdArch[] = ['x86', 'arm64', 'x64', 'x86'];

// Words disasm.ts refuses as mnemonics, and the prefixes it joins to the next word.
const OPERAND_WORDS: readonly string[] = ['byte', 'word', 'dword', 'qword', 'tbyte', 'fword', 'xmmword', 'ymmword', 'zmmword', 'ptr', 'st'];
const PREFIXES: readonly string[] = ['rep', 'repe', 'repz', 'repne', 'repnz', 'lock'];

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
function isHexRun(text: string, at: number, count: number): boolean {
  for (let index = at; index < at + count; index++) if (!isHex(text.charCodeAt(index))) return false;
  return true;
}

// A character of the module names parseSymbolLocation accepts ([A-Za-z0-9_.-]).
function isModuleChar(code: number): boolean {
  return (code >= 48 && code <= 57) || ((code | 32) >= 97 && (code | 32) <= 122) || code === 95 || code === 46 || code === 45;
}

// `word` is at `at` in the text (a compare loop: cheaper than startsWith with a position in V8).
function matchAt(text: string, at: number, word: string): boolean {
  if (at < 0 || at + word.length > text.length) return false;
  for (let index = 0; index < word.length; index++) if (text.charCodeAt(at + index) !== word.charCodeAt(index)) return false;
  return true;
}

// `word` starts the trimmed line [ts, te) (never reads past its end).
function startsAt(text: string, ts: number, te: number, word: string): boolean {
  return te - ts >= word.length && matchAt(text, ts, word);
}

// `text[start, end)` equals `word`.
function spanIs(text: string, start: number, end: number, word: string): boolean {
  return end - start === word.length && matchAt(text, start, word);
}

// The first `code` in [start, end), or -1.
function findCode(text: string, code: number, start: number, end: number): number {
  for (let index = start; index < end; index++) if (text.charCodeAt(index) === code) return index;
  return -1;
}

// The first occurrence of `word` inside [start, end), or -1 (never looks past `end`).
function findWord(text: string, word: string, start: number, end: number): number {
  const first = word.charCodeAt(0);
  for (let index = start; index + word.length <= end; index++) if (text.charCodeAt(index) === first && matchAt(text, index, word)) return index;
  return -1;
}

// isMnemonic of disasm.ts on a span: /^[a-z][a-z0-9]*$/ and not an operand word.
function isMnemonicSpan(text: string, start: number, end: number): boolean {
  if (end <= start) return false;
  const lead = text.charCodeAt(start);
  if (lead < 97 || lead > 122) return false;
  for (let index = start + 1; index < end; index++) {
    const code = text.charCodeAt(index);
    if (!((code >= 97 && code <= 122) || (code >= 48 && code <= 57))) return false;
  }
  for (const word of OPERAND_WORDS) if (spanIs(text, start, end, word)) return false;
  return true;
}

// Digits [start, end) as a number, or -1 when they might not convert exactly (more than 15 significant digits).
function decimalValue(text: string, start: number, end: number): number {
  let value = 0;
  let significant = 0;
  for (let index = start; index < end; index++) {
    const digit = text.charCodeAt(index) - 48;
    if (significant > 0 || digit !== 0) significant++;
    value = value * 10 + digit;
  }
  return significant > 15 ? -1 : value;
}

// Hex digits [start, end) as a number, or -1 when more than 52 bits (parseInt may round them).
function hexNumber(text: string, start: number, end: number): number {
  let value = 0;
  let significant = 0;
  for (let index = start; index < end; index++) {
    const digit = hexValue(text.charCodeAt(index));
    if (significant > 0 || digit !== 0) significant++;
    value = value * 16 + digit;
  }
  return significant > 13 ? -1 : value;
}

/** Stop outputs held as columns; equal to tryParseBreak's results through `result(text, row)`. */
export class BreakTable implements ColumnTable<BreakResult> {
  // Per result: complete flag, events and unparsed lines (first, end).
  private readonly resultComplete = new Int32Column(256);
  private readonly resultEventFirst = new Int32Column(256);
  private readonly resultEventEnd = new Int32Column(256);
  private readonly resultUnparsedFirst = new Int32Column(256);
  private readonly resultUnparsedEnd = new Int32Column(256);
  // Per unparsed line: its span in the log.
  private readonly unparsedStart = new Int32Column();
  private readonly unparsedEnd = new Int32Column();
  // Per event: kind, 1-based line, key order (3 bits a group, count above), groups present (bit per group).
  private readonly evKind = new Int32Column(256);
  private readonly evLine = new Int32Column(256);
  private readonly evKeys = new Int32Column(256);
  private readonly evHas = new Int32Column(256);
  // Per event: exception name span, code start (8 characters), first chance (1/0).
  private readonly evExceptionStart = new Int32Column(256);
  private readonly evExceptionEnd = new Int32Column(256);
  private readonly evCode = new Int32Column(256);
  private readonly evFirstChance = new Int32Column(256);
  // Per event: breakpoint number and bugcheck code.
  private readonly evBreakpoint = new Float64Column(256);
  private readonly evBugcheck = new Float64Column(256);
  // Per event: bugcheck arguments, registers (first, count) and rows of location, instruction, connect line (-1: none).
  private readonly evArgFirst = new Int32Column(256);
  private readonly evArgCount = new Int32Column(256);
  private readonly evRegisterFirst = new Int32Column(256);
  private readonly evRegisterCount = new Int32Column(256);
  private readonly evLocation = new Int32Column(256);
  private readonly evInstruction = new Int32Column(256);
  private readonly evConnected = new Int32Column(256);
  // Per bugcheck argument: span (without `0x`), lowercased and one backtick dropped in result.
  private readonly argStart = new Int32Column(256);
  private readonly argEnd = new Int32Column(256);
  // Per register: name start, the `=`, value end.
  private readonly regStart = new Int32Column();
  private readonly regEquals = new Int32Column();
  private readonly regEnd = new Int32Column();
  // Per location: the label (symbol) span, module end, function span (-1: none), offset.
  private readonly locStart = new Int32Column(256);
  private readonly locEnd = new Int32Column(256);
  private readonly locModuleEnd = new Int32Column(256);
  private readonly locFunctionStart = new Int32Column(256);
  private readonly locFunctionEnd = new Int32Column(256);
  private readonly locOffset = new Float64Column(256);
  // Per instruction: spans of address, bytes, mnemonic, prefixed word (-1), operands, segment (-1, 4 long),
  // effective address (-1) and branch target (-1).
  private readonly insAddress = new Int32Column(256);
  private readonly insAddressEnd = new Int32Column(256);
  private readonly insBytes = new Int32Column(256);
  private readonly insBytesEnd = new Int32Column(256);
  private readonly insMnemonic = new Int32Column(256);
  private readonly insMnemonicEnd = new Int32Column(256);
  private readonly insWord = new Int32Column(256);
  private readonly insWordEnd = new Int32Column(256);
  private readonly insOperands = new Int32Column(256);
  private readonly insOperandsEnd = new Int32Column(256);
  private readonly insSegment = new Int32Column(256);
  private readonly insEffective = new Int32Column(256);
  private readonly insEffectiveEnd = new Int32Column(256);
  private readonly insTarget = new Int32Column(256);
  private readonly insTargetEnd = new Int32Column(256);
  // Per `Connected to` line: name span, build, arch code (0 none), ptr64 (-1 none), `at` span (-1 none).
  private readonly conName = new Int32Column(64);
  private readonly conNameEnd = new Int32Column(64);
  private readonly conBuild = new Float64Column(64);
  private readonly conArch = new Int32Column(64);
  private readonly conPtr64 = new Int32Column(64);
  private readonly conAt = new Int32Column(64);
  private readonly conAtEnd = new Int32Column(64);

  // Every column, for undoing an output that fell back, and their lengths when the scan began.
  private readonly int32Columns: Int32Column[];
  private readonly float64Columns: Float64Column[];
  private readonly int32Lengths: Int32Array;
  private readonly float64Lengths: Int32Array;

  // Where `Kernel Version ` next occurs in the text last scanned (found at or after kernelVersionFrom; -1: nowhere).
  private kernelVersionText: string | undefined;
  private kernelVersionFrom = 0;
  private kernelVersionAt = -1;

  // The command last seen and what it says: `.breakin` (a break is a break-in) and `t`/`p` (a stop is a step).
  private lastCommand: string | undefined;
  private commandBreakin = false;
  private commandStep = false;

  // The instruction parseInstruction found last: is it `int 3`.
  private instructionIsInt3 = false;

  constructor() {
    this.int32Columns = [];
    this.float64Columns = [];
    for (const value of Object.values(this)) {
      if (value instanceof Int32Column) this.int32Columns.push(value);
      else if (value instanceof Float64Column) this.float64Columns.push(value);
    }
    this.int32Lengths = new Int32Array(this.int32Columns.length);
    this.float64Lengths = new Int32Array(this.float64Columns.length);
  }

  /** How many results the table holds. */
  get size(): number {
    return this.resultComplete.length;
  }

  /** The result's `complete` flag. */
  complete(row: number): boolean {
    return this.resultComplete.at(row) === 1;
  }

  /** The result's unparsed lines. */
  unparsed(text: string, row: number): string[] {
    const lines: string[] = [];
    for (let index = this.resultUnparsedFirst.at(row); index < this.resultUnparsedEnd.at(row); index++) {
      lines.push(text.slice(this.unparsedStart.at(index), this.unparsedEnd.at(index)));
    }
    return lines;
  }

  /** The result at `row`, as tryParseBreak returns it for the same output. */
  result(text: string, row: number): BreakResult {
    const result: BreakResult = { complete: this.complete(row), unparsed: this.unparsed(text, row), events: [] };
    for (let event = this.resultEventFirst.at(row); event < this.resultEventEnd.at(row); event++) result.events.push(this.event(text, event));
    return result;
  }

  // Build one event object, its keys in the order the reference assigned them.
  private event(text: string, row: number): StopEvent {
    const event: StopEvent = { kind: KIND_NAMES[this.evKind.at(row)]!, line: this.evLine.at(row) };
    const keys = this.evKeys.at(row);
    const count = keys >>> KEY_COUNT_SHIFT;
    for (let slot = 0; slot < count; slot++) {
      const key = (keys >>> (3 * slot)) & 7;
      if (key === KEY_EXCEPTION) {
        event.exception = text.slice(this.evExceptionStart.at(row), this.evExceptionEnd.at(row));
        const code = this.evCode.at(row);
        event.code = text.slice(code, code + 8).toLowerCase();
        event.firstChance = this.evFirstChance.at(row) === 1;
      } else if (key === KEY_BREAKPOINT) {
        event.breakpoint = this.evBreakpoint.at(row);
      } else if (key === KEY_BUGCHECK) {
        const args: string[] = [];
        const first = this.evArgFirst.at(row);
        for (let arg = first; arg < first + this.evArgCount.at(row); arg++) args.push(text.slice(this.argStart.at(arg), this.argEnd.at(arg)).replace('`', '').toLowerCase());
        event.bugcheck = { code: this.evBugcheck.at(row), args };
      } else if (key === KEY_RECONNECT) {
        event.reconnect = { waiting: false, established: false, connected: this.connected(text, this.evConnected.at(row)) };
      } else if (key === KEY_LOCATION) {
        const at = this.evLocation.at(row);
        const start = this.locStart.at(at);
        const location = { module: text.slice(start, this.locModuleEnd.at(at)), offset: this.locOffset.at(at) } as NonNullable<StopEvent['location']>;
        if (this.locFunctionStart.at(at) >= 0) location.function = text.slice(this.locFunctionStart.at(at), this.locFunctionEnd.at(at));
        location.symbol = text.slice(start, this.locEnd.at(at));
        event.location = location;
      } else if (key === KEY_INSTRUCTION) {
        event.instruction = this.instruction(text, this.evInstruction.at(row));
      } else if (key === KEY_REGISTERS) {
        const registers: Record<string, string> = {};
        const first = this.evRegisterFirst.at(row);
        for (let reg = first; reg < first + this.evRegisterCount.at(row); reg++) {
          const equals = this.regEquals.at(reg);
          registers[text.slice(this.regStart.at(reg), equals)] = text.slice(equals + 1, this.regEnd.at(reg));
        }
        event.registers = registers;
      }
    }
    return event;
  }

  // Build an instruction object with disasm.ts's key order.
  private instruction(text: string, row: number): Instruction {
    const word = this.insWord.at(row);
    const mnemonic = text.slice(this.insMnemonic.at(row), this.insMnemonicEnd.at(row));
    const instruction: Instruction = {
      address: text.slice(this.insAddress.at(row), this.insAddressEnd.at(row)).replace('`', '').toLowerCase(),
      bytes: text.slice(this.insBytes.at(row), this.insBytesEnd.at(row)),
      mnemonic: word < 0 ? mnemonic : `${mnemonic} ${text.slice(word, this.insWordEnd.at(row))}`,
      operands: text.slice(this.insOperands.at(row), this.insOperandsEnd.at(row)),
    };
    const segment = this.insSegment.at(row);
    if (segment >= 0) instruction.segment = text.slice(segment, segment + 4);
    if (this.insEffective.at(row) >= 0) instruction.effectiveAddress = text.slice(this.insEffective.at(row), this.insEffectiveEnd.at(row));
    if (this.insTarget.at(row) >= 0) instruction.target = text.slice(this.insTarget.at(row), this.insTargetEnd.at(row)).replace('`', '').toLowerCase();
    return instruction;
  }

  // Build a `Connected to` object with version.ts's key order.
  private connected(text: string, row: number): ConnectedTarget {
    const connected: ConnectedTarget = { name: text.slice(this.conName.at(row), this.conNameEnd.at(row)), build: this.conBuild.at(row) };
    const arch = this.conArch.at(row);
    if (arch > 0) connected.arch = ARCH_VALUES[arch - 1]!;
    const ptr64 = this.conPtr64.at(row);
    if (ptr64 >= 0) connected.ptr64 = ptr64 === 1;
    if (this.conAt.at(row) >= 0) connected.at = text.slice(this.conAt.at(row), this.conAtEnd.at(row));
    return connected;
  }

  /**
   * Read the stop output `text[from, to)` (the answer to go command `command`) into the table.
   * Returns its row, NO_RESULT where tryParseBreak finds no stop, or FALLBACK for a shape not held.
   */
  scan(text: string, from: number, to: number, command: string): number {
    if (!(from >= 0 && to <= text.length && from <= to)) return FALLBACK;
    this.readCommand(command);
    this.mark();
    const outcome = this.read(text, from, to);
    if (outcome < 0) this.undo();
    return outcome;
  }

  // Note what the go command says about bare stops (the reference's `.breakin` and `t`/`p` tests).
  private readCommand(command: string): void {
    if (command === this.lastCommand) return;
    const trimmed = typeof command === 'string' ? command.trim() : '';
    this.lastCommand = command;
    this.commandBreakin = /^\.breakin\b/.test(trimmed);
    this.commandStep = /^[tp]/.test(trimmed);
  }

  // True when `Kernel Version ` occurs inside [ts, te); the search is remembered, so a log read front
  // to back is searched once however many lines ask.
  private hasKernelVersion(text: string, ts: number, te: number): boolean {
    if (text !== this.kernelVersionText || ts < this.kernelVersionFrom || (this.kernelVersionAt >= 0 && this.kernelVersionAt < ts)) {
      this.kernelVersionAt = text.indexOf('Kernel Version ', ts);
      this.kernelVersionText = text;
      this.kernelVersionFrom = ts;
    }
    return this.kernelVersionAt >= 0 && this.kernelVersionAt + 15 <= te;
  }

  // Remember every column's length.
  private mark(): void {
    for (let index = 0; index < this.int32Columns.length; index++) this.int32Lengths[index] = this.int32Columns[index]!.length;
    for (let index = 0; index < this.float64Columns.length; index++) this.float64Lengths[index] = this.float64Columns[index]!.length;
  }

  // Cut every column back to its remembered length.
  private undo(): void {
    for (let index = 0; index < this.int32Columns.length; index++) this.int32Columns[index]!.truncate(this.int32Lengths[index]!);
    for (let index = 0; index < this.float64Columns.length; index++) this.float64Columns[index]!.truncate(this.float64Lengths[index]!);
  }

  // Append an event row (the reference's start()); returns it.
  private startEvent(kind: number, line: number): number {
    this.evKind.push(kind);
    this.evLine.push(line);
    this.evKeys.push(0);
    this.evHas.push(0);
    this.evExceptionStart.push(0);
    this.evExceptionEnd.push(0);
    this.evCode.push(0);
    this.evFirstChance.push(0);
    this.evBreakpoint.push(0);
    this.evBugcheck.push(0);
    this.evArgFirst.push(0);
    this.evArgCount.push(0);
    this.evRegisterFirst.push(0);
    this.evRegisterCount.push(0);
    this.evLocation.push(-1);
    this.evInstruction.push(-1);
    return this.evConnected.push(-1);
  }

  // True when the event has the key group.
  private has(event: number, key: number): boolean {
    return (this.evHas.at(event) & (1 << key)) !== 0;
  }

  // Record that the event got a key group (first assignment fixes its place in the key order).
  private addKey(event: number, key: number): void {
    const has = this.evHas.at(event);
    if ((has & (1 << key)) !== 0) return;
    this.evHas.set(event, has | (1 << key));
    const keys = this.evKeys.at(event);
    const count = keys >>> KEY_COUNT_SHIFT;
    this.evKeys.set(event, ((keys & ((1 << KEY_COUNT_SHIFT) - 1)) | (key << (3 * count))) | ((count + 1) << KEY_COUNT_SHIFT));
  }

  // The reading itself: tryParseBreak's loop over lines, in place. Returns the row, NO_RESULT or FALLBACK.
  private read(text: string, from: number, to: number): number {
    const eventFirst = this.evKind.length;
    const unparsedFirst = this.unparsedStart.length;
    let current = -1;
    let pendingArgs = false;
    let inBox = false;
    let boxCtrlC = false;
    let lineNumber = 0;
    let start = from;
    for (;;) {
      let end = start < to ? text.indexOf('\n', start) : to;
      if (end < 0 || end > to) end = to;
      lineNumber++;
      const lineStart = start;
      const lineEnd = end;
      start = end + 1;
      let ts = lineStart;
      let te = lineEnd;
      while (ts < te && isBlank(text.charCodeAt(ts))) ts++;
      if (ts < te) {
        while (isBlank(text.charCodeAt(te - 1))) te--;
        const lead = text.charCodeAt(ts);
        // An odd character at either end may be white space the reference trims.
        if (isOdd(lead) || isOdd(text.charCodeAt(te - 1))) return FALLBACK;
        // A prompt inside the output (mayStartPrompt of prompt.ts, a superset of matchPrompt) is left to the reference.
        if (lead === 107 || lead === 75) {
          if (text.charCodeAt(ts + 1) === 100 && text.charCodeAt(ts + 2) === 62) return FALLBACK;
        } else if (lead === 108) {
          if (text.charCodeAt(ts + 2) === 100 && text.charCodeAt(ts + 3) === 62) return FALLBACK;
        } else if (lead >= 48 && lead <= 57) {
          for (let index = ts + 1; index <= ts + 3 && index < te; index++) {
            const code = text.charCodeAt(index);
            if (code === 58) return FALLBACK;
            if (code < 48 || code > 57) break;
          }
        }
        const outcome = this.readLine(text, lineStart, lineEnd, ts, te, lead, lineNumber, current, pendingArgs, inBox, boxCtrlC, to);
        if (outcome === LINE_FALLBACK) return FALLBACK;
        // The line's effects on the loop's state come back in fields (no object per line).
        current = this.lineCurrent;
        pendingArgs = this.linePendingArgs;
        inBox = this.lineInBox;
        boxCtrlC = this.lineBoxCtrlC;
        if (outcome === LINE_SKIP_NEXT) {
          // The label's instruction line was read with it.
          lineNumber++;
          end = this.lineNextEnd;
          start = end + 1;
        }
      }
      if (end >= to) break;
    }
    const eventEnd = this.evKind.length;
    if (eventEnd === eventFirst) return NO_RESULT;
    const last = eventEnd - 1;
    const complete =
      this.has(last, KEY_LOCATION) ||
      this.has(last, KEY_INSTRUCTION) ||
      (this.evKind.at(last) === BUGCHECK && this.evArgCount.at(last) > 0 && this.has(last, KEY_EXCEPTION));
    this.resultEventFirst.push(eventFirst);
    this.resultEventEnd.push(eventEnd);
    this.resultUnparsedFirst.push(unparsedFirst);
    this.resultUnparsedEnd.push(this.unparsedStart.length);
    return this.resultComplete.push(complete ? 1 : 0);
  }

  // State a line hands back to the loop.
  private lineCurrent = -1;
  private linePendingArgs = false;
  private lineInBox = false;
  private lineBoxCtrlC = false;
  private lineNextEnd = 0;

  // One non-blank line [lineStart, lineEnd), trimmed to [ts, te), not a prompt: the reference's checks in its order.
  private readLine(
    text: string,
    lineStart: number,
    lineEnd: number,
    ts: number,
    te: number,
    lead: number,
    lineNumber: number,
    current: number,
    pendingArgs: boolean,
    inBox: boolean,
    boxCtrlC: boolean,
    to: number,
  ): number {
    this.lineCurrent = current;
    this.linePendingArgs = false;
    this.lineInBox = inBox;
    this.lineBoxCtrlC = boxCtrlC;
    // `(0x…,0x…)`: the arguments of the bugcheck on the line before.
    if (pendingArgs && lead === 40 && current >= 0 && this.has(current, KEY_BUGCHECK) && this.readParenArgs(text, ts, te, current)) return LINE_DONE;
    // Boxes of asterisks: the Ctrl+C banner (a breakpoint inside it is a break-in) and others.
    if (lead === 42) {
      let stars = ts;
      while (stars < te && text.charCodeAt(stars) === 42) stars++;
      if (stars === te && te - ts >= 20) {
        if (inBox && boxCtrlC && current >= 0 && this.evKind.at(current) === BREAKPOINT) this.evKind.set(current, BREAK_IN);
        this.lineInBox = !inBox;
        this.lineBoxCtrlC = false;
        return LINE_DONE;
      }
      if (inBox) {
        if (!boxCtrlC && findWord(text, 'CTRL+C', ts, te) >= 0) this.lineBoxCtrlC = true;
        return LINE_DONE;
      }
    }
    // `<name> - code XXXXXXXX (first|second chance)`.
    if (text.charCodeAt(te - 1) === 41 && te - ts >= 8 && matchAt(text, te - 8, ' chance)')) {
      const first = matchAt(text, te - 15, ' (first chance)');
      const tail = first ? 31 : matchAt(text, te - 16, ' (second chance)') ? 32 : 0;
      if (tail > 0 && te - tail > ts && matchAt(text, te - tail, ' - code ') && isHexRun(text, te - tail + 8, 8)) {
        const code = te - tail + 8;
        // `.` of the reference's `(.+?)` stops at CR and the Unicode line separators.
        for (let index = ts; index < te - tail; index++) if (isOdd(text.charCodeAt(index))) return LINE_FALLBACK;
        const reuse = current >= 0 && this.evKind.at(current) === BUGCHECK && !this.has(current, KEY_EXCEPTION) && !this.has(current, KEY_LOCATION);
        let event = current;
        if (!reuse) {
          const kind = matchAt(text, code, '80000003') ? (this.commandBreakin ? BREAK_IN : BREAKPOINT) : EXCEPTION;
          event = this.startEvent(kind, lineNumber);
          this.lineCurrent = event;
        }
        this.evExceptionStart.set(event, ts);
        this.evExceptionEnd.set(event, te - tail);
        this.evCode.set(event, code);
        this.evFirstChance.set(event, first ? 1 : 0);
        this.addKey(event, KEY_EXCEPTION);
        return LINE_DONE;
      }
    }
    if (lead === 66) {
      // `Breakpoint N hit`.
      if (startsAt(text, ts, te, 'Breakpoint ') && te - ts > 15 && matchAt(text, te - 4, ' hit')) {
        let digits = ts + 11;
        while (digits < te - 4 && text.charCodeAt(digits) >= 48 && text.charCodeAt(digits) <= 57) digits++;
        if (digits === te - 4) {
          const number = decimalValue(text, ts + 11, te - 4);
          if (number < 0) return LINE_FALLBACK;
          const event = this.startEvent(BREAKPOINT, lineNumber);
          this.lineCurrent = event;
          this.evBreakpoint.set(event, number);
          this.addKey(event, KEY_BREAKPOINT);
          return LINE_DONE;
        }
      }
      // `Bugcheck code XXXXXXXX`.
      if (startsAt(text, ts, te, 'Bugcheck code ') && te - ts >= 15 && te - ts <= 22 && isHexRun(text, ts + 14, te - ts - 14)) {
        this.startBugcheck(text, ts + 14, te, lineNumber);
        return LINE_DONE;
      }
    }
    // `*** Fatal System Error: 0xXXXXXXXX`, its arguments on the next line.
    if (lead === 42 && startsAt(text, ts, te, '*** Fatal System Error: 0x') && te - ts >= 27 && te - ts <= 34 && isHexRun(text, ts + 26, te - ts - 26)) {
      this.startBugcheck(text, ts + 26, te, lineNumber);
      this.linePendingArgs = true;
      return LINE_DONE;
    }
    // `Arguments a b c d` of a bugcheck that has none yet.
    if (lead === 65 && current >= 0 && this.has(current, KEY_BUGCHECK) && this.evArgCount.at(current) === 0 && this.readArgumentsLine(text, ts, te, current)) return LINE_DONE;
    // Reboot and reconnect banners other than `Connected to` are left to the reference.
    if (lead === 83 && startsAt(text, ts, te, 'Shutdown occurred at (')) return LINE_FALLBACK;
    if (lead === 87 && startsAt(text, ts, te, 'Waiting to reconnect')) return LINE_FALLBACK;
    if (lead === 75 && startsAt(text, ts, te, 'Kernel Debugger connection established.')) return LINE_FALLBACK;
    if (lead === 67 && startsAt(text, ts, te, 'Connected to Windows')) {
      const connected = this.readConnected(text, ts, te);
      if (connected < 0) return LINE_FALLBACK;
      // A previous reconnect event always has its connect line here, so each line starts an event.
      const event = this.startEvent(RECONNECT, lineNumber);
      this.lineCurrent = event;
      this.evConnected.set(event, connected);
      this.addKey(event, KEY_RECONNECT);
      return LINE_DONE;
    }
    // After a connect line and before the location, version block lines are left to the reference.
    if (current >= 0 && this.has(current, KEY_RECONNECT) && !this.has(current, KEY_LOCATION) && (mayStartVersionBlockLine(text, ts, te, lead) || this.hasKernelVersion(text, ts, te))) return LINE_FALLBACK;
    // `module!Function+0x1a:` and the instruction line after it.
    if (text.charCodeAt(te - 1) === 58 && te - ts >= 3) {
      const label = this.readLabel(text, ts, te);
      if (label === LABEL_FALLBACK) return LINE_FALLBACK;
      if (label >= 0) {
        let instruction = -1;
        if (lineEnd < to) {
          let nextEnd = text.indexOf('\n', lineEnd + 1);
          if (nextEnd < 0 || nextEnd > to) nextEnd = to;
          instruction = this.readInstruction(text, lineEnd + 1, nextEnd);
          if (instruction === INSTRUCTION_UNSURE) return LINE_FALLBACK;
          this.lineNextEnd = nextEnd;
        }
        let event = current >= 0 && !this.has(current, KEY_LOCATION) && this.evKind.at(current) !== STEP ? current : -1;
        if (event < 0) {
          const bareKind = instruction >= 0 && this.instructionIsInt3 && !this.commandStep ? BREAKPOINT : STEP;
          event = this.startEvent(bareKind, lineNumber);
          this.lineCurrent = event;
        }
        this.evLocation.set(event, label);
        this.addKey(event, KEY_LOCATION);
        if (instruction >= 0) {
          this.evInstruction.set(event, instruction);
          this.addKey(event, KEY_INSTRUCTION);
          return LINE_SKIP_NEXT;
        }
        return LINE_DONE;
      }
    }
    // Register dump lines (`eax=… ebx=…`), added to the current event.
    const registers = this.regStart.length;
    const count = this.readRegisters(text, ts, te);
    if (count < 0) return LINE_FALLBACK;
    if (count > 0 && current >= 0) {
      if (!this.has(current, KEY_REGISTERS)) this.evRegisterFirst.set(current, registers);
      this.evRegisterCount.set(current, this.evRegisterCount.at(current) + count);
      this.addKey(current, KEY_REGISTERS);
      return LINE_DONE;
    }
    if (count > 0) this.dropRegisters(registers);
    if (lead === 105 && startsAt(text, ts, te, 'iopl=')) return LINE_DONE;
    if (lead === 99 && current >= 0 && this.has(current, KEY_REGISTERS) && startsAt(text, ts, te, 'cs=') && te - ts > 8 && isLowerHexRun4(text, ts + 3)) {
      if (isBlank(text.charCodeAt(ts + 7))) return LINE_DONE;
      if (isOdd(text.charCodeAt(ts + 7))) return LINE_FALLBACK;
    }
    // A stop without a label: an instruction line alone (after `t`), or the instruction of the current stop.
    const bare = this.readInstruction(text, lineStart, lineEnd);
    if (bare === INSTRUCTION_UNSURE) return LINE_FALLBACK;
    if (bare >= 0) {
      let event = current;
      if (current < 0 || this.has(current, KEY_LOCATION) || this.has(current, KEY_INSTRUCTION)) {
        event = this.startEvent(STEP, lineNumber);
        this.lineCurrent = event;
      }
      this.evInstruction.set(event, bare);
      this.addKey(event, KEY_INSTRUCTION);
      return LINE_DONE;
    }
    const noise = isNoiseLine(text, ts, te, lead);
    if (noise === NOISE_UNSURE) return LINE_FALLBACK;
    if (noise === NOISE_YES) return LINE_DONE;
    this.unparsedStart.push(lineStart);
    this.unparsedEnd.push(lineEnd);
    return LINE_DONE;
  }

  // Start a bugcheck event with the code in hex digits [start, end) (1–8 of them).
  private startBugcheck(text: string, start: number, end: number, lineNumber: number): void {
    const event = this.startEvent(BUGCHECK, lineNumber);
    this.lineCurrent = event;
    this.evBugcheck.set(event, hexNumber(text, start, end));
    this.evArgFirst.set(event, this.argStart.length);
    this.addKey(event, KEY_BUGCHECK);
  }

  // `(0x…,0x…)` as the whole trimmed line: store the arguments on the event; false when it is not one.
  private readParenArgs(text: string, ts: number, te: number, event: number): boolean {
    if (text.charCodeAt(te - 1) !== 41) return false;
    const first = this.argStart.length;
    let at = ts + 1;
    for (;;) {
      if (!(text.charCodeAt(at) === 48 && text.charCodeAt(at + 1) === 120)) break;
      const digits = at + 2;
      let end = digits;
      while (end < te - 1 && (isHex(text.charCodeAt(end)) || text.charCodeAt(end) === 96)) end++;
      if (end === digits) break;
      this.argStart.push(digits);
      this.argEnd.push(end);
      if (end === te - 1) {
        this.evArgFirst.set(event, first);
        this.evArgCount.set(event, this.argStart.length - first);
        return true;
      }
      if (text.charCodeAt(end) !== 44) break;
      at = end + 1;
    }
    this.argStart.truncate(first);
    this.argEnd.truncate(first);
    return false;
  }

  // `Arguments a b c d` as the whole trimmed line: store the arguments; false when it is not one.
  private readArgumentsLine(text: string, ts: number, te: number, event: number): boolean {
    if (!startsAt(text, ts, te, 'Arguments ') || te - ts < 11) return false;
    const lead = text.charCodeAt(ts + 10);
    if (!(isHex(lead) || lead === 96)) return false;
    for (let index = ts + 11; index < te; index++) {
      const code = text.charCodeAt(index);
      if (!(isHex(code) || code === 96 || code === 32)) return false;
    }
    const first = this.argStart.length;
    let at = ts + 10;
    while (at < te) {
      let end = at;
      while (end < te && text.charCodeAt(end) !== 32) end++;
      this.argStart.push(at);
      this.argEnd.push(end);
      at = end;
      while (at < te && text.charCodeAt(at) === 32) at++;
    }
    this.evArgFirst.set(event, first);
    this.evArgCount.set(event, this.argStart.length - first);
    return true;
  }

  // parseConnectedLine of version.ts on [ts, te) (known to start `Connected to Windows`): its row, or -1.
  private readConnected(text: string, ts: number, te: number): number {
    const rest = ts + 13;
    const target = findWord(text, ' target', rest, te);
    if (target < 0) return -1;
    let headEnd = target;
    const tail = target + 7;
    let arch = 0;
    for (let index = 0; index < ARCH_WORDS.length; index++) {
      const word = ARCH_WORDS[index]!;
      const at = headEnd - word.length - 1;
      if (at >= rest && text.charCodeAt(at) === 32 && matchAt(text, at + 1, word)) {
        arch = index + 1;
        headEnd = at;
        break;
      }
    }
    // `/ (\d+)$/` on the head: the digits after its last space.
    let digits = headEnd;
    while (digits > rest && text.charCodeAt(digits - 1) >= 48 && text.charCodeAt(digits - 1) <= 57) digits--;
    if (digits === headEnd || digits - 1 < rest || text.charCodeAt(digits - 1) !== 32) return -1;
    const build = decimalValue(text, digits, headEnd);
    if (build < 0) return -1;
    let ptr64 = -1;
    let ptr64At = -1;
    if (te - 12 >= tail && matchAt(text, te - 12, ', ptr64 TRUE')) {
      ptr64 = 1;
      ptr64At = te - 12;
    } else if (te - 13 >= tail && matchAt(text, te - 13, ', ptr64 FALSE')) {
      ptr64 = 0;
      ptr64At = te - 13;
    }
    let atStart = -1;
    let atEnd = -1;
    if (matchAt(text, tail, ' at (') && tail + 5 <= te) {
      atStart = tail + 5;
      atEnd = ptr64At >= 0 ? ptr64At : te;
      if (atEnd < atStart) atEnd = atStart;
      while (atEnd > atStart && isBlank(text.charCodeAt(atEnd - 1))) atEnd--;
      if (atEnd > atStart && isOdd(text.charCodeAt(atEnd - 1))) return -1;
      if (atEnd > atStart && text.charCodeAt(atEnd - 1) === 41) atEnd--;
    }
    this.conName.push(rest);
    this.conNameEnd.push(digits - 1);
    this.conBuild.push(build);
    this.conArch.push(arch);
    this.conPtr64.push(ptr64);
    this.conAt.push(atStart);
    this.conAtEnd.push(atEnd);
    return this.conName.length - 1;
  }

  // isSymbolLabel and parseSymbolLocation of disasm.ts on a trimmed line ending in `:`: the location's
  // row, LABEL_NONE when the line is no label, LABEL_FALLBACK for labels the table does not hold.
  private readLabel(text: string, ts: number, te: number): number {
    const bodyEnd = te - 1;
    // parseSymbolLocation trims the label; the symbol keeps what kd printed before the colon.
    let end = bodyEnd;
    while (end > ts && isBlank(text.charCodeAt(end - 1))) end--;
    if (end === ts) return LABEL_NONE;
    let bang = -1;
    let plus = -1;
    let doubleBlank = false;
    for (let index = ts; index < end; index++) {
      const code = text.charCodeAt(index);
      if (code === 33) {
        if (bang < 0) bang = index;
      } else if (code === 43) plus = index;
      else if (isOdd(code)) return LABEL_FALLBACK;
      else if (isBlank(code) && isBlank(text.charCodeAt(index + 1)) && index + 1 < end) doubleBlank = true;
    }
    // `\+(0x)?([0-9a-fA-F]+)$`: only the last `+` can start it.
    let hexStart = -1;
    if (plus >= 0) {
      if (text.charCodeAt(plus + 1) === 48 && text.charCodeAt(plus + 2) === 120 && plus + 3 < end && isHexRun(text, plus + 3, end - plus - 3)) hexStart = plus + 3;
      else if (plus + 1 < end && isHexRun(text, plus + 1, end - plus - 1)) hexStart = plus + 1;
    }
    if (bang < 0) {
      // Without `!` the label needs `+offset` right before the colon and a module-name base.
      if (hexStart < 0 || end !== bodyEnd || doubleBlank) return LABEL_NONE;
      for (let index = ts; index < plus; index++) if (!isModuleChar(text.charCodeAt(index))) return LABEL_NONE;
      if (plus === ts) return LABEL_NONE;
    } else {
      if (doubleBlank) return LABEL_FALLBACK;
      if (bang === ts) return LABEL_NONE;
      for (let index = ts; index < bang; index++) if (!isModuleChar(text.charCodeAt(index))) return LABEL_NONE;
    }
    const offset = hexStart < 0 ? 0 : hexNumber(text, hexStart, end);
    if (offset < 0) return LABEL_FALLBACK;
    const baseEnd = hexStart < 0 ? end : plus;
    this.locStart.push(ts);
    this.locEnd.push(bodyEnd);
    this.locModuleEnd.push(bang < 0 ? baseEnd : bang);
    this.locFunctionStart.push(bang >= 0 && baseEnd > bang + 1 ? bang + 1 : -1);
    this.locFunctionEnd.push(baseEnd);
    this.locOffset.push(offset);
    return this.locStart.length - 1;
  }

  // parseRegisterLine of break.ts on [ts, te): appends the registers and returns how many (0: not a register line).
  private readRegisters(text: string, ts: number, te: number): number {
    // The first `=` must be the line's 3rd to 5th character.
    const firstEquals = findCode(text, 61, ts, Math.min(te, ts + 5));
    if (firstEquals < ts + 2) return 0;
    const first = this.regStart.length;
    let at = ts;
    while (at < te) {
      let end = at;
      while (end < te && !isBlank(text.charCodeAt(end))) end++;
      // x86 dumps end the eip line with `iopl=0  nv up ei …`.
      if (matchAt(text, at, 'iopl=') && end - at >= 5) return this.regStart.length - first;
      const equals = findCode(text, 61, at, end);
      if (equals < at + 2 || equals > at + 4 || equals + 1 === end || !isRegisterName(text, at, equals)) return this.notRegisters(text, ts, te, first);
      for (let index = equals + 1; index < end; index++) if (!isLowerHex(text.charCodeAt(index))) return this.notRegisters(text, ts, te, first);
      this.regStart.push(at);
      this.regEquals.push(equals);
      this.regEnd.push(end);
      at = end;
      while (at < te && isBlank(text.charCodeAt(at))) at++;
    }
    return this.regStart.length - first;
  }

  // A line that is no register line to the table: 0, or -1 when an odd character (white space to the
  // reference's `\s+`) might make it one.
  private notRegisters(text: string, ts: number, te: number, first: number): number {
    this.dropRegisters(first);
    for (let index = ts; index < te; index++) if (isOdd(text.charCodeAt(index))) return -1;
    return 0;
  }

  // Drop registers appended from row `first` on; returns 0.
  private dropRegisters(first: number): number {
    this.regStart.truncate(first);
    this.regEquals.truncate(first);
    this.regEnd.truncate(first);
    return 0;
  }

  // parseInstructionLine of disasm.ts on the raw line [lineStart, lineEnd): the instruction's row, or -1.
  private readInstruction(text: string, lineStart: number, lineEnd: number): number {
    let at = lineStart;
    while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
    if (at >= lineEnd) return -1;
    if (!isHex(text.charCodeAt(at))) return isOdd(text.charCodeAt(at)) ? INSTRUCTION_UNSURE : -1;
    // `^\s*(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?) (?=\S)`
    let segment = -1;
    if (at + 5 <= lineEnd && text.charCodeAt(at + 4) === 58 && isHexRun(text, at, 4)) {
      segment = at;
      at += 5;
    }
    if (at + 8 > lineEnd || !isHexRun(text, at, 8)) return -1;
    let addressEnd = at + 8;
    if (text.charCodeAt(addressEnd) === 96 && addressEnd + 9 <= lineEnd && isHexRun(text, addressEnd + 1, 8)) addressEnd += 9;
    if (text.charCodeAt(addressEnd) !== 32 || addressEnd + 1 >= lineEnd || isBlank(text.charCodeAt(addressEnd + 1))) return -1;
    const rest = addressEnd + 1;
    let restEnd = lineEnd;
    while (isBlank(text.charCodeAt(restEnd - 1))) restEnd--;
    // Where the reference trims or looks for `\S`, an odd character may be white space to it.
    if (isOdd(text.charCodeAt(rest)) || isOdd(text.charCodeAt(restEnd - 1))) return INSTRUCTION_UNSURE;
    // The bytes column is the first word when it is an even run of lowercase hex and a mnemonic follows.
    const firstEnd = findCode(text, 32, rest, restEnd);
    let bytes = rest;
    let bytesEnd = rest;
    let body = rest;
    if (firstEnd >= 0) {
      let afterFirst = firstEnd;
      while (afterFirst < restEnd && isBlank(text.charCodeAt(afterFirst))) afterFirst++;
      if (isOdd(text.charCodeAt(afterFirst))) return INSTRUCTION_UNSURE;
      let secondEnd = findCode(text, 32, afterFirst, restEnd);
      if (secondEnd < 0) secondEnd = restEnd;
      const length = firstEnd - rest;
      if (length >= 2 && length % 2 === 0 && isLowerHexSpan(text, rest, firstEnd) && isMnemonicSpan(text, afterFirst, secondEnd)) {
        bytesEnd = firstEnd;
        body = afterFirst;
      }
    }
    if (bytesEnd === rest) bytes = bytesEnd = 0;
    let mnemonicEnd = findCode(text, 32, body, restEnd);
    let operands = restEnd;
    let operandsEnd = restEnd;
    if (mnemonicEnd < 0) mnemonicEnd = restEnd;
    else {
      operands = mnemonicEnd;
      while (operands < restEnd && isBlank(text.charCodeAt(operands))) operands++;
      if (isOdd(text.charCodeAt(operands))) return INSTRUCTION_UNSURE;
    }
    if (!isMnemonicSpan(text, body, mnemonicEnd)) return -1;
    let word = -1;
    let wordEnd = -1;
    if (operands < operandsEnd && isPrefix(text, body, mnemonicEnd)) {
      let next = findCode(text, 32, operands, operandsEnd);
      if (next < 0) next = operandsEnd;
      if (isMnemonicSpan(text, operands, next)) {
        word = operands;
        wordEnd = next;
        operands = next;
        while (operands < operandsEnd && isBlank(text.charCodeAt(operands))) operands++;
        if (operands < operandsEnd && isOdd(text.charCodeAt(operands))) return INSTRUCTION_UNSURE;
      }
    }
    // ` ([a-z]{2}:[0-9a-f]{4}:[0-9a-fA-F`]+=[0-9a-fA-F?]+)$`: only the last space can start it.
    let effective = -1;
    let effectiveEnd = -1;
    if (operands < operandsEnd) {
      const space = lastCode(text, 32, operands, operandsEnd);
      if (space >= 0 && isEffectiveAddress(text, space + 1, operandsEnd)) {
        effective = space + 1;
        effectiveEnd = operandsEnd;
        operandsEnd = space;
        while (operandsEnd > operands && isBlank(text.charCodeAt(operandsEnd - 1))) operandsEnd--;
        if (operandsEnd > operands && isOdd(text.charCodeAt(operandsEnd - 1))) return INSTRUCTION_UNSURE;
      }
    }
    // `\(([0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?)\)$` on the operands left.
    let target = -1;
    let targetEnd = -1;
    if (operandsEnd - operands >= 10 && text.charCodeAt(operandsEnd - 1) === 41) {
      if (text.charCodeAt(operandsEnd - 10) === 40 && isHexRun(text, operandsEnd - 9, 8)) target = operandsEnd - 9;
      else if (operandsEnd - operands >= 19 && text.charCodeAt(operandsEnd - 19) === 40 && text.charCodeAt(operandsEnd - 10) === 96 && isHexRun(text, operandsEnd - 18, 8) && isHexRun(text, operandsEnd - 9, 8)) target = operandsEnd - 18;
      if (target >= 0) targetEnd = operandsEnd - 1;
    }
    this.instructionIsInt3 = word < 0 && spanIs(text, body, mnemonicEnd, 'int') && spanIs(text, operands, operandsEnd, '3');
    this.insAddress.push(at);
    this.insAddressEnd.push(addressEnd);
    this.insBytes.push(bytes);
    this.insBytesEnd.push(bytesEnd);
    this.insMnemonic.push(body);
    this.insMnemonicEnd.push(mnemonicEnd);
    this.insWord.push(word);
    this.insWordEnd.push(wordEnd);
    this.insOperands.push(operands);
    this.insOperandsEnd.push(operandsEnd);
    this.insSegment.push(segment);
    this.insEffective.push(effective);
    this.insEffectiveEnd.push(effectiveEnd);
    this.insTarget.push(target);
    this.insTargetEnd.push(targetEnd);
    return this.insAddress.length - 1;
  }
}

// What readLine tells the loop.
const LINE_DONE = 0;
const LINE_SKIP_NEXT = 1;
const LINE_FALLBACK = 2;

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
function lastCode(text: string, code: number, start: number, end: number): number {
  for (let index = end - 1; index >= start; index--) if (text.charCodeAt(index) === code) return index;
  return -1;
}

// Lowercase hex digits only, [start, end).
function isLowerHexSpan(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (!isLowerHex(text.charCodeAt(index))) return false;
  return true;
}

// Four lowercase hex digits at `at`.
function isLowerHexRun4(text: string, at: number): boolean {
  return isLowerHexSpan(text, at, at + 4);
}

// A prefix disasm.ts joins to the next word (`rep movsb`).
function isPrefix(text: string, start: number, end: number): boolean {
  for (const prefix of PREFIXES) if (spanIs(text, start, end, prefix)) return true;
  return false;
}

// /^[a-z][a-z0-9]{1,3}$/ on [start, end) (its length is known to be 2–4).
function isRegisterName(text: string, start: number, end: number): boolean {
  const lead = text.charCodeAt(start);
  if (lead < 97 || lead > 122) return false;
  for (let index = start + 1; index < end; index++) {
    const code = text.charCodeAt(index);
    if (!((code >= 97 && code <= 122) || (code >= 48 && code <= 57))) return false;
  }
  return true;
}

// `[a-z]{2}:[0-9a-f]{4}:[0-9a-fA-F`]+=[0-9a-fA-F?]+` as all of [start, end).
function isEffectiveAddress(text: string, start: number, end: number): boolean {
  if (end - start < 11) return false;
  for (let index = start; index < start + 2; index++) {
    const code = text.charCodeAt(index);
    if (code < 97 || code > 122) return false;
  }
  if (text.charCodeAt(start + 2) !== 58 || !isLowerHexRun4(text, start + 3) || text.charCodeAt(start + 7) !== 58) return false;
  let at = start + 8;
  while (at < end && (isHex(text.charCodeAt(at)) || text.charCodeAt(at) === 96)) at++;
  if (at === start + 8 || at >= end || text.charCodeAt(at) !== 61) return false;
  at++;
  if (at >= end) return false;
  for (; at < end; at++) {
    const code = text.charCodeAt(at);
    if (!(isHex(code) || code === 63)) return false;
  }
  return true;
}

// VERSION_BLOCK_STARTS by their first character (ASCII code → starts; empty for most).
const NO_STARTS: readonly string[] = [];
const VERSION_BLOCK_BY_LEAD: (readonly string[])[] = Array.from({ length: 128 }, (_, code) => {
  const starts = VERSION_BLOCK_STARTS.filter((start) => start.charCodeAt(0) === code);
  return starts.length > 0 ? starts : NO_STARTS;
});

// True when a line's start may make it part of a reboot banner's version block (widened: false only when surely not).
function mayStartVersionBlockLine(text: string, ts: number, te: number, lead: number): boolean {
  if (lead === 42) {
    // `^\*+ Path validation summary \*+$`
    let stars = ts;
    while (stars < te && text.charCodeAt(stars) === 42) stars++;
    return matchAt(text, stars, ' Path validation');
  }
  const starts = lead < 128 ? VERSION_BLOCK_BY_LEAD[lead]! : NO_STARTS;
  for (let index = 0; index < starts.length; index++) if (startsAt(text, ts, te, starts[index]!)) return true;
  return false;
}

// STOP_NOISE of break.ts and isReloadNoiseLine of reload.ts on the trimmed line; unsure for rare shapes.
function isNoiseLine(text: string, ts: number, te: number, lead: number): number {
  switch (lead) {
    case 65: // A
      return spanIs(text, ts, te, NOISE_LINES[0]!) ? NOISE_YES : NOISE_NO;
    case 70: // F
      return spanIs(text, ts, te, NOISE_LINES[3]!) ? NOISE_YES : NOISE_NO;
    case 75: // K
      return spanIs(text, ts, te, NOISE_LINES[4]!) ? NOISE_YES : NOISE_NO;
    case 76: // L
      return spanIs(text, ts, te, NOISE_LINES[5]!) || spanIs(text, ts, te, NOISE_LINES[6]!) || spanIs(text, ts, te, NOISE_LINES[7]!) ? NOISE_YES : NOISE_NO;
    case 68: // D
      return spanIs(text, ts, te, NOISE_LINES[1]!) || spanIs(text, ts, te, NOISE_LINES[2]!) ? NOISE_YES : isWordThenMore(text, ts, te, 'Deferred');
    case 79: // O
      return isWordThenMore(text, ts, te, 'OK');
    case 83: // S
      return startsAt(text, ts, te, 'Symbol search path is:') ? NOISE_YES : NOISE_NO;
    case 69: // E
      return startsAt(text, ts, te, 'Executable search path is:') ? NOISE_YES : NOISE_NO;
    case 82: // R
      return startsAt(text, ts, te, 'Response') ? NOISE_UNSURE : NOISE_NO;
    case 42: {
      // `^\*+ Path validation summary \*+$`
      let stars = ts;
      while (stars < te && text.charCodeAt(stars) === 42) stars++;
      if (!startsAt(text, stars, te, ' Path validation summary ')) return NOISE_NO;
      let tail = stars + 25;
      if (tail >= te) return NOISE_NO;
      while (tail < te && text.charCodeAt(tail) === 42) tail++;
      return tail === te ? NOISE_YES : NOISE_NO;
    }
    case 46: // .
    case 85: {
      // Progress dots, alone or before `Unable to …`.
      let at = ts;
      while (at < te && text.charCodeAt(at) === 46) at++;
      if (at === te) return NOISE_YES;
      return startsAt(text, at, te, 'Unable to enumerate user-mode unloaded modules') || startsAt(text, at, te, 'Unable to read image header for ') ? NOISE_YES : NOISE_NO;
    }
    default:
      return NOISE_NO;
  }
}

// `^(?:Deferred|OK)\s+\S` for one of the words.
function isWordThenMore(text: string, ts: number, te: number, word: string): number {
  if (!startsAt(text, ts, te, word)) return NOISE_NO;
  let at = ts + word.length;
  if (at >= te) return NOISE_NO;
  const next = text.charCodeAt(at);
  if (isOdd(next)) return NOISE_UNSURE;
  if (!isBlank(next)) return NOISE_NO;
  while (at < te && isBlank(text.charCodeAt(at))) at++;
  return at < te ? NOISE_YES : NOISE_NO;
}
