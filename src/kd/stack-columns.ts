/**
 * The scanned form of kd backtraces (src/kd/stack.ts): every output of `k`, `kb`, `kv`, `kp`, …
 * is read once into columns of offsets and numbers, and turned into the StackResult that
 * parseStack returns only when asked (`result(row)`). The reading is parseStack's, step for step,
 * done by character codes at positions; shapes it does not hold (non-ASCII where a regex would
 * see Unicode spaces, huge numbers, text that is no backtrace) are left to parseStack (FALLBACK).
 * Frame lines in kd's own padding under a column header (nearly all of them) take a faster road:
 * the output is copied once into an array of its UTF-16 code units, and such a line is checked at
 * its header's fixed positions, hex columns two at a time (fastFrame, readCallSiteUnits); any line that does not
 * fit exactly is read the general way, to the same answer.
 */
import { Buffer } from 'node:buffer';
import { Int32Column, FALLBACK, type ColumnTable } from './columns.js';
import { isTrimSpace, normalizeAddress } from './common.js';
import { digitsThenColon } from './prompt.js';
import type { StackFrame, StackResult, StackWarning } from './stack.js';

// One frame is a record of FRAME_STRIDE ints in the frame blocks (BLOCK ints each, never copied
// when the table grows); a slot is only meaningful when its flag is set. Fields most frames lack (memory, bare address, parameters, source, notes, trap frame)
// live in a record of EXTRA_STRIDE ints in `extras`, made for the frames that need one.
const F_FLAGS = 0; // flags, and the lengths of the pointer and return address (LENGTH_* codes)
const F_INDEX = 1;
const F_PTR = 2; // start of the pointer column (Child-SP / ChildEBP)
const F_RET = 3; // start of RetAddr
const F_MODULE = 4; // start, end
const F_FUNCTION = 6; // start, end
const F_OFFSET = 8;
const F_ARGS = 9; // where the frame's arguments start in `args` (packed lengths, then one start each), or in the text (ARGS_X64, ARGS_X86)
const F_EXTRA = 10; // the frame's record in `extras`, or -1
const FRAME_STRIDE = 11;
// Ints in one block of frame records: a whole number of records, so that none straddles two blocks.
const BLOCK = FRAME_STRIDE * 8192;

const X_MEMORY = 0;
const X_ADDRESS = 1; // start, end
const X_PARAMS = 3; // start, end
const X_SOURCE = 5; // file start, file end, line
const X_NOTES = 8; // first pair in `notes`, count
const X_TRAP = 10; // start, end
const EXTRA_STRIDE = 12;

// Frame flags.
const INLINE = 1;
const INDEX = 2;
const MEMORY = 4;
const CHILD_SP = 8;
const CHILD_EBP = 16;
const RET = 32;
const ARGS = 64;
const MODULE = 128;
const FUNCTION = 256;
const ADDRESS = 512;
const OFFSET = 1024;
const PARAMS = 2048;
const SOURCE = 4096;
const NOTES = 8192;
const TRAP = 16384;
// The flags a call site sets (what a wrapped call site line adds to the frame before it).
const CALL_SITE = MODULE | FUNCTION | ADDRESS | OFFSET | PARAMS | SOURCE | NOTES | TRAP;
// Arguments in kd's own columns, not in `args`: F_ARGS is where the first starts, and the rest
// follow one column apart (four x64 addresses 18 apart, three x86 ones 9 apart).
const ARGS_X64 = 1 << 20;
const ARGS_X86 = 1 << 21;
// Where the length codes of the pointer and return address sit in F_FLAGS.
const PTR_SHIFT = 16;
const RET_SHIFT = 18;
// An address token's length (8, 16 or 17) as a 2-bit code, and back.
const LENGTHS = [0, 8, 16, 17];
// Most arguments one frame's record holds (2 bits of length each in one int).
const MAX_ARGS = 15;

// One result is a record of RESULT_STRIDE ints in `results`.
const R_FRAMES = 0; // first frame record, count
const R_COMPLETE = 2;
const R_UNPARSED = 3; // first pair in `unparsedLines`, count
const R_WARNINGS = 5; // first triple in `warnings`, count
const RESULT_STRIDE = 7;

// Layout bits, from a column header (-1: no header seen).
const L_NUMBERED = 1;
const L_MEMORY = 2;
const L_CHILD_SP = 4;
const L_CHILD_EBP = 8;
const L_RET = 16;
const L_ARGS_COLON = 32;
const L_ARGS_X86 = 64;
const NO_LAYOUT = -1;

// readFrame's answers besides success.
const NOT_FRAME = 0;
const IS_FRAME = 1;
const GIVE_UP = -1;

// 1 for the hex digits of either case, by character code.
const HEX = new Uint8Array(65536);
for (const digit of '0123456789abcdefABCDEF') HEX[digit.charCodeAt(0)] = 1;
// By character code: 2 for the `!` that ends a module name, 1 for what a module name may not hold
// (parentheses, backtick, quotes, what trim() removes), 0 for the rest.
const MODULE_UNIT = new Uint8Array(65536);
for (let code = 0; code < 65536; code++) if (isTrimSpace(code)) MODULE_UNIT[code] = 1;
for (const code of [40, 41, 96, 39, 34]) MODULE_UNIT[code] = 1;
MODULE_UNIT[33] = 2;
// By character code: a hex digit's value, 255 for any other character.
const DIGIT_UNIT = new Uint8Array(65536).fill(255);
for (let digit = 0; digit < 16; digit++) {
  DIGIT_UNIT['0123456789abcdef'.charCodeAt(digit)] = digit;
  DIGIT_UNIT['0123456789ABCDEF'.charCodeAt(digit)] = digit;
}
// Buffer's own UTF-16LE writer, what `buffer.write(text, 0, 'utf16le')` calls after sorting out
// its arguments (a cost per output that adds up); write() where a Node lacks it.
interface Ucs2Writer {
  ucs2Write(text: string, offset: number, length: number): number;
}
// Whether a Uint16Array reads the UTF-16LE that Buffer writes (else the fast road is not taken).
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
// The value of a hex digit, by character code.
const HEX_VALUE = new Uint8Array(128);
for (let digit = 0; digit < 16; digit++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(digit)] = digit;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(digit)] = digit;
}

/** Backtraces of one log as columns; `result(row)` gives what parseStack gives for the same output. */
export class StackTable implements ColumnTable<StackResult> {
  private readonly results = new Int32Column(1024);
  // Frame records: `block` is the block the next record goes into, holding the records from
  // `blockStart` on; `frameEnd` is where the next record starts (all three in ints over all blocks).
  private readonly blocks: Int32Array[] = [new Int32Array(BLOCK)];
  private block = this.blocks[0]!;
  private blockStart = 0;
  private frameEnd = 0;
  private readonly extras = new Int32Column(1024);
  private readonly args = new Int32Column(4096);
  private readonly notes = new Int32Column(256);
  private readonly unparsedLines = new Int32Column(256);
  private readonly warnings = new Int32Column(256);
  // The output being read as UTF-16 code units (`units[position - origin]`, `view` and `buffer`
  // over the same memory): fastFrame and the call-site reader read them instead of the string.
  private units = new Uint16Array(1 << 16);
  private view = new DataView(this.units.buffer);
  private buffer = Buffer.from(this.units.buffer);
  private origin = 0;

  /** How many results the table holds. */
  get size(): number {
    return this.results.length / RESULT_STRIDE;
  }

  /** Read the backtrace `text[from, to)`; FALLBACK for a shape parseStack must read (nothing of it is kept). */
  scan(text: string, from: number, to: number, _command?: string): number {
    const frames = this.frameEnd;
    const extras = this.extras.length;
    const args = this.args.length;
    const notes = this.notes.length;
    const unparsed = this.unparsedLines.length;
    const warnings = this.warnings.length;
    const row = this.read(text, from, to);
    if (row >= 0) return row;
    this.truncateFrames(frames);
    this.extras.truncate(extras);
    this.args.truncate(args);
    this.notes.truncate(notes);
    this.unparsedLines.truncate(unparsed);
    this.warnings.truncate(warnings);
    return FALLBACK;
  }

