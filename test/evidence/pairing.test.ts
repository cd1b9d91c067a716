// The one pairing book of the live hunt and offline analysis: pairing by address, calling paths,
// UMDH-style call trees, and the sites pool.collect-stacks outputs.
import { describe, expect, test } from 'vitest';
import type { NamedFrame } from '../../src/evidence/classify.js';
import { PairingBook, type StackRecord } from '../../src/evidence/pairing.js';
import { normalizeStackRecord } from '../../src/report/stacks-file.js';

// A classified record of these frames, as stacks.jsonl's reader makes it.
const record = (kind: 'alloc' | 'free', frames: string[], extra: Record<string, unknown> = {}): StackRecord => {
  const read = normalizeStackRecord({ operation: kind, frames, ...extra });
  if (typeof read === 'string') throw new Error(read);
  return read;
};

describe('PairingBook pairs by address and builds UMDH-style trees', () => {
  const alloc = (address: string | undefined, size: number, ...callers: string[]): StackRecord =>
    record('alloc', ['nt!ExAllocatePoolWithTag+0x5d', 'abc!Alloc+0x2a', ...callers], { tag: 'Abc ', address, size });
  const free = (address?: string): StackRecord => record('free', ['nt!ExFreePoolWithTag+0x9', 'abc!Free+0x1'], { tag: 'Abc ', address });

  test('outstanding = allocated and not freed; the tree sums bytes and allocs per caller path', () => {
    const aggregator = new PairingBook();
    aggregator.add(alloc('a1', 100, 'abc!Open+0x1', 'nt!Io+0x1'));
    aggregator.add(alloc('a2', 100, 'abc!Open+0x1', 'nt!Io+0x1'));
    aggregator.add(alloc('a3', 50, 'abc!Read+0x2'));
    aggregator.add(free('a2'));
    aggregator.add(free('ff'));
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
    const aggregator = new PairingBook();
    aggregator.add(alloc(undefined, 10));
    aggregator.add(alloc(undefined, 10));
    aggregator.add(free());
    expect(aggregator.summary()).toMatchObject({ paired: false, sites: [{ allocs: 2, frees: 0, outstanding: 2, outstandingBytes: 20 }] });
  });

  test('an address allocated twice means its free was missed: the old block counts as freed', () => {
    const aggregator = new PairingBook();
    aggregator.add(alloc('a1', 10));
    aggregator.add(alloc('a1', 10));
    expect(aggregator.summary().sites[0]).toMatchObject({ allocs: 2, frees: 1, outstanding: 1 });
  });
});

describe('PairingBook keeps the calling paths of a wrapper site apart', () => {
  const viaNdis = (driver: string, address: string) =>
    record('alloc', ['nt!ExAllocatePoolWithTag+0x5d', 'NDIS!NdisAllocateMemoryWithTagPriority+0x2c', `${driver}!MpAllocateRxBuffer+0x44`, 'NDIS!ndisMiniportDpc+0xe2'], { tag: 'NDrx', address, size: 100 });
  const freed = (address: string) => record('free', ['nt!ExFreePoolWithTag+0x9', 'NDIS!NdisFreeMemory+0x10', 'ethmp!MpFreeRxBuffer+0x1'], { tag: 'NDrx', address });

  test('one row per calling driver frame, the wrapper site beside it, and the leaking path stands out', () => {
    const aggregator = new PairingBook();
    for (let index = 0; index < 4; index++) aggregator.add(viaNdis('ethmp', `e${index}`));
    for (let index = 0; index < 4; index++) aggregator.add(viaNdis('wifimp', `w${index}`));
    for (let index = 0; index < 4; index++) aggregator.add(freed(`e${index}`));
    const sites = aggregator.summary().sites;
    expect(sites.map((s) => [s.site.text, s.culprit?.text, s.allocs, s.frees, s.outstanding])).toEqual([
      ['NDIS!NdisAllocateMemoryWithTagPriority+0x2c', 'wifimp!MpAllocateRxBuffer+0x44', 4, 0, 4],
      ['NDIS!NdisAllocateMemoryWithTagPriority+0x2c', 'ethmp!MpAllocateRxBuffer+0x44', 4, 4, 0],
    ]);
    expect(sites[0]!.tree.frame).toBe('NDIS!NdisAllocateMemoryWithTagPriority+0x2c');
    expect(sites[0]!.callers[0]).toBe('wifimp!MpAllocateRxBuffer+0x44');
  });
});

