/**
 * The one recogniser of kd's command prompts, used by the log reader and by every parser that
 * meets a prompt inside an output: `kd> `, `0: kd> ` / `12: kd> ` (processor number on a
 * multiprocessor target), `lkd> ` (local kernel debugging), and the user-mode `0:000> ` form
 * that appears when kd is driven through a redirected user-mode debugger.
 */

/** A prompt read in place: where it ends and what it says. */
export interface PromptAt {
  /** Offset just past the prompt and the one space after it (`0: kd> ` → 7 from the start). */
  end: number;
  /** `kd`, `lkd` (local kernel), or `user` (`0:000>`). */
  flavor: 'kd' | 'lkd' | 'user';
  /** Processor number of `N: kd>` and `N:NNN>`; absent for a plain `kd>`. */
  processor?: number;
}

/** One recognised prompt line. */
export interface PromptMatch {
  /** The prompt exactly as printed, with its trailing space when there is one (`0: kd> `). */
  prompt: string;
  flavor: PromptAt['flavor'];
  processor?: number;
  /** What follows the prompt on the same line (the echoed command), trimmed. */
  command: string;
}

/**
 * The prompt that starts `text` at `at` (the line ending before `end`), or undefined. Kernel: an
 * optional 1–2 digit processor and `: `, then `kd>` or `lkd>` (kd prints lowercase; a published
 * log, the docs typo `0: Kd>`, shows a capital K, so K is accepted in either case). User mode:
 * `N:NNN>` or `N:NNN:name>`. Either is followed by a space or the end of the line. Most lines
 * fail on their first character or two.
 */
export function readPrompt(text: string, at = 0, end = text.length): PromptAt | undefined {
  const first = text.charCodeAt(at);
  if (!(isDigit(first) || first === 107 || first === 75 || first === 108)) return undefined;
  let digits = 0;
  while (digits < 4 && at + digits < end && isDigit(text.charCodeAt(at + digits))) digits++;
  let word = at;
  if ((digits === 1 || digits === 2) && at + digits + 1 < end && text.charCodeAt(at + digits) === 58 && text.charCodeAt(at + digits + 1) === 32) word = at + digits + 2;
  const local = text.charCodeAt(word) === 108;
  const k = word + (local ? 1 : 0);
  const code = text.charCodeAt(k);
  if (k + 2 < end && (code === 107 || code === 75) && text.charCodeAt(k + 1) === 100 && text.charCodeAt(k + 2) === 62) {
    const after = k + 3;
    if (after === end || text.charCodeAt(after) === 32) {
      const prompt: PromptAt = { end: after === end ? after : after + 1, flavor: local ? 'lkd' : 'kd' };
      if (word !== at) prompt.processor = Number(text.slice(at, at + digits));
      return prompt;
    }
  }
  // User mode: 1–3 digits, a colon, 3 digits, an optional `:name`, then `>`.
  if (digits === 0 || digits > 3 || text.charCodeAt(at + digits) !== 58) return undefined;
  const thread = at + digits + 1;
  if (thread + 3 > end || !isDigit(text.charCodeAt(thread)) || !isDigit(text.charCodeAt(thread + 1)) || !isDigit(text.charCodeAt(thread + 2))) return undefined;
  let close = thread + 3;
  if (close < end && text.charCodeAt(close) === 58) {
    let name = close + 1;
    while (name < end && isAlphanumeric(text.charCodeAt(name))) name++;
    if (name === close + 1) return undefined;
    close = name;
  }
  if (close >= end || text.charCodeAt(close) !== 62) return undefined;
  const after = close + 1;
  if (after !== end && text.charCodeAt(after) !== 32) return undefined;
  return { end: after === end ? after : after + 1, flavor: 'user', processor: Number(text.slice(at, at + digits)) };
}

/** Match a prompt at the start of a line; undefined when the line does not begin with one. */
export function matchPrompt(line: string): PromptMatch | undefined {
  const read = readPrompt(line);
  if (!read) return undefined;
  const match: PromptMatch = { prompt: line.slice(0, read.end), flavor: read.flavor, command: line.slice(read.end).trim() };
  if (read.processor !== undefined) match.processor = read.processor;
  return match;
}

/** True when the line starts with a kernel prompt (`kd>`, `N: kd>`, `lkd>`), not a user-mode one. */
export function isKernelPrompt(line: string): boolean {
  const read = readPrompt(line);
  return read !== undefined && read.flavor !== 'user';
}

/**
 * Find a prompt waiting for input at the very end of a console buffer (after the last line
 * break, nothing typed yet): what a transport looks for to know kd is ready.
 */
export function findTrailingPrompt(buffer: string): PromptMatch | undefined {
  const start = buffer.lastIndexOf('\n') + 1;
  const tail = buffer.slice(start).replace(/\r$/, '');
  // A waiting prompt is short and ends with `> ` or `>`; anything else is a partial line.
  if (tail.length === 0 || tail.length > 16 || !/> ?$/.test(tail)) return undefined;
  const match = matchPrompt(tail);
  if (!match || match.command !== '' || match.prompt.length !== tail.length) return undefined;
  return match;
}

// 0-9.
function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

// [a-zA-Z0-9].
function isAlphanumeric(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}
