// A site's tag as an argument loaded by its caller (`tagArgument`): the wrapper's own call passes
// a register, the immediate sits in each calling driver's code just before its call into the
// wrapper, and patching one caller's immediate retags only the allocations made through it.
import { describe, expect, test } from 'vitest';
import { parseDisasm } from '../../src/kd/disasm.js';
import { KdConsole } from '../../src/sim/console/console.js';
import { createKernel } from '../../src/sim/kernel/index.js';
import type { SimFrame, SimKernel } from '../../src/sim/kernel-api.js';
import { parseScenario, validateScenario } from '../../src/sim/scenario.js';

// Three drivers of one vendor allocating through one NDIS call under one tag.
const vendorSuite = (profile: string, extra: { lwf?: string; pm?: string; lwfTag?: string; pmCallers?: string } = {}) => `profile: ${profile}
seed: 3
registry: { globalFlag: 0x400 }
modules:
  - name: ndis
    sites:
      - id: rsc
        function: NdisAllocateMemoryWithTagPriority
        offset: 0x5c
        callers: [nrvmp!NrvRscAllocateCoalesceContext+0x2e, nrvmp!NrvRxIndicate+0x1b3, ndis!ndisMiniportDpc+0xe2]
        tag: "Nrv "
        tagArgument: {}
        pool: nonpaged
        size: 256
        rate: 50
        lifetime: 10ms
        free: { function: NdisFreeMemory, offset: 0x1f, call: ExFreePool, callers: [nrvmp!NrvRscFlushContext+0x41] }
      - id: qos
        function: NdisAllocateMemoryWithTagPriority
        offset: 0x5c
        callers: [nrvlwf!NrvQosCreateFlowEntry+0x44, nrvlwf!NrvQosClassifySend+0x1e7]
        tag: "${extra.lwfTag ?? 'Nrv '}"
        tagArgument: ${extra.lwf ?? '{ loadedBy: nrvlwf!NrvQosCreateFlowEntry }'}
        pool: nonpaged
        size: 320
        rate: 20
        lifetime: 10ms
        leak: 0.5
        free: { function: NdisFreeMemory, offset: 0x1f, call: ExFreePool, callers: [nrvlwf!NrvQosDeleteFlowEntry+0x5b] }
      - id: wake
        function: NdisAllocateMemoryWithTagPriority
        offset: 0x5c
        callers: ${extra.pmCallers ?? '[nrvpm!NrvPmAddWakePattern+0x3a, nrvpm!NrvPmOidRequest+0x11f]'}
        tag: "Nrv "
        tagArgument: ${extra.pm ?? '{ position: 5 }'}
        pool: nonpaged
        size: 128
        rate: 20
        lifetime: 10ms
        free: { function: NdisFreeMemory, offset: 0x1f, call: ExFreePool, callers: [nrvpm!NrvPmRemoveWakePattern+0x29] }
`;

// A console on a scenario, halted; `u` lines as kd prints them.
function consoleOn(kernel: SimKernel) {
  const kd = new KdConsole(kernel, { poolfindMsPer1000Blocks: 0 });
  kd.connect();
  return (line: string) => kd.execute(line).text;
}

// The allocation stack of a site's first PoolHitTag break.
function allocStack(kernel: SimKernel, site: string): SimFrame[] {
  kernel.writeMemory(kernel.resolveSymbol('nt!PoolHitTag')!, Uint8Array.from(Buffer.from('Nrv ', 'latin1')));
  for (let stop = 0; stop < 1000; stop++) {
    const event = kernel.run(60_000);
    if (event.kind !== 'pool-hit') break;
    if (event.operation === 'alloc' && event.allocation.site === site) {
      kernel.writeMemory(kernel.resolveSymbol('nt!PoolHitTag')!, Uint8Array.of(0x0f, 0xff, 0xff, 0xff));
      return event.stack;
    }
  }
  throw new Error(`no allocation of ${site}`);
}

// Instructions of `u` started `back` bytes before an address, up to it.
function before(run: (line: string) => string, address: bigint, back: number) {
  const text = run(`u ${(address - BigInt(back)).toString(16)} L10`);
  return parseDisasm(text).instructions.filter((i) => BigInt(`0x${i.address}`) < address);
}

const frame = (stack: readonly SimFrame[], module: string) => stack.find((f) => f.module === module)!;
const counts = (kernel: SimKernel, tag: string) => kernel.tagCounters().find((c) => c.tag === tag)?.nonpaged.allocs ?? 0;

