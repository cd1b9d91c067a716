/**
 * `!poolused` outputs in scanned form (src/kd/columns.ts): one row of numbers per tag instead of
 * an object with three strings and two count objects. `scan` reads an output exactly as
 * parsePoolused does (src/kd/poolused.ts, the reference) — header columns, right-aligned numbers,
 * glued descriptions, loose rows, `TOTAL`, preamble, elisions and interruptions — storing offsets
 * and values; `result` only slices at stored offsets and builds the objects.
 */
import { FALLBACK, Float64Column, Int32Column, type ColumnTable } from './columns.js';
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

// The preamble lines of src/kd/poolused.ts, as sticky patterns read in place: the first group
// must end exactly at the trimmed line's end (the reference anchors them with `$`), the second
// only within it (the reference matches a prefix).
const PREAMBLE_WHOLE = [
  /Using a machine size of [0-9a-f]+ pages to configure the kd cache/iy,
  /\*\*\* CacheSize too low - increasing to \d+ MB/y,
  /\d+ full reads broken into \d+ partial reads/y,
  /\*\* (?:Transition|Prototype) PTEs are implicitly decoded/y,
];
const PREAMBLE_PREFIX = [/Max cache size is\s*:/y, /Total memory in cache\s*:/y, /Number of regions cached:/y, /counts: \d+ cached\/\d+ uncached/y, /bytes\s*: \d+ cached\/\d+ uncached/y];

// Header words and their slots; 0 is not a header word.
const WORD_ALLOCS = 1;
const WORD_FREES = 2;
const WORD_DIFF = 4;
const WORD_USED = 8;

// The most numeric columns a header can name: four words in each of two pools.
const MAX_COLUMNS = 8;

/** `!poolused` results held as columns; equal to parsePoolused's results through `result(text, row)`. */
export class PoolusedTable implements ColumnTable<PoolusedResult> {
  // Per tag row: where the tag starts, tag length and Frees bits, and the description's span.
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
    const rowsBefore = this.rowTag.length;
    const unparsedBefore = this.unparsedStart.length;
    const outcome = from >= 0 && to <= text.length && from <= to ? this.read(text, from, to) : FALLBACK;
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

