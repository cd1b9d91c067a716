/**
 * `leakhunt/kd`: the parsers of real kd output, one per kind, and their result types. Pure
 * functions: text in, JSON-ready data out; `KdParseError` only when the text is not that kind.
 *
 * @see ../../docs/plugins.md
 */
export { getParser, isKdKind, KD_PARSERS, listKinds, parseKind, UnknownKindError } from '../kd/index.js';
export type { KdKind, KdParserInfo, KdResultByKind, ParseOptions } from '../kd/index.js';
export { KdParseError, normalizeAddress, padTag, parseRegisterValues } from '../kd/common.js';
export type { ParseResultBase } from '../kd/common.js';
export { findKdErrors, parseKdError } from '../kd/errors.js';
export type { KdErrorInfo, KdErrorKind } from '../kd/errors.js';
export { kindForCommand } from '../kd/transcript.js';
export { parseAuto } from '../kd/auto.js';
export type { AutoEntry, AutoResult } from '../kd/auto.js';
export { parseBreak } from '../kd/break.js';
export type * from '../kd/break.js';
export { parseDisasm } from '../kd/disasm.js';
export type * from '../kd/disasm.js';
export { decodeGlobalFlags, parseGflag, parseGflags } from '../kd/global-flags.js';
export type * from '../kd/global-flags.js';
export { parseLm } from '../kd/lm.js';
export type * from '../kd/lm.js';
export { parseDb, parseDc, parseDd, parseDq, parseMemory } from '../kd/memory.js';
export type * from '../kd/memory.js';
export { parsePool } from '../kd/pool.js';
export type * from '../kd/pool.js';
export { parsePoolfind } from '../kd/poolfind.js';
export type * from '../kd/poolfind.js';
export { parsePoolused } from '../kd/poolused.js';
export type * from '../kd/poolused.js';
export { parseReload } from '../kd/reload.js';
export type * from '../kd/reload.js';
export { parseStack } from '../kd/stack.js';
export type * from '../kd/stack.js';
export { parseSymbols } from '../kd/symbols.js';
export type * from '../kd/symbols.js';
export { parseBanner, parseVersion, parseVersionCommand, parseVertarget } from '../kd/version.js';
export type * from '../kd/version.js';
