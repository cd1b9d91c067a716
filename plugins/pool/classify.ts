/**
 * Tell an allocation break from a free break by the allocator frames of the target's pool, and
 * find the call site: the first frame outside the kernel's allocator.
 */

/** The fields of a parsed stack frame this module reads (see src/kd's stack parser). */
export interface FrameLike {
  module: string;
  function?: string;
  offset?: number;
  retAddr?: string;
  args?: readonly (string | number | bigint)[];
}

/** The allocator functions of one pool implementation, by operation. */
export interface AllocatorFrames {
  /** `classic` or `segment-heap`. */
  name: string;
  alloc: readonly string[];
  free: readonly string[];
  /** nt helpers that may sit above the allocator at the break (break-in stubs, trackers). */
  helpers: readonly RegExp[];
}

// Driver-facing allocation entry points every version exports (ExAllocatePool2/3 from 2004).
const publicAlloc = [
  'ExAllocatePoolWithTag',
  'ExAllocatePoolWithQuotaTag',
  'ExAllocatePoolWithTagPriority',
  'ExAllocatePool',
  'ExAllocatePoolWithQuota',
  'ExAllocatePool2',
  'ExAllocatePool3',
  'ExAllocatePoolZero',
  'VerifierExAllocatePoolWithTag',
  'VerifierExAllocatePoolWithTagPriority',
  'VeAllocatePoolWithTagPriority',
  'VerifierExAllocatePool2',
];
const publicFree = ['ExFreePoolWithTag', 'ExFreePool', 'ExFreePool2', 'VerifierExFreePoolWithTag', 'VerifierFreePoolWithTag'];
const breakHelpers = [/^DbgBreakPoint/, /^RtlpBreakWithStatusInstruction$/, /^ \?\? /, /^\?\? /, /^Exp(Insert|Remove)PoolTracker/];

/** The classic NT pool (2000 through Windows 10 1809). */
export const classicAllocator: AllocatorFrames = {
  name: 'classic',
  alloc: [...publicAlloc, 'ExpAllocateBigPool', 'ExpAllocatePoolWithTagFromNode'],
  free: [...publicFree, 'ExpFreePoolChecks', 'ExFreeLargePool'],
  helpers: breakHelpers,
};

/** The kernel segment heap pool (Windows 10 1903 and later). */
export const segmentHeapAllocator: AllocatorFrames = {
  name: 'segment-heap',
  alloc: [...publicAlloc, 'ExAllocateHeapPool', 'ExpAllocatePoolWithTagFromNode', 'RtlpHpAllocateHeap', 'ExpAllocateBigPool'],
  free: [...publicFree, 'ExFreeHeapPool', 'ExFreeLargePool', 'RtlpHpFreeHeap'],
  helpers: breakHelpers,
};

/** What one stack at a PoolHitTag break says. */
export interface Classification {
  operation: 'alloc' | 'free' | 'unknown';
  /** Index of the outermost allocator frame (the function the driver called). */
  allocatorIndex: number;
  /** The first frame outside the allocator: the call site. */
  site?: FrameLike;
  /** Return address into the call site (the allocator frame's RetAddr), lowercase hex. */
  returnAddress?: string;
  /** `module!function+0xoffset` of the call site. */
  siteFrame?: string;
  /** Frames under the call site, as text, innermost first. */
  callers: string[];
  /** The allocator API the call site called (`ExAllocatePoolWithTag`). */
  api?: string;
}

// kd's spelling of one frame.
export function frameText(frame: FrameLike): string {
  const name = frame.function ? `${frame.module}!${frame.function}` : frame.module;
  return frame.offset ? `${name}+0x${frame.offset.toString(16)}` : name;
}

// Is this frame inside nt's allocator (API, internal or break helper)?
function isAllocatorFrame(frame: FrameLike, allocator: AllocatorFrames): 'alloc' | 'free' | 'helper' | undefined {
  if (!/^(nt|ntoskrnl|ntkrnlmp|ntkrnlpa|ntkrpamp)$/i.test(frame.module) || !frame.function) return undefined;
  if (allocator.alloc.includes(frame.function)) return 'alloc';
  if (allocator.free.includes(frame.function)) return 'free';
  if (allocator.helpers.some((re) => re.test(frame.function!))) return 'helper';
  return undefined;
}

/** Classify a PoolHitTag break's stack (innermost frame first). */
export function classifyStack(frames: readonly FrameLike[], allocator: AllocatorFrames): Classification {
  let operation: Classification['operation'] = 'unknown';
  let allocatorIndex = -1;
  // Walk from the innermost frame while frames belong to nt's allocator.
  for (let i = 0; i < frames.length; i++) {
    const kind = isAllocatorFrame(frames[i]!, allocator);
    if (kind === undefined) break;
    if (kind !== 'helper') {
      operation = kind;
      allocatorIndex = i;
    } else if (operation === 'unknown') {
      allocatorIndex = i;
    }
  }
  if (operation === 'unknown' || allocatorIndex + 1 >= frames.length) {
    return { operation: 'unknown', allocatorIndex, callers: [] };
  }
  const site = frames[allocatorIndex + 1]!;
  const returnAddress = frames[allocatorIndex]!.retAddr;
  return {
    operation,
    allocatorIndex,
    site,
    ...(returnAddress && { returnAddress: returnAddress.replace(/`/g, '').toLowerCase() }),
    siteFrame: frameText(site),
    callers: frames.slice(allocatorIndex + 2).map(frameText),
    api: frames[allocatorIndex]!.function,
  };
}

/** An argument of a frame as a bigint (kd prints them as hex). */
export function argValue(frame: FrameLike | undefined, index: number): bigint | undefined {
  const value = frame?.args?.[index];
  if (value === undefined) return undefined;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(value);
  const text = value.replace(/`/g, '').replace(/^0x/i, '');
  return /^[0-9a-f]+$/i.test(text) ? BigInt(`0x${text}`) : undefined;
}
