/**
 * `parse auto`: split a saved kd log (prompt + command + output, again and again) into its
 * commands and parse each output with the parser its command calls for.
 */
import type { ParseResultBase } from './common.js';
import type { KdErrorInfo } from './errors.js';
import { scanKdLog } from './log.js';

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

export { kindForCommand, prepareTranscript, stripTranscriptHeader, unquoteTranscript } from './transcript.js';

/** Split a saved kd log into commands and parse each one. Throws KdParseError when the log has no prompt at all. */
export function parseAuto(text: string): AutoResult {
  return scanKdLog(text).toAutoResult();
}
