// Reading stacks.jsonl: lines to classified stacks (the shared classification), streamed.
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { forEachLine } from '../../src/report/lines.js';
import { wrapperList } from '../../src/evidence/classify.js';
import { PairingBook, type StackRecord, type StackSummary } from '../../src/evidence/pairing.js';
import { normalizeStackRecord, readStacksFile, StackLineReader } from '../../src/report/stacks-file.js';
import { fixture } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'leakhunt-stacks-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;
// A new file in the scratch folder with these bytes.
const scratchFile = (content: string | Buffer): string => {
  const path = join(scratch, `file-${++files}`);
  writeFileSync(path, content);
  return path;
};

describe('a stacks.jsonl line is classified by the shared classification', () => {
  test('classic allocation behind the verifier (the Windows 7 x86 PoolHitTag transcript): site is the driver frame', () => {
    const record = normalizeStackRecord({
      frames: ['nt!ExAllocatePoolWithTag+0x881', 'nt!ExAllocatePoolWithTagPriority+0x196', 'nt!VeAllocatePoolWithTagPriority+0x1a7', 'nt!VerifierExAllocatePoolWithTag+0x1e', 'Sample!DriverEntry+0x27 (FPO: [Non-Fpo]) (CONV: stdcall) [J:\\dev\\Sample.cpp @ 16]', 'nt!IopLoadDriver+0x7ed'],
    }) as StackRecord;
    expect(record).toMatchObject({ kind: 'alloc', site: { index: 4, frame: 'Sample!DriverEntry+0x27', module: 'Sample', function: 'DriverEntry', offset: 0x27 } });
    expect(record.culprit).toBe(record.site);
    expect(record.frames[4]).toBe('Sample!DriverEntry+0x27');
  });

  test('the Windows 7 x64 BBT chunk above the allocator is nt\'s, not the site (as the live hunt writes it, with or without the space)', () => {
    for (const chunk of ["nt! ?? ::FNODOBFM::`string'+0x24a2a", "nt!?? ::FNODOBFM::`string'+0x24a2a"]) {
      const record = normalizeStackRecord({ frames: [chunk, 'nt!ExAllocatePoolWithTag+0x1b2', 'leakdrv!LeakAllocateEntry+0x1e', 'nt!IofCallDriver+0x3a'] }) as StackRecord;
      expect(record).toMatchObject({ kind: 'alloc', site: { frame: 'leakdrv!LeakAllocateEntry+0x1e' }, culprit: { frame: 'leakdrv!LeakAllocateEntry+0x1e' } });
      expect(record.frames[0]).toBe("nt! ?? ::FNODOBFM::`string'+0x24a2a");
    }
  });

  test('a wrapper site: the culprit is the calling driver; a culprit the live hunt recorded (its own wrappers) is kept', () => {
    const frames = ['nt!ExAllocatePoolWithTag+0x5d', 'NDIS!NdisAllocateMemoryWithTagPriority+0x2c', 'ethmp!MpAllocateRxBuffer+0x44', 'ethmp!MpHandleInterrupt+0x91'];
    expect(normalizeStackRecord({ frames })).toMatchObject({ site: { frame: 'NDIS!NdisAllocateMemoryWithTagPriority+0x2c' }, culprit: { frame: 'ethmp!MpAllocateRxBuffer+0x44' } });
    expect(normalizeStackRecord({ frames, culprit: 'ethmp!MpHandleInterrupt+0x91' })).toMatchObject({ culprit: { index: 3, frame: 'ethmp!MpHandleInterrupt+0x91' } });
    expect(normalizeStackRecord({ frames }, { wrappers: wrapperList(['ethmp!MpAllocate*']) })).toMatchObject({ culprit: { frame: 'ethmp!MpHandleInterrupt+0x91' } });
  });

  test('the collect-stacks line shape (operation, site, null address) is read', () => {
    const record = normalizeStackRecord({ seq: 1, hit: 1, atMs: 5, tag: 'Abc ', operation: 'alloc', site: 'abc!Open+0x1', frames: ['nt!ExAllocatePoolWithTag+0x5d', 'abc!Open+0x1'], size: 112, address: null });
    expect(record).toMatchObject({ kind: 'alloc', tag: 'Abc ', size: 112, atMs: 5, site: { frame: 'abc!Open+0x1' } });
    expect((record as StackRecord).address).toBeUndefined();
  });

  test.each([
    [['nt!ExFreePoolWithTag+0x9', 'abc!Close+0x1'], 'free'],
    [['nt!ExFreeHeapPool+0x2e2', 'nt!ExFreePoolWithTag+0x9', 'abc!Close+0x1'], 'free'],
    [['nt!ExAllocateHeapPool+0x1a3', 'nt!ExAllocatePoolWithTag+0x5d', 'abc!Open+0x1'], 'alloc'],
    [['nt!ExAllocatePool2+0x4c', 'abc!Open+0x1'], 'alloc'],
    [['nt!KiSwapContext+0x76', 'nt!KiSwapThread+0x500'], 'unknown'],
    [['nt!DbgBreakPointWithStatus', 'nt!ExpRemovePoolTracker+0x10', 'nt!ExFreePoolWithTag+0x9', 'abc!Close+0x1'], 'free'],
    // A driver function named like an allocator is not the kernel's allocator.
    [['abc!AbcAllocatePool+0x10', 'abc!Open+0x1'], 'unknown'],
  ])('%j → %s', (texts, kind) => {
    expect(normalizeStackRecord({ frames: texts })).toMatchObject({ kind });
  });
});

