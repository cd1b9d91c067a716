/**
 * Read a saved kd log (prompt + command + output, again and again) command by command: for every
 * command its line, prompt, command text, output, kd's error reply and what the parser for its
 * kind made of the output. The reader takes the log a line at a time and hands each command on
 * as soon as the next prompt ends it, so a log of any size is read in memory bounded by its
 * largest single output: `readKdLogFile` streams a file, `scanKdLog` reads a string.
 */
import { createReadStream } from 'node:fs';
import type { AutoEntry, AutoResult } from './auto.js';
import { NO_STOP_MESSAGE, tryParseBreak } from './break.js';
import { isTrimSpace, KdParseError, StringPool, type ParseResultBase } from './common.js';
import { matchKdErrorLine, type KdErrorInfo } from './errors.js';
import { getParser } from './index.js';
import { parsePoolusedAt } from './poolused.js';
import { readPrompt } from './prompt.js';
import { parseStackAt } from './stack.js';
import { kindForCommand, QuotePrefixFinder, transcriptHeaderEnd, unquoteLine } from './transcript.js';

/** What the log says as a whole once every command is read (the head of parseAuto's result). */
export interface KdLogSummary {
  /** False when some output was cut, elided or not understood. */
  complete: boolean;
  /** Every output's `unparsed` lines, in order. */
  unparsed: string[];
}

/** How a log is read. */
export interface KdLogOptions {
  /**
   * Whether to parse an entry's output (default: all). Asked when the entry is complete, after
   * every earlier entry was handed on, so a reader can skip what it will not read; a skipped
   * entry keeps its kind but gets no result.
   */
  parse?: (entry: AutoEntry) => boolean;
  /** Keep every output's unparsed lines for the summary (default true). */
  keepUnparsed?: boolean;
}

// The text before the first prompt is a connect banner when it shows one of these.
const BANNER = /Kernel Version \d+|^Connected to Windows /m;

/** A stop line in the output of a command that is not go-class (a break-in during `.sleep`). */
export const STOP_LINE = /^(?:.+ - code [0-9a-fA-F]{8} \((?:first|second) chance\)|Breakpoint \d+ hit|\*\*\* Fatal System Error: 0x[0-9a-fA-F]+)$/m;
// Literal pieces every stop line has: most lines are passed over by this one search.
const STOP_PIECE = / chance\)|Breakpoint \d+ hit|\*\*\* Fatal System Error: 0x/;

// True when the text holds a stop line.
function hasStopLine(text: string): boolean {
  return STOP_PIECE.test(text) && STOP_LINE.test(text);
}

/**
 * The command reader: give it the log's lines (header and quoting already removed, no line
 * breaks) with `line`, and it calls `onEntry` with each command as the next prompt (or `finish`)
 * ends it. Throws nothing while reading; `finish` throws KdParseError when no prompt was met.
 */
export class KdLogReader {
  private readonly pool = new StringPool();
  private readonly wanted: (entry: AutoEntry) => boolean;
  private readonly keepUnparsed: boolean;
  private readonly summary: KdLogSummary = { complete: true, unparsed: [] };
  private prompts = 0;
  private lineNumber = 0;
  // The command being read: the text before the first prompt until a prompt is met.
  private line = 1;
  private prompt: string | undefined;
  private command = '';
  private commandKind: string | undefined;
  private processor: number | undefined;
  private repeated = false;
  private output: string[] = [];
  private error: KdErrorInfo | undefined;
  private stopSeen = false;
  // The last command typed, which an empty prompt line repeats, and its kind.
  private lastCommand = '';
  private lastCommandKind: string | undefined;

  constructor(
    private readonly onEntry: (entry: AutoEntry) => void,
    options: KdLogOptions = {},
  ) {
    this.wanted = options.parse ?? (() => true);
    this.keepUnparsed = options.keepUnparsed ?? true;
  }

