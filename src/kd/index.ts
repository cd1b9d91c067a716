/**
 * The registry of kd output parsers: kind name → parser. `leakhunt parse <kind>` and `parse
 * auto` look parsers up here; each kind's JSON shape is public.
 */
import { parseAuto } from './auto.js';
import { parseBreak, type BreakOptions } from './break.js';
import type { ParseResultBase } from './common.js';
import { parseDisasm } from './disasm.js';
import { parseGflag } from './gflag.js';
import { parseGflags } from './gflags.js';
import { parseLm } from './lm.js';
import { parseMemory } from './memory.js';
import { parsePoolfind } from './poolfind.js';
import { parsePoolused } from './poolused.js';
import { parseReload } from './reload.js';
import { parseStack } from './stack.js';
import { parseVersion } from './version.js';

/** Options a parser may take (only `break` uses any: the go command that led to the output). */
export type ParseOptions = BreakOptions;

/** One registered kind of kd output. */
export interface KdParserInfo {
  kind: string;
  /** One line for `leakhunt parse --help`. */
  description: string;
  parse(text: string, options?: ParseOptions): ParseResultBase;
}

/** Every kind `leakhunt parse` knows, in the order help lists them. */
export const KD_PARSERS: readonly KdParserInfo[] = [
  { kind: 'banner', description: 'connect banner (debugger version, Connected to …, version block)', parse: (text) => parseVersion(text, 'banner') },
  { kind: 'vertarget', description: 'vertarget: OS version, build, arch, kernel base, uptime', parse: (text) => parseVersion(text, 'vertarget') },
  { kind: 'version', description: 'version: target block, debugger and extension DLLs', parse: (text) => parseVersion(text, 'version') },
  { kind: 'poolused', description: '!poolused: per-tag paged/nonpaged allocations and bytes', parse: (text) => parsePoolused(text) },
  { kind: 'poolfind', description: '!poolfind: pool blocks carrying a tag', parse: (text) => parsePoolfind(text) },
  { kind: 'stack', description: 'k, kb, kn, kv, kp, kc: stack frames', parse: (text) => parseStack(text) },
  { kind: 'db', description: 'db: bytes and ASCII', parse: (text) => parseMemory(text, 1) },
  { kind: 'dw', description: 'dw: words', parse: (text) => parseMemory(text, 2) },
  { kind: 'dd', description: 'dd: dwords', parse: (text) => parseMemory(text, 4) },
  { kind: 'dc', description: 'dc: dwords and ASCII', parse: (text) => parseMemory(text, 4) },
  { kind: 'dq', description: 'dq: qwords', parse: (text) => parseMemory(text, 8) },
  { kind: 'memory', description: 'any d* dump, unit taken from the cell width', parse: (text) => parseMemory(text) },
  { kind: 'u', description: 'u/ub/uf: disassembly', parse: (text) => parseDisasm(text) },
  { kind: 'gflag', description: '!gflag (and GFlags reports): global flags value and abbreviations', parse: (text) => parseGflag(text) },
  { kind: 'gflags', description: 'gflags /r or /k run on the target (value required)', parse: (text) => parseGflags(text) },
  { kind: 'break', description: 'stops: break instruction, breakpoint hit, bugcheck, step, reconnect', parse: (text, options) => parseBreak(text, options) },
  { kind: 'reload', description: '.reload: phases, unreadable image headers, symbol problems', parse: (text) => parseReload(text) },
  { kind: 'lm', description: 'lm: loaded modules and their symbol state', parse: (text) => parseLm(text) },
  { kind: 'auto', description: 'a saved kd log: split into commands, each parsed by its kind', parse: (text) => parseAuto(text) },
];

const BY_KIND = new Map(KD_PARSERS.map((info) => [info.kind, info]));

/** The parser registered for a kind; undefined when the kind is unknown. */
export function getParser(kind: string): KdParserInfo | undefined {
  return BY_KIND.get(kind);
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
export function parseKind(kind: string, text: string, options?: ParseOptions): ParseResultBase {
  const info = getParser(kind);
  if (!info) throw new UnknownKindError(kind);
  return info.parse(text, options);
}