  // readStack of stack.ts over [from, to), into the columns; the new row, or FALLBACK.
  private read(text: string, from: number, to: number): number {
    const firstFrame = this.frameEnd;
    const firstUnparsed = this.unparsedLines.length;
    const firstWarning = this.warnings.length;
    let layout = NO_LAYOUT;
    // Whether the layout's frame lines can be read by fastFrame.
    let fast = false;
    const held = this.encode(text, from, to);
    let complete = true;
    let recognised = false;
    let seenContent = false;
    let previousWasFrame = false;
    let lastUnparsedLooksCut = false;

    for (let position = from; position <= to; ) {
      let newline = text.indexOf('\n', position);
      if (newline >= to) newline = -1;
      if (newline < 0 && position === to) break;
      const lineStart = position;
      let lineEnd = newline < 0 ? to : newline;
      position = newline < 0 ? to + 1 : newline + 1;
      if (fast && lineEnd > lineStart) {
        // A frame line in the header's fixed columns is read at its positions; any other line
        // (one that ends in `\r` too) goes the general way.
        const read = this.fastFrame(text, lineStart, lineEnd, layout);
        if (read === IS_FRAME) {
          seenContent = true;
          recognised = true;
          previousWasFrame = true;
          lastUnparsedLooksCut = false;
          continue;
        }
        if (read === GIVE_UP) return FALLBACK;
      }
      if (newline >= 0 && lineEnd > lineStart && text.charCodeAt(lineEnd - 1) === 13) lineEnd -= 1;
      let start = lineStart;
      let end = lineEnd;
      while (start < end && isTrimSpace(text.charCodeAt(start))) start++;
      while (end > start && isTrimSpace(text.charCodeAt(end - 1))) end--;
      if (start === end) {
        previousWasFrame = false;
        continue;
      }
      const first = !seenContent;
      seenContent = true;
      const wasFrame = previousWasFrame;
      previousWasFrame = false;
      lastUnparsedLooksCut = false;
      const lead = text.charCodeAt(start);

      // A line that starts as no prompt, header, elision or warning can goes straight to readFrame.
      if (mayBeOther(text, start, end, lead)) {
        if (isPrompt(text, start, end, lead)) {
          if (!first) this.unparsedLines.push(lineStart), this.unparsedLines.push(lineEnd);
          continue;
        }
        if (end - start === 11 && lead === 83 && text.startsWith('STACK_TEXT:', start)) {
          recognised = true;
          layout = NO_LAYOUT;
          fast = false;
          continue;
        }
        if (lead === 35 || lead === 77 || lead === 67 || lead === 82 || lead === 58 || lead === 65) {
          const header = headerLayout(text, start, end, held ? this.view : undefined, this.origin);
          if (header !== NO_LAYOUT) {
            recognised = true;
            layout = header;
            fast = held && (header & L_MEMORY) === 0;
            continue;
          }
        }
        if ((lead === 0x2026 && isRun(text, start, end, 0x2026, 1)) || (lead === 91 && isBracketDots(text, start, end)) || (lead === 46 && wasFrame && isRun(text, start, end, 46, 3))) {
          complete = false;
          continue;
        }
        if (lead === 42 || lead === 87 || lead === 69 || lead === 85) {
          const message = warningMessage(text, start, end);
          if (message >= 0) {
            const warnings = this.warnings;
            warnings.push(message);
            warnings.push(end);
            warnings.push((this.frameEnd - firstFrame) / FRAME_STRIDE);
            continue;
          }
        }
      }
      const read = this.readFrame(text, start, end, layout);
      if (read === IS_FRAME) {
        recognised = true;
        previousWasFrame = true;
        continue;
      }
      if (read === GIVE_UP) return FALLBACK;
      if (wasFrame && this.frameEnd > firstFrame) {
        const wrapped = this.wrappedCallSite(text, start, end);
        if (wrapped === GIVE_UP) return FALLBACK;
        if (wrapped === IS_FRAME) continue;
      }
      this.unparsedLines.push(lineStart);
      this.unparsedLines.push(lineEnd);
      lastUnparsedLooksCut = end - start >= 2 && HEX[lead] === 1 && HEX[text.charCodeAt(start + 1)] === 1;
    }

    if (!recognised) return FALLBACK;
    if (lastUnparsedLooksCut) complete = false;
    const results = this.results;
    const row = results.length / RESULT_STRIDE;
    results.push(firstFrame);
    results.push((this.frameEnd - firstFrame) / FRAME_STRIDE);
    results.push(complete ? 1 : 0);
    results.push(firstUnparsed);
    results.push((this.unparsedLines.length - firstUnparsed) / 2);
    results.push(firstWarning);
    results.push((this.warnings.length - firstWarning) / 3);
    return row;
  }