  /** Read the next line of the log (without its line break; a `\r` before it is dropped). */
  push(raw: string): void {
    const text = raw.length > 0 && raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    this.lineNumber++;
    const at = promptStart(text);
    const prompt = at < 0 ? undefined : readPrompt(text, at, text.length);
    if (prompt) {
      this.prompts++;
      this.finishEntry();
      const typed = text.slice(prompt.end).trim();
      this.line = this.lineNumber;
      this.prompt = text.slice(at, prompt.end);
      this.processor = prompt.processor;
      this.repeated = typed === '' && this.lastCommand !== '';
      const typedKind = typed === '' ? undefined : kindForCommand(typed);
      this.commandKind = this.repeated ? this.lastCommandKind : typedKind;
      this.command = this.repeated ? this.lastCommand : typed;
      if (typed !== '') {
        this.lastCommand = typed;
        this.lastCommandKind = typedKind;
      }
      this.output = [];
      this.error = undefined;
      this.stopSeen = false;
      return;
    }
    this.output.push(text);
    // kd's error reply: the first line of the output that is one (parseKdError's rule). Most
    // lines are passed over on their first and last characters before mayBeErrorReply runs.
    if (this.error === undefined && text.length > 0 && mayBeErrorLine(text)) {
      this.error = matchKdErrorLine(text, this.prompt === undefined ? this.lineNumber : this.lineNumber - this.line);
    }
    // A stop in the output of a command that has no parser (a break-in during `.sleep`).
    if (this.commandKind === undefined && this.prompt !== undefined && !this.stopSeen) this.stopSeen = hasStopLine(text);
  }

  /** End of the log: hand on the last command. Throws KdParseError when the log had no prompt. */
  finish(): KdLogSummary {
    this.finishEntry();
    this.output = [];
    if (this.prompts === 0) throw new KdParseError('auto', 'No kd prompt found: expected lines like "kd> command" or "0: kd> command"');
    return this.summary;
  }

  // Hand on the command being read, its output parsed by the parser its kind calls for.
  private finishEntry(): void {
    const lines = this.output;
    let kind = this.commandKind;
    const output = lines.join('\n');
    if (this.prompt === undefined) {
      if (lines.length === 0 || isBlank(output)) return;
      kind = BANNER.test(output) ? 'banner' : hasStopLine(output) ? 'break' : undefined;
    } else if (kind === undefined && this.stopSeen) kind = 'break';
    const entry: AutoEntry = this.prompt === undefined ? { line: this.line, command: this.command, output } : { line: this.line, prompt: this.prompt, command: this.command, output };
    if (this.processor !== undefined) entry.processor = this.processor;
    if (this.repeated) entry.repeated = true;
    if (this.error) entry.error = this.error;
    if (kind !== undefined && getParser(kind) === undefined) kind = undefined;
    if (kind !== undefined) {
      entry.kind = kind;
      if (lines.length > 0 && !isBlank(output) && this.wanted(entry)) this.parse(entry, kind, output);
    }
    this.onEntry(entry);
  }

  // Parse one output into the entry: the parser's result, or why it rejected the output.
  private parse(entry: AutoEntry, kind: string, output: string): void {
    let result: ParseResultBase | undefined;
    try {
      if (kind === 'break') {
        // A command is empty only while none has been typed: a stop with no go command before it.
        result = tryParseBreak(output, { command: entry.command === '' ? undefined : entry.command });
        if (!result) entry.parseError = { code: 'KD_PARSE_ERROR', message: NO_STOP_MESSAGE };
      } else if (kind === 'stack') result = parseStackAt(output, 0, output.length, this.pool);
      else if (kind === 'poolused') result = parsePoolusedAt(output, 0, output.length, this.pool);
      else result = getParser(kind)!.parse(output);
    } catch (caught) {
      if (!(caught instanceof KdParseError)) throw caught;
      entry.parseError = { code: caught.code, message: caught.message };
    }
    if (result) {
      entry.result = result;
      if (!result.complete) this.summary.complete = false;
      if (this.keepUnparsed) for (const line of result.unparsed) this.summary.unparsed.push(line);
    } else this.summary.complete = false;
  }
}

