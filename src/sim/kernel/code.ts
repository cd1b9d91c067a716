/**
 * Machine code of the simulated images: real x86/x64 encodings of the few instruction forms the
 * model needs, so `u` at a call site shows the tag as an immediate (x86 `push 20636241h` =
 * `68 41 62 63 20`; x64 `mov r8d,20636241h` = `41 b8 …`, free tag `mov edx,…` = `ba …`) and
 * patching those bytes with `eb`/`ed` retags later allocations.
 *
 * Instruction forms emitted (all standard encodings):
 * x86: 8b ff mov edi,edi · 55 push ebp · 8b ec mov ebp,esp · 53/56/57 push ebx/esi/edi ·
 *      68 imm32 push imm32 · 6a imm8 push imm8 · ff 75 08 push dword ptr [ebp+8] ·
 *      ff 15 m32 call dword ptr [m32] · e8 rel32 call · ff d0 call eax · 8b f0 mov esi,eax ·
 *      8b c6 mov eax,esi · 85 f6 test esi,esi · 8b 45 08 mov eax,dword ptr [ebp+8] ·
 *      5f/5e/5b/5d pop · c2 imm16 ret imm16 · c3 ret · cc int 3 · 90 nop
 * x64: 48 89 5c 24 08 mov qword ptr [rsp+8],rbx · 57 push rdi · 48 83 ec 20 sub rsp,20h ·
 *      41 b8 imm32 mov r8d,imm32 · ba imm32 mov edx,imm32 · b9 imm32 mov ecx,imm32 ·
 *      8b d7 mov edx,edi · 48 ff 15 rel32 call qword ptr [rip+rel32] · 0f 1f 44 00 00 nop ·
 *      e8 rel32 call · ff d0 call rax · 48 8b d8 mov rbx,rax · 48 8b cb mov rcx,rbx ·
 *      48 8b c3 mov rax,rbx · 48 8b 5c 24 30 mov rbx,qword ptr [rsp+30h] · 48 83 c4 20 add rsp,20h ·
 *      5f pop rdi · c3 ret · cc int 3 · 90 nop
 */

/** Bytes of one function body under construction, at a known load address. */
export interface CodeBuffer {
  readonly arch: 'x86' | 'x64';
  /** Address of byte 0 of the buffer. */
  readonly start: bigint;
  readonly bytes: number[];
}

/** A new empty function body at `start`. */
export function createCodeBuffer(arch: 'x86' | 'x64', start: bigint): CodeBuffer {
  return { arch, start, bytes: [] };
}

// Little-endian bytes of a 32-bit value (signed or unsigned).
function le32(value: number | bigint): number[] {
  const word = Number(BigInt.asUintN(32, BigInt(value)));
  return [word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, (word >>> 24) & 0xff];
}

/** Function entry: hot-patch pad and frame on x86, home-space spill on x64. */
export function emitPrologue(code: CodeBuffer): void {
  if (code.arch === 'x86') code.bytes.push(0x8b, 0xff, 0x55, 0x8b, 0xec, 0x53, 0x56, 0x57);
  else code.bytes.push(0x48, 0x89, 0x5c, 0x24, 0x08, 0x57, 0x48, 0x83, 0xec, 0x20);
}

/** Function exit matching emitPrologue. */
export function emitEpilogue(code: CodeBuffer): void {
  if (code.arch === 'x86') code.bytes.push(0x8b, 0xc6, 0x5f, 0x5e, 0x5b, 0x5d, 0xc2, 0x04, 0x00);
  else code.bytes.push(0x48, 0x8b, 0xc3, 0x48, 0x8b, 0x5c, 0x24, 0x30, 0x48, 0x83, 0xc4, 0x20, 0x5f, 0xc3);
}

/** Plain instructions up to `offset` (a whole number of instructions, then nops). */
export function emitFillerTo(code: CodeBuffer, offset: number): void {
  const filler = code.arch === 'x86' ? [0x8b, 0x45, 0x08] : [0x48, 0x8b, 0xc3];
  while (code.bytes.length + filler.length <= offset) code.bytes.push(...filler);
  while (code.bytes.length < offset) code.bytes.push(0x90);
}

/** `int 3` padding to a 16-byte boundary after a function, as the linker leaves it. */
export function padFunction(code: CodeBuffer, minimumSize: number): void {
  while (code.bytes.length < minimumSize || code.bytes.length % 16 !== 0) code.bytes.push(0xcc);
}

/** Where a call sequence put its tag immediate and the call's return address (offsets in the buffer). */
export interface CallSite {
  tagOffset: number;
  returnOffset: number;
}

/**
 * An allocation call: the tag as an immediate, then size and pool type, then an import call.
 * `size` undefined means a variable size (taken from the caller's argument).
 */
