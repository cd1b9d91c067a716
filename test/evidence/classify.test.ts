// The one stack classification: real PoolHitTag breaks, wrappers and frameworks, and the rules it must keep.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  allocatorFor,
  anyAllocator,
  callsBack,
  blockArguments,
  classicAllocator,
  classifyStack,
  dwordOfTag,
  frameParts,
  frameText,
  segmentHeapAllocator,
  tagOfDword,
  wrapperList,
  type AllocatorFrames,
  type FrameLike,
} from '../../src/evidence/classify.js';
import { testGrowth } from '../../src/evidence/growth.js';
import { handedOver, retagCandidate } from '../../src/evidence/verdict.js';
import { parseStack } from '../../src/kd/stack.js';

// A fixture's kd text (below its `# ---` header).
function fixture(name: string): string {
  const text = readFileSync(new URL(`../fixtures/kd/${name}`, import.meta.url), 'utf8');
  return text.slice(text.indexOf('# ---\n') + 6);
}

describe('real PoolHitTag breaks', () => {
  test('Win7 x86 (kvn): the call site is the first frame past the verifier chain', () => {
    const text = fixture('poolhittag-win7-x86-1.txt');
    const c = classifyStack(parseStack(text.slice(text.indexOf('kvn'))).frames, classicAllocator);
    expect(c).toMatchObject({ operation: 'alloc', api: 'VerifierExAllocatePoolWithTag', siteFrame: 'Sample!DriverEntry+0x27', returnAddress: 'a04c3057', wrapped: false });
    expect(c.culprit).toBe(c.site);
    expect(c.callers[0]).toBe('nt!IopLoadDriver+0x7ed');
  });

  test('a stack without allocator frames is not attributed', () => {
    const frames = parseStack(fixture('kn-win10-x64-1.txt')).frames;
    expect(frames.length).toBeGreaterThan(3);
    expect(classifyStack(frames, segmentHeapAllocator)).toMatchObject({ operation: 'unknown', wrapped: false, callers: [] });
  });

  // No public Win7 x64 PoolHitTag stack exists: the break location is the published one
  // (`nt! ?? ::FNODOBFM::`string'+0x24a2a`, an int 3 in a BBT chunk of nt), the columns are Win7
  // x64 `kb`'s (kc-win7-x64-1.txt), the driver frames are invented.
  const win7x64 = [
    ' # RetAddr           : Args to Child                                                           : Call Site',
    "00 fffff800`02a4c1d2 : fffffa80`01065360 fffffa80`011036d0 00000000`00000001 fffffa80`0123fdb0 : nt! ?? ::FNODOBFM::`string'+0x24a2a",
    '01 fffff880`0100101e : 00000000`00000000 00000000`0000008d 00000000`3261654c 00000000`00000000 : nt!ExAllocatePoolWithTag+0x1b2',
    '02 fffff880`0100109f : fffffa80`005f3a20 fffffa80`00691d90 00000000`00000001 fffffa80`007ce470 : leakdrv!LeakAllocateEntry+0x1e',
    '03 fffff800`02a7da9a : fffffa80`00603410 fffffa80`006a1780 00000000`00000001 fffffa80`007dde60 : leakdrv!LeakDispatchDeviceControl+0x1f',
    '04 00000000`00000000 : fffffa80`00778a60 fffffa80`00816dd0 00000000`00000002 fffffa80`009534b0 : nt!IofCallDriver+0x3a',
  ].join('\n');

  test.each([classicAllocator, anyAllocator])('Win7 x64 (%s): the FNODOBFM chunk is nt\'s allocator, never the site or culprit', (allocator) => {
    const c = classifyStack(parseStack(win7x64).frames, allocator);
    expect(c).toMatchObject({ operation: 'alloc', api: 'ExAllocatePoolWithTag', allocatorIndex: 1, siteFrame: 'leakdrv!LeakAllocateEntry+0x1e', returnAddress: 'fffff8800100101e' });
    expect(c.culprit?.frame).toBe('leakdrv!LeakAllocateEntry+0x1e');
  });

  test('a BBT chunk of nt below the allocator is looked through to the nt function or driver that called it', () => {
    const frames: FrameLike[] = [
      { module: 'nt', function: 'ExAllocatePoolWithTag', offset: 0x1b2, retAddr: 'fffff800`02b00010' },
      { module: 'nt', function: "?? ::FNODOBFM::`string'", offset: 0x1234, retAddr: 'fffff880`01001000' },
      { module: 'abcflt', function: 'AbcCreate', offset: 0x40, retAddr: 'fffff800`02a7da9a' },
    ];
    const c = classifyStack(frames, classicAllocator);
    expect(c.siteFrame).toBe("nt! ?? ::FNODOBFM::`string'+0x1234");
    expect(c.culprit).toMatchObject({ frame: 'abcflt!AbcCreate+0x40', returnAddress: 'fffff88001001000' });
  });

  test('WDF (Windows 10/11 `k`): the site is the framework\'s, the culprit the client driver\'s own function', () => {
    const c = classifyStack(parseStack(fixture('k-win10x-x64-1.txt')).frames, allocatorFor(19041));
    expect(c).toMatchObject({ operation: 'alloc', api: 'ExAllocatePool2', wrapped: true, returnAddress: 'fffff8040591d831' });
    expect(c.site).toMatchObject({ frame: 'Wdf01000!MxMemory::MxAllocatePool2+0x10', module: 'Wdf01000' });
    // amdacpbus2!WdfWorkItemCreate is the KMDF header's inline stub: the culprit is the function it was inlined into.
    expect(c.culprit).toMatchObject({ frame: 'amdacpbus2!AcpWorkItemCreate+0xd0', module: 'amdacpbus2', function: 'AcpWorkItemCreate', offset: 0xd0, returnAddress: 'fffff8040ffb5254' });
  });

  // NDIS allocating for a miniport: NdisAllocateMemoryWithTagPriority is NDIS's documented export;
  // the columns are Windows 10 `kn`'s (kn-win10-x64-1.txt), the miniport is invented.
  test('NDIS: the miniport that called NdisAllocateMemoryWithTagPriority is the culprit', () => {
    const text = [
      ' # Child-SP          RetAddr               Call Site',
      '00 ffff8287`1fbd71d0 fffff804`5e40c800     nt!ExAllocatePoolWithTag+0x5d',
      '01 ffff8287`1fbd7310 fffff804`61a21b44     NDIS!NdisAllocateMemoryWithTagPriority+0x2c',
      '02 ffff8287`1fbd73c0 fffff804`61a08d31     ethmp!MpAllocateRxBuffer+0x44',
      '03 ffff8287`1fbd7450 fffff804`61b0a0f2     ethmp!MpHandleInterrupt+0x91',
      '04 ffff8287`1fbd7550 fffff804`5e55586f     NDIS!ndisMiniportDpc+0xe2',
      '05 ffff8287`1fbd75e0 00000000`00000000     nt!KiExecuteAllDpcs+0x30f',
    ].join('\n');
    const c = classifyStack(parseStack(text).frames, classicAllocator);
    expect(c).toMatchObject({ wrapped: true, siteFrame: 'NDIS!NdisAllocateMemoryWithTagPriority+0x2c' });
    expect(c.culprit).toMatchObject({ frame: 'ethmp!MpAllocateRxBuffer+0x44', returnAddress: 'fffff80461a21b44' });
  });
});

