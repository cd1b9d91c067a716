/**
 * Pool tag owners from pooltag.txt (the Debugging Tools' `triage\pooltag.txt` format:
 * `Tag - binary - description`, `rem` and `//` comments, wildcard tags such as `Aml*`),
 * extended by a team's `localtag.txt`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { padTag } from '../kd/common.js';

/** One line of pooltag.txt. */
export interface PoolTagEntry {
  /** The tag or pattern as written, padded to 4 characters when it has no wildcard. */
  pattern: string;
  /** `abcflt.sys`; undefined for `<unknown>` or a line without a binary column. */
  binary?: string;
  description: string;
  /** The file and 1-based line it came from. */
  source: string;
  line: number;
}

/** What is known about one tag's owner. */
export interface PoolTagOwner {
  tag: string;
  binary?: string;
  description: string;
  /** `exact` or the wildcard pattern that matched. */
  match: string;
  source: string;
}

/** A parsed pooltag file: entries plus the lines that were not in the format. */
export interface PoolTagFile {
  entries: PoolTagEntry[];
  unparsed: { line: number; text: string }[];
}

// `Tag` is the first four characters (a tag may contain spaces: `Dh 0`), then ` - `.
const entryLine = /^(.{1,4}?)\s*-\s+(.*)$/;
const commentLine = /^\s*(?:\/\/|rem\b|REM\b|#)/;

/** Parse pooltag.txt / localtag.txt text. */
export function parsePoolTagFile(text: string, source = 'pooltag.txt'): PoolTagFile {
  const entries: PoolTagEntry[] = [];
  const unparsed: PoolTagFile['unparsed'] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    // A DOS end-of-file mark (Ctrl+Z) ends some shipped copies.
    if (raw.trim() === '' || raw === '\x1a' || commentLine.test(raw)) return;
    const match = entryLine.exec(raw);
    if (!match) {
      unparsed.push({ line, text: raw });
      return;
    }
    const pattern = match[1]!.includes('*') || match[1]!.includes('?') ? match[1]!.trimEnd() : padTag(match[1]!);
    const rest = match[2]!;
    // Three columns when the middle one names a binary or says <unknown>; two otherwise.
    const split = /^(\S+)\s*-\s+(.*)$/.exec(rest);
    if (split && (split[1] === '<unknown>' || /\.(sys|exe|dll)$/i.test(split[1]!) || /!/.test(split[1]!))) {
      const binary = split[1] === '<unknown>' ? undefined : split[1];
      entries.push({ pattern, binary, description: split[2]!.trim(), source, line });
    } else {
      entries.push({ pattern, description: rest.trim(), source, line });
    }
  });
  return { entries, unparsed };
}

// A wildcard pattern as a predicate: `*` any run, `?` one character.
function wildcardMatcher(pattern: string): (tag: string) => boolean {
  const expression = new RegExp(
    '^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$',
  );
  return (tag) => expression.test(tag) || expression.test(tag.trimEnd());
}

/** Looks up tag owners; later files (localtag.txt) override earlier ones. */
export class PoolTagDatabase {
  private readonly exact = new Map<string, PoolTagEntry>();
  private readonly wildcards: { entry: PoolTagEntry; test: (tag: string) => boolean }[] = [];

  constructor(files: readonly PoolTagFile[] = []) {
    for (const file of files) this.add(file);
  }

  /** Add a file's entries; an exact tag given again replaces the earlier owner. */
  add(file: PoolTagFile): void {
    for (const entry of file.entries) {
      if (/[*?]/.test(entry.pattern)) this.wildcards.unshift({ entry, test: wildcardMatcher(entry.pattern) });
      else this.exact.set(entry.pattern, entry);
    }
  }

  /** The owner of a tag: an exact entry first, else the longest matching wildcard. */
  lookup(tag: string): PoolTagOwner | undefined {
    const padded = padTag(tag);
    const exact = this.exact.get(padded);
    if (exact) return { tag: padded, binary: exact.binary, description: exact.description, match: 'exact', source: exact.source };
    let best: PoolTagEntry | undefined;
    for (const { entry, test } of this.wildcards) {
      if (test(padded) && (!best || entry.pattern.replace(/[*?]/g, '').length > best.pattern.replace(/[*?]/g, '').length)) {
        best = entry;
      }
    }
    return best && { tag: padded, binary: best.binary, description: best.description, match: best.pattern, source: best.source };
  }

  /** Is this tag named by any entry (exact or wildcard)? Used to choose unused tags for retagging. */
  knows(tag: string): boolean {
    return this.lookup(tag) !== undefined;
  }

  get size(): number {
    return this.exact.size + this.wildcards.length;
  }
}

/** Where the Debugging Tools keep pooltag.txt on a Windows host (first that exists wins). */
export function defaultPoolTagPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const roots = [env['ProgramFiles(x86)'], env.ProgramFiles].filter((root): root is string => Boolean(root));
  const paths: string[] = [];
  for (const root of roots) {
    for (const arch of ['x64', 'x86', 'arm64']) paths.push(join(root, 'Windows Kits', '10', 'Debuggers', arch, 'triage', 'pooltag.txt'));
    paths.push(join(root, 'Debugging Tools for Windows (x64)', 'triage', 'pooltag.txt'));
    paths.push(join(root, 'Debugging Tools for Windows (x86)', 'triage', 'pooltag.txt'));
  }
  return paths;
}

/**
 * Load the tag database: an explicit `--pooltag` file, else LEAKHUNT_POOLTAG, else the usual
 * Windows Kits folders; then every `localtag.txt` given. Missing defaults mean an empty database.
 */
export function loadPoolTags(options: { pooltag?: string; localtags?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): PoolTagDatabase {
  const env = options.env ?? process.env;
  const database = new PoolTagDatabase();
  const explicit = options.pooltag ?? env.LEAKHUNT_POOLTAG;
  const main = explicit ?? defaultPoolTagPaths(env).find((path) => existsSync(path));
  if (main) database.add(parsePoolTagFile(readFileSync(main, 'latin1'), main));
  for (const local of options.localtags ?? []) database.add(parsePoolTagFile(readFileSync(local, 'latin1'), local));
  return database;
}
