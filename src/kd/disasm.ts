/**
 * Parse disassembly (`u`, `ub`, `uf`, and the instruction line kd prints at every stop) and find
 * the pool-tag immediate at an allocation or free call site, which the retag step patches.
 */
import { contentLines, KdParseError, type ParseResultBase } from './common.js';
import { matchPrompt } from './prompt.js';
import type { KdArch } from './version.js';

/** A code location: `nt!ExAllocatePoolWithTag+0x881`, `Driver+0x11b1` (no symbols), `HEVD!Trigger`. */
export interface SymbolLocation {
  module: string;
  function?: string;
  /** Offset from the function (or from the module base when there is no function). */
  offset: number;
}

/** Where the target stopped: a location and its label as printed (`nt!ExAllocatePoolWithTag+0x881`). */
export interface StopLocation extends SymbolLocation {
  symbol: string;
}

/** The location a `module!Function+0x1a:` label names (its colon removed), the label kept as `symbol`. */
export function labelLocation(label: string): StopLocation {
  const location = parseSymbolLocation(label);
  if (!location) return { module: label, offset: 0, symbol: label };
  // The keys in a fixed order, without a spread (slow in V8).
  const result = { module: location.module, offset: location.offset } as StopLocation;
  if (location.function !== undefined) result.function = location.function;
  result.symbol = label;
  return result;
}

/** One disassembled instruction. */
export interface Instruction {
  /** Lowercase hex, no backtick, no segment. */
  address: string;
  /** Opcode bytes as printed, lowercase hex (`41b841626320`); empty when kd showed none. */
  bytes: string;
  mnemonic: string;
  operands: string;
  /** The `module!Function+0x1a:` label printed just before this instruction. */
  symbol?: string;
  /** Segment selector printed before a user-mode address (`0033`). */
  segment?: string;
  /** Branch/call target kd printed in parentheses (`… (fffff801`10bb1449)`). */
  target?: string;
  /** Effective-address annotation kd appends at a stop (`ds:002b:00000000`002cfd40=4242424242424242`). */
  effectiveAddress?: string;
  /** `uf` marks a conditional jump that ends a block with `  Branch` after its target (uf-win10-x64-1.txt). */
  branch?: boolean;
}

/** Result of `u`. */
export interface DisasmResult extends ParseResultBase {
  instructions: Instruction[];
}

// Words that begin operands, never an instruction: guards the bytes/mnemonic split.
const OPERAND_WORDS = new Set(['byte', 'word', 'dword', 'qword', 'tbyte', 'fword', 'xmmword', 'ymmword', 'zmmword', 'ptr', 'st']);
// Prefixes kd prints as a separate word before the instruction.
const PREFIXES = new Set(['rep', 'repe', 'repz', 'repne', 'repnz', 'lock']);

/** Parse `module!Function+0x1a`, `Driver+0x11b1`, `ntoskrnl!_DbgBreakPointWithStatus+4`. */
export function parseSymbolLocation(text: string): SymbolLocation | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || /\s{2}/.test(trimmed)) return undefined;
  const bang = trimmed.indexOf('!');
  let base = trimmed;
  let offset = 0;
  const plus = /\+(0x)?([0-9a-fA-F]+)$/.exec(trimmed);
  if (plus) {
    base = trimmed.slice(0, plus.index);
    offset = parseInt(plus[2], 16);
  }
  if (bang < 0) {
    if (!/^[A-Za-z0-9_.-]+$/.test(base) || !plus) return undefined;
    return { module: base, offset };
  }
  const module = base.slice(0, bang);
  const fn = base.slice(bang + 1);
  if (!/^[A-Za-z0-9_.-]+$/.test(module)) return undefined;
  const location: SymbolLocation = { module, offset };
  if (fn !== '') location.function = fn;
  return location;
}