/**
 * Undo a transcript's header and quoting line by line, as prepareTranscript does for a whole
 * text: the header is found among the first lines, and the quoting prefix (found beforehand by a
 * QuotePrefixFinder, since every line must share it) is cut from each line. `push` returns what
 * the sink returns (false: stop reading).
 */
class TranscriptLines {
  private head: string[] | undefined = [];

  constructor(
    private readonly sink: (line: string) => boolean | void,
    private readonly quote: string | undefined,
  ) {}

  push(line: string): boolean {
    if (this.head === undefined) return this.emit(line);
    this.head.push(line);
    const end = transcriptHeaderEnd(this.head, false);
    return end === undefined ? true : this.release(end);
  }

  finish(): void {
    if (this.head !== undefined) this.release(transcriptHeaderEnd(this.head, true)!);
  }

  // Hand on the lines after the header's end (0 when there is none).
  private release(from: number): boolean {
    const head = this.head!;
    this.head = undefined;
    for (let index = from; index < head.length; index++) if (!this.emit(head[index]!)) return false;
    return true;
  }

  private emit(line: string): boolean {
    return this.sink(this.quote === undefined ? line : unquoteLine(line, this.quote)) !== false;
  }
}

// A log is read twice: once for the quoting prefix every line shares (most logs stop at their
// first line of content), then into a KdLogReader. These are the two passes' line sinks.
function quotingPass(): { lines: TranscriptLines; prefix: () => string | undefined } {
  const finder = new QuotePrefixFinder();
  const lines = new TranscriptLines((line) => finder.push(line), undefined);
  return {
    lines,
    prefix: () => {
      lines.finish();
      return finder.result();
    },
  };
}

function readingPass(onEntry: (entry: AutoEntry) => void, options: KdLogOptions, quote: string | undefined): { lines: TranscriptLines; finish: () => KdLogSummary } {
  const reader = new KdLogReader(onEntry, options);
  const lines = new TranscriptLines((line) => reader.push(line), quote);
  return {
    lines,
    finish: () => {
      lines.finish();
      return reader.finish();
    },
  };
}

// Call `onLine` for every line of `text` (a final empty line is not one).
function eachLine(text: string, onLine: (line: string) => boolean | void): void {
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    if (onLine(text.slice(start, end)) === false) return;
    start = end + 1;
  }
}

/**
 * Read a saved kd log held in a string, calling `onEntry` for each command in order; returns the
 * summary. Throws KdParseError when the log has no prompt at all.
 */
export function readKdLogText(text: string, onEntry: (entry: AutoEntry) => void, options: KdLogOptions = {}): KdLogSummary {
  const quoting = quotingPass();
  eachLine(text, (line) => quoting.lines.push(line));
  const reading = readingPass(onEntry, options, quoting.prefix());
  eachLine(text, (line) => reading.lines.push(line));
  return reading.finish();
}

/** How a file is read, besides KdLogOptions. */
export interface KdLogFileOptions extends KdLogOptions {
  /** Default utf8; a `.logopen` log written by kd in the console's code page reads as latin1. */
  encoding?: BufferEncoding;
  /** Awaited after each chunk of the file: a writer's backpressure (`once(stdout, 'drain')`). */
  drain?: () => Promise<unknown> | undefined;
}

/** Call `onLine` with every line of a file read as a stream in `encoding` (a final empty line is not one); false from onLine stops the reading. */
export async function readFileLines(path: string, encoding: BufferEncoding, onLine: (line: string) => boolean | void, drain?: KdLogFileOptions['drain']): Promise<void> {
  const stream = createReadStream(path, { encoding, highWaterMark: 1 << 20 });
  let rest = '';
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let start = 0;
      let newline = chunk.indexOf('\n');
      if (newline >= 0 && rest !== '') {
        const line = rest + chunk.slice(0, newline);
        rest = '';
        if (onLine(line) === false) return;
        start = newline + 1;
        newline = chunk.indexOf('\n', start);
      }
      while (newline >= 0) {
        if (onLine(chunk.slice(start, newline)) === false) return;
        start = newline + 1;
        newline = chunk.indexOf('\n', start);
      }
      rest += chunk.slice(start);
      await drain?.();
    }
    if (rest !== '') onLine(rest);
  } finally {
    stream.destroy();
  }
}