  // readFrame of stack.ts on the trimmed line [lineStart, lineEnd), written as the record after
  // the last one in `frames` (kept only for IS_FRAME). GIVE_UP where stack.ts reads the line
  // another way (blanks other than space and TAB where trim() and the token reader disagree) or a
  // number does not fit a column.
  private readFrame(text: string, lineStart: number, lineEnd: number, layout: number): number {
    const base = this.frameSlot();
    const data = this.block;
    data[base + F_EXTRA] = -1;
    let flags = 0;
    let start = lineStart;
    let end: number;
    const hasLayout = layout !== NO_LAYOUT;
    const memoryColumn = hasLayout && (layout & L_MEMORY) !== 0;

    let numbered: boolean;
    if (hasLayout && !memoryColumn && (layout & L_NUMBERED) !== 0) {
      // The frame number under a `#` header, read in one pass: 1 to 4 hex digits, then a blank or the end.
      let index = 0;
      let at = start;
      while (at < lineEnd && at - start < 5) {
        const code = text.charCodeAt(at);
        if (HEX[code] !== 1) break;
        index = index * 16 + ((code | 32) <= 57 ? code - 48 : (code | 32) - 87);
        at++;
      }
      if (at === start || at - start > 4 || (at < lineEnd && !isBlank(text.charCodeAt(at)))) return NOT_FRAME;
      flags = INDEX;
      data[base + F_INDEX] = index;
      start = skipBlanks(text, at, lineEnd);
      numbered = false;
      end = start;
    } else if (hasLayout) {
      numbered = (layout & L_NUMBERED) !== 0;
      end = numbered || memoryColumn ? shortTokenEnd(text, start, lineEnd) : start;
    } else {
      end = shortTokenEnd(text, start, lineEnd);
      numbered = false;
      if (end - start >= 2 && end - start <= 4 && isHexRun(text, start, end)) {
        const next = skipBlanks(text, end, lineEnd);
        numbered = addressLength(text, next, lineEnd) > 0 || (next + 7 <= lineEnd && text.startsWith('(Inline', next) && (next + 7 === lineEnd || isBlank(text.charCodeAt(next + 7))));
      }
    }
    if (numbered) {
      if (end - start < 1 || end - start > 4 || !isHexRun(text, start, end)) return NOT_FRAME;
      flags = INDEX;
      data[base + F_INDEX] = hexValue(text, start, end);
      start = skipBlanks(text, end, lineEnd);
      end = memoryColumn ? shortTokenEnd(text, start, lineEnd) : start;
    }
    if (memoryColumn && end - start >= 1 && end - start <= 7 && isHexRun(text, start, end)) {
      flags |= MEMORY;
      this.extraOf(data, base)[data[base + F_EXTRA]! + X_MEMORY] = hexValue(text, start, end);
      start = skipBlanks(text, end, lineEnd);
    }

    let addressCount = 0;
    let x86 = false;
    const at = text.charCodeAt(start);
    if (start < lineEnd && (at < 32 || at >= 0xa0)) return GIVE_UP;
    if (at === 40 && lineEnd - start >= 17 && text.startsWith('(Inline Function)', start)) {
      flags |= INLINE;
      start = skipBlanks(text, start + 17, lineEnd);
      if (isDashesAt(text, start, lineEnd)) start = skipBlanks(text, shortTokenEnd(text, start, lineEnd), lineEnd);
    } else if (hasLayout) {
      if ((layout & (L_CHILD_SP | L_CHILD_EBP)) !== 0) {
        const length = addressLength(text, start, lineEnd);
        if (length === 0) return NOT_FRAME;
        flags |= ((layout & L_CHILD_SP) !== 0 ? CHILD_SP : CHILD_EBP) | (lengthCode(length) << PTR_SHIFT);
        data[base + F_PTR] = start;
        start = skipBlanks(text, start + length, lineEnd);
        addressCount++;
      }
      if ((layout & L_RET) !== 0) {
        const length = addressLength(text, start, lineEnd);
        if (length === 0) return NOT_FRAME;
        flags |= RET | (lengthCode(length) << RET_SHIFT);
        data[base + F_RET] = start;
        start = skipBlanks(text, start + length, lineEnd);
        addressCount++;
      }
    } else {
      // Without a header only the common shape counts: frame pointer, then return address.
      const pointer = addressLength(text, start, lineEnd);
      if (pointer === 0) return NOT_FRAME;
      const retStart = skipBlanks(text, start + pointer, lineEnd);
      const ret = addressLength(text, retStart, lineEnd);
      if (ret === 0) return NOT_FRAME;
      flags |= (pointer === 8 ? CHILD_EBP : CHILD_SP) | RET | (lengthCode(pointer) << PTR_SHIFT) | (lengthCode(ret) << RET_SHIFT);
      data[base + F_PTR] = start;
      data[base + F_RET] = retStart;
      start = skipBlanks(text, retStart + ret, lineEnd);
      addressCount = 2;
      x86 = pointer === 8 || ret === 8;
    }

    const argsStyle = hasLayout ? layout & (L_ARGS_COLON | L_ARGS_X86) : isColon(text, start, lineEnd) ? L_ARGS_COLON : addressCount > 0 && x86 ? L_ARGS_X86 : 0;
    const args = this.args;
    const argsMark = args.length;
    if (argsStyle === L_ARGS_COLON) {
      if (!isColon(text, start, lineEnd)) return NOT_FRAME;
      let count = 0;
      let lengths = 0;
      args.push(0);
      let end = start + 1;
      for (;;) {
        start = skipBlanks(text, end, lineEnd);
        if (start >= lineEnd) {
          args.truncate(argsMark);
          return NOT_FRAME;
        }
        const length = addressLength(text, start, lineEnd);
        if (length > 0) {
          if (count === MAX_ARGS) return GIVE_UP;
          args.push(start);
          lengths |= lengthCode(length) << (2 * count);
          count++;
          end = start + length;
          continue;
        }
        end = tokenEnd(text, start, lineEnd);
        if (end - start === 1 && text.charCodeAt(start) === 58) break;
        if (!isDashToken(text, start, end)) {
          args.truncate(argsMark);
          return NOT_FRAME;
        }
      }
      start = skipBlanks(text, end, lineEnd);
      if (count > 0) {
        flags |= ARGS;
        args.data[argsMark] = lengths;
        data[base + F_ARGS] = argsMark;
      } else args.truncate(argsMark);
    } else if (argsStyle === L_ARGS_X86) {
      let count = 0;
      while (count < 3 && start + 8 <= lineEnd && isHex8(text, start) && (start + 8 === lineEnd || isBlank(text.charCodeAt(start + 8)))) {
        if (count === 0) args.push(0);
        args.push(start);
        count++;
        start = skipBlanks(text, start + 8, lineEnd);
      }
      if (count > 0) {
        flags |= ARGS;
        // Each of the count arguments is 8 long (code 1).
        args.data[argsMark] = count === 1 ? 1 : count === 2 ? 5 : 21;
        data[base + F_ARGS] = argsMark;
      }
    }

    if (start >= lineEnd) {
      // Only a table with its header may have a frame without a call site.
      if (!hasLayout || (addressCount === 0 && (flags & ARGS) === 0)) {
        args.truncate(argsMark);
        this.dropExtra(data, base);
        return NOT_FRAME;
      }
      data[base + F_FLAGS] = flags;
      this.frameEnd += FRAME_STRIDE;
      return IS_FRAME;
    }
    // stack.ts trims the call site with trim() when it starts with an odd character.
    if (isTrimSpace(text.charCodeAt(start))) return GIVE_UP;
    data[base + F_FLAGS] = flags;
    const notesMark = this.notes.length;
    const read = this.readCallSiteUnits(text, this.units, this.origin, start, lineEnd, data, base);
    if (read !== IS_FRAME || (!hasLayout && addressCount === 0 && (flags & INLINE) === 0)) {
      args.truncate(argsMark);
      this.notes.truncate(notesMark);
      this.dropExtra(data, base);
      return read === GIVE_UP ? GIVE_UP : NOT_FRAME;
    }
    this.frameEnd += FRAME_STRIDE;
    return IS_FRAME;
  }

  // Copy text[from, to) into `units` (room for an eight-unit read past its end). True when Buffer's
  // writer made the copy, which the fast road needs (it reads units four at a time as bytes);
  // otherwise the units are copied one by one, for the call-site reader every line uses.
  private encode(text: string, from: number, to: number): boolean {
    const length = to - from;
    if (length + 8 > this.units.length) {
      let size = this.units.length * 2;
      while (size < length + 8) size *= 2;
      this.units = new Uint16Array(size);
      this.view = new DataView(this.units.buffer);
      this.buffer = Buffer.from(this.units.buffer);
    }
    this.origin = from;
    if (LITTLE_ENDIAN) {
      const slice = text.slice(from, to);
      const buffer = this.buffer as Buffer & Partial<Ucs2Writer>;
      if ((buffer.ucs2Write === undefined ? buffer.write(slice, 0, 'utf16le') : buffer.ucs2Write(slice, 0, 2 * length)) === 2 * length) return true;
    }
    const units = this.units;
    for (let index = 0; index < length; index++) units[index] = text.charCodeAt(from + index);
    return false;
  }

