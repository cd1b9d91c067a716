/**
 * Columns for the scanned form of a kd log (src/kd/log.ts): each parsed output is kept as rows
 * of numbers — offsets into the log for every piece of text, values for every number — instead
 * of one object and a few strings per frame, row and register. A 50 MB log parses into a few
 * dozen typed arrays rather than millions of small objects, and each result is turned into the
 * object the kind's parser returns (`result(row)`) only when someone asks for it.
 */
import type { ParseResultBase } from './common.js';

/** A growable column of 32-bit signed integers (offsets, lengths, counts, flags). */
export class Int32Column {
  data: Int32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Int32Array(capacity);
  }

  /** Append one value; returns its row. */
  push(value: number): number {
    if (this.length === this.data.length) this.grow();
    this.data[this.length] = value;
    return this.length++;
  }

  /** The value at `row` (no bounds check beyond the typed array's). */
  at(row: number): number {
    return this.data[row]!;
  }

  /** Overwrite the value at an existing row. */
  set(row: number, value: number): void {
    this.data[row] = value;
  }

  /** Drop every row from `length` on (a scan that gave up undoes what it appended). */
  truncate(length: number): void {
    if (length < this.length) this.length = length;
  }

  // Doubling keeps appends amortised O(1); the old array is left to the collector.
  private grow(): void {
    const next = new Int32Array(this.data.length * 2);
    next.set(this.data);
    this.data = next;
  }
}

/**
 * A growable column of doubles (numbers that may exceed 32 bits, such as byte counts). The same
 * code as Int32Column on purpose: one class per element type keeps every push and read site
 * monomorphic, where a shared generic class would see both array kinds at each site.
 */
export class Float64Column {
  data: Float64Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Float64Array(capacity);
  }

  /** Append one value; returns its row. */
  push(value: number): number {
    if (this.length === this.data.length) this.grow();
    this.data[this.length] = value;
    return this.length++;
  }

  /** The value at `row`. */
  at(row: number): number {
    return this.data[row]!;
  }

  /** Overwrite the value at an existing row. */
  set(row: number, value: number): void {
    this.data[row] = value;
  }

  /** Drop every row from `length` on. */
  truncate(length: number): void {
    if (length < this.length) this.length = length;
  }

  // Doubling, as in Int32Column.
  private grow(): void {
    const next = new Float64Array(this.data.length * 2);
    next.set(this.data);
    this.data = next;
  }
}

/** `scan` returns this when the output has a shape the table does not hold: the object parser reads it instead. */
export const FALLBACK = -1;

/** `scan` returns this when the kind's parser would find no result at all (a go command's output without a stop). */
export const NO_RESULT = -2;

/**
 * The scanned form of one kind of output (stacks, `!poolused`, stops). A table holds the results
 * of every output of its kind in one log, as columns.
 */
export interface ColumnTable<R extends ParseResultBase> {
  /**
   * Read the output `text[from, to)` into the table. Returns the new result's row, FALLBACK when
   * the output has a shape this table does not hold (nothing of it is kept), or NO_RESULT.
   * Never throws for any text; the object parser decides what to throw.
   * `command` is the go command the output answers, for tables that need it (stops).
   */
  scan(text: string, from: number, to: number, command: string): number;
  /** The result at `row`, equal (key order included) to what the kind's object parser returns for the same output. */
  result(text: string, row: number): R;
  /** The result's `complete` flag, without building the result. */
  complete(row: number): boolean;
  /** The result's `unparsed` lines, without building the rest of it. */
  unparsed(text: string, row: number): string[];
  /** How many results the table holds. */
  readonly size: number;
}
