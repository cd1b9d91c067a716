/**
 * Scan a saved kd log (prompt + command + output, again and again): for every command its line,
 * prompt, command text, the span of its output in the log, kd's error reply and what the parser
 * for its kind made of the output. Every output is parsed during the scan; `entry(i)` only builds
 * the object form (AutoEntry) of what was found.
 */
import type { AutoEntry, AutoResult } from './auto.js';
import { NO_STOP_MESSAGE, tryParseBreak } from './break.js';
import { isTrimSpace, KdParseError, StringPool, type ParseResultBase } from './common.js';
import { matchKdErrorLine, type KdErrorInfo } from './errors.js';
import { getParser, type KdParserInfo } from './index.js';
import { parsePoolusedAt } from './poolused.js';
import { mayStartPromptAt } from './prompt.js';
import { parseStackAt } from './stack.js';
import { kindForCommand, prepareTranscript } from './transcript.js';

// Where an entry's result lives.
const NO_PARSE = 0;
const AS_OBJECT = 2;
const PARSE_FAILED = 3;

// Entry flags.
const REPEATED = 1;

/** A kd log scanned into entries; see the module comment. Build one with scanKdLog. */
export class KdLog {
  /** The log as scanned: transcript header and quoting removed, `\r\n` turned into `\n`. */
  readonly source: string;
  /** False when some output was cut, elided or not understood (the `complete` of parseAuto). */
  complete = true;

  // One row per entry.
  private readonly lines: number[] = [];
  private readonly processors: number[] = [];
  private readonly flags: number[] = [];
  private readonly outputFrom: number[] = [];
  private readonly outputTo: number[] = [];
  private readonly resultWhere: number[] = [];
  private readonly resultRow: number[] = [];
  // Interned strings: a log repeats a handful of prompts, commands and kinds.
  private readonly prompts: (string | undefined)[] = [];
  private readonly commands: string[] = [];
  private readonly kinds: (string | undefined)[] = [];
  // Results of the object parsers and their rejections; kd's error replies (few in any log).
  private readonly objects: unknown[] = [];
  private readonly errors = new Map<number, KdErrorInfo>();

  constructor(source: string) {
    this.source = source;
  }

  /** Number of entries (commands, and the text before the first prompt when there is any). */
  get size(): number {
    return this.lines.length;
  }

  /** 1-based line of entry `index`'s prompt. */
  line(index: number): number {
    return this.lines[index]!;
  }

  /** The prompt as printed; undefined for the text before the first prompt. */
  prompt(index: number): string | undefined {
    return this.prompts[index];
  }

  /** The command (the last one again when the prompt line was empty). */
  command(index: number): string {
    return this.commands[index]!;
  }

  /** The parser kind used for the output, when one applies. */
  kind(index: number): string | undefined {
    return this.kinds[index];
  }

  /** The output's span [from, to) in `source`; from is -1 when the command printed nothing. */
  outputSpan(index: number): [number, number] {
    return [this.outputFrom[index]!, this.outputTo[index]!];
  }

  /** The output, lines joined with `\n`. */
  output(index: number): string {
    const from = this.outputFrom[index]!;
    return from < 0 ? '' : this.source.slice(from, this.outputTo[index]!);
  }

  /** kd's error reply in the output, when the command failed. */
  error(index: number): KdErrorInfo | undefined {
    return this.errors.get(index);
  }

  /** The parsed output as the kind's parser returns it; undefined when there is none. */
  result(index: number): ParseResultBase | undefined {
    const where = this.resultWhere[index]!;
    return where === AS_OBJECT ? (this.objects[this.resultRow[index]!] as ParseResultBase) : undefined;
  }

  /** Why the kind's parser rejected the output, when it did. */
  parseError(index: number): { code: string; message: string } | undefined {
    return this.resultWhere[index]! === PARSE_FAILED ? (this.objects[this.resultRow[index]!] as { code: string; message: string }) : undefined;
  }

  /** Entry `index` as parseAuto returns it. */
  entry(index: number): AutoEntry {
    const prompt = this.prompts[index];
    const entry: AutoEntry =
      prompt === undefined
        ? { line: this.lines[index]!, command: this.commands[index]!, output: this.output(index) }
        : { line: this.lines[index]!, prompt, command: this.commands[index]!, output: this.output(index) };
    const processor = this.processors[index]!;
    if (processor >= 0) entry.processor = processor;
    if (this.flags[index]! & REPEATED) entry.repeated = true;
    const error = this.errors.get(index);
    if (error) entry.error = error;
    const kind = this.kinds[index];
    if (kind !== undefined) entry.kind = kind;
    const result = this.result(index);
    if (result) entry.result = result;
    const parseError = this.parseError(index);
    if (parseError) entry.parseError = parseError;
    return entry;
  }

