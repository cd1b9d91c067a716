/**
 * `parse auto`: split a saved kd log (prompt + command + output, again and again) into its
 * commands and parse each output with the parser its command calls for.
 */
import { NO_STOP_MESSAGE, tryParseBreak } from './break.js';
import { KdParseError, StringPool, type ParseResultBase } from './common.js';
import { parseKdError, type KdErrorInfo } from './errors.js';
import { getParser } from './index.js';
import { parsePoolusedAt } from './poolused.js';
import { matchPrompt } from './prompt.js';
import { parseStackAt } from './stack.js';

/** One command of the log with its output and what its parser made of it. */
export interface AutoEntry {
  /** 1-based line of the prompt (of the first line for the text before any prompt). */
  line: number;
  /** The prompt as printed (`0: kd> `); absent for the text before the first prompt. */
  prompt?: string;
  processor?: number;
  /** The command typed; `''` for the text before the first prompt. */
  command: string;
  /** True when the prompt line was empty (kd repeats the last command on Enter). */
  repeated?: boolean;
  /** The parser used, when one applies. */
  kind?: string;
  /** The command's output, lines joined with `\n`. */
  output: string;
  result?: ParseResultBase;
  /** kd's error reply, when the command failed. */
  error?: KdErrorInfo;
  /** Why the chosen parser rejected the output. */
  parseError?: { code: string; message: string };
}

/** Result of `parse auto`. */
export interface AutoResult extends ParseResultBase {
  entries: AutoEntry[];
}

// Command → parser kind. The first word decides; order matters only for shared prefixes.
const COMMAND_KINDS: readonly [RegExp, string][] = [
  [/^vertarget\b/, 'vertarget'],
  [/^version\b/, 'version'],
  [/^db\b/, 'db'],
  [/^dw\b/, 'dw'],
  [/^dd\b/, 'dd'],
  [/^dc\b/, 'dc'],
  [/^dq\b/, 'dq'],
  [/^dp\b/, 'memory'],
  [/^u[bf]?\b/, 'u'],
  [/^!gflag\b/, 'gflag'],
  [/^(?:g|gu|gh|gn|p|pa|pc|t|ta|tc|\.reboot|\.breakin|\.restart)(?:\s|$)/, 'break'],
  [/^\.reload\b/, 'reload'],
  [/^!poolused\b/, 'poolused'],
  [/^!poolfind\b/, 'poolfind'],
  [/^k[bcdfLmnpPv]*(?:\s|$)/, 'stack'],
  [/^lm[a-z]*(?:\s|$)/, 'lm'],
];

/** The parser kind for a kd command (`kb` → `stack`, `dd nt!PoolHitTag L1` → `dd`); undefined when none. */
export function kindForCommand(command: string): string | undefined {
  const cached = KIND_CACHE.get(command);
  if (cached !== undefined) return cached === NO_KIND ? undefined : cached;
  const trimmed = command.trim();
  let found: string | undefined;
  // Only the patterns that can start with the command's first character are tried, in order.
  for (const [pattern, kind] of KINDS_BY_FIRST.get(trimmed.charAt(0)) ?? []) {
    if (pattern.test(trimmed)) {
      found = kind;
      break;
    }
  }
  // A log repeats a handful of commands; a bounded cache keeps unique ones (`.sleep 123`) from piling up.
  if (KIND_CACHE.size >= 512) KIND_CACHE.clear();
  KIND_CACHE.set(command, found ?? NO_KIND);
  return found;
}

// COMMAND_KINDS by the first characters each pattern can match (its order kept within each list).
const KINDS_BY_FIRST = new Map<string, [RegExp, string][]>();
for (const entry of COMMAND_KINDS) {
  for (const first of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!.?~$@#') {
    // A pattern can start with `first` when it matches `first` followed by some continuation;
    // the sources are literal prefixes, so their first character (or alternation firsts) decide.
    if (patternFirsts(entry[0]).includes(first)) {
      const list = KINDS_BY_FIRST.get(first) ?? [];
      list.push(entry);
      KINDS_BY_FIRST.set(first, list);
    }
  }
}

// The characters a COMMAND_KINDS pattern can begin with: the first literal of each alternative.
function patternFirsts(pattern: RegExp): string {
  const source = pattern.source.replace(/^\^/, '');
  if (!source.startsWith('(?:')) return source.startsWith('\\') ? source.charAt(1) : source.charAt(0);
  const group = source.slice(3, source.indexOf(')'));
  return group
    .split('|')
    .map((alternative) => (alternative.startsWith('\\') ? alternative.charAt(1) : alternative.charAt(0)))
    .join('');
}

