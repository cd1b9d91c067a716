/**
 * kd's error replies as typed results. kd reports a failed command with one line of text and
 * no status code (`Couldn't resolve error at 'nt!Foo'`, `        ^ Syntax error in 'ed x'`),
 * so a transport or plugin that wants to fail properly must recognise those lines.
 */
import { splitLines } from './common.js';

/** The kinds of error reply kd prints. */
export type KdErrorKind =
  /** `Couldn't resolve error at 'nt!Foo'`: unknown symbol or expression. */
  | 'resolve'
  /** `Memory access error at '…'`: the address (or a dereference in the expression) is unreadable. */
  | 'memory-access'
  /** `^ Syntax error in '…'` / `Syntax error at '<EOL>'`. */
  | 'syntax'
  /** `^ Extra character error in '…'`. */
  | 'extra-character'
  /** `Bad register error in '…'`. */
  | 'bad-register'
  /** `Ambiguous symbol error at '…'`. */
  | 'ambiguous-symbol'
  /** `Numeric expression missing from '…'`. */
  | 'numeric-missing'
  /** `No export poolused found` / `poolused is not extension gallery command`: the extension command is missing. */
  | 'no-export'
  /** `Unable to get …` (an extension could not read what it needs, often symbols). */
  | 'unable'
  /** Any other `… error at|in '…'` reply. */
  | 'expression';

/** One error reply. */
export interface KdErrorInfo {
  kind: KdErrorKind;
  /** What kd quoted: the expression, command or export name (`nt!Foo`, `poolused`). */
  subject: string;
  /** The error line as kd printed it, trimmed, without the caret. */
  message: string;
  /** 1-based line of the reply within the text given. */
  line: number;
  /** 0-based column of the `^` caret kd prints under the offending character, when present. */
  caretColumn?: number;
}

// One recogniser per reply shape; order matters only where two could match the same line.
const RULES: readonly { kind: KdErrorKind; pattern: RegExp }[] = [
  { kind: 'resolve', pattern: /^Couldn't resolve error at '(.*)'\s*$/ },
  { kind: 'memory-access', pattern: /^Memory access error at '(.*)'\s*$/ },
  { kind: 'syntax', pattern: /^Syntax error (?:in|at) '(.*)'\s*$/ },
  { kind: 'extra-character', pattern: /^Extra character error (?:in|at) '(.*)'\s*$/ },
  { kind: 'bad-register', pattern: /^Bad register error (?:in|at) '(.*)'\s*$/ },
  { kind: 'ambiguous-symbol', pattern: /^Ambiguous symbol error (?:in|at) '(.*)'\s*$/ },
  { kind: 'numeric-missing', pattern: /^Numeric expression missing from '(.*)'\s*$/ },
  { kind: 'no-export', pattern: /^No export (\S+) found\s*$/ },
  { kind: 'no-export', pattern: /^(\S+) is not extension gallery command\s*$/ },
  { kind: 'unable', pattern: /^Unable to get (.+?)\s*$/ },
  { kind: 'expression', pattern: /^[A-Z][a-z]+(?: [a-z]+){0,3} error (?:in|at) '(.*)'\s*$/ },
];

/** Recognise one line as an error reply; undefined when it is not one. */
export function matchKdErrorLine(text: string, lineNumber = 1): KdErrorInfo | undefined {
  const caret = /^(\s*)\^ /.exec(text);
  const body = (caret ? text.slice(caret[0].length) : text).trim();
  // One cheap test first: every reply shape contains one of these words.
  if (body.length === 0 || !/error|No export|Unable to get|not extension|expression missing/.test(body)) return undefined;
  for (const rule of RULES) {
    const match = rule.pattern.exec(body);
    if (!match) continue;
    const info: KdErrorInfo = { kind: rule.kind, subject: match[1].trim(), message: body, line: lineNumber };
    if (caret) info.caretColumn = caret[1].length;
    return info;
  }
  return undefined;
}

// Every reply contains one of the words matchKdErrorLine looks for first; text without any of them
// (most output) is passed over in a few substring searches instead of a split and a test per line.
function mayHoldError(text: string): boolean {
  return ERROR_WORD.test(text);
}

const ERROR_WORD = /error|No export|Unable to get|not extension|expression missing/;

/** Every error reply in kd's output, in order. */
export function findKdErrors(text: string): KdErrorInfo[] {
  const errors: KdErrorInfo[] = [];
  if (!mayHoldError(text)) return errors;
  splitLines(text).forEach((line, index) => {
    const info = matchKdErrorLine(line, index + 1);
    if (info) errors.push(info);
  });
  return errors;
}

/** The first error reply in kd's output, or undefined when the command did not fail visibly. */
export function parseKdError(text: string): KdErrorInfo | undefined {
  if (!mayHoldError(text)) return undefined;
  const lines = splitLines(text);
  for (let index = 0; index < lines.length; index++) {
    const info = matchKdErrorLine(lines[index], index + 1);
    if (info) return info;
  }
  return undefined;
}
