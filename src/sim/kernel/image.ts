/**
 * Loaded module images of the simulated target: functions laid out one after another with real
 * code bytes, data symbols, and a writable copy of every byte that a reboot restores.
 */
import type { SimModule } from '../kernel-api.js';
import {
  createCodeBuffer,
  emitAllocCall,
  emitCallReturningAt,
  emitEpilogue,
  emitFillerTo,
  emitFreeCall,
  emitPlainFreeCall,
  emitPrologue,
  padFunction,
  tagLoadBytes,
} from './code.js';
import type { CallTarget, CodeBuffer, TagLoad } from './code.js';

/** What a function body contains, in order. */
export type FunctionItem =
  /**
   * A call whose return address is a frame in some stack. `returnOffset` when the model or the
   * scenario fixed it: the scenario's is `exact` (an error when the code before it leaves no room),
   * the model's own is a wish the code may push later. `indirect` when one return address calls
   * several functions (a dispatch through a pointer).
   */
  | { kind: 'call'; key: string; target: FunctionRef; returnOffset?: number; exact?: boolean; indirect?: boolean; tagLoad?: TagLoad }
  /**
   * An allocation call site with its tag immediate; `returnOffset` when the scenario fixed it.
   * `tagParameter`: the tag is one of the function's parameters (a wrapper), passed on from a
   * register, and a caller's `tagLoad` holds the immediate.
   */
  | { kind: 'alloc'; key: string; tag: number; size?: number; poolArgument: number; importSlot: string; returnOffset?: number; tagParameter?: boolean }
  /** A free call site with its tag immediate. */
  | { kind: 'free'; key: string; tag: number; via: CallVia; returnOffset?: number }
  /** A tag-less ExFreePool call. */
  | { kind: 'plain-free'; key: string; via: CallVia; returnOffset?: number }
  /** An `int 3` at a fixed offset (an inline PoolHitTag break). */
  | { kind: 'break'; key: string; offset: number };

/** How a free call reaches nt: through the module's import slot, or directly (nt's own code). */
export type CallVia = { importSlot: string } | { direct: FunctionRef };

/** A return address the scenario fixed that the code before it leaves no room for. */
export class LayoutError extends Error {
  /** Where the scenario asked for it (set by the plan), e.g. `['modules', 0, 'sites', 1, 'offset']`. */
  path: (string | number)[] | undefined;
  constructor(
    /** Key of the item that could not be placed. */
    readonly key: string,
    readonly module: string,
    readonly functionName: string,
    readonly wanted: number,
    /** The first return offset the code before it allows. */
    readonly earliest: number,
  ) {
    super(
      `Expected a return offset the code before it leaves room for, got ${module}!${functionName}+0x${wanted.toString(16)}: ` +
        `the function's prologue, its call sequence and any call at a lower fixed offset end at +0x${earliest.toString(16)}`,
    );
  }
}
LayoutError.prototype.name = 'LayoutError';

/** A function by module and name. */
export interface FunctionRef {
  module: string;
  name: string;
}

/** A function to lay out: either raw bytes or a body built from items. */
export interface FunctionSpec {
  name: string;
  items: FunctionItem[];
  /** Bytes instead of prologue/items/epilogue (e.g. DbgBreakPoint = `cc c3`). */
  raw?: number[];
  minSize: number;
  /** Offset of the first call point when the scenario does not fix one. */
  firstCallOffset: number;
}

/** A data symbol with its initial bytes, or a pointer to a function (an import slot). */
export interface DataSpec {
  name: string;
  bytes: number[];
  /** Fill the bytes with this function's address (pointer-sized, little-endian). */
  pointerTo?: FunctionRef;
}

/** A module to lay out. */
export interface ModuleSpec {
  name: string;
  image: string;
  base: bigint;
  /** Size `lm` shows; at least the laid-out extent. */
  minSize: number;
  functions: FunctionSpec[];
  data: DataSpec[];
}

/** A symbol of a laid-out module (offset relative to the base). */
export interface ImageSymbol {
  name: string;
  offset: number;
  size: number;
  data: boolean;
}

/** A laid-out module: symbols, original bytes and the current (possibly patched) bytes. */
export interface ModuleImage {
  name: string;
  image: string;
  base: bigint;
  size: number;
  symbols: ImageSymbol[];
  /** Bytes from the base up to the end of the data section; the rest of the image reads as zero. */
  original: Uint8Array;
  current: Uint8Array;
  /** Offset where the data section starts (code before it). */
  dataStart: number;
}

/** Where each function item ended up, by its key. */
export interface ItemPlacement {
  module: string;
  function: string;
  /** Absolute address of the function start. */
  functionAddress: bigint;
  returnOffset: number;
  /** Absolute address of the tag immediate (alloc and free items). */
  tagAddress?: bigint;
  /** Offset of the `int 3` (break items). */
  breakOffset?: number;
}

