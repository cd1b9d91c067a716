/**
 * Parse kd stack backtraces (`k`, `kb`, `kn`, `kv`, `kp`, `kc`, `kf`, x86 and x64), including the
 * stacks inside `!thread`, `!process` and `!analyze -v` (`STACK_TEXT:`). The column header, when
 * there is one, says which columns each frame line has (`#`, `Memory`, `ChildEBP`/`Child-SP`,
 * `RetAddr`, `Args to Child` with or without ` : ` separators, `Call Site`); without a header the
 * columns are inferred from the tokens themselves. The call site is split into module, function,
 * offset, `kp` parameters, FPO/CONV/TrapFrame notes and the `[file @ line]` source annotation.
 */
import { isTrimSpace, KdParseError, LineCursor, normalizeAddress, type StringPool } from './common.js';
import type { ParseResultBase } from './common.js';
import { readPrompt } from './prompt.js';

/** Source file and line of a frame, from a private-symbol `[file @ line]` annotation. */
export interface StackSource {
  file: string;
  line: number;
}

/** One frame of a backtrace, innermost first. */
export interface StackFrame {
  /** Frame number (`kn`, or a `#` column); kd prints it in hex. */
  index?: number;
  /** x64 `Child-SP`. */
  childSp?: string;
  /** x86 `ChildEBP`. */
  childEbp?: string;
  /** Return address into the caller. */
  retAddr?: string;
  /** `Args to Child` (`kb`, `kv`): three on x86, four on x64. */
  args?: string[];
  /** Module of the call site; empty when kd printed a bare address or no call site at all. */
  module: string;
  function?: string;
  /** Offset from the function (or from the module base when there is no symbol). */
  offset?: number;
  /** The call site when kd could only print a bare address (`0xfa1075` → `fa1075`). */
  address?: string;
  /** True for `(Inline Function)` frames, which have no stack pointer or return address. */
  inline?: boolean;
  /** `kp` parameter list as printed, without the parentheses. */
  parameters?: string;
  source?: StackSource;
  /** Parenthesised notes after the call site, as printed: `FPO: [Non-Fpo]`, `CONV: stdcall`, `TrapFrame @ …`. */
  notes?: string[];
  /** x86 kd's frame-type marker after RetAddr: `T` (reached through a trap frame), `TRAP`, `TSS` (a task gate). */
  marker?: string;
  /** Trap frame address from a `TrapFrame @ …` note. */
  trapFrame?: string;
  /** `kf` stack bytes used by the frame. */
  memory?: number;
}

/** A warning kd printed among the frames; it concerns the frames from `beforeFrame` on. */
export interface StackWarning {
  message: string;
  /** Index into `frames` of the first frame printed after the warning. */
  beforeFrame: number;
}

/** A parsed backtrace. */
export interface StackResult extends ParseResultBase {
  frames: StackFrame[];
  warnings: StackWarning[];
}

// Which columns a frame line has, from the header.
interface StackLayout {
  numbered: boolean;
  memory: boolean;
  pointer: 'childSp' | 'childEbp' | null;
  retAddr: boolean;
  args: 'colon' | 'x86' | null;
}