describe('normalizeStackRecord accepts the shapes a collector may write', () => {
  test('strings, kb-style objects, hex sizes, backtick addresses', () => {
    const record = normalizeStackRecord({
      op: 'allocate',
      tag: 'Abc',
      address: 'FFFFA60C`F91A0100',
      size: '0x70',
      stack: { frames: [{ callSite: 'nt!ExAllocatePoolWithTag+0x5d' }, { module: 'abcflt', function: 'AbcAllocateContext', offset: 42 }] },
    });
    expect(record).toMatchObject({ kind: 'alloc', tag: 'Abc ', address: 'ffffa60cf91a0100', size: 0x70, site: { frame: 'abcflt!AbcAllocateContext+0x2a' } });
    expect((record as StackRecord).frames).toEqual(['nt!ExAllocatePoolWithTag+0x5d', 'abcflt!AbcAllocateContext+0x2a']);
  });

  test('kind is classified from frames when the line does not say', () => {
    expect(normalizeStackRecord({ frames: ['nt!ExFreePoolWithTag+0x9', 'abc!Close+0x1'] })).toMatchObject({ kind: 'free' });
  });

  test.each([[null, 'not a JSON object'], [[1], 'not a JSON object'], [{ tag: 'Abc' }, 'no frames'], [{ frames: [] }, 'no frames']])('%j is rejected: %s', (value, reason) => {
    expect(normalizeStackRecord(value)).toBe(reason);
  });
});

describe('readStacksFile on the constructed leak run', () => {
  test('streams the file, pairs, aggregates by site and reports bad lines with their numbers', async () => {
    const summary = (await readStacksFile(fixture('report/leak-run/stacks.jsonl')))!;
    expect(summary).toMatchObject({ records: 190, allocs: 121, frees: 69, unmatchedFrees: 0, paired: true, firstAtMs: 1500, lastAtMs: 228310 });
    expect(summary.invalid).toEqual([
      { line: 191, reason: expect.stringMatching(/^not JSON/) },
      { line: 192, reason: 'no frames' },
    ]);
    expect(summary.sites.map((s) => [s.site.text, s.allocs, s.frees, s.outstanding, s.outstandingBytes])).toEqual([
      ['abcflt!AbcAllocateContext+0x2a', 60, 10, 50, 5600],
      ['abcflt!AbcCreateStream+0x4c', 60, 59, 1, 512],
      ['evil!<img src=x onerror=alert(1)>+0x1', 1, 0, 1, 16],
    ]);
    const culprit = summary.sites[0]!;
    expect(culprit.tree.children.map((c) => [c.frame, c.bytes, c.allocs])).toEqual([
      ['abcflt!AbcCreate+0x71', 3360, 30],
      ['abcflt!AbcCleanup+0x3e', 2240, 20],
    ]);
    expect(culprit.callers[0]).toBe('abcflt!AbcCreate+0x71');
  });

  test('a missing file is undefined, not an error', async () => {
    expect(await readStacksFile(fixture('report/leak-run/nope.jsonl'))).toBeUndefined();
  });
});

