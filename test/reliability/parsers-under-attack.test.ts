// Issue 7 §4, over EVERY parser in the registry (src/kd/index.ts), not a chosen few: real
// transcripts (test/fixtures/kd) mutated at random give a well-formed result or KdParseError and
// nothing else; and 1 MB of each kind, as many lines or as one long line, is read whole. How the
// time grows from 100 KB to 1 MB (linear, never quadratic: ReDoS) is the scaling figure of
// `npm run bench`, not a test: no test depends on how fast the machine is.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { KdParseError } from '../../src/kd/common.js';
import { KD_PARSERS } from '../../src/kd/index.js';
import type { KdParserInfo } from '../../src/kd/index.js';

const fixtureDir = fileURLToPath(new URL('../fixtures/kd/', import.meta.url));
const fixtureFiles = readdirSync(fixtureDir).filter((name) => name.endsWith('.txt')).sort();

// A fixture's transcript, after its `# ---` source header.
function body(name: string): string {
  const text = readFileSync(fixtureDir + name, 'utf8');
  const start = text.indexOf('\n# ---\n');
  return start < 0 ? text : text.slice(start + '\n# ---\n'.length);
}

/** Fixture name prefixes (the command they hold) that are real samples of each kind. */
const samplesOf: Record<string, readonly string[]> = {
  banner: ['banner', 'breakin'],
  vertarget: ['vertarget'],
  version: ['version'],
  poolused: ['poolused'],
  poolfind: ['poolfind'],
  pool: ['pool-'],
  stack: ['k-', 'kb', 'kc', 'kn', 'kp', 'kv'],
  db: ['db'],
  dw: ['db', 'dd'],
  dd: ['dd', 'ed'],
  dc: ['dc'],
  dq: ['dq'],
  memory: ['db', 'dd', 'dc', 'dq'],
  u: ['step', 'dq', 'ub-', 'uf-'],
  gflag: ['gflag-'],
  gflags: ['gflags'],
  break: ['break', 'bphit', 'poolhittag', 'step'],
  reload: ['reload'],
  lm: ['lm'],
  x: ['x-'],
  auto: ['poolhittag', 'reload', 'bphit', 'analyze'],
};

/** Kinds with no real transcript of their own in test/fixtures/kd: attacked with their neighbours' dumps. */
const noOwnSample = new Set(['dw']);

// The real samples of a kind (and, to keep every parser honest, two transcripts of other kinds).
function seeds(kind: string): string[] {
  const own = fixtureFiles.filter((name) => (samplesOf[kind] ?? []).some((prefix) => name.startsWith(prefix)));
  return [...own, 'poolused-win10-x64-1.txt', 'kb-win7-x86-1.txt'].map(body);
}

// One damage done to a transcript, at positions taken modulo its size.
type Mutation = { op: 'drop' | 'duplicate' | 'truncate' | 'flip'; at: number } | { op: 'insert'; at: number; text: string } | { op: 'swap'; at: number; other: number };

const damage: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constantFrom('drop' as const, 'duplicate' as const, 'truncate' as const, 'flip' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), at: fc.nat(), other: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
      fc.string({ unit: 'grapheme', maxLength: 24 }),
      fc.constantFrom('`', '0x', 'ffffffff`ffffffff', '9'.repeat(40), ' kd> ', '0: kd> ', '\r\n', '\t', '...', '!', '+0x', ' : ', 'TOTAL', '\u0000', '\uFFFD', '-'.repeat(30)),
    ),
  }),
);

// Apply damage line-wise or character-wise.
function mutate(text: string, changes: readonly Mutation[]): string {
  let result = text;
  for (const change of changes) {
    if (change.op === 'truncate') {
      result = result.slice(0, change.at % (result.length + 1));
      continue;
    }
    if (change.op === 'insert' || change.op === 'flip') {
      const at = change.at % (result.length + 1);
      const replacement = change.op === 'insert' ? change.text : String.fromCharCode((result.charCodeAt(at) || 32) ^ 0x21);
      result = result.slice(0, at) + replacement + result.slice(change.op === 'flip' ? at + 1 : at);
      continue;
    }
    const lines = result.split('\n');
    const line = change.at % Math.max(lines.length, 1);
    if (change.op === 'drop') lines.splice(line, 1);
    else if (change.op === 'duplicate') lines.splice(line, 0, lines[line] ?? '');
    else if (change.op === 'swap') {
      const other = change.other % Math.max(lines.length, 1);
      [lines[line], lines[other]] = [lines[other]!, lines[line]!];
    }
    result = lines.join('\n');
  }
  return result;
}

// Every number in a result is finite (no NaN or Infinity from digit runs).
function finiteNumbers(value: unknown, seen = new Set<unknown>()): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (value === null || typeof value !== 'object' || seen.has(value)) return true;
  seen.add(value);
  return Object.values(value).every((item) => finiteNumbers(item, seen));
}

// Parse; the result must be well formed, and only KdParseError may escape.
function parseTolerant(info: KdParserInfo, text: string): 'parsed' | 'refused' {
  let result;
  try {
    result = info.parse(text);
  } catch (error) {
    if (!(error instanceof KdParseError)) throw new Error(`${info.kind} threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message} for ${JSON.stringify(text.slice(0, 200))}`);
    expect(error.code).toBe('KD_PARSE_ERROR');
    expect(typeof error.message).toBe('string');
    return 'refused';
  }
  expect(typeof result.complete).toBe('boolean');
  expect(Array.isArray(result.unparsed) && result.unparsed.every((line) => typeof line === 'string')).toBe(true);
  expect(finiteNumbers(result)).toBe(true);
  return 'parsed';
}

// Repeat text to exactly `size` characters.
function grow(text: string, size: number): string {
  return text.repeat(Math.ceil(size / Math.max(text.length, 1))).slice(0, size);
}

describe('the registry', () => {
  test('every registered kind has real fixtures to attack', () => {
    expect(KD_PARSERS.length).toBeGreaterThanOrEqual(15);
    for (const info of KD_PARSERS) {
      const own = fixtureFiles.filter((name) => (samplesOf[info.kind] ?? []).some((prefix) => name.startsWith(prefix)));
      expect(own.length, `no fixture for ${info.kind}: add its prefixes to samplesOf`).toBeGreaterThan(0);
    }
  });

  test('the real samples parse (the attack starts from accepted input)', () => {
    for (const info of KD_PARSERS.filter((i) => !noOwnSample.has(i.kind))) {
      const outcomes = seeds(info.kind).slice(0, -2).map((text) => parseTolerant(info, text));
      expect(outcomes, info.kind).toContain('parsed');
    }
  });
});

describe.each(KD_PARSERS.map((info) => [info.kind, info] as const))('%s under attack', (_kind, info) => {
  const texts = seeds(info.kind);

  test('mutated real transcripts: a well-formed result or KdParseError, nothing else', () => {
    fc.assert(
      fc.property(fc.constantFrom(...texts), fc.array(damage, { minLength: 1, maxLength: 6 }), (text, changes) => {
        parseTolerant(info, mutate(text, changes));
      }),
      { numRuns: 80 },
    );
  });

  test('100 KB and 1 MB, as many lines and as one long line: read whole', () => {
    const sample = texts[0]!;
    const longest = sample.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');
    for (const unit of [sample.endsWith('\n') ? sample : `${sample}\n`, longest.trim() || sample]) {
      for (const size of [100_000, 1_000_000]) parseTolerant(info, grow(unit, size));
    }
  }, 60_000);
});