describe('wrappers', () => {
  const frames: FrameLike[] = [
    { module: 'nt', function: 'ExAllocatePoolWithTag', offset: 0x20, retAddr: '1000' },
    { module: 'vendorlib', function: 'VlAllocate', offset: 0x10, retAddr: '2000' },
    { module: 'vendorlib', function: 'VlPoolGrow', offset: 0x30, retAddr: '3000' },
    { module: 'gpsdrv', function: 'GpsReadFix', offset: 0x55, retAddr: '4000' },
    { module: 'nt', function: 'IofCallDriver', offset: 0x59 },
  ];

  test('a playbook pattern extends the default list', () => {
    expect(classifyStack(frames, classicAllocator).culprit?.frame).toBe('vendorlib!VlAllocate+0x10');
    const c = classifyStack(frames, classicAllocator, wrapperList(['VENDORLIB!*']));
    expect(c).toMatchObject({ wrapped: true, siteFrame: 'vendorlib!VlAllocate+0x10' });
    expect(c.culprit).toMatchObject({ frame: 'gpsdrv!GpsReadFix+0x55', returnAddress: '3000' });
  });

  test('a wrapper function inside the driver gives way to its caller in the same driver', () => {
    const own: FrameLike[] = [
      { module: 'nt', function: 'ExAllocatePoolWithTag', offset: 0x20, retAddr: '1000' },
      { module: 'gpsdrv', function: 'operator new', offset: 0x1a, retAddr: '2000' },
      { module: 'gpsdrv', function: 'CFix::Create', offset: 0x31, retAddr: '3000' },
      { module: 'gpsdrv', function: 'GpsReadFix', offset: 0x55 },
    ];
    expect(classifyStack(own, classicAllocator).culprit?.frame).toBe('gpsdrv!operator new+0x1a');
    expect(classifyStack(own, classicAllocator, wrapperList(['*!operator new'])).culprit?.frame).toBe('gpsdrv!CFix::Create+0x31');
  });

  test('a framework reached from nt alone (no driver called it) keeps its own frame as the culprit', () => {
    const own: FrameLike[] = [
      { module: 'nt', function: 'ExAllocatePool2', offset: 0, retAddr: '1000' },
      { module: 'Wdf01000', function: 'FxPoolAllocator', offset: 0x81, retAddr: '2000' },
      { module: 'Wdf01000', function: 'FxDpc::FxDpcThunk', offset: 0x88, retAddr: '3000' },
      { module: 'nt', function: 'KiExecuteAllDpcs', offset: 0x67e },
    ];
    const c = classifyStack(own, segmentHeapAllocator);
    expect(c.culprit).toBe(c.site);
    expect(c.wrapped).toBe(false);
  });

  test.each(['', '!Alloc', 'vendor lib!*', 'vendorlib!', 'a\nb'])('pattern %j is refused', (pattern) => {
    expect(() => wrapperList([pattern])).toThrow(TypeError);
  });
});

