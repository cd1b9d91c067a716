import { describe, expect, test } from 'vitest';
import { createKernel } from '../../src/sim/kernel/index.js';
import type { SimKernel, SimStop } from '../../src/sim/kernel-api.js';
import { defaultScenario, parseScenario, scenarioForProfile } from '../../src/sim/scenario.js';
import type { Scenario } from '../../src/sim/scenario.js';

const tagBytes = (tag: string) => Uint8Array.from(Buffer.from(tag.padEnd(4, ' '), 'latin1'));

// A one-driver scenario on a profile: `ctx` leaks, `tmp` (same tag) never does.
function scenarioOn(profile: string, extra: { globalFlag?: number; preload?: string; seed?: number } = {}): Scenario {
  return parseScenario(
    `profile: ${profile}
seed: ${extra.seed ?? 7}
registry: { globalFlag: ${extra.globalFlag ?? 0x400} }
preload: ${extra.preload ?? '10s'}
modules:
  - name: abcflt
    sites:
      - id: ctx
        function: AbcAllocateContext
        callers: [abcflt!AbcDispatchCreate, nt!IofCallDriver, nt!IopParseDevice]
        tag: "Abc "
        pool: paged
        size: 932
        rate: 20
        lifetime: 500ms
        leak: 0.1
        free: { function: AbcFreeContext, callers: [abcflt!AbcCleanup, nt!IofCallDriver] }
      - id: tmp
        function: AbcReadRegistry
        callers: [abcflt!AbcDispatchCreate, nt!IofCallDriver]
        tag: "Abc "
        pool: paged
        size: [16, 64]
        rate: 5
        lifetime: 20ms
background:
  - { tag: "Tron", pool: paged, bytes: 7863232, allocs: 552, rate: 5 }
  - { tag: "Gla5", pool: nonpaged, bytes: 4096, allocs: 32, rate: 2 }
`,
    `${profile}.yaml`,
  );
}

const frameName = (frame: { module: string; function?: string; offset: number }) =>
  `${frame.module}!${frame.function}${frame.offset ? `+0x${frame.offset.toString(16)}` : ''}`;

function setHitTag(kernel: SimKernel, tag: string): void {
  expect(kernel.writeMemory(kernel.resolveSymbol('nt!PoolHitTag')!, tagBytes(tag))).toBe(true);
}

// Run until a pool hit of the wanted operation (skipping the others), or fail.
function runToHit(kernel: SimKernel, operation: 'alloc' | 'free', budgetMs = 120_000): Extract<SimStop, { kind: 'pool-hit' }> {
  const end = kernel.now() + budgetMs;
  while (kernel.now() < end) {
    const stop = kernel.run(end - kernel.now());
    if (stop.kind === 'pool-hit' && stop.operation === operation) return stop;
    if (stop.kind !== 'pool-hit') break;
  }
  throw new Error(`no ${operation} hit within ${budgetMs} ms`);
}

// Address of the 4-byte tag immediate in a function's code: after `68` (x86), `41 b8` or `ba` (x64).
function findTagImmediate(kernel: SimKernel, module: string, fn: string, opcode: number[], tag: string): bigint {
  const symbol = kernel.modules().find((entry) => entry.name === module)!.symbols.find((entry) => entry.name === fn)!;
  const code = kernel.readMemory(symbol.address, symbol.size)!;
  const needle = [...opcode, ...tagBytes(tag)];
  for (let index = 0; index + needle.length <= code.length; index++) {
    if (needle.every((byte, offset) => code[index + offset] === byte)) return symbol.address + BigInt(index + opcode.length);
  }
  throw new Error(`no ${needle.map((byte) => byte.toString(16)).join(' ')} in ${module}!${fn}`);
}

