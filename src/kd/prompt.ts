/**
 * Recognise kd's command prompts: `kd> `, `0: kd> ` / `12: kd> ` (processor number on a
 * multiprocessor target), `lkd> ` (local kernel debugging), and the user-mode `0:000> ` form
 * that appears when kd is driven through a redirected user-mode debugger.
 */

/** One recognised prompt. */
export interface PromptMatch {
  /** The prompt exactly as printed, with its trailing space when there is one (`0: kd> `). */
  prompt: string;
  /** `kd`, `lkd` (local kernel), or `user` (`0:000>`). */
  flavor: 'kd' | 'lkd' | 'user';
  /** Processor number of `N: kd>`; absent for a plain `kd>`. */
  processor?: number;
  /** What follows the prompt on the same line (the echoed command), trimmed. */
  command: string;
}

// Kernel prompts: optional 1–2 digit processor, `kd>` or `lkd>`; kd prints lowercase, but a
// published log (docs typo `0: Kd>`) shows a capital K, so the K is accepted in either case.
const KERNEL_PROMPT = /^(?:(\d{1,2}): )?(l?[kK]d)>(?= |$) ?/;
// User-mode prompt `0:000>` / `0:025>` / `1:002:x86>`.
const USER_PROMPT = /^(\d{1,3}):(\d{3})(?::[a-zA-Z0-9]+)?>(?= |$) ?/;

/** Match a prompt at the start of a line; undefined when the line does not begin with one. */
export function matchPrompt(line: string): PromptMatch | undefined {
  if (!mayStartPrompt(line)) return undefined;
  const kernel = KERNEL_PROMPT.exec(line);
  if (kernel) {
    const prompt = kernel[0];
    const match: PromptMatch = {
      prompt,
      flavor: kernel[2].toLowerCase() === 'lkd' ? 'lkd' : 'kd',
      command: line.slice(prompt.length).trim(),
    };
    if (kernel[1] !== undefined) match.processor = Number(kernel[1]);
    return match;
  }
  const user = USER_PROMPT.exec(line);
  if (user) {
    return {
      prompt: user[0],
      flavor: 'user',
      processor: Number(user[1]),
      command: line.slice(user[0].length).trim(),
    };
  }
  return undefined;
}

/**
 * A cheap necessary condition for matchPrompt: the line starts with `kd>`/`Kd>`, `l?d>` or one to
 * three digits and a colon. Parsers call matchPrompt on every line; most fail here on a few reads.
 */
export function mayStartPrompt(line: string): boolean {
  return mayStartPromptAt(line, 0, line.length);
}

/** mayStartPrompt for the line of `text` that starts at `at` and ends before `end`, read in place. */
export function mayStartPromptAt(text: string, at: number, end: number): boolean {
  const code = text.charCodeAt(at);
  if (code === 107 || code === 75) return at + 2 < end && text.charCodeAt(at + 1) === 100 && text.charCodeAt(at + 2) === 62;
  if (code === 108) return at + 3 < end && text.charCodeAt(at + 2) === 100 && text.charCodeAt(at + 3) === 62;
  return code >= 48 && code <= 57 && digitsThenColon(text, at, end);
}

/** Whether the digit at `at` starts one to three digits followed by a colon, before `end` (`0: kd>`, `12:000>`). */
export function digitsThenColon(text: string, at: number, end: number): boolean {
  for (let index = at + 1; index <= at + 3 && index < end; index++) {
    const next = text.charCodeAt(index);
    if (next === 58) return true;
    if (next < 48 || next > 57) return false;
  }
  return false;
}

/** True when the line starts with a kernel prompt (`kd>`, `N: kd>`, `lkd>`), not a user-mode one. */
export function isKernelPrompt(line: string): boolean {
  const match = matchPrompt(line);
  return match !== undefined && match.flavor !== 'user';
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