describe('blockArguments: size and block from the API the driver called', () => {
  const stack = (api: string, args: string[]): FrameLike[] => [
    { module: 'nt', function: api, offset: 0x1b2, retAddr: 'fffff880`0100101e', args },
    { module: 'leakdrv', function: 'LeakAllocateEntry', offset: 0x1e, retAddr: 'fffff880`0100109f' },
  ];

  test('read when the tag argument holds the hunted tag (x64 home space that does not is not read)', () => {
    const alloc = stack('ExAllocatePoolWithTag', ['00000000`00000000', '00000000`0000008d', '00000000`3261654c', '00000000`00000000']);
    expect(blockArguments(alloc, classifyStack(alloc, classicAllocator), 'Lea2')).toEqual({ size: 0x8d });
    expect(blockArguments(alloc, classifyStack(alloc, classicAllocator), 'Abc')).toEqual({});
    const garbage = stack('ExFreePoolWithTag', ['fffffa80`00b3d490', 'fffffa80`00bdb800', '00000000`00000000', 'fffffa80`00d17ee0']);
    expect(blockArguments(garbage, classifyStack(garbage, classicAllocator), 'Lea2')).toEqual({});
    const free = stack('ExFreePoolWithTag', ['fffffa80`010af550', '00000000`3261654c', '00000000`00000000', '00000000`00000000']);
    expect(blockArguments(free, classifyStack(free, classicAllocator), 'Lea2')).toEqual({ address: 'fffffa80010af550' });
  });

  test('an API without a tag argument (ExFreePool) is read as it is; an unknown tag reads every API', () => {
    const free = stack('ExFreePool', ['8a3f0008', '00000000', '00000000']);
    expect(blockArguments(free, classifyStack(free, classicAllocator), 'Lea2')).toEqual({ address: '8a3f0008' });
    const alloc = stack('ExAllocatePoolWithTag', ['00000001', '0000006c', '64636261']);
    expect(blockArguments(alloc, classifyStack(alloc, classicAllocator))).toEqual({ size: 0x6c });
  });

  test.each([['Abc', 0x20636241], ['abcd', 0x64636261], ['Lea2', 0x3261654c]])('tag %j is the dword %i, and back', (tag, dword) => {
    expect(dwordOfTag(tag)).toBe(dword);
    expect(tagOfDword(dword)).toBe(tag.padEnd(4, ' '));
  });

  test('a dword with an unprintable byte is no tag', () => {
    expect(tagOfDword(0xffffff0f)).toBeUndefined();
  });
});

