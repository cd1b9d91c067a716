/**
 * From scenario and profile to the loaded images and static call stacks: nt with its allocator
 * and PoolHitTag break location of that era, hal, the scenario drivers with their call sites,
 * and every module named only in `callers`.
 */
import type { SimProfile } from '../profiles.js';
import type { Scenario, ScenarioFrame } from '../scenario.js';
import type { PoolKind } from '../kernel-api.js';
import { tagValue } from './code.js';
import type { TagLoad } from './code.js';
import { LayoutError, buildImages, hashText, refKey } from './image.js';
import type { CallVia, DataSpec, FunctionItem, FunctionRef, FunctionSpec, ModuleImage, ModuleSpec } from './image.js';
import { addressLayout } from './layout.js';
import type { AddressLayout } from './layout.js';

/** How a frame's argument columns (kb "Args to Child") are filled at a stop. */
export type FrameArgs = 'alloc-entry' | 'alloc-tracker' | 'free-entry' | 'free-tracker' | 'bugcheck' | 'other';

/** One frame of a static stack, with its final address. */
export interface FrameTemplate {
  module: string;
  function: string;
  offset: number;
  address: bigint;
  /** Bytes this frame occupies on the stack (for Child-SP / ChildEBP). */
  frameSize: number;
  args: FrameArgs;
}

/** Everything static about one workload source. */
export interface SourcePlan {
  id: string;
  kind: 'site' | 'background';
  pool: PoolKind;
  tag: string;
  allocStack: FrameTemplate[];
  freeStack: FrameTemplate[];
  /** Stack of a BAD_POOL_CALLER bugcheck in this site's free (sites with a tag-checked free). */
  bugcheckStack?: FrameTemplate[];
  /** Address of the alloc site's tag immediate (sites only; none when a caller loads the tag from memory). */
  allocTagAddress?: bigint;
  /** Address of the free site's tag immediate (sites whose `free` names a function). */
  freeTagAddress?: bigint;
}

/** Images, source stacks and well-known addresses of one kernel. */
export interface KernelPlan {
  images: ModuleImage[];
  sources: SourcePlan[];
  poolHitTagAddress: bigint;
  ntGlobalFlagAddress: bigint;
  /** Address of the `int 3` a user break-in (Ctrl+C) stops at: nt!RtlpBreakWithStatusInstruction. */
  breakInAddress: bigint;
  /** Pool-type argument values the allocator receives, by pool. */
  poolArgument: Record<PoolKind, number>;
}

/** Default PoolHitTag: a value no tag matches (WRK initialiser, Win7 x64 `dc`). */
export const defaultPoolHitTag = 0xffffff0f;

interface ModuleBuild {
  spec: ModuleSpec;
  byName: Map<string, FunctionSpec>;
}

// Offsets inside nt's allocator functions. The Win7 x86 inline break (ExAllocatePoolWithTag+0x881)
// and the Win7 x64 chunk break (+0x24a2a) come from real transcripts; the rest are the model's own.
const ntOffsets = {
  allocToTracker: 0x4a9,
  freeToTracker: 0x11e,
  trackerToBreak: 0x6e,
  removeTrackerToBreak: 0x5b,
  inlineAllocBreak: { x86: 0x881, x64: 0x6b6 },
  inlineFreeBreak: { x86: 0x5f3, x64: 0x3a4 },
  chunkAllocBreak: 0x24a2a,
  chunkFreeBreak: 0x2a3b7,
  allocToChunk: 0x1b2,
  freeToChunk: 0x16d,
  heapAllocBreak: 0x3f6,
  heapFreeBreak: 0x2c1,
  pool2ToHeap: 0x55,
  allocToHeap: 0x7e,
  freeToHeapFree: 0x9b,
  freeToBugcheck: 0x7a1,
  freePoolToFree: { x86: 0x14, x64: 0x9 },
  bugcheckExToBugcheck2: 0x1e,
  bugcheck2ToDebugBreak: 0x68b,
  debugBreakToRtlp: 0x1c,
};

