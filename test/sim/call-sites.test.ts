// Shared call sites and frees in other modules: several scenario sites reaching one allocation
// call instruction (one return address, one tag immediate), caller frames at one offset being one
// address across sites, and blocks freed by another driver's or nt's code.
import { describe, expect, test } from 'vitest';
import { createKernel } from '../../src/sim/kernel/index.js';
import type { SimFrame, SimKernel, SimStop } from '../../src/sim/kernel-api.js';
import { onProfile, parseScenario, validateScenario } from '../../src/sim/scenario.js';

const tagBytes = (tag: string) => Uint8Array.from(Buffer.from(tag.padEnd(4, ' '), 'latin1'));
const frameName = (frame: SimFrame) => `${frame.module}!${frame.function}+0x${frame.offset.toString(16)}`;

// A bus driver's relations answer reached from the PnP manager and from a filter, one call instruction.
const sharedText = (extra: { pnpTag?: string; pnpPool?: string; offset?: string; filterFree?: string; profile?: string } = {}) => `profile: ${extra.profile ?? 'win10-22h2-x64'}
seed: 5
modules:
  - name: vstbus
    sites:
      - id: pnp
        function: VsbPdoQueryTargetRelation
        offset: ${extra.offset ?? '0x4e'}
        callers: [vstbus!VsbPdoDispatchPnp, nt!IofCallDriver+0x55, nt!IopSynchronousCall, nt!IopGetRelatedTargetDevice]
        tag: "${extra.pnpTag ?? 'VsbR'}"
        pool: ${extra.pnpPool ?? 'paged'}
        size: 16
        rate: 2
        lifetime: 1ms
        free: { function: nt!IopGetRelatedTargetDevice, call: ExFreePool, callers: [nt!IoGetRelatedTargetDevice, nt!IopRegisterTargetNotification] }
      - id: filter
        function: VsbPdoQueryTargetRelation
        offset: 0x4e
        callers: [vstbus!VsbPdoDispatchPnp, nt!IofCallDriver+0x55, partmgr!PmPnp, nt!IofCallDriver+0x55, bkvolflt!BvfIsOwnDisk, bkvolflt!BvfFilterDeviceControl]
        tag: "VsbR"
        pool: paged
        size: 24
        rate: 3
        lifetime: 2ms
        leak: 0.3
        free: ${extra.filterFree ?? '{ function: bkvolflt!BvfIsOwnDisk, call: ExFreePool, callers: [bkvolflt!BvfFilterDeviceControl] }'}
`;

// Run until `count` pool hits of each wanted site and operation (budget in target time).
function hitsBySite(kernel: SimKernel, tag: string, count: number): Map<string, Extract<SimStop, { kind: 'pool-hit' }>[]> {
  expect(kernel.writeMemory(kernel.resolveSymbol('nt!PoolHitTag')!, tagBytes(tag))).toBe(true);
  const seen = new Map<string, Extract<SimStop, { kind: 'pool-hit' }>[]>();
  const end = kernel.now() + 600_000;
  while (kernel.now() < end) {
    const stop = kernel.run(end - kernel.now());
    if (stop.kind !== 'pool-hit') break;
    const key = `${stop.allocation.site}:${stop.operation}`;
    seen.set(key, [...(seen.get(key) ?? []), stop]);
    if (['pnp:alloc', 'pnp:free', 'filter:alloc', 'filter:free'].every((wanted) => (seen.get(wanted)?.length ?? 0) >= count)) break;
  }
  return seen;
}

// The frame of a module's function in a stack.
const frameOf = (stack: readonly SimFrame[], module: string, fn: string) => stack.find((frame) => frame.module === module && frame.function === fn)!;

