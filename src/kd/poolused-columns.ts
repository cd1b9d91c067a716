/**
 * `!poolused` outputs in scanned form (src/kd/columns.ts): one row of numbers per tag instead of
 * an object with three strings and two count objects. `scan` reads an output exactly as
 * parsePoolused does (src/kd/poolused.ts, the reference) — header columns, right-aligned numbers,
 * glued descriptions, loose rows, `TOTAL`, preamble, elisions and interruptions — storing offsets
 * and values; `result` only slices at stored offsets and builds the objects.
 *
 * The output is read as UTF-16 code units: it is copied once into a reused buffer (a plain copy
 * for a log held as a two-byte string), at the same offsets as the string, and typed-array reads
 * cost far less than `charCodeAt`. Runs of rows are read in one loop that stores straight into
 * the columns; the lines before an output's first row, which kd prints the same each time, are
 * remembered with the reader's state after them, so a repeated prologue costs one comparison.
 * A character beyond ASCII is read only in a row's description (trimmed as the reference trims);
 * on any other line it makes the output fall back to the object parser.
 */
import { FALLBACK, Float64Column, Int32Column, type ColumnTable } from './columns.js';
import { Buffer } from 'node:buffer';
import { isTrimSpace, padTag } from './common.js';
import type { PoolCounts, PoolusedResult, PoolusedRow, PoolusedSort } from './poolused.js';

// Where a header column's number goes: pool * 3 + slot (0 allocs, 1 frees, 2 bytes); Diff is not kept.
const DIFF = -1;
const SLOT_ALLOCS = 0;
const SLOT_FREES = 1;
const SLOT_BYTES = 2;
// Pools by index, as the codes above number them.
const NONPAGED = 0;
const PAGED = 1;

// Row info bits: the tag's length (1–4) in the low 3 bits, then which pools print Frees.
const TAG_LENGTH_MASK = 7;
const ROW_NONPAGED_FREES = 8;
const ROW_PAGED_FREES = 16;

// Result flag bits: complete, the sort order (0 null, 1 tag, 2 nonpaged, 3 paged), the TOTAL line.
const RESULT_COMPLETE = 1;
const SORT_SHIFT = 1;
const SORT_MASK = 3;
const RESULT_TOTAL = 8;
const TOTAL_NONPAGED_FREES = 16;
const TOTAL_PAGED_FREES = 32;
const SORTS: readonly (PoolusedSort | null)[] = [null, 'tag', 'nonpaged', 'paged'];

// Numbers per tag row in rowSpans: tag start, info, description start, description end.
const ROW_STRIDE = 4;
// Numbers per result in `results`: first row, end row, first unparsed line, end unparsed line, flags.
const RESULT_STRIDE = 5;


// A run of whole lines of the output (from a line start) that readPoolused, before any header,
// only counts as recognised: preamble lines (the PREAMBLE patterns of the reference, except the
// case-blind `Using` one; `\s` is a blank within the line), progress dots, blank lines. Each line
// is matched trimmed, to its end (patterns with `$`) or as a prefix (the others).
const BLANK = '[\\t\\v\\f\\r ]';
const PREAMBLE_BLOCK = new RegExp(
  `(?:${BLANK}*(?:(?:${[
    '\\*\\*\\* CacheSize too low - increasing to \\d+ MB',
    '\\*\\* (?:Transition|Prototype) PTEs are implicitly decoded',
    '\\d+ full reads broken into \\d+ partial reads',
    '\\.+',
  ].join('|')})${BLANK}*|(?:${[
    `Max cache size is${BLANK}*:`,
    `Total memory in cache${BLANK}*:`,
    'Number of regions cached:',
    'counts: \\d+ cached/\\d+ uncached',
    `bytes${BLANK}*: \\d+ cached/\\d+ uncached`,
  ].join('|')})[\\x00-\\x09\\x0b-\\x7f]*)(?:\\n|$)(?:${BLANK}*\\n)*)+`,
  'y',
);
// Whether a trimmed line starting with `lead`, `next` may open PREAMBLE_BLOCK (`**`, `..`/`.`, `Ma`,
// `To`, `Nu`, `co`, `by`, a digit before a digit or blank), so other lines skip the pattern.
function opensPreamble(lead: number, next: number): boolean {
  switch (lead) {
    case 42:
    case DOT:
      return true;
    case 77:
      return next === 97;
    case 84:
    case 99:
      return next === 111;
    case 78:
      return next === 117;
    case 98:
      return next === 121;
    default:
      return isDigit(lead) && (isDigit(next) || next === SPACE);
  }
}

// Header words; 0 is not a header word.
const WORD_ALLOCS = 1;
const WORD_FREES = 2;
const WORD_DIFF = 4;
const WORD_USED = 8;

// The most numeric columns a header can name: four words in each of two pools.
const MAX_COLUMNS = 8;

// Prologues remembered, and the longest one (in code units) worth remembering.
const PROLOGUES = 8;
const PROLOGUE_LIMIT = 4096;
// A remembered prologue's state: its length, the result flags, lastRowFailed, the layout
// (columns, tag column, Frees bits, pool order), then column ends and codes.
const P_LENGTH = 0;
const P_FLAGS = 1;
const P_LAST_ROW_FAILED = 2;
const P_COLUMNS = 3;
const P_TAG_COLUMN = 4;
const P_FREES = 5;
const P_FIRST_POOL = 6;
const P_SECOND_POOL = 7;
const P_ENDS = 8;
const P_CODES = P_ENDS + MAX_COLUMNS;
const PROLOGUE_STRIDE = P_CODES + MAX_COLUMNS;

// Character codes read by name.
const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const MINUS = 45;
const DOT = 46;
// Two spaces as one little-endian 32-bit read of two code units.
const SPACE_PAIR = 0x00200020;

// Buffer's own UTF-16LE writer, what `buffer.write(text, 0, 'utf16le')` calls after sorting out
// its arguments; write() where a Node lacks it.
interface Ucs2Writer {
  ucs2Write(text: string, offset: number, length: number): number;
}
// Whether a Uint16Array reads the UTF-16LE that Buffer writes (else every output falls back).
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `!poolused` results held as columns; equal to parsePoolused's results through `result(text, row)`. */
export class PoolusedTable implements ColumnTable<PoolusedResult> {
  // Per tag row, ROW_STRIDE numbers: where the tag starts in the log, tag length and Frees bits,
  // the description's span (one strided column, so a row is one capacity check).
  private readonly rowSpans = new Int32Column(ROW_STRIDE * 1024);
  // Per tag row, six numbers: nonpaged allocs, frees, bytes, then paged allocs, frees, bytes.
  private readonly rowValues = new Float64Column(6 * 1024);
  // Per unparsed line: its span in the log (start, end).
  private readonly unparsedSpans = new Int32Column(2 * 256);
  // Per result, RESULT_STRIDE numbers: its rows and unparsed lines (first and end) and flags;
  // and the TOTAL line's six numbers.
  private readonly results = new Int32Column(RESULT_STRIDE * 256);
  private readonly resultTotal = new Float64Column(6 * 256);