/**
 * Read a saved kd log given as lines: `each` calls its argument with every line of the log, in
 * order, and stops when it returns false; it is called twice (once to find a quoting prefix
 * every line shares, most logs stop at their first line). Calls `onEntry` for each command in
 * order; returns the summary. Throws KdParseError when the log has no prompt at all.
 */
export async function readKdLogLines(each: (onLine: (line: string) => boolean) => Promise<void>, onEntry: (entry: AutoEntry) => void, options: KdLogOptions = {}): Promise<KdLogSummary> {
  const quoting = quotingPass();
  await each((line) => quoting.lines.push(line));
  const reading = readingPass(onEntry, options, quoting.prefix());
  await each((line) => reading.lines.push(line));
  return reading.finish();
}

/**
 * Read a saved kd log file as a stream, calling `onEntry` for each command in order; returns the
 * summary. Memory is bounded by the largest single output (and what onEntry keeps).
 */
export async function readKdLogFile(path: string, onEntry: (entry: AutoEntry) => void, options: KdLogFileOptions = {}): Promise<KdLogSummary> {
  const encoding = options.encoding ?? 'utf8';
  return readKdLogLines((onLine) => readFileLines(path, encoding, onLine, options.drain), onEntry, options);
}

/** A kd log read into memory: every command with its output and result. Build one with scanKdLog. */
export class KdLog {
  constructor(
    readonly entries: readonly AutoEntry[],
    readonly summary: KdLogSummary,
  ) {}

  /** False when some output was cut, elided or not understood (the `complete` of parseAuto). */
  get complete(): boolean {
    return this.summary.complete;
  }

  /** Number of entries (commands, and the text before the first prompt when there is any). */
  get size(): number {
    return this.entries.length;
  }

  /** Entry `index` as parseAuto returns it. */
  entry(index: number): AutoEntry {
    return this.entries[index]!;
  }

  /** 1-based line of entry `index`'s prompt. */
  line(index: number): number {
    return this.entries[index]!.line;
  }

  /** The prompt as printed; undefined for the text before the first prompt. */
  prompt(index: number): string | undefined {
    return this.entries[index]!.prompt;
  }

  /** The command (the last one again when the prompt line was empty). */
  command(index: number): string {
    return this.entries[index]!.command;
  }

  /** The parser kind used for the output, when one applies. */
  kind(index: number): string | undefined {
    return this.entries[index]!.kind;
  }

  /** The output, lines joined with `\n`. */
  output(index: number): string {
    return this.entries[index]!.output;
  }

  /** kd's error reply in the output, when the command failed. */
  error(index: number): KdErrorInfo | undefined {
    return this.entries[index]!.error;
  }

  /** The parsed output as the kind's parser returns it; undefined when there is none. */
  result(index: number): ParseResultBase | undefined {
    return this.entries[index]!.result;
  }

  /** Why the kind's parser rejected the output, when it did. */
  parseError(index: number): { code: string; message: string } | undefined {
    return this.entries[index]!.parseError;
  }

  /** The whole log as parseAuto returns it. */
  toAutoResult(): AutoResult {
    return { complete: this.summary.complete, unparsed: this.summary.unparsed, entries: [...this.entries] };
  }
}

/** Split a saved kd log held in a string into commands and parse each output. Throws KdParseError when the log has no prompt at all. */
export function scanKdLog(text: string): KdLog {
  const entries: AutoEntry[] = [];
  const summary = readKdLogText(text, (entry) => entries.push(entry));
  return new KdLog(entries, summary);
}

/**
 * The JSON of a parseAuto result (as JSON.stringify with `indent` writes it) in pieces: `open`
 * (the summary and the start of the entries), one `entry` each, then `close`. A large log is
 * printed entry by entry without its whole text ever being built.
 */
