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
