/**
 * A small x86/x64 disassembler for the instructions the simulated kernel puts at allocation
 * and free call sites and break sites, printed in kd's `u` layout: address, opcode bytes padded
 * to 16 columns, mnemonic padded to 7, operands; hex immediates with an `h` suffix
 * (`push    20636241h`, `mov     r8d,20636241h`), step-win10-x64-1.txt and dq-win10-x64-1.txt.
 * No public transcript shows an x86 `u` listing; the x86 lines follow the same columns.
 * Bytes it does not know decode as a one-byte `???`, as kd prints undecodable code.
 */
import { formatAddress } from '../../kd/common.js';

/** One decoded instruction. */
export interface Instruction {
  address: bigint;
  bytes: Uint8Array;
  mnemonic: string;
  operands: string;
}

/** Turn an address into `module!symbol+0xoff (address)` text for call targets. */
export type Symbolizer = (address: bigint) => string | undefined;

const REG32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const REG64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi'];

/** kd's immediate format: `0` … `9` bare, larger values hex with `h`, a leading 0 before a letter. */
export function formatImmediate(value: bigint): string {
  if (value < 10n) return value.toString();
  const hex = value.toString(16).toUpperCase();
  return /^[A-F]/.test(hex) ? `0${hex}h` : `${hex}h`;
}

// Register name for a number 0–15 with the operand size and REX extension.
function registerName(number: number, wide: boolean): string {
  if (number < 8) return wide ? REG64[number] : REG32[number];
  return wide ? `r${number}` : `r${number}d`;
}

// Little-endian unsigned read of `size` bytes at `offset`.
function readUnsigned(bytes: Uint8Array, offset: number, size: number): bigint {
  let value = 0n;
  for (let index = size - 1; index >= 0; index--) value = (value << 8n) | BigInt(bytes[offset + index] ?? 0);
  return value;
}

/** Decode one instruction from `bytes` (at least 15 bytes when available) located at `address`. */
export function decodeInstruction(bytes: Uint8Array, address: bigint, x64: boolean, symbolize: Symbolizer, pointerSize: 4 | 8): Instruction {
  let index = 0;
  let rex = 0;
  if (x64 && bytes[0] >= 0x40 && bytes[0] <= 0x4f) {
    rex = bytes[0];
    index = 1;
  }
  const wide = (rex & 0x8) !== 0;
  const rexB = (rex & 0x1) !== 0 ? 8 : 0;
  const rexR = (rex & 0x4) !== 0 ? 8 : 0;
  const opcode = bytes[index];
  const make = (length: number, mnemonic: string, operands = ''): Instruction => ({
    address, bytes: bytes.slice(0, length), mnemonic, operands,
  });
  const target = (value: bigint) => {
    const name = symbolize(value);
    const text = formatAddress(value, pointerSize);
    return name ? `${name} (${text})` : text;
  };
  if (opcode === undefined) return make(1, '???');
  if (opcode === 0xcc) return make(index + 1, 'int', '3');
  if (opcode === 0x90) return make(index + 1, 'nop');
  if (opcode === 0xc3) return make(index + 1, 'ret');
  if (opcode === 0xc2) return make(index + 3, 'ret', formatImmediate(readUnsigned(bytes, index + 1, 2)));
  if (opcode === 0x68) return make(index + 5, 'push', formatImmediate(readUnsigned(bytes, index + 1, 4)));
  if (opcode === 0x6a) return make(index + 2, 'push', formatImmediate(readUnsigned(bytes, index + 1, 1)));
  if (opcode >= 0x50 && opcode <= 0x57) return make(index + 1, 'push', registerName((opcode - 0x50) + rexB, x64));
  if (opcode >= 0x58 && opcode <= 0x5f) return make(index + 1, 'pop', registerName((opcode - 0x58) + rexB, x64));
  if (opcode >= 0xb8 && opcode <= 0xbf) {
    const size = wide ? 8 : 4;
    return make(index + 1 + size, 'mov', `${registerName((opcode - 0xb8) + rexB, wide)},${formatImmediate(readUnsigned(bytes, index + 1, size))}`);
  }
  if (opcode === 0xe8) {
    const displacement = BigInt.asIntN(32, readUnsigned(bytes, index + 1, 4));
    const next = address + BigInt(index + 5);
    return make(index + 5, 'call', target(BigInt.asUintN(pointerSize * 8, next + displacement)));
  }
  if (opcode === 0xeb || opcode === 0x74 || opcode === 0x75) {
    const displacement = BigInt.asIntN(8, readUnsigned(bytes, index + 1, 1));
    const next = address + BigInt(index + 2);
    const mnemonic = opcode === 0xeb ? 'jmp' : opcode === 0x74 ? 'je' : 'jne';
    return make(index + 2, mnemonic, target(BigInt.asUintN(pointerSize * 8, next + displacement)));
  }
  if (opcode === 0xff && bytes[index + 1] === 0x15) {
    const displacement = readUnsigned(bytes, index + 2, 4);
    const pointer = x64
      ? BigInt.asUintN(64, address + BigInt(index + 6) + BigInt.asIntN(32, displacement))
      : displacement;
    const size = x64 ? 'qword' : 'dword';
    return make(index + 6, 'call', `${size} ptr [${target(pointer)}]`);
  }
  const modrm = bytes[index + 1];
  if (opcode === 0x0f && bytes[index + 1] === 0x1f) {
    const operand = decodeModrm(bytes, index + 2, rex, 'dword', x64);
    return make(index + 2 + operand.length, 'nop', operand.text);
  }
  if (opcode === 0xff && modrm !== undefined && [2, 6].includes((modrm >> 3) & 7)) {
    const operand = decodeModrm(bytes, index + 1, rex, x64 ? 'qword' : 'dword', x64);
    return make(index + 1 + operand.length, ((modrm >> 3) & 7) === 2 ? 'call' : 'push', operand.text);
  }
  if (opcode === 0xc7 && modrm !== undefined && ((modrm >> 3) & 7) === 0 && (modrm & 0xc0) !== 0xc0) {
    // mov dword ptr [rsp+20h],imm32: an argument from the 5th on, stored in its stack slot.
    const operand = decodeModrm(bytes, index + 1, rex, wide ? 'qword' : 'dword', x64);
    const end = index + 1 + operand.length;
    return make(end + 4, 'mov', `${operand.text},${formatImmediate(readUnsigned(bytes, end, 4))}`);
  }
  if ((opcode === 0x8b || opcode === 0x89) && modrm !== undefined && (modrm & 0xc0) !== 0xc0) {
    const operand = decodeModrm(bytes, index + 1, rex, wide ? 'qword' : 'dword', x64);
    const reg = registerName(((modrm >> 3) & 7) + rexR, wide);
    return make(index + 1 + operand.length, 'mov', opcode === 0x8b ? `${reg},${operand.text}` : `${operand.text},${reg}`);
  }
  if ((opcode === 0x33 || opcode === 0x31 || opcode === 0x8b || opcode === 0x89 || opcode === 0x85) && modrm !== undefined && (modrm & 0xc0) === 0xc0) {
    const reg = ((modrm >> 3) & 7) + rexR;
    const rm = (modrm & 7) + rexB;
    const names: Record<number, string> = { 0x33: 'xor', 0x31: 'xor', 0x8b: 'mov', 0x89: 'mov', 0x85: 'test' };
    const [first, second] = opcode === 0x8b || opcode === 0x33 ? [reg, rm] : [rm, reg];
    return make(index + 2, names[opcode], `${registerName(first, wide)},${registerName(second, wide)}`);
  }
  if (opcode === 0x83 && modrm !== undefined && (modrm & 0xc0) === 0xc0) {
    const operation = (modrm >> 3) & 7;
    const mnemonics: Record<number, string> = { 0: 'add', 5: 'sub', 7: 'cmp' };
    if (mnemonics[operation]) {
      return make(index + 3, mnemonics[operation], `${registerName((modrm & 7) + rexB, wide)},${formatImmediate(readUnsigned(bytes, index + 2, 1))}`);
    }
  }
  return make(1, '???');
}