describe('determinism', () => {
  test('same scenario, seed and commands give the same state and the same breaks', () => {
    const trace = () => {
      const kernel = createKernel(scenarioOn('win7-sp1-x64'));
      setHitTag(kernel, 'Abc ');
      const stops = [1, 2, 3, 4, 5].map(() => {
        const stop = kernel.run(60_000);
        return stop.kind === 'pool-hit' ? [stop.operation, stop.allocation, stop.stack.map(frameName), kernel.now()] : stop.kind;
      });
      return { stops, state: kernel.state(true) };
    };
    expect(trace()).toEqual(trace());
  });

  test('another seed gives another workload', () => {
    const a = createKernel(scenarioOn('winxp-sp3-x86', { seed: 1, preload: '5m' })).state(false);
    const b = createKernel(scenarioOn('winxp-sp3-x86', { seed: 2, preload: '5m' })).state(false);
    expect(a.outstandingBySite['ctx']).not.toEqual(b.outstandingBySite['ctx']);
  });

  test('running in slices gives the same target as one run', () => {
    const whole = createKernel(scenarioOn('win10-22h2-x64', { preload: '0s' }));
    whole.run(30_000);
    const sliced = createKernel(scenarioOn('win10-22h2-x64', { preload: '0s' }));
    for (let slice = 0; slice < 300; slice++) sliced.run(100);
    expect(sliced.now()).toBeCloseTo(30_000, 6);
    expect(sliced.state(false).tags).toEqual(whole.state(false).tags);
    expect([...sliced.outstanding('Abc ')]).toEqual([...whole.outstanding('Abc ')]);
  });
});

describe('workload and counters', () => {
  test('the leaking site accumulates about rate x leak x time; counters balance', () => {
    const kernel = createKernel(scenarioOn('win2003-sp2-x86', { preload: '1h' }));
    const state = kernel.state(false);
    const leaked = state.outstandingBySite['ctx']!.count;
    expect(leaked).toBeGreaterThan(20 * 0.1 * 3600 * 0.9);
    expect(leaked).toBeLessThan(20 * 0.1 * 3600 * 1.1);
    expect(state.outstandingBySite['tmp']!.count).toBeLessThan(5);
    const abc = kernel.tagCounters().find((entry) => entry.tag === 'Abc ')!;
    const outstandingBytes = [...kernel.outstanding('Abc ')].reduce((sum, block) => sum + block.size, 0);
    expect(abc.paged.bytes).toBe(outstandingBytes);
    expect(abc.paged.allocs - abc.paged.frees).toBe([...kernel.outstanding('Abc ')].length);
    expect(abc.nonpaged).toEqual({ allocs: 0, frees: 0, bytes: 0 });
  });

  test('background tags keep their population and bytes while churning', () => {
    const kernel = createKernel(scenarioOn('win7-sp1-x86', { preload: '2h' }));
    const tron = kernel.tagCounters().find((entry) => entry.tag === 'Tron')!;
    expect(tron.paged.bytes).toBe(7863232);
    expect(tron.paged.allocs - tron.paged.frees).toBe(552);
    expect(tron.paged.frees).toBeGreaterThan(5 * 7200 * 0.9);
    const gla5 = kernel.tagCounters().find((entry) => entry.tag === 'Gla5')!;
    expect(gla5.nonpaged.bytes).toBe(4096);
  });

  test('beyond the tracking cap blocks are counted, not listed', () => {
    const kernel = createKernel(scenarioOn('win81-x64', { preload: '30m' }), { trackCap: 100 });
    const listed = [...kernel.outstanding('Abc ')].filter((block) => block.site === 'ctx').length;
    const untracked = kernel.untrackedOutstanding!('Abc ');
    expect(listed).toBeLessThanOrEqual(100 + 30);
    expect(untracked.count).toBeGreaterThan(1000);
    const abc = kernel.tagCounters().find((entry) => entry.tag === 'Abc ')!;
    expect(abc.paged.allocs - abc.paged.frees).toBe([...kernel.outstanding('Abc ')].length + untracked.count);
    expect(kernel.state(false).outstandingBySite['ctx']!.count).toBe(listed + untracked.count);
  });

  test('outstanding blocks have distinct addresses in their pool and a readable header with the tag', () => {
    const kernel = createKernel(scenarioOn('winxp-sp3-x86', { preload: '10m' }));
    const blocks = [...kernel.outstanding()];
    expect(new Set(blocks.map((block) => block.address)).size).toBe(blocks.length);
    const block = blocks.find((entry) => entry.site === 'ctx')!;
    expect(block.address >= 0xe1000000n && block.address < 0xf0000000n).toBe(true);
    const header = kernel.readMemory(block.address - 8n, 8)!;
    expect(Buffer.from(header.subarray(4)).toString('latin1')).toBe('Abc ');
    expect(kernel.readMemory(0x10n, 4)).toBeUndefined();
  });
});