describe('allocatorFor', () => {
  test.each([
    [2600, 'classic'],
    [17763, 'classic'],
    [18362, 'segment-heap'],
    [26100, 'segment-heap'],
    [undefined, 'any'],
    [0, 'any'],
  ] as const)('build %s → %s', (build, name) => {
    expect(allocatorFor(build).name).toBe(name);
  });

  test('segment-heap frames are not allocator frames of the classic pool', () => {
    const frames = [{ module: 'nt', function: 'ExAllocateHeapPool', offset: 1 }, { module: 'abcflt', function: 'F', offset: 2 }];
    expect(classifyStack(frames, classicAllocator).operation).toBe('unknown');
    expect(classifyStack(frames, anyAllocator).operation).toBe('alloc');
  });
});

// Property tests: random stacks built from allocator tops, wrappers, drivers and nt callers.
const kernelNames = fc.constantFrom('nt', 'ntkrnlpa', 'ntkrnlmp', 'ntoskrnl');
const hex = fc.bigInt({ min: 0x1000n, max: 0xffffffffffffn }).map((n) => n.toString(16));
const driverName = fc.stringMatching(/^[a-z][a-z0-9]{2,8}$/).filter((name) => !/^(nt|ntoskrnl|ntkrnlmp|ntkrnlpa|ntkrpamp|ndis|storport|ks|portcls|fltmgr|wdf01000|wdfldr)$/i.test(name));
const functionName = fc.stringMatching(/^[A-Z][A-Za-z0-9]{1,12}$/).filter((name) => !/^(Ex(Allocate|Free)|Wdf)/.test(name));
const frameOf = (module: fc.Arbitrary<string>, fn: fc.Arbitrary<string>): fc.Arbitrary<FrameLike> =>
  fc.record({ module, function: fn, offset: fc.integer({ min: 0, max: 0xfff }), retAddr: hex });
const allocator: fc.Arbitrary<AllocatorFrames> = fc.constantFrom(classicAllocator, segmentHeapAllocator, anyAllocator);
// The top of a PoolHitTag stack: internals, then API frames of one operation (outermost last).
const top = (a: AllocatorFrames) =>
  fc.record({
    operation: fc.constantFrom('alloc' as const, 'free' as const),
    internals: fc.array(frameOf(kernelNames, fc.constantFrom('DbgBreakPoint', 'RtlpBreakWithStatusInstruction', 'ExpInsertPoolTracker', "?? ::FNODOBFM::`string'")), { maxLength: 2 }),
    apis: fc.integer({ min: 1, max: 3 }),
    seed: fc.nat(),
  }).chain((t) =>
    fc.array(frameOf(kernelNames, fc.constantFrom(...(t.operation === 'alloc' ? a.alloc : a.free))), { minLength: t.apis, maxLength: t.apis }).map((apis) => ({ operation: t.operation, frames: [...t.internals, ...apis] })),
  );