  // readPoolused of src/kd/poolused.ts, line by line in the same order of tests, appending rows
  // and unparsed spans; returns the result's flags, or FALLBACK where the reference would throw
  // or a line's shape is one this reader does not decide.
  private read(text: string, from: number, to: number): number {
    this.columnCount = 0;
    this.firstPool = NONPAGED;
    this.secondPool = PAGED;
    this.total.fill(0);
    let flags = RESULT_COMPLETE;
    let recognised = false;
    let seenContent = false;
    let lastRowFailed = false;

    for (let position = from; position <= to; ) {
      let newline = text.indexOf('\n', position);
      if (newline >= to) newline = -1;
      if (newline < 0 && position === to) break;
      const lineStart = position;
      let lineEnd = newline < 0 ? to : newline;
      if (newline >= 0 && lineEnd > lineStart && text.charCodeAt(lineEnd - 1) === 13) lineEnd -= 1;
      position = newline < 0 ? to + 1 : newline + 1;
      let start = lineStart;
      let end = lineEnd;
      while (start < end && isTrimSpace(text.charCodeAt(start))) start++;
      while (end > start && isTrimSpace(text.charCodeAt(end - 1))) end--;
      if (start === end) continue;
      const first = !seenContent;
      seenContent = true;
      lastRowFailed = false;
      const lead = text.charCodeAt(start);

      if (isPrompt(text, start, end, lead)) {
        // The echoed command opening the output is expected; any later prompt is another command.
        if (!(first && namesPoolused(text, lineStart, lineEnd))) this.pushUnparsed(lineStart, lineEnd);
        continue;
      }
      if (this.columnCount > 0) {
        // Rows first: a tag may itself look like an elision (`...X`) or a TOTAL.
        if (lead === 84 && startsWithTotal(text, start, end)) {
          const total = this.readTotal(text, start, end);
          if (total) {
            flags = (flags & ~(TOTAL_NONPAGED_FREES | TOTAL_PAGED_FREES)) | RESULT_TOTAL | (total & (TOTAL_NONPAGED_FREES | TOTAL_PAGED_FREES));
            continue;
          }
        }
        if (this.readRow(text, lineStart, lineEnd)) continue;
        if (this.readRowLoosely(text, lineStart, lineEnd)) continue;
      }
      if (this.columnCount === 0 && allDots(text, start, end)) {
        // Progress dots come before the table; the same dots after it are someone's elision.
        recognised = true;
        continue;
      }
      const interruption = isInterruption(text, start, end, lead);
      if (!interruption && isElision(text, start, end, lead)) {
        flags &= ~RESULT_COMPLETE;
        if (!isBareElision(text, start, end, lead)) this.pushUnparsed(lineStart, lineEnd);
        continue;
      }
      if (interruption) {
        flags &= ~RESULT_COMPLETE;
        recognised = true;
        continue;
      }
      if (isPreamble(text, start, end)) {
        recognised = true;
        continue;
      }
      const sort = readSorting(text, start, end);
      if (sort !== NOT_SORTING) {
        recognised = true;
        flags = (flags & ~(SORT_MASK << SORT_SHIFT)) | (sort << SORT_SHIFT);
        if (sort === 0) this.pushUnparsed(lineStart, lineEnd);
        continue;
      }
      if (isPoolUsed(text, start, end)) {
        recognised = true;
        continue;
      }
      if (this.readPoolOrder(text, start, end)) {
        recognised = true;
        continue;
      }
      if (this.readHeader(text, lineStart, lineEnd)) {
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

  // Keep a line the reader did not understand, by its span.
  private pushUnparsed(start: number, end: number): void {
    this.unparsedStart.push(start);
    this.unparsedEnd.push(end);
  }

  // readRow of the reference: the tag under `Tag`, numbers right-aligned under their header
  // words (shifted by wider numbers before them), a description glued onto a padded last number.
  private readRow(text: string, lineStart: number, lineEnd: number): boolean {
    const tagColumn = this.tagColumn;
    const count = this.columnCount;
    const tagStart = lineStart + tagColumn;
    if (lineEnd - lineStart < tagColumn + 4) return false;
    for (let index = lineStart; index < tagStart; index++) if (!isTrimSpace(text.charCodeAt(index))) return false;
    let blankTag = true;
    for (let index = tagStart; index < tagStart + 4; index++) {
      const code = text.charCodeAt(index);
      if (code === 9) return false;
      if (blankTag && !isTrimSpace(code)) blankTag = false;
    }
    if (blankTag) return false;

    const values = this.values;
    values[0] = values[1] = values[2] = values[3] = values[4] = values[5] = 0;
    const columnEnd = this.columnEnd;
    const columnCode = this.columnCode;
    let position = tagStart + 4;
    let shift = 0;
    let previousEnd = position;
    for (let index = 0; index < count; index++) {
      if (position >= lineEnd || text.charCodeAt(position) !== 32) return false;
      while (position < lineEnd && text.charCodeAt(position) === 32) position++;
      const start = position;
      if (position < lineEnd && text.charCodeAt(position) === 45) position++;
      while (position < lineEnd && isDigit(text.charCodeAt(position))) position++;
      if (position === start || text.charCodeAt(position - 1) === 45) return false;
      const expectedEnd = lineStart + columnEnd[index]! + shift;
      const followedBy = position < lineEnd ? text.charCodeAt(position) : -1;
      if (index === count - 1 && position > expectedEnd && start < expectedEnd && start > previousEnd + 1 && followedBy !== 9 && followedBy !== -1) {
        // Old generation: a description starting with a digit is glued onto a padded last number.
        position = expectedEnd;
      } else if (position > expectedEnd) {
        shift += position - expectedEnd;
      }
      if (position - start > 15) return false;
      const code = columnCode[index]!;
      if (code !== DIFF) values[code] = numberAt(text, start, position);
      previousEnd = position;
    }
    let descriptionStart = position;
    let descriptionEnd = lineEnd;
    while (descriptionStart < descriptionEnd && isTrimSpace(text.charCodeAt(descriptionStart))) descriptionStart++;
    while (descriptionEnd > descriptionStart && isTrimSpace(text.charCodeAt(descriptionEnd - 1))) descriptionEnd--;
    this.pushRow(tagStart, 4, descriptionStart, descriptionEnd);
    return true;
  }

  // readRowLoosely of the reference (`^\s*(\S{1,4})((?:\s+-?\d+)+)(?:\t(.*)|\s*)$`, then exactly one
  // number per header column), for rows whose leading blanks a publisher stripped. The pattern
  // takes as many numbers as it can and then gives them back one by one until what follows is a
  // TAB and a description without line terminators, or blanks only.
  private readRowLoosely(text: string, lineStart: number, lineEnd: number): boolean {
    let position = lineStart;
    while (position < lineEnd && isTrimSpace(text.charCodeAt(position))) position++;
    const tagStart = position;
    while (position < lineEnd && !isTrimSpace(text.charCodeAt(position))) position++;
    const tagLength = position - tagStart;
    if (tagLength < 1 || tagLength > 4) return false;
    const count = this.columnCount;
    const numberStart = this.numberStart;
    const numberEnd = this.numberEnd;
    // Numbers read; the last one's end; the end of the last number followed by a TAB, before it.
    let numbers = 0;
    let lastEnd = -1;
    let lastTabbedEnd = -1;
    let tooLong = false;
    for (;;) {
      let at = position;
      while (at < lineEnd && isTrimSpace(text.charCodeAt(at))) at++;
      if (at === position) break;
      const start = at;
      if (at < lineEnd && text.charCodeAt(at) === 45) at++;
      const digits = at;
      while (at < lineEnd && isDigit(text.charCodeAt(at))) at++;
      if (at === digits) break;
      if (numbers > 0 && text.charCodeAt(lastEnd) === 9) lastTabbedEnd = lastEnd;
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
    if (text.charCodeAt(lastEnd) === 9 && lastEnd < lineEnd && !hasLineTerminator(text, lastEnd + 1, lineEnd)) {
      taken = numbers;
      descriptionFrom = lastEnd + 1;
    } else if (allBlank(text, lastEnd, lineEnd)) {
      taken = numbers;
      descriptionFrom = -1;
    } else if (lastTabbedEnd >= 0 && !hasLineTerminator(text, lastTabbedEnd + 1, lineEnd)) {
      taken = numbersUpTo(numberEnd, Math.min(numbers, MAX_COLUMNS), lastTabbedEnd);
      descriptionFrom = lastTabbedEnd + 1;
      // The TAB follows a number beyond the eighth: more numbers than any header has columns.
      if (taken < 0) return false;
    } else {
      return false;
    }
    if (taken !== count) return false;
    // A number beyond the ones taken may be long; only the taken ones must fit 15 characters.
    if (tooLong) {
      for (let index = 0; index < taken; index++) if (numberEnd[index]! - numberStart[index]! > 15) return false;
    }
    const values = this.values;
    values[0] = values[1] = values[2] = values[3] = values[4] = values[5] = 0;
    for (let index = 0; index < count; index++) {
      const code = this.columnCode[index]!;
      if (code !== DIFF) values[code] = numberAt(text, numberStart[index]!, numberEnd[index]!);
    }
    let descriptionStart = descriptionFrom < 0 ? lineEnd : descriptionFrom;
    let descriptionEnd = lineEnd;
    while (descriptionStart < descriptionEnd && isTrimSpace(text.charCodeAt(descriptionStart))) descriptionStart++;
    while (descriptionEnd > descriptionStart && isTrimSpace(text.charCodeAt(descriptionEnd - 1))) descriptionEnd--;
    this.pushRow(tagStart, tagLength, descriptionStart, descriptionEnd);
    return true;
  }

  // Append one tag row from `values` and the layout's Frees columns.
  private pushRow(tagStart: number, tagLength: number, descriptionStart: number, descriptionEnd: number): void {
    this.rowTag.push(tagStart);
    this.rowInfo.push(tagLength | this.layoutFrees);
    this.rowDescriptionStart.push(descriptionStart);
    this.rowDescriptionEnd.push(descriptionEnd);
    const values = this.values;
    const column = this.rowValues;
    column.push(values[0]!);
    column.push(values[1]!);
    column.push(values[2]!);
    column.push(values[3]!);
    column.push(values[4]!);
    column.push(values[5]!);
  }

  // readTotal of the reference on the trimmed line [start, end) (`^TOTAL((?:\s+-?\d+)+)\s*$`, one
  // number per column): the numbers go to `total`; returns the TOTAL flags, or 0 for no total.
  private readTotal(text: string, start: number, end: number): number {
    const count = this.columnCount;
    const numbers = this.values;
    numbers[0] = numbers[1] = numbers[2] = numbers[3] = numbers[4] = numbers[5] = 0;
    let position = start + 5;
    let read = 0;
    for (;;) {
      let at = position;
      while (at < end && isTrimSpace(text.charCodeAt(at))) at++;
      if (at === position) break;
      const numberFrom = at;
      if (at < end && text.charCodeAt(at) === 45) at++;
      const digits = at;
      while (at < end && isDigit(text.charCodeAt(at))) at++;
      if (at === digits) break;
      if (read >= count || at - numberFrom > 15) return 0;
      const code = this.columnCode[read]!;
      if (code !== DIFF) numbers[code] = numberAt(text, numberFrom, at);
      read++;
      position = at;
    }
    // The trimmed line ends in a non-blank, so `\s*$` holds only where the numbers reach its end.
    if (read !== count || position !== end) return 0;
    this.total.set(numbers);
    return RESULT_TOTAL | (this.layoutFrees & ROW_NONPAGED_FREES ? TOTAL_NONPAGED_FREES : 0) | (this.layoutFrees & ROW_PAGED_FREES ? TOTAL_PAGED_FREES : 0);
  }

  // `NonPaged Paged` (either order, any case) over the columns: which pool each group of numbers is.
  private readPoolOrder(text: string, start: number, end: number): boolean {
    const firstLength = poolWordAt(text, start, end);
    if (firstLength === 0) return false;
    let position = start + firstLength;
    const blanks = position;
    while (position < end && isTrimSpace(text.charCodeAt(position))) position++;
    if (position === blanks) return false;
    const secondLength = poolWordAt(text, position, end);
    if (secondLength === 0 || position + secondLength !== end) return false;
    this.firstPool = firstLength === 8 ? NONPAGED : PAGED;
    this.secondPool = secondLength === 8 ? NONPAGED : PAGED;
    return true;
  }

  // readHeader of the reference: `Tag` then Allocs/Frees/Diff/Used words, a repeated word starting
  // the next pool's group; each column ends where its word ends. Both pools need Allocs and Used.
  private readHeader(text: string, lineStart: number, lineEnd: number): boolean {
    let position = lineStart;
    while (position < lineEnd && isTrimSpace(text.charCodeAt(position))) position++;
    const tagAt = position;
    if (lineEnd - tagAt < 4 || text.charCodeAt(tagAt) !== 84 || text.charCodeAt(tagAt + 1) !== 97 || text.charCodeAt(tagAt + 2) !== 103 || !isTrimSpace(text.charCodeAt(tagAt + 3))) return false;
    position = tagAt + 3;
    let count = 0;
    let group = 0;
    let seen = 0;
    // Which of Allocs (1) and Used (8) each pool got, by pool index.
    let nonpagedWords = 0;
    let pagedWords = 0;
    let frees = 0;
    for (;;) {
      while (position < lineEnd && isTrimSpace(text.charCodeAt(position))) position++;
      if (position >= lineEnd) break;
      const wordStart = position;
      while (position < lineEnd && !isTrimSpace(text.charCodeAt(position))) position++;
      const word = headerWord(text, wordStart, position);
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
      const slot = word === WORD_ALLOCS ? SLOT_ALLOCS : word === WORD_FREES ? SLOT_FREES : word === WORD_USED ? SLOT_BYTES : DIFF;
      if (word === WORD_FREES) frees |= pool === NONPAGED ? ROW_NONPAGED_FREES : ROW_PAGED_FREES;
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

// A pool's counts from three stored numbers (allocs, frees, bytes), keys in the reference's order.
function counts(values: Float64Array, base: number, frees: boolean): PoolCounts {
  const result: PoolCounts = { allocs: values[base]!, bytes: values[base + 2]! };
  if (frees) result.frees = values[base + 1]!;
  return result;
}

// Number() of an optionally signed run of at most 15 digits, as the reference's numberAt.
function numberAt(text: string, start: number, end: number): number {
  let index = start;
  const negative = text.charCodeAt(index) === 45;
  if (negative) index++;
  if (index === end) return Number.NaN;
  let value = 0;
  for (; index < end; index++) value = value * 10 + (text.charCodeAt(index) - 48);
  return negative ? -value : value;
}

// ASCII digit test.
function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

// ASCII letter of `lower` in either case (a non-Unicode /i pattern folds ASCII letters only).
function isLetter(code: number, lower: number): boolean {
  return (code | 32) === lower && code >= 65;
}

// True when text[at, …) spells `word` (lowercase letters and other ASCII) in any case, before `end`.
function spellsIgnoringCase(text: string, at: number, end: number, word: string): boolean {
  if (end - at < word.length) return false;
  for (let index = 0; index < word.length; index++) {
    const want = word.charCodeAt(index);
    const code = text.charCodeAt(at + index);
    if (want >= 97 && want <= 122 ? !isLetter(code, want) : code !== want) return false;
  }
  return true;
}

// `\w` of a non-Unicode pattern.
function isWordCode(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

// `\b` after a word character at `at`, in a string that ends at `end`.
function wordEndsAt(text: string, at: number, end: number): boolean {
  return at >= end || !isWordCode(text.charCodeAt(at));
}

// PROMPT of the reference (`^\s*(?:\d{1,3}:\s?)?l?kd>`, any case) on the trimmed line [start, end).
function isPrompt(text: string, start: number, end: number, lead: number): boolean {
  let position = start;
  if (isDigit(lead)) {
    let digits = 1;
    while (digits < 4 && start + digits < end && isDigit(text.charCodeAt(start + digits))) digits++;
    if (digits > 3 || start + digits >= end || text.charCodeAt(start + digits) !== 58) return false;
    position = start + digits + 1;
    if (position < end && isTrimSpace(text.charCodeAt(position))) position++;
  }
  // `l?` is greedy, and giving the `l` back cannot help: `kd>` does not start with it.
  if (position < end && isLetter(text.charCodeAt(position), 108)) position++;
  return spellsIgnoringCase(text, position, end, 'kd>');
}

// `/!poolused\b/i` anywhere in the line [start, end).
function namesPoolused(text: string, start: number, end: number): boolean {
  for (let index = start; index + 9 <= end; index++) {
    if (text.charCodeAt(index) === 33 && spellsIgnoringCase(text, index + 1, end, 'poolused') && wordEndsAt(text, index + 9, end)) return true;
  }
  return false;
}

// `/^TOTAL\s/` on the trimmed line.
function startsWithTotal(text: string, start: number, end: number): boolean {
  return end - start > 5 && text.startsWith('TOTAL', start) && isTrimSpace(text.charCodeAt(start + 5));
}

// `/^\.+$/` on the trimmed line.
function allDots(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (text.charCodeAt(index) !== 46) return false;
  return true;
}

// The start of isElision of the reference: `...`, `…` or `[...]` opening the trimmed line.
function isElision(text: string, start: number, end: number, lead: number): boolean {
  if (lead === 0x2026) return true;
  if (lead === 46) return end - start >= 3 && text.charCodeAt(start + 1) === 46 && text.charCodeAt(start + 2) === 46;
  return lead === 91 && end - start >= 5 && text.startsWith('[...]', start);
}

// An elision and nothing else (`/^(\.{3,}|…+|\[\.\.\.\])$/`): not kept as unparsed.
function isBareElision(text: string, start: number, end: number, lead: number): boolean {
  if (lead === 46) return end - start >= 3 && allDots(text, start, end);
  if (lead === 0x2026) {
    for (let index = start; index < end; index++) if (text.charCodeAt(index) !== 0x2026) return false;
    return true;
  }
  return end - start === 5 && text.startsWith('[...]', start);
}

// isInterruption of the reference: `terminating` (after an optional `...`), `^C`, `interrupted`.
function isInterruption(text: string, start: number, end: number, lead: number): boolean {
  if (lead === 46) return end - start >= 3 && text.startsWith('...', start) && spellsIgnoringCase(text, start + 3, end, 'terminating') && wordEndsAt(text, start + 14, end);
  if (isLetter(lead, 116)) return spellsIgnoringCase(text, start, end, 'terminating') && wordEndsAt(text, start + 11, end);
  if (isLetter(lead, 105)) return spellsIgnoringCase(text, start, end, 'interrupted') && wordEndsAt(text, start + 11, end);
  return lead === 94 && end - start === 2 && text.charCodeAt(start + 1) === 67;
}

// One of the kd cache preamble lines, matched in place on the trimmed line [start, end).
function isPreamble(text: string, start: number, end: number): boolean {
  for (const pattern of PREAMBLE_WHOLE) {
    pattern.lastIndex = start;
    if (pattern.test(text) && pattern.lastIndex === end) return true;
  }
  for (const pattern of PREAMBLE_PREFIX) {
    pattern.lastIndex = start;
    if (pattern.test(text) && pattern.lastIndex <= end) return true;
  }
  return false;
}

// readSorting's answer for a line that is no `Sorting by` line.
const NOT_SORTING = -1;

// `/^Sorting by\s+(.*)$/i` on the trimmed line, then readSort of the words: the SORTS index
// (0 for words kd never printed), or NOT_SORTING.
function readSorting(text: string, start: number, end: number): number {
  if (!isLetter(text.charCodeAt(start), 115) || !spellsIgnoringCase(text, start, end, 'sorting by')) return NOT_SORTING;
  let position = start + 10;
  if (position >= end || !isTrimSpace(text.charCodeAt(position))) return NOT_SORTING;
  while (position < end && isTrimSpace(text.charCodeAt(position))) position++;
  // `.` matches no line terminator, and the words run to the end of the line.
  if (hasLineTerminator(text, position, end)) return NOT_SORTING;
  if (spellsIgnoringCase(text, position, end, 'nonpaged') && wordEndsAt(text, position + 8, end)) return 2;
  if (spellsIgnoringCase(text, position, end, 'paged') && wordEndsAt(text, position + 5, end)) return 3;
  if (spellsIgnoringCase(text, position, end, 'tag') && wordEndsAt(text, position + 3, end)) return 1;
  return 0;
}

// `/^Pool Used:$/i` on the trimmed line.
function isPoolUsed(text: string, start: number, end: number): boolean {
  return end - start === 10 && spellsIgnoringCase(text, start, end, 'pool used:');
}

// The length of `NonPaged` (8) or `Paged` (5), any case, at `at`; 0 for neither.
function poolWordAt(text: string, at: number, end: number): number {
  if (spellsIgnoringCase(text, at, end, 'nonpaged')) return 8;
  if (spellsIgnoringCase(text, at, end, 'paged')) return 5;
  return 0;
}

// The header word at [start, end) (case as kd prints it), 0 for another word.
function headerWord(text: string, start: number, end: number): number {
  const length = end - start;
  if (length === 6 && text.startsWith('Allocs', start)) return WORD_ALLOCS;
  if (length === 5 && text.startsWith('Frees', start)) return WORD_FREES;
  if (length === 4 && text.startsWith('Diff', start)) return WORD_DIFF;
  if (length === 4 && text.startsWith('Used', start)) return WORD_USED;
  return 0;
}

// Whether [start, end) holds a character `.` does not match (`\r`, U+2028, U+2029; `\n` cannot occur).
function hasLineTerminator(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) {
    const code = text.charCodeAt(index);
    if (code === 13 || code === 0x2028 || code === 0x2029) return true;
  }
  return false;
}

// Whether [start, end) is blanks only.
function allBlank(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (!isTrimSpace(text.charCodeAt(index))) return false;
  return true;
}

// How many numbers end at or before `end` (their ends ascend); -1 when `end` is past the ones kept.
function numbersUpTo(ends: Int32Array, kept: number, end: number): number {
  for (let index = 0; index < kept; index++) if (ends[index] === end) return index + 1;
  return -1;
}