describe('images and symbols', () => {
  test('nt data symbols live in memory', () => {
    for (const id of ['winxp-sp3-x86', 'win11-24h2-x64']) {
      const kernel = createKernel(scenarioOn(id, { globalFlag: 0x400 }));
      const read32 = (symbol: string) => Buffer.from(kernel.readMemory(kernel.resolveSymbol(symbol)!, 4)!).readUInt32LE(0);
      expect(read32('nt!PoolHitTag')).toBe(0xffffff0f);
      expect(kernel.poolHitTag()).toBe(0xffffff0f);
      expect(read32('NT!NTBUILDNUMBER')).toBe((0xf0000000 | kernel.profile.build) >>> 0);
      expect(read32('nt!NtGlobalFlag')).toBe(0x400);
      expect(kernel.ntGlobalFlag()).toBe(0x400);
    }
  });

  test('allocator symbols follow the profile', () => {
    const xp = createKernel(scenarioOn('winxp-sp3-x86'));
    expect(xp.resolveSymbol('nt!ExAllocatePoolWithTag')).toBeDefined();
    expect(xp.resolveSymbol('nt!ExAllocatePool2')).toBeUndefined();
    expect(xp.modules()[0]).toMatchObject({ name: 'nt', image: 'ntkrnlpa.exe', base: 0x804d7000n });
    const w11 = createKernel(scenarioOn('win11-24h2-x64'));
    for (const name of ['ExAllocatePool2', 'ExAllocateHeapPool', 'ExFreeHeapPool', 'ExFreePoolWithTag', 'DbgBreakPoint', 'IofCallDriver']) {
      expect(w11.resolveSymbol(`nt!${name}`), name).toBeDefined();
    }
  });

  test('modules named only in callers are loaded with those symbols, C++ names too', () => {
    const kernel = createKernel(parseScenario(
      `profile: win10-22h2-x64
modules:
  - name: gfx
    sites:
      - { id: s, function: "DXGCONTEXT::SubmitCommand", callers: [dxgkrnl!DxgkSubmitCommand+0x4a, win32kbase!NtGdiDdDDISubmitCommand], tag: Gfx, pool: nonpaged, size: 64, rate: 1, lifetime: 1s }
`,
      'cpp.yaml',
    ));
    const names = kernel.modules().map((module) => module.name);
    expect(names).toEqual(['nt', 'hal', 'gfx', 'dxgkrnl', 'win32kbase']);
    expect(kernel.modules().find((module) => module.name === 'dxgkrnl')!.image).toBe('dxgkrnl.sys');
    const address = kernel.resolveSymbol('gfx!DXGCONTEXT::SubmitCommand')!;
    expect(kernel.symbolize(address + 3n)).toEqual({ module: 'gfx', function: 'DXGCONTEXT::SubmitCommand', offset: 3 });
    setHitTag(kernel, 'Gfx ');
    const stop = runToHit(kernel, 'alloc');
    expect(stop.stack.slice(-2).map(frameName)).toEqual(['dxgkrnl!DxgkSubmitCommand+0x4a', 'win32kbase!NtGdiDdDDISubmitCommand+0x' + stop.stack.at(-1)!.offset.toString(16)]);
  });
});