  // readFrame for a line in kd's own padding under a header without a memory column, read from
  // the output's code units: a two-digit frame number, addresses of 8 or 17 characters each followed by
  // one space, `: args :` or x86 arguments, blanks, the call site; every character of the columns
  // read once. NOT_FRAME for any line of another shape, which readFrame then reads (nothing of it
  // is kept here); GIVE_UP only where readFrame gives up on the same line.
  private fastFrame(text: string, lineStart: number, lineEnd: number, layout: number): number {
    // Positions in `b` are text positions less `o`.
    const b = this.units;
    const o = this.origin;
    const start = lineStart - o;
    let end = lineEnd - o;
    let last = b[end - 1]!;
    while (last === 32 && end > start + 1) last = b[--end - 1]!;
    if (last < 33 || last > 126) return NOT_FRAME;
    const base = this.frameSlot();
    const data = this.block;
    let p = start;
    let flags = 0;
    let addresses = false;
    if ((layout & L_NUMBERED) !== 0) {
      const high = b[p]!;
      const low = b[p + 1]!;
      if ((HEX[high]! & HEX[low]!) === 0 || p + 3 >= end || b[p + 2] !== 32) return NOT_FRAME;
      data[base + F_INDEX] = HEX_VALUE[high]! * 16 + HEX_VALUE[low]!;
      flags = INDEX;
      p += 3;
    }
    const pointer = (layout & (L_CHILD_SP | L_CHILD_EBP)) !== 0;
    if (b[p] === 40) {
      // `(Inline Function) --------`-------- ` in place of the addresses.
      if (p + INLINE_COLUMNS.length > end || !sameUnits(b, p, INLINE_UNITS)) return NOT_FRAME;
      flags |= INLINE;
      p += INLINE_COLUMNS.length;
    } else if (pointer && (layout & L_RET) !== 0) {
      // Frame pointer and return address, both x64 (8`8) or both x86 (8).
      const separator = b[p + 8];
      if (separator === 96) {
        if (p + 35 > end || b[p + 17] !== 32 || b[p + 26] !== 96 || (p + 35 < end && b[p + 35] !== 32) || (hex8(b, p) & hex8(b, p + 9) & hex8(b, p + 18) & hex8(b, p + 27)) === 0) return NOT_FRAME;
        flags |= ((layout & L_CHILD_SP) !== 0 ? CHILD_SP : CHILD_EBP) | RET | (3 << PTR_SHIFT) | (3 << RET_SHIFT);
        data[base + F_PTR] = p + o;
        data[base + F_RET] = p + 18 + o;
        p += 36;
      } else if (separator === 32) {
        if (p + 17 > end || (p + 17 < end && b[p + 17] !== 32) || (hex8(b, p) & hex8(b, p + 9)) === 0) return NOT_FRAME;
        flags |= ((layout & L_CHILD_SP) !== 0 ? CHILD_SP : CHILD_EBP) | RET | (1 << PTR_SHIFT) | (1 << RET_SHIFT);
        data[base + F_PTR] = p + o;
        data[base + F_RET] = p + 9 + o;
        p += 18;
      } else return NOT_FRAME;
      addresses = true;
    } else {
      if (pointer) {
        const length = fixedAddress(b, p, end);
        if (length === 0) return NOT_FRAME;
        flags |= ((layout & L_CHILD_SP) !== 0 ? CHILD_SP : CHILD_EBP) | (lengthCode(length) << PTR_SHIFT);
        data[base + F_PTR] = p + o;
        p += length + 1;
        addresses = true;
      }
      if ((layout & L_RET) !== 0) {
        if (p >= end) return NOT_FRAME;
        const length = fixedAddress(b, p, end);
        if (length === 0) return NOT_FRAME;
        flags |= RET | (lengthCode(length) << RET_SHIFT);
        data[base + F_RET] = p + o;
        p += length + 1;
        addresses = true;
      }
    }
    const args = this.args;
    const argsMark = args.length;
    if ((layout & L_ARGS_COLON) !== 0) {
      // ` : ` then addresses each followed by one space, then ` : `.
      while (p < end && b[p] === 32) p++;
      if (p + 1 >= end || b[p] !== 58 || b[p + 1] !== 32) return NOT_FRAME;
      p += 2;
      let argData = args.data;
      if (argsMark + MAX_ARGS + 1 > argData.length) argData = reserve(args, MAX_ARGS + 1);
      if (
        p + 73 < end &&
        b[p + 8] === 96 &&
        b[p + 17] === 32 &&
        b[p + 26] === 96 &&
        b[p + 35] === 32 &&
        b[p + 44] === 96 &&
        b[p + 53] === 32 &&
        b[p + 62] === 96 &&
        b[p + 71] === 32 &&
        b[p + 72] === 58 &&
        b[p + 73] === 32 &&
        (hex8(b, p) & hex8(b, p + 9) & hex8(b, p + 18) & hex8(b, p + 27) & hex8(b, p + 36) & hex8(b, p + 45) & hex8(b, p + 54) & hex8(b, p + 63)) === 1
      ) {
        // kd's four x64 arguments.
        data[base + F_ARGS] = p + o;
        flags |= ARGS | ARGS_X64;
        p += 74;
      } else {
        let count = 0;
        let lengths = 0;
        for (;;) {
          if (p + 1 >= end) return NOT_FRAME;
          if (b[p] === 58 && b[p + 1] === 32) break;
          if (count === MAX_ARGS) return NOT_FRAME;
          const length = fixedAddress(b, p, end);
          if (length === 0 || p + length >= end) return NOT_FRAME;
          argData[argsMark + 1 + count] = p + o;
          lengths |= lengthCode(length) << (2 * count);
          count++;
          p += length + 1;
        }
        p += 2;
        if (count > 0) {
          flags |= ARGS;
          argData[argsMark] = lengths;
          args.length = argsMark + 1 + count;
          data[base + F_ARGS] = argsMark;
        }
      }
    } else if ((layout & L_ARGS_X86) !== 0) {
      if (p + 26 < end && b[p + 8] === 32 && b[p + 17] === 32 && b[p + 26] === 32 && (hex8(b, p) & hex8(b, p + 9) & hex8(b, p + 18)) === 1) {
        // kd's three x86 arguments.
        data[base + F_ARGS] = p + o;
        flags |= ARGS | ARGS_X86;
        p += 27;
      } else {
        let count = 0;
        let argData = args.data;
        if (argsMark + 4 > argData.length) argData = reserve(args, 4);
        while (count < 3 && p + 8 <= end && hex8(b, p) === 1) {
          if (p + 8 < end) {
            const after = b[p + 8];
            if (after === 9) return NOT_FRAME;
            if (after !== 32) break;
          }
          argData[argsMark + 1 + count] = p + o;
          count++;
          p += 9;
          while (p < end && b[p] === 32) p++;
        }
        if (count > 0) {
          flags |= ARGS;
          argData[argsMark] = count === 1 ? 1 : count === 2 ? 5 : 21;
          args.length = argsMark + 1 + count;
          data[base + F_ARGS] = argsMark;
        }
      }
    }
    while (p < end && b[p] === 32) p++;
    data[base + F_EXTRA] = -1;
    if (p >= end) {
      if (!addresses && (flags & ARGS) === 0) {
        args.length = argsMark;
        return NOT_FRAME;
      }
      data[base + F_FLAGS] = flags;
      this.frameEnd += FRAME_STRIDE;
      return IS_FRAME;
    }
    const first = b[p]!;
    // The call site's first character: what readFrame and trim() agree on (not a `(` that may open `(Inline Function)`).
    if (first < 33 || first > 126 || (first === 40 && !addresses)) {
      args.length = argsMark;
      return NOT_FRAME;
    }
    data[base + F_FLAGS] = flags;
    const notesMark = this.notes.length;
    const read = this.readCallSiteUnits(text, b, o, p + o, end + o, data, base);
    if (read !== IS_FRAME) {
      args.length = argsMark;
      this.notes.truncate(notesMark);
      this.dropExtra(data, base);
      return read;
    }
    this.frameEnd += FRAME_STRIDE;
    return IS_FRAME;
  }

  // The extra record of the frame at `base` (made when it has none); the extras' array.
  private extraOf(data: Int32Array, base: number): Int32Array {
    const extras = this.extras;
    if (data[base + F_EXTRA]! >= 0) return extras.data;
    const at = extras.length;
    const array = at + EXTRA_STRIDE > extras.data.length ? reserve(extras, EXTRA_STRIDE) : extras.data;
    extras.length = at + EXTRA_STRIDE;
    data[base + F_EXTRA] = at;
    return array;
  }

  // Undo extraOf for a frame that was not kept (its record is always the last one).
  private dropExtra(data: Int32Array, base: number): void {
    const at = data[base + F_EXTRA]!;
    if (at >= 0) this.extras.truncate(at);
    data[base + F_EXTRA] = -1;
  }