// The lines readline gives (as readStacksFile read them before), to compare forEachLine with.
async function readlineLines(path: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) lines.push(line);
  return lines;
}

async function chunkedLines(path: string): Promise<string[]> {
  const lines: string[] = [];
  await forEachLine(path, (line) => lines.push(line));
  return lines;
}

describe('forEachLine cuts lines as readline does', () => {
  test.each([
    ['LF, a last line without a break', 'a\nb\nc'],
    ['CRLF, empty lines, a break at the end', 'a\r\n\r\nb\r\n'],
    ['lone CRs, CR CR LF, a CR at the very end', 'a\rb\r\r\nc\r'],
    ['only breaks', '\n\n\r\n'],
    ['a byte-order mark and unicode', '\ufeff{"frames":["dr\u00e9!F\u00fcr+0x1"]}\n\ud834\udd1e \u2028 x\n'],
    ['empty file', ''],
  ])('%s', async (_name, content) => {
    const path = scratchFile(content);
    expect(await chunkedLines(path)).toEqual(await readlineLines(path));
  });

  test('characters and CRLF cut by the 1 MiB chunk boundary', async () => {
    const mib = 1 << 20;
    // A 4-byte character across the first boundary, a CR LF across the second.
    const head = 'x'.repeat(mib - 2) + '\ud834\udd1e' + 'tail\n';
    const second = 'y'.repeat(mib * 2 - Buffer.byteLength(head) - 1) + '\r\nlast \u00e9\r\n';
    const content = head + second;
    expect(Buffer.byteLength(content)).toBeGreaterThan(2 * mib);
    expect(Buffer.from(content).subarray(2 * mib - 1, 2 * mib + 1).toString('latin1')).toBe('\r\n');
    const path = scratchFile(content);
    const lines = await chunkedLines(path);
    expect(lines).toEqual(await readlineLines(path));
    expect(lines.map((line) => line.length)).toEqual([mib - 2 + 2 + 4, second.indexOf('\r'), 'last \u00e9'.length]);
  });

  test('an all-ASCII first chunk, then characters beyond ASCII, one of them cut by the next boundary', async () => {
    const mib = 1 << 20;
    const first = `${'a'.repeat(mib - 1)}\n`;
    // '\u20ac' is 3 bytes: it starts 1 byte before the second boundary.
    const second = `b\u00e9${'c'.repeat(mib - 4)}\u20ac\n`;
    const path = scratchFile(first + second);
    expect(Buffer.byteLength(first + 'b\u00e9' + 'c'.repeat(mib - 4))).toBe(2 * mib - 1);
    const lines = await chunkedLines(path);
    expect(lines).toEqual(await readlineLines(path));
    expect(lines[1]!.slice(0, 2)).toBe('b\u00e9');
    expect(lines[1]!.slice(-1)).toBe('\u20ac');
  });

  test('a lone CR in the unended line at a chunk boundary, the next chunk without one', async () => {
    const path = scratchFile(`${'x'.repeat((1 << 20) - 10)}a\rb${'c'.repeat(20)}\nd\n`);
    const lines = await chunkedLines(path);
    expect(lines).toEqual(await readlineLines(path));
    expect(lines.slice(1)).toEqual([`b${'c'.repeat(20)}`, 'd']);
  });

  test('any mix of breaks and characters (property)', async () => {
    const piece = fc.constantFrom('a', '{"x":1}', '\n', '\r', '\r\n', '\u00e9', '\ud83d\ude00', ' ', '\t');
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 40 }), async (pieces) => {
        const path = scratchFile(pieces.join(''));
        expect(await chunkedLines(path)).toEqual(await readlineLines(path));
      }),
      { numRuns: 150 },
    );
  });
});

// What readStacksFile made of one line before the reader: JSON.parse, then normalizeStackRecord.
function plainRead(text: string): StackRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  return normalizeStackRecord(value);
}