const NO_KIND = '';
const KIND_CACHE = new Map<string, string>();

// A stop printed in the output of a command that is not go-class (e.g. a break-in during `.sleep`).
const STOP_LINE = /^(?:.+ - code [0-9a-fA-F]{8} \((?:first|second) chance\)|Breakpoint \d+ hit|\*\*\* Fatal System Error: 0x[0-9a-fA-F]+)$/m;

/**
 * Remove a transcript header: leading `# key: value` lines closed by a `# ---` line (the form
 * leakhunt's kd fixtures carry their source notes in). Text without one is returned as is.
 */
export function stripTranscriptHeader(text: string): string {
  // Only the first 64 lines can matter, so the log is not split as a whole.
  let start = 0;
  for (let index = 0; index < 64 && start <= text.length; index++) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    const raw = text.slice(start, end);
    if (index === 0 && !/^# [a-z]+:/.test(raw)) return text;
    const line = raw.replace(/\r$/, '');
    if (line === '# ---') return newline < 0 ? '' : text.slice(newline + 1);
    if (!line.startsWith('#')) return text;
    if (newline < 0) break;
    start = newline + 1;
  }
  return text;
}

/**
 * Remove a quoting prefix every non-blank line shares (`    // `, `> `, `; `), as when kd
 * output is pasted into a source comment or a mail quote. Other text is returned as is.
 */
export function unquoteTranscript(text: string): string {
  if (!firstContentLineQuoted(text)) return text;
  const lines = text.split('\n');
  let prefix: string | undefined;
  for (const line of lines) {
    if (line.trim() === '') continue;
    const match = /^(\s*(?:\/\/|>|;) ?)/.exec(line);
    if (!match) return text;
    if (prefix === undefined) prefix = match[1];
    else if (!line.startsWith(prefix)) {
      // Lines may differ only in the optional space after the marker.
      const bare = prefix.trimEnd();
      if (!line.startsWith(bare)) return text;
      prefix = bare;
    }
  }
  if (prefix === undefined) return text;
  const cut = prefix;
  return lines.map((line) => (line.startsWith(cut) ? line.slice(cut.length) : line.trimStart())).join('\n');
}

// The loop in unquoteTranscript gives up at the first non-blank line without a quote marker; this
// finds that line without splitting the whole log.
function firstContentLineQuoted(text: string): boolean {
  let start = 0;
  while (start <= text.length) {
    const newline = text.indexOf('\n', start);
    const line = text.slice(start, newline < 0 ? text.length : newline);
    if (line.trim() !== '') return QUOTE_PREFIX.test(line);
    if (newline < 0) return false;
    start = newline + 1;
  }
  return false;
}

const QUOTE_PREFIX = /^(\s*(?:\/\/|>|;) ?)/;

/** Header removed and quoting undone: the text kd printed. */
export function prepareTranscript(text: string): string {
  return unquoteTranscript(stripTranscriptHeader(text));
}

// Parse one entry's output (text.slice(from, to)) with the parser its command calls for, keeping
// kd's error reply. Stacks are read in place in the log; a break output without a stop is
// recorded without throwing, since a log has many.
function parseEntry(entry: AutoEntry, previousGo: string | undefined, text: string, from: number, to: number, pool: StringPool): void {
  const output = entry.output;
  const error = parseKdError(output);
  if (error) entry.error = error;
  let kind = entry.command === '' && entry.prompt === undefined ? undefined : kindForCommand(entry.command);
  if (entry.prompt === undefined) {
    kind = /Kernel Version \d+|^Connected to Windows /m.test(output) ? 'banner' : hasStopLine(output) ? 'break' : undefined;
  } else if (kind === undefined && hasStopLine(output)) {
    kind = 'break';
  }
  if (kind === undefined || isBlank(output)) {
    if (kind !== undefined) entry.kind = kind;
    return;
  }
  const parser = getParser(kind);
  if (!parser) return;
  entry.kind = kind;
  try {
    if (kind === 'stack') entry.result = parseStackAt(text, from, to, pool);
    else if (kind === 'poolused') entry.result = parsePoolusedAt(text, from, to, pool);
    else if (kind === 'break') {
      const result = tryParseBreak(output, { command: entry.command || previousGo });
      if (result) entry.result = result;
      else entry.parseError = { code: 'KD_PARSE_ERROR', message: NO_STOP_MESSAGE };
    } else entry.result = parser.parse(output);
  } catch (caught) {
    if (!(caught instanceof KdParseError)) throw caught;
    entry.parseError = { code: caught.code, message: caught.message };
  }
}