// A ModR/M operand at `offset`: a register (mod 3) or `dword ptr [base+index+disp]`, with its length in bytes.
function decodeModrm(bytes: Uint8Array, offset: number, rex: number, size: 'dword' | 'qword', x64: boolean): { text: string; length: number } {
  const modrm = bytes[offset] ?? 0;
  const mod = modrm >> 6;
  const rm = modrm & 7;
  const rexB = (rex & 0x1) !== 0 ? 8 : 0;
  const rexX = (rex & 0x2) !== 0 ? 8 : 0;
  if (mod === 3) return { text: registerName(rm + rexB, size === 'qword'), length: 1 };
  const addressName = (number: number) => registerName(number, x64);
  let length = 1;
  let base: string;
  if (rm === 4) {
    const sib = bytes[offset + 1] ?? 0;
    length = 2;
    const scale = 1 << (sib >> 6);
    const index = ((sib >> 3) & 7) + rexX;
    base = addressName((sib & 7) + rexB);
    if (index !== 4) base += `+${addressName(index)}${scale > 1 ? `*${scale}` : ''}`;
  } else {
    base = addressName(rm + rexB);
  }
  let displacement = 0n;
  if (mod === 1) {
    displacement = BigInt.asIntN(8, readUnsigned(bytes, offset + length, 1));
    length += 1;
  } else if (mod === 2) {
    displacement = BigInt.asIntN(32, readUnsigned(bytes, offset + length, 4));
    length += 4;
  }
  const disp = displacement === 0n ? '' : displacement < 0n ? `-${formatImmediate(-displacement)}` : `+${formatImmediate(displacement)}`;
  return { text: `${size} ptr [${base}${disp}]`, length };
}

/** One `u` line: `fffff803`7f3a70e5 cc              int     3`. */
export function formatInstruction(instruction: Instruction, pointerSize: 4 | 8): string {
  const hex = Array.from(instruction.bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  const operands = instruction.operands ? `${instruction.mnemonic.padEnd(7, ' ')} ${instruction.operands}` : instruction.mnemonic;
  const bytesColumn = hex.length >= 16 ? `${hex} ` : hex.padEnd(16, ' ');
  return `${formatAddress(instruction.address, pointerSize)} ${bytesColumn}${operands}`;
}