const HEADER =
  /^(#\s*)?(Memory\s+)?(?:(ChildEBP|Child-SP)\s*)?(RetAddr\s*)?(:\s*)?(Args to Child\s*)?(:\s*)?(Call Site)?$/;
// White space that trim() removes besides space and TAB (a line holds no \n).
const OTHER_BLANKS = /[\v\f\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/g;
const INLINE = '(Inline Function)';
const NOTE = /^(FPO|CONV|TrapFrame|Inline Function|ExceptionFrame)\b/;

/** Parse a kd backtrace; throws KdParseError only when the text holds no stack header and no frame. */
export function parseStack(text: string): StackResult {
  return readStack(text, 0, text.length, undefined);
}

/**
 * parseStack of the output `text.slice(from, to)`, read in place in `text`, with names (modules,
 * functions) interned in `pool`: what parseAuto uses, one pool per log.
 */
export function parseStackAt(text: string, from: number, to: number, pool: StringPool): StackResult {
  return readStack(text, from, to, pool);
}

// The parser proper. Lines are visited by offsets into `text` (as splitLines would cut them:
// `\r\n` or `\n`, a final empty line dropped) and trimmed by position, so a frame line is read in
// place; only lines that need a regex or end up in `unparsed` are cut out as strings.
function readStack(text: string, from: number, to: number, pool: StringPool | undefined): StackResult {
  const result: StackResult = { complete: true, unparsed: [], frames: [], warnings: [] };
  let layout: StackLayout | undefined;
  let recognised = false;
  let seenContent = false;
  let previousWasFrame = false;
  let lastUnparsedLooksCut = false;

  for (const cursor = new LineCursor(text, from, to); cursor.next(); ) {
    const { lineStart, lineEnd, start, end } = cursor;
    if (start === end) {
      previousWasFrame = false;
      continue;
    }
    const first = !seenContent;
    seenContent = true;
    const wasFrame = previousWasFrame;
    previousWasFrame = false;
    lastUnparsedLooksCut = false;
    // Every test below is guarded by the first character it needs, so a frame line meets no regex.
    const lead = text.charCodeAt(start);

    if (readPrompt(text, start, end)) {
      // The echoed command opening the output is expected; any later prompt is another command.
      if (!first) result.unparsed.push(text.slice(lineStart, lineEnd));
      continue;
    }
    if (end - start === 11 && lead === 83 && text.startsWith('STACK_TEXT:', start)) {
      recognised = true;
      layout = undefined;
      continue;
    }
    if (isHeaderLead(lead)) {
      const trimmed = text.slice(start, end);
      const header = trimmed.includes('RetAddr') || trimmed.includes('Call') ? readHeader(trimmed) : undefined;
      if (header) {
        recognised = true;
        layout = header;
        continue;
      }
    }
    if ((lead === 0x2026 || lead === 91 || lead === 46) && (/^(…+|\[\.\.\.\])$/.test(text.slice(start, end)) || (wasFrame && /^\.{3,}$/.test(text.slice(start, end))))) {
      // Someone elided frames; dots elsewhere are kd's symbol-loading progress.
      result.complete = false;
      continue;
    }
    if (lead === 60 && text.startsWith('<Intermediate frames may have been skipped', start) && text.charCodeAt(end - 1) === 62) {
      // kd could not unwind every frame between the ones around this line.
      result.warnings.push({ message: text.slice(start + 1, end - 1), beforeFrame: result.frames.length });
      continue;
    }
    if ((lead === 42 || lead === 87 || lead === 69 || lead === 85) && WARNING.test(text.slice(start, end))) {
      result.warnings.push({ message: text.slice(start, end).replace(/^\*{3}\s*/, ''), beforeFrame: result.frames.length });
      continue;
    }
    const frame = readFrame(text, start, end, layout, pool);
    if (frame) {
      recognised = true;
      result.frames.push(frame);
      previousWasFrame = true;
      continue;
    }
    const trimmed = text.slice(start, end);
    const previous = result.frames[result.frames.length - 1];
    if (wasFrame && previous && isMissingCallSite(previous)) {
      // A call site too long for the terminal wrapped onto its own line.
      const site = readCallSite(trimmed);
      if (site && site.module !== '') {
        Object.assign(previous, site);
        continue;
      }
    }
    result.unparsed.push(text.slice(lineStart, lineEnd));
    lastUnparsedLooksCut = /^[0-9a-f]{2,}/i.test(trimmed);
  }

  if (!recognised) {
    throw new KdParseError('stack', 'Expected a kd backtrace (a ChildEBP/Child-SP/RetAddr/Call Site header or frame lines), got none');
  }
  // A frame line cut off mid-way no longer parses: the output was truncated.
  if (lastUnparsedLooksCut) result.complete = false;
  return result;
}

const WARNING = /^\*{0,3}\s*(WARNING|ERROR):|^\*{3}\s*Stack trace for last set context|^Unable to load image /;

// First characters a column header can start with (`#`, `Memory`, `Child…`, `RetAddr`, `:`, `Args`).
function isHeaderLead(lead: number): boolean {
  return lead === 35 || lead === 77 || lead === 67 || lead === 82 || lead === 58 || lead === 65;
}

// Read a column header such as ` # Child-SP          RetAddr           : Args to Child … : Call Site`.
function readHeader(trimmed: string): StackLayout | undefined {
  const match = HEADER.exec(trimmed.replace(/\s+/g, ' '));
  if (!match || (match[4] === undefined && match[8] === undefined)) return undefined;
  const colon = match[5] !== undefined || match[7] !== undefined;
  return {
    numbered: match[1] !== undefined,
    memory: match[2] !== undefined,
    pointer: match[3] === 'ChildEBP' ? 'childEbp' : match[3] === 'Child-SP' ? 'childSp' : null,
    retAddr: match[4] !== undefined,
    args: match[6] === undefined ? null : colon ? 'colon' : 'x86',
  };
}

// Read one frame line [lineStart, lineEnd) (trimmed) by the header's columns, or by the shape of
// its tokens when there is none. Tokens are read by position (blank = space or TAB), so no token
// array is built.
function readFrame(text: string, lineStart: number, lineEnd: number, layout: StackLayout | undefined, pool: StringPool | undefined): StackFrame | undefined {
  const frame: StackFrame = { module: '' };
  let start = lineStart;
  let end = shortTokenEnd(text, start, lineEnd);

  let numbered: boolean;
  if (layout) numbered = layout.numbered;
  else {
    numbered = false;
    if (end - start >= 2 && end - start <= 4 && isHexRun(text, start, end)) {
      const nextStart = skipBlanks(text, end, lineEnd);
      const nextEnd = shortTokenEnd(text, nextStart, lineEnd);
      numbered = isAddress(text, nextStart, nextEnd) || (nextEnd - nextStart === 7 && text.startsWith('(Inline', nextStart));
    }
  }
  if (numbered) {
    if (end - start < 1 || end - start > 4 || !isHexRun(text, start, end)) return undefined;
    frame.index = hexValue(text, start, end);
    start = skipBlanks(text, end, lineEnd);
    end = shortTokenEnd(text, start, lineEnd);
  }
  if (layout?.memory && end - start >= 1 && end - start <= 7 && isHexRun(text, start, end)) {
    frame.memory = hexValue(text, start, end);
    start = skipBlanks(text, end, lineEnd);
    end = shortTokenEnd(text, start, lineEnd);
  }

  let addressCount = 0;
  const at = text.charCodeAt(start);
  if (start < lineEnd && mayBeOtherBlank(at) && isTrimSpace(at)) {
    // White space other than space and TAB between the columns: read the line with it made spaces.
    return readFrame(text.slice(lineStart, lineEnd).replace(OTHER_BLANKS, ' '), 0, lineEnd - lineStart, layout, pool);
  }
  if (at === 40 && lineEnd - start >= INLINE.length && text.startsWith(INLINE, start)) {
    start = skipBlanks(text, start + INLINE.length, lineEnd);
    end = shortTokenEnd(text, start, lineEnd);
    frame.inline = true;
    if (isDashes(text, start, end)) {
      start = skipBlanks(text, end, lineEnd);
      end = shortTokenEnd(text, start, lineEnd);
    }
  } else if (layout) {
    if (layout.pointer) {
      if (!isAddress(text, start, end)) return undefined;
      if (layout.pointer === 'childSp') frame.childSp = addressAt(text, start, end);
      else frame.childEbp = addressAt(text, start, end);
      start = skipBlanks(text, end, lineEnd);
      end = shortTokenEnd(text, start, lineEnd);
    }
    if (layout.retAddr) {
      if (!isAddress(text, start, end)) return undefined;
      frame.retAddr = addressAt(text, start, end);
      start = skipBlanks(text, end, lineEnd);
      end = shortTokenEnd(text, start, lineEnd);
    }
    addressCount = (layout.pointer ? 1 : 0) + (layout.retAddr ? 1 : 0);
  } else {
    // Without a header only the common shape counts: frame pointer, then return address.
    if (!isAddress(text, start, end)) return undefined;
    const pointerStart = start;
    const pointerEnd = end;
    start = skipBlanks(text, end, lineEnd);
    end = shortTokenEnd(text, start, lineEnd);
    if (!isAddress(text, start, end)) return undefined;
    if (pointerEnd - pointerStart === 8) frame.childEbp = addressAt(text, pointerStart, pointerEnd);
    else frame.childSp = addressAt(text, pointerStart, pointerEnd);
    frame.retAddr = addressAt(text, start, end);
    start = skipBlanks(text, end, lineEnd);
    end = shortTokenEnd(text, start, lineEnd);
    addressCount = 2;
  }

  if (addressCount > 0 && text.charCodeAt(start) === 40) {
    // x86 kd marks a frame reached through a trap frame or a task gate right after RetAddr:
    // `(T)`, `(TRAP)`, `(TSS)`; an FPO note may stand there too (`(FPO: [0,0,0])`).
    const close = text.indexOf(')', start);
    const inner = close < 0 || close >= lineEnd ? '' : text.slice(start + 1, close);
    if (/^(?:T|TRAP|TSS)$/.test(inner)) frame.marker = inner;
    else if (/^FPO: /.test(inner)) (frame.notes ??= []).push(inner);
    if (frame.marker !== undefined || frame.notes !== undefined) {
      start = skipBlanks(text, close + 1, lineEnd);
      end = shortTokenEnd(text, start, lineEnd);
    }
  }

  const colonHere = end - start === 1 && text.charCodeAt(start) === 58;
  const argsStyle = layout ? layout.args : colonHere ? 'colon' : addressCount > 0 && frameIsX86(frame) ? 'x86' : null;
  if (argsStyle === 'colon') {
    if (!colonHere) return undefined;
    const args: string[] = [];
    for (;;) {
      start = skipBlanks(text, end, lineEnd);
      end = tokenEnd(text, start, lineEnd);
      if (end - start === 1 && text.charCodeAt(start) === 58) break;
      if (start === end) return undefined;
      if (isAddress(text, start, end)) args.push(addressAt(text, start, end));
      else if (!/^-+(`-+)?$/.test(text.slice(start, end))) return undefined;
    }
    start = skipBlanks(text, end, lineEnd);
    end = shortTokenEnd(text, start, lineEnd);
    if (args.length > 0) frame.args = args;
  } else if (argsStyle === 'x86') {
    let args: string[] | undefined;
    while ((args === undefined || args.length < 3) && end - start === 8 && isHexRun(text, start, end)) {
      (args ??= []).push(lowerAt(text, start, end));
      start = skipBlanks(text, end, lineEnd);
      end = shortTokenEnd(text, start, lineEnd);
    }
    if (args) frame.args = args;
  }

  if (start >= lineEnd) {
    // Only a table with its header may have a frame without a call site (kd prints none when it knows none).
    return layout && (addressCount > 0 || frame.args) ? frame : undefined;
  }
  const last = text.charCodeAt(lineEnd - 1);
  if (!mayBeOtherBlank(text.charCodeAt(start)) && last !== 41 && last !== 93) {
    // The common call site (`nt!KiSwapContext+0x76`, `Driver+0x11b1`, `0xfa1075`) is read in place.
    if (!readPlainCallSite(text, start, lineEnd, frame, pool)) return undefined;
    if (!layout && addressCount === 0 && !frame.inline) return undefined;
    return frame;
  }
  // The call site is the rest of the line, trimmed (it starts at the current token).
  const callSite = text.slice(start, lineEnd).trim();
  if (callSite === '') {
    return layout && (addressCount > 0 || frame.args) ? frame : undefined;
  }
  if (!readCallSite(callSite, frame)) return undefined;
  if (!layout && addressCount === 0 && !frame.inline) return undefined;
  return frame;
}

// `--------` or `--------`--------` (or 16 dashes): the blank Child-SP of an inline frame.
function isDashes(text: string, start: number, end: number): boolean {
  const length = end - start;
  if (length !== 8 && length !== 16 && length !== 17) return false;
  for (let index = start; index < end; index++) {
    const wanted = length === 17 && index === start + 8 ? 96 : 45;
    if (text.charCodeAt(index) !== wanted) return false;
  }
  return true;
}

// readCallSite for a call site [start, end) that has no source annotation, notes or parameters
// (it ends in neither `]` nor `)`), written straight into the frame in readCallSite's key order.
// False where readCallSite would return undefined; a name ending in `)` goes to readCallSite.
function readPlainCallSite(text: string, start: number, end: number, frame: StackFrame, pool: StringPool | undefined): boolean {
  if (text.charCodeAt(start) === 48 && (text.charCodeAt(start + 1) | 32) === 120 && end - start > 2 && isAddressText(text, start + 2, end)) {
    frame.address = normalizeAddress(text.slice(start, end));
    return true;
  }
  let restEnd = end;
  const plus = text.lastIndexOf('+', end - 1);
  if (plus >= start) {
    let digits = plus + 1;
    if (text.charCodeAt(digits) === 48 && (text.charCodeAt(digits + 1) | 32) === 120 && end - digits - 2 >= 1 && end - digits - 2 <= 16 && isHexRun(text, digits + 2, end)) digits += 2;
    if (end - digits >= 1 && end - digits <= 16 && isHexRun(text, digits, end)) {
      frame.offset = end - digits <= 7 ? hexValue(text, digits, end) : Number.parseInt(text.slice(digits, end), 16);
      restEnd = plus;
    }
  }
  let bang = -1;
  for (let index = start; index < restEnd; index++) {
    if (text.charCodeAt(index) === 33) {
      bang = index;
      break;
    }
  }
  const moduleEnd = bang < 0 ? restEnd : bang;
  if (moduleEnd === start || !isModuleName(text, start, moduleEnd)) return false;
  if (bang < 0) {
    frame.module = pool ? pool.take(text, start, moduleEnd) : text.slice(start, moduleEnd);
    return true;
  }
  let nameStart = bang + 1;
  let nameEnd = restEnd;
  while (nameStart < nameEnd && isTrimSpace(text.charCodeAt(nameStart))) nameStart++;
  while (nameEnd > nameStart && isTrimSpace(text.charCodeAt(nameEnd - 1))) nameEnd--;
  if (nameEnd > nameStart && text.charCodeAt(nameEnd - 1) === 41) {
    // A parenthesised name (`operator()`, parameters before an offset): readCallSite's full path.
    return readCallSite(text.slice(start, end), frame) !== undefined;
  }
  frame.module = pool ? pool.take(text, start, moduleEnd) : text.slice(start, moduleEnd);
  if (nameEnd > nameStart) frame.function = pool ? pool.take(text, nameStart, nameEnd) : text.slice(nameStart, nameEnd);
  return true;
}

// True when [start, end) is hex digits and backticks (a `0x…` address after its prefix).
function isAddressText(line: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) {
    const code = line.charCodeAt(index);
    if (code !== 96 && !isHexCode(code)) return false;
  }
  return true;
}

// A module name holds no blank, parenthesis, backtick or quote (readCallSite's rule).
function isModuleName(line: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) {
    const code = line.charCodeAt(index);
    if (code === 40 || code === 41 || code === 96 || code === 39 || code === 34) return false;
    if (code <= 32 || code >= 0x80) return !/[\s()`'"]/.test(line.slice(start, end));
  }
  return true;
}

// Characters that trim() removes besides space and TAB are all below 33 or from U+00A0 on.
function mayBeOtherBlank(code: number): boolean {
  return code < 32 || code >= 0xa0;
}

// tokenEnd for the column tokens, which are never longer than 17 characters (addresses): a longer
// token (the call site) is not scanned to its end, and start + 18 is returned for it.
function shortTokenEnd(text: string, start: number, limit: number): number {
  const stop = Math.min(limit, start + 18);
  let position = start;
  while (position < stop && !isBlank(text.charCodeAt(position))) position += 1;
  return position;
}

// First position at or after `from` (and before `limit`) that is not a blank.
function skipBlanks(text: string, from: number, limit: number): number {
  let position = from;
  while (position < limit && isBlank(text.charCodeAt(position))) position += 1;
  return position;
}

// End of the token that starts at `start`: the first blank, or `limit`.
function tokenEnd(text: string, start: number, limit: number): number {
  let position = start;
  while (position < limit && !isBlank(text.charCodeAt(position))) position += 1;
  return position;
}

// True when [start, end) is hex digits, either case.
function isHexRun(line: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) {
    if (!isHexCode(line.charCodeAt(index))) return false;
  }
  return true;
}

// A hex digit, either case.
function isHexCode(code: number): boolean {
  const lower = code | 32;
  return (code >= 48 && code <= 57) || (lower >= 97 && lower <= 102);
}

// The value of a short hex run (at most 7 digits, so it fits exactly).
function hexValue(line: string, start: number, end: number): number {
  let value = 0;
  for (let index = start; index < end; index++) {
    const code = line.charCodeAt(index) | 32;
    value = value * 16 + (code <= 57 ? code - 48 : code - 87);
  }
  return value;
}

// ADDRESS on the token [start, end): 8 or 16 hex digits, or 8, a backtick and 8.
function isAddress(line: string, start: number, end: number): boolean {
  const length = end - start;
  if (length === 8 || length === 16) return isHexRun(line, start, end);
  return length === 17 && line.charCodeAt(start + 8) === 96 && isHexRun(line, start, start + 8) && isHexRun(line, start + 9, end);
}

// The address token [start, end) as normalizeAddress gives it: lowercase, no backtick.
function addressAt(line: string, start: number, end: number): string {
  if (end - start === 17) return lowerAt(line, start, start + 8) + lowerAt(line, start + 9, end);
  return lowerAt(line, start, end);
}

// The slice [start, end) in lowercase, copied only when it has capitals.
function lowerAt(line: string, start: number, end: number): string {
  const text = line.slice(start, end);
  for (let index = start; index < end; index++) {
    const code = line.charCodeAt(index);
    if (code >= 65 && code <= 90) return text.toLowerCase();
  }
  return text;
}

// Split a call site into module, function, offset, parameters, notes and source.
// Fields go into `site` in a fixed order (module first); a frame being read is passed as `site`
// itself, so nothing is copied (a failed frame is dropped, whatever was written into it).
function readCallSite(text: string, site: StackFrame = { module: '' }): StackFrame | undefined {
  let rest = text.trim();

  const source = rest.endsWith(']') ? /\[([^[\]]*) @ (\d+)\]$/.exec(rest) : null;
  if (source) {
    site.source = { file: source[1], line: Number(source[2]) };
    rest = rest.slice(0, source.index).trimEnd();
  }
  // Notes are peeled off the end by index, so a line of thousands of notes stays linear.
  const notes: string[] = [];
  let end = rest.length;
  while (end > 0 && rest[end - 1] === ')') {
    const open = matchingOpen(rest, end - 1);
    if (open < 0) break;
    const note = rest.slice(open + 1, end - 1);
    if (!NOTE.test(note)) break;
    notes.push(note);
    end = open;
    while (end > 0 && isBlank(rest.charCodeAt(end - 1))) end -= 1;
  }
  rest = rest.slice(0, end);
  if (notes.length > 0) {
    site.notes = site.notes ? [...site.notes, ...notes.reverse()] : notes.reverse();
    const trap = notes.map((note) => /TrapFrame @ ([0-9a-f`]+)/i.exec(note)).find((match) => match !== null);
    if (trap) site.trapFrame = normalizeAddress(trap[1]);
  }

  if (/^0x[0-9a-f`]+$/i.test(rest)) {
    site.address = normalizeAddress(rest);
    return site;
  }
  const plus = rest.lastIndexOf('+');
  const offset = plus < 0 ? null : /\+(?:0x)?([0-9a-f]{1,16})$/i.exec(rest.slice(plus));
  if (offset) offset.index += plus;
  if (offset) {
    site.offset = Number.parseInt(offset[1], 16);
    rest = rest.slice(0, offset.index);
  }
  const bang = rest.indexOf('!');
  const moduleEnd = bang < 0 ? rest.length : bang;
  const module = rest.slice(0, moduleEnd);
  if (module === '' || /[\s()`'"]/.test(module)) return undefined;
  site.module = module;
  if (bang < 0) return site;

  let name = rest.slice(bang + 1).trim();
  if (name.endsWith(')')) {
    const open = matchingOpen(name, name.length - 1);
    if (open > 0 && !/operator\s*$/.test(name.slice(0, open))) {
      site.parameters = name.slice(open + 1, -1);
      name = name.slice(0, open);
    }
  }
  if (name !== '') site.function = name;
  return site;
}

// Index of the `(` matching the `)` at `close`, ignoring parentheses inside double quotes; -1 when unbalanced.
function matchingOpen(text: string, close: number): number {
  let depth = 0;
  let quoted = false;
  for (let index = close; index >= 0; index -= 1) {
    const character = text[index];
    if (character === '"') quoted = !quoted;
    if (quoted) continue;
    if (character === ')') depth += 1;
    else if (character === '(') {
      depth -= 1;
      if (depth === 0) return index;
    }
  }
  return -1;
}

// x86 frames carry 32-bit addresses; only they have the 3 bare `Args to Child` without ` : `.
function frameIsX86(frame: StackFrame): boolean {
  return (frame.childEbp ?? frame.retAddr ?? '').length === 8;
}

// True for a frame whose call site kd has not printed (yet).
function isMissingCallSite(frame: StackFrame): boolean {
  return frame.module === '' && frame.address === undefined && frame.function === undefined && !frame.inline;
}

// Space or TAB.
function isBlank(code: number): boolean {
  return code === 32 || code === 9;
}