describe('PairingBook with shared frames arrays', () => {
  test('one frames array added under two tags makes two sites; shared and copied arrays sum up alike', () => {
    const shared = record('alloc', ['nt!ExAllocatePoolWithTag+0x5d', 'abc!Alloc+0x2a', 'abc!Open+0x1']);
    const frames = shared.frames;
    const records = (copy: boolean): StackRecord[] =>
      ['Abc ', 'Xyz ', 'Abc '].map((tag, index) => ({ ...shared, tag, address: `a${index}`, size: 10, frames: copy ? [...frames] : frames }));
    const sharedArrays = new PairingBook();
    const copiedArrays = new PairingBook();
    for (const one of records(false)) sharedArrays.add(one);
    for (const one of records(true)) copiedArrays.add(one);
    sharedArrays.add({ kind: 'free', tag: 'Xyz ', address: 'a1', frames });
    copiedArrays.add({ kind: 'free', tag: 'Xyz ', address: 'a1', frames });
    const summary = sharedArrays.summary();
    expect(summary).toEqual(copiedArrays.summary());
    expect(summary.sites.map((s) => [s.tag, s.allocs, s.frees, s.outstanding])).toEqual([
      ['Abc ', 2, 0, 2],
      ['Xyz ', 1, 1, 0],
    ]);
  });
});

describe('the sites pool.collect-stacks outputs (list)', () => {
  const named = (frame: string, index: number): NamedFrame => ({ index, frame, module: frame.split('!')[0]!, offset: 1 });
  const at = (kind: 'alloc' | 'free', frame: string, address: string, size?: number): StackRecord => ({ kind, frames: ['nt!Api+0x1', frame], site: named(frame, 1), address, ...(size !== undefined && { size }) });

  test('pairs frees by address and counts them per site pair, a frame named __proto__ included', () => {
    const book = new PairingBook();
    book.add(at('alloc', 'abc!Alloc+0x1', 'a1', 10));
    book.add(at('alloc', 'abc!Alloc+0x1', 'a2', 10));
    book.add(at('alloc', '__proto__', 'a3', 5));
    expect(book.add(at('free', 'abc!Free+0x1', 'a1'))).toBe('paired');
    expect(book.add(at('free', 'abc!Free+0x1', 'a2'))).toBe('paired');
    expect(book.add(at('free', 'abc!Free+0x1', 'a3'))).toBe('paired');
    expect(book.add(at('free', 'abc!Free+0x1', 'zz'))).toBe('unpaired');
    const [alloc, proto, free] = book.list();
    expect(alloc).toMatchObject({ frame: 'abc!Alloc+0x1', allocs: 2, frees: 2, outstanding: 0, freedBy: { 'abc!Free+0x1': 2 } });
    expect(proto).toMatchObject({ frame: '__proto__', outstandingBytes: 0 });
    expect(Object.getOwnPropertyNames(free!.freesOf)).toEqual(['abc!Alloc+0x1', '__proto__']);
    expect(Object.getOwnPropertyDescriptor(free!.freesOf, '__proto__')?.value).toBe(1);
    expect(free!.freesOf!['abc!Alloc+0x1']).toBe(2);
    expect(book.unpairedFrees).toBe(1);
  });

  test('a wrapper site counts its calling paths apart, frees included', () => {
    const viaWdf = (driver: string, address: string, size: number) => record('alloc', ['nt!ExAllocatePoolWithTag+0x5d', 'Wdf01000!FxPoolAllocator+0x81', `${driver}+0x1`, 'nt!IofCallDriver+0x1'], { address, size });
    const book = new PairingBook();
    book.add(viaWdf('a!Create', 'a1', 10));
    book.add(viaWdf('a!Create', 'a2', 10));
    book.add(viaWdf('b!Open', 'b1', 30));
    book.add(record('free', ['nt!ExFreePoolWithTag+0x9', 'Wdf01000!FxPoolFree+0x10', 'a!Close+0x1'], { address: 'a1' }));
    const [site] = book.list();
    expect(site).toMatchObject({ frame: 'Wdf01000!FxPoolAllocator+0x81', allocs: 3, frees: 1, outstanding: 2, outstandingBytes: 40 });
    expect(site!.paths).toEqual({
      'a!Create+0x1': { culprit: expect.objectContaining({ frame: 'a!Create+0x1', module: 'a', function: 'Create', offset: 1 }), allocs: 2, frees: 1, outstanding: 1, outstandingBytes: 10 },
      'b!Open+0x1': { culprit: expect.objectContaining({ frame: 'b!Open+0x1', module: 'b', function: 'Open', offset: 1 }), allocs: 1, frees: 0, outstanding: 1, outstandingBytes: 30 },
    });
  });
});