describe('PoolHitTag', () => {
  const expectations: { id: string; alloc: string[]; free: string[] }[] = [
    { id: 'winxp-sp3-x86', alloc: ['nt!DbgBreakPoint', 'nt!ExpInsertPoolTracker', 'nt!ExAllocatePoolWithTag'], free: ['nt!DbgBreakPoint', 'nt!ExpRemovePoolTracker', 'nt!ExFreePoolWithTag'] },
    { id: 'win7-sp1-x86', alloc: ['nt!ExAllocatePoolWithTag+0x881'], free: ['nt!ExFreePoolWithTag'] },
    { id: 'win7-sp1-x64', alloc: ["nt! ?? ::FNODOBFM::`string'+0x24a2a", 'nt!ExAllocatePoolWithTag'], free: ["nt! ?? ::FNODOBFM::`string'", 'nt!ExFreePoolWithTag'] },
    { id: 'win10-1809-x64', alloc: ['nt!ExAllocatePoolWithTag'], free: ['nt!ExFreePoolWithTag'] },
    { id: 'win11-24h2-x64', alloc: ['nt!ExAllocateHeapPool', 'nt!ExAllocatePool2'], free: ['nt!ExFreeHeapPool', 'nt!ExFreePoolWithTag'] },
  ];

  test.each(expectations)('$id: breaks on alloc and free with the era\'s frames', ({ id, alloc, free }) => {
    const kernel = createKernel(scenarioOn(id));
    setHitTag(kernel, 'Abc ');
    const allocStop = runToHit(kernel, 'alloc');
    const names = allocStop.stack.map(frameName);
    for (const [index, prefix] of alloc.entries()) expect(names[index]!.startsWith(prefix), names.join(' ')).toBe(true);
    expect(allocStop.allocation.tag).toBe('Abc ');
    expect(['ctx', 'tmp']).toContain(allocStop.allocation.site);
    const siteFrame = allocStop.stack[alloc.length]!;
    expect(siteFrame.module).toBe('abcflt');
    expect(allocStop.allocation.site === 'ctx' ? 'AbcAllocateContext' : 'AbcReadRegistry').toBe(siteFrame.function);
    // The break address holds the int 3 kd shows.
    expect(kernel.readMemory(allocStop.stack[0]!.address, 1)![0]).toBe(0xcc);
    // Frames symbolize back to themselves; stack pointers grow outwards.
    for (const frame of allocStop.stack) expect(kernel.symbolize(frame.address)).toEqual({ module: frame.module, function: frame.function, offset: frame.offset });
    for (let index = 1; index < allocStop.stack.length; index++) expect(allocStop.stack[index]!.stackPointer > allocStop.stack[index - 1]!.stackPointer).toBe(true);
    expect(kernel.currentStop()).toMatchObject({ kind: 'pool-hit', operation: 'alloc' });
    expect([...kernel.outstanding('Abc ')].map((block) => block.address)).toContain(allocStop.allocation.address);

    const freeStop = runToHit(kernel, 'free');
    const freeNames = freeStop.stack.map(frameName);
    for (const [index, prefix] of free.entries()) expect(freeNames[index]!.startsWith(prefix), freeNames.join(' ')).toBe(true);
    const stillListed = [...kernel.outstanding('Abc ')].some((block) => block.address === freeStop.allocation.address);
    // Classic pool breaks before the block is released; the segment heap after (windows-versions.md §3.2).
    expect(stillListed).toBe(kernel.profile.allocator === 'classic');
    kernel.run(1);
    expect(kernel.currentStop()).toBeUndefined();
  });

  test('nothing breaks while PoolHitTag matches no tag, and a cleared tag stops the breaks', () => {
    const kernel = createKernel(scenarioOn('win10-1607-x64'));
    expect(kernel.run(60_000)).toEqual({ kind: 'timeout' });
    setHitTag(kernel, 'Tron');
    expect(kernel.run(60_000).kind).toBe('pool-hit');
    kernel.writeMemory(kernel.resolveSymbol('nt!PoolHitTag')!, Uint8Array.of(0, 0, 0, 0));
    expect(kernel.run(60_000)).toEqual({ kind: 'timeout' });
  });

  test('a background tag breaks on free then on the replacing alloc', () => {
    const kernel = createKernel(scenarioOn('win2003-sp2-x64'));
    setHitTag(kernel, 'Tron');
    const first = kernel.run(60_000);
    const second = kernel.run(60_000);
    expect(first).toMatchObject({ kind: 'pool-hit', operation: 'free' });
    expect(second).toMatchObject({ kind: 'pool-hit', operation: 'alloc' });
    expect(second.kind === 'pool-hit' && second.allocation.timeMs).toBe(first.kind === 'pool-hit' && kernel.now());
  });

  test.each(['winxp-sp3-x86', 'win10-22h2-x64'])('%s: gu out of the allocator returns the block address', (id) => {
    const kernel = createKernel(scenarioOn(id));
    setHitTag(kernel, 'Abc ');
    const stop = runToHit(kernel, 'alloc');
    const x86 = kernel.profile.arch === 'x86';
    const siteIndex = stop.stack.findIndex((frame) => frame.module === 'abcflt');
    for (let step = 0; step < siteIndex; step++) kernel.stepOut();
    const current = kernel.currentStop()!;
    expect(current.stack[0]!.module).toBe('abcflt');
    const registers = kernel.registers();
    expect(registers[x86 ? 'eax' : 'rax']).toBe(stop.allocation.address);
    expect(registers[x86 ? 'eip' : 'rip']).toBe(current.stack[0]!.address);
    // The return address follows the call through the import slot.
    const before = kernel.readMemory(current.stack[0]!.address - (x86 ? 6n : 7n), x86 ? 2 : 3)!;
    expect([...before]).toEqual(x86 ? [0xff, 0x15] : [0x48, 0xff, 0x15]);
  });
});

