import { describe, expect, test } from 'vitest';
import { parseAuto } from '../../src/kd/auto.js';
import { KdParseError } from '../../src/kd/common.js';
import { findTagImmediate, parseDisasm, parseInstructionLine, parseSymbolLocation, type DisasmResult } from '../../src/kd/disasm.js';
import { fixture } from './fixture-b.js';

describe('u on real transcripts', () => {
  test('u L2 with a symbol label (dq-win10 log)', () => {
    const entry = parseAuto(fixture('dq-win10-x64-1.txt')).entries.find((candidate) => candidate.command.startsWith('u '));
    const result = entry?.result as DisasmResult;
    expect(result.instructions).toEqual([
      { address: 'fffff8009c1907d8', bytes: '90', mnemonic: 'nop', operands: '', symbol: 'nt!HalDispatchTable+0x8' },
      { address: 'fffff8009c1907d9', bytes: '10e6', mnemonic: 'adc', operands: 'dh,ah' },
    ]);
  });

  test('u of shellcode with a 9-byte opcode that pushes the mnemonic column right', () => {
    const entry = parseAuto(fixture('step-win10-x64-1.txt')).entries.find((candidate) => candidate.command.startsWith('u '));
    const result = entry?.result as DisasmResult;
    expect(result.instructions).toHaveLength(8);
    expect(result.instructions[3]).toEqual({ address: '000000032b2f0009', bytes: '65488b042588010000', mnemonic: 'mov', operands: 'rax,qword ptr gs:[188h]' });
    expect(result.instructions[7]).toMatchObject({ mnemonic: 'sub', operands: 'r9,2F0h' });
    expect(result.unparsed).toEqual([]);
  });
});

describe('instruction lines', () => {
  test('no opcode column (older output as published)', () => {
    expect(parseInstructionLine('a04c305c cmp     dword ptr [Sample!g_RegistryPath+0x4 (a04c500c)],0')).toEqual({
      address: 'a04c305c', bytes: '', mnemonic: 'cmp', operands: 'dword ptr [Sample!g_RegistryPath+0x4 (a04c500c)],0',
    });
    expect(parseInstructionLine('82a89110 int     3')).toMatchObject({ bytes: '', mnemonic: 'int', operands: '3' });
  });

  test('segment prefix, effective-address annotation and branch target', () => {
    expect(parseInstructionLine('0033:00007ffc`f604ba9c 85c0            test    eax,eax')).toMatchObject({ segment: '0033', address: '00007ffcf604ba9c', bytes: '85c0', mnemonic: 'test' });
    expect(parseInstructionLine('fffff880`03398b9b 498b1c24        mov     rbx,qword ptr [r12] ds:002b:00000000`002cfd40=4242424242424242')).toMatchObject({
      operands: 'rbx,qword ptr [r12]', effectiveAddress: 'ds:002b:00000000`002cfd40=4242424242424242',
    });
    expect(parseInstructionLine('fffff801`10bb1417 7430            je      nt!KeQueryIntervalProfile+0x39 (fffff801`10bb1449)')).toMatchObject({ target: 'fffff80110bb1449' });
  });

  test('a memory dump line is not an instruction', () => {
    expect(parseInstructionLine('820f2ba4  41 62 63 20           Abc  ')).toBeUndefined();
  });

  test.each([
    ['nt!ExAllocatePoolWithTag+0x881', { module: 'nt', function: 'ExAllocatePoolWithTag', offset: 0x881 }],
    ['Driver+0x11b1', { module: 'Driver', offset: 0x11b1 }],
    ['ntoskrnl!_DbgBreakPointWithStatus+4', { module: 'ntoskrnl', function: '_DbgBreakPointWithStatus', offset: 4 }],
    ['HEVD!TriggerArbitraryWrite', { module: 'HEVD', function: 'TriggerArbitraryWrite', offset: 0 }],
  ])('location %s', (text, expected) => {
    expect(parseSymbolLocation(text)).toEqual(expected);
  });

  test('nothing disassembled is a KdParseError', () => {
    expect(() => parseDisasm("Couldn't resolve error at 'nt!Nope'")).toThrow(KdParseError);
  });
});