  // The output being read, as bytes (offsets relative to `base`, its start in the log), then LF.
  private bytes = new Uint16Array(1 << 16);
  private buffer = Buffer.from(this.bytes.buffer);
  // The same code units four at a time (comparing prologues) and two at a time (skipping spaces).
  private blocks = new Float64Array(this.bytes.buffer);
  private pairs = new Uint32Array(this.bytes.buffer);
  private base = 0;
  // The layout of the header being read (reused across scans, so no object per output).
  private columnCount = 0;
  private tagColumn = 0;
  private layoutFrees = 0;
  private readonly columnEnd = new Int32Array(MAX_COLUMNS);
  private readonly columnCode = new Int32Array(MAX_COLUMNS);
  // A header being read, before it is known to be one.
  private readonly headerEnd = new Int32Array(MAX_COLUMNS);
  private readonly headerCode = new Int32Array(MAX_COLUMNS);
  // Pool of the first and second column group, from a `NonPaged Paged` line.
  private firstPool = NONPAGED;
  private secondPool = PAGED;
  // A row's numbers while it is read, and where a loose row's numbers lie.
  private readonly values = new Float64Array(6);
  private readonly numberStart = new Int32Array(MAX_COLUMNS);
  private readonly numberEnd = new Int32Array(MAX_COLUMNS);
  // The TOTAL line's numbers while the output is read.
  private readonly total = new Float64Array(6);
  // Prologues seen before (the lines up to an output's first row, which kd prints the same each
  // time): their code units, four to a block, and the reader's state after them, so an output
  // that opens with one skips to its rows. `prologueState` holds PROLOGUE_STRIDE numbers a slot.
  private readonly prologueUnits: Uint16Array[] = [];
  private readonly prologueBlocks: Float64Array[] = [];
  private readonly prologueState = new Int32Array(PROLOGUES * PROLOGUE_STRIDE);
  private readonly prologueTotal = new Float64Array(PROLOGUES * 6);
  private readonly prologueHits = new Float64Array(PROLOGUES);

  /** How many results the table holds. */
  get size(): number {
    return this.results.length / RESULT_STRIDE;
  }

  /** Read the `!poolused` output text[from, to); FALLBACK (nothing kept) where parsePoolused would throw or the shape is not held. */
  scan(text: string, from: number, to: number, _command: string): number {
    if (!(from >= 0 && to <= text.length && from <= to)) return FALLBACK;
    const length = to - from;
    if (!LITTLE_ENDIAN) return FALLBACK;
    // Room for the LF after the output and a tag read past it (see readRows).
    if (this.bytes.length < length + 8) {
      this.bytes = new Uint16Array(Math.max((length + 11) & ~3, this.bytes.length * 2));
      this.buffer = Buffer.from(this.bytes.buffer);
      this.blocks = new Float64Array(this.bytes.buffer);
      this.pairs = new Uint32Array(this.bytes.buffer);
    }
    const bytes = this.bytes;
    // The output as a string of its own (a view into the log, not a copy), for the patterns.
    const output = text.slice(from, to);
    if (length > 0) {
      // The code units as they are: a plain copy for a log held as two-byte string.
      const buffer = this.buffer as Buffer & Partial<Ucs2Writer>;
      const written = buffer.ucs2Write === undefined ? buffer.write(output, 0, 'utf16le') : buffer.ucs2Write(output, 0, 2 * length);
      if (written !== 2 * length) return FALLBACK;
    }
    // A line feed after the output stops every run of spaces and digits without a bounds test.
    bytes[length] = LF;
    this.base = from;
    const rowsBefore = this.rowSpans.length;
    const unparsedBefore = this.unparsedSpans.length;
    const outcome = this.read(text, output, bytes, length);
    if (outcome === FALLBACK) {
      this.rowSpans.truncate(rowsBefore);
      this.rowValues.truncate((rowsBefore / ROW_STRIDE) * 6);
      this.unparsedSpans.truncate(unparsedBefore);
      return FALLBACK;
    }
    const results = this.results;
    reserveInt32(results, RESULT_STRIDE);
    const at = results.length;
    const data = results.data;
    data[at] = rowsBefore / ROW_STRIDE;
    data[at + 1] = this.rowSpans.length / ROW_STRIDE;
    data[at + 2] = unparsedBefore >> 1;
    data[at + 3] = this.unparsedSpans.length >> 1;
    data[at + 4] = outcome;
    results.length = at + RESULT_STRIDE;
    const totals = this.resultTotal;
    reserve(totals, 6);
    const total = this.total;
    for (let index = 0; index < 6; index++) totals.data[totals.length + index] = total[index]!;
    totals.length += 6;
    return at / RESULT_STRIDE;
  }

  /** The result at `row`, JSON-equal (key order included) to parsePoolused of the same output. */
  result(text: string, row: number): PoolusedResult {
    const flags = this.results.at(row * RESULT_STRIDE + 4);
    const result: PoolusedResult = {
      complete: (flags & RESULT_COMPLETE) !== 0,
      unparsed: this.unparsed(text, row),
      sortedBy: SORTS[(flags >> SORT_SHIFT) & SORT_MASK]!,
      rows: [],
    };
    const end = this.results.at(row * RESULT_STRIDE + 1);
    const values = this.rowValues.data;
    const spans = this.rowSpans.data;
    for (let index = this.results.at(row * RESULT_STRIDE); index < end; index++) {
      const info = spans[index * ROW_STRIDE + 1]!;
      const tagStart = spans[index * ROW_STRIDE]!;
      const tagLength = info & TAG_LENGTH_MASK;
      const tag = tagLength === 4 ? text.slice(tagStart, tagStart + 4) : padTag(text.slice(tagStart, tagStart + tagLength));
      const base = index * 6;
      const tagRow: PoolusedRow = {
        tag,
        nonpaged: counts(values, base, (info & ROW_NONPAGED_FREES) !== 0),
        paged: counts(values, base + 3, (info & ROW_PAGED_FREES) !== 0),
      };
      const descriptionStart = spans[index * ROW_STRIDE + 2]!;
      const descriptionEnd = spans[index * ROW_STRIDE + 3]!;
      if (descriptionEnd > descriptionStart) tagRow.description = text.slice(descriptionStart, descriptionEnd);
      result.rows.push(tagRow);
    }
    if ((flags & RESULT_TOTAL) !== 0) {
      const totals = this.resultTotal.data;
      result.total = {
        nonpaged: counts(totals, row * 6, (flags & TOTAL_NONPAGED_FREES) !== 0),
        paged: counts(totals, row * 6 + 3, (flags & TOTAL_PAGED_FREES) !== 0),
      };
    }
    return result;
  }

  /** The result's `complete` flag. */
  complete(row: number): boolean {
    return (this.results.at(row * RESULT_STRIDE + 4) & RESULT_COMPLETE) !== 0;
  }