const wrapperFrame = frameOf(fc.constantFrom('Wdf01000', 'ndis', 'NDIS', 'storport', 'FltMgr'), fc.constantFrom('FxPoolAllocator', 'NdisAllocateMemoryWithTagPriority', 'StorPortAllocatePool', 'FltAllocateContext')).map(
  (frame): FrameLike => (frame.module === 'Wdf01000' ? frame : { ...frame, function: { ndis: 'NdisAllocateMemoryWithTagPriority', NDIS: 'NdisAllocateNetBufferList', storport: 'StorPortAllocatePool', FltMgr: 'FltAllocateContext' }[frame.module]! }),
);
const drivers = fc.array(frameOf(driverName, functionName), { minLength: 1, maxLength: 4 });
const ntCallers = fc.array(frameOf(fc.constant('nt'), fc.constantFrom('IofCallDriver', 'IopLoadDriver', 'KiExecuteAllDpcs')), { maxLength: 3 });

describe('classifyStack properties', () => {
  test('a driver calling the allocator directly: the outermost API decides, the first driver frame is site and culprit', () => {
    fc.assert(
      fc.property(allocator.chain((a) => fc.tuple(fc.constant(a), top(a), drivers, ntCallers)), ([a, t, driver, callers]) => {
        const frames = [...t.frames, ...driver, ...callers];
        const c = classifyStack(frames, a);
        expect(c.operation).toBe(t.operation);
        expect(c.api).toBe(t.frames.at(-1)!.function);
        expect(c.site?.index).toBe(t.frames.length);
        expect(c.culprit).toBe(c.site);
        expect(c.returnAddress).toBe(t.frames.at(-1)!.retAddr);
        expect(c.callers).toEqual(frames.slice(t.frames.length + 1).map(frameText));
      }),
    );
  });

  test('wrappers between the allocator and the driver: the site is the first wrapper frame, the culprit the driver\'s first frame', () => {
    fc.assert(
      fc.property(allocator.chain((a) => fc.tuple(fc.constant(a), top(a), fc.array(wrapperFrame, { minLength: 1, maxLength: 3 }), drivers, ntCallers)), ([a, t, wrappers, driver, callers]) => {
        const frames = [...t.frames, ...wrappers, ...driver, ...callers];
        const c = classifyStack(frames, a);
        expect(c.site?.index).toBe(t.frames.length);
        expect(c.wrapped).toBe(true);
        expect(c.culprit?.index).toBe(t.frames.length + wrappers.length);
        expect(c.culprit?.returnAddress).toBe(wrappers.at(-1)!.retAddr);
      }),
    );
  });

  test('a stack whose innermost frame is not the allocator\'s is unknown, whatever lies below', () => {
    fc.assert(
      fc.property(allocator.chain((a) => fc.tuple(fc.constant(a), drivers, top(a), drivers)), ([a, above, t, below]) => {
        expect(classifyStack([...above, ...t.frames, ...below], a)).toMatchObject({ operation: 'unknown', callers: [] });
      }),
    );
  });

  test('the allocator alone (nothing below it) is unknown', () => {
    fc.assert(
      fc.property(allocator.chain((a) => fc.tuple(fc.constant(a), top(a))), ([a, t]) => {
        expect(classifyStack(t.frames, a).operation).toBe('unknown');
      }),
    );
  });

  test('an nt BBT chunk is never the culprit when a frame follows it', () => {
    fc.assert(
      fc.property(allocator.chain((a) => fc.tuple(fc.constant(a), top(a), fc.integer({ min: 1, max: 3 }), fc.oneof(drivers, ntCallers.filter((c) => c.length > 0)))), ([a, t, chunks, rest]) => {
        const chunk: FrameLike = { module: 'nt', function: "?? ::FNODOBFM::`string'", offset: 0x24a2a, retAddr: 'fffff80002a4c1d2' };
        const c = classifyStack([...t.frames, ...Array.from({ length: chunks }, () => chunk), ...rest], a);
        expect(c.culprit?.function).not.toMatch(/\?\?/);
      }),
    );
  });

  test('adding callers below the culprit changes neither the operation, the site nor the culprit', () => {
    fc.assert(
      fc.property(allocator.chain((a) => fc.tuple(fc.constant(a), top(a), fc.array(wrapperFrame, { maxLength: 2 }), drivers, ntCallers)), ([a, t, wrappers, driver, callers]) => {
        const short = classifyStack([...t.frames, ...wrappers, ...driver], a);
        const long = classifyStack([...t.frames, ...wrappers, ...driver, ...callers], a);
        expect([long.operation, long.site?.frame, long.culprit?.frame]).toEqual([short.operation, short.site?.frame, short.culprit?.frame]);
      }),
    );
  });
});