// Call-site shapes from the version reference (x86 driver `push 206D6457h`, x64 `mov r8d,206B6444h`), printed in kd's u layout.
const X86_ALLOC = [
  'Wdm!AllocContext+0x10:',
  'f8a21010 6857646d20      push    206D6457h',
  'f8a21015 6a50            push    50h',
  'f8a21017 50              push    eax',
  'f8a21018 ff1504a1a2f8    call    dword ptr [Wdm!_imp__ExAllocatePoolWithTag (f8a2a104)]',
].join('\n');
const X64_ALLOC = [
  'Ddk!AllocContext+0x1a:',
  'fffff801`1a2b3000 ba28000000      mov     edx,28h',
  'fffff801`1a2b3005 33c9            xor     ecx,ecx',
  'fffff801`1a2b3007 41b844646b20    mov     r8d,206B6444h',
  'fffff801`1a2b300d ff15ed0f0000    call    qword ptr [Ddk!_imp_ExAllocatePoolWithTag (fffff801`1a2b4000)]',
].join('\n');
const X64_FREE = [
  'fffff801`1a2b3100 488bcb          mov     rcx,rbx',
  'fffff801`1a2b3103 ba44646b20      mov     edx,206B6444h',
  'fffff801`1a2b3108 ff15f20e0000    call    qword ptr [Ddk!_imp_ExFreePoolWithTag (fffff801`1a2b4000)]',
].join('\n');

describe('findTagImmediate', () => {
  test('x86 push imm32: the immediate starts one byte into the instruction', () => {
    const found = findTagImmediate(parseDisasm(X86_ALLOC).instructions, 'x86');
    expect(found).toEqual({ instructionAddress: 'f8a21010', address: 'f8a21011', value: 0x206d6457, tag: 'Wdm ', encoding: 'push-imm32' });
  });

  test('x64 mov r8d,imm32: two bytes in; the size in edx is not taken for a tag', () => {
    const found = findTagImmediate(parseDisasm(X64_ALLOC).instructions, 'x64', { site: 'alloc' });
    expect(found).toEqual({ instructionAddress: 'fffff8011a2b3007', address: 'fffff8011a2b3009', value: 0x206b6444, tag: 'Ddk ', encoding: 'mov-r8d-imm32' });
  });

  test('x64 free site: mov edx,imm32', () => {
    const found = findTagImmediate(parseDisasm(X64_FREE).instructions, 'x64', { site: 'free' });
    expect(found).toMatchObject({ address: 'fffff8011a2b3104', tag: 'Ddk ', encoding: 'mov-edx-imm32' });
    expect(findTagImmediate(parseDisasm(X64_FREE).instructions, 'x64', { site: 'alloc' })).toBeUndefined();
  });

  test('a wanted tag filters, and the wrong architecture finds nothing', () => {
    expect(findTagImmediate(parseDisasm(X86_ALLOC).instructions, 'x86', { tag: 'Ddk' })).toBeUndefined();
    expect(findTagImmediate(parseDisasm(X86_ALLOC).instructions, 'x86', { tag: 'Wdm' })?.tag).toBe('Wdm ');
    expect(findTagImmediate(parseDisasm(X86_ALLOC).instructions, 'x64')).toBeUndefined();
  });

  test('without an opcode column the operand gives the value', () => {
    const found = findTagImmediate(parseDisasm('8053454f push    656E6F4Eh\n80534554 call    nt!ExAllocatePoolWithTag (8054b0a8)').instructions, 'x86');
    expect(found).toMatchObject({ address: '80534550', value: 0x656e6f4e, tag: 'None' });
  });

  test('bytes and operand that disagree are not a tag site', () => {
    expect(findTagImmediate(parseDisasm('f8a21010 6857646d20      push    11111111h').instructions, 'x86')).toBeUndefined();
  });
});

// A driver's calls into a wrapper that takes the tag as an argument (NdisAllocateMemoryWithTagPriority:
// the 3rd; a function-table call with the tag 4th; a helper taking it 5th, in its stack slot).
const X64_CALLER_R8D = [
  'nrvlwf!NrvQosCreateFlowEntry+0x32:',
  'fffff802`78a81032 41b84e727620    mov     r8d,2076724Eh',
  'fffff802`78a81038 488bcb          mov     rcx,rbx',
  'fffff802`78a8103b e8c0fff7ff      call    ndis!NdisAllocateMemoryWithTagPriority (fffff802`78a01000)',
].join('\n');
const X64_CALLER_R9D = [
  'fffff802`78ac1028 ba40000000      mov     edx,40h',
  'fffff802`78ac102d 41b946626d20    mov     r9d,206D6246h',
  'fffff802`78ac1033 ffd0            call    rax',
].join('\n');
const X64_CALLER_STACK = [
  'fffff802`78ac1024 c74424204e727620 mov     dword ptr [rsp+20h],2076724Eh',
  'fffff802`78ac102c 488bcb          mov     rcx,rbx',
  'fffff802`78ac102f e8ccfff3ff      call    ndis!NdisAllocateMemoryWithTagPriority (fffff802`78a01000)',
].join('\n');
const X86_CALLER = [
  '9a281035 684e727620      push    2076724Eh',
  '9a28103a 57              push    edi',
  '9a28103b 56              push    esi',
  '9a28103c e8bfffd7ff      call    ndis!NdisAllocateMemoryWithTagPriority (9a001000)',
].join('\n');
// The wrapper's own call: the tag passed on from a register.
const X64_WRAPPER = [
  'fffff802`78a0104b 448bc3          mov     r8d,ebx',
  'fffff802`78a0104e 8bd7            mov     edx,edi',
  'fffff802`78a01050 b900000000      mov     ecx,0',
  'fffff802`78a01055 48ff1514f00000  call    qword ptr [ndis!__imp_ExAllocatePoolWithTag (fffff802`78a10070)]',
].join('\n');

