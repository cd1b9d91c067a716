/**
 * The contract between the simulated kernel (src/sim/kernel) and the kd console that shows it
 * (src/sim/console). The console never reaches into kernel internals; the kernel never
 * formats kd text. Addresses are bigint; tags are 4-character strings padded with spaces.
 */
import type { SimProfile } from './profiles.js';

export type PoolKind = 'paged' | 'nonpaged';

/** Per-tag accounting, as `!poolused` reports it. */
export interface TagCounters {
  tag: string;
  paged: { allocs: number; frees: number; bytes: number };
  nonpaged: { allocs: number; frees: number; bytes: number };
}

/** One frame of a simulated call stack, innermost first. */
export interface SimFrame {
  module: string;
  /** Symbol name without module; undefined for a module without symbols (`Driver+0x11b1`). */
  function?: string;
  offset: number;
  /** Absolute address of the instruction (return address for caller frames). */
  address: bigint;
  /** Stack pointer of the frame (Child-SP / ChildEBP). */
  stackPointer: bigint;
  /** Up to 3 (x86) / 4 (x64 home space) argument values shown by `kb`. */
  args: bigint[];
}

/** An outstanding (not yet freed) allocation. */
export interface SimAllocation {
  address: bigint;
  size: number;
  tag: string;
  pool: PoolKind;
  /** Scenario site id; undefined for background tags. */
  site?: string;
  /** Target time of the allocation, ms since boot. */
  timeMs: number;
}

/** Why the target stopped. */
export type SimStop =
  /** PoolHitTag matched an allocation or a free; the kernel is halted at the break. */
  | { kind: 'pool-hit'; operation: 'alloc' | 'free'; allocation: SimAllocation; stack: SimFrame[] }
  /** The time budget passed without a break (the console then keeps running or breaks in). */
  | { kind: 'timeout' }
  /** A reboot happened (`.reboot` or an injected fault); the console prints the reconnect. */
  | { kind: 'reboot' }
  /**
   * The kernel bug-checked (added by the kernel model): e.g. BAD_POOL_CALLER (0xC2) with
   * parameter 1 = 0xA when a free's tag differs from the block's tag (a retagged alloc site whose
   * free site was not retagged). The target stays halted until `reboot()`.
   */
  | { kind: 'bugcheck'; code: number; parameters: [bigint, bigint, bigint, bigint]; stack: SimFrame[] };

/** A code byte that differs from the original image. */
export interface PatchedByte {
  address: bigint;
  original: number;
  current: number;
}

/** A loaded module with its symbols. */
export interface SimModule {
  name: string;
  image: string;
  base: bigint;
  size: number;
  /** Functions and data symbols; `data` for a variable (`x` prints it with ` = `). */
  symbols: readonly { name: string; address: bigint; size: number; data: boolean }[];
}

/** The final state written by `leakhunt sim --state-out` (JSON with numbers and hex strings). */
export interface SimStateJson {
  profile: string;
  timeMs: number;
  bootCount: number;
  poolHitTag: number;
  patchedBytes: { address: string; original: number; current: number }[];
  halted: boolean;
  taggingEnabled: boolean;
  registryGlobalFlag: number;
  ntGlobalFlag: number;
  tags: TagCounters[];
  outstandingBySite: Record<string, { count: number; bytes: number }>;
  /** Set when the kernel bug-checked (added by the kernel model). */
  bugcheck?: { code: number; parameters: string[] };
  /**
   * Frees whose tag differed from the block's tag without protected pool (added by the kernel
   * model): a retagged alloc site whose free site still frees with the old tag, or blocks in flight
   * while both were patched. Not fatal in the model (WRK checks protected blocks only); recorded
   * so a hunt can be shown to have caused none. Absent when there were none.
   */
  freeTagMismatches?: { count: number; first: { site: string; address: string; blockTag: string; freeTag: string; timeMs: number } };
}

/** The simulated kernel as the console sees it. */
export interface SimKernel {
  readonly profile: SimProfile;
  /** Target time in ms since the last boot. */
  now(): number;
  /** Wall-clock-like boot time (ms since the Unix epoch) of the current boot. */
  bootTimeEpochMs(): number;
  bootCount(): number;
  /** Is pool tagging on in this boot (always from 2003; else GlobalFlag 0x400 at boot)? */
  taggingEnabled(): boolean;
  /** The persistent registry value HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\GlobalFlag. */
  registryGlobalFlag(): number;
  setRegistryGlobalFlag(value: number): void;
  /** nt!NtGlobalFlag in memory (also readable through readMemory at its symbol). */
  ntGlobalFlag(): number;
  modules(): readonly SimModule[];
  /** `nt!PoolHitTag` → address (case-insensitive module and symbol); undefined when unknown. */
  resolveSymbol(expression: string): bigint | undefined;
  /** Address → nearest symbol. */
  symbolize(address: bigint): { module: string; function?: string; offset: number } | undefined;
  /** Bytes at an address; undefined where nothing is mapped (kd: `Memory access error`). */
  readMemory(address: bigint, length: number): Uint8Array | undefined;
  /** Write bytes; false where nothing is mapped. Writes to PoolHitTag and code bytes take effect at once. */
  writeMemory(address: bigint, bytes: Uint8Array): boolean;
  poolHitTag(): number;
  tagCounters(): TagCounters[];
  /** Outstanding allocations, optionally of one tag (for `!poolfind`). */
  outstanding(tag?: string): Iterable<SimAllocation>;
  /**
   * Let the target run for at most `maxMs` of target time. Returns at the first PoolHitTag match
   * (the kernel halts there) or when the time is used up.
   */
  run(maxMs: number): SimStop;
  /** The current break, while halted at a PoolHitTag match. */
  currentStop(): Extract<SimStop, { kind: 'pool-hit' }> | undefined;
  /** Register values at the current stop (`eax`/`rax`, `esp`/`rsp`, `eip`/`rip`, …). */
  registers(): Record<string, bigint>;
  /** Run to the return of the current frame (kd `gu`): the frames shift and the return register holds the result. */
  stepOut(): void;
  /** Reboot: registry reread, PoolHitTag to default, code bytes restored, workload restarted. */
  reboot(): void;
  patchedBytes(): PatchedByte[];
  state(halted: boolean): SimStateJson;
  /** The bugcheck the kernel stopped on, if any (added by the kernel model; cleared by reboot). */
  bugcheck?(): Extract<SimStop, { kind: 'bugcheck' }> | undefined;
  /**
   * Outstanding blocks counted but not tracked one by one (added by the kernel model): beyond a
   * cap per site (leaked blocks) or background tag (population), blocks are only counted, so
   * `outstanding()` lists the tracked ones and this gives the rest per tag (exact tag string).
   * `!poolfind` prints the tracked ones; the counters of `!poolused` always include all.
   */
  untrackedOutstanding?(tag?: string): { count: number; bytes: number };
}