export function emitAllocCall(code: CodeBuffer, options: { tag: number; size?: number; poolArgument: number; importSlot: bigint }): CallSite {
  const bytes = code.bytes;
  if (code.arch === 'x86') {
    const tagOffset = bytes.length + 1;
    bytes.push(0x68, ...le32(options.tag));
    if (options.size === undefined) bytes.push(0xff, 0x75, 0x08);
    else bytes.push(0x68, ...le32(options.size));
    bytes.push(0x6a, options.poolArgument & 0xff);
    bytes.push(0xff, 0x15, ...le32(options.importSlot));
    const returnOffset = bytes.length;
    bytes.push(0x8b, 0xf0, 0x85, 0xf6);
    return { tagOffset, returnOffset };
  }
  const tagOffset = bytes.length + 2;
  bytes.push(0x41, 0xb8, ...le32(options.tag));
  if (options.size === undefined) bytes.push(0x8b, 0xd7);
  else bytes.push(0xba, ...le32(options.size));
  bytes.push(0xb9, ...le32(options.poolArgument));
  const returnOffset = emitImportCallX64(code, options.importSlot);
  bytes.push(0x48, 0x8b, 0xd8);
  return { tagOffset, returnOffset };
}

/**
 * Where a call goes: through the module's import slot (a driver calling nt), or a direct
 * `call rel32` (nt calling its own ExFreePool).
 */
export type CallTarget = { importSlot: bigint } | { direct: bigint };

/** A free call with the tag as an immediate (ExFreePoolWithTag(P, Tag)). */
export function emitFreeCall(code: CodeBuffer, options: { tag: number; target: CallTarget }): CallSite {
  const bytes = code.bytes;
  if (code.arch === 'x86') {
    const tagOffset = bytes.length + 1;
    bytes.push(0x68, ...le32(options.tag));
    bytes.push(0x56);
    return { tagOffset, returnOffset: emitTargetCall(code, options.target) };
  }
  const tagOffset = bytes.length + 1;
  bytes.push(0xba, ...le32(options.tag));
  bytes.push(0x48, 0x8b, 0xcb);
  return { tagOffset, returnOffset: emitTargetCall(code, options.target) };
}

/** A tag-less free call (ExFreePool(P)): sites that name no free function, or a free that says `call: ExFreePool`. */
export function emitPlainFreeCall(code: CodeBuffer, target: CallTarget): number {
  code.bytes.push(...(code.arch === 'x86' ? [0x56] : [0x48, 0x8b, 0xcb]));
  return emitTargetCall(code, target);
}

// The call itself: through the import slot (x86 `ff 15 m32`, x64 as emitImportCallX64), or `e8 rel32`.
function emitTargetCall(code: CodeBuffer, target: CallTarget): number {
  if ('importSlot' in target) {
    if (code.arch === 'x64') return emitImportCallX64(code, target.importSlot);
    code.bytes.push(0xff, 0x15, ...le32(target.importSlot));
    return code.bytes.length;
  }
  const returnOffset = code.bytes.length + 5;
  code.bytes.push(0xe8, ...le32(target.direct - (code.start + BigInt(returnOffset))));
  return returnOffset;
}

// x64 import call through the IAT, as MSVC emits it (REX.W call, then a 5-byte nop).
function emitImportCallX64(code: CodeBuffer, importSlot: bigint): number {
  const after = BigInt(code.bytes.length + 7);
  code.bytes.push(0x48, 0xff, 0x15, ...le32(importSlot - (code.start + after)));
  const returnOffset = code.bytes.length;
  code.bytes.push(0x0f, 0x1f, 0x44, 0x00, 0x00);
  return returnOffset;
}

/**
 * A call whose return address lands at `returnOffset`: `e8 rel32` when the target is within
 * reach, else (or when the frame calls several functions, `indirect`) an indirect `call eax`/`call
 * rax` (a dispatch through a pointer, as IofCallDriver does).
 */
export function emitCallReturningAt(code: CodeBuffer, returnOffset: number, target: bigint, indirect = false): void {
  const distance = target - (code.start + BigInt(returnOffset));
  if (!indirect && distance >= -0x80000000n && distance < 0x80000000n && returnOffset - 5 >= code.bytes.length) {
    emitFillerTo(code, returnOffset - 5);
    code.bytes.push(0xe8, ...le32(distance));
  } else {
    emitFillerTo(code, returnOffset - 2);
    code.bytes.push(0xff, 0xd0);
  }
}

/** The 32-bit little-endian value of a 4-character tag (`'Abc '` → 0x20636241). */
export function tagValue(tag: string): number {
  return (tag.charCodeAt(0) | (tag.charCodeAt(1) << 8) | (tag.charCodeAt(2) << 16) | (tag.charCodeAt(3) << 24)) >>> 0;
}

/** The 4-character tag of a 32-bit value; non-printable bytes are kept as their characters. */
export function tagString(value: number): string {
  return String.fromCharCode(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff);
}