describe('findTagImmediate at a driver\'s call into a wrapper (site: argument)', () => {
  test('x64: the tag in r8d, r9d or a stack slot, the immediate after the opcode bytes', () => {
    expect(findTagImmediate(parseDisasm(X64_CALLER_R8D).instructions, 'x64', { site: 'argument', tag: 'Nrv' })).toEqual({ instructionAddress: 'fffff80278a81032', address: 'fffff80278a81034', value: 0x2076724e, tag: 'Nrv ', encoding: 'mov-r8d-imm32' });
    expect(findTagImmediate(parseDisasm(X64_CALLER_R9D).instructions, 'x64', { site: 'argument', tag: 'Fbm' })).toMatchObject({ address: 'fffff80278ac102f', tag: 'Fbm ', encoding: 'mov-r9d-imm32' });
    expect(findTagImmediate(parseDisasm(X64_CALLER_STACK).instructions, 'x64', { site: 'argument', tag: 'Nrv' })).toMatchObject({ address: 'fffff80278ac1028', tag: 'Nrv ', encoding: 'mov-stack-imm32' });
  });

  test('x86: push imm32 before the pushes of the arguments ahead of it', () => {
    expect(findTagImmediate(parseDisasm(X86_CALLER).instructions, 'x86', { site: 'argument', tag: 'Nrv' })).toMatchObject({ address: '9a281036', tag: 'Nrv ', encoding: 'push-imm32' });
  });

  test('an allocator call\'s search does not take other argument registers; the wanted tag keeps a size in edx from passing', () => {
    expect(findTagImmediate(parseDisasm(X64_CALLER_R9D).instructions, 'x64', { site: 'alloc' })).toBeUndefined();
    expect(findTagImmediate(parseDisasm(X64_CALLER_R9D).instructions, 'x64', { site: 'argument', tag: 'Nrv' })).toBeUndefined();
  });

  test('the wrapper\'s own call passes a register: no immediate at all', () => {
    const instructions = parseDisasm(X64_WRAPPER).instructions;
    expect(findTagImmediate(instructions, 'x64', { site: 'alloc', tag: 'Nrv' })).toBeUndefined();
    expect(findTagImmediate(instructions, 'x64', { site: 'argument', tag: 'Nrv' })).toBeUndefined();
  });
});

describe('ub and uf on real transcripts', () => {
  test('ub: the 8 instructions before the address, the first one labelled (no symbols: module+offset)', () => {
    const result = parseDisasm(fixture('ub-win10-x64-1.txt'));
    expect(result.instructions).toHaveLength(8);
    expect(result.instructions[0]).toEqual({ address: 'fffff8016470c132', bytes: 'cc', mnemonic: 'int', operands: '3', symbol: 'nvlddmkm+0x84c132' });
    expect(result.instructions[2]).toEqual({ address: 'fffff8016470c134', bytes: '48ff254d2deaff', mnemonic: 'jmp', operands: 'qword ptr [nvlddmkm+0x6eee88 (fffff801`645aee88)]' });
    expect(result.instructions.at(-1)!.address).toBe('fffff8016470c14b');
    expect(result.unparsed).toEqual([]);
    expect(result.complete).toBe(true);
  });

  test('uf: blocks in flow order, each with its label; a conditional jump marked Branch with its target', () => {
    const result = parseDisasm(fixture('uf-win10-x64-1.txt'));
    expect(result.unparsed).toEqual([]);
    expect(result.instructions).toHaveLength(19);
    expect(result.instructions[1]).toEqual({ address: 'fffff80278b5d968', bytes: 'e8a34ff0ff', mnemonic: 'call', operands: 'nt!SepCopyTokenIntegrity (fffff802`78a62910)', target: 'fffff80278a62910' });
    expect(result.instructions[6]).toEqual({ address: 'fffff80278a62919', bytes: '741b', mnemonic: 'je', operands: 'nt!SepCopyTokenIntegrity+0x26 (fffff802`78a62936)', target: 'fffff80278a62936', branch: true });
    expect(result.instructions.filter((i) => i.symbol).map((i) => i.symbol)).toEqual(['nt!SeQueryTokenIntegrity', 'nt!SepCopyTokenIntegrity', 'nt!SepCopyTokenIntegrity+0xb', 'nt!SepCopyTokenIntegrity+0x18', 'nt!SepCopyTokenIntegrity+0x26']);
  });
});