describe('a tag argument loaded by the caller', () => {
  test('x64: the wrapper passes a register; each caller loads the immediate right before its call (r8d, or the 5th argument\'s stack slot)', () => {
    const kernel = createKernel(parseScenario(vendorSuite('win10-1607-x64'), 'suite.yaml'));
    const run = consoleOn(kernel);
    const stack = allocStack(kernel, 'rsc');
    const wrapper = frame(stack, 'ndis');
    expect(`${wrapper.function}+0x${wrapper.offset.toString(16)}`).toBe('NdisAllocateMemoryWithTagPriority+0x5c');
    // mov r8d,ebx (3) · mov edx,edi (2) · mov ecx,0 (5) · call qword ptr [rip+…] (7).
    const wrapperCode = before(run, wrapper.address, 17);
    expect(wrapperCode.map((i) => `${i.bytes} ${i.mnemonic} ${i.operands}`)).toEqual(['448bc3 mov r8d,ebx', '8bd7 mov edx,edi', 'b900000000 mov ecx,0', expect.stringMatching(/^48ff15[0-9a-f]{8} call qword ptr \[ndis!__imp_ExAllocatePoolWithTag \(/) as string]);
    expect(wrapperCode.some((i) => /2076724Eh/.test(i.operands))).toBe(false);
    expect(wrapperCode[wrapperCode.length - 1]!.mnemonic).toBe('call');
    const caller = frame(stack, 'nrvmp');
    expect(caller.function).toBe('NrvRscAllocateCoalesceContext');
    const callerCode = before(run, caller.address, 0x10);
    const text = callerCode.map((i) => `${i.bytes} ${i.mnemonic} ${i.operands}`);
    expect(text.slice(-3)).toEqual([
      '41b84e727620 mov r8d,2076724Eh',
      '488bcb mov rcx,rbx',
      expect.stringMatching(/^e8[0-9a-f]{8} call ndis!NdisAllocateMemoryWithTagPriority \(/) as string,
    ]);
    const wake = before(run, frame(allocStack(kernel, 'wake'), 'nrvpm').address, 0x14);
    expect(wake.map((i) => `${i.bytes} ${i.mnemonic} ${i.operands}`)).toContain('c74424204e727620 mov dword ptr [rsp+20h],2076724Eh');
  });

  test('x86: the caller pushes the tag (stdcall: the arguments before it pushed after), the wrapper pushes a register', () => {
    const kernel = createKernel(parseScenario(vendorSuite('win7-sp1-x86'), 'suite.yaml'));
    const run = consoleOn(kernel);
    const stack = allocStack(kernel, 'qos');
    const callerCode = before(run, frame(stack, 'nrvlwf').address, 0x10);
    expect(callerCode.slice(-4).map((i) => `${i.bytes} ${i.mnemonic} ${i.operands}`)).toEqual([
      '684e727620 push 2076724Eh',
      '57 push edi',
      '56 push esi',
      expect.stringMatching(/^e8[0-9a-f]{8} call ndis!NdisAllocateMemoryWithTagPriority \(/) as string,
    ]);
    const wrapperCode = before(run, frame(stack, 'ndis').address, 0x10);
    expect(wrapperCode.some((i) => i.mnemonic === 'push' && /^[0-9A-F]+h$/.test(i.operands) && i.operands.length > 6)).toBe(false);
    expect(wrapperCode.map((i) => `${i.mnemonic} ${i.operands}`)).toContain('push edi');
  });

  test("patching one caller's immediate retags only the allocations made through that caller", () => {
    const kernel = createKernel(parseScenario(vendorSuite('win10-1607-x64'), 'suite.yaml'));
    const run = consoleOn(kernel);
    const caller = frame(allocStack(kernel, 'qos'), 'nrvlwf');
    const load = before(run, caller.address, 0x10).find((i) => i.bytes.startsWith('41b8'))!;
    const immediate = BigInt(`0x${load.address}`) + 2n;
    expect(kernel.writeMemory(immediate, Uint8Array.from(Buffer.from('Nrv1', 'latin1')))).toBe(true);
    const was = { nrv: counts(kernel, 'Nrv '), nrv1: counts(kernel, 'Nrv1') };
    kernel.run(30_000);
    // qos allocates 20 a second: ~600 under Nrv1; rsc and wake (70 a second) stay under "Nrv ".
    const moved = counts(kernel, 'Nrv1') - was.nrv1;
    const stayed = counts(kernel, 'Nrv ') - was.nrv;
    expect(moved).toBeGreaterThan(450);
    expect(moved).toBeLessThan(750);
    expect(stayed).toBeGreaterThan(1700);
    const qosBlocks = [...kernel.outstanding('Nrv ')].filter((b) => b.site === 'qos' && b.timeMs > kernel.now() - 20_000);
    expect(qosBlocks).toEqual([]);
  });

  test('a tag loaded from memory has no immediate anywhere on the path, and still tags the blocks', () => {
    const kernel = createKernel(parseScenario(vendorSuite('win10-1607-x64', { pm: '{ from: memory, position: 4 }' }), 'suite.yaml'));
    const run = consoleOn(kernel);
    const stack = allocStack(kernel, 'wake');
    const code = before(run, frame(stack, 'nrvpm').address, 0x10);
    expect(code.map((i) => `${i.mnemonic} ${i.operands}`)).toContain('mov r9d,dword ptr [rbx+0Ch]');
    expect(code.some((i) => /2076724Eh/.test(i.operands))).toBe(false);
    // allocStack found the site's allocation at a PoolHitTag break on "Nrv ": it carries the tag.
  });

  test('validation: the loading frame must be a caller (not the kernel), and one loading instruction holds one tag', () => {
    const notCaller = validateScenario(vendorSuite('win10-1607-x64', { lwf: '{ loadedBy: nrvlwf!NrvQosAgeFlows }' }), 'bad.yaml').problems;
    expect(notCaller.map((p) => `${p.line}:${p.column} ${p.code}`)).toEqual(['23:34 SCENARIO_TAG_ARGUMENT']);
    expect(notCaller[0]!.message).toMatch(/one of the site's callers \(nrvlwf!NrvQosCreateFlowEntry\+0x44, nrvlwf!NrvQosClassifySend\+0x1e7\), got "nrvlwf!NrvQosAgeFlows"/);
    const kernelOnly = validateScenario(vendorSuite('win10-1607-x64', { pmCallers: '[ndis!ndisFDoOidRequestInternal+0x2c4, nt!IopfCompleteRequest]', pm: '{ loadedBy: nt!IopfCompleteRequest }' }), 'bad.yaml').problems;
    expect(kernelOnly.map((p) => p.code)).toEqual(['SCENARIO_TAG_ARGUMENT']);
    expect(kernelOnly[0]!.message).toMatch(/a driver's frame/);
    const noOutside = validateScenario(vendorSuite('win10-1607-x64', { pmCallers: '[ndis!ndisFDoOidRequestInternal+0x2c4]' }), 'bad.yaml').problems;
    expect(noOutside[0]!.message).toMatch(/Expected a caller outside ndis to load the tag argument/);
    // qos's loading frame made the same as rsc's, with another tag: one instruction, two tags.
    const twoTags = validateScenario(vendorSuite('win10-1607-x64', { lwfTag: 'Nrq ', lwf: '{ loadedBy: nrvlwf!NrvQosCreateFlowEntry }' }).replace('[nrvlwf!NrvQosCreateFlowEntry+0x44,', '[nrvmp!NrvRscAllocateCoalesceContext+0x2e,').replace('loadedBy: nrvlwf!NrvQosCreateFlowEntry', 'loadedBy: nrvmp!NrvRscAllocateCoalesceContext'), 'bad.yaml').problems;
    expect(twoTags.map((p) => p.code)).toEqual(['SCENARIO_SHARED_CALL_SITE']);
    expect(twoTags[0]!.message).toMatch(/loads its tag at nrvmp!NrvRscAllocateCoalesceContext\+0x2e, as site "rsc" does: one instruction, whose tag is "Nrv ": expected tag "Nrv ", got "Nrq "/);
    // One call instruction cannot both hold the tag and pass it on.
    const mixed = validateScenario(vendorSuite('win10-1607-x64').replace('        tagArgument: { loadedBy: nrvlwf!NrvQosCreateFlowEntry }\n', ''), 'bad.yaml').problems;
    expect(mixed.map((p) => p.code)).toEqual(['SCENARIO_SHARED_CALL_SITE']);
    expect(mixed[0]!.message).toMatch(/which passes a tag argument on from a register: expected a tagArgument here too/);
  });
});