  /** The result's `unparsed` lines. */
  unparsed(text: string, row: number): string[] {
    const lines: string[] = [];
    const end = this.results.at(row * RESULT_STRIDE + 3);
    const spans = this.unparsedSpans.data;
    for (let index = this.results.at(row * RESULT_STRIDE + 2); index < end; index++) lines.push(text.slice(spans[2 * index]!, spans[2 * index + 1]!));
    return lines;
  }

  // readPoolused of src/kd/poolused.ts over bytes[0, length), line by line with the tests in the
  // same order, appending rows and unparsed spans; returns the result's flags, or FALLBACK where
  // the reference would throw.
  private read(text: string, output: string, bytes: Uint16Array, length: number): number {
    const base = this.base;
    const to = base + length;
    this.columnCount = 0;
    this.firstPool = NONPAGED;
    this.secondPool = PAGED;
    const total = this.total;
    total[0] = total[1] = total[2] = total[3] = total[4] = total[5] = 0;
    let flags = RESULT_COMPLETE;
    let recognised = false;
    let seenContent = false;
    let lastRowFailed = false;
    let start0 = 0;
    // An output that opens with a prologue read before continues from the state after it.
    const slot = this.findPrologue(length);
    if (slot >= 0) {
      const state = this.prologueState;
      const at = slot * PROLOGUE_STRIDE;
      start0 = state[at + P_LENGTH]!;
      flags = state[at + P_FLAGS]!;
      lastRowFailed = state[at + P_LAST_ROW_FAILED] !== 0;
      recognised = true;
      seenContent = true;
      this.columnCount = state[at + P_COLUMNS]!;
      this.tagColumn = state[at + P_TAG_COLUMN]!;
      this.layoutFrees = state[at + P_FREES]!;
      this.firstPool = state[at + P_FIRST_POOL]!;
      this.secondPool = state[at + P_SECOND_POOL]!;
      for (let index = 0; index < MAX_COLUMNS; index++) {
        this.columnEnd[index] = state[at + P_ENDS + index]!;
        this.columnCode[index] = state[at + P_CODES + index]!;
      }
      for (let index = 0; index < 6; index++) total[index] = this.prologueTotal[slot * 6 + index]!;
    }
    // Whether the lines read so far may be remembered as a prologue: none was kept (row or unparsed).
    let remember = slot < 0;
    const unparsedAtStart = this.unparsedSpans.length;

    for (let position = start0; position <= length; ) {
      if (this.columnCount > 0) {
        // Most lines are rows of the table: read a run of them before the tests the other lines need.
        if (remember && position <= PROLOGUE_LIMIT && this.unparsedSpans.length === unparsedAtStart) this.rememberPrologue(position, flags, lastRowFailed);
        const next = this.readRows(text, bytes, position, length);
        remember = false;
        if (next !== position) {
          seenContent = true;
          lastRowFailed = false;
          position = next;
          continue;
        }
      }
      const found = text.indexOf('\n', base + position);
      const newline = found < 0 || found >= to ? -1 : found - base;
      // The last line is dropped when empty (text ending in a line break), as splitLines does.
      if (newline < 0 && position === length) break;
      const lineStart = position;
      let lineEnd = newline < 0 ? length : newline;
      if (newline >= 0 && lineEnd > lineStart && bytes[lineEnd - 1] === CR) lineEnd -= 1;
      position = newline < 0 ? length + 1 : newline + 1;
      // Only a plain row is read with non-ASCII characters in it (its description's, trimmed as the
      // reference trims); any other line with one is left to the object parser. Lines taken by a
      // test that accepts ASCII only (blank, TOTAL, dots, `Pool Used:`, pool order, header) are
      // known to be ASCII, so every test before was exact; the others look (hasNonAscii) first.
      let start = lineStart;
      let end = lineEnd;
      while (start < end && isSpace(bytes[start]!)) start++;
      while (end > start && isSpace(bytes[end - 1]!)) end--;
      if (start === end) continue;
      const first = !seenContent;
      seenContent = true;
      lastRowFailed = false;
      const lead = bytes[start]!;
      if (this.columnCount === 0 && opensPreamble(lead, bytes[start + 1]!)) {
        // The kd cache preamble and progress dots, with the blank lines between them, in one match.
        PREAMBLE_BLOCK.lastIndex = lineStart;
        if (PREAMBLE_BLOCK.test(output)) {
          recognised = true;
          position = PREAMBLE_BLOCK.lastIndex;
          continue;
        }
      }

      if (isPrompt(bytes, start, end, lead)) {
        if (hasNonAscii(bytes, lineStart, lineEnd)) return FALLBACK;
        // The echoed command opening the output is expected; any later prompt is another command.
        if (!(first && namesPoolused(bytes, lineStart, lineEnd))) this.pushUnparsed(lineStart, lineEnd);
        continue;
      }
      if (this.columnCount > 0) {
        // Rows first: a tag may itself look like an elision (`...X`) or a TOTAL.
        if (lead === 84 && end - start > 5 && exactAt(bytes, start, end, 'TOTAL') && isSpace(bytes[start + 5]!)) {
          const total = this.readTotal(bytes, start, end);
          if (total !== 0) {
            flags = (flags & ~(TOTAL_NONPAGED_FREES | TOTAL_PAGED_FREES)) | total;
            continue;
          }
        }
        if (hasNonAscii(bytes, lineStart, lineEnd)) return FALLBACK;
        if (this.readRow(bytes, lineStart, lineEnd)) continue;
        if (this.readRowLoosely(bytes, lineStart, lineEnd)) continue;
      }
      if (lead === DOT && this.columnCount === 0 && allDots(bytes, start, end)) {
        // Progress dots come before the table; the same dots after it are someone's elision.
        recognised = true;
        continue;
      }
      const interruption = isInterruption(bytes, start, end, lead);
      if (!interruption && isElision(bytes, start, end, lead)) {
        if (hasNonAscii(bytes, lineStart, lineEnd)) return FALLBACK;
        flags &= ~RESULT_COMPLETE;
        if (!isBareElision(bytes, start, end, lead)) this.pushUnparsed(lineStart, lineEnd);
        continue;
      }
      if (interruption) {
        if (hasNonAscii(bytes, lineStart, lineEnd)) return FALLBACK;
        flags &= ~RESULT_COMPLETE;
        recognised = true;
        continue;
      }
      if (isPreamble(bytes, start, end, lead)) {
        if (hasNonAscii(bytes, lineStart, lineEnd)) return FALLBACK;
        recognised = true;
        continue;
      }
      const sort = readSorting(bytes, start, end, lead);
      if (sort === SORT_NOT_ASCII) return FALLBACK;
      if (sort !== NOT_SORTING) {
        recognised = true;
        flags = (flags & ~(SORT_MASK << SORT_SHIFT)) | (sort << SORT_SHIFT);
        if (sort === 0) this.pushUnparsed(lineStart, lineEnd);
        continue;
      }
      if (end - start === 10 && spells(bytes, start, end, 'pool used:')) {
        recognised = true;
        continue;
      }
      if (this.readPoolOrder(bytes, start, end)) {
        recognised = true;
        continue;
      }
      if (lead === 84 && this.readHeader(bytes, lineStart, lineEnd, start)) {
        recognised = true;
        continue;
      }
      if (hasNonAscii(bytes, lineStart, lineEnd)) return FALLBACK;
      if (this.columnCount > 0) lastRowFailed = true;
      this.pushUnparsed(lineStart, lineEnd);
    }

    if (!recognised) return FALLBACK;
    // A table that never started, or whose last line is not a row, was cut off.
    if (this.columnCount === 0 || lastRowFailed) flags &= ~RESULT_COMPLETE;
    return flags;
  }