  /** Every entry's `unparsed` lines, in order. */
  unparsed(): string[] {
    const lines: string[] = [];
    for (let index = 0; index < this.size; index++) {
      const where = this.resultWhere[index]!;
      if (where === AS_OBJECT) lines.push(...(this.objects[this.resultRow[index]!] as ParseResultBase).unparsed);
    }
    return lines;
  }

  /** The whole log as parseAuto returns it. */
  toAutoResult(): AutoResult {
    const entries: AutoEntry[] = [];
    for (let index = 0; index < this.size; index++) entries.push(this.entry(index));
    return { complete: this.complete, unparsed: this.unparsed(), entries };
  }

  /**
   * The JSON of toAutoResult() (as JSON.stringify with `indent` writes it), in pieces of one entry
   * each: a large log is printed without building all its entries at once.
   */
  *json(indent?: number): Generator<string> {
    const head = JSON.stringify({ complete: this.complete, unparsed: this.unparsed(), entries: [] }, null, indent);
    if (this.size === 0) {
      yield head;
      return;
    }
    // The head ends with `[]` and, when indented, a line break before the closing brace.
    const close = head.lastIndexOf('[]');
    yield head.slice(0, close + 1);
    const margin = indent ? `\n${' '.repeat(indent * 2)}` : '';
    for (let index = 0; index < this.size; index++) {
      const entry = JSON.stringify(this.entry(index), null, indent);
      yield (index === 0 ? '' : ',') + margin + (indent ? entry.replace(/\n/g, margin) : entry);
    }
    yield (indent ? `\n${' '.repeat(indent)}` : '') + head.slice(close + 1);
  }

  // Add an entry the scanner has read and parse its output with the parser for `kind` (decided by
  // the scanner), keeping kd's error reply.
  addEntry(line: number, prompt: string | undefined, command: string, processor: number, repeated: boolean, from: number, to: number, kind: string | undefined, error: KdErrorInfo | undefined, pool: StringPool): void {
    const index = this.lines.length;
    if (error) this.errors.set(index, error);
    let where = NO_PARSE;
    let row = 0;
    let kept = kind;
    if (kind !== undefined && !isBlank(this.source, from, from < 0 ? from : to)) {
      const parser = getParser(kind);
      if (parser === undefined) kept = undefined;
      else {
        where = this.parseOutput(kind, parser, command, from, to, pool) ? AS_OBJECT : PARSE_FAILED;
        row = this.objects.length - 1;
      }
    }
    this.prompts.push(prompt);
    this.commands.push(command);
    this.kinds.push(kept);
    this.processors.push(processor);
    this.flags.push(repeated ? REPEATED : 0);
    this.outputFrom.push(from);
    this.outputTo.push(to);
    this.resultWhere.push(where);
    this.resultRow.push(row);
    this.lines.push(line);
  }

  // Parse one output and keep the parser's result (true) or why it rejected the output (false) as the last of `objects`.
  private parseOutput(kind: string, parser: KdParserInfo, command: string, from: number, to: number, pool: StringPool): boolean {
    const source = this.source;
    try {
      if (kind === 'break') {
        // parseAuto passed `command || previousGo`, the last go-class command before; but a command
        // is empty only while none has been typed, so that is `command` or nothing.
        const result = tryParseBreak(source.slice(from, to), { command: command === '' ? undefined : command });
        if (result) return this.keep(result);
        return this.fail({ code: 'KD_PARSE_ERROR', message: NO_STOP_MESSAGE });
      }
      if (kind === 'stack') return this.keep(parseStackAt(source, from, to, pool));
      if (kind === 'poolused') return this.keep(parsePoolusedAt(source, from, to, pool));
      return this.keep(parser.parse(source.slice(from, to)));
    } catch (caught) {
      if (!(caught instanceof KdParseError)) throw caught;
      return this.fail({ code: caught.code, message: caught.message });
    }
  }

  private keep(result: ParseResultBase): true {
    this.objects.push(result);
    if (!result.complete) this.complete = false;
    return true;
  }

  private fail(reason: { code: string; message: string }): false {
    this.objects.push(reason);
    this.complete = false;
    return false;
  }
}

// The text before the first prompt is a connect banner when it shows one of these.
const BANNER = /Kernel Version \d+|^Connected to Windows /m;