  // readCallSite of stack.ts on the trimmed call site [start, end) of the output held as code
  // units (`b[position - o]`): the fields go into the frame record at `base` (flags or-ed into its
  // F_FLAGS), notes to `notes`. IS_FRAME when readCallSite returns a site, NOT_FRAME when it
  // returns undefined, GIVE_UP for a number too big for a column.
  private readCallSiteUnits(text: string, b: Uint16Array, o: number, start: number, end: number, data: Int32Array, base: number): number {
    let flags = data[base + F_FLAGS]!;
    let restEnd = end;

    if (b[end - 1 - o]! === 93) {
      // `[file @ line]`: digits, ` @ `, and before it a file without brackets after the last `[`.
      let digits = end - 1;
      while (digits > start && isDigit(b[digits - 1 - o]!)) digits--;
      if (digits < end - 1 && digits - 3 >= start && b[digits - 1 - o]! === 32 && b[digits - 2 - o]! === 64 && b[digits - 3 - o]! === 32) {
        const at = digits - 3;
        // The last `[` before ` @ `, with no `]` after it: the first of the two looking back.
        const open = lastBracket(b, this.view, o, start, at);
        if (open >= start && b[open - o] === 91) {
          if (end - 1 - digits > 9) return GIVE_UP;
          let line = 0;
          for (let index = digits; index < end - 1; index++) line = line * 10 + b[index - o]! - 48;
          flags |= SOURCE;
          const extra = this.extraOf(data, base);
          const x = data[base + F_EXTRA]!;
          extra[x + X_SOURCE] = open + 1;
          extra[x + X_SOURCE + 1] = at;
          extra[x + X_SOURCE + 2] = line;
          restEnd = open;
          while (restEnd > start && isTrimSpace(b[restEnd - 1 - o]!)) restEnd--;
        }
      }
    }

    if (restEnd > start && b[restEnd - 1 - o]! === 41) {
      // Notes are peeled off the end, rightmost first.
      const notes = this.notes;
      let count = 0;
      const first = notes.length;
      let trap = -1;
      while (restEnd > start && b[restEnd - 1 - o]! === 41) {
        const open = matchingOpenUnits(b, o, start, restEnd - 1);
        if (open < 0 || !isNote(text, open + 1, restEnd - 1)) break;
        notes.push(open + 1);
        notes.push(restEnd - 1);
        count++;
        const found = trapFrameAt(text, open + 1, restEnd - 1);
        if (found >= 0) trap = found;
        restEnd = open;
        while (restEnd > start && isBlank(b[restEnd - 1 - o]!)) restEnd--;
      }
      if (count > 0) {
        flags |= NOTES;
        const extra = this.extraOf(data, base);
        const x = data[base + F_EXTRA]!;
        extra[x + X_NOTES] = first;
        extra[x + X_NOTES + 1] = count;
        if (trap >= 0) {
          flags |= TRAP;
          extra[x + X_TRAP] = trap;
          extra[x + X_TRAP + 1] = trapEnd(text, trap);
        }
      }
    }

    if (restEnd - start > 2 && b[start - o]! === 48 && (b[start + 1 - o]! | 32) === 120 && isAddressText(text, start + 2, restEnd)) {
      const extra = this.extraOf(data, base);
      const x = data[base + F_EXTRA]!;
      extra[x + X_ADDRESS] = start;
      extra[x + X_ADDRESS + 1] = restEnd;
      data[base + F_FLAGS] = flags | ADDRESS;
      return IS_FRAME;
    }

    // `+hex` or `+0xhex` (1 to 16 digits) after the last `+`.
    // The digits are read (and summed) from the right; 16 digits stay exact as a double.
    // Seven digits fit an int; more (rare) go on in floating point.
    let digits = restEnd;
    let value = 0;
    let shift = 0;
    while (digits > start && shift < 28) {
      const digit = DIGIT_UNIT[b[digits - 1 - o]!]!;
      if (digit === 255) break;
      value |= digit << shift;
      shift += 4;
      digits--;
    }
    if (shift === 28) {
      let scale = 2 ** 28;
      while (digits > start && restEnd - digits < 17) {
        const digit = DIGIT_UNIT[b[digits - 1 - o]!]!;
        if (digit === 255) break;
        value += digit * scale;
        scale *= 16;
        digits--;
      }
    }
    const length = restEnd - digits;
    if (length >= 1 && length <= 16 && digits > start) {
      let plus = -1;
      const before = b[digits - 1 - o]!;
      if (before === 43) plus = digits - 1;
      else if ((before | 32) === 120 && digits - 3 >= start && b[digits - 2 - o]! === 48 && b[digits - 3 - o]! === 43) plus = digits - 3;
      if (plus >= 0) {
        if (value > 0x7fffffff) return GIVE_UP;
        flags |= OFFSET;
        data[base + F_OFFSET] = value;
        restEnd = plus;
      }
    }

    // The module runs to the first `!`, and holds no blank, parenthesis, backtick or quote.
    let bang = -1;
    for (let index = start; index < restEnd; index++) {
      const kind = MODULE_UNIT[b[index - o]!]!;
      if (kind !== 0) {
        if (kind === 2) {
          bang = index;
          break;
        }
        return NOT_FRAME;
      }
    }
    const moduleEnd = bang < 0 ? restEnd : bang;
    if (moduleEnd === start) return NOT_FRAME;
    flags |= MODULE;
    data[base + F_MODULE] = start;
    data[base + F_MODULE + 1] = moduleEnd;
    if (bang >= 0) {
      let nameStart = bang + 1;
      let nameEnd = restEnd;
      while (nameStart < nameEnd && isTrimSpace(b[nameStart - o]!)) nameStart++;
      while (nameEnd > nameStart && isTrimSpace(b[nameEnd - 1 - o]!)) nameEnd--;
      if (nameEnd > nameStart && b[nameEnd - 1 - o]! === 41) {
        const open = matchingOpenUnits(b, o, nameStart, nameEnd - 1);
        if (open > nameStart && !endsWithOperator(text, nameStart, open)) {
          flags |= PARAMS;
          const extra = this.extraOf(data, base);
          const x = data[base + F_EXTRA]!;
          extra[x + X_PARAMS] = open + 1;
          extra[x + X_PARAMS + 1] = nameEnd - 1;
          nameEnd = open;
        }
      }
      if (nameEnd > nameStart) {
        flags |= FUNCTION;
        data[base + F_FUNCTION] = nameStart;
        data[base + F_FUNCTION + 1] = nameEnd;
      }
    }
    data[base + F_FLAGS] = flags;
    return IS_FRAME;
  }

  // A call site kd wrapped onto its own line after a frame that had none: read into a scratch
  // record after the last frame and, when it has a module, copied into that frame.
  private wrappedCallSite(text: string, start: number, end: number): number {
    const last = this.frameEnd - FRAME_STRIDE;
    const record = this.blocks[Math.floor(last / BLOCK)]!;
    const previous = last % BLOCK;
    const flags = record[previous + F_FLAGS]!;
    if ((flags & (MODULE | ADDRESS | FUNCTION | INLINE)) !== 0) return NOT_FRAME;
    const scratch = this.frameSlot();
    const data = this.block;
    data[scratch + F_FLAGS] = 0;
    // The call site's extra fields go straight into the previous frame's extra record.
    data[scratch + F_EXTRA] = record[previous + F_EXTRA]!;
    const extraMark = this.extras.length;
    const notesMark = this.notes.length;
    const read = this.readCallSiteUnits(text, this.units, this.origin, start, end, data, scratch);
    if (read !== IS_FRAME || (data[scratch + F_FLAGS]! & MODULE) === 0) {
      this.notes.truncate(notesMark);
      this.extras.truncate(extraMark);
      return read === GIVE_UP ? GIVE_UP : NOT_FRAME;
    }
    record[previous + F_FLAGS] = flags | (data[scratch + F_FLAGS]! & CALL_SITE);
    for (let slot = F_MODULE; slot <= F_OFFSET; slot++) record[previous + slot] = data[scratch + slot]!;
    record[previous + F_EXTRA] = data[scratch + F_EXTRA]!;
    return IS_FRAME;
  }

  // Where in `block` the record at frameEnd goes (a new block when this one is full).
  private frameSlot(): number {
    let slot = this.frameEnd - this.blockStart;
    if (slot === BLOCK) {
      const next = this.blockStart / BLOCK + 1;
      this.block = this.blocks[next] ??= new Int32Array(BLOCK);
      this.blockStart += BLOCK;
      slot = 0;
    }
    return slot;
  }

  // Drop the frame records from `end` on (kept blocks are written over later).
  private truncateFrames(end: number): void {
    if (end >= this.frameEnd) return;
    const index = end === 0 ? 0 : Math.floor((end - 1) / BLOCK);
    this.frameEnd = end;
    this.block = this.blocks[index]!;
    this.blockStart = index * BLOCK;
  }