  // The slot of a remembered prologue the output bytes[0, length) opens with, or -1; the blocks
  // compare four code units at once (equal blocks are equal units, but for a block of four NULs,
  // +0, equal to -0: such a block is compared by its units).
  private findPrologue(length: number): number {
    const bytes = this.bytes;
    const blocks = this.blocks;
    const state = this.prologueState;
    for (let slot = 0; slot < this.prologueUnits.length; slot++) {
      const size = state[slot * PROLOGUE_STRIDE + P_LENGTH]!;
      if (size > length) continue;
      const known = this.prologueBlocks[slot]!;
      const whole = size >> 2;
      let index = 0;
      for (; index < whole; index++) {
        const block = known[index]!;
        if (blocks[index] !== block || (block === 0 && !sameUnits(bytes, this.prologueUnits[slot]!, index << 2))) break;
      }
      if (index < whole) continue;
      const units = this.prologueUnits[slot]!;
      let unit = whole << 2;
      while (unit < size && bytes[unit] === units[unit]) unit++;
      if (unit < size) continue;
      this.prologueHits[slot]!++;
      return slot;
    }
    return -1;
  }

  // Remember bytes[0, size) as a prologue with the reader's state after it, in a free slot or
  // the one found least often.
  private rememberPrologue(size: number, flags: number, lastRowFailed: boolean): void {
    let slot = this.prologueUnits.length;
    if (slot === PROLOGUES) {
      slot = 0;
      for (let index = 1; index < PROLOGUES; index++) if (this.prologueHits[index]! < this.prologueHits[slot]!) slot = index;
    }
    let units = this.prologueUnits[slot];
    if (units === undefined || units.length < size) {
      units = new Uint16Array(Math.max(256, (size * 2 + 3) & ~3));
      this.prologueUnits[slot] = units;
      this.prologueBlocks[slot] = new Float64Array(units.buffer);
    }
    units.set(this.bytes.subarray(0, size));
    const state = this.prologueState;
    const at = slot * PROLOGUE_STRIDE;
    state[at + P_LENGTH] = size;
    state[at + P_FLAGS] = flags;
    state[at + P_LAST_ROW_FAILED] = lastRowFailed ? 1 : 0;
    state[at + P_COLUMNS] = this.columnCount;
    state[at + P_TAG_COLUMN] = this.tagColumn;
    state[at + P_FREES] = this.layoutFrees;
    state[at + P_FIRST_POOL] = this.firstPool;
    state[at + P_SECOND_POOL] = this.secondPool;
    for (let index = 0; index < MAX_COLUMNS; index++) {
      state[at + P_ENDS + index] = this.columnEnd[index]!;
      state[at + P_CODES + index] = this.columnCode[index]!;
    }
    for (let index = 0; index < 6; index++) this.prologueTotal[slot * 6 + index] = this.total[index]!;
    this.prologueHits[slot] = 0;
  }

  // Keep a line the reader did not understand, by its span in the log.
  private pushUnparsed(start: number, end: number): void {
    const column = this.unparsedSpans;
    reserveInt32(column, 2);
    column.data[column.length] = this.base + start;
    column.data[column.length + 1] = this.base + end;
    column.length += 2;
  }

  // readRow of the reference: blanks up to the tag under `Tag`, a tag of four characters (not all
  // blank, no TAB), then the numbers.
  private readRow(bytes: Uint16Array, lineStart: number, lineEnd: number): boolean {
    const tagStart = lineStart + this.tagColumn;
    if (lineEnd - tagStart < 4) return false;
    for (let index = lineStart; index < tagStart; index++) if (!isSpace(bytes[index]!)) return false;
    let blankTag = true;
    for (let index = tagStart; index < tagStart + 4; index++) {
      const code = bytes[index]!;
      if (code === TAB) return false;
      if (!isSpace(code)) blankTag = false;
    }
    if (blankTag) return false;
    return this.readNumbers(bytes, lineStart, lineEnd, tagStart);
  }

