/**
 * `!poolused` outputs in scanned form (src/kd/columns.ts): one row of numbers per tag instead of
 * an object with three strings and two count objects. `scan` reads an output exactly as
 * parsePoolused does (src/kd/poolused.ts, the reference) — header columns, right-aligned numbers,
 * glued descriptions, loose rows, `TOTAL`, preamble, elisions and interruptions — storing offsets
 * and values; `result` only slices at stored offsets and builds the objects.
 *
 * The output is read as bytes: it is copied once into a reused buffer as UTF-8, which for ASCII
 * text is one byte per character at the same offsets, and byte reads cost half of `charCodeAt`.
 * Any other character makes the output fall back to the object parser.
 */
import { FALLBACK, Float64Column, Int32Column, type ColumnTable } from './columns.js';
import { padTag } from './common.js';
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

// The preamble lines of src/kd/poolused.ts as sticky patterns matched in place, by the trimmed
// line's first character. WHOLE ones must end exactly at the trimmed line's end (the reference
// anchors them with `$`); the others only within it (the reference matches a prefix).
const USING = /Using a machine size of [0-9a-f]+ pages to configure the kd cache/iy;
const CACHE_SIZE = /\*\*\* CacheSize too low - increasing to \d+ MB/y;
const PARTIAL_READS = /\d+ full reads broken into \d+ partial reads/y;
const PTES = /\*\* (?:Transition|Prototype) PTEs are implicitly decoded/y;
const MAX_CACHE = /Max cache size is\s*:/y;
const TOTAL_MEMORY = /Total memory in cache\s*:/y;
const REGIONS = /Number of regions cached:/y;
const COUNTS = /counts: \d+ cached\/\d+ uncached/y;
const BYTES = /bytes\s*: \d+ cached\/\d+ uncached/y;

// Header words; 0 is not a header word.
const WORD_ALLOCS = 1;
const WORD_FREES = 2;
const WORD_DIFF = 4;
const WORD_USED = 8;

// The most numeric columns a header can name: four words in each of two pools.
const MAX_COLUMNS = 8;

// Character codes read by name.
const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const MINUS = 45;
const DOT = 46;

/** `!poolused` results held as columns; equal to parsePoolused's results through `result(text, row)`. */
export class PoolusedTable implements ColumnTable<PoolusedResult> {
  // Per tag row: where the tag starts in the log, tag length and Frees bits, the description's span.
  private readonly rowTag = new Int32Column();
  private readonly rowInfo = new Int32Column();
  private readonly rowDescriptionStart = new Int32Column();
  private readonly rowDescriptionEnd = new Int32Column();
  // Per tag row, six numbers: nonpaged allocs, frees, bytes, then paged allocs, frees, bytes.
  private readonly rowValues = new Float64Column(6 * 1024);
  // Per unparsed line: its span in the log.
  private readonly unparsedStart = new Int32Column();
  private readonly unparsedEnd = new Int32Column();
  // Per result: its rows and unparsed lines (first and end), flags, and the TOTAL line's six numbers.
  private readonly resultRowFirst = new Int32Column(256);
  private readonly resultRowEnd = new Int32Column(256);
  private readonly resultUnparsedFirst = new Int32Column(256);
  private readonly resultUnparsedEnd = new Int32Column(256);
  private readonly resultFlags = new Int32Column(256);
  private readonly resultTotal = new Float64Column(6 * 256);

  // The output being read, as bytes (offsets relative to `base`, its start in the log), then LF.
  private bytes = new Uint8Array(1 << 16);
  private readonly encoder = new TextEncoder();
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

  /** How many results the table holds. */
  get size(): number {
    return this.resultFlags.length;
  }

  /** Read the `!poolused` output text[from, to); FALLBACK (nothing kept) where parsePoolused would throw or the shape is not held. */
  scan(text: string, from: number, to: number, _command: string): number {
    if (!(from >= 0 && to <= text.length && from <= to)) return FALLBACK;
    const length = to - from;
    if (this.bytes.length <= length) this.bytes = new Uint8Array(Math.max(length + 1, this.bytes.length * 2));
    const bytes = this.bytes;
    if (length > 0) {
      // UTF-8 of ASCII is the same offsets; anything longer or cut short was not ASCII.
      const copied = this.encoder.encodeInto(text.slice(from, to), bytes);
      if (copied.read !== length || copied.written !== length) return FALLBACK;
    }
    // A line feed after the output stops every run of spaces and digits without a bounds test.
    bytes[length] = LF;
    this.base = from;
    const rowsBefore = this.rowTag.length;
    const unparsedBefore = this.unparsedStart.length;
    const outcome = this.read(text, bytes, length);
    if (outcome === FALLBACK) {
      this.truncateRows(rowsBefore, unparsedBefore);
      return FALLBACK;
    }
    this.resultRowFirst.push(rowsBefore);
    this.resultRowEnd.push(this.rowTag.length);
    this.resultUnparsedFirst.push(unparsedBefore);
    this.resultUnparsedEnd.push(this.unparsedStart.length);
    const total = this.total;
    for (let index = 0; index < 6; index++) this.resultTotal.push(total[index]!);
    return this.resultFlags.push(outcome);
  }

