/**
 * Parse the output of kdexts' `!poolused`: per-tag allocation counts and bytes in nonpaged and
 * paged pool. Two generations exist and both are read here:
 * - old (Windows 2000/XP era): `Sorting by …`, `Pool Used:`, narrow columns, and a description
 *   glued straight onto the last number (`0UNKNOWN pooltag '1394', …`);
 * - new: a kd cache preamble, progress dots, wide columns, a TAB before the description,
 *   optional verbose columns (`Allocs Frees Diff Used` per pool) and a closing `TOTAL` line.
 * Numbers are right-aligned under their header words, so the header's column ends tell where a
 * glued description starts, even when the description itself starts with a digit.
 */
import { isTrimSpace, KdParseError, LineCursor, padTag, type StringPool } from './common.js';
import type { ParseResultBase } from './common.js';
import { readPrompt } from './prompt.js';

/** Outstanding allocations of one tag in one pool. */
export interface PoolCounts {
  /** `Allocs`: outstanding allocations (plain output) or allocations made (verbose output). */
  allocs: number;
  /** `Frees`: only in verbose output (`!poolused 1`). */
  frees?: number;
  /** `Used`: bytes currently allocated. */
  bytes: number;
}

/** One tag's row of the `!poolused` table. */
export interface PoolusedRow {
  /** Pool tag, 4 characters padded with spaces (`"Ggb "`). */
  tag: string;
  nonpaged: PoolCounts;
  paged: PoolCounts;
  /** pooltag.txt description printed after the numbers, when there is one. */
  description?: string;
}

/** The sort order `!poolused` announced (`Sorting by …`); null when the line is absent. */
export type PoolusedSort = 'tag' | 'nonpaged' | 'paged';

/** Everything `!poolused` printed, as data. */
export interface PoolusedResult extends ParseResultBase {
  sortedBy: PoolusedSort | null;
  /** Rows in the order kd printed them; the `TOTAL` line is never one of them. */
  rows: PoolusedRow[];
  /** The `TOTAL` line, when kd printed one. */
  total?: { nonpaged: PoolCounts; paged: PoolCounts };
}

// One numeric column under the header: its name and the column just past its last character.
interface NumericColumn {
  name: 'Allocs' | 'Frees' | 'Diff' | 'Used';
  end: number;
  pool: 'nonpaged' | 'paged';
}

// Where the header put the tag and the numbers.
interface TableLayout {
  tagColumn: number;
  columns: NumericColumn[];
}

const NUMERIC_NAMES = new Set(['Allocs', 'Frees', 'Diff', 'Used']);
// Lines of the kd cache preamble that `!poolused` triggers on a live or local target.
const PREAMBLE = [
  /^Using a machine size of [0-9a-f]+ pages to configure the kd cache$/i,
  /^\*\*\* CacheSize too low - increasing to \d+ MB$/,
  /^Max cache size is\s*:/,
  /^Total memory in cache\s*:/,
  /^Number of regions cached:/,
  /^\d+ full reads broken into \d+ partial reads$/,
  /^counts: \d+ cached\/\d+ uncached/,
  /^bytes\s*: \d+ cached\/\d+ uncached/,
  /^\*\* (Transition|Prototype) PTEs are implicitly decoded$/,
];

/** Parse `!poolused` output (either generation); throws KdParseError only when the text is not `!poolused` output at all. */
export function parsePoolused(text: string): PoolusedResult {
  return readPoolused(text, 0, text.length, undefined);
}

/**
 * parsePoolused of the output `text.slice(from, to)`, read in place in `text`, with tags and
 * descriptions interned in `pool`: what parseAuto uses, one pool per log.
 */
export function parsePoolusedAt(text: string, from: number, to: number, pool: StringPool): PoolusedResult {
  return readPoolused(text, from, to, pool);
}