/** A stop line in the output of a command that is not go-class (a break-in during `.sleep`). */
export const STOP_LINE = /^(?:.+ - code [0-9a-fA-F]{8} \((?:first|second) chance\)|Breakpoint \d+ hit|\*\*\* Fatal System Error: 0x[0-9a-fA-F]+)$/m;
// Literal pieces every stop line has: most outputs are passed over by this one search.
const STOP_PIECE = / chance\)|Breakpoint \d+ hit|\*\*\* Fatal System Error: 0x/;

// True when the output holds a stop line.
function hasStopLine(output: string): boolean {
  return STOP_PIECE.test(output) && STOP_LINE.test(output);
}

// mayBeErrorReply for a line that is not empty, by its commonest cases first: a line ending in
// another character than a blank can only be a reply by its last word or by `Unable to get `.
function mayBeErrorLine(source: string, start: number, end: number): boolean {
  const last = source.charCodeAt(end - 1);
  if (mayBeBlank(last)) return mayBeErrorReply(source, start, end);
  if (last === 39 || (last === 100 && (endsAt(source, end, start, 'found') || endsAt(source, end, start, 'command')))) return true;
  let first = start;
  let code = source.charCodeAt(first);
  // The line ends in a non-blank, so this stops inside it.
  while (code === 32) code = source.charCodeAt(++first);
  if (code === 85) return source.startsWith('Unable to get ', first);
  return code === 94 || mayBeBlank(code) ? mayBeErrorReply(source, start, end) : false;
}

// A cheap superset of isTrimSpace: control characters, space, and everything from U+00A0 on.
function mayBeBlank(code: number): boolean {
  return code <= 32 || code >= 0xa0;
}

// True when the text holds a line break other than \n for the stop-line regex (\u2028, \u2029).
function hasOtherBreaks(text: string): boolean {
  return text.indexOf('\u2028') >= 0 || text.indexOf('\u2029') >= 0;
}

// True when [from, to) of the text holds only white space (what /\S/ finds nothing in).
function isBlank(text: string, from: number, to: number): boolean {
  for (let index = from; index < to; index++) if (!isTrimSpace(text.charCodeAt(index))) return false;
  return true;
}

// Where a prompt can start in the line [start, end): after at most two spaces, when what follows
// is not blank (a published log may indent a prompt; kd output never starts that way); -1 when
// the first character cannot begin a prompt, so that most lines cost a few character reads.
function promptStart(text: string, start: number, end: number): number {
  let at = start;
  if (text.charCodeAt(at) === 32) {
    at++;
    if (text.charCodeAt(at) === 32) at++;
    if (at >= end || isTrimSpace(text.charCodeAt(at))) return -1;
  }
  return at < end && mayStartPromptAt(text, at, end) ? at : -1;
}

// Slots of the command table: a log of tens of thousands of distinct commands still mostly hits.
const COMMAND_SLOTS = 1 << 14;

// Commands typed in a log, each with its parser kind: a direct-mapped table hashed on the
// command's characters in place, so a command seen before costs no string and no kind lookup.
// A collision only costs the slot's string and kind made again.
class CommandCache {
  readonly texts: (string | undefined)[] = new Array<string | undefined>(COMMAND_SLOTS).fill(undefined);
  readonly kinds: (string | undefined)[] = new Array<string | undefined>(COMMAND_SLOTS).fill(undefined);

  // The slot holding source[start, end) (start < end), filled when it held something else. The
  // hash reads the length, the last character and at most the first 24: enough to spread commands.
  slot(source: string, start: number, end: number): number {
    let hash = Math.imul(end - start, 31) + source.charCodeAt(end - 1);
    const stop = Math.min(end, start + 24);
    for (let index = start; index < stop; index++) hash = (Math.imul(hash, 31) + source.charCodeAt(index)) | 0;
    const slot = (hash ^ (hash >>> 15)) & (COMMAND_SLOTS - 1);
    const known = this.texts[slot];
    if (known === undefined || !sameText(source, start, end, known)) {
      const text = source.slice(start, end);
      this.texts[slot] = text;
      this.kinds[slot] = kindForCommand(text);
    }
    return slot;
  }
}

// What readPrompt found besides the prompt's end: the processor number, or -1.
let promptProcessor = -1;

/**
 * The end of the prompt that starts the line at `at` (before `end`), including the one space
 * after it, or -1 when there is none; sets promptProcessor. The same prompts matchPrompt
 * (src/kd/prompt.ts) accepts, read in place: `kd>`, `N: kd>`, `lkd>` (k in either case), and the
 * user-mode `N:NNN>` / `N:NNN:name>`.
 */