  /** The result at `row`, JSON-equal (key order included) to parsePoolused of the same output. */
  result(text: string, row: number): PoolusedResult {
    const flags = this.resultFlags.at(row);
    const result: PoolusedResult = {
      complete: (flags & RESULT_COMPLETE) !== 0,
      unparsed: this.unparsed(text, row),
      sortedBy: SORTS[(flags >> SORT_SHIFT) & SORT_MASK]!,
      rows: [],
    };
    const end = this.resultRowEnd.at(row);
    const values = this.rowValues.data;
    for (let index = this.resultRowFirst.at(row); index < end; index++) {
      const info = this.rowInfo.at(index);
      const tagStart = this.rowTag.at(index);
      const tagLength = info & TAG_LENGTH_MASK;
      const tag = tagLength === 4 ? text.slice(tagStart, tagStart + 4) : padTag(text.slice(tagStart, tagStart + tagLength));
      const base = index * 6;
      const tagRow: PoolusedRow = {
        tag,
        nonpaged: counts(values, base, (info & ROW_NONPAGED_FREES) !== 0),
        paged: counts(values, base + 3, (info & ROW_PAGED_FREES) !== 0),
      };
      const descriptionStart = this.rowDescriptionStart.at(index);
      const descriptionEnd = this.rowDescriptionEnd.at(index);
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
    return (this.resultFlags.at(row) & RESULT_COMPLETE) !== 0;
  }

  /** The result's `unparsed` lines. */
  unparsed(text: string, row: number): string[] {
    const lines: string[] = [];
    const end = this.resultUnparsedEnd.at(row);
    for (let index = this.resultUnparsedFirst.at(row); index < end; index++) lines.push(text.slice(this.unparsedStart.at(index), this.unparsedEnd.at(index)));
    return lines;
  }

  // Undo the rows and unparsed lines a scan appended before it gave up.
  private truncateRows(rows: number, unparsed: number): void {
    this.rowTag.truncate(rows);
    this.rowInfo.truncate(rows);
    this.rowDescriptionStart.truncate(rows);
    this.rowDescriptionEnd.truncate(rows);
    this.rowValues.truncate(rows * 6);
    this.unparsedStart.truncate(unparsed);
    this.unparsedEnd.truncate(unparsed);
  }

  // readPoolused of src/kd/poolused.ts over bytes[0, length), line by line with the tests in the
  // same order, appending rows and unparsed spans; returns the result's flags, or FALLBACK where
  // the reference would throw.
  private read(text: string, bytes: Uint8Array, length: number): number {
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

    for (let position = 0; position <= length; ) {
      const found = text.indexOf('\n', base + position);
      const newline = found < 0 || found >= to ? -1 : found - base;
      // The last line is dropped when empty (text ending in a line break), as splitLines does.
      if (newline < 0 && position === length) break;
      const lineStart = position;
      let lineEnd = newline < 0 ? length : newline;
      if (newline >= 0 && lineEnd > lineStart && bytes[lineEnd - 1] === CR) lineEnd -= 1;
      position = newline < 0 ? length + 1 : newline + 1;
      // Most lines are rows of the table: read them before the tests the other lines need.
      if (this.columnCount > 0 && this.readPlainRow(bytes, lineStart, lineEnd)) {
        seenContent = true;
        lastRowFailed = false;
        continue;
      }
      let start = lineStart;
      let end = lineEnd;
      while (start < end && isSpace(bytes[start]!)) start++;
      while (end > start && isSpace(bytes[end - 1]!)) end--;
      if (start === end) continue;
      const first = !seenContent;
      seenContent = true;
      lastRowFailed = false;
      const lead = bytes[start]!;

      if (isPrompt(bytes, start, end, lead)) {
        // The echoed command opening the output is expected; any later prompt is another command.
        if (!(first && namesPoolused(bytes, lineStart, lineEnd))) this.pushUnparsed(lineStart, lineEnd);
        continue;
      }
      if (this.columnCount > 0) {
        // Rows first: a tag may itself look like an elision (`...X`) or a TOTAL.
        if (lead === 84 && end - start > 5 && isAt(bytes, start, 'TOTAL') && isSpace(bytes[start + 5]!)) {
          const total = this.readTotal(bytes, start, end);
          if (total !== 0) {
            flags = (flags & ~(TOTAL_NONPAGED_FREES | TOTAL_PAGED_FREES)) | total;
            continue;
          }
        }
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
        flags &= ~RESULT_COMPLETE;
        if (!isBareElision(bytes, start, end, lead)) this.pushUnparsed(lineStart, lineEnd);
        continue;
      }
      if (interruption) {
        flags &= ~RESULT_COMPLETE;
        recognised = true;
        continue;
      }
      if (isPreamble(text, base + start, base + end, lead)) {
        recognised = true;
        continue;
      }
      const sort = readSorting(bytes, start, end, lead);
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
      if (this.columnCount > 0) lastRowFailed = true;
      this.pushUnparsed(lineStart, lineEnd);
    }

    if (!recognised) return FALLBACK;
    // A table that never started, or whose last line is not a row, was cut off.
    if (this.columnCount === 0 || lastRowFailed) flags &= ~RESULT_COMPLETE;
    return flags;
  }

  // Keep a line the reader did not understand, by its span in the log.
  private pushUnparsed(start: number, end: number): void {
    this.unparsedStart.push(this.base + start);
    this.unparsedEnd.push(this.base + end);
  }

  // readRow of the reference: blanks up to the tag under `Tag`, a tag of four characters (not all
  // blank, no TAB), then the numbers.
  private readRow(bytes: Uint8Array, lineStart: number, lineEnd: number): boolean {
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

  // A row as most are printed: spaces up to the tag, a tag of printable characters opening neither
  // a prompt nor `TOTAL` (which the reference tests before rows), then what readRow reads.
  private readPlainRow(bytes: Uint8Array, lineStart: number, lineEnd: number): boolean {
    const tagStart = lineStart + this.tagColumn;
    if (lineEnd - tagStart < 4) return false;
    for (let index = lineStart; index < tagStart; index++) if (bytes[index] !== SPACE) return false;
    let lead = -1;
    let leadAt = 0;
    for (let index = tagStart; index < tagStart + 4; index++) {
      const code = bytes[index]!;
      if (code > 126 || code < SPACE) return false;
      if (lead < 0 && code !== SPACE) {
        lead = code;
        leadAt = index;
      }
    }
    if (lead < 0) return false;
    if (lead <= 57 ? lead >= 48 : (lead | 32) === 107 || (lead | 32) === 108 || lead === 84) {
      // A digit, k or l may open a prompt, T a TOTAL line: those take the general path.
      if (lead === 84 ? isAt(bytes, leadAt, 'TOTAL') : isPrompt(bytes, leadAt, lineEnd, lead)) return false;
    }
    return this.readNumbers(bytes, lineStart, lineEnd, tagStart);
  }

  // The numbers and description of readRow after the tag at `tagStart`: each number right-aligned
  // under its header word (shifted by wider numbers before it), a description glued onto a padded
  // last number split off where the column ends.
  private readNumbers(bytes: Uint8Array, lineStart: number, lineEnd: number, tagStart: number): boolean {
    const count = this.columnCount;
    // The numbers go straight into the next row's six slots; the row counts only once pushed.
    const column = this.rowValues;
    reserve(column, 6);
    const values = column.data;
    const slots = column.length;
    values[slots] = values[slots + 1] = values[slots + 2] = values[slots + 3] = values[slots + 4] = values[slots + 5] = 0;
    const columnEnd = this.columnEnd;
    const columnCode = this.columnCode;
    let position = tagStart + 4;
    let shift = 0;
    let previousEnd = position;
    for (let index = 0; index < count; index++) {
      // bytes[lineEnd] is LF or CR, so no run below crosses the line's end.
      if (bytes[position] !== SPACE) return false;
      position++;
      let code = bytes[position]!;
      while (code === SPACE) code = bytes[++position]!;
      const start = position;
      const negative = code === MINUS;
      if (negative) code = bytes[++position]!;
      let value = 0;
      while (code >= 48 && code <= 57) {
        value = value * 10 + (code - 48);
        code = bytes[++position]!;
      }
      if (position === start || bytes[position - 1] === MINUS) return false;
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
    while (descriptionStart < descriptionEnd && isSpace(bytes[descriptionStart]!)) descriptionStart++;
    while (descriptionEnd > descriptionStart && isSpace(bytes[descriptionEnd - 1]!)) descriptionEnd--;
    column.length = slots + 6;
    this.pushSpans(tagStart, 4, descriptionStart, descriptionEnd);
    return true;
  }

  // readRowLoosely of the reference (`^\s*(\S{1,4})((?:\s+-?\d+)+)(?:\t(.*)|\s*)$`, then exactly one
  // number per header column), for rows whose leading blanks a publisher stripped. The pattern
  // takes as many numbers as it can and then gives them back one by one until what follows is a
  // TAB and a description without CR, or blanks only.
  private readRowLoosely(bytes: Uint8Array, lineStart: number, lineEnd: number): boolean {
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
    this.rowTag.push(base + tagStart);
    this.rowInfo.push(tagLength | this.layoutFrees);
    this.rowDescriptionStart.push(base + descriptionStart);
    this.rowDescriptionEnd.push(base + descriptionEnd);
  }

  // readTotal of the reference on the trimmed line [start, end) (`^TOTAL((?:\s+-?\d+)+)\s*$`, one
  // number per column): the numbers go to `total`; returns the result's TOTAL flags, or 0.
  private readTotal(bytes: Uint8Array, start: number, end: number): number {
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
  private readPoolOrder(bytes: Uint8Array, start: number, end: number): boolean {
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
  private readHeader(bytes: Uint8Array, lineStart: number, lineEnd: number, tagAt: number): boolean {
    if (lineEnd - tagAt < 4 || !isAt(bytes, tagAt, 'Tag') || !isSpace(bytes[tagAt + 3]!)) return false;
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
    this.columnEnd.set(this.headerEnd);
    this.columnCode.set(this.headerCode);
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

// A pool's counts from three stored numbers (allocs, frees, bytes), keys in the reference's order.
function counts(values: Float64Array, base: number, frees: boolean): PoolCounts {
  const result: PoolCounts = { allocs: values[base]!, bytes: values[base + 2]! };
  if (frees) result.frees = values[base + 1]!;
  return result;
}

// Number() of an optionally signed run of at most 15 digits, as the reference's numberAt.
function numberAt(bytes: Uint8Array, start: number, end: number): number {
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

// True when bytes[at, …) holds `word` exactly (the caller knows the line is long enough or
// that a shorter line ends in LF/CR, which no word contains).
function isAt(bytes: Uint8Array, at: number, word: string): boolean {
  for (let index = 0; index < word.length; index++) if (bytes[at + index] !== word.charCodeAt(index)) return false;
  return true;
}

// True when bytes[at, end) starts with `word` in any case (as a non-Unicode /i pattern compares ASCII letters).
function spells(bytes: Uint8Array, at: number, end: number, word: string): boolean {
  if (end - at < word.length) return false;
  for (let index = 0; index < word.length; index++) {
    const want = word.charCodeAt(index);
    const code = bytes[at + index]!;
    if (want >= 97 && want <= 122 ? (code | 32) !== want : code !== want) return false;
  }
  return true;
}

// `\b` after a word character, at `at` in a string that ends at `end`.
function wordEndsAt(bytes: Uint8Array, at: number, end: number): boolean {
  if (at >= end) return true;
  const code = bytes[at]!;
  return !((code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95);
}

// PROMPT of the reference (`^\s*(?:\d{1,3}:\s?)?l?kd>`, any case) on the trimmed line [start, end).
function isPrompt(bytes: Uint8Array, start: number, end: number, lead: number): boolean {
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
function namesPoolused(bytes: Uint8Array, start: number, end: number): boolean {
  for (let index = start; index + 9 <= end; index++) {
    if (bytes[index] === 33 && spells(bytes, index + 1, end, 'poolused') && wordEndsAt(bytes, index + 9, end)) return true;
  }
  return false;
}

// `/^\.+$/` on the trimmed line.
function allDots(bytes: Uint8Array, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (bytes[index] !== DOT) return false;
  return true;
}

// The start of isElision of the reference: `...` or `[...]` opening the trimmed line (`…` is not ASCII).
function isElision(bytes: Uint8Array, start: number, end: number, lead: number): boolean {
  if (lead === DOT) return end - start >= 3 && bytes[start + 1] === DOT && bytes[start + 2] === DOT;
  return lead === 91 && end - start >= 5 && isAt(bytes, start, '[...]');
}

// An elision and nothing else (`/^(\.{3,}|…+|\[\.\.\.\])$/`): not kept as unparsed.
function isBareElision(bytes: Uint8Array, start: number, end: number, lead: number): boolean {
  if (lead === DOT) return end - start >= 3 && allDots(bytes, start, end);
  return end - start === 5 && isAt(bytes, start, '[...]');
}

// isInterruption of the reference: `terminating` (after an optional `...`), `^C`, `interrupted`.
function isInterruption(bytes: Uint8Array, start: number, end: number, lead: number): boolean {
  const lower = lead | 32;
  if (lead === DOT) return end - start >= 3 && isAt(bytes, start, '...') && spells(bytes, start + 3, end, 'terminating') && wordEndsAt(bytes, start + 14, end);
  if (lower === 116) return spells(bytes, start, end, 'terminating') && wordEndsAt(bytes, start + 11, end);
  if (lower === 105) return spells(bytes, start, end, 'interrupted') && wordEndsAt(bytes, start + 11, end);
  return lead === 94 && end - start === 2 && bytes[start + 1] === 67;
}

// One of the kd cache preamble lines, matched in place on the trimmed line [start, end) of the log.
function isPreamble(text: string, start: number, end: number, lead: number): boolean {
  switch (lead) {
    case 85:
    case 117:
      return matchesWhole(USING, text, start, end);
    case 42:
      return matchesWhole(CACHE_SIZE, text, start, end) || matchesWhole(PTES, text, start, end);
    case 77:
      return matchesPrefix(MAX_CACHE, text, start, end);
    case 84:
      return matchesPrefix(TOTAL_MEMORY, text, start, end);
    case 78:
      return matchesPrefix(REGIONS, text, start, end);
    case 99:
      return matchesPrefix(COUNTS, text, start, end);
    case 98:
      return matchesPrefix(BYTES, text, start, end);
    default:
      return isDigit(lead) && matchesWhole(PARTIAL_READS, text, start, end);
  }
}

// A sticky pattern matching text[start, end) exactly.
function matchesWhole(pattern: RegExp, text: string, start: number, end: number): boolean {
  pattern.lastIndex = start;
  return pattern.test(text) && pattern.lastIndex === end;
}

// A sticky pattern matching a prefix of text[start, end).
function matchesPrefix(pattern: RegExp, text: string, start: number, end: number): boolean {
  pattern.lastIndex = start;
  return pattern.test(text) && pattern.lastIndex <= end;
}

// readSorting's answer for a line that is no `Sorting by` line.
const NOT_SORTING = -1;

// `/^Sorting by\s+(.*)$/i` on the trimmed line, then readSort of the words: the SORTS index
// (0 for words kd never printed), or NOT_SORTING.
function readSorting(bytes: Uint8Array, start: number, end: number, lead: number): number {
  if ((lead | 32) !== 115 || !spells(bytes, start, end, 'sorting by')) return NOT_SORTING;
  let position = start + 10;
  if (position >= end || !isSpace(bytes[position]!)) return NOT_SORTING;
  while (position < end && isSpace(bytes[position]!)) position++;
  // `.` matches no CR, and the words run to the end of the line.
  if (hasCarriageReturn(bytes, position, end)) return NOT_SORTING;
  if (spells(bytes, position, end, 'nonpaged') && wordEndsAt(bytes, position + 8, end)) return 2;
  if (spells(bytes, position, end, 'paged') && wordEndsAt(bytes, position + 5, end)) return 3;
  if (spells(bytes, position, end, 'tag') && wordEndsAt(bytes, position + 3, end)) return 1;
  return 0;
}

// The length of `NonPaged` (8) or `Paged` (5), any case, at `at`; 0 for neither.
function poolWordAt(bytes: Uint8Array, at: number, end: number): number {
  if (spells(bytes, at, end, 'nonpaged')) return 8;
  if (spells(bytes, at, end, 'paged')) return 5;
  return 0;
}

// The header word at [start, end) (case as kd prints it), 0 for another word.
function headerWord(bytes: Uint8Array, start: number, end: number): number {
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
function hasCarriageReturn(bytes: Uint8Array, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (bytes[index] === CR) return true;
  return false;
}

// Whether [start, end) is blanks only.
function allBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (!isSpace(bytes[index]!)) return false;
  return true;
}

// How many numbers end at or before `end` (their ends ascend); -1 when `end` is past the ones kept.
function numbersUpTo(ends: Int32Array, kept: number, end: number): number {
  for (let index = 0; index < kept; index++) if (ends[index] === end) return index + 1;
  return -1;
}