// STOP_LINE, run only on output holding one of the literal pieces every stop line has.
function hasStopLine(output: string): boolean {
  return STOP_PIECE.test(output) && STOP_LINE.test(output);
}

const STOP_PIECE = / chance\)|Breakpoint \d+ hit|\*\*\* Fatal System Error: 0x/;

// True for text that trims to nothing, without building the trimmed copy.
function isBlank(text: string): boolean {
  return !/\S/.test(text);
}

// Where a prompt can start in the line [start, end): after at most two spaces, when what follows
// is not blank (a published log may indent a prompt; kd output never starts that way); -1 when
// the first character cannot begin a prompt, so that most lines cost a few character reads.
function promptStart(text: string, start: number, end: number): number {
  let at = start;
  if (text.charCodeAt(at) === 32) {
    at++;
    if (text.charCodeAt(at) === 32) at++;
    if (at >= end || /\s/.test(text[at]!)) return -1;
  }
  if (at >= end) return -1;
  const code = text.charCodeAt(at);
  // `kd>`, `Kd>`, `lkd>`: the letter must be followed by the rest of the word.
  if (code === 107 || code === 75) return text.charCodeAt(at + 1) === 100 && text.charCodeAt(at + 2) === 62 ? at : -1;
  if (code === 108) return text.charCodeAt(at + 2) === 100 && text.charCodeAt(at + 3) === 62 ? at : -1;
  // `0: kd>`, `12: kd>`, `0:000>`: one to three digits, then a colon.
  if (code < 48 || code > 57) return -1;
  for (let index = at + 1; index < end && index <= at + 3; index++) {
    const next = text.charCodeAt(index);
    if (next === 58) return at;
    if (next < 48 || next > 57) return -1;
  }
  return -1;
}

/** Split a saved kd log into commands and parse each one. Throws KdParseError when the log has no prompt at all. */
export function parseAuto(text: string): AutoResult {
  // One pass over the log by offsets: outputs are slices of it, never lines joined again.
  let source = prepareTranscript(text);
  if (source.indexOf('\r') >= 0) source = source.replace(/\r\n/g, '\n');
  const length = source.length;
  const entries: AutoEntry[] = [];
  // Where each entry's output lies in the log, for parsers that read it in place.
  const starts: number[] = [];
  const ends: number[] = [];
  let current: AutoEntry = { line: 1, command: '', output: '' };
  let outputStart = -1;
  let outputEnd = -1;
  let lastCommand = '';
  let prompts = 0;
  const finish = (): void => {
    current.output = outputStart < 0 ? '' : source.slice(outputStart, outputEnd);
    if (current.prompt !== undefined || !isBlank(current.output)) {
      entries.push(current);
      starts.push(outputStart < 0 ? 0 : outputStart);
      ends.push(outputStart < 0 ? 0 : outputEnd);
    }
  };
  let lineNumber = 0;
  let start = 0;
  for (;;) {
    const newline = source.indexOf('\n', start);
    // The last line is kept unless it is empty (the text ended with a line break).
    if (newline < 0 && start >= length) break;
    const end = newline < 0 ? length : newline;
    lineNumber++;
    const at = promptStart(source, start, end);
    const prompt = at < 0 ? undefined : matchPrompt(source.slice(at, end));
    if (prompt) {
      prompts++;
      finish();
      outputStart = -1;
      const repeated = prompt.command === '' && lastCommand !== '';
      current = { line: lineNumber, prompt: prompt.prompt, command: repeated ? lastCommand : prompt.command, output: '' };
      if (prompt.processor !== undefined) current.processor = prompt.processor;
      if (repeated) current.repeated = true;
      if (prompt.command !== '') lastCommand = prompt.command;
    } else {
      if (outputStart < 0) outputStart = start;
      outputEnd = end;
    }
    if (newline < 0) break;
    start = newline + 1;
  }
  finish();
  if (prompts === 0) throw new KdParseError('auto', 'No kd prompt found: expected lines like "kd> command" or "0: kd> command"');
  let previousGo: string | undefined;
  const pool = new StringPool();
  entries.forEach((entry, index) => {
    parseEntry(entry, previousGo, source, starts[index]!, ends[index]!, pool);
    if (kindForCommand(entry.command) === 'break') previousGo = entry.command;
  });
  const complete = entries.every((entry) => entry.parseError === undefined && (entry.result?.complete ?? true));
  const unparsed = entries.flatMap((entry) => entry.result?.unparsed ?? []);
  return { complete, unparsed, entries };
}
