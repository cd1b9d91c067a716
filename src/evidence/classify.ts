/**
 * One classification of PoolHitTag stacks, shared by the live hunt (pool.collect-stacks) and
 * offline analysis (`leakhunt analyze`, `leakhunt report` over stacks.jsonl). Pure: no I/O.
 *
 * API
 * - `allocatorFor(build?)` → the allocator frames of the target's pool: `classicAllocator`
 *   (2000 – Windows 10 1809), `segmentHeapAllocator` (1903+), or both lists when the build is
 *   unknown (a saved log without a banner).
 * - `wrapperList(extra?)` → the look-through list: `defaultWrappers` (documented below) plus a
 *   playbook's own `module!function` patterns (`vendorlib!*`).
 * - `classifyStack(frames, allocator, wrappers?)` → `Classification`: `operation` (alloc, free
 *   or unknown) from the allocator frames at the top of the stack; `site`, the first frame
 *   outside the allocator (possibly a wrapper), with the return address into it; `culprit`, the
 *   calling driver's frame found by looking through wrappers and frameworks (the site itself
 *   when the site is the driver's own code); `callers` below the site.
 * - `pathKey(site, culprit)`: the key of a calling path (site, and culprit when it is another
 *   frame); the pairing book (./pairing.ts), shared by the live hunt and offline analysis, counts
 *   each wrapper site per path, so a verdict can compare leak rates per calling path.
 * - `blockArguments(frames, c, tag?)`: the block's size (alloc) or address (free) from the API's arguments.
 * - `frameText(frame)`, `argValue(frame, index)`: kd's spelling of a frame; an argument as a bigint.
 * - `dwordOfTag(tag)`, `tagOfDword(dword)`: a pool tag and the dword the allocator is passed.
 *
 * Frames are parsed `StackFrame`s (src/kd/stack.ts), innermost first; nothing here reads text.
 *
 * @see ../../docs/steps.md#classification-and-attribution
 */
import type { StackFrame } from '../kd/stack.js';

/** The fields of a parsed stack frame this module reads; a `StackFrame` is one. */
export type FrameLike = Pick<StackFrame, 'module'> & Partial<Pick<StackFrame, 'function' | 'offset' | 'retAddr' | 'args' | 'address' | 'inline'>>;

/** The allocator functions of one pool implementation, in nt, by operation. */
export interface AllocatorFrames {
  /** `classic`, `segment-heap`, or `any` (both lists, for a target of unknown version). */
  name: 'classic' | 'segment-heap' | 'any';
  alloc: readonly string[];
  free: readonly string[];
  /** nt frames that may sit among the allocator frames at a break: break stubs, pool trackers, BBT chunks. */
  internals: readonly RegExp[];
}

// Driver-facing allocation entry points every version exports (ExAllocatePool2/3 from 2004), verifier thunks included.
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
  'VerifierExAllocatePoolWithQuotaTag',
  'VerifierExAllocatePool',
  'VeAllocatePoolWithTagPriority',
  'VerifierExAllocatePool2',
  'VerifierExAllocatePool3',
];
const publicFree = ['ExFreePoolWithTag', 'ExFreePool', 'ExFreePool2', 'VerifierExFreePoolWithTag', 'VerifierFreePoolWithTag', 'VerifierExFreePool'];

/**
 * nt frames that are neither an allocation nor a free by themselves: the break stubs a PoolHitTag
 * match stops in (2000–Vista), the pool tracker that calls them, and the cold chunks of BBT-split
 * nt code that Windows 7 x64 symbols name ``nt! ?? ::FNODOBFM::`string'+0x…`` (the int 3 of a
 * PoolHitTag match sits in one). Such a chunk is nt's own code: never a call site's culprit.
 */
const ntInternals = [/^DbgBreakPoint/, /^RtlpBreakWithStatusInstruction$/, /^\s*\?\? /, /^Exp(?:Insert|Remove)PoolTracker/];

/** The classic NT pool (2000 through Windows 10 1809). */
export const classicAllocator: AllocatorFrames = {
  name: 'classic',
  alloc: [...publicAlloc, 'ExpAllocateBigPool', 'ExpAllocatePoolWithTagFromNode'],
  free: [...publicFree, 'ExpFreePoolChecks', 'ExFreeLargePool'],
  internals: ntInternals,
};