  // Rows as most are printed, one after another from the line at `lineStart`: spaces up to the
  // tag, a tag of printable characters opening neither a prompt nor `TOTAL` (which the reference
  // tests before rows), then what readNumbers reads, all in one pass over the line with the row
  // stored straight into the columns. Returns where the first line it does not take starts
  // (`lineStart` when it takes none), or `length + 1` when the last row ends the output.
  private readRows(text: string, bytes: Uint16Array, lineStart: number, length: number): number {
    const tagColumn = this.tagColumn;
    const count = this.columnCount;
    const last = count - 1;
    const columnEnd = this.columnEnd;
    const columnCode = this.columnCode;
    const info = 4 | this.layoutFrees;
    const base = this.base;
    const pairs = this.pairs;
    const spanColumn = this.rowSpans;
    const valueColumn = this.rowValues;
    let spans = spanColumn.data;
    let values = valueColumn.data;
    let spanAt = spanColumn.length;
    let valueAt = valueColumn.length;
    let next = lineStart;
    rows: while (next < length) {
      const rowStart = next;
      const tagStart = rowStart + tagColumn;
      for (let index = rowStart; index < tagStart; index++) if (bytes[index] !== SPACE) break rows;
      const c0 = bytes[tagStart]!;
      const c1 = bytes[tagStart + 1]!;
      const c2 = bytes[tagStart + 2]!;
      const c3 = bytes[tagStart + 3]!;
      // Printable ASCII only (a negative difference sets the sign bit); a line end is not printable.
      if (((c0 - SPACE) | (c1 - SPACE) | (c2 - SPACE) | (c3 - SPACE) | (126 - c0) | (126 - c1) | (126 - c2) | (126 - c3)) < 0) break;
      const leadAt = c0 !== SPACE ? 0 : c1 !== SPACE ? 1 : c2 !== SPACE ? 2 : c3 !== SPACE ? 3 : -1;
      if (leadAt < 0) break;
      if (valueAt + 6 > values.length) {
        valueColumn.length = valueAt;
        reserve(valueColumn, 6);
        values = valueColumn.data;
      }
      // Allocs and Used of both pools are in every layout; Frees only in some.
      values[valueAt + 1] = 0;
      values[valueAt + 4] = 0;
      let position = tagStart + 4;
      let shift = 0;
      let previousEnd = position;
      let code = 0;
      for (let index = 0; index < count; index++) {
        // A line end (or the LF after the output) stops every run below.
        if (bytes[position] !== SPACE) break rows;
        // The padding, two spaces at a time from an even position (a little-endian pair).
        position++;
        if ((position & 1) !== 0 && bytes[position] === SPACE) position++;
        if ((position & 1) === 0) {
          while (pairs[position >> 1] === SPACE_PAIR) position += 2;
          if (bytes[position] === SPACE) position++;
        }
        code = bytes[position]!;
        const start = position;
        const negative = code === MINUS;
        if (negative) code = bytes[++position]!;
        const digits = position;
        let value = 0;
        while (code >= 48 && code <= 57) {
          value = value * 10 + (code - 48);
          code = bytes[++position]!;
        }
        if (position === digits) break rows;
        if (negative) value = -value;
        const expectedEnd = rowStart + columnEnd[index]! + shift;
        if (position > expectedEnd) {
          // Whether the number is followed by more of the line: not its LF, nor a CR just before that LF.
          const more = code !== LF && !(code === CR && position + 1 < length && bytes[position + 1] === LF);
          if (index === last && start < expectedEnd && start > previousEnd + 1 && more && code !== TAB) {
            // Old generation: a description starting with a digit is glued onto a padded last number.
            position = expectedEnd;
            value = numberAt(bytes, start, position);
          } else {
            shift += position - expectedEnd;
          }
        }
        if (position - start > 15) break rows;
        const slot = columnCode[index]!;
        if (slot !== DIFF) values[valueAt + slot] = value;
        previousEnd = position;
      }
      // The line's end, searched in the log (faster than a loop over the description).
      const found = text.indexOf('\n', base + position) - base;
      const newline = found < 0 || found > length ? length : found;
      let lineEnd = newline;
      if (newline < length && lineEnd > rowStart && bytes[lineEnd - 1] === CR) lineEnd--;
      const lead = leadAt === 0 ? c0 : leadAt === 1 ? c1 : leadAt === 2 ? c2 : c3;
      if (lead <= 57 ? lead >= 48 : (lead | 32) === 107 || (lead | 32) === 108 || lead === 84) {
        // A digit, k or l may open a prompt, T a TOTAL line: those take the general path.
        if (lead === 84 ? exactAt(bytes, tagStart + leadAt, lineEnd, 'TOTAL') : isPrompt(bytes, tagStart + leadAt, lineEnd, lead)) break;
      }
      let descriptionStart = position;
      let descriptionEnd = lineEnd;
      while (descriptionStart < descriptionEnd && isTrimSpace(bytes[descriptionStart]!)) descriptionStart++;
      while (descriptionEnd > descriptionStart && isTrimSpace(bytes[descriptionEnd - 1]!)) descriptionEnd--;
      if (spanAt + ROW_STRIDE > spans.length) {
        spanColumn.length = spanAt;
        reserveInt32(spanColumn, ROW_STRIDE);
        spans = spanColumn.data;
      }
      spans[spanAt] = base + tagStart;
      spans[spanAt + 1] = info;
      spans[spanAt + 2] = base + descriptionStart;
      spans[spanAt + 3] = base + descriptionEnd;
      spanAt += ROW_STRIDE;
      valueAt += 6;
      next = newline + 1;
    }
    spanColumn.length = spanAt;
    valueColumn.length = valueAt;
    return next;
  }

  // The numbers and description of readRow after the tag at `tagStart`: each number right-aligned
  // under its header word (shifted by wider numbers before it), a description glued onto a padded
  // last number split off where the column ends.
  private readNumbers(bytes: Uint16Array, lineStart: number, lineEnd: number, tagStart: number): boolean {
    const count = this.columnCount;
    // The numbers go straight into the next row's six slots; the row counts only once pushed.
    const column = this.rowValues;
    if (column.length + 6 > column.data.length) reserve(column, 6);
    const values = column.data;
    const slots = column.length;
    // Allocs and Used of both pools are in every layout; Frees only in some.
    values[slots + 1] = 0;
    values[slots + 4] = 0;
    const columnEnd = this.columnEnd;
    const columnCode = this.columnCode;
    let position = tagStart + 4;
    let shift = 0;
    let previousEnd = position;
    for (let index = 0; index < count; index++) {
      // bytes[lineEnd] is LF or CR, so no run below crosses the line's end.
      if (bytes[position] !== SPACE) return false;
      let code = bytes[++position]!;
      while (code === SPACE) code = bytes[++position]!;
      const start = position;
      const negative = code === MINUS;
      if (negative) code = bytes[++position]!;
      let value = 0;
      while (code >= 48 && code <= 57) {
        value = value * 10 + (code - 48);
        code = bytes[++position]!;
      }
      if (position === start || (negative && position === start + 1)) return false;
      if (negative) value = -value;
      const expectedEnd = lineStart + columnEnd[index]! + shift;
      if (position > expectedEnd) {
        if (index === count - 1 && start < expectedEnd && start > previousEnd + 1 && position < lineEnd && code !== TAB) {
          // Old generation: a description starting with a digit is glued onto a padded last number.
          position = expectedEnd;
          value = numberAt(bytes, start, position);
        } else {
          shift += position - expectedEnd;
        }
      }
      if (position - start > 15) return false;
      const slot = columnCode[index]!;
      if (slot !== DIFF) values[slots + slot] = value;
      previousEnd = position;
    }
    let descriptionStart = position;
    let descriptionEnd = lineEnd;
    while (descriptionStart < descriptionEnd && isTrimSpace(bytes[descriptionStart]!)) descriptionStart++;
    while (descriptionEnd > descriptionStart && isTrimSpace(bytes[descriptionEnd - 1]!)) descriptionEnd--;
    column.length = slots + 6;
    this.pushSpans(tagStart, 4, descriptionStart, descriptionEnd);
    return true;
  }