describe('StackLineReader reads a line as JSON.parse and normalizeStackRecord do', () => {
  const collectorLine = (seq: number, frames: string[], extra: Record<string, unknown> = {}) =>
    JSON.stringify({ seq, hit: seq, atMs: seq * 3, tag: 'Abc', operation: 'alloc', site: frames[1] ?? null, frames, size: 64, address: `e10${seq}00`, ...extra });
  const allocFrames = ['nt!ExAllocatePoolWithTag+0x4a9', 'drv0!Open+0x10', 'nt!IofCallDriver+0x3a'];

  test.each([
    ['the collector shape', collectorLine(1, allocFrames)],
    ['unusual spacing', ' { "seq" : 1 ,\t"operation":"free" , "frames" : [ "nt!ExFreePoolWithTag+0x9" ,  "abc!Close+0x1" ] , "address" : "0xFFFF`0010" } '],
    ['unicode in frames and tag', collectorLine(2, ['nt!ExAllocatePoolWithTag+0x4a9', 'dr\u00e9v!\u00d6ffnen+0x10', '\ud834\udd1e!x+0x1'], { tag: '\u00c4bc' })],
    ['escapes in frames', collectorLine(3, ['nt!ExAllocatePoolWithTag+0x4a9', 'a\\b!C\"d+0x1', 'x]y!z+0x2'])],
    ['a truncated line', collectorLine(4, allocFrames).slice(0, 60)],
    ['a line cut inside its frames', collectorLine(5, allocFrames).slice(0, 130)],
    ['frames given twice (the last wins)', '{"frames":["nt!ExFreePoolWithTag+0x9","a!b+0x1"],"kind":"alloc","frames":["nt!ExAllocatePool2+0x4c","abc!Open+0x1"]}'],
    ['frames null, stack used', '{"frames":null,"stack":["nt!ExAllocatePool2+0x4c","abc!Open+0x1"],"size":"0x70"}'],
    ['frames of objects', '{"frames":[{"callSite":"nt!ExAllocatePoolWithTag+0x5d"},{"module":"abc","function":"Open","offset":42}],"address":"FFFFA60C`F91A0100"}'],
    ['frames with a number and a blank string', '{"frames":[7,"  ","nt!ExFreePoolWithTag+0x9","abc!Close+0x1"]}'],
    ['empty frames', '{"frames":[],"kind":"alloc"}'],
    ['an array line', '[1,2]'],
    ['a null line', 'null'],
    ['a number line', '42'],
    ['not JSON at all', 'this line is not JSON'],
    ['a byte-order mark', '\ufeff{"frames":["nt!ExFreePoolWithTag+0x9"]}'],
  ])('%s', (_name, line) => {
    const reader = new StackLineReader();
    const expected = plainRead(line);
    // Twice: once filling the caches, once from them.
    expect(reader.read(line)).toEqual(expected);
    expect(reader.read(line)).toEqual(expected);
  });

  test('the same frames strings give the same frames array and attribution, whatever the spacing', () => {
    const reader = new StackLineReader();
    const first = reader.read(collectorLine(1, allocFrames)) as StackRecord;
    const second = reader.read(JSON.stringify(JSON.parse(collectorLine(2, allocFrames)), null, 2).replace(/\n/g, ' ')) as StackRecord;
    expect(second.frames).toBe(first.frames);
    expect(second.site).toBe(first.site);
    expect(second).toMatchObject({ kind: 'alloc', address: 'e10200', atMs: 6 });
  });

  test('frames lists that hash alike are still told apart', () => {
    const reader = new StackLineReader();
    // Same lengths and the same characters where the cheap hash looks; different elsewhere.
    const a = reader.read(collectorLine(1, ['nt!ExAllocatePoolWithTag+0x4a9', 'aXbcdefgh!F+0x1'])) as StackRecord;
    const b = reader.read(collectorLine(2, ['nt!ExAllocatePoolWithTag+0x4a9', 'aYbcdefgh!F+0x1'])) as StackRecord;
    expect(a.site?.module).toBe('aXbcdefgh');
    expect(b.site?.module).toBe('aYbcdefgh');
  });

  test('any collector-like line, whole or cut short (property)', () => {
    const frame = fc.oneof(
      fc.constantFrom('nt!ExAllocatePoolWithTag+0x4a9', 'nt!ExFreePoolWithTag+0x11e', 'nt!DbgBreakPoint+0x0', 'drv!Open+0x10', 'AsusPTPFilter+0x11efb', '0xd'),
      fc.string({ maxLength: 12, unit: 'binary' }),
    );
    const frames = fc.oneof(fc.array(frame, { maxLength: 6 }), fc.constant(null), fc.array(fc.oneof(frame, fc.integer(), fc.record({ module: fc.string(), offset: fc.integer() }))));
    const line = fc.record(
      {
        seq: fc.nat(),
        tag: fc.oneof(fc.string({ maxLength: 5 }), fc.constant(null)),
        operation: fc.constantFrom('alloc', 'free', 'Allocate', 'other', 'unknown', ''),
        frames,
        size: fc.oneof(fc.nat(), fc.constant('0x70'), fc.constant(null)),
        address: fc.oneof(fc.constant('e1000400'), fc.constant('0xFFFF`0010'), fc.constant('00e1'), fc.nat(), fc.constant(null), fc.string({ maxLength: 4 })),
      },
      { requiredKeys: ['frames'] },
    );
    const text = fc.tuple(line, fc.constantFrom(0, 1, 2), fc.option(fc.nat())).map(([value, indent, cut]) => {
      const json = JSON.stringify(value, null, indent).replace(/\n/g, ' ');
      return cut === null ? json : json.slice(0, cut % (json.length + 1));
    });
    const reader = new StackLineReader();
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 8 }), (lines) => {
        for (const one of lines) expect(reader.read(one)).toEqual(plainRead(one));
      }),
      { numRuns: 300 },
    );
  });
});