export function readPrompt(text: string, at: number, end: number): number {
  promptProcessor = -1;
  let position = at;
  // Kernel: optional 1–2 digit processor and ": ".
  let digits = 0;
  while (digits < 3 && position + digits < end && isDigit(text.charCodeAt(position + digits))) digits++;
  if ((digits === 1 || digits === 2) && text.charCodeAt(position + digits) === 58 && text.charCodeAt(position + digits + 1) === 32 && position + digits + 1 < end) {
    promptProcessor = Number(text.slice(position, position + digits));
    position += digits + 2;
  }
  let word = position;
  if (word < end && text.charCodeAt(word) === 108) word++;
  const k = text.charCodeAt(word);
  if (word + 2 < end && (k === 107 || k === 75) && text.charCodeAt(word + 1) === 100 && text.charCodeAt(word + 2) === 62) {
    const after = word + 3;
    if (after === end) return after;
    if (text.charCodeAt(after) === 32) return after + 1;
  }
  // User mode: 1–3 digits, a colon, 3 digits, an optional `:name`, then `>`.
  promptProcessor = -1;
  if (digits === 0 || digits > 3 || text.charCodeAt(at + digits) !== 58) return -1;
  const thread = at + digits + 1;
  if (thread + 3 > end || !isDigit(text.charCodeAt(thread)) || !isDigit(text.charCodeAt(thread + 1)) || !isDigit(text.charCodeAt(thread + 2))) return -1;
  let close = thread + 3;
  if (close < end && text.charCodeAt(close) === 58) {
    let name = close + 1;
    while (name < end && isAlphanumeric(text.charCodeAt(name))) name++;
    if (name === close + 1) return -1;
    close = name;
  }
  if (close >= end || text.charCodeAt(close) !== 62) return -1;
  const after = close + 1;
  if (after !== end && text.charCodeAt(after) !== 32) return -1;
  promptProcessor = Number(text.slice(at, at + digits));
  return after === end ? after : after + 1;
}

// 0-9.
function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

