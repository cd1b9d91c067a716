/**
 * `with` schema fragments every pool step shares (tags, pools, durations), and their conversions.
 * A value that reaches a kd command is typed here first (DESIGN.md, safety invariant 6).
 */
import { padTag, POOL_TAG_PATTERN, POOL_TAG_RULE } from '../../src/kd/common.js';
import { durationForms, durationPattern, parseDuration } from '../../src/core/duration.js';
import type { JsonSchema } from '../../src/core/types.js';

/**
 * A pool tag under the one rule (POOL_TAG_RULE, src/kd/common.ts). `;` and quotes are legal tag
 * characters; a tag reaches kd only as bytes or a value, never as command text.
 */
export const tagSchema: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 4,
  pattern: POOL_TAG_PATTERN,
  title: `a pool tag: ${POOL_TAG_RULE}`,
  description: 'Pool tag, 1–4 printable characters (`Abc` means `Abc `).',
};

/** A duration (src/core/duration.ts): `30s`, `2m`, `500ms`, `2 minutes`, or a number of milliseconds. */
export const durationSchema: JsonSchema = {
  oneOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', pattern: durationPattern },
  ],
  title: durationForms,
  description: 'Duration: `30s`, `2m`, `500ms`, or milliseconds.',
};

// One wrapper pattern (`module!function`, `*` wildcards): no space in the module, none of ; " ' ` or a
// control character anywhere (a pattern is matched on the host, never sent; it still refuses what
// could break a kd command line).
const wrapperModule = String.raw`[^!,\s;"'\x60\x00-\x1f]+`;
const wrapperFunction = String.raw`[^,;"'\x60\x00-\x1f]+`;

/**
 * More allocator wrappers and frameworks to look through when naming the culprit
 * (src/evidence/classify.ts): a list of `module!function` patterns, or one comma-separated
 * string of them (what a playbook input holds).
 */
/** A `wrappers` value (a list, or one comma-separated string; an unset input gives "") as its patterns. */
export function wrapperPatterns(value: string[] | string | undefined): string[] {
  return (typeof value === 'string' ? value.split(',') : value ?? []).map((p) => p.trim()).filter((p) => p !== '');
}

export const wrappersSchema: JsonSchema = {
  type: ['array', 'string'],
  items: { type: 'string', pattern: `^${wrapperModule}(!${wrapperFunction})?$`, title: 'a module!function pattern with * wildcards, such as vendorlib!* (no spaces, ; quotes or backticks)' },
  // Spaces (not line breaks) may surround the commas.
  pattern: `^ *(${wrapperModule}(!${wrapperFunction})? *(, *|$))*$`,
  title: 'module!function patterns with * wildcards (vendorlib!*, vendorlib!VlAlloc*): a list, or one string separated by commas',
  description: 'More allocator wrappers and frameworks to look through when naming the culprit, as module!function patterns with * (a list, or one comma-separated string), added to the defaults (WDF, NDIS, storport, ks/portcls, FltMgr helpers): e.g. vendorlib!*.',
};

/** Which pool(s) a step looks at. */
export const poolSchema: JsonSchema = { type: 'string', enum: ['paged', 'nonpaged', 'both'] };

export type PoolChoice = 'paged' | 'nonpaged' | 'both';
export type PoolName = 'paged' | 'nonpaged';

/** Milliseconds of a schema-checked duration. */
export function toMs(value: string | number | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const parsed = parseDuration(value);
  if (parsed === undefined) throw new Error(`"${value}" is not ${durationForms}`);
  return parsed;
}

/** The four bytes of a tag as memory holds them (`Abc` → 41 62 63 20). */
export function tagBytes(tag: string): number[] {
  return [...padTag(tag)].map((c) => c.charCodeAt(0) & 0xff);
}

/** The little-endian dword of a tag (`Abc ` → 0x20636241), as `dd` shows it. */
export function tagValue(tag: string): number {
  const b = tagBytes(tag);
  return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
}

/** The tag a little-endian byte run spells (non-printable bytes shown as `.`). */
export function tagFromBytes(bytes: readonly number[]): string {
  return bytes
    .slice(0, 4)
    .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'))
    .join('');
}

/** Little-endian bytes → unsigned dword. */
export function dwordFromBytes(bytes: readonly number[]): number {
  return ((bytes[0] ?? 0) | ((bytes[1] ?? 0) << 8) | ((bytes[2] ?? 0) << 16) | ((bytes[3] ?? 0) << 24)) >>> 0;
}

/** Unsigned dword → little-endian bytes. */
export function bytesFromDword(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/** `0x` + 8 hex digits, for messages and outputs. */
export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

/** Pools a choice covers. */
export function poolsOf(choice: PoolChoice): PoolName[] {
  return choice === 'both' ? ['paged', 'nonpaged'] : [choice];
}
