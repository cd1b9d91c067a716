/**
 * `parse auto`: split a saved kd log (prompt + command + output, again and again) into its
 * commands and parse each output with the parser its command calls for.
 */
import { KdParseError, splitLines, type ParseResultBase } from './common.js';
import { parseKdError, type KdErrorInfo } from './errors.js';
import { getParser } from './index.js';
import { matchPrompt } from './prompt.js';

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
  const trimmed = command.trim();
  for (const [pattern, kind] of COMMAND_KINDS) if (pattern.test(trimmed)) return kind;
  return undefined;
}

// A stop printed in the output of a command that is not go-class (e.g. a break-in during `.sleep`).
const STOP_LINE = /^(?:.+ - code [0-9a-fA-F]{8} \((?:first|second) chance\)|Breakpoint \d+ hit|\*\*\* Fatal System Error: 0x[0-9a-fA-F]+)$/m;

/**
 * Remove a transcript header: leading `# key: value` lines closed by a `# ---` line (the form
 * leakhunt's kd fixtures carry their source notes in). Text without one is returned as is.
 */
export function stripTranscriptHeader(text: string): string {
  const lines = text.split('\n');
  if (lines.length === 0 || !/^# [a-z]+:/.test(lines[0])) return text;
  for (let index = 0; index < lines.length && index < 64; index++) {
    const line = lines[index].replace(/\r$/, '');
    if (line === '# ---') return lines.slice(index + 1).join('\n');
    if (!line.startsWith('#')) return text;
  }
  return text;
}

/**
 * Remove a quoting prefix every non-blank line shares (`    // `, `> `, `; `), as when kd
 * output is pasted into a source comment or a mail quote. Other text is returned as is.
 */
export function unquoteTranscript(text: string): string {
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

/** Header removed and quoting undone: the text kd printed. */
export function prepareTranscript(text: string): string {
  return unquoteTranscript(stripTranscriptHeader(text));
}

// Parse one entry's output with the parser its command calls for, keeping kd's error reply.
function parseEntry(entry: AutoEntry, previousGo: string | undefined): void {
  const error = parseKdError(entry.output);
  if (error) entry.error = error;
  let kind = entry.command === '' && entry.prompt === undefined ? undefined : kindForCommand(entry.command);
  if (entry.prompt === undefined) {
    kind = /Kernel Version \d+|^Connected to Windows /m.test(entry.output) ? 'banner' : STOP_LINE.test(entry.output) ? 'break' : undefined;
  } else if (kind === undefined && STOP_LINE.test(entry.output)) {
    kind = 'break';
  }
  if (kind === undefined || entry.output.trim() === '') {
    if (kind !== undefined) entry.kind = kind;
    return;
  }
  const parser = getParser(kind);
  if (!parser) return;
  entry.kind = kind;
  try {
    entry.result = kind === 'break' ? parser.parse(entry.output, { command: entry.command || previousGo }) : parser.parse(entry.output);
  } catch (caught) {
    if (!(caught instanceof KdParseError)) throw caught;
    entry.parseError = { code: caught.code, message: caught.message };
  }
}

/** Split a saved kd log into commands and parse each one. Throws KdParseError when the log has no prompt at all. */
export function parseAuto(text: string): AutoResult {
  const lines = splitLines(prepareTranscript(text));
  const entries: AutoEntry[] = [];
  let current: AutoEntry = { line: 1, command: '', output: '' };
  let outputLines: string[] = [];
  let lastCommand = '';
  let prompts = 0;
  const finish = (): void => {
    current.output = outputLines.join('\n');
    if (current.prompt !== undefined || current.output.trim() !== '') entries.push(current);
  };
  lines.forEach((line, index) => {
    // A published log may indent a prompt by a space or two; kd output never starts that way.
    const prompt = matchPrompt(/^ {1,2}\S/.test(line) ? line.trimStart() : line);
    if (!prompt) {
      outputLines.push(line);
      return;
    }
    prompts++;
    finish();
    outputLines = [];
    const repeated = prompt.command === '' && lastCommand !== '';
    current = { line: index + 1, prompt: prompt.prompt, command: repeated ? lastCommand : prompt.command, output: '' };
    if (prompt.processor !== undefined) current.processor = prompt.processor;
    if (repeated) current.repeated = true;
    if (prompt.command !== '') lastCommand = prompt.command;
  });
  finish();
  if (prompts === 0) throw new KdParseError('auto', 'No kd prompt found: expected lines like "kd> command" or "0: kd> command"');
  let previousGo: string | undefined;
  for (const entry of entries) {
    parseEntry(entry, previousGo);
    if (kindForCommand(entry.command) === 'break') previousGo = entry.command;
  }
  const complete = entries.every((entry) => entry.parseError === undefined && (entry.result?.complete ?? true));
  const unparsed = entries.flatMap((entry) => entry.result?.unparsed ?? []);
  return { complete, unparsed, entries };
}