describe('sites sharing one call site', () => {
  test('two caller chains into one call instruction show one return address, and the frames above it agree', () => {
    const kernel = createKernel(parseScenario(sharedText(), 'shared.yaml'));
    const hits = hitsBySite(kernel, 'VsbR', 2);
    const pnp = hits.get('pnp:alloc')![0]!.stack;
    const filter = hits.get('filter:alloc')![0]!.stack;
    const site = frameOf(pnp, 'vstbus', 'VsbPdoQueryTargetRelation');
    expect(frameName(site)).toBe('vstbus!VsbPdoQueryTargetRelation+0x4e');
    expect(frameOf(filter, 'vstbus', 'VsbPdoQueryTargetRelation').address).toBe(site.address);
    // The same caller at the same offset is one address, whatever it calls (an indirect call).
    expect(frameOf(pnp, 'vstbus', 'VsbPdoDispatchPnp').address).toBe(frameOf(filter, 'vstbus', 'VsbPdoDispatchPnp').address);
    const iofCalls = [...pnp, ...filter].filter((frame) => frame.function === 'IofCallDriver');
    expect(iofCalls).toHaveLength(3);
    expect(new Set(iofCalls.map((frame) => frame.address)).size).toBe(1);
    expect(frameName(iofCalls[0]!)).toBe('nt!IofCallDriver+0x55');
    expect([...kernel.readMemory(iofCalls[0]!.address - 2n, 2)!]).toEqual([0xff, 0xd0]);
    // Below the shared frames, the chains differ.
    expect(filter.map((frame) => frame.module)).toContain('bkvolflt');
    expect(pnp.map((frame) => frame.module)).not.toContain('bkvolflt');
  });

  test('one tag immediate: the function holds it once, and patching it retags both paths', () => {
    const kernel = createKernel(parseScenario(sharedText(), 'shared.yaml'));
    const symbol = kernel.modules().find((module) => module.name === 'vstbus')!.symbols.find((entry) => entry.name === 'VsbPdoQueryTargetRelation')!;
    const code = [...kernel.readMemory(symbol.address, symbol.size)!];
    const needle = [0x41, 0xb8, ...tagBytes('VsbR')];
    const starts = code.map((_byte, index) => index).filter((index) => needle.every((byte, offset) => code[index + offset] === byte));
    expect(starts).toHaveLength(1);
    // Sizes differ (16 and 24), so the size comes from a register: `mov edx,edi`.
    expect(code.slice(starts[0]! + 6, starts[0]! + 8)).toEqual([0x8b, 0xd7]);
    // The call returns at +0x4e.
    expect(code.slice(0x4e - 7, 0x4e - 4)).toEqual([0x48, 0xff, 0x15]);
    expect(kernel.writeMemory(symbol.address + BigInt(starts[0]! + 2), tagBytes('VsbX'))).toBe(true);
    const hits = hitsBySite(kernel, 'VsbX', 1);
    expect(hits.get('pnp:alloc')?.[0]?.allocation.tag).toBe('VsbX');
    expect(hits.get('filter:alloc')?.[0]?.allocation.tag).toBe('VsbX');
  });

  test('sites sharing a call site with another tag or pool are refused at the differing value', () => {
    const { problems } = validateScenario(sharedText({ pnpTag: 'VsbQ', pnpPool: 'nonpaged' }), 'shared.yaml');
    // The first site fixes the immediate; the second is reported where it disagrees (its tag and pool lines).
    expect(problems.map(({ code, line, column }) => ({ code, line, column }))).toEqual([
      { code: 'SCENARIO_SHARED_CALL_SITE', line: 20, column: 14 },
      { code: 'SCENARIO_SHARED_CALL_SITE', line: 21, column: 15 },
    ]);
    expect(problems[0]!.message).toContain('expected tag "VsbQ", got "VsbR"');
    expect(problems[1]!.message).toContain('expected pool nonpaged, got paged');
  });

  test('an offset the code before it leaves no room for is refused at the offset', () => {
    const { problems } = validateScenario(sharedText({ offset: '0x10' }), 'shared.yaml');
    expect(problems).toMatchObject([{ code: 'SCENARIO_BAD_OFFSET', line: 8, column: 17 }]);
    expect(problems[0]!.message).toMatch(/got vstbus!VsbPdoQueryTargetRelation\+0x10: .* end at \+0x21$/);
    // Two different calls cannot return at one address either.
    const clash = sharedText().replace('callers: [vstbus!VsbPdoDispatchPnp, nt!IofCallDriver+0x55, nt!IopSynchronousCall', 'callers: [vstbus!VsbPdoDispatchPnp+0x30, vstbus!VsbPdoQueryTargetRelation+0x4e, nt!IopSynchronousCall');
    expect(validateScenario(clash, 'clash.yaml').problems.map((problem) => problem.code)).toEqual(['SCENARIO_BAD_OFFSET']);
  });

  test('an offset that fits x86 code but not x64 code is refused when the scenario moves to an x64 profile', () => {
    const scenario = parseScenario(sharedText({ profile: 'win7-sp1-x86', offset: '0x1c' }).replace('offset: 0x4e', 'offset: 0x1c'), 'x86.yaml');
    expect(scenario.modules[0]!.sites[0]!.offset).toBe(0x1c);
    expect(() => onProfile(scenario, 'win10-22h2-x64')).toThrow(/SCENARIO_BAD_OFFSET: On win10-22h2-x64: .*VsbPdoQueryTargetRelation\+0x1c/);
  });

  test('the same scenario on x86 keeps the shared return address at its offset', () => {
    const scenario = onProfile(parseScenario(sharedText(), 'shared.yaml'), 'win7-sp1-x86');
    const kernel = createKernel({ ...scenario, registry: { globalFlag: 0 } });
    const hits = hitsBySite(kernel, 'VsbR', 1);
    const sites = ['pnp:alloc', 'filter:alloc'].map((key) => frameOf(hits.get(key)![0]!.stack, 'vstbus', 'VsbPdoQueryTargetRelation'));
    expect(sites.map(frameName)).toEqual(['vstbus!VsbPdoQueryTargetRelation+0x4e', 'vstbus!VsbPdoQueryTargetRelation+0x4e']);
  });
});