describe('readStacksFile gives what line-by-line parsing and adding gives', () => {
  // The summary of the reference way: readline, JSON.parse, normalizeStackRecord, a fresh frames array per record.
  async function reference(path: string): Promise<StackSummary> {
    const aggregator = new PairingBook();
    let line = 0;
    for (const text of await readlineLines(path)) {
      line++;
      if (!text.trim()) continue;
      const record = plainRead(text);
      if (typeof record === 'string') aggregator.reject(line, record);
      else aggregator.add(record);
    }
    return aggregator.summary();
  }

  test('CRLF lines, odd spacing, unicode frames, blank lines and a truncated last line', async () => {
    const alloc = (address: string, caller: string) => ({ tag: 'Abc', operation: 'alloc', frames: ['nt!ExAllocatePoolWithTag+0x4a9', 'dr\u00e9v!\u00d6ffnen+0x10', caller], size: 32, address });
    const lines = [
      JSON.stringify(alloc('e1', 'nt!IofCallDriver+0x3a')),
      JSON.stringify(alloc('e2', 'nt!IofCallDriver+0x3a'), null, 1).replace(/\n/g, ' '),
      '',
      JSON.stringify(alloc('e3', '\u30c9\u30e9\u30a4\u30d0!Call+0x1')),
      '  ',
      JSON.stringify({ tag: 'Abc', operation: 'free', frames: ['nt!ExFreePoolWithTag+0x11e', 'dr\u00e9v!Close+0x1'], address: 'e1' }),
      JSON.stringify(alloc('e4', 'nt!IofCallDriver+0x3a')).slice(0, 70),
    ];
    const path = scratchFile(lines.join('\r\n'));
    const summary = (await readStacksFile(path))!;
    expect(summary).toEqual(await reference(path));
    expect(summary).toMatchObject({ records: 4, allocs: 3, frees: 1, invalid: [{ line: 7, reason: expect.stringMatching(/^not JSON/) }] });
    expect(summary.sites[0]).toMatchObject({ site: { text: 'dr\u00e9v!\u00d6ffnen+0x10' }, outstanding: 2, outstandingBytes: 64 });
    expect(summary.sites[0]!.tree.children.map((c) => c.frame).sort()).toEqual(['nt!IofCallDriver+0x3a', '\u30c9\u30e9\u30a4\u30d0!Call+0x1']);
  });

  test('the constructed leak run', async () => {
    const path = fixture('report/leak-run/stacks.jsonl');
    expect(await readStacksFile(path)).toEqual(await reference(path));
  });
});