  // readRowLoosely of the reference (`^\s*(\S{1,4})((?:\s+-?\d+)+)(?:\t(.*)|\s*)$`, then exactly one
  // number per header column), for rows whose leading blanks a publisher stripped. The pattern
  // takes as many numbers as it can and then gives them back one by one until what follows is a
  // TAB and a description without CR, or blanks only.
  private readRowLoosely(bytes: Uint16Array, lineStart: number, lineEnd: number): boolean {
    let position = lineStart;
    while (position < lineEnd && isSpace(bytes[position]!)) position++;
    const tagStart = position;
    while (position < lineEnd && !isSpace(bytes[position]!)) position++;
    const tagLength = position - tagStart;
    if (tagLength < 1 || tagLength > 4) return false;
    const numberStart = this.numberStart;
    const numberEnd = this.numberEnd;
    // Numbers read; the last one's end; the end of the last number followed by a TAB, before it.
    let numbers = 0;
    let lastEnd = -1;
    let lastTabbedEnd = -1;
    let tooLong = false;
    for (;;) {
      let at = position;
      while (at < lineEnd && isSpace(bytes[at]!)) at++;
      if (at === position) break;
      const start = at;
      if (at < lineEnd && bytes[at] === MINUS) at++;
      const digits = at;
      while (at < lineEnd && isDigit(bytes[at]!)) at++;
      if (at === digits) break;
      if (numbers > 0 && bytes[lastEnd] === TAB) lastTabbedEnd = lastEnd;
      if (numbers < MAX_COLUMNS) {
        numberStart[numbers] = start;
        numberEnd[numbers] = at;
      }
      if (at - start > 15) tooLong = true;
      numbers++;
      lastEnd = at;
      position = at;
    }
    if (numbers === 0) return false;
    // Which ending the pattern settles on: after the last number, or after an earlier one followed by a TAB.
    let taken: number;
    let descriptionFrom: number;
    if (lastEnd < lineEnd && bytes[lastEnd] === TAB && !hasCarriageReturn(bytes, lastEnd + 1, lineEnd)) {
      taken = numbers;
      descriptionFrom = lastEnd + 1;
    } else if (allBlank(bytes, lastEnd, lineEnd)) {
      taken = numbers;
      descriptionFrom = -1;
    } else if (lastTabbedEnd >= 0 && !hasCarriageReturn(bytes, lastTabbedEnd + 1, lineEnd)) {
      taken = numbersUpTo(numberEnd, Math.min(numbers, MAX_COLUMNS), lastTabbedEnd);
      descriptionFrom = lastTabbedEnd + 1;
      // The TAB follows a number beyond the eighth: more numbers than any header has columns.
      if (taken < 0) return false;
    } else {
      return false;
    }
    const count = this.columnCount;
    if (taken !== count) return false;
    // A number beyond the ones taken may be long; only the taken ones must fit 15 characters.
    if (tooLong) {
      for (let index = 0; index < taken; index++) if (numberEnd[index]! - numberStart[index]! > 15) return false;
    }
    const values = this.values;
    values[0] = values[1] = values[2] = values[3] = values[4] = values[5] = 0;
    for (let index = 0; index < count; index++) {
      const slot = this.columnCode[index]!;
      if (slot !== DIFF) values[slot] = numberAt(bytes, numberStart[index]!, numberEnd[index]!);
    }
    let descriptionStart = descriptionFrom < 0 ? lineEnd : descriptionFrom;
    let descriptionEnd = lineEnd;
    while (descriptionStart < descriptionEnd && isSpace(bytes[descriptionStart]!)) descriptionStart++;
    while (descriptionEnd > descriptionStart && isSpace(bytes[descriptionEnd - 1]!)) descriptionEnd--;
    this.pushRow(tagStart, tagLength, descriptionStart, descriptionEnd);
    return true;
  }

  // Append one tag row from `values` and the layout's Frees columns (offsets relative to the output).
  private pushRow(tagStart: number, tagLength: number, descriptionStart: number, descriptionEnd: number): void {
    const values = this.values;
    const column = this.rowValues;
    reserve(column, 6);
    column.data.set(values, column.length);
    column.length += 6;
    this.pushSpans(tagStart, tagLength, descriptionStart, descriptionEnd);
  }

  // Append a row's tag, Frees bits and description (offsets relative to the output).
  private pushSpans(tagStart: number, tagLength: number, descriptionStart: number, descriptionEnd: number): void {
    const base = this.base;
    const column = this.rowSpans;
    if (column.length + ROW_STRIDE > column.data.length) reserveInt32(column, ROW_STRIDE);
    const data = column.data;
    const at = column.length;
    data[at] = base + tagStart;
    data[at + 1] = tagLength | this.layoutFrees;
    data[at + 2] = base + descriptionStart;
    data[at + 3] = base + descriptionEnd;
    column.length = at + ROW_STRIDE;
  }

  // readTotal of the reference on the trimmed line [start, end) (`^TOTAL((?:\s+-?\d+)+)\s*$`, one
  // number per column): the numbers go to `total`; returns the result's TOTAL flags, or 0.
  private readTotal(bytes: Uint16Array, start: number, end: number): number {
    const count = this.columnCount;
    const numbers = this.values;
    numbers[0] = numbers[1] = numbers[2] = numbers[3] = numbers[4] = numbers[5] = 0;
    let position = start + 5;
    let read = 0;
    for (;;) {
      let at = position;
      while (at < end && isSpace(bytes[at]!)) at++;
      if (at === position) break;
      const numberFrom = at;
      if (at < end && bytes[at] === MINUS) at++;
      const digits = at;
      while (at < end && isDigit(bytes[at]!)) at++;
      if (at === digits) break;
      if (read >= count || at - numberFrom > 15) return 0;
      const slot = this.columnCode[read]!;
      if (slot !== DIFF) numbers[slot] = numberAt(bytes, numberFrom, at);
      read++;
      position = at;
    }
    // The trimmed line ends in a non-blank, so `\s*$` holds only where the numbers reach its end.
    if (read !== count || position !== end) return 0;
    this.total.set(numbers);
    const frees = this.layoutFrees;
    return RESULT_TOTAL | ((frees & ROW_NONPAGED_FREES) !== 0 ? TOTAL_NONPAGED_FREES : 0) | ((frees & ROW_PAGED_FREES) !== 0 ? TOTAL_PAGED_FREES : 0);
  }

  // `/^(NonPaged|Paged)\s+(NonPaged|Paged)$/i` on the trimmed line: which pool each group of columns is.
  private readPoolOrder(bytes: Uint16Array, start: number, end: number): boolean {
    const firstLength = poolWordAt(bytes, start, end);
    if (firstLength === 0) return false;
    let position = start + firstLength;
    const blanks = position;
    while (position < end && isSpace(bytes[position]!)) position++;
    if (position === blanks) return false;
    const secondLength = poolWordAt(bytes, position, end);
    if (secondLength === 0 || position + secondLength !== end) return false;
    this.firstPool = firstLength === 8 ? NONPAGED : PAGED;
    this.secondPool = secondLength === 8 ? NONPAGED : PAGED;
    return true;
  }

  // readHeader of the reference (the line's first word at `tagAt`): `Tag`, then Allocs/Frees/Diff/
  // Used words, a repeated word starting the next pool's group; each column ends where its word
  // ends. Both pools need Allocs and Used.
  private readHeader(bytes: Uint16Array, lineStart: number, lineEnd: number, tagAt: number): boolean {
    if (lineEnd - tagAt < 4 || !exactAt(bytes, tagAt, lineEnd, 'Tag') || !isSpace(bytes[tagAt + 3]!)) return false;
    let position = tagAt + 3;
    let count = 0;
    let group = 0;
    let seen = 0;
    let nonpagedWords = 0;
    let pagedWords = 0;
    let frees = 0;
    for (;;) {
      while (position < lineEnd && isSpace(bytes[position]!)) position++;
      if (position >= lineEnd) break;
      const wordStart = position;
      while (position < lineEnd && !isSpace(bytes[position]!)) position++;
      const word = headerWord(bytes, wordStart, position);
      if (word === 0) return false;
      if ((seen & word) !== 0) {
        group++;
        seen = 0;
      }
      seen |= word;
      // Two groups of at most four words: at most MAX_COLUMNS columns are written.
      if (group > 1) return false;
      const pool = group === 0 ? this.firstPool : this.secondPool;
      if (pool === NONPAGED) nonpagedWords |= word;
      else pagedWords |= word;
      if (word === WORD_FREES) frees |= pool === NONPAGED ? ROW_NONPAGED_FREES : ROW_PAGED_FREES;
      const slot = word === WORD_ALLOCS ? SLOT_ALLOCS : word === WORD_FREES ? SLOT_FREES : word === WORD_USED ? SLOT_BYTES : DIFF;
      this.headerEnd[count] = position - lineStart;
      this.headerCode[count] = slot === DIFF ? DIFF : pool * 3 + slot;
      count++;
    }
    if (count < 4) return false;
    const both = WORD_ALLOCS | WORD_USED;
    if ((nonpagedWords & both) !== both || (pagedWords & both) !== both) return false;
    this.columnCount = count;
    this.tagColumn = tagAt - lineStart;
    this.layoutFrees = frees;
    for (let index = 0; index < count; index++) {
      this.columnEnd[index] = this.headerEnd[index]!;
      this.columnCode[index] = this.headerCode[index]!;
    }
    return true;
  }
}

