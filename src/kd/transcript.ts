/**
 * What a saved kd log needs before it is parsed: its header and quoting removed, and each
 * command mapped to the parser its output calls for.
 */

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
  [/^!pool(?:\s|$)/, 'pool'],
  [/^k[bcdfLmnpPv]*(?:\s|$)/, 'stack'],
  [/^lm[a-z]*(?:\s|$)/, 'lm'],
  [/^x\s/, 'x'],
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

/**
 * Where a transcript header ends among the first lines of a text: the index of the line after
 * its closing `# ---`, 0 when the text has no header (leading `# key: value` lines closed by a
 * `# ---` line within the first 64, the form leakhunt's kd fixtures carry their source notes
 * in), undefined while the lines so far cannot tell and more may come (`final` false).
 */
export function transcriptHeaderEnd(lines: readonly string[], final: boolean): number | undefined {
  for (let index = 0; index < lines.length && index < HEADER_LINES; index++) {
    const raw = lines[index]!;
    if (index === 0 && !/^# [a-z]+:/.test(raw)) return 0;
    const line = raw.replace(/\r$/, '');
    if (line === '# ---') return index + 1;
    if (!line.startsWith('#')) return 0;
  }
  return final || lines.length >= HEADER_LINES ? 0 : undefined;
}

const HEADER_LINES = 64;

/** Remove a transcript header (see transcriptHeaderEnd). Text without one is returned as is. */
export function stripTranscriptHeader(text: string): string {
  // Only the first lines can matter, so the log is not split as a whole.
  const lines = text.split('\n', HEADER_LINES);
  const end = transcriptHeaderEnd(lines, true)!;
  if (end === 0) return text;
  let offset = 0;
  for (let index = 0; index < end; index++) offset += lines[index]!.length + 1;
  return text.slice(offset);
}

/**
 * Finds the quoting prefix every non-blank line shares (`    // `, `> `, `; `), as when kd
 * output is pasted into a source comment or a mail quote, fed one line at a time. `push` returns
 * false once it is known that there is none (most logs: at their first line of content).
 */
export class QuotePrefixFinder {
  private prefix: string | undefined;
  private failed = false;

  push(line: string): boolean {
    if (this.failed) return false;
    if (line.trim() === '') return true;
    const match = QUOTE_PREFIX.exec(line);
    if (!match) {
      this.failed = true;
      return false;
    }
    if (this.prefix === undefined) this.prefix = match[1];
    else if (!line.startsWith(this.prefix)) {
      // Lines may differ only in the optional space after the marker.
      const bare = this.prefix.trimEnd();
      if (!line.startsWith(bare)) {
        this.failed = true;
        return false;
      }
      this.prefix = bare;
    }
    return true;
  }

  /** The prefix every line read had; undefined when there is none. */
  result(): string | undefined {
    return this.failed ? undefined : this.prefix;
  }
}

/** A line with the quoting prefix (from QuotePrefixFinder) removed. */
export function unquoteLine(line: string, prefix: string): string {
  return line.startsWith(prefix) ? line.slice(prefix.length) : line.trimStart();
}

/** Remove a quoting prefix every non-blank line shares (see QuotePrefixFinder). Other text is returned as is. */
export function unquoteTranscript(text: string): string {
  const finder = new QuotePrefixFinder();
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    if (!finder.push(text.slice(start, end))) return text;
    if (newline < 0) break;
    start = newline + 1;
  }
  const prefix = finder.result();
  if (prefix === undefined) return text;
  return text
    .split('\n')
    .map((line) => unquoteLine(line, prefix))
    .join('\n');
}

const QUOTE_PREFIX = /^(\s*(?:\/\/|>|;) ?)/;

/** Header removed and quoting undone: the text kd printed. */
export function prepareTranscript(text: string): string {
  return unquoteTranscript(stripTranscriptHeader(text));
}