  /** The result at `row`, equal (key order included) to parseStack's for the same output. */
  result(text: string, row: number): StackResult {
    const record = this.results.data;
    const at = row * RESULT_STRIDE;
    const frames: StackFrame[] = [];
    const first = record[at + R_FRAMES]!;
    const count = record[at + R_FRAMES + 1]!;
    for (let index = 0; index < count; index++) frames.push(this.frame(text, first + index * FRAME_STRIDE));
    const warnings: StackWarning[] = [];
    const data = this.warnings.data;
    const firstWarning = record[at + R_WARNINGS]!;
    for (let index = 0; index < record[at + R_WARNINGS + 1]!; index++) {
      const base = firstWarning + index * 3;
      warnings.push({ message: text.slice(data[base]!, data[base + 1]!), beforeFrame: data[base + 2]! });
    }
    return { complete: this.complete(row), unparsed: this.unparsed(text, row), frames, warnings };
  }

  // The frame of the record at `base`, its keys in the order readFrame and readCallSite set them.
  private frame(text: string, position: number): StackFrame {
    const data = this.blocks[Math.floor(position / BLOCK)]!;
    const base = position % BLOCK;
    const extra = this.extras.data;
    const x = data[base + F_EXTRA]!;
    const flags = data[base + F_FLAGS]!;
    const frame: StackFrame = { module: flags & MODULE ? text.slice(data[base + F_MODULE]!, data[base + F_MODULE + 1]!) : '' };
    if (flags & INDEX) frame.index = data[base + F_INDEX]!;
    if (flags & MEMORY) frame.memory = extra[x + X_MEMORY]!;
    if (flags & INLINE) frame.inline = true;
    const pointer = data[base + F_PTR]!;
    const ret = data[base + F_RET]!;
    if (flags & CHILD_SP) frame.childSp = sliceAddress(text, pointer, pointer + LENGTHS[(flags >> PTR_SHIFT) & 3]!);
    if (flags & CHILD_EBP) frame.childEbp = sliceAddress(text, pointer, pointer + LENGTHS[(flags >> PTR_SHIFT) & 3]!);
    if (flags & RET) frame.retAddr = sliceAddress(text, ret, ret + LENGTHS[(flags >> RET_SHIFT) & 3]!);
    if (flags & (ARGS_X64 | ARGS_X86)) {
      const first = data[base + F_ARGS]!;
      frame.args =
        flags & ARGS_X64
          ? [sliceAddress(text, first, first + 17), sliceAddress(text, first + 18, first + 35), sliceAddress(text, first + 36, first + 53), sliceAddress(text, first + 54, first + 71)]
          : [sliceAddress(text, first, first + 8), sliceAddress(text, first + 9, first + 17), sliceAddress(text, first + 18, first + 26)];
    } else if (flags & ARGS) {
      const starts = this.args.data;
      const firstArg = data[base + F_ARGS]!;
      let lengths = starts[firstArg]!;
      const args: string[] = [];
      for (let index = firstArg + 1; lengths !== 0; index++, lengths >>>= 2) args.push(sliceAddress(text, starts[index]!, starts[index]! + LENGTHS[lengths & 3]!));
      frame.args = args;
    }
    if (flags & SOURCE) frame.source = { file: text.slice(extra[x + X_SOURCE]!, extra[x + X_SOURCE + 1]!), line: extra[x + X_SOURCE + 2]! };
    if (flags & NOTES) {
      // Notes were read from the right; the frame lists them as printed.
      const pairs = this.notes.data;
      const firstNote = extra[x + X_NOTES]!;
      const notes: string[] = [];
      for (let index = extra[x + X_NOTES + 1]! - 1; index >= 0; index--) notes.push(text.slice(pairs[firstNote + 2 * index]!, pairs[firstNote + 2 * index + 1]!));
      frame.notes = notes;
    }
    if (flags & TRAP) frame.trapFrame = sliceAddress(text, extra[x + X_TRAP]!, extra[x + X_TRAP + 1]!);
    if (flags & ADDRESS) frame.address = sliceAddress(text, extra[x + X_ADDRESS]!, extra[x + X_ADDRESS + 1]!);
    if (flags & OFFSET) frame.offset = data[base + F_OFFSET]!;
    if (flags & PARAMS) frame.parameters = text.slice(extra[x + X_PARAMS]!, extra[x + X_PARAMS + 1]!);
    if (flags & FUNCTION) frame.function = text.slice(data[base + F_FUNCTION]!, data[base + F_FUNCTION + 1]!);
    return frame;
  }

  /** The result's `complete` flag, without building the result. */
  complete(row: number): boolean {
    return this.results.data[row * RESULT_STRIDE + R_COMPLETE] === 1;
  }

  /** The result's `unparsed` lines, without building the rest of it. */
  unparsed(text: string, row: number): string[] {
    const record = this.results.data;
    const first = record[row * RESULT_STRIDE + R_UNPARSED]!;
    const count = record[row * RESULT_STRIDE + R_UNPARSED + 1]!;
    const data = this.unparsedLines.data;
    const lines: string[] = [];
    for (let index = 0; index < count; index++) lines.push(text.slice(data[first + 2 * index]!, data[first + 2 * index + 1]!));
    return lines;
  }
}

// The 2-bit code of an address token's length (8, 16 or 17).
function lengthCode(length: number): number {
  return length === 8 ? 1 : length === 16 ? 2 : 3;
}

// The token at `start` is a lone `:`.
function isColon(text: string, start: number, limit: number): boolean {
  return start < limit && text.charCodeAt(start) === 58 && (start + 1 === limit || isBlank(text.charCodeAt(start + 1)));
}

// An address as normalizeAddress gives it (lowercase, no backtick, no 0x).
function sliceAddress(text: string, start: number, end: number): string {
  return normalizeAddress(text.slice(start, end));
}

// Room for `extra` more ints in a column (its array replaced by a larger one); the new array.
function reserve(column: Int32Column, extra: number): Int32Array {
  let size = column.data.length * 2;
  while (size < column.length + extra) size *= 2;
  const next = new Int32Array(size);
  next.set(column.data.subarray(0, column.length));
  column.data = next;
  return next;
}

// False when the trimmed line [start, end) can only be a frame line or unparsed: it starts with
// a character no prompt, header, `STACK_TEXT:`, elision or warning starts with (a hex digit that
// is not followed by a prompt's colon, or `(`).
function mayBeOther(text: string, start: number, end: number, lead: number): boolean {
  // `0: kd>`, `0:000>`: one to three digits, then a colon.
  if (lead >= 48 && lead <= 57) return digitsThenColon(text, start, end);
  if (lead >= 97 && lead <= 102) return start + 1 < end && text.charCodeAt(start + 1) === 58;
  return lead !== 40;
}

// PROMPT of stack.ts on the trimmed line: `kd>`, `lkd>`, `0: kd>`, `0:000>`, `0:000:x86>`, `C:\>` (any case).
function isPrompt(text: string, start: number, end: number, lead: number): boolean {
  let digits = 0;
  while (digits < 4 && start + digits < end && isDigit(text.charCodeAt(start + digits))) digits++;
  if (digits === 0) {
    if (isKd(text, start, end)) return true;
    const lower = lead | 32;
    return lower >= 97 && lower <= 122 && start + 3 < end && text.charCodeAt(start + 1) === 58 && text.charCodeAt(start + 2) === 92 && text.charCodeAt(start + 3) === 62;
  }
  if (digits > 3 || start + digits >= end || text.charCodeAt(start + digits) !== 58) return false;
  let at = start + digits + 1;
  // `\d{1,3}:\d{3}(?::\w+)?>`
  if (at + 3 < end && isDigit(text.charCodeAt(at)) && isDigit(text.charCodeAt(at + 1)) && isDigit(text.charCodeAt(at + 2))) {
    let next = at + 3;
    if (text.charCodeAt(next) === 62) return true;
    if (text.charCodeAt(next) === 58) {
      next++;
      const words = next;
      while (next < end && isWordChar(text.charCodeAt(next))) next++;
      if (next > words && next < end && text.charCodeAt(next) === 62) return true;
    }
  }
  // `\d{1,3}:\s?l?kd>`
  if (at < end && isTrimSpace(text.charCodeAt(at))) at++;
  return isKd(text, at, end);
}