describe('retagging call sites by patching code bytes', () => {
  test('x86: patching the push immediate changes the tag of later allocations', () => {
    const kernel = createKernel(scenarioOn('win7-sp1-x86', { preload: '1m' }));
    const allocImmediate = findTagImmediate(kernel, 'abcflt', 'AbcAllocateContext', [0x68], 'Abc ');
    const freeImmediate = findTagImmediate(kernel, 'abcflt', 'AbcFreeContext', [0x68], 'Abc ');
    expect(kernel.writeMemory(allocImmediate, tagBytes('Zzz1'))).toBe(true);
    expect(kernel.writeMemory(freeImmediate, tagBytes('Zzz1'))).toBe(true);
    expect(kernel.patchedBytes()).toHaveLength(8);
    const stop = kernel.run(10 * 60_000);
    expect(stop).toEqual({ kind: 'timeout' });
    // Blocks in flight while both sites were patched are freed with the other tag.
    expect(kernel.state(false).freeTagMismatches?.count ?? 0).toBeLessThan(20);
    const zzz = kernel.tagCounters().find((entry) => entry.tag === 'Zzz1')!;
    expect(zzz.paged.allocs).toBeGreaterThan(10 * 60 * 20 * 0.9);
    const blocks = [...kernel.outstanding('Zzz1')];
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks.every((block) => block.site === 'ctx')).toBe(true);
    // The other site under the old tag is untouched.
    expect([...kernel.outstanding('Abc ')].some((block) => block.site === 'tmp' || block.site === 'ctx')).toBe(true);
  });

  test('a free tag that differs from an unprotected block is recorded, not fatal', () => {
    const kernel = createKernel(scenarioOn('win10-1809-x64', { preload: '1m' }));
    kernel.writeMemory(findTagImmediate(kernel, 'abcflt', 'AbcAllocateContext', [0x41, 0xb8], 'Abc '), tagBytes('Zzz2'));
    expect(kernel.state(false).freeTagMismatches).toBeUndefined();
    expect(kernel.run(60_000)).toEqual({ kind: 'timeout' });
    const mismatches = kernel.state(false).freeTagMismatches!;
    expect(mismatches.count).toBeGreaterThan(60 * 20 * 0.8);
    expect(mismatches.first).toMatchObject({ site: 'ctx', blockTag: 'Zzz2', freeTag: 'Abc ' });
  });

  test('x64: mov r8d / mov edx immediates; a protected block freed with another tag is BAD_POOL_CALLER 0xA', () => {
    const kernel = createKernel(scenarioOn('win10-1809-x64', { preload: '1m' }));
    const allocImmediate = findTagImmediate(kernel, 'abcflt', 'AbcAllocateContext', [0x41, 0xb8], 'Abc ');
    findTagImmediate(kernel, 'abcflt', 'AbcFreeContext', [0xba], 'Abc ');
    kernel.writeMemory(allocImmediate, Uint8Array.of(0x5a, 0x7a, 0x7a, 0xb2));
    const stop = kernel.run(60_000);
    expect(stop).toMatchObject({ kind: 'bugcheck', code: 0xc2 });
    if (stop.kind !== 'bugcheck') return;
    expect(stop.parameters[0]).toBe(0xan);
    expect(stop.parameters[2]).toBe(0xb27a7a5an);
    expect(stop.parameters[3]).toBe(0x20636241n);
    expect(stop.stack.map(frameName).slice(0, 6).map((name) => name.split('+')[0])).toEqual([
      'nt!RtlpBreakWithStatusInstruction', 'nt!KiBugCheckDebugBreak', 'nt!KeBugCheck2', 'nt!KeBugCheckEx', 'nt!ExFreePoolWithTag', 'abcflt!AbcFreeContext',
    ]);
    expect(kernel.run(60_000)).toBe(stop);
    expect(kernel.state(false)).toMatchObject({ halted: true, bugcheck: { code: 0xc2 } });
    kernel.reboot();
    expect(kernel.bugcheck!()).toBeUndefined();
    expect(kernel.run(1000)).toEqual({ kind: 'timeout' });
  });

  test('segment heap maps a zero tag to Bad0', () => {
    const kernel = createKernel(scenarioOn('win11-23h2-x64', { preload: '0s' }));
    const allocImmediate = findTagImmediate(kernel, 'abcflt', 'AbcReadRegistry', [0x41, 0xb8], 'Abc ');
    kernel.writeMemory(allocImmediate, Uint8Array.of(0, 0, 0, 0));
    kernel.run(10_000);
    expect(kernel.tagCounters().find((entry) => entry.tag === 'Bad0')?.paged.allocs).toBeGreaterThan(0);
  });
});