const codeStart = 0x1000;

/** Lay out modules in two passes (sizes first, then bytes with final addresses). */
export function buildImages(arch: 'x86' | 'x64', specs: readonly ModuleSpec[]): { images: ModuleImage[]; placements: Map<string, ItemPlacement> } {
  const functionAddress = new Map<string, bigint>();
  const dataAddress = new Map<string, bigint>();
  const layouts = specs.map((spec) => {
    let offset = codeStart;
    const functionOffsets: number[] = [];
    for (const fn of spec.functions) {
      functionOffsets.push(offset);
      functionAddress.set(refKey({ module: spec.name, name: fn.name }), spec.base + BigInt(offset));
      offset += emitFunction(arch, spec.name, fn, 0n, () => 0n, () => 0n).bytes.length;
    }
    const dataStart = alignUp(offset, 0x1000);
    let dataOffset = dataStart;
    const dataOffsets: number[] = [];
    for (const datum of spec.data) {
      dataOffset = alignUp(dataOffset, Math.min(8, Math.max(4, datum.bytes.length)));
      dataOffsets.push(dataOffset);
      dataAddress.set(`${spec.name.toLowerCase()}!${datum.name.toLowerCase()}`, spec.base + BigInt(dataOffset));
      dataOffset += datum.bytes.length;
    }
    return { functionOffsets, dataStart, dataOffsets, extent: alignUp(Math.max(dataOffset, dataStart + 1), 0x1000) };
  });

  const placements = new Map<string, ItemPlacement>();
  const images = specs.map((spec, index) => {
    const layout = layouts[index]!;
    const original = new Uint8Array(layout.extent);
    original.set([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00], 0);
    const symbols: ImageSymbol[] = [];
    spec.functions.forEach((fn, fnIndex) => {
      const offset = layout.functionOffsets[fnIndex]!;
      const start = spec.base + BigInt(offset);
      const code = emitFunction(
        arch,
        spec.name,
        fn,
        start,
        (ref) => functionAddress.get(refKey(ref)) ?? 0n,
        (slot) => dataAddress.get(`${spec.name.toLowerCase()}!${slot.toLowerCase()}`) ?? 0n,
        (key, placement) => placements.set(key, { module: spec.name, function: fn.name, functionAddress: start, ...placement }),
      );
      original.set(code.bytes, offset);
      symbols.push({ name: fn.name, offset, size: code.bytes.length, data: false });
    });
    spec.data.forEach((datum, dataIndex) => {
      const offset = layout.dataOffsets[dataIndex]!;
      let bytes = datum.bytes;
      if (datum.pointerTo) {
        let value = functionAddress.get(refKey(datum.pointerTo)) ?? 0n;
        bytes = datum.bytes.map(() => {
          const byte = Number(value & 0xffn);
          value >>= 8n;
          return byte;
        });
      }
      original.set(bytes, offset);
      symbols.push({ name: datum.name, offset, size: datum.bytes.length, data: true });
    });
    symbols.sort((a, b) => a.offset - b.offset);
    return {
      name: spec.name,
      image: spec.image,
      base: spec.base,
      size: Math.max(layout.extent, spec.minSize),
      symbols,
      original,
      current: original.slice(),
      dataStart: layout.dataStart,
    };
  });
  return { images, placements };
}