/** The kernel segment heap pool (Windows 10 1903 and later). */
export const segmentHeapAllocator: AllocatorFrames = {
  name: 'segment-heap',
  alloc: [...publicAlloc, 'ExAllocateHeapPool', 'ExpAllocatePoolWithTagFromNode', 'RtlpHpAllocateHeap', 'ExpAllocateBigPool'],
  free: [...publicFree, 'ExFreeHeapPool', 'ExFreeLargePool', 'RtlpHpFreeHeap'],
  internals: ntInternals,
};

/** Both pools' frames: for a saved log whose Windows version is unknown (no stack holds frames of both). */
export const anyAllocator: AllocatorFrames = {
  name: 'any',
  alloc: [...new Set([...classicAllocator.alloc, ...segmentHeapAllocator.alloc])],
  free: [...new Set([...classicAllocator.free, ...segmentHeapAllocator.free])],
  internals: ntInternals,
};

/** The allocator frames of a Windows build (the segment heap from 1903, build 18362); both when unknown. */
export function allocatorFor(build: number | undefined): AllocatorFrames {
  if (build === undefined || !(build > 0)) return anyAllocator;
  return build >= 18362 ? segmentHeapAllocator : classicAllocator;
}

/**
 * Frames to look through when naming the culprit, as `module!function` patterns (`*` matches any
 * run of characters, case is ignored, a pattern without `!` names a whole module). Each names a
 * framework or allocation helper that allocates on behalf of the driver that called it, so the
 * driver's frame below it is the one to blame. A playbook extends the list (`wrappers:` of
 * pool.collect-stacks), e.g. with a vendor's shared library (`vendorlib!*`).
 */
export const defaultWrappers: readonly string[] = [
  // KMDF: objects, memory, requests and work items are allocated by the framework for its client
  // driver (Wdf01000!FxPoolAllocator, Wdf01000!MxMemory::MxAllocatePool2, FxObjectHandleAlloc…).
  'Wdf01000!*',
  'WdfLdr!*',
  // wdm.h inline helpers compiled into each driver; their caller is the driver's call site.
  '*!ExAllocatePoolZero',
  '*!ExAllocatePoolQuotaZero',
  '*!ExAllocatePoolPriorityZero',
  '*!ExAllocatePoolUninitialized',
  '*!ExAllocatePoolQuotaUninitialized',
  '*!ExAllocatePoolPriorityUninitialized',
  '*!ExAllocateFromNPagedLookasideList',
  '*!ExAllocateFromPagedLookasideList',
  '*!ExAllocateFromLookasideListEx',
  '*!ExFreeToNPagedLookasideList',
  '*!ExFreeToPagedLookasideList',
  '*!ExFreeToLookasideListEx',
  // NDIS: memory, NET_BUFFER_LISTs, NET_BUFFERs, MDLs and shared memory for miniports, filters, protocols.
  'ndis!NdisAllocate*',
  'ndis!NdisMAllocate*',
  'ndis!NdisFree*',
  'ndis!NdisMFree*',
  // Storport: pool, MDLs and contiguous memory for miniports.
  'storport!StorPortAllocate*',
  'storport!StorPortFree*',
  'storport!StorPortExtendedFunction',
  // Kernel streaming and the audio port class driver: object headers and bags, ports and resource lists.
  'ks!KsAllocate*',
  'ks!KsFree*',
  'ks!operator new*',
  'portcls!PcNew*',
  'portcls!operator new*',
  // Filter Manager: contexts, callback data, aligned pool and file locks for minifilters.
  'FltMgr!FltAllocate*',
  'FltMgr!FltFree*',
  'FltMgr!FltReleaseContext*',
  'FltMgr!FltDeleteContext',
  // nt services that allocate for the driver calling them (IRPs, MDLs, work items, objects).
  'nt!IoAllocateIrp*',
  'nt!IopAllocateIrp*',
  'nt!IoAllocateMdl',
  'nt!IoAllocateWorkItem',
  'nt!IoFreeIrp*',
  'nt!IopFreeIrp*',
  'nt!IoFreeMdl',
  'nt!IoFreeWorkItem',
  'nt!ObCreateObject*',
  'nt!ObpAllocateObject',
];

/** A compiled look-through list: `matches(frame)` says whether the frame is a wrapper's. */
export interface WrapperList {
  /** The patterns as given (defaults first). */
  patterns: readonly string[];
  matches(frame: FrameLike): boolean;
}