// The parser proper. Lines are visited by offsets (cut as splitLines cuts them) and a table row
// is read in place; other lines are cut out as strings for their regexes.
function readPoolused(text: string, from: number, to: number, pool: StringPool | undefined): PoolusedResult {
  const result: PoolusedResult = { complete: true, unparsed: [], sortedBy: null, rows: [] };
  let layout: TableLayout | undefined;
  let poolOrder: Array<'nonpaged' | 'paged'> = ['nonpaged', 'paged'];
  let recognised = false;
  let seenContent = false;
  let lastRowFailed = false;

  for (const cursor = new LineCursor(text, from, to); cursor.next(); ) {
    const { lineStart, lineEnd, start, end } = cursor;
    if (start === end) continue;
    const first = !seenContent;
    seenContent = true;
    lastRowFailed = false;
    const lead = text.charCodeAt(start);

    if (readPrompt(text, start, end)) {
      // The echoed command opening the output is expected; any later prompt is another command.
      const line = text.slice(lineStart, lineEnd);
      if (!(first && /!poolused\b/i.test(line))) result.unparsed.push(line);
      continue;
    }
    if (layout) {
      // Rows first: a tag may itself look like an elision (`...X`) or a TOTAL.
      if (lead === 84 && /^TOTAL\s/.test(text.slice(start, end))) {
        const total = readTotal(text.slice(start, end), layout);
        if (total) {
          result.total = total;
          continue;
        }
      }
      const row = readRow(text, lineStart, lineEnd, layout, pool) ?? readRowLoosely(text.slice(lineStart, lineEnd), layout);
      if (row) {
        result.rows.push(row);
        continue;
      }
    }
    const line = text.slice(lineStart, lineEnd);
    const trimmed = text.slice(start, end);
    if (!layout && /^\.+$/.test(trimmed)) {
      // Progress dots come before the table; the same dots after it are someone's elision.
      recognised = true;
      continue;
    }
    if (isElision(trimmed)) {
      result.complete = false;
      if (!/^(\.{3,}|…+|\[\.\.\.\])$/.test(trimmed)) result.unparsed.push(line);
      continue;
    }
    if (isInterruption(trimmed)) {
      result.complete = false;
      recognised = true;
      continue;
    }
    if (PREAMBLE.some((pattern) => pattern.test(trimmed))) {
      recognised = true;
      continue;
    }
    const sorting = /^Sorting by\s+(.*)$/i.exec(trimmed);
    if (sorting) {
      recognised = true;
      result.sortedBy = readSort(sorting[1]!);
      if (result.sortedBy === null) result.unparsed.push(line);
      continue;
    }
    if (/^Pool Used:$/i.test(trimmed)) {
      recognised = true;
      continue;
    }
    if (/^(NonPaged|Paged)\s+(NonPaged|Paged)$/i.test(trimmed)) {
      recognised = true;
      poolOrder = trimmed.split(/\s+/).map((word) => (/^nonpaged$/i.test(word) ? 'nonpaged' : 'paged'));
      continue;
    }
    const header = readHeader(line, poolOrder);
    if (header) {
      recognised = true;
      layout = header;
      continue;
    }
    if (layout) lastRowFailed = true;
    result.unparsed.push(line);
  }

  if (!recognised) {
    throw new KdParseError('poolused', 'Expected !poolused output (a "Tag Allocs … Used" header), got none');
  }
  // A table that never started, or whose last line is not a row, was cut off.
  if (!layout || lastRowFailed) result.complete = false;
  return result;
}

// Map the words after `Sorting by` to the sort key; null when kd said something new.
function readSort(words: string): PoolusedSort | null {
  if (/^NonPaged\b/i.test(words)) return 'nonpaged';
  if (/^Paged\b/i.test(words)) return 'paged';
  if (/^Tag\b/i.test(words)) return 'tag';
  return null;
}