// Make room for `count` more values without appending them: Float64Column grows (doubling) only
// inside push, so one push at full capacity is made and taken back.
function reserve(column: Float64Column, count: number): void {
  while (column.length + count > column.data.length) {
    const length = column.length;
    column.length = column.data.length;
    column.push(0);
    column.length = length;
  }
}

// reserve for an Int32Column.
function reserveInt32(column: Int32Column, count: number): void {
  while (column.length + count > column.data.length) {
    const length = column.length;
    column.length = column.data.length;
    column.push(0);
    column.length = length;
  }
}

// A pool's counts from three stored numbers (allocs, frees, bytes), keys in the reference's order.
function counts(values: Float64Array, base: number, frees: boolean): PoolCounts {
  const result: PoolCounts = { allocs: values[base]!, bytes: values[base + 2]! };
  if (frees) result.frees = values[base + 1]!;
  return result;
}

// Number() of an optionally signed run of at most 15 digits, as the reference's numberAt.
function numberAt(bytes: Uint16Array, start: number, end: number): number {
  let index = start;
  const negative = bytes[index] === MINUS;
  if (negative) index++;
  if (index === end) return Number.NaN;
  let value = 0;
  for (; index < end; index++) value = value * 10 + (bytes[index]! - 48);
  return negative ? -value : value;
}

// `\s` and String.prototype.trim's blanks, for ASCII.
function isSpace(code: number): boolean {
  return code === SPACE || (code <= CR && code >= TAB);
}

// ASCII digit test.
function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

// True when bytes[at, end) starts with `word` exactly (callers pass literals, which the compiler
// folds into the loop).
function exactAt(bytes: Uint16Array, at: number, end: number, word: string): boolean {
  if (end - at < word.length) return false;
  for (let index = 0; index < word.length; index++) if (bytes[at + index] !== word.charCodeAt(index)) return false;
  return true;
}

// True when bytes[at, end) starts with the lower-case `word` in any case (as a non-Unicode /i
// pattern compares ASCII letters).
function spells(bytes: Uint16Array, at: number, end: number, word: string): boolean {
  if (end - at < word.length) return false;
  for (let index = 0; index < word.length; index++) {
    const want = word.charCodeAt(index);
    const code = bytes[at + index]!;
    if (want >= 97 && want <= 122 ? (code | 32) !== want : code !== want) return false;
  }
  return true;
}

// The end of a run of at least one digit at `at` (before `end`), or -1.
function digitsEnd(bytes: Uint16Array, at: number, end: number): number {
  let position = at;
  while (position < end && isDigit(bytes[position]!)) position++;
  return position === at ? -1 : position;
}

// Past `word` at `at` when it is there (before `end`), or -1; -1 in stays -1.
function after(bytes: Uint16Array, at: number, end: number, word: string): number {
  return at >= 0 && exactAt(bytes, at, end, word) ? at + word.length : -1;
}

// The end of a run of at least one digit after `at`, -1 in stays -1.
function afterDigits(bytes: Uint16Array, at: number, end: number): number {
  return at >= 0 ? digitsEnd(bytes, at, end) : -1;
}

// Past blanks at `at` (none needed), then past `:`; -1 when there is no `:`.
function afterBlanksColon(bytes: Uint16Array, at: number, end: number): number {
  let position = at;
  while (position < end && isSpace(bytes[position]!)) position++;
  return position < end && bytes[position] === 58 ? position + 1 : -1;
}