// `l?kd>` at `at` (any case), inside the line.
function isKd(text: string, at: number, end: number): boolean {
  let position = at;
  if (position < end && (text.charCodeAt(position) | 32) === 108) position++;
  return position + 2 < end && (text.charCodeAt(position) | 32) === 107 && (text.charCodeAt(position + 1) | 32) === 100 && text.charCodeAt(position + 2) === 62;
}

// A decimal digit.
function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

// A character of regex `\w` (ASCII letters, digits, underscore).
function isWordChar(code: number): boolean {
  const lower = code | 32;
  return (code >= 48 && code <= 57) || (lower >= 97 && lower <= 122) || code === 95;
}

// The column headers kd prints (trimmed), compared whole before readHeader reads a line word by word.
const KNOWN_HEADERS = [
  '# Child-SP          RetAddr           Call Site',
  '# Child-SP          RetAddr               Call Site',
  '# Child-SP          RetAddr           : Args to Child                                                           : Call Site',
  '# RetAddr           : Args to Child                                                           : Call Site',
  '# RetAddr               : Args to Child                                                           : Call Site',
  '#   Memory  Child-SP          RetAddr           Call Site',
  '# Call Site',
  'ChildEBP RetAddr  Args to Child',
  '# ChildEBP RetAddr  Args to Child',
  'ChildEBP RetAddr',
  '# ChildEBP RetAddr',
];
// KNOWN_HEADERS by length, each with its layout (filled on first use, when readHeader's tables exist).
const KNOWN_BY_LENGTH: { text: string; words: Int32Array; layout: number }[][] = [];

// The layout of the trimmed header line [start, end) (see readHeader), a known header found whole.
// `v` (when given) views the output as UTF-16LE, position - o.
function headerLayout(text: string, start: number, end: number, v: DataView | undefined, o: number): number {
  if (KNOWN_BY_LENGTH.length === 0) {
    for (const header of KNOWN_HEADERS) {
      // The header's characters two to a little-endian word, the last one padded with zero.
      const words = new Int32Array(Math.ceil(header.length / 2));
      for (let index = 0; index < header.length; index++) words[index >> 1]! |= header.charCodeAt(index) << (16 * (index & 1));
      (KNOWN_BY_LENGTH[header.length] ??= []).push({ text: header, words, layout: readHeader(header, 0, header.length) });
    }
  }
  const known = KNOWN_BY_LENGTH[end - start];
  if (known !== undefined) {
    for (let index = 0; index < known.length; index++) {
      const candidate = known[index]!;
      if (v === undefined ? text.startsWith(candidate.text, start) : sameWords(v, start - o, end - start, candidate.words)) return candidate.layout;
    }
  }
  return readHeader(text, start, end);
}

// True when the `length` code units from unit `at` in `v` are those of `words` (two to a word).
function sameWords(v: DataView, at: number, length: number, words: Int32Array): boolean {
  const whole = length >> 1;
  for (let index = 0; index < whole; index++) if (v.getInt32(2 * at + 4 * index, true) !== words[index]) return false;
  return (length & 1) === 0 || v.getUint16(2 * (at + length - 1), true) === (words[whole]! & 0xffff);
}

// True when `b` holds `want` at `at`.
function sameUnits(b: Uint16Array, at: number, want: Uint16Array): boolean {
  for (let index = 0; index < want.length; index++) if (b[at + index] !== want[index]) return false;
  return true;
}

// HEADER of stack.ts on the trimmed line, whose blank runs the regex sees as one space; the
// layout bits, or NO_LAYOUT when it is no header or names neither RetAddr nor Call Site.
function readHeader(text: string, start: number, end: number): number {
  let layout = 0;
  let at = start;
  let named = false;
  if (text.charCodeAt(at) === 35) {
    layout |= L_NUMBERED;
    at = skipSpaces(text, at + 1, end);
  }
  if (text.startsWith('Memory', at) && at + 6 < end && isTrimSpace(text.charCodeAt(at + 6))) {
    layout |= L_MEMORY;
    at = skipSpaces(text, at + 6, end);
  }
  if (at + 8 <= end && text.startsWith('ChildEBP', at)) {
    layout |= L_CHILD_EBP;
    at = skipSpaces(text, at + 8, end);
  } else if (at + 8 <= end && text.startsWith('Child-SP', at)) {
    layout |= L_CHILD_SP;
    at = skipSpaces(text, at + 8, end);
  }
  if (at + 7 <= end && text.startsWith('RetAddr', at)) {
    layout |= L_RET;
    named = true;
    at = skipSpaces(text, at + 7, end);
  }
  let colon = false;
  if (at < end && text.charCodeAt(at) === 58) {
    colon = true;
    at = skipSpaces(text, at + 1, end);
  }
  let args = false;
  const afterArgs = words(text, at, end, 'Args', 'to', 'Child');
  if (afterArgs > 0) {
    args = true;
    at = skipSpaces(text, afterArgs, end);
  }
  if (at < end && text.charCodeAt(at) === 58) {
    colon = true;
    at = skipSpaces(text, at + 1, end);
  }
  const afterCall = words(text, at, end, 'Call', 'Site');
  if (afterCall > 0) {
    named = true;
    at = afterCall;
  }
  if (at !== end || !named) return NO_LAYOUT;
  if (args) layout |= colon ? L_ARGS_COLON : L_ARGS_X86;
  return layout;
}

// The end of the words at `at`, each after the first preceded by blanks; 0 when they are not there.
function words(text: string, at: number, end: number, ...list: string[]): number {
  let position = at;
  for (let index = 0; index < list.length; index++) {
    const word = list[index]!;
    if (index > 0) {
      if (position >= end || !isTrimSpace(text.charCodeAt(position))) return 0;
      position = skipSpaces(text, position, end);
    }
    if (position + word.length > end || !text.startsWith(word, position)) return 0;
    position += word.length;
  }
  return position;
}

// First position at or after `from` (before `end`) that is not regex `\s`.
function skipSpaces(text: string, from: number, end: number): number {
  let position = from;
  while (position < end && isTrimSpace(text.charCodeAt(position))) position++;
  return position;
}

// The trimmed line is exactly `[...]`.
function isBracketDots(text: string, start: number, end: number): boolean {
  return end - start === 5 && text.startsWith('[...]', start);
}

// The trimmed line is `least` or more of one character (dots, `…`).
function isRun(text: string, start: number, end: number, code: number, least: number): boolean {
  if (end - start < least) return false;
  for (let index = start; index < end; index++) if (text.charCodeAt(index) !== code) return false;
  return true;
}

// WARNING of stack.ts on the trimmed line: where the message starts (after `***` and blanks), or -1.
function warningMessage(text: string, start: number, end: number): number {
  let stars = 0;
  while (stars < 4 && start + stars < end && text.charCodeAt(start + stars) === 42) stars++;
  if (stars <= 3) {
    const at = skipSpaces(text, start + stars, end);
    if ((at + 8 <= end && text.startsWith('WARNING:', at)) || (at + 6 <= end && text.startsWith('ERROR:', at))) return stars === 3 ? at : start;
    if (stars === 3) {
      const phrase = 'Stack trace for last set context';
      if (at + phrase.length <= end && text.startsWith(phrase, at)) return at;
    }
  }
  if (stars === 0 && start + 21 <= end && text.startsWith('Unable to load image ', start)) return start;
  return -1;
}

// Space or TAB: what separates kd's columns.
function isBlank(code: number): boolean {
  return code === 32 || code === 9;
}

// First position at or after `from` (before `limit`) that is not a blank.
function skipBlanks(text: string, from: number, limit: number): number {
  let position = from;
  while (position < limit && isBlank(text.charCodeAt(position))) position++;
  return position;
}

// End of the token at `start`: the first blank or `limit`, but no further than start + 18 (the
// column tokens are at most 17 long, so a longer one is only known to be long).
function shortTokenEnd(text: string, start: number, limit: number): number {
  const stop = Math.min(limit, start + 18);
  let position = start;
  while (position < stop && !isBlank(text.charCodeAt(position))) position++;
  return position;
}

