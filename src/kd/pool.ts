/**
 * Parse kdexts' `!pool <address>`: the blocks of the pool page holding an address, the one asked
 * about marked with `*`. Forms:
 * - old (Windows 2000–2003): block lines only, `*e1001050 size:   10 previous size:   10  (Allocated) *ObDi`;
 * - new (Windows 7 on): a `Pool page <address> region is Nonpaged pool` header, the same block
 *   lines with suffixes (`Process: 8507a030`, `(Protected)`), and under the asked block a
 *   TAB-indented `Pooltag MmSt : Mm section object prototype ptes, Binary : nt!mm` or `Owning
 *   component : Unknown (update pooltag.txt)` line;
 * - a large allocation: `*ffff8287ad34f000 : large page allocation, tag is Proc, size is 0x1000 bytes`;
 * - with flag 1, pool contents (dwords) after each block line;
 * - kd's reasons when it cannot walk the page (`... is not valid pool`, `Failed to read heap key`).
 * The block line is the old `!poolfind` hit line too: both parsers read it with readBlockLine.
 */
import { contentLines, KdParseError, normalizeAddress, padTag } from './common.js';
import type { ParseResultBase } from './common.js';
import { readPrompt } from './prompt.js';

/** One block of the page, in the order kd printed them. */
export interface PoolBlock {
  /** Address of the pool header, lowercase hex without backtick or 0x. */
  address: string;
  /** Block size in bytes (kd prints it in hex). */
  size: number;
  /** Size of the previous block in the page; absent for a large allocation. */
  previousSize?: number;
  /** `allocated` or `free`, as kd printed it in parentheses. */
  state: string;
  /** The tag, 4 characters padded with spaces (a free block's tag is whatever the memory holds). */
  tag: string;
  /** True for the block holding the address asked about (kd's `*`). */
  asked?: boolean;
  /** True for a large allocation (its own pages, no `previous size`). */
  large?: boolean;
  /** The process charged for a quota block (`Process: 8507a030`). */
  process?: string;
  /** True for `(Protected)` blocks. */
  protected?: boolean;
  /** The tag's description from kd's pooltag line; absent when kd had none (`Unknown (update pooltag.txt)`). */
  description?: string;
  /** The binary kd named with the description (`nt!mm`). */
  binary?: string;
  /** Pool contents printed after the block line (flag 1), as dwords. */
  data?: string[];
}

/** Everything `!pool` printed, as data. */
export interface PoolResult extends ParseResultBase {
  /** The address kd looked at (`Pool page … region is …`); absent in the old form. */
  page?: string;
  /** The region kd named. */
  region?: PoolName;
  blocks: PoolBlock[];
  /** kd's reasons when it could not walk the page, in order. */
  messages: string[];
}

/** The fields of a `size: … previous size: … (Allocated) Tag` line, shared with `!poolfind`. */
export interface BlockLine {
  address: string;
  size: number;
  previousSize: number;
  state: string;
  tag: string;
  /** `*` before the address. */
  asked: boolean;
  /** What follows the tag, trimmed (`Process: 8507a030`, `(Protected)`). */
  rest: string;
}

const BLOCK = /^\s*(\*?)([0-9a-f]{8}(?:`?[0-9a-f]{8})?)\s+size:\s*([0-9a-f]{1,12})\s+previous size:\s*([0-9a-f]{1,12})\s+\(([A-Za-z ]+)\)/i;
const HEADER = /^Pool page ([0-9a-f`]+) region is (.+?)(?: pool)?$/i;
const LARGE = /^(\*?)([0-9a-f`]{8,17}) : large page allocation, tag is (.{1,4}), size is (?:0x)?([0-9a-f]+) bytes$/i;
const DESCRIPTION = /^(?:Pooltag (.{1,4}) : (.*?)(?:, Binary : (\S+))?|Owning component : (.*))$/;
const DATA = /^([0-9a-f`]{8,17})((?:\s+[0-9a-f]{8}){1,4})$/i;
const MESSAGE = /is not (?:a )?valid (?:large )?pool|could not be read|Failed to read heap key|Unable to read large session pool table|Unable to get pool/i;

/**
 * Read a pool block line. The state takes 12 columns (`(Allocated) `, `(Free)      `); `!pool`
 * then has a marker column (` ` or the `*` of the asked block) before the tag, `!poolfind` puts
 * the tag (or `*` and the tag) right there. Undefined for any other line.
 */