describe('frees in another module', () => {
  test("nt's ExFreePool frees the PnP manager's answers: the free stack has nt's frames only", () => {
    const kernel = createKernel(parseScenario(sharedText(), 'shared.yaml'));
    const hits = hitsBySite(kernel, 'VsbR', 1);
    const free = hits.get('pnp:free')![0]!.stack.map((frame) => `${frame.module}!${frame.function}`);
    expect(free).toEqual([
      'nt!ExFreeHeapPool',
      'nt!ExFreePoolWithTag',
      'nt!ExFreePool',
      'nt!IopGetRelatedTargetDevice',
      'nt!IoGetRelatedTargetDevice',
      'nt!IopRegisterTargetNotification',
    ]);
    // nt calls its own ExFreePool directly (e8 rel32), not through an import slot.
    const ntFree = hits.get('pnp:free')![0]!.stack[3]!;
    const bytes = kernel.readMemory(ntFree.address - 5n, 5)!;
    expect(bytes[0]).toBe(0xe8);
    const target = ntFree.address + BigInt(Buffer.from(bytes.slice(1)).readInt32LE());
    expect(target).toBe(kernel.resolveSymbol('nt!ExFreePool'));
  });

  test("the filter frees what it asked for from its own frames, through its own import of ExFreePool", () => {
    const kernel = createKernel(parseScenario(sharedText(), 'shared.yaml'));
    const free = hitsBySite(kernel, 'VsbR', 1).get('filter:free')![0]!.stack;
    expect(free.slice(2).map((frame) => `${frame.module}!${frame.function}`)).toEqual(['nt!ExFreePool', 'bkvolflt!BvfIsOwnDisk', 'bkvolflt!BvfFilterDeviceControl']);
    const slot = kernel.resolveSymbol('bkvolflt!__imp_ExFreePool');
    expect(slot).toBeDefined();
  });

  test('a free with ExFreePoolWithTag in another driver carries the tag there: retagging only the allocation is caught', () => {
    const scenario = parseScenario(sharedText({ filterFree: '{ function: bkvolflt!BvfIsOwnDisk, callers: [bkvolflt!BvfFilterDeviceControl] }' }), 'shared.yaml');
    expect(scenario.modules[0]!.sites[1]!.free).toEqual({ module: 'bkvolflt', function: 'BvfIsOwnDisk', callers: [{ module: 'bkvolflt', function: 'BvfFilterDeviceControl' }] });
    const kernel = createKernel(scenario);
    const symbol = kernel.modules().find((module) => module.name === 'bkvolflt')!.symbols.find((entry) => entry.name === 'BvfIsOwnDisk')!;
    const code = [...kernel.readMemory(symbol.address, symbol.size)!];
    const needle = [0xba, ...tagBytes('VsbR')];
    expect(code.some((_byte, index) => needle.every((byte, offset) => code[index + offset] === byte))).toBe(true);
    const alloc = kernel.modules().find((module) => module.name === 'vstbus')!.symbols.find((entry) => entry.name === 'VsbPdoQueryTargetRelation')!;
    const allocCode = [...kernel.readMemory(alloc.address, alloc.size)!];
    const at = allocCode.findIndex((_byte, index) => [0x41, 0xb8, ...tagBytes('VsbR')].every((byte, offset) => allocCode[index + offset] === byte));
    kernel.writeMemory(alloc.address + BigInt(at + 2), tagBytes('VsbX'));
    kernel.run(60_000);
    expect(kernel.state(false).freeTagMismatches?.first).toMatchObject({ site: 'filter', blockTag: 'VsbX', freeTag: 'VsbR' });
  });

  test('frees sharing one call instruction must agree on the routine and, for ExFreePoolWithTag, the tag', () => {
    const text = sharedText({ filterFree: '{ function: nt!IopGetRelatedTargetDevice, offset: 0x80, callers: [nt!IoGetRelatedTargetDevice] }' }).replace(
      'free: { function: nt!IopGetRelatedTargetDevice, call: ExFreePool,',
      'free: { function: nt!IopGetRelatedTargetDevice, call: ExFreePool, offset: 0x80,',
    );
    expect(validateScenario(text, 'free.yaml').problems).toMatchObject([{ code: 'SCENARIO_SHARED_CALL_SITE', line: 26, column: 15 }]);
    expect(validateScenario(text, 'free.yaml').problems[0]!.message).toContain('expected call ExFreePool, got ExFreePoolWithTag');
    const agreeing = text.replace('{ function: nt!IopGetRelatedTargetDevice, offset: 0x80, callers', '{ function: nt!IopGetRelatedTargetDevice, call: ExFreePool, offset: 0x80, callers');
    const kernel = createKernel(parseScenario(agreeing, 'free.yaml'));
    const hits = hitsBySite(kernel, 'VsbR', 1);
    const frees = ['pnp:free', 'filter:free'].map((key) => frameOf(hits.get(key)![0]!.stack, 'nt', 'IopGetRelatedTargetDevice'));
    expect(frees.map(frameName)).toEqual(['nt!IopGetRelatedTargetDevice+0x80', 'nt!IopGetRelatedTargetDevice+0x80']);
  });
});