describe('reboot', () => {
  test('registry persists, memory does not', () => {
    const kernel = createKernel(scenarioOn('win7-sp1-x64', { preload: '10m' }));
    const bootTime = kernel.bootTimeEpochMs();
    const uptime = kernel.now();
    setHitTag(kernel, 'Abc ');
    kernel.writeMemory(findTagImmediate(kernel, 'abcflt', 'AbcAllocateContext', [0x41, 0xb8], 'Abc '), tagBytes('Zzz3'));
    kernel.writeMemory(kernel.resolveSymbol('nt!NtGlobalFlag')!, Uint8Array.of(0x00, 0x04, 0, 0));
    kernel.setRegistryGlobalFlag(0x400);
    kernel.run(1000);
    kernel.reboot();
    expect(kernel.bootCount()).toBe(1);
    expect(kernel.now()).toBe(0);
    expect(kernel.bootTimeEpochMs()).toBeGreaterThanOrEqual(bootTime + uptime);
    expect(kernel.poolHitTag()).toBe(0xffffff0f);
    expect(kernel.patchedBytes()).toEqual([]);
    expect(kernel.registryGlobalFlag()).toBe(0x400);
    expect(kernel.ntGlobalFlag()).toBe(0x400);
    expect(kernel.currentStop()).toBeUndefined();
    expect(kernel.tagCounters().find((entry) => entry.tag === 'Abc ')).toBeUndefined();
    expect(kernel.tagCounters().find((entry) => entry.tag === 'Tron')!.paged).toEqual({ allocs: 552, frees: 0, bytes: 7863232 });
    kernel.run(5000);
    expect(kernel.tagCounters().find((entry) => entry.tag === 'Abc ')!.paged.allocs).toBeGreaterThan(0);
    expect(kernel.tagCounters().find((entry) => entry.tag === 'Zzz3')).toBeUndefined();
  });

  test('XP without 0x400 has no tag counters and PoolHitTag does not fire; 0x400 + reboot turns tagging on', () => {
    const kernel = createKernel(defaultScenario());
    expect(kernel.taggingEnabled()).toBe(false);
    expect(kernel.tagCounters()).toEqual([]);
    setHitTag(kernel, 'Abc ');
    expect(kernel.run(30_000)).toEqual({ kind: 'timeout' });
    kernel.setRegistryGlobalFlag(kernel.registryGlobalFlag() | 0x400);
    expect(kernel.taggingEnabled()).toBe(false);
    kernel.reboot();
    expect(kernel.taggingEnabled()).toBe(true);
    expect(kernel.ntGlobalFlag()).toBe(0x400);
    expect(kernel.tagCounters().map((entry) => entry.tag)).toEqual(['Ggb ', 'Gla5', 'IoN7', 'Tron']);
    setHitTag(kernel, 'Abc ');
    expect(kernel.run(30_000)).toMatchObject({ kind: 'pool-hit', allocation: { tag: 'Abc ' } });
  });

  test('2003 and later tag regardless of the registry', () => {
    for (const id of ['win2003-sp2-x86', 'vista-sp2-x86', 'win11-24h2-x64']) {
      const kernel = createKernel(scenarioForProfile(id));
      expect(kernel.registryGlobalFlag()).toBe(0);
      expect(kernel.taggingEnabled()).toBe(true);
      expect(kernel.tagCounters().length).toBeGreaterThan(0);
    }
  });
});

describe('ready scenarios on the kernel', () => {
  test('each boots, and its leaking site holds more blocks than any other site', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { join, dirname } = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    const { loadScenario } = await import('../../src/sim/scenario.js');
    const { isInventoryText } = await import('../../src/lab/inventory.js');
    const folder = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scenarios');
    // Lab inventories (lab-all-versions.yaml) live beside the scenarios; they are not scenarios.
    for (const name of readdirSync(folder).filter((file) => file.endsWith('.yaml') && !isInventoryText(readFileSync(join(folder, file), 'utf8')))) {
      const scenario = loadScenario(join(folder, name));
      scenario.preloadMs = 10 * 60_000;
      const state = createKernel(scenario).state(false);
      const sites = scenario.modules.flatMap((module) => module.sites);
      const leaking = sites.filter((site) => site.leak > 0);
      for (const site of leaking) {
        for (const other of sites.filter((candidate) => candidate.leak === 0)) {
          expect(state.outstandingBySite[site.id]!.count, `${name}: ${site.id} vs ${other.id}`).toBeGreaterThan(state.outstandingBySite[other.id]!.count);
        }
      }
    }
  });
});