export function readBlockLine(line: string, markerColumn: boolean): BlockLine | undefined {
  const match = BLOCK.exec(line);
  if (!match) return undefined;
  const close = match.index + match[0].length;
  let start = close - match[5]!.length - 2 + 12;
  let tag: string;
  let rest: string;
  if (start >= line.length || line.slice(close, start).trim() !== '') {
    // Blanks collapsed by whoever published the log: take the next word.
    const words = line.slice(close).trim().replace(/^\*/, '');
    const word = words.split(/\s+/)[0] ?? '';
    tag = padTag(word);
    rest = words.slice(word.length).trim();
  } else {
    if (line[start] === '*' || (markerColumn && line[start] === ' ')) start += 1;
    tag = padTag(line.slice(start, start + 4));
    rest = line.slice(start + 4).trim();
  }
  return {
    address: normalizeAddress(match[2]!),
    size: Number.parseInt(match[3]!, 16),
    previousSize: Number.parseInt(match[4]!, 16),
    state: match[5]!.trim().toLowerCase(),
    tag,
    asked: match[1] === '*',
    rest,
  };
}

/** Parse `!pool` output; throws KdParseError only when the text is not `!pool` output at all. */
export function parsePool(text: string): PoolResult {
  const result: PoolResult = { complete: true, unparsed: [], blocks: [], messages: [] };
  let recognised = false;
  for (const { line, trimmed, first } of contentLines(text)) {
    const prompt = readPrompt(trimmed);
    if (prompt) {
      // The echoed command opening the output is expected; any later prompt is another command.
      if (!(first && /^!pool\b/.test(trimmed.slice(prompt.end)))) result.unparsed.push(line);
      continue;
    }
    const last = result.blocks.at(-1);
    const block = readBlockLine(line, true);
    if (block) {
      recognised = true;
      const { rest, asked, ...fields } = block;
      const entry: PoolBlock = { ...fields, ...(asked && { asked }) };
      const process = /^Process: ([0-9a-f`]+)/i.exec(rest);
      if (process) entry.process = normalizeAddress(process[1]!);
      if (/\(Protected\)/.test(rest)) entry.protected = true;
      if (rest !== '' && !process && !entry.protected) result.unparsed.push(line);
      result.blocks.push(entry);
      continue;
    }
    const large = LARGE.exec(trimmed);
    if (large) {
      recognised = true;
      result.blocks.push({ address: normalizeAddress(large[2]!), size: Number.parseInt(large[4]!, 16), state: 'allocated', tag: padTag(large[3]!), ...(large[1] === '*' && { asked: true }), large: true });
      continue;
    }
    const header = HEADER.exec(trimmed);
    if (header) {
      recognised = true;
      result.page = normalizeAddress(header[1]!);
      result.region = readPoolName(header[2]!);
      continue;
    }
    const description = last && /^\t/.test(line) ? DESCRIPTION.exec(trimmed) : null;
    if (description && last) {
      // `Owning component : Unknown (update pooltag.txt)` says kd has no description.
      if (description[2] !== undefined && description[2] !== '') last.description = description[2];
      if (description[3] !== undefined) last.binary = description[3];
      if (description[4] !== undefined && !/^Unknown\b/i.test(description[4])) last.description = description[4];
      continue;
    }
    const data = last ? DATA.exec(trimmed) : null;
    if (data && last) {
      (last.data ??= []).push(...data[2]!.trim().split(/\s+/));
      continue;
    }
    if (MESSAGE.test(trimmed)) {
      recognised = true;
      result.messages.push(trimmed);
      continue;
    }
    if (/^(\.{3,}|…+|\[\.\.\.\])$/.test(trimmed)) {
      result.complete = false;
      continue;
    }
    result.unparsed.push(line);
  }
  if (!recognised) throw new KdParseError('pool', 'Expected !pool output (pool block lines or "Pool page … region is …"), got none');
  return result;
}

/** The pool a block lives in; `unknown` where kd did not say. */
export type PoolName = 'nonpaged' | 'paged' | 'session' | 'special' | 'unknown';

/** `NonPaged`, `Nonpaged`, `nonpaged`, `Paged`, `Session`, `Paged session`, `Special` → the pool's name. */
export function readPoolName(word: string): PoolName {
  const lower = word.trim().toLowerCase().replace(/ pool$/, '');
  if (lower === 'nonpaged') return 'nonpaged';
  if (lower === 'paged') return 'paged';
  if (lower === 'session' || lower === 'paged session') return 'session';
  if (lower === 'special') return 'special';
  return 'unknown';
}