/** Build the images and stacks of a scenario on a profile. */
export function planKernel(scenario: Scenario, profile: SimProfile, layout: AddressLayout): KernelPlan {
  const arch = profile.arch === 'x86' ? 'x86' : 'x64';
  const pointerBytes = new Array<number>(profile.pointerSize).fill(0);
  const modules = new Map<string, ModuleBuild>();
  const order: ModuleBuild[] = [];
  const ntSize = arch === 'x86' ? 0x200000 : 0x800000;
  const halSize = arch === 'x86' ? 0x20000 : 0x60000;
  let nextDriverBase = layout.driverBase;

  const addModule = (name: string, image: string, base: bigint, minSize: number): ModuleBuild => {
    const build: ModuleBuild = { spec: { name, image, base, minSize, functions: [], data: [] }, byName: new Map() };
    modules.set(name.toLowerCase(), build);
    order.push(build);
    return build;
  };
  const moduleFor = (name: string, image?: string): ModuleBuild => {
    const existing = modules.get(name.toLowerCase());
    if (existing) return existing;
    const build = addModule(name, image ?? `${name}.sys`, nextDriverBase, 0x8000);
    nextDriverBase += 0x40000n;
    return build;
  };
  const functionIn = (module: ModuleBuild, name: string, minSize = 0x60, raw?: number[]): FunctionSpec => {
    let fn = module.byName.get(name);
    if (!fn) {
      fn = { name, items: [], minSize, firstCallOffset: 0x10 + (hashText(`${module.spec.name}!${name}`) % 0x38) };
      if (raw) fn.raw = raw;
      module.byName.set(name, fn);
      module.spec.functions.push(fn);
    }
    return fn;
  };
  const addItem = (fn: FunctionSpec, item: FunctionItem): void => {
    if (!fn.items.some((existing) => existing.key === item.key)) fn.items.push(item);
  };

  // nt: the break location and allocator of this era, the bugcheck path, common callers.
  const nt = addModule('nt', profile.kernelImage, profile.kernelBase, ntSize);
  addModule('hal', 'hal.dll', profile.kernelBase + BigInt(ntSize), halSize);
  const ntFn = (name: string, minSize = 0x60, raw?: number[]): FunctionSpec => functionIn(nt, name, minSize, raw);
  const ntRef = (name: string): FunctionRef => ({ module: 'nt', name });
  const style = profile.allocator === 'segment-heap' ? 'segment-heap' : profile.poolHitBreak;

  ntFn('DbgBreakPoint', 0x10, [0xcc, 0xc3]).items.push({ kind: 'break', key: 'nt.break.dbg', offset: 0 });
  ntFn('RtlpBreakWithStatusInstruction', 0x10, arch === 'x86' ? [0xcc, 0xc2, 0x04, 0x00] : [0xcc, 0xc3]).items.push({
    kind: 'break',
    key: 'nt.break.rtlp',
    offset: 0,
  });
  const allocFn = ntFn('ExAllocatePoolWithTag', 0x9a0);
  const freeFn = ntFn('ExFreePoolWithTag', 0x800);
  const freePoolFn = ntFn('ExFreePool', 0x20);
  let allocChain: string[];
  let freeChain: string[];
  let allocEntry = 'nt.alloc.entry';
  if (style === 'dbgbreakpoint') {
    addItem(ntFn('ExpInsertPoolTracker', 0x100), { kind: 'call', key: 'nt.inserttracker', target: ntRef('DbgBreakPoint'), returnOffset: ntOffsets.trackerToBreak });
    addItem(ntFn('ExpRemovePoolTracker', 0x100), { kind: 'call', key: 'nt.removetracker', target: ntRef('DbgBreakPoint'), returnOffset: ntOffsets.removeTrackerToBreak });
    addItem(allocFn, { kind: 'call', key: allocEntry, target: ntRef('ExpInsertPoolTracker'), returnOffset: ntOffsets.allocToTracker });
    addItem(freeFn, { kind: 'call', key: 'nt.free.entry', target: ntRef('ExpRemovePoolTracker'), returnOffset: ntOffsets.freeToTracker });
    allocChain = ['nt.break.dbg', 'nt.inserttracker', allocEntry];
    freeChain = ['nt.break.dbg', 'nt.removetracker', 'nt.free.entry'];
  } else if (style === 'outlined-chunk') {
    const chunk = ntFn(" ?? ::FNODOBFM::`string'", 0x30000, []);
    chunk.items.push({ kind: 'break', key: 'nt.chunk.alloc', offset: ntOffsets.chunkAllocBreak }, { kind: 'break', key: 'nt.chunk.free', offset: ntOffsets.chunkFreeBreak });
    addItem(allocFn, { kind: 'call', key: allocEntry, target: ntRef(chunk.name), returnOffset: ntOffsets.allocToChunk });
    addItem(freeFn, { kind: 'call', key: 'nt.free.entry', target: ntRef(chunk.name), returnOffset: ntOffsets.freeToChunk });
    allocChain = ['nt.chunk.alloc', allocEntry];
    freeChain = ['nt.chunk.free', 'nt.free.entry'];
  } else if (style === 'segment-heap') {
    ntFn('ExAllocateHeapPool', 0x600).items.push({ kind: 'break', key: 'nt.heap.alloc', offset: ntOffsets.heapAllocBreak });
    ntFn('ExFreeHeapPool', 0x500).items.push({ kind: 'break', key: 'nt.heap.free', offset: ntOffsets.heapFreeBreak });
    addItem(allocFn, { kind: 'call', key: 'nt.alloc.entry', target: ntRef('ExAllocateHeapPool'), returnOffset: ntOffsets.allocToHeap });
    addItem(freeFn, { kind: 'call', key: 'nt.free.entry', target: ntRef('ExFreeHeapPool'), returnOffset: ntOffsets.freeToHeapFree });
    if (profile.allocatePool2) {
      addItem(ntFn('ExAllocatePool2', 0x100), { kind: 'call', key: 'nt.pool2.entry', target: ntRef('ExAllocateHeapPool'), returnOffset: ntOffsets.pool2ToHeap });
      allocEntry = 'nt.pool2.entry';
    }
    allocChain = ['nt.heap.alloc', allocEntry];
    freeChain = ['nt.heap.free', 'nt.free.entry'];
  } else {
    allocFn.items.push({ kind: 'break', key: allocEntry, offset: ntOffsets.inlineAllocBreak[arch] });
    freeFn.items.push({ kind: 'break', key: 'nt.free.entry', offset: ntOffsets.inlineFreeBreak[arch] });
    allocChain = [allocEntry];
    freeChain = ['nt.free.entry'];
  }
  addItem(freeFn, { kind: 'call', key: 'nt.free.bugcheck', target: ntRef('KeBugCheckEx'), returnOffset: ntOffsets.freeToBugcheck });
  addItem(freePoolFn, { kind: 'call', key: 'nt.freepool.entry', target: ntRef('ExFreePoolWithTag'), returnOffset: ntOffsets.freePoolToFree[arch] });
  addItem(ntFn('KeBugCheckEx', 0x40), { kind: 'call', key: 'nt.bugcheckex', target: ntRef('KeBugCheck2'), returnOffset: ntOffsets.bugcheckExToBugcheck2 });
  addItem(ntFn('KeBugCheck2', 0x800), { kind: 'call', key: 'nt.bugcheck2', target: ntRef('KiBugCheckDebugBreak'), returnOffset: ntOffsets.bugcheck2ToDebugBreak });
  addItem(ntFn('KiBugCheckDebugBreak', 0x40), { kind: 'call', key: 'nt.kibugcheckdebugbreak', target: ntRef('RtlpBreakWithStatusInstruction'), returnOffset: ntOffsets.debugBreakToRtlp });
  for (const name of ['IofCallDriver', 'IopParseDevice', 'ExpWorkerThread', 'PspSystemThreadStartup', arch === 'x86' ? 'KiThreadStartup' : 'KiStartSystemThread']) ntFn(name);
  const entryFunction = allocEntry === 'nt.pool2.entry' ? 'ExAllocatePool2' : 'ExAllocatePoolWithTag';
  nt.spec.data.push(
    { name: 'PoolHitTag', bytes: le32(defaultPoolHitTag) },
    { name: 'NtGlobalFlag', bytes: le32(0) },
    { name: 'NtBuildNumber', bytes: le32((0xf0000000 | profile.build) >>> 0) },
    { name: 'KdDebuggerEnabled', bytes: [1, 0, 0, 0] },
    { name: 'PsLoadedModuleList', bytes: [...pointerBytes, ...pointerBytes] },
    { name: 'NtBuildLab', bytes: [...Buffer.from(profile.buildLab, 'latin1'), 0] },
  );
  const hal = modules.get('hal')!;
  for (const name of arch === 'x86' ? ['KfRaiseIrql', 'KfLowerIrql', 'HalProcessorIdle'] : ['HalProcessorIdle', 'HalRequestSoftwareInterrupt']) functionIn(hal, name);

  // Scenario drivers first (in file order), so their bases do not depend on caller lists.
  for (const module of scenario.modules) moduleFor(module.name, module.image);

  const importSlot = (module: ModuleBuild, name: string): string => {
    const slot = arch === 'x86' ? `_imp__${name}` : `__imp_${name}`;
    if (!module.spec.data.some((datum: DataSpec) => datum.name === slot)) {
      module.spec.data.push({ name: slot, bytes: [...pointerBytes], pointerTo: ntRef(name) });
    }
    return slot;
  };
  // Where in the scenario each item was first asked for, so a return address that cannot be
  // placed is reported at the scenario's own words.
  const origins = new Map<string, (string | number)[]>();
  const addFrom = (fn: FunctionSpec, item: FunctionItem, origin: (string | number)[]): void => {
    if (!origins.has(item.key)) origins.set(item.key, origin);
    addItem(fn, item);
  };
  // Frames under a function: each caller gets a call item whose return address is its frame. A
  // caller at a fixed offset is one call instruction whatever it calls (an indirect call when it
  // calls several functions, as nt!IofCallDriver+0x55 calls every driver's dispatch routine).
  // `load`: the caller at that index loads a tag argument before its call (the immediate is there).
  const callerKeys = (inner: FunctionRef, callers: readonly ScenarioFrame[], path: (string | number)[], load?: { caller: number; tagLoad: TagLoad }): string[] => {
    const keys: string[] = [];
    let callee = inner;
    callers.forEach((caller, index) => {
      const module = moduleFor(caller.module);
      const fn = functionIn(module, caller.function);
      const ref = { module: module.spec.name, name: caller.function };
      const key = caller.offset === undefined ? `call:${refKey(ref)}>${refKey(callee)}` : `call:${refKey(ref)}+0x${caller.offset.toString(16)}`;
      const existing = fn.items.find((item) => item.key === key);
      if (existing?.kind === 'call' && refKey(existing.target) !== refKey(callee)) existing.indirect = true;
      const item: FunctionItem = { kind: 'call', key, target: callee };
      if (load?.caller === index) {
        item.tagLoad = load.tagLoad;
        if (existing?.kind === 'call') existing.tagLoad = load.tagLoad;
      }
      if (caller.offset !== undefined) Object.assign(item, { returnOffset: caller.offset, exact: true });
      addFrom(fn, item, [...path, index]);
      keys.push(key);
      callee = ref;
    });
    return keys;
  };

  const poolArgument: Record<PoolKind, number> = profile.allocatePool2 ? { paged: 0x100, nonpaged: 0x40 } : { paged: 1, nonpaged: 0 };
  const pendingSources: { id: string; kind: 'site' | 'background'; pool: PoolKind; tag: string; alloc: string[]; free: string[]; bugcheck?: string[]; allocTag?: string; freeTag?: string }[] = [];
  scenario.modules.forEach((module, moduleIndex) => {
    const build = moduleFor(module.name);
    module.sites.forEach((site, siteIndex) => {
      const sitePath = ['modules', moduleIndex, 'sites', siteIndex];
      const fn = functionIn(build, site.function, 0x80);
      const siteRef = { module: build.spec.name, name: site.function };
      // Sites at one offset of one function share the call instruction (validation holds their tag and pool equal).
      const allocKey = site.offset === undefined ? `site:${site.id}:alloc` : `alloc:${refKey(siteRef)}+0x${site.offset.toString(16)}`;
      const size = site.size.min === site.size.max ? site.size.min : undefined;
      const shared = fn.items.find((existing) => existing.key === allocKey);
      if (shared?.kind === 'alloc' && shared.size !== size) delete shared.size;
      const item: FunctionItem = { kind: 'alloc', key: allocKey, tag: tagValue(site.tag), poolArgument: poolArgument[site.pool], importSlot: importSlot(build, entryFunction) };
      if (size !== undefined) item.size = size;
      if (site.offset !== undefined) item.returnOffset = site.offset;
      // A wrapper's site: its call passes the tag on from a register; the loading caller has the immediate.
      const argument = site.tagArgument;
      if (argument) item.tagParameter = true;
      addFrom(fn, item, [...sitePath, 'offset']);
      const load = argument && { caller: argument.caller, tagLoad: { tag: tagValue(site.tag), position: argument.position, from: argument.from } };
      const allocCallers = callerKeys(siteRef, site.callers, [...sitePath, 'callers'], load);
      let freeKey = `site:${site.id}:free`;
      let free: string[];
      let bugcheck: string[] | undefined;
      if (site.free) {
        // The free may be another module's code (the owner of a block handed over) or nt's own.
        const freeBuild = moduleFor(site.free.module ?? build.spec.name);
        const freeRef = { module: freeBuild.spec.name, name: site.free.function };
        const freeFnSpec = functionIn(freeBuild, site.free.function, 0x60);
        const tagged = site.free.call !== 'ExFreePool';
        const api = tagged ? 'ExFreePoolWithTag' : 'ExFreePool';
        const via: CallVia = freeBuild === nt ? { direct: ntRef(api) } : { importSlot: importSlot(freeBuild, api) };
        if (site.free.offset !== undefined) freeKey = `free:${refKey(freeRef)}+0x${site.free.offset.toString(16)}`;
        const freeItem: FunctionItem = tagged ? { kind: 'free', key: freeKey, tag: tagValue(site.tag), via } : { kind: 'plain-free', key: freeKey, via };
        if (site.free.offset !== undefined) freeItem.returnOffset = site.free.offset;
        addFrom(freeFnSpec, freeItem, [...sitePath, 'free', 'offset']);
        const freeCallers = callerKeys(freeRef, site.free.callers, [...sitePath, 'free', 'callers']);
        free = tagged ? [...freeChain, freeKey, ...freeCallers] : [...freeChain, 'nt.freepool.entry', freeKey, ...freeCallers];
        if (tagged) bugcheck = ['nt.break.rtlp', 'nt.kibugcheckdebugbreak', 'nt.bugcheck2', 'nt.bugcheckex', 'nt.free.bugcheck', freeKey, ...freeCallers];
      } else {
        addFrom(fn, { kind: 'plain-free', key: freeKey, via: { importSlot: importSlot(build, 'ExFreePool') } }, sitePath);
        free = [...freeChain, 'nt.freepool.entry', freeKey, ...allocCallers];
      }
      // The tag is read where its immediate is: the site's call, or the loading caller's (none when it comes from memory).
      const allocTag = argument ? (argument.from === 'immediate' ? allocCallers[argument.caller] : undefined) : allocKey;
      const source: (typeof pendingSources)[number] = { id: site.id, kind: 'site', pool: site.pool, tag: site.tag, alloc: [...allocChain, allocKey, ...allocCallers], free, ...(allocTag !== undefined && { allocTag }) };
      if (bugcheck) {
        source.bugcheck = bugcheck;
        source.freeTag = freeKey;
      }
      pendingSources.push(source);
    });
  });
  scenario.background.forEach((entry, index) => {
    const callers: ScenarioFrame[] =
      entry.callers.length > 0
        ? entry.callers
        : [
            { module: 'nt', function: 'ExpWorkerThread' },
            { module: 'nt', function: 'PspSystemThreadStartup' },
            { module: 'nt', function: arch === 'x86' ? 'KiThreadStartup' : 'KiStartSystemThread' },
          ];
    const path = ['background', index, 'callers'];
    const alloc = callerKeys(ntRef(entryFunction), callers, path);
    const free = callerKeys(ntRef('ExFreePoolWithTag'), callers, path);
    pendingSources.push({ id: `background:${index}:${entry.tag.trimEnd()}`, kind: 'background', pool: entry.pool, tag: entry.tag, alloc: [...allocChain, ...alloc], free: [...freeChain, ...free] });
  });

  let built: ReturnType<typeof buildImages>;
  try {
    built = buildImages(arch, order.map((build) => build.spec));
  } catch (error) {
    if (error instanceof LayoutError) error.path = origins.get(error.key);
    throw error;
  }
  const { images, placements } = built;
  const frameOf = (key: string): FrameTemplate => {
    const placement = placements.get(key);
    if (!placement) throw new Error(`internal: no placement for ${key}`);
    const offset = placement.breakOffset ?? placement.returnOffset;
    const unit = arch === 'x86' ? 4 : 16;
    const frameSize = (arch === 'x86' ? 0x14 : 0x30) + (hashText(`${placement.module}!${placement.function}`) % 10) * unit;
    return { module: placement.module, function: placement.function, offset, address: placement.functionAddress + BigInt(offset), frameSize, args: argsOf(key) };
  };
  const sources: SourcePlan[] = pendingSources.map((source) => {
    const plan: SourcePlan = {
      id: source.id,
      kind: source.kind,
      pool: source.pool,
      tag: source.tag,
      allocStack: source.alloc.map(frameOf),
      freeStack: source.free.map(frameOf),
    };
    if (source.bugcheck) plan.bugcheckStack = source.bugcheck.map(frameOf);
    if (source.allocTag) plan.allocTagAddress = placements.get(source.allocTag)?.tagAddress;
    if (source.freeTag) plan.freeTagAddress = placements.get(source.freeTag)?.tagAddress;
    return plan;
  });
  const ntImage = images[0]!;
  const dataAddress = (name: string): bigint => ntImage.base + BigInt(ntImage.symbols.find((symbol) => symbol.name === name)!.offset);
  return {
    images,
    sources,
    poolHitTagAddress: dataAddress('PoolHitTag'),
    ntGlobalFlagAddress: dataAddress('NtGlobalFlag'),
    breakInAddress: dataAddress('RtlpBreakWithStatusInstruction'),
    poolArgument,
  };
}

/** The return address a scenario fixes (a site's, a free's or a caller's offset) that cannot be laid out on a profile, and where the scenario asks for it. */
export function layoutProblem(scenario: Scenario, profile: SimProfile): { message: string; path: (string | number)[] } | undefined {
  try {
    planKernel(scenario, profile, addressLayout(profile));
    return undefined;
  } catch (error) {
    if (error instanceof LayoutError) return { message: error.message, path: error.path ?? [] };
    throw error;
  }
}

// Which argument values a frame shows, from the role of its call.
function argsOf(key: string): FrameArgs {
  if (key === 'nt.alloc.entry' || key === 'nt.pool2.entry' || key === 'nt.heap.alloc') return 'alloc-entry';
  if (key === 'nt.inserttracker') return 'alloc-tracker';
  if (key === 'nt.free.entry' || key === 'nt.heap.free' || key === 'nt.freepool.entry') return 'free-entry';
  if (key === 'nt.removetracker') return 'free-tracker';
  if (key === 'nt.bugcheckex' || key === 'nt.bugcheck2') return 'bugcheck';
  return 'other';
}

// Little-endian bytes of a 32-bit value.
function le32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}