// Read the `Tag Allocs Used Allocs Used` (or verbose) header into column positions.
function readHeader(line: string, poolOrder: Array<'nonpaged' | 'paged'>): TableLayout | undefined {
  if (!/^\s*Tag\s/.test(line)) return undefined;
  const words = [...line.matchAll(/\S+/g)];
  if (words.length < 5 || words[0][0] !== 'Tag') return undefined;
  const columns: NumericColumn[] = [];
  let group = 0;
  const seenInGroup = new Set<string>();
  for (const word of words.slice(1)) {
    const name = word[0];
    if (!NUMERIC_NAMES.has(name)) return undefined;
    if (seenInGroup.has(name)) {
      group += 1;
      seenInGroup.clear();
    }
    seenInGroup.add(name);
    const pool = poolOrder[group];
    if (pool === undefined) return undefined;
    columns.push({ name: name as NumericColumn['name'], end: word.index + name.length, pool });
  }
  const complete = (['nonpaged', 'paged'] as const).every(
    (pool) =>
      columns.some((column) => column.pool === pool && column.name === 'Allocs') &&
      columns.some((column) => column.pool === pool && column.name === 'Used'),
  );
  return complete ? { tagColumn: words[0].index, columns } : undefined;
}

// Read one row [lineStart, lineEnd) by column position: tag under `Tag`, numbers right-aligned
// under their words, each number put straight into its pool's counts.
function readRow(text: string, lineStart: number, lineEnd: number, layout: TableLayout, pool: StringPool | undefined): PoolusedRow | undefined {
  const { columns } = layout;
  const tagStart = lineStart + layout.tagColumn;
  if (lineEnd - lineStart < layout.tagColumn + 4) return undefined;
  for (let index = lineStart; index < tagStart; index++) if (!isTrimSpace(text.charCodeAt(index))) return undefined;
  let blankTag = true;
  for (let index = tagStart; index < tagStart + 4; index++) {
    const code = text.charCodeAt(index);
    if (code === 9) return undefined;
    if (!isTrimSpace(code)) blankTag = false;
  }
  if (blankTag) return undefined;

  const nonpaged: PoolCounts = { allocs: 0, bytes: 0 };
  const paged: PoolCounts = { allocs: 0, bytes: 0 };
  let position = tagStart + 4;
  // How far numbers wider than their column pushed everything after them to the right.
  let shift = 0;
  let previousEnd = position;
  for (let index = 0; index < columns.length; index += 1) {
    if (position >= lineEnd || text.charCodeAt(position) !== 32) return undefined;
    while (position < lineEnd && text.charCodeAt(position) === 32) position += 1;
    const start = position;
    if (position < lineEnd && text.charCodeAt(position) === 45) position += 1;
    while (position < lineEnd && isDigit(text.charCodeAt(position))) position += 1;
    if (position === start || text.charCodeAt(position - 1) === 45) return undefined;
    const column = columns[index]!;
    const expectedEnd = lineStart + column.end + shift;
    const last = index === columns.length - 1;
    const followedBy = position < lineEnd ? text.charCodeAt(position) : -1;
    if (last && position > expectedEnd && start < expectedEnd && start > previousEnd + 1 && followedBy !== 9 && followedBy !== -1) {
      // Old generation: a description starting with a digit is glued onto a padded last number.
      position = expectedEnd;
    } else if (position > expectedEnd) {
      shift += position - expectedEnd;
    }
    // Pool counters fit in 15 digits; a longer run is not a number kd printed.
    if (position - start > 15) return undefined;
    const value = numberAt(text, start, position);
    const target = column.pool === 'nonpaged' ? nonpaged : paged;
    if (column.name === 'Allocs') target.allocs = value;
    else if (column.name === 'Frees') target.frees = value;
    else if (column.name === 'Used') target.bytes = value;
    previousEnd = position;
  }
  const tag = pool ? pool.take(text, tagStart, tagStart + 4) : text.slice(tagStart, tagStart + 4);
  const row: PoolusedRow = { tag, nonpaged, paged };
  let descriptionStart = position;
  let descriptionEnd = lineEnd;
  while (descriptionStart < descriptionEnd && isTrimSpace(text.charCodeAt(descriptionStart))) descriptionStart++;
  while (descriptionEnd > descriptionStart && isTrimSpace(text.charCodeAt(descriptionEnd - 1))) descriptionEnd--;
  if (descriptionEnd > descriptionStart && !isUnknownTagNote(text, descriptionStart)) row.description = pool ? pool.take(text, descriptionStart, descriptionEnd) : text.slice(descriptionStart, descriptionEnd);
  return row;
}

