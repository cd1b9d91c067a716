/**
 * A small SimKernel test double: one driver (`abcflt`) allocating tag `Abc ` every 50 ms of
 * target time from a real call site (x86 `push imm32` / x64 `mov r8d,imm32`) and freeing each
 * block 500 ms later, PoolHitTag in memory, and reboot semantics. It lets the console tests pin
 * down exact values without depending on the real kernel model's workload.
 */
import type {
  PatchedByte, SimAllocation, SimFrame, SimKernel, SimModule, SimStateJson, SimStop, TagCounters,
} from '../../src/sim/kernel-api.js';
import { findProfile, type SimProfile } from '../../src/sim/profiles.js';

interface Region {
  base: bigint;
  original: Uint8Array;
  bytes: Uint8Array;
}

/** Create the stub on a built-in profile. */
export function createStubKernel(profileId: string, options: { globalFlag?: number } = {}): SimKernel {
  const profile = findProfile(profileId) as SimProfile;
  const x64 = profile.pointerSize === 8;
  const nt = profile.kernelBase;
  const driver = x64 ? 0xfffff88004960000n : 0xf7a10000n;
  const poolBase = x64 ? 0xfffff8a000100000n : 0xe1100000n;
  const symbols = {
    PoolHitTag: nt + 0x1000n,
    NtGlobalFlag: nt + 0x1010n,
    ExAllocatePoolWithTag: nt + 0x2000n,
    ExFreePoolWithTag: nt + 0x2100n,
    IofCallDriver: nt + 0x2200n,
    AbcAllocateContext: driver + 0x1000n,
    AbcDispatchCreate: driver + 0x1100n,
  };
  const ntImage = new Uint8Array(0x3000);
  ntImage.set([0x0f, 0xff, 0xff, 0xff], 0x1000);
  ntImage.fill(0x90, 0x2000, 0x2300);
  ntImage[0x2081] = 0xcc;
  ntImage[0x2131] = 0xcc;
  const driverImage = new Uint8Array(0x2000);
  const site = x64 ? [0x41, 0xb8, 0x41, 0x62, 0x63, 0x20, 0xba, 0xa4, 0x03, 0x00, 0x00] : [0x68, 0x41, 0x62, 0x63, 0x20, 0x68, 0xa4, 0x03, 0x00, 0x00];
  driverImage.set(site, 0x1010);
  const tagOffset = x64 ? 0x1012 : 0x1011;
  const regions: Region[] = [
    { base: nt, original: ntImage.slice(), bytes: ntImage },
    { base: driver, original: driverImage.slice(), bytes: driverImage },
  ];
  const modules: SimModule[] = [
    {
      name: 'nt', image: x64 ? 'ntoskrnl.exe' : 'ntkrnlpa.exe', base: nt, size: 0x3000,
      symbols: [
        { name: 'PoolHitTag', address: symbols.PoolHitTag, size: 4, data: true },
        { name: 'NtGlobalFlag', address: symbols.NtGlobalFlag, size: 4, data: true },
        { name: 'ExAllocatePoolWithTag', address: symbols.ExAllocatePoolWithTag, size: 0x100, data: false },
        { name: 'ExFreePoolWithTag', address: symbols.ExFreePoolWithTag, size: 0x100, data: false },
        { name: 'IofCallDriver', address: symbols.IofCallDriver, size: 0x100, data: false },
      ],
    },
    {
      name: 'abcflt', image: 'abcflt.sys', base: driver, size: 0x2000,
      symbols: [
        { name: 'AbcAllocateContext', address: symbols.AbcAllocateContext, size: 0x100, data: false },
        { name: 'AbcDispatchCreate', address: symbols.AbcDispatchCreate, size: 0x100, data: false },
      ],
    },
  ];
  let registryFlag = options.globalFlag ?? 0;
  let tagging = profile.taggingAlwaysOn || (registryFlag & 0x400) !== 0;
  let bootCount = 1;
  let now = 0;
  let nextAlloc = 50;
  let serial = 0;
  let stop: Extract<SimStop, { kind: 'pool-hit' }> | undefined;
  let counters = new Map<string, TagCounters>();
  let live: { allocation: SimAllocation; freeAt: number; freeTag: number }[] = [];

  const region = (address: bigint, length: number) =>
    regions.find((entry) => address >= entry.base && address + BigInt(length) <= entry.base + BigInt(entry.bytes.length));
  const read32 = (address: bigint) => {
    const entry = region(address, 4) as Region;
    const offset = Number(address - entry.base);
    return (entry.bytes[offset] | (entry.bytes[offset + 1] << 8) | (entry.bytes[offset + 2] << 16) | (entry.bytes[offset + 3] << 24)) >>> 0;
  };
  const tagText = (value: number) => String.fromCharCode(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24);
  const counter = (tag: string) => {
    let entry = counters.get(tag);
    if (!entry) {
      entry = { tag, paged: { allocs: 0, frees: 0, bytes: 0 }, nonpaged: { allocs: 0, frees: 0, bytes: 0 } };
      counters.set(tag, entry);
    }
    return entry;
  };
  const frame = (module: string, name: keyof typeof symbols, offset: number, depth: number, args: bigint[]): SimFrame => ({
    module, function: name, offset, address: symbols[name] + BigInt(offset),
    stackPointer: (x64 ? 0xfffff88002f0f000n : 0xf78bf000n) + BigInt(depth * (x64 ? 0x30 : 0x20)), args,
  });
  const stackFor = (operation: 'alloc' | 'free', allocation: SimAllocation): SimFrame[] => {
    const tag = BigInt(read32(symbols.PoolHitTag));
    const top = operation === 'alloc' ? frame('nt', 'ExAllocatePoolWithTag', 0x81, 0, [1n, BigInt(allocation.size), tag]) : frame('nt', 'ExFreePoolWithTag', 0x31, 0, [allocation.address, tag, 0n]);
    return [top, frame('abcflt', 'AbcAllocateContext', operation === 'alloc' ? 0x1f : 0x40, 1, [0n, 0n, 0n]), frame('abcflt', 'AbcDispatchCreate', 0x2b, 2, [0n, 0n, 0n]), frame('nt', 'IofCallDriver', 0x3f, 3, [0n, 0n, 0n])];
  };

  const kernel: SimKernel = {
    profile,
    now: () => now,
    bootTimeEpochMs: () => Date.UTC(2024, 2, 5, 9, 30, 0) + (bootCount - 1) * 3_600_000,
    bootCount: () => bootCount,
    taggingEnabled: () => tagging,
    registryGlobalFlag: () => registryFlag,
    setRegistryGlobalFlag: (value) => {
      registryFlag = value >>> 0;
    },
    ntGlobalFlag: () => read32(symbols.NtGlobalFlag),
    modules: () => modules,
    resolveSymbol: (expression) => {
      const match = /^(?:(\w+)!)?(\w+)$/.exec(expression);
      if (!match) return undefined;
      const module = match[1]?.toLowerCase();
      for (const entry of modules) {
        if (module && entry.name !== module) continue;
        const symbol = entry.symbols.find((candidate) => candidate.name.toLowerCase() === match[2].toLowerCase());
        if (symbol) return symbol.address;
      }
      return undefined;
    },
    symbolize: (address) => {
      for (const entry of modules) {
        for (const symbol of entry.symbols) {
          if (address >= symbol.address && address < symbol.address + BigInt(symbol.size)) {
            return { module: entry.name, function: symbol.name, offset: Number(address - symbol.address) };
          }
        }
      }
      return undefined;
    },
    readMemory: (address, length) => {
      const entry = region(address, length);
      if (!entry) return undefined;
      const offset = Number(address - entry.base);
      return entry.bytes.slice(offset, offset + length);
    },
    writeMemory: (address, bytes) => {
      const entry = region(address, bytes.length);
      if (!entry) return false;
      entry.bytes.set(bytes, Number(address - entry.base));
      return true;
    },
    poolHitTag: () => read32(symbols.PoolHitTag),
    tagCounters: () => (tagging ? [...counters.values()].map((entry) => structuredClone(entry)) : []),
    outstanding: function* (tag) {
      for (const entry of live) if (tag === undefined || entry.allocation.tag === tag) yield entry.allocation;
    },
    run: (maxMs) => {
      stop = undefined;
      const end = now + maxMs;
      for (;;) {
        const nextFree = live.length > 0 ? live[0].freeAt : Number.POSITIVE_INFINITY;
        const next = Math.min(nextAlloc, nextFree);
        if (next > end) {
          now = end;
          return { kind: 'timeout' };
        }
        now = next;
        const hitTag = read32(symbols.PoolHitTag);
        if (nextFree <= nextAlloc) {
          const entry = live.shift() as (typeof live)[number];
          const part = counter(entry.allocation.tag).paged;
          part.frees++;
          part.bytes -= entry.allocation.size;
          if (tagging && entry.freeTag === hitTag) {
            stop = { kind: 'pool-hit', operation: 'free', allocation: entry.allocation, stack: stackFor('free', entry.allocation) };
            return stop;
          }
          continue;
        }
        const tagValue = read32(driver + BigInt(tagOffset));
        const allocation: SimAllocation = {
          address: poolBase + BigInt(serial++ * 0x400) + (x64 ? 16n : 8n), size: 932, tag: tagText(tagValue), pool: 'paged', site: 'ctx', timeMs: now,
        };
        nextAlloc += 50;
        const part = counter(allocation.tag).paged;
        part.allocs++;
        part.bytes += allocation.size;
        live.push({ allocation, freeAt: now + 500, freeTag: tagValue });
        live.sort((a, b) => a.freeAt - b.freeAt);
        if (tagging && tagValue === hitTag) {
          stop = { kind: 'pool-hit', operation: 'alloc', allocation, stack: stackFor('alloc', allocation) };
          return stop;
        }
      }
    },
    currentStop: () => stop,
    registers: (): Record<string, bigint> => {
      const top = stop?.stack[0];
      return x64
        ? { rax: 0n, rcx: 1n, rdx: 932n, r8: BigInt(read32(symbols.PoolHitTag)), rip: top?.address ?? 0n, rsp: top?.stackPointer ?? 0n }
        : { eax: 0n, eip: top?.address ?? 0n, esp: top?.stackPointer ?? 0n };
    },
    stepOut: () => {
      if (stop) stop = { ...stop, stack: stop.stack.slice(1) };
    },
    reboot: () => {
      for (const entry of regions) entry.bytes.set(entry.original);
      bootCount++;
      now = 0;
      nextAlloc = 50;
      live = [];
      counters = new Map();
      stop = undefined;
      tagging = profile.taggingAlwaysOn || (registryFlag & 0x400) !== 0;
    },
    patchedBytes: () => {
      const patched: PatchedByte[] = [];
      for (const entry of regions) {
        entry.bytes.forEach((value, index) => {
          if (value !== entry.original[index]) {
            patched.push({ address: entry.base + BigInt(index), original: entry.original[index], current: value });
          }
        });
      }
      return patched.filter((byte) => byte.address < symbols.PoolHitTag || byte.address >= symbols.PoolHitTag + 0x20n);
    },
    state: (halted): SimStateJson => ({
      profile: profile.id, timeMs: now, bootCount, poolHitTag: read32(symbols.PoolHitTag),
      patchedBytes: kernel.patchedBytes().map((byte) => ({ address: `0x${byte.address.toString(16)}`, original: byte.original, current: byte.current })),
      halted, taggingEnabled: tagging, registryGlobalFlag: registryFlag, ntGlobalFlag: read32(symbols.NtGlobalFlag),
      tags: [...counters.values()], outstandingBySite: { ctx: { count: live.length, bytes: live.length * 932 } },
    }),
  };
  return kernel;
}