// [a-zA-Z0-9].
function isAlphanumeric(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** Split a saved kd log into commands and parse each output. Throws KdParseError when the log has no prompt at all. */
export function scanKdLog(text: string): KdLog {
  const prepared = prepareTranscript(text);
  const returns = prepared.indexOf('\r') >= 0;
  const source = returns ? prepared.replace(/\r\n/g, '\n') : prepared;
  const log = new KdLog(source);
  // Without any \r in the text there is no lone one to look for.
  if (scanLines(log, returns && source.indexOf('\r') >= 0) === 0) throw noPrompt();
  return log;
}

// The error of a log without any prompt.
function noPrompt(): KdParseError {
  return new KdParseError('auto', 'No kd prompt found: expected lines like "kd> command" or "0: kd> command"');
}

// Add the entry the scanner has read to the log and parse its output. (A function of its own
// rather than a closure, so that the scanner's variables stay out of a shared context.)
function finishEntry(
  log: KdLog,
  source: string,
  pool: StringPool,
  line: number,
  prompt: string | undefined,
  command: string,
  commandKind: string | undefined,
  processor: number,
  repeated: boolean,
  outputStart: number,
  outputEnd: number,
  error: KdErrorInfo | undefined,
  stopSeen: boolean,
): void {
  let kind = commandKind;
  if (prompt === undefined) {
    if (outputStart < 0 || isBlank(source, outputStart, outputEnd)) return;
    const output = source.slice(outputStart, outputEnd);
    kind = BANNER.test(output) ? 'banner' : hasStopLine(output) ? 'break' : undefined;
  } else if (kind === undefined && outputStart >= 0) {
    // A stop line the scanner's line test could not see: one ended by U+2028 or U+2029.
    const output = stopSeen ? '' : source.slice(outputStart, outputEnd);
    if (stopSeen || (hasOtherBreaks(output) && hasStopLine(output))) kind = 'break';
  }
  log.addEntry(line, prompt, command, processor, repeated, outputStart, outputEnd, kind, error, pool);
}

// Read the lines of the log's source into entries; returns the prompts met. `loneReturns` says
// whether the source holds a \r: line breaks other than \n end a line for the stop-line regex,
// and where there are none a stop line is a whole line, told by its first or last character
// (U+2028 and U+2029 are looked for in the outputs that need it, in finishEntry).
function scanLines(log: KdLog, loneReturns: boolean): number {
  const source = log.source;
  const length = source.length;
  const pool = new StringPool();
  // The entry being read: the text before the first prompt until a prompt is met.
  let line = 1;
  let prompt: string | undefined;
  let command = '';
  let commandKind: string | undefined;
  let processor = -1;
  let repeated = false;
  let outputStart = -1;
  let outputEnd = -1;
  let error: KdErrorInfo | undefined;
  let stopSeen = false;
  // The last command typed, which an empty prompt line repeats, and its kind.
  let lastCommand = '';
  let lastCommandKind: string | undefined;
  const commandCache = new CommandCache();
  let lastPrompt: string | undefined;
  let otherPrompt: string | undefined;
  let prompts = 0;
  let lineNumber = 0;
  let start = 0;
  for (;;) {
    // At the end after a final line break (an empty last line is not kept).
    if (start >= length) break;
    const newline = source.indexOf('\n', start);
    const end = newline < 0 ? length : newline;
    lineNumber++;
    const at = promptStart(source, start, end);
    const promptEnd = at < 0 ? -1 : readPrompt(source, at, end);
    if (promptEnd >= 0) {
      prompts++;
      finishEntry(log, source, pool, line, prompt, command, commandKind, processor, repeated, outputStart, outputEnd, error, stopSeen);
      // The command: the rest of the line, trimmed.
      let commandStart = promptEnd;
      let commandEnd = end;
      while (commandStart < commandEnd && isTrimSpace(source.charCodeAt(commandStart))) commandStart++;
      while (commandEnd > commandStart && isTrimSpace(source.charCodeAt(commandEnd - 1))) commandEnd--;
      // A log alternates a few commands under a prompt or two: the ones seen last are compared in
      // place first, and each keeps its kind.
      let typed = '';
      let typedKind: string | undefined;
      if (commandStart < commandEnd) {
        const slot = commandCache.slot(source, commandStart, commandEnd);
        typed = commandCache.texts[slot]!;
        typedKind = commandCache.kinds[slot];
      }
      line = lineNumber;
      prompt = prompt !== undefined && sameText(source, at, promptEnd, prompt) ? prompt : otherPrompt !== undefined && sameText(source, at, promptEnd, otherPrompt) ? otherPrompt : pool.take(source, at, promptEnd);
      if (prompt !== lastPrompt) {
        otherPrompt = lastPrompt;
        lastPrompt = prompt;
      }
      processor = promptProcessor;
      repeated = typed === '' && lastCommand !== '';
      commandKind = repeated ? lastCommandKind : typedKind;
      command = repeated ? lastCommand : typed;
      if (typed !== '') {
        lastCommand = typed;
        lastCommandKind = typedKind;
      }
      outputStart = -1;
      outputEnd = -1;
      error = undefined;
      stopSeen = false;
    } else {
      if (outputStart < 0) outputStart = start;
      outputEnd = end;
      // kd's error reply: the first line of the output that is one (parseKdError's rule). Most
      // lines are passed over on their first and last characters before mayBeErrorReply runs.
      if (error === undefined && end > start && mayBeErrorLine(source, start, end)) {
        error = matchKdErrorLine(source.slice(start, end), prompt === undefined ? lineNumber : lineNumber - line);
      }
      // A stop in the output of a command that has no parser (a break-in during `.sleep`).
      if (commandKind === undefined && prompt !== undefined && !stopSeen && (loneReturns || mayBeStopLine(source, start, end))) {
        stopSeen = STOP_LINE.test(source.slice(start, end));
      }
    }
    if (newline < 0) break;
    start = newline + 1;
  }
  finishEntry(log, source, pool, line, prompt, command, commandKind, processor, repeated, outputStart, outputEnd, error, stopSeen);
  return prompts;
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

/**
 * A necessary condition for STOP_LINE on a line with no break but its `\n`: it begins with
 * `Breakpoint ` or `*** Fatal System Error: 0x`, or ends with ` chance)`.
 */
export function mayBeStopLine(text: string, start: number, end: number): boolean {
  const first = text.charCodeAt(start);
  if (first === 66 && text.startsWith('Breakpoint ', start)) return true;
  if (first === 42 && text.startsWith('*** Fatal System Error: 0x', start)) return true;
  return text.charCodeAt(end - 1) === 41 && end - start >= 8 && text.startsWith(' chance)', end - 8);
}

// True when text[start, end) is `known`, compared in place.
function sameText(text: string, start: number, end: number, known: string): boolean {
  return known.length === end - start && text.startsWith(known, start);
}