// `\b` after a word character, at `at` in a string that ends at `end`.
function wordEndsAt(bytes: Uint16Array, at: number, end: number): boolean {
  if (at >= end) return true;
  const code = bytes[at]!;
  return !((code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95);
}

// PROMPT of the reference (`^\s*(?:\d{1,3}:\s?)?l?kd>`, any case) on the trimmed line [start, end).
function isPrompt(bytes: Uint16Array, start: number, end: number, lead: number): boolean {
  let position = start;
  if (isDigit(lead)) {
    let digits = 1;
    while (digits < 4 && start + digits < end && isDigit(bytes[start + digits]!)) digits++;
    if (digits > 3 || start + digits >= end || bytes[start + digits] !== 58) return false;
    position = start + digits + 1;
    if (position < end && isSpace(bytes[position]!)) position++;
  }
  // `l?` is greedy, and giving the `l` back cannot help: `kd>` does not start with it.
  if (position < end && (bytes[position]! | 32) === 108) position++;
  return spells(bytes, position, end, 'kd>');
}

// `/!poolused\b/i` anywhere in the line [start, end).
function namesPoolused(bytes: Uint16Array, start: number, end: number): boolean {
  for (let index = start; index + 9 <= end; index++) {
    if (bytes[index] === 33 && spells(bytes, index + 1, end, 'poolused') && wordEndsAt(bytes, index + 9, end)) return true;
  }
  return false;
}

// `/^\.+$/` on the trimmed line.
function allDots(bytes: Uint16Array, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (bytes[index] !== DOT) return false;
  return true;
}

// The start of isElision of the reference: `...` or `[...]` opening the trimmed line (`…` is not ASCII).
function isElision(bytes: Uint16Array, start: number, end: number, lead: number): boolean {
  if (lead === DOT) return end - start >= 3 && bytes[start + 1] === DOT && bytes[start + 2] === DOT;
  return lead === 91 && end - start >= 5 && exactAt(bytes, start, end, '[...]');
}

// An elision and nothing else (`/^(\.{3,}|…+|\[\.\.\.\])$/`): not kept as unparsed.
function isBareElision(bytes: Uint16Array, start: number, end: number, lead: number): boolean {
  if (lead === DOT) return end - start >= 3 && allDots(bytes, start, end);
  return end - start === 5 && exactAt(bytes, start, end, '[...]');
}

// isInterruption of the reference: `terminating` (after an optional `...`), `^C`, `interrupted`.
function isInterruption(bytes: Uint16Array, start: number, end: number, lead: number): boolean {
  const lower = lead | 32;
  if (lead === DOT) return end - start >= 3 && exactAt(bytes, start, end, '...') && spells(bytes, start + 3, end, 'terminating') && wordEndsAt(bytes, start + 14, end);
  if (lower === 116) return spells(bytes, start, end, 'terminating') && wordEndsAt(bytes, start + 11, end);
  if (lower === 105) return spells(bytes, start, end, 'interrupted') && wordEndsAt(bytes, start + 11, end);
  return lead === 94 && end - start === 2 && bytes[start + 1] === 67;
}

// One of the kd cache preamble lines (the PREAMBLE patterns of the reference) on the trimmed line
// [start, end): the ones the reference anchors with `$` must reach `end`, the others only start it.
function isPreamble(bytes: Uint16Array, start: number, end: number, lead: number): boolean {
  switch (lead) {
    case 85:
    case 117: {
      // `Using a machine size of [0-9a-f]+ pages to configure the kd cache`, any case.
      if (!spells(bytes, start, end, 'using a machine size of ')) return false;
      let position = start + 24;
      if (position < 0) return false;
      const hex = position;
      while (position < end && isHex(bytes[position]!)) position++;
      return position > hex && end - position === 32 && spells(bytes, position, end, ' pages to configure the kd cache');
    }
    case 42:
      if (after(bytes, afterDigits(bytes, after(bytes, start, end, '*** CacheSize too low - increasing to '), end), end, ' MB') === end) return true;
      return (end - start === 41 && exactAt(bytes, start, end, '** Transition PTEs are implicitly decoded')) || (end - start === 40 && exactAt(bytes, start, end, '** Prototype PTEs are implicitly decoded'));
    case 77: {
      const position = after(bytes, start, end, 'Max cache size is');
      return position >= 0 && afterBlanksColon(bytes, position, end) >= 0;
    }
    case 84: {
      const position = after(bytes, start, end, 'Total memory in cache');
      return position >= 0 && afterBlanksColon(bytes, position, end) >= 0;
    }
    case 78:
      return exactAt(bytes, start, end, 'Number of regions cached:');
    case 99:
      return cachedCounts(bytes, after(bytes, start, end, 'counts: '), end);
    case 98: {
      let position = after(bytes, start, end, 'bytes');
      if (position < 0) return false;
      while (position < end && isSpace(bytes[position]!)) position++;
      return cachedCounts(bytes, after(bytes, position, end, ': '), end);
    }
    default:
      return isDigit(lead) && after(bytes, afterDigits(bytes, after(bytes, digitsEnd(bytes, start, end), end, ' full reads broken into '), end), end, ' partial reads') === end;
  }
}

// `\d+ cached/\d+ uncached` at `at` (-1: no match).
function cachedCounts(bytes: Uint16Array, at: number, end: number): boolean {
  return after(bytes, afterDigits(bytes, after(bytes, afterDigits(bytes, at, end), end, ' cached/'), end), end, ' uncached') >= 0;
}

// `[0-9a-f]` under /i.
function isHex(code: number): boolean {
  const lower = code | 32;
  return (code >= 48 && code <= 57) || (lower >= 97 && lower <= 102);
}

// readSorting's answer for a line that is no `Sorting by` line.
const NOT_SORTING = -1;
// readSorting's answer for a `Sorting by` line with a character beyond ASCII (left to the object parser).
const SORT_NOT_ASCII = -2;

// `/^Sorting by\s+(.*)$/i` on the trimmed line, then readSort of the words: the SORTS index
// (0 for words kd never printed), NOT_SORTING, or SORT_NOT_ASCII.
function readSorting(bytes: Uint16Array, start: number, end: number, lead: number): number {
  if ((lead | 32) !== 115 || !spells(bytes, start, end, 'sorting by')) return NOT_SORTING;
  let position = start + 10;
  if (position >= end || !isSpace(bytes[position]!)) return NOT_SORTING;
  while (position < end && isSpace(bytes[position]!)) position++;
  // `.` matches no CR, and the words run to the end of the line; the rest of the line is ASCII.
  let any = 0;
  let carriageReturn = false;
  for (let index = position; index < end; index++) {
    const code = bytes[index]!;
    any |= code;
    if (code === CR) carriageReturn = true;
  }
  if (any > 127) return SORT_NOT_ASCII;
  if (carriageReturn) return NOT_SORTING;
  if (spells(bytes, position, end, 'nonpaged') && wordEndsAt(bytes, position + 8, end)) return 2;
  if (spells(bytes, position, end, 'paged') && wordEndsAt(bytes, position + 5, end)) return 3;
  if (spells(bytes, position, end, 'tag') && wordEndsAt(bytes, position + 3, end)) return 1;
  return 0;
}

// The length of `NonPaged` (8) or `Paged` (5), any case, at `at`; 0 for neither.
function poolWordAt(bytes: Uint16Array, at: number, end: number): number {
  if (spells(bytes, at, end, 'nonpaged')) return 8;
  if (spells(bytes, at, end, 'paged')) return 5;
  return 0;
}

// The header word at [start, end) (case as kd prints it), 0 for another word.
function headerWord(bytes: Uint16Array, start: number, end: number): number {
  // Byte by byte: a header is read once per output, and comparing with strings costs more here.
  const length = end - start;
  const lead = bytes[start];
  if (length === 6) return lead === 65 && bytes[start + 1] === 108 && bytes[start + 2] === 108 && bytes[start + 3] === 111 && bytes[start + 4] === 99 && bytes[start + 5] === 115 ? WORD_ALLOCS : 0;
  if (length === 5) return lead === 70 && bytes[start + 1] === 114 && bytes[start + 2] === 101 && bytes[start + 3] === 101 && bytes[start + 4] === 115 ? WORD_FREES : 0;
  if (length !== 4) return 0;
  if (lead === 85) return bytes[start + 1] === 115 && bytes[start + 2] === 101 && bytes[start + 3] === 100 ? WORD_USED : 0;
  return lead === 68 && bytes[start + 1] === 105 && bytes[start + 2] === 102 && bytes[start + 3] === 102 ? WORD_DIFF : 0;
}

// Whether [start, end) holds a CR, the one ASCII character `.` does not match on a line.
function hasCarriageReturn(bytes: Uint16Array, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (bytes[index] === CR) return true;
  return false;
}

// Whether the four code units at `at` are the same in both.
function sameUnits(a: Uint16Array, b: Uint16Array, at: number): boolean {
  return a[at] === b[at] && a[at + 1] === b[at + 1] && a[at + 2] === b[at + 2] && a[at + 3] === b[at + 3];
}

// Whether [start, end) holds a character beyond ASCII.
function hasNonAscii(bytes: Uint16Array, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (bytes[index]! > 127) return true;
  return false;
}

// Whether [start, end) is blanks only.
function allBlank(bytes: Uint16Array, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (!isSpace(bytes[index]!)) return false;
  return true;
}

// How many numbers end at or before `end` (their ends ascend); -1 when `end` is past the ones kept.
function numbersUpTo(ends: Int32Array, kept: number, end: number): number {
  for (let index = 0; index < kept; index++) if (ends[index] === end) return index + 1;
  return -1;
}