/** True when the line is a symbol label kd prints before code (`nt!KeQueryIntervalProfile+0x4:`). */
export function isSymbolLabel(line: string): boolean {
  const trimmed = line.trim();
  if (!trimmed.endsWith(':') || trimmed.length < 3 || matchPrompt(trimmed)) return false;
  const body = trimmed.slice(0, -1);
  return body.includes('!') ? parseSymbolLocation(body) !== undefined || /^[A-Za-z0-9_.-]+! /.test(body) : /\+(?:0x)?[0-9a-fA-F]+$/.test(body) && parseSymbolLocation(body) !== undefined;
}

// An even-length run of hex digits: the opcode-bytes column.
function isByteRun(token: string): boolean {
  return token.length >= 2 && token.length % 2 === 0 && /^[0-9a-f]+$/.test(token);
}

// A plausible mnemonic word.
function isMnemonic(token: string | undefined): boolean {
  return token !== undefined && /^[a-z][a-z0-9]*$/.test(token) && !OPERAND_WORDS.has(token);
}

// Blanks \s matches in the ASCII range (the regex below skips them before the address).
function isSpaceCode(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}

// A hex digit, either case.
function isHexDigitCode(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 97 && code <= 102) || (code >= 65 && code <= 70);
}

/** Parse one instruction line (`fffff803`7f3a70e5 cc              int     3`); undefined when it is not one. */
export function parseInstructionLine(line: string): Instruction | undefined {
  // The address (or a segment) starts with a hex digit after any blanks: most lines fail on that.
  let lead = 0;
  while (lead < line.length && isSpaceCode(line.charCodeAt(lead))) lead++;
  if (!isHexDigitCode(line.charCodeAt(lead)) && !(lead < line.length && line.charCodeAt(lead) > 127)) return undefined;
  const head = /^\s*(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?) (?=\S)/.exec(line);
  if (!head) return undefined;
  const rest = line.slice(head[0].length).trimEnd();
  const firstEnd = rest.indexOf(' ');
  const first = firstEnd < 0 ? rest : rest.slice(0, firstEnd);
  const afterFirst = firstEnd < 0 ? '' : rest.slice(firstEnd).trimStart();
  let bytes = '';
  let body = rest;
  const secondToken = afterFirst.split(' ', 1)[0];
  if (isByteRun(first) && isMnemonic(secondToken)) {
    bytes = first;
    body = afterFirst;
  }
  const mnemonicEnd = body.indexOf(' ');
  let mnemonic = mnemonicEnd < 0 ? body : body.slice(0, mnemonicEnd);
  let operands = mnemonicEnd < 0 ? '' : body.slice(mnemonicEnd).trim();
  if (!isMnemonic(mnemonic)) return undefined;
  if (PREFIXES.has(mnemonic) && operands !== '') {
    const next = operands.indexOf(' ');
    const word = next < 0 ? operands : operands.slice(0, next);
    if (isMnemonic(word)) {
      mnemonic = `${mnemonic} ${word}`;
      operands = next < 0 ? '' : operands.slice(next).trim();
    }
  }
  const instruction: Instruction = { address: head[2].replace('`', '').toLowerCase(), bytes, mnemonic, operands };
  if (head[1]) instruction.segment = head[1];
  const effective = / ([a-z]{2}:[0-9a-f]{4}:[0-9a-fA-F`]+=[0-9a-fA-F?]+)$/.exec(operands);
  if (effective) {
    instruction.effectiveAddress = effective[1];
    instruction.operands = operands.slice(0, effective.index).trim();
  }
  const branch = /\s{2}Branch$/.exec(instruction.operands);
  if (branch) {
    instruction.branch = true;
    instruction.operands = instruction.operands.slice(0, branch.index);
  }
  const target = /\(([0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?)\)$/.exec(instruction.operands);
  if (target) instruction.target = target[1].replace('`', '').toLowerCase();
  return instruction;
}

/** Parse `u` / `ub` / `uf` output. Throws KdParseError when it holds no instruction. */
export function parseDisasm(text: string): DisasmResult {
  const result: DisasmResult = { complete: true, unparsed: [], instructions: [] };
  let label: string | undefined;
  for (const { line, trimmed } of contentLines(text)) {
    const prompt = matchPrompt(trimmed);
    if (prompt) {
      if (!/^u[bf]?\b/.test(prompt.command)) result.unparsed.push(line);
      continue;
    }
    if (isSymbolLabel(trimmed)) {
      label = trimmed.slice(0, -1);
      continue;
    }
    const instruction = parseInstructionLine(line);
    if (!instruction) {
      result.unparsed.push(line);
      continue;
    }
    if (label !== undefined) instruction.symbol = label;
    label = undefined;
    result.instructions.push(instruction);
  }
  if (result.instructions.length === 0) {
    throw new KdParseError('u', 'No instructions found: expected "<address> <bytes> <mnemonic> <operands>"');
  }
  if (label !== undefined) result.complete = false;
  return result;
}

/** Where a pool tag sits in code: the immediate operand of the instruction that passes it. */
export interface TagImmediate {
  /** Address of the instruction. */
  instructionAddress: string;
  /** Address of the immediate's first byte (what a retag patch writes). */
  address: string;
  /** The immediate as a number (`0x20636241`). */
  value: number;
  /** The tag as kd shows it, in memory byte order (`Abc `). */
  tag: string;
  /** How the tag is passed. */
  encoding: 'push-imm32' | 'mov-r8d-imm32' | 'mov-edx-imm32' | 'mov-ecx-imm32' | 'mov-r9d-imm32' | 'mov-stack-imm32';
}

/** Options for findTagImmediate. */
export interface FindTagOptions {
  /**
   * `alloc` looks for the allocation tag argument, `free` for ExFreePoolWithTag's; both when
   * omitted. `argument`: a driver's call into a wrapper that takes the tag (NDIS, storport, WDF,
   * a helper), where the tag may be any argument: x86 `push imm32`; x64 `mov ecx`/`edx`/`r8d`/`r9d,imm32`
   * or, from the 5th argument on, `mov dword ptr [rsp+20h…38h],imm32`.
   */
  site?: 'alloc' | 'free' | 'argument';
  /** Only this tag (1–4 characters, padded with spaces). */
  tag?: string;
}

// Encodings that pass a 32-bit tag, with the offset of the immediate inside the instruction, and
// the kinds of call they pass it to (`argument`: any argument of a call into a wrapper).
const ENCODINGS: readonly { arch: KdArch; sites: readonly ('alloc' | 'free' | 'argument')[]; opcode: string; register: RegExp; encoding: TagImmediate['encoding'] }[] = [
  { arch: 'x86', sites: ['alloc', 'free', 'argument'], opcode: '68', register: /^$/, encoding: 'push-imm32' },
  { arch: 'x64', sites: ['alloc', 'argument'], opcode: '41b8', register: /^r8d,/, encoding: 'mov-r8d-imm32' },
  { arch: 'x64', sites: ['free', 'argument'], opcode: 'ba', register: /^edx,/, encoding: 'mov-edx-imm32' },
  { arch: 'x64', sites: ['argument'], opcode: 'b9', register: /^ecx,/, encoding: 'mov-ecx-imm32' },
  { arch: 'x64', sites: ['argument'], opcode: '41b9', register: /^r9d,/, encoding: 'mov-r9d-imm32' },
  ...['20', '28', '30', '38'].map((slot) => ({ arch: 'x64' as const, sites: ['argument' as const], opcode: `c74424${slot}`, register: new RegExp(`^dword ptr \\[rsp\\+${slot}h\\],`), encoding: 'mov-stack-imm32' as const })),
];

// A tag's bytes: printable ASCII; the last may carry the PROTECTED_POOL high bit.
function isTagBytes(bytes: readonly number[]): boolean {
  return bytes.every((byte, index) => {
    const low = index === 3 ? byte & 0x7f : byte;
    return low >= 0x20 && low <= 0x7e;
  });
}

// The immediate value printed in the operands (`20636241h`, `0x20636241`).
function operandImmediate(operands: string): number | undefined {
  const match = /(?:^|,)(?:0x)?([0-9a-fA-F]{1,8})h?$/.exec(operands.trim());
  return match ? parseInt(match[1], 16) : undefined;
}

/**
 * Find the tag immediate of an allocation (or free) call site in disassembly: x86 `push imm32`
 * (`68 xx xx xx xx`), x64 `mov r8d,imm32` (`41 b8 …`) for allocations and `mov edx,imm32`
 * (`ba …`) for frees. Picks the candidate nearest before a `call`; undefined when none fits.
 */
export function findTagImmediate(instructions: readonly Instruction[], arch: KdArch, options: FindTagOptions = {}): TagImmediate | undefined {
  const wanted = options.tag === undefined ? undefined : options.tag.padEnd(4, ' ').slice(0, 4);
  const candidates: { found: TagImmediate; index: number }[] = [];
  instructions.forEach((instruction, index) => {
    for (const encoding of ENCODINGS) {
      if (encoding.arch !== arch) continue;
      if (options.site && !encoding.sites.includes(options.site)) continue;
      const found = matchEncoding(instruction, encoding);
      if (!found) continue;
      if (wanted !== undefined && found.tag !== wanted) continue;
      candidates.push({ found, index });
    }
  });
  if (candidates.length === 0) return undefined;
  const beforeCall = candidates.filter(({ index }) => instructions.slice(index + 1).some((next) => next.mnemonic === 'call'));
  const pool = beforeCall.length > 0 ? beforeCall : candidates;
  if (beforeCall.length > 0) {
    // The argument nearest the first call that follows it is the one passed to that call.
    const firstCall = instructions.findIndex((next, at) => at > pool[0].index && next.mnemonic === 'call');
    const before = pool.filter(({ index }) => index < firstCall);
    return before[before.length - 1].found;
  }
  return pool[pool.length - 1].found;
}

// Check one instruction against one encoding; return the tag it carries.
function matchEncoding(instruction: Instruction, encoding: (typeof ENCODINGS)[number]): TagImmediate | undefined {
  const mnemonic = encoding.encoding === 'push-imm32' ? 'push' : 'mov';
  if (instruction.mnemonic !== mnemonic) return undefined;
  if (!encoding.register.test(instruction.operands) && encoding.encoding !== 'push-imm32') return undefined;
  let immediateBytes: number[];
  if (instruction.bytes !== '') {
    if (!instruction.bytes.startsWith(encoding.opcode) || instruction.bytes.length !== encoding.opcode.length + 8) return undefined;
    const hex = instruction.bytes.slice(encoding.opcode.length);
    immediateBytes = [0, 2, 4, 6].map((at) => parseInt(hex.slice(at, at + 2), 16));
    const shown = operandImmediate(instruction.operands);
    const value = immediateBytes.reduce((sum, byte, at) => sum + byte * 2 ** (8 * at), 0);
    if (shown !== undefined && shown !== value) return undefined;
  } else {
    // No bytes column: the operand gives the value and the encoding is the only one for imm32.
    const shown = operandImmediate(instruction.operands);
    if (shown === undefined || (encoding.encoding === 'push-imm32' && /,/.test(instruction.operands))) return undefined;
    immediateBytes = [0, 1, 2, 3].map((at) => (shown >>> (8 * at)) & 0xff);
  }
  if (!isTagBytes(immediateBytes)) return undefined;
  const value = immediateBytes.reduce((sum, byte, at) => sum + byte * 2 ** (8 * at), 0);
  const width = instruction.address.length;
  const address = (BigInt(`0x${instruction.address}`) + BigInt(encoding.opcode.length / 2)).toString(16).padStart(width, '0');
  return {
    instructionAddress: instruction.address,
    address,
    value,
    tag: String.fromCharCode(...immediateBytes),
    encoding: encoding.encoding,
  };
}
