import { describe, expect, test } from 'vitest';
import { callSiteIndex, classifyStack, normalizeStackRecord, parseFrame, readStacksFile, StackAggregator, type StackRecord } from '../../src/report/stacks.js';
import { fixture } from './helpers.js';

const frames = (...texts: string[]) => texts.map(parseFrame);

describe('parseFrame', () => {
  test.each([
    ['nt!ExAllocatePoolWithTag+0x881', { module: 'nt', function: 'ExAllocatePoolWithTag', offset: 0x881 }],
    ['Sample!DriverEntry+0x27 (FPO: [Non-Fpo]) (CONV: stdcall) [J:\\dev\\Sample.cpp @ 16]', { text: 'Sample!DriverEntry+0x27', module: 'Sample', offset: 0x27 }],
    ['RPCRT4!RPC_INTERFACE::DispatchToStub+0x8b', { module: 'RPCRT4', function: 'RPC_INTERFACE::DispatchToStub', offset: 0x8b }],
    ['nt!RtlpBreakWithStatusInstruction', { module: 'nt', function: 'RtlpBreakWithStatusInstruction', offset: 0 }],
    ['AsusPTPFilter+0x11efb', { module: 'AsusPTPFilter', function: undefined, offset: 0x11efb }],
    ['0x00007ffa`506efb44', { module: undefined, function: undefined, text: '0x00007ffa`506efb44' }],
  ])('%s', (text, expected) => {
    const frame = parseFrame(text);
    expect({ text: frame.text, module: frame.module, function: frame.function, offset: frame.offset }).toMatchObject(expected);
  });
});

describe('classifying a PoolHitTag stack', () => {
  test('classic allocation behind the verifier (the Windows 7 x86 PoolHitTag transcript): site is the driver frame', () => {
    const stack = frames(
      'nt!ExAllocatePoolWithTag+0x881',
      'nt!ExAllocatePoolWithTagPriority+0x196',
      'nt!VeAllocatePoolWithTagPriority+0x1a7',
      'nt!VerifierExAllocatePoolWithTag+0x1e',
      'Sample!DriverEntry+0x27',
      'nt!IopLoadDriver+0x7ed',
    );
    expect(classifyStack(stack)).toBe('alloc');
    expect(callSiteIndex(stack)).toBe(4);
  });

  test('break stubs above the allocator are skipped when finding the site', () => {
    expect(callSiteIndex(frames('nt!RtlpBreakWithStatusInstruction', 'nt!ExAllocatePoolWithTag+0x5d', 'abc!Open+0x1'))).toBe(2);
  });

  test('the collect-stacks line shape (operation, site, null address) is read', () => {
    const record = normalizeStackRecord({ seq: 1, hit: 1, atMs: 5, tag: 'Abc ', operation: 'alloc', site: 'abc!Open+0x1', frames: ['nt!ExAllocatePoolWithTag+0x5d', 'abc!Open+0x1'], size: 112, address: null });
    expect(record).toMatchObject({ kind: 'alloc', tag: 'Abc ', size: 112, atMs: 5 });
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
    expect(classifyStack(frames(...texts))).toBe(kind);
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
    expect(record).toMatchObject({ kind: 'alloc', tag: 'Abc ', address: 'ffffa60cf91a0100', size: 0x70 });
    expect((record as StackRecord).frames.map((f) => f.text)).toEqual(['nt!ExAllocatePoolWithTag+0x5d', 'abcflt!AbcAllocateContext+0x2a']);
  });

  test('kind is classified from frames when the line does not say', () => {
    expect(normalizeStackRecord({ frames: ['nt!ExFreePoolWithTag+0x9', 'abc!Close+0x1'] })).toMatchObject({ kind: 'free' });
  });

  test.each([[null, 'not a JSON object'], [[1], 'not a JSON object'], [{ tag: 'Abc' }, 'no frames'], [{ frames: [] }, 'no frames']])('%j is rejected: %s', (value, reason) => {
    expect(normalizeStackRecord(value)).toBe(reason);
  });
});

describe('StackAggregator pairs by address and builds UMDH-style trees', () => {
  const alloc = (address: string | undefined, size: number, ...callers: string[]): StackRecord => ({
    kind: 'alloc',
    tag: 'Abc ',
    address,
    size,
    frames: frames('nt!ExAllocatePoolWithTag+0x5d', 'abc!Alloc+0x2a', ...callers),
  });
  const free = (address?: string): StackRecord => ({ kind: 'free', tag: 'Abc ', address, frames: frames('nt!ExFreePoolWithTag+0x9', 'abc!Free+0x1') });

  test('outstanding = allocated and not freed; the tree sums bytes and allocs per caller path', () => {
    const aggregator = new StackAggregator();
    aggregator.add(alloc('a1', 100, 'abc!Open+0x1', 'nt!Io+0x1'));
    aggregator.add(alloc('a2', 100, 'abc!Open+0x1', 'nt!Io+0x1'));
    aggregator.add(alloc('a3', 50, 'abc!Read+0x2'));
    aggregator.add(free('a2'));
    aggregator.add(free('zz'));
    aggregator.add(free());
    const summary = aggregator.summary();
    expect(summary).toMatchObject({ records: 6, allocs: 3, frees: 3, unmatchedFrees: 1, unpairedFrees: 1, paired: true });
    expect(summary.sites).toHaveLength(1);
    const [site] = summary.sites;
    expect(site).toMatchObject({ allocs: 3, frees: 1, outstanding: 2, outstandingBytes: 150 });
    expect(site!.tree).toEqual({
      frame: 'abc!Alloc+0x2a',
      bytes: 150,
      allocs: 2,
      children: [
        { frame: 'abc!Open+0x1', bytes: 100, allocs: 1, children: [{ frame: 'nt!Io+0x1', bytes: 100, allocs: 1, children: [] }] },
        { frame: 'abc!Read+0x2', bytes: 50, allocs: 1, children: [] },
      ],
    });
  });

  test('without addresses every allocation stays outstanding (counts only)', () => {
    const aggregator = new StackAggregator();
    aggregator.add(alloc(undefined, 10));
    aggregator.add(alloc(undefined, 10));
    aggregator.add(free());
    expect(aggregator.summary()).toMatchObject({ paired: false, sites: [{ allocs: 2, frees: 0, outstanding: 2, outstandingBytes: 20 }] });
  });

  test('an address allocated twice means its free was missed: the old block counts as freed', () => {
    const aggregator = new StackAggregator();
    aggregator.add(alloc('a1', 10));
    aggregator.add(alloc('a1', 10));
    expect(aggregator.summary().sites[0]).toMatchObject({ allocs: 2, frees: 1, outstanding: 1 });
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