export function autoResultJson(summary: KdLogSummary, indent?: number): { open: string; entry: (entry: AutoEntry, first: boolean) => string; close: (empty: boolean) => string } {
  const head = JSON.stringify({ complete: summary.complete, unparsed: summary.unparsed, entries: [] }, null, indent);
  // The head ends with `[]` and, when indented, a line break before the closing brace.
  const at = head.lastIndexOf('[]');
  const margin = indent ? `\n${' '.repeat(indent * 2)}` : '';
  return {
    open: head.slice(0, at + 1),
    entry: (entry, first) => {
      const json = JSON.stringify(entry, null, indent);
      return (first ? '' : ',') + margin + (indent ? json.replace(/\n/g, margin) : json);
    },
    close: (empty) => (empty || !indent ? '' : `\n${' '.repeat(indent)}`) + head.slice(at + 1),
  };
}

// mayBeErrorReply for a line that is not empty, by its commonest cases first: a line ending in
// another character than a blank can only be a reply by its last word or by `Unable to get `.
function mayBeErrorLine(text: string): boolean {
  const end = text.length;
  const last = text.charCodeAt(end - 1);
  if (mayBeBlank(last)) return mayBeErrorReply(text, 0, end);
  if (last === 39 || (last === 100 && (endsAt(text, end, 0, 'found') || endsAt(text, end, 0, 'command')))) return true;
  let first = 0;
  let code = text.charCodeAt(first);
  // The line ends in a non-blank, so this stops inside it.
  while (code === 32) code = text.charCodeAt(++first);
  if (code === 85) return text.startsWith('Unable to get ', first);
  return code === 94 || mayBeBlank(code) ? mayBeErrorReply(text, 0, end) : false;
}

// A cheap superset of isTrimSpace: control characters, space, and everything from U+00A0 on.
function mayBeBlank(code: number): boolean {
  return code <= 32 || code >= 0xa0;
}

// True when the text holds only white space (what /\S/ finds nothing in).
function isBlank(text: string): boolean {
  for (let index = 0; index < text.length; index++) if (!isTrimSpace(text.charCodeAt(index))) return false;
  return true;
}

// Where a prompt can start in the line: after at most two spaces, when what follows is not blank
// (a published log may indent a prompt; kd output never starts that way); -1 otherwise.
function promptStart(text: string): number {
  let at = 0;
  if (text.charCodeAt(at) === 32) {
    at++;
    if (text.charCodeAt(at) === 32) at++;
    if (at >= text.length || isTrimSpace(text.charCodeAt(at))) return -1;
  }
  return at < text.length ? at : -1;
}

/**
 * A necessary condition for matchKdErrorLine (src/kd/errors.ts) on the line [start, end): every
 * reply ends, once trimmed, with a quote (`... error in 'x'`), `found` or `command`, or begins
 * with `Unable to get ` (after an optional caret `^ `). Most lines fail on two reads.
 */
export function mayBeErrorReply(text: string, start: number, end: number): boolean {
  let last = end - 1;
  while (last >= start && isTrimSpace(text.charCodeAt(last))) last--;
  if (last < start) return false;
  const final = text.charCodeAt(last);
  if (final === 39) return true;
  if (final === 100 && (endsAt(text, last + 1, start, 'found') || endsAt(text, last + 1, start, 'command'))) return true;
  let first = start;
  while (isTrimSpace(text.charCodeAt(first))) first++;
  if (text.charCodeAt(first) === 94 && text.charCodeAt(first + 1) === 32) {
    first += 2;
    while (first < last && isTrimSpace(text.charCodeAt(first))) first++;
  }
  return text.charCodeAt(first) === 85 && text.startsWith('Unable to get ', first);
}

// True when text[.., end) ends with `word`, not reaching before `start`.
function endsAt(text: string, end: number, start: number, word: string): boolean {
  return end - word.length >= start && text.startsWith(word, end - word.length);
}
