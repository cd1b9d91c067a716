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
 * A tag passed as an argument (a wrapper's caller loads it, ./plan.ts): x86 `68 imm32` then the
 * arguments before it (`57`/`56`/`53` push edi/esi/ebx), or `ff 73 0c` push dword ptr [ebx+0Ch]
 * from memory; x64 `b9`/`ba` mov ecx/edx,imm32, `41 b8`/`41 b9` mov r8d/r9d,imm32,
 * `c7 44 24 xx imm32` mov dword ptr [rsp+xxh],imm32 from the 5th argument on, `48 8b cb`
 * mov rcx,rbx; from memory `8b 4b 0c`, `8b 53 0c`, `44 8b 43 0c`, `44 8b 4b 0c` (mov
 * ecx/edx/r8d/r9d,dword ptr [rbx+0Ch]), `8b 43 0c` + `89 44 24 xx` (mov eax,…; mov dword ptr
 * [rsp+xxh],eax). The wrapper passes it on from the register it kept it in: x86 `57` push edi,
 * x64 `44 8b c3` mov r8d,ebx.
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
 * `size` undefined means a variable size (taken from the caller's argument). `tagParameter`: the
 * tag is one of the function's parameters (a wrapper), passed on from the register it was kept
 * in: no immediate, so no `tagOffset`.
 */
export function emitAllocCall(code: CodeBuffer, options: { tag: number; size?: number; poolArgument: number; importSlot: bigint; tagParameter?: boolean }): CallSite | { tagOffset?: undefined; returnOffset: number } {
  const bytes = code.bytes;
  if (options.tagParameter) bytes.push(...(code.arch === 'x86' ? [0x57] : [0x44, 0x8b, 0xc3]));
  if (code.arch === 'x86') {
    const tagOffset = options.tagParameter ? undefined : bytes.length + 1;
    if (tagOffset !== undefined) bytes.push(0x68, ...le32(options.tag));
    if (options.size === undefined) bytes.push(0xff, 0x75, 0x08);
    else bytes.push(0x68, ...le32(options.size));
    bytes.push(0x6a, options.poolArgument & 0xff);
    bytes.push(0xff, 0x15, ...le32(options.importSlot));
    const returnOffset = bytes.length;
    bytes.push(0x8b, 0xf0, 0x85, 0xf6);
    return tagOffset === undefined ? { returnOffset } : { tagOffset, returnOffset };
  }
  const tagOffset = options.tagParameter ? undefined : bytes.length + 2;
  if (tagOffset !== undefined) bytes.push(0x41, 0xb8, ...le32(options.tag));
  if (options.size === undefined) bytes.push(0x8b, 0xd7);
  else bytes.push(0xba, ...le32(options.size));
  bytes.push(0xb9, ...le32(options.poolArgument));
  const returnOffset = emitImportCallX64(code, options.importSlot);
  bytes.push(0x48, 0x8b, 0xd8);
  return tagOffset === undefined ? { returnOffset } : { tagOffset, returnOffset };
}

/** A caller loading a tag argument before its call (./plan.ts): the tag, its position from 1, and where the value comes from. */
export interface TagLoad {
  tag: number;
  position: number;
  from: 'immediate' | 'memory';
}

/** The instructions that load a tag argument, and the offset of the immediate in them (immediate loads). */
export function tagLoadBytes(arch: 'x86' | 'x64', load: TagLoad): { bytes: number[]; immediateAt?: number } {
  const memory = load.from === 'memory';
  if (arch === 'x86') {
    // stdcall: arguments pushed last to first, so the ones before the tag follow its push.
    const later = [0x57, 0x56, 0x53];
    const rest = Array.from({ length: load.position - 1 }, (_, index) => later[index % later.length]!);
    return memory ? { bytes: [0xff, 0x73, 0x0c, ...rest] } : { bytes: [0x68, ...le32(load.tag), ...rest], immediateAt: 1 };
  }
  // The first argument (a handle or a context) from rbx after the tag, as compilers often order them.
  const first = load.position === 1 ? [] : [0x48, 0x8b, 0xcb];
  if (load.position >= 5) {
    const slot = 8 * (load.position - 1);
    if (memory) return { bytes: [0x8b, 0x43, 0x0c, 0x89, 0x44, 0x24, slot, ...first] };
    return { bytes: [0xc7, 0x44, 0x24, slot, ...le32(load.tag), ...first], immediateAt: 4 };
  }
  if (memory) return { bytes: [[0x8b, 0x4b, 0x0c], [0x8b, 0x53, 0x0c], [0x44, 0x8b, 0x43, 0x0c], [0x44, 0x8b, 0x4b, 0x0c]][load.position - 1]!.concat(first) };
  const opcode = [[0xb9], [0xba], [0x41, 0xb8], [0x41, 0xb9]][load.position - 1]!;
  return { bytes: [...opcode, ...le32(load.tag), ...first], immediateAt: opcode.length };
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
 * rax` (a dispatch through a pointer, as IofCallDriver does). `load`: the instructions that load
 * a tag argument come right before the call; the offset of its immediate is returned.
 */
export function emitCallReturningAt(code: CodeBuffer, returnOffset: number, target: bigint, indirect = false, load?: TagLoad): number | undefined {
  const distance = target - (code.start + BigInt(returnOffset));
  const loading = load ? tagLoadBytes(code.arch, load) : { bytes: [] as number[] };
  const before = loading.bytes.length;
  const direct = !indirect && distance >= -0x80000000n && distance < 0x80000000n && returnOffset - 5 - before >= code.bytes.length;
  emitFillerTo(code, returnOffset - (direct ? 5 : 2) - before);
  const loadStart = code.bytes.length;
  code.bytes.push(...loading.bytes);
  code.bytes.push(...(direct ? [0xe8, ...le32(distance)] : [0xff, 0xd0]));
  return loading.immediateAt === undefined ? undefined : loadStart + loading.immediateAt;
}

/** The 32-bit little-endian value of a 4-character tag (`'Abc '` → 0x20636241). */
export function tagValue(tag: string): number {
  return (tag.charCodeAt(0) | (tag.charCodeAt(1) << 8) | (tag.charCodeAt(2) << 16) | (tag.charCodeAt(3) << 24)) >>> 0;
}

/** The 4-character tag of a 32-bit value; non-printable bytes are kept as their characters. */
export function tagString(value: number): string {
  return String.fromCharCode(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff);
}