/** Is this a usable wrapper pattern (`module!function`, `module`, `*` wildcards)? The reason when not. */
export function checkWrapperPattern(pattern: string): string | undefined {
  if (pattern.trim() === '') return 'is empty';
  if (/[\x00-\x1f\x7f;"'`]/.test(pattern)) return 'holds a control character or one of ; " \' `';
  const bang = pattern.indexOf('!');
  const module = bang < 0 ? pattern : pattern.slice(0, bang);
  if (module === '' || /\s/.test(module)) return 'needs a module name before "!" (no spaces), e.g. "vendorlib!*"';
  if (bang >= 0 && pattern.slice(bang + 1) === '') return 'needs a function after "!" (use "*" for every function of the module)';
  return undefined;
}

// A glob (only `*` is special) as an anchored, case-insensitive regular expression source.
function globSource(glob: string): string {
  return glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
}

// Case-folded module name of the kernel image, whatever kd calls it.
const kernelModule = /^(?:nt|ntoskrnl|ntkrnlmp|ntkrnlpa|ntkrpamp)$/i;

/** Is this frame in the kernel image (`nt`, `ntkrnlpa`, …)? */
export function isKernelFrame(frame: FrameLike): boolean {
  return kernelModule.test(frame.module);
}

/**
 * The default look-through list extended with `extra` patterns. Patterns naming `nt!…` also match
 * the kernel under its image names (`ntkrnlpa!…`). Throws a TypeError naming a bad pattern (a
 * playbook's input is checked by its schema before it gets here).
 */
export function wrapperList(extra: readonly string[] = []): WrapperList {
  const patterns = [...defaultWrappers, ...extra];
  const sources = patterns.map((pattern) => {
    const problem = checkWrapperPattern(pattern);
    if (problem) throw new TypeError(`Wrapper pattern "${pattern}" ${problem}`);
    const bang = pattern.indexOf('!');
    const module = bang < 0 ? pattern : pattern.slice(0, bang);
    const fn = bang < 0 ? '*' : pattern.slice(bang + 1);
    const moduleSource = /^nt$/i.test(module) ? kernelModule.source.slice(1, -1) : globSource(module);
    return `(?:${moduleSource})!(?:${globSource(fn)})`;
  });
  const combined = new RegExp(`^(?:${sources.join('|')})$`, 'i');
  return {
    patterns,
    matches: (frame) => frame.module !== '' && combined.test(`${frame.module}!${frame.function ?? ''}`),
  };
}

const defaultList = wrapperList();

// Modules of the default list (Wdf01000, ndis, storport, ks, portcls, FltMgr), case-folded.
const frameworkModules = new Set(defaultWrappers.map((p) => p.split('!')[0]!).filter((m) => !m.includes('*') && !kernelModule.test(m)).map((m) => m.toLowerCase()));

/**
 * Windows components that call into drivers (dispatch routines, callouts, mini-redirector,
 * class/port and bus callbacks), by the module names kd shows: their frames under a driver's
 * site are Windows calling that driver, not a client driver the site allocates for. A WFP
 * callout's classify function runs under netio, a mini-redirector's under rdbss, a HID
 * minidriver's under HIDCLASS, a USB function driver's completion under the host controller.
 */
const inboxCallers = new Set([
  'acpi', 'afd', 'ataport', 'bthport', 'bthusb', 'cdrom', 'classpnp', 'clfs', 'cng', 'disk', 'dxgkrnl', 'dxgmms2', 'fastfat',
  'fwpkclnt', 'hdaudbus', 'hidclass', 'hidusb', 'http', 'i8042prt', 'kbdclass', 'ksecdd', 'mouclass', 'mrxsmb', 'msfs', 'msrpc',
  'mup', 'ndis', 'netio', 'netvsc', 'npfs', 'ntfs', 'pacer', 'partmgr', 'pci', 'rdbss', 'refs', 'scsiport', 'serenum', 'serial',
  'spaceport', 'srv2', 'srvnet', 'storvsc', 'tcpip', 'tdi', 'tdx', 'ucx01000', 'usbccgp', 'usbehci', 'usbhub', 'usbhub3',
  'usbport', 'usbxhci', 'vmbus', 'volmgr', 'volsnap', 'wfplwfs', 'win32k', 'win32kbase', 'win32kfull', 'wmilib',
]);

/**
 * Is this module one that calls drivers back (the kernel, a framework of the default list, a
 * Windows component of `inboxCallers`)? Its frames under a driver's site are not a driver on
 * whose behalf the site allocates.
 */
export function callsBack(module: string): boolean {
  const name = module.toLowerCase();
  return kernelModule.test(module) || name === 'hal' || frameworkModules.has(name) || inboxCallers.has(name);
}

/** A frame the classification names (the site or the culprit). */
export interface NamedFrame {
  /** Index into the stack's frames (innermost first). */
  index: number;
  /** kd's spelling, `abcflt!AbcAllocateContext+0x2a`. */
  frame: string;
  module: string;
  function?: string;
  offset: number;
  /** Return address into this frame (the RetAddr of the physical frame above it), lowercase hex. */
  returnAddress?: string;
}

/** What one stack at a PoolHitTag break says. */
export interface Classification {
  operation: 'alloc' | 'free' | 'unknown';
  /** Index of the outermost allocator API frame (the function the driver called); -1 when none. */
  allocatorIndex: number;
  /** The allocator API the site called (`ExAllocatePoolWithTag`). */
  api?: string;
  /** The first frame outside the allocator: where the allocator was called from (a wrapper, possibly). */
  site?: NamedFrame;
  /**
   * The driver's frame to blame: the site, unless the site is a wrapper or framework, then the
   * first frame of the calling driver below it. A culprit is named by a physical frame (an
   * inlined frame gives way to the function it was inlined into), so it has a return address.
   */
  culprit?: NamedFrame;
  /** True when the culprit is not the site (the site is a wrapper's). */
  wrapped: boolean;
  /**
   * The frame right below the site when it is in the site's own module: the site's calling path
   * inside its driver (`mdkfs!MdkCreateFcb` calling its helper `mdkfs!MdkAllocatePool`). Callers
   * inside one module are paths of one site, never a culprit of their own.
   */
  caller?: NamedFrame;
  /**
   * When the site is not a wrapper's: the culprit the same attribution finds when the site's whole
   * module is looked through as a wrapper (the calling driver's frame), if that is another frame.
   * A module whose sites are called from two or more other drivers is a shared library, detected
   * from the stacks (src/evidence/pairing.ts): its sites are then counted per this calling path.
   */
  outside?: NamedFrame;
  /** `site.frame`, kept for the consumers that read it flat. */
  siteFrame?: string;
  /** `site.returnAddress`: where the allocator returns to (the tag immediate precedes the call there). */
  returnAddress?: string;
  /** Frames under the site, as text, innermost first. */
  callers: string[];
}

/** kd's spelling of a frame: `module!function+0x2a`, `module+0x11efb`, `0xfa1075`; BBT chunks as `nt! ?? ::…`. */
export function frameText(frame: FrameLike): string {
  if (!frame.module) return frame.address ? `0x${frame.address}` : '<unknown>';
  const offset = frame.offset ? `+0x${frame.offset.toString(16)}` : '';
  if (!frame.function) return `${frame.module}${offset}`;
  // kd prints a space between `!` and a BBT chunk's `??`.
  return `${frame.module}!${frame.function.startsWith('??') ? ' ' : ''}${frame.function}${offset}`;
}

/** A frame's parts back from kd's spelling (frameText's inverse): `module!function+0x2a`, `module+0x11efb`, `0xfa1075`. */
export function frameParts(text: string): { module: string; function?: string; offset: number } {
  const bang = text.indexOf('!');
  const plus = text.lastIndexOf('+0x');
  const offset = plus >= 0 ? parseInt(text.slice(plus + 3), 16) || 0 : 0;
  if (bang < 0) return { module: /^0x/i.test(text) ? '' : plus >= 0 ? text.slice(0, plus) : text, offset };
  const fn = text.slice(bang + 1, plus > bang ? plus : undefined).trimStart();
  return { module: text.slice(0, bang), ...(fn !== '' && { function: fn }), offset };
}

// Return address into frames[index]: the RetAddr of the nearest physical (not inlined) frame above it.
function returnAddressInto(frames: readonly FrameLike[], index: number): string | undefined {
  for (let above = index - 1; above >= 0; above--) {
    const frame = frames[above]!;
    if (frame.inline) continue;
    return frame.retAddr ? frame.retAddr.replace(/`/g, '').toLowerCase() : undefined;
  }
  return undefined;
}

/** frames[index] as a NamedFrame (its kd spelling, and the return address into it). */
export function namedFrame(frames: readonly FrameLike[], index: number): NamedFrame {
  const frame = frames[index]!;
  const returnAddress = returnAddressInto(frames, index);
  return {
    index,
    frame: frameText(frame),
    module: frame.module,
    ...(frame.function !== undefined && { function: frame.function }),
    offset: frame.offset ?? 0,
    ...(returnAddress !== undefined && { returnAddress }),
  };
}

// What an nt frame is to the allocator: an API or internal that allocates or frees, an internal, or nothing.
function allocatorRole(frame: FrameLike, allocator: AllocatorFrames): 'alloc' | 'free' | 'internal' | undefined {
  if (!frame.function || !isKernelFrame(frame)) return undefined;
  if (allocator.alloc.includes(frame.function)) return 'alloc';
  if (allocator.free.includes(frame.function)) return 'free';
  if (allocator.internals.some((pattern) => pattern.test(frame.function!))) return 'internal';
  return undefined;
}

// Is frames[index] a BBT chunk of nt (never a culprit)?
function isKernelChunk(frame: FrameLike): boolean {
  return isKernelFrame(frame) && frame.function !== undefined && /^\s*\?\? /.test(frame.function);
}

// Same module, as kd names modules (case varies between debugger versions: NDIS, ndis).
function sameModule(a: FrameLike, b: FrameLike): boolean {
  return a.module.toLowerCase() === b.module.toLowerCase();
}

/**
 * The culprit's index from the site's: walk the stack in runs of one module; in a run that holds
 * a wrapper frame (or an nt BBT chunk), the frames up to its last such frame are looked through
 * and a frame after it in the same run is the caller; a run without one is the calling driver.
 * A framework reached from nt itself (no driver called it) keeps the site as the culprit.
 */
function culpritIndex(frames: readonly FrameLike[], siteIndex: number, lookThrough: (frame: FrameLike) => boolean): number {
  let start = siteIndex;
  let found = -1;
  while (start < frames.length) {
    let end = start + 1;
    while (end < frames.length && sameModule(frames[end]!, frames[start]!)) end++;
    let lastLookThrough = -1;
    for (let index = start; index < end; index++) {
      const frame = frames[index]!;
      if (lookThrough(frame) || isKernelChunk(frame)) lastLookThrough = index;
    }
    if (lastLookThrough < 0) {
      found = start;
      break;
    }
    if (lastLookThrough + 1 < end) {
      found = lastLookThrough + 1;
      break;
    }
    start = end;
  }
  if (found < 0) return siteIndex;
  if (found !== siteIndex && isKernelFrame(frames[found]!) && !isKernelFrame(frames[siteIndex]!)) return siteIndex;
  // An inlined frame has no return address of its own: name the function it was inlined into.
  let physical = found;
  while (frames[physical]!.inline && physical + 1 < frames.length && sameModule(frames[physical + 1]!, frames[found]!)) physical++;
  return frames[physical]!.inline ? found : physical;
}

/**
 * Classify a PoolHitTag break's stack (innermost frame first) and attribute it. The allocator
 * frames are the nt frames at the top of the stack that `allocator` names: internals (break
 * stubs, trackers, BBT chunks), then APIs; the outermost API decides alloc or free. A stack whose top is
 * not the allocator's, or that has nothing below the allocator, is `unknown`.
 */
export function classifyStack(frames: readonly FrameLike[], allocator: AllocatorFrames, wrappers: WrapperList = defaultList): Classification {
  let operation: Classification['operation'] = 'unknown';
  let allocatorIndex = -1;
  let siteIndex = 0;
  for (; siteIndex < frames.length; siteIndex++) {
    const role = allocatorRole(frames[siteIndex]!, allocator);
    // Internals sit above the API frames only: below them, nt code is the allocator's caller.
    if (role === undefined || (role === 'internal' && allocatorIndex >= 0)) break;
    if (role !== 'internal') {
      operation = role;
      allocatorIndex = siteIndex;
    }
  }
  if (operation === 'unknown' || siteIndex >= frames.length) return { operation: 'unknown', allocatorIndex, wrapped: false, callers: [] };
  const site = namedFrame(frames, siteIndex);
  const culpritAt = culpritIndex(frames, siteIndex, (frame) => wrappers.matches(frame));
  const culprit = culpritAt === siteIndex ? site : namedFrame(frames, culpritAt);
  const below = frames[siteIndex + 1];
  const caller = below && sameModule(below, frames[siteIndex]!) ? namedFrame(frames, siteIndex + 1) : undefined;
  // The same walk with the site's module looked through too (the module as a wrapper).
  const outsideAt = culpritAt === siteIndex ? culpritIndex(frames, siteIndex, (frame) => wrappers.matches(frame) || sameModule(frame, frames[siteIndex]!)) : siteIndex;
  const outside = outsideAt !== siteIndex ? namedFrame(frames, outsideAt) : undefined;
  return {
    operation,
    allocatorIndex,
    api: frames[allocatorIndex]!.function,
    site,
    culprit,
    wrapped: culprit !== site,
    ...(caller && { caller }),
    ...(outside && { outside }),
    siteFrame: site.frame,
    ...(site.returnAddress !== undefined && { returnAddress: site.returnAddress }),
    callers: frames.slice(siteIndex + 1).map(frameText),
  };
}

/**
 * The key of a calling path: the site's frame, and ` <- ` the culprit's when the culprit is
 * another frame (the site is a wrapper's). Stacks of one key are one path; a verdict compares
 * the paths of a wrapper site and names the culprit of the one that leaks.
 */
export function pathKey(site: { frame: string }, culprit?: { frame: string }): string {
  return culprit && culprit.frame !== site.frame ? `${site.frame} <- ${culprit.frame}` : site.frame;
}

// Where the tag is among each allocator API's arguments (size first-but-one, address first).
const tagArgument: Readonly<Record<string, number | null>> = {
  ExAllocatePoolWithTag: 2,
  ExAllocatePoolWithQuotaTag: 2,
  ExAllocatePoolWithTagPriority: 2,
  ExAllocatePool2: 2,
  ExAllocatePool3: 2,
  VerifierExAllocatePoolWithTag: 2,
  VerifierExAllocatePoolWithTagPriority: 2,
  VerifierExAllocatePoolWithQuotaTag: 2,
  VeAllocatePoolWithTagPriority: 2,
  VerifierExAllocatePool2: 2,
  VerifierExAllocatePool3: 2,
  ExAllocatePool: null,
  ExAllocatePoolWithQuota: null,
  VerifierExAllocatePool: null,
  ExFreePoolWithTag: 1,
  ExFreePool2: 1,
  VerifierExFreePoolWithTag: 1,
  VerifierFreePoolWithTag: 1,
  ExFreePool: null,
  VerifierExFreePool: null,
};

/**
 * The block's size (allocation) or address (free) from the `Args to Child` of the allocator API
 * the site called: (PoolType or Flags, NumberOfBytes, Tag, …) and (P, Tag, …). On x86 these are
 * the stack arguments; on x64 kd shows the callee's home space, which holds the arguments only
 * when they were spilled there. So when the API takes a tag and the hunted tag is known, the
 * values are read only if the tag argument holds that tag. Address: lowercase hex, no zeros in front.
 */
export function blockArguments(frames: readonly FrameLike[], c: Classification, tag?: string): { size?: number; address?: string } {
  const frame = c.allocatorIndex >= 0 ? frames[c.allocatorIndex] : undefined;
  const tagAt = c.api !== undefined ? tagArgument[c.api] : undefined;
  if (!frame || tagAt === undefined || (c.operation !== 'alloc' && c.operation !== 'free')) return {};
  if (tag !== undefined && tagAt !== null) {
    const value = argValue(frame, tagAt);
    if (value === undefined || (value & 0xffffffffn) !== BigInt(dwordOfTag(tag))) return {};
  }
  if (c.operation === 'alloc') {
    const size = argValue(frame, 1);
    return size !== undefined && size < 0x10000000n ? { size: Number(size) } : {};
  }
  const address = argValue(frame, 0);
  return address !== undefined && address !== 0n ? { address: address.toString(16) } : {};
}

/** A pool tag as the dword the allocator is passed (`Abc` → 0x20636241: the characters in memory order, space-padded). */
export function dwordOfTag(tag: string): number {
  const padded = tag.padEnd(4, ' ');
  return (padded.charCodeAt(0) | (padded.charCodeAt(1) << 8) | (padded.charCodeAt(2) << 16) | (padded.charCodeAt(3) << 24)) >>> 0;
}

/** The tag a dword holds (0x64636261 → `abcd`); undefined unless all four characters are printable. */
export function tagOfDword(dword: number): string | undefined {
  const tag = String.fromCharCode(dword & 0xff, (dword >>> 8) & 0xff, (dword >>> 16) & 0xff, (dword >>> 24) & 0xff);
  return /^[\x20-\x7e]{4}$/.test(tag) ? tag : undefined;
}

/** An argument of a frame as a bigint (kd prints them as hex, 64-bit ones split by a backtick). */
export function argValue(frame: FrameLike | undefined, index: number): bigint | undefined {
  const value = frame?.args?.[index];
  if (value === undefined) return undefined;
  const text = value.replace(/`/g, '').replace(/^0x/i, '');
  return /^[0-9a-f]+$/i.test(text) ? BigInt(`0x${text}`) : undefined;
}
