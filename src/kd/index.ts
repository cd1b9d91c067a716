/**
 * The registry of kd output parsers: kind name → parser. `leakhunt parse <kind>` and `parse
 * auto` look parsers up here; each kind's JSON shape is public.
 */
import { parseAuto, type AutoResult } from './auto.js';
import { parseBreak, type BreakOptions, type BreakResult } from './break.js';
import type { ParseResultBase } from './common.js';
import { parseDisasm, type DisasmResult } from './disasm.js';
import { parseGflag, parseGflags, type GflagResult, type GflagsResult } from './global-flags.js';
import { parseLm, type LmResult } from './lm.js';
import { parseMemory, type MemoryResult } from './memory.js';
import { parsePool, type PoolResult } from './pool.js';
import { parsePoolfind, type PoolfindResult } from './poolfind.js';
import { parsePoolused, type PoolusedResult } from './poolused.js';
import { parseReload, type ReloadResult } from './reload.js';
import { parseStack, type StackResult } from './stack.js';
import { parseSymbols, type SymbolsResult } from './symbols.js';
import { parseVersion, type VersionResult } from './version.js';

/** Options a parser may take (only `break` uses any: the go command that led to the output). */
export type ParseOptions = BreakOptions;

/** What each kind's parser returns (`parseKind('poolused', …)` is a PoolusedResult). */
export interface KdResultByKind {
  banner: VersionResult;
  vertarget: VersionResult;
  version: VersionResult;
  poolused: PoolusedResult;
  poolfind: PoolfindResult;
  pool: PoolResult;
  stack: StackResult;
  db: MemoryResult;
  dw: MemoryResult;
  dd: MemoryResult;
  dc: MemoryResult;
  dq: MemoryResult;
  memory: MemoryResult;
  u: DisasmResult;
  gflag: GflagResult;
  gflags: GflagsResult;
  break: BreakResult;
  reload: ReloadResult;
  lm: LmResult;
  x: SymbolsResult;
  auto: AutoResult;
}

/** A kind of kd output a parser is registered for. */
export type KdKind = keyof KdResultByKind;

/** One registered kind of kd output. */
export interface KdParserInfo<K extends KdKind = KdKind> {
  kind: K;
  /** One line for `leakhunt parse --help`. */
  description: string;
  parse(text: string, options?: ParseOptions): KdResultByKind[K];
}

// One entry per kind, checked against KdResultByKind: a kind added there fails compilation until listed here.
type KdParserTable = { readonly [K in KdKind]: KdParserInfo<K> };

const PARSERS_BY_KIND: KdParserTable = {
  banner: { kind: 'banner', description: 'connect banner (debugger version, Connected to …, version block)', parse: (text) => parseVersion(text, 'banner') },
  vertarget: { kind: 'vertarget', description: 'vertarget: OS version, build, arch, kernel base, uptime', parse: (text) => parseVersion(text, 'vertarget') },
  version: { kind: 'version', description: 'version: target block, debugger and extension DLLs', parse: (text) => parseVersion(text, 'version') },
  poolused: { kind: 'poolused', description: '!poolused: per-tag paged/nonpaged allocations and bytes', parse: (text) => parsePoolused(text) },
  poolfind: { kind: 'poolfind', description: '!poolfind: pool blocks carrying a tag', parse: (text) => parsePoolfind(text) },
  pool: { kind: 'pool', description: '!pool <address>: the blocks of its pool page, the asked one marked', parse: (text) => parsePool(text) },
  stack: { kind: 'stack', description: 'k, kb, kn, kv, kp, kc: stack frames', parse: (text) => parseStack(text) },
  db: { kind: 'db', description: 'db: bytes and ASCII', parse: (text) => parseMemory(text, 1) },
  dw: { kind: 'dw', description: 'dw: words', parse: (text) => parseMemory(text, 2) },
  dd: { kind: 'dd', description: 'dd: dwords', parse: (text) => parseMemory(text, 4) },
  dc: { kind: 'dc', description: 'dc: dwords and ASCII', parse: (text) => parseMemory(text, 4) },
  dq: { kind: 'dq', description: 'dq: qwords', parse: (text) => parseMemory(text, 8) },
  memory: { kind: 'memory', description: 'any d* dump, unit taken from the cell width', parse: (text) => parseMemory(text) },
  u: { kind: 'u', description: 'u/ub/uf: disassembly', parse: (text) => parseDisasm(text) },
  gflag: { kind: 'gflag', description: '!gflag (and GFlags reports): global flags value and abbreviations', parse: (text) => parseGflag(text) },
  gflags: { kind: 'gflags', description: 'gflags /r or /k run on the target (value required)', parse: (text) => parseGflags(text) },
  break: { kind: 'break', description: 'stops: break instruction, breakpoint hit, bugcheck, step, reconnect', parse: (text, options) => parseBreak(text, options) },
  reload: { kind: 'reload', description: '.reload: phases, unreadable image headers, symbol problems', parse: (text) => parseReload(text) },
  lm: { kind: 'lm', description: 'lm: loaded modules and their symbol state', parse: (text) => parseLm(text) },
  x: { kind: 'x', description: 'x: symbols matching a pattern, their addresses, parameters or values', parse: (text) => parseSymbols(text) },
  auto: { kind: 'auto', description: 'a saved kd log: split into commands, each parsed by its kind', parse: (text) => parseAuto(text) },
};

/** Every kind `leakhunt parse` knows, in the order help lists them. */
export const KD_PARSERS: readonly KdParserInfo[] = Object.values(PARSERS_BY_KIND);

/** True when a kd parser is registered for `kind`. */
export function isKdKind(kind: string): kind is KdKind {
  return Object.hasOwn(PARSERS_BY_KIND, kind);
}

/** The parser registered for a kind; undefined when the kind is unknown. */
export function getParser(kind: string): KdParserInfo | undefined {
  return isKdKind(kind) ? (PARSERS_BY_KIND[kind] as KdParserInfo) : undefined;
}

/** The registered kind names. */
export function listKinds(): string[] {
  return KD_PARSERS.map((info) => info.kind);
}

/** Raised for a kind no parser is registered for. */
export class UnknownKindError extends Error {
  readonly code = 'KD_UNKNOWN_KIND';
  constructor(readonly kind: string) {
    super(`Unknown kd output kind "${kind}" (known: ${listKinds().join(', ')})`);
    this.name = 'UnknownKindError';
  }
}

/** Parse text as the given kind. Throws UnknownKindError for an unknown kind, KdParseError for text that is not that kind. */
export function parseKind<K extends KdKind>(kind: K, text: string, options?: ParseOptions): KdResultByKind[K];
export function parseKind(kind: string, text: string, options?: ParseOptions): ParseResultBase;
export function parseKind(kind: string, text: string, options?: ParseOptions): ParseResultBase {
  const info = getParser(kind);
  if (!info) throw new UnknownKindError(kind);
  return info.parse(text, options);
}