// A shared library is found from the stacks: a module whose allocation sites are called from two
// or more other drivers is looked through like the default wrapper list, by the same classification.
describe('a shared library detected from the stacks', () => {
  const allocAt = (frames: string[], address: string) => record('alloc', ['nt!ExAllocatePoolWithTag+0x5d', ...frames], { tag: 'AcmL', address, size: 64 });
  const book = (stacks: string[][]) => {
    const b = new PairingBook();
    stacks.forEach((frames, i) => b.add(allocAt(frames, `a${i}`)));
    return b.list();
  };

  test('fires: acmelib called (through its own helper) from acmenet and acmestor; each calling driver is a path', () => {
    const [site] = book([
      ['acmelib!AcmAllocatePool+0x5c', 'acmelib!AcmBufferCreate+0x12', 'acmenet!AcmNetIndicateReceive+0x40', 'ndis!ndisMiniportDpc+0xe2'],
      ['acmelib!AcmAllocatePool+0x5c', 'acmelib!AcmBufferCreate+0x12', 'acmestor!AcmStorQueueRetry+0x22', 'storport!RaUnitStartIo+0x10'],
    ]);
    expect(site).toMatchObject({ frame: 'acmelib!AcmAllocatePool+0x5c', shared: true });
    expect(Object.keys(site!.paths!)).toEqual(['acmenet!AcmNetIndicateReceive+0x40', 'acmestor!AcmStorQueueRetry+0x22']);
    expect(site!.callerPaths).toBeUndefined();
  });

  test('fires per module: two sites of the library, each called from one driver', () => {
    const sites = book([
      ['acmelib!AcmAllocatePool+0x21', 'acmelib!AcmBufferCreate+0x12', 'acmenet!AcmNetIndicateReceive+0x40'],
      ['acmelib!AcmAllocatePool+0x5c', 'acmelib!AcmBufferCreate+0x12', 'acmestor!AcmStorQueueRetry+0x22'],
    ]);
    expect(sites.map((s) => [s.frame, s.shared, Object.keys(s.paths ?? {})])).toEqual([
      ['acmelib!AcmAllocatePool+0x21', true, ['acmenet!AcmNetIndicateReceive+0x40']],
      ['acmelib!AcmAllocatePool+0x5c', true, ['acmestor!AcmStorQueueRetry+0x22']],
    ]);
  });

  test('does not fire: a driver calling its own helper from two of its functions (paths of one site)', () => {
    const [site] = book([
      ['mdkfs!MdkAllocatePool+0x30', 'mdkfs!MdkCreateFcb+0x3c', 'mdkfs!MdkCommonCreate+0x10', 'nt!IofCallDriver+0x3a'],
      ['mdkfs!MdkAllocatePool+0x30', 'mdkfs!MdkReadWorker+0x21', 'nt!IopProcessWorkItem+0x10', 'nt!ExpWorkerThread+0x20'],
    ]);
    expect(site!.shared).toBeUndefined();
    expect(site!.paths).toBeUndefined();
    expect(Object.keys(site!.callerPaths!)).toEqual(['mdkfs!MdkCreateFcb+0x3c', 'mdkfs!MdkReadWorker+0x21']);
  });

  test('does not fire: one other driver only, or frameworks and the kernel calling back', () => {
    const one = book([
      ['vlib!VlAlloc+0x10', 'drva!DaSend+0x20'],
      ['vlib!VlAlloc+0x10', 'drva!DaRecv+0x30'],
    ]);
    expect(one[0]!.shared).toBeUndefined();
    const callbacks = book([
      ['client!ClAlloc+0x10', 'Wdf01000!FxIoQueue::DispatchEvents+0x40', 'nt!IofCallDriver+0x3a'],
      ['client!ClAlloc+0x10', 'ndis!ndisMiniportDpc+0xe2', 'nt!KiRetireDpcList+0x10'],
    ]);
    expect(callbacks[0]!.shared).toBeUndefined();
  });
});