describe('Windows calling a driver is not a client of it', () => {
  // A retagged site whose new tag grows at the tag's rate, called from the given modules.
  const claim = (callerModules: string[]) =>
    retagCandidate(
      { frame: 'wfpmon!WfmAllocateFlowContext+0x21', module: 'wfpmon', offset: 0x21, retag: 'Wfp1', callerModules, growth: testGrowth([{ key: 'Wfp1', points: [0, 1, 2, 3, 4, 5].map((k) => ({ atMs: k * 600_000, count: 100 + 10 * k, bytes: (100 + 10 * k) * 64 })) }]).entries[0]!.growth },
      { tag: 'WfpM', pool: 'nonpaged', allocsPerMinute: 1, bytesPerMinute: 64, measure: 'count' },
    );

  test.each(['netio', 'tcpip', 'NDIS', 'HIDCLASS', 'rdbss', 'USBXHCI', 'Ntfs', 'nt', 'hal', 'Wdf01000', 'FltMgr'])('%s calling back: it is Windows or a framework', (module) => {
    expect(callsBack(module)).toBe(true);
    expect(claim([module]).explains, claim([module]).why).toBe(true);
  });

  test('another vendor\'s driver calling the site\'s module makes the site a helper, not the driver to blame', () => {
    expect(callsBack('acmenet')).toBe(false);
    const c = claim(['netio', 'acmenet']);
    expect(c.explains).toBe(false);
    expect(c.why).toContain('on behalf of acmenet');
  });
});

describe('frameParts reads back what frameText spells', () => {
  test.each<FrameLike>([
    { module: 'bkvolflt', function: 'BvfIsOwnDisk', offset: 0xd4 },
    { module: 'vaudmini', function: 'CMiniportWaveRTStream::Init', offset: 0x17 },
    { module: 'nt', function: '?? ::FNODOBFM::`string\'', offset: 0x24a2a },
    { module: 'mfpmon', offset: 0x11efb },
    { module: 'Wdf01000', function: 'FxPoolAllocator' },
  ])('%o', (frame) => {
    expect(frameParts(frameText(frame))).toEqual({ module: frame.module, ...(frame.function !== undefined && { function: frame.function }), offset: frame.offset ?? 0 });
  });

  test('an address alone has no module', () => {
    expect(frameParts('0xfa1075')).toEqual({ module: '', offset: 0 });
  });

  test('a free site without symbols still counts for its module', () => {
    const site = { frame: 'mfpbus!MfpPdoQueryId+0x4a', module: 'mfpbus', offset: 0x4a, allocs: 20, freedBy: { 'mfpmon+0x1a2b': 20 } };
    expect(handedOver(site)).toMatchObject({ owners: 'mfpmon', words: 'freed by mfpmon (20)' });
  });
});