// Emit one function body; `place` learns where each item's return address and tag ended up.
// Items whose return address the scenario fixed come first, in address order, each at its
// offset; the others follow where the code leaves them (as before offsets could be fixed).
function emitFunction(
  arch: 'x86' | 'x64',
  module: string,
  fn: FunctionSpec,
  start: bigint,
  resolveFunction: (ref: FunctionRef) => bigint,
  resolveSlot: (slot: string) => bigint,
  place?: (key: string, placement: { returnOffset: number; tagAddress?: bigint; breakOffset?: number }) => void,
): CodeBuffer {
  const code = createCodeBuffer(arch, start);
  if (fn.raw) {
    code.bytes.push(...fn.raw);
    for (const item of fn.items) {
      if (item.kind !== 'break') continue;
      if (item.offset >= code.bytes.length) {
        emitFillerTo(code, item.offset);
        code.bytes.push(0xcc);
      }
      place?.(item.key, { returnOffset: item.offset, breakOffset: item.offset });
    }
    padFunction(code, fn.minSize);
    return code;
  }
  const via = (target: CallVia): CallTarget => ('importSlot' in target ? { importSlot: resolveSlot(target.importSlot) } : { direct: resolveFunction(target.direct) });
  // A call sequence whose return address must land at `wanted`: measured on a scratch copy, then filler, then the sequence.
  const emitAt = <T extends { returnOffset: number }>(key: string, wanted: number | undefined, emit: (buffer: CodeBuffer) => T): T => {
    if (wanted !== undefined) {
      const scratch: CodeBuffer = { arch, start, bytes: code.bytes.slice() };
      const earliest = emit(scratch).returnOffset;
      if (wanted < earliest) throw new LayoutError(key, module, fn.name, wanted, earliest);
      emitFillerTo(code, code.bytes.length + (wanted - earliest));
    }
    return emit(code);
  };
  emitPrologue(code);
  let nextCall = Math.max(fn.firstCallOffset, code.bytes.length + 5);
  for (const item of orderItems(fn.items)) {
    switch (item.kind) {
      case 'alloc': {
        const site = emitAt(item.key, item.returnOffset, (buffer) => emitAllocCall(buffer, { tag: item.tag, size: item.size, poolArgument: item.poolArgument, importSlot: resolveSlot(item.importSlot), ...(item.tagParameter && { tagParameter: true }) }));
        place?.(item.key, { returnOffset: site.returnOffset, ...(site.tagOffset !== undefined && { tagAddress: start + BigInt(site.tagOffset) }) });
        break;
      }
      case 'free': {
        const site = emitAt(item.key, item.returnOffset, (buffer) => emitFreeCall(buffer, { tag: item.tag, target: via(item.via) }));
        place?.(item.key, { returnOffset: site.returnOffset, tagAddress: start + BigInt(site.tagOffset) });
        break;
      }
      case 'plain-free': {
        // Emitted before `place?.()`: an optional call skips its arguments, and the sizing pass has no `place`.
        const site = emitAt(item.key, item.returnOffset, (buffer) => ({ returnOffset: emitPlainFreeCall(buffer, via(item.via)) }));
        place?.(item.key, site);
        break;
      }
      case 'break':
        emitFillerTo(code, Math.max(item.offset, code.bytes.length));
        place?.(item.key, { returnOffset: code.bytes.length, breakOffset: code.bytes.length });
        code.bytes.push(0xcc);
        break;
      case 'call': {
        // An exact return address needs room for at least `call eax` (2 bytes); any other one for a
        // direct call; both after the instructions that load a tag argument, if the call has one.
        const loading = item.tagLoad ? tagLoadBytes(arch, item.tagLoad).bytes.length : 0;
        if (item.exact && item.returnOffset! < code.bytes.length + 2 + loading) throw new LayoutError(item.key, module, fn.name, item.returnOffset!, code.bytes.length + 2 + loading);
        const returnOffset = item.exact ? item.returnOffset! : Math.max(item.returnOffset ?? nextCall, code.bytes.length + 5 + loading);
        const tagOffset = emitCallReturningAt(code, returnOffset, resolveFunction(item.target), item.indirect, item.tagLoad);
        place?.(item.key, { returnOffset, ...(tagOffset !== undefined && { tagAddress: start + BigInt(tagOffset) }) });
        nextCall = returnOffset + 0x17 + (hashText(item.key) % 0x20);
        break;
      }
    }
  }
  emitEpilogue(code);
  padFunction(code, fn.minSize);
  return code;
}

// Fixed items (a return offset or a break offset) first, in address order; the rest in the order added.
function orderItems(items: readonly FunctionItem[]): FunctionItem[] {
  const fixedAt = (item: FunctionItem): number | undefined => (item.kind === 'break' ? item.offset : item.returnOffset);
  const fixed = items.filter((item) => fixedAt(item) !== undefined).sort((a, b) => fixedAt(a)! - fixedAt(b)!);
  return [...fixed, ...items.filter((item) => fixedAt(item) === undefined)];
}

/** `module!name` in lower case, the key of a function across the image set. */
export function refKey(ref: FunctionRef): string {
  return `${ref.module.toLowerCase()}!${ref.name}`;
}

/** FNV-1a of a string: stable offsets and sizes derived from names. */
export function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

// Round up to a power-of-two boundary.
function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** Images as the console sees them (absolute symbol addresses). */
export function toSimModule(image: ModuleImage): SimModule {
  return {
    name: image.name,
    image: image.image,
    base: image.base,
    size: image.size,
    symbols: image.symbols.map((symbol) => ({ name: symbol.name, address: image.base + BigInt(symbol.offset), size: symbol.size, data: symbol.data })),
  };
}

/** The module containing an address, if any. */
export function findImage(images: readonly ModuleImage[], address: bigint): ModuleImage | undefined {
  for (const image of images) {
    if (address >= image.base && address < image.base + BigInt(image.size)) return image;
  }
  return undefined;
}

/** Nearest symbol at or below an address inside its module. */
export function symbolAt(image: ModuleImage, offset: number): ImageSymbol | undefined {
  let low = 0;
  let high = image.symbols.length - 1;
  let found: ImageSymbol | undefined;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const symbol = image.symbols[middle]!;
    if (symbol.offset <= offset) {
      found = symbol;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}