// True when [start, end) is hex digits.
function isHexRun(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (HEX[text.charCodeAt(index)] !== 1) return false;
  return true;
}

// Eight hex digits at `at`.
function isHex8(text: string, at: number): boolean {
  return (
    (HEX[text.charCodeAt(at)]! &
      HEX[text.charCodeAt(at + 1)]! &
      HEX[text.charCodeAt(at + 2)]! &
      HEX[text.charCodeAt(at + 3)]! &
      HEX[text.charCodeAt(at + 4)]! &
      HEX[text.charCodeAt(at + 5)]! &
      HEX[text.charCodeAt(at + 6)]! &
      HEX[text.charCodeAt(at + 7)]!) ===
    1
  );
}

// The length of the address token at `at` (8 or 16 hex digits, or 8, a backtick and 8, then a
// blank or the end), or 0 when the token there is no address: stack.ts's isAddress in one pass.
function addressLength(text: string, at: number, limit: number): number {
  if (at + 8 > limit || !isHex8(text, at)) return 0;
  if (at + 8 === limit) return 8;
  const next = text.charCodeAt(at + 8);
  if (next === 32 || next === 9) return 8;
  if (next === 96) {
    if (at + 17 > limit || !isHex8(text, at + 9)) return 0;
    return at + 17 === limit || isBlank(text.charCodeAt(at + 17)) ? 17 : 0;
  }
  if (at + 16 > limit || !isHex8(text, at + 8)) return 0;
  return at + 16 === limit || isBlank(text.charCodeAt(at + 16)) ? 16 : 0;
}

// What kd prints for an inline frame in place of its two addresses.
const INLINE_COLUMNS = '(Inline Function) --------`-------- ';
const INLINE_UNITS = Uint16Array.from(INLINE_COLUMNS, (character) => character.charCodeAt(0));

// An address in kd's padding at `at` in `b`: 8 hex digits, or 8, a backtick and 8, then a space or
// the end; its length, or 0 (also for an address addressLength reads but kd does not print, 16 digits or a TAB after it).
function fixedAddress(b: Uint16Array, at: number, end: number): number {
  if (at + 8 > end || hex8(b, at) === 0) return 0;
  if (at + 8 === end) return 8;
  const next = b[at + 8];
  if (next === 32) return 8;
  if (next !== 96 || at + 17 > end || hex8(b, at + 9) === 0) return 0;
  return at + 17 === end || b[at + 17] === 32 ? 17 : 0;
}

// 1 when the eight code units from `at` are hex digits, else 0.
function hex8(b: Uint16Array, at: number): number {
  return HEX[b[at]!]! & HEX[b[at + 1]!]! & HEX[b[at + 2]!]! & HEX[b[at + 3]!]! & HEX[b[at + 4]!]! & HEX[b[at + 5]!]! & HEX[b[at + 6]!]! & HEX[b[at + 7]!]!;
}

// The value of a short hex run (at most 7 digits).
function hexValue(text: string, start: number, end: number): number {
  let value = 0;
  for (let index = start; index < end; index++) {
    const code = text.charCodeAt(index) | 32;
    value = value * 16 + (code <= 57 ? code - 48 : code - 87);
  }
  return value;
}


// End of the token at `start`: the first blank, or `limit`.
function tokenEnd(text: string, start: number, limit: number): number {
  let position = start;
  while (position < limit && !isBlank(text.charCodeAt(position))) position++;
  return position;
}

// `/^-+(`-+)?$/` on the token [start, end).
function isDashToken(text: string, start: number, end: number): boolean {
  let position = start;
  while (position < end && text.charCodeAt(position) === 45) position++;
  if (position === start) return false;
  if (position === end) return true;
  if (text.charCodeAt(position) !== 96) return false;
  const dashes = ++position;
  while (position < end && text.charCodeAt(position) === 45) position++;
  return position > dashes && position === end;
}

// stack.ts's isDashes on the (short) token at `start`: 8 or 16 dashes, or 8, a backtick and 8.
function isDashesAt(text: string, start: number, limit: number): boolean {
  const end = shortTokenEnd(text, start, limit);
  const length = end - start;
  if (length !== 8 && length !== 16 && length !== 17) return false;
  for (let index = start; index < end; index++) {
    if (text.charCodeAt(index) !== (length === 17 && index === start + 8 ? 96 : 45)) return false;
  }
  return true;
}


// True when [start, end) is hex digits and backticks.
function isAddressText(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) {
    const code = text.charCodeAt(index);
    if (code !== 96 && HEX[code] !== 1) return false;
  }
  return true;
}

// The last `[` or `]` in [start, before) of an output held as code units (`b[position - o]`, `v`
// its view), or start - 1. Two units at a time while both are below 0x80 and neither is `[`, `]`,
// `Y` or `_` (the units that OR 0x06 turns into 0x5f: a zero unit after the XOR), then one by one.
function lastBracket(b: Uint16Array, v: DataView, o: number, start: number, before: number): number {
  let at = before - 1;
  while (at - 1 >= start) {
    const word = v.getUint32(2 * (at - 1 - o), true);
    const marked = (word | 0x00060006) ^ 0x005f005f;
    if ((word & 0xff80ff80) !== 0 || ((marked - 0x00010001) & ~marked & 0x00800080) !== 0) break;
    at -= 2;
  }
  while (at >= start) {
    const code = b[at - o]!;
    if (code === 91 || code === 93) return at;
    at--;
  }
  return start - 1;
}

// Index of the `(` matching the `)` at `close`, not looking before `floor`, ignoring parentheses
// inside double quotes; -1 when unbalanced (stack.ts's matchingOpen), on an output held as code
// units (`b[position - o]`).
function matchingOpenUnits(b: Uint16Array, o: number, floor: number, close: number): number {
  let depth = 0;
  let quoted = false;
  for (let index = close; index >= floor; index--) {
    const code = b[index - o]!;
    if (code === 34) quoted = !quoted;
    if (quoted) continue;
    if (code === 41) depth++;
    else if (code === 40) {
      depth--;
      if (depth === 0) return index;
    }
  }
  return -1;
}

const NOTE_WORDS = ['FPO', 'CONV', 'TrapFrame', 'Inline Function', 'ExceptionFrame'];

// NOTE of stack.ts (`FPO`, `CONV`, `TrapFrame`, `Inline Function`, `ExceptionFrame`, then a word boundary) on [start, end).
function isNote(text: string, start: number, end: number): boolean {
  for (const word of NOTE_WORDS) {
    const after = start + word.length;
    if (after <= end && text.startsWith(word, start)) return after === end || !isWordChar(text.charCodeAt(after));
  }
  return false;
}

// Where the address of `TrapFrame @ address` (any case) in the note [start, end) starts, or -1.
function trapFrameAt(text: string, start: number, end: number): number {
  const phrase = 'trapframe @ ';
  for (let at = start; at + phrase.length < end; at++) {
    let index = 0;
    while (index < phrase.length) {
      const code = text.charCodeAt(at + index);
      const want = phrase.charCodeAt(index);
      if (code !== want && !(want >= 97 && want <= 122 && (code | 32) === want)) break;
      index++;
    }
    if (index === phrase.length && isTrapChar(text.charCodeAt(at + index))) return at + index;
  }
  return -1;
}

// End of the `[0-9a-f`]+` run (any case) at `start`.
function trapEnd(text: string, start: number): number {
  let position = start;
  while (isTrapChar(text.charCodeAt(position))) position++;
  return position;
}

// A character of a trap frame address: a hex digit or a backtick.
function isTrapChar(code: number): boolean {
  return code === 96 || HEX[code] === 1;
}

// `/operator\s*$/` on [start, end).
function endsWithOperator(text: string, start: number, end: number): boolean {
  let position = end;
  while (position > start && isTrimSpace(text.charCodeAt(position - 1))) position--;
  return position - 8 >= start && text.startsWith('operator', position - 8);
}