// kd's `UNKNOWN pooltag 'Abcd', please update pooltag.txt` in the description column says it has none.
function isUnknownTagNote(text: string, at: number): boolean {
  return text.startsWith("UNKNOWN pooltag '", at) && /^UNKNOWN pooltag '.{1,4}', please update pooltag\b/.test(text.slice(at, at + 64));
}

// Number() of an optionally signed run of at most 15 digits, without cutting it out.
function numberAt(text: string, start: number, end: number): number {
  let index = start;
  const negative = text.charCodeAt(index) === 45;
  if (negative) index++;
  if (index === end) return Number.NaN;
  let value = 0;
  for (; index < end; index++) value = value * 10 + (text.charCodeAt(index) - 48);
  return negative ? -value : value;
}

// Fallback for rows whose leading blanks were stripped (published logs): tag, then numbers.
function readRowLoosely(line: string, layout: TableLayout): PoolusedRow | undefined {
  const match = /^\s*(\S{1,4})((?:\s+-?\d+)+)(?:\t(.*)|\s*)$/.exec(line);
  if (!match) return undefined;
  const values = readCounters(match[2], layout);
  if (!values) return undefined;
  return buildRow(padTag(match[1]), layout.columns, values, (match[3] ?? '').trim());
}

// Read the closing `TOTAL` line, which has the same numbers as a row and no tag.
function readTotal(trimmed: string, layout: TableLayout): PoolusedResult['total'] | undefined {
  const match = /^TOTAL((?:\s+-?\d+)+)\s*$/.exec(trimmed);
  if (!match) return undefined;
  const values = readCounters(match[1], layout);
  if (!values) return undefined;
  const { nonpaged, paged } = buildRow('TOTA', layout.columns, values, '');
  return { nonpaged, paged };
}

// Blank-separated counters, one per header column; none longer than the 15 digits kd's counters use.
function readCounters(text: string, layout: TableLayout): number[] | undefined {
  const words = text.trim().split(/\s+/);
  if (words.length !== layout.columns.length || words.some((word) => word.length > 15)) return undefined;
  return words.map(Number);
}

// Assemble a row from values in header order; `Diff` is Allocs − Frees and is not kept.
function buildRow(tag: string, columns: NumericColumn[], values: number[], description: string): PoolusedRow {
  const counts = { nonpaged: { allocs: 0, bytes: 0 } as PoolCounts, paged: { allocs: 0, bytes: 0 } as PoolCounts };
  columns.forEach((column, index) => {
    const target = counts[column.pool];
    if (column.name === 'Allocs') target.allocs = values[index];
    else if (column.name === 'Frees') target.frees = values[index];
    else if (column.name === 'Used') target.bytes = values[index];
  });
  const row: PoolusedRow = { tag, nonpaged: counts.nonpaged, paged: counts.paged };
  if (description !== '' && !isUnknownTagNote(description, 0)) row.description = description;
  return row;
}

// True for an elision a person put in a published log (`...`, `……`, `[...]`, `... more`).
function isElision(trimmed: string): boolean {
  return /^(\.{3,}|…|\[\.\.\.\])/.test(trimmed) && !isInterruption(trimmed);
}

// True for kd's notice that the user broke into a running extension.
function isInterruption(trimmed: string): boolean {
  return /^(\.\.\.)?terminating\b/i.test(trimmed) || /^\^C$/.test(trimmed) || /^interrupted\b/i.test(trimmed);
}

// ASCII digit test without a regex per character.
function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}