describe('a site reached by caller chains that part (requesters)', () => {
  // One bus-driver call site answers for two senders, three IRP passes below it; each sender frees
  // the answers it asked for in its own code.
  const shared = ['vstbus!VsbPdoDispatchPnp+0x1c3', 'nt!IofCallDriver+0x55', 'partmgr!PmPnp+0x11b', 'nt!IofCallDriver+0x55'];
  const ask = (sender: string[], address: string) => record('alloc', ['nt!ExAllocatePoolWithTag+0x5d', 'vstbus!VsbPdoQueryTargetRelation+0x5a', ...shared, ...sender], { address, size: 16 });
  const free = (frames: string[], address: string) => record('free', ['nt!ExFreePool+0x10', ...frames], { address });
  const pnp = ['nt!IopSynchronousCall+0xe5', 'nt!IopGetRelatedTargetDevice+0x4c'];
  const filter = ['bkvolflt!BvfIsOwnDisk+0xd4', 'bkvolflt!BvfFilterDeviceControl+0x8b'];

  test('groups allocations by the frame where the chains part, with the free sites of each group\'s blocks', () => {
    const book = new PairingBook();
    book.add(ask(pnp, 'c1'));
    book.add(free(['nt!IopGetRelatedTargetDevice+0x9e'], 'c1'));
    for (const a of ['f1', 'f2', 'f3']) book.add(ask(filter, a));
    book.add(free(['bkvolflt!BvfIsOwnDisk+0x13b'], 'f1'));
    book.add(free(['bkvolflt!BvfIsOwnDisk+0x13b'], 'f2'));
    const site = book.list().find((s) => s.frame === 'vstbus!VsbPdoQueryTargetRelation+0x5a')!;
    expect(Object.keys(site.requesters!)).toEqual(['nt!IopSynchronousCall+0xe5', 'bkvolflt!BvfIsOwnDisk+0xd4']);
    expect(site.requesters!['bkvolflt!BvfIsOwnDisk+0xd4']).toMatchObject({ culprit: { module: 'bkvolflt', function: 'BvfIsOwnDisk', offset: 0xd4 }, allocs: 3, frees: 2, outstanding: 1, outstandingBytes: 16, freedBy: { 'bkvolflt!BvfIsOwnDisk+0x13b': 2 } });
    expect(site.requesters!['nt!IopSynchronousCall+0xe5']).toMatchObject({ allocs: 1, frees: 1, outstanding: 0, freedBy: { 'nt!IopGetRelatedTargetDevice+0x9e': 1 } });
  });

  test('none when every allocation came down one chain, or the chains part only where a stack was cut', () => {
    const one = new PairingBook();
    for (const a of ['f1', 'f2']) one.add(ask(filter, a));
    expect(one.list()[0]!.requesters).toBeUndefined();
    const cut = new PairingBook();
    cut.add(ask(filter, 'f1'));
    cut.add(ask(filter.slice(0, 1), 'f2'));
    expect(cut.list()[0]!.requesters).toBeUndefined();
  });
});
