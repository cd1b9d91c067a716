// Issue 7 §3 and DESIGN.md safety invariant 6: every value a playbook gives a step is typed
// before it can reach kd. This walks the `with` schema of every provider in the registry: each
// string must be an enum or match a pattern that refuses `;`, quotes, backticks and line breaks,
// except the few listed below, which never reach a debugger command. There is no raw-command
// step; a new free-form string parameter fails here until someone decides what guards it.
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { createSchemaCompiler } from '../../src/core/ajv.js';
import { loadRegistry } from '../../src/core/registry.js';
import type { Registry } from '../../src/core/registry.js';
import type { JsonSchema } from '../../src/core/types.js';
import { durationSchema, toMs } from '../../plugins/pool/params.js';

/** Strings that do not reach kd, and why (checked against the providers' code by reading it). */
const tagReason = 'a pool tag under the one rule (POOL_TAG_RULE: ; and quotes are legal tag characters): sent to kd only as bytes (eb) or a value (!poolfind 0x…); pool.find\'s quoted -tag form refuses a quote, ; or backtick (TAG_NOT_QUOTABLE)';
const freeStrings: Record<string, string> = {
  'memory.restore: purpose': 'compared with undo-log purposes on the host; never sent',
  'pool.hit-tag: tag': tagReason,
  'pool.collect-stacks: tag': tagReason,
  'pool.collect-stacks: growth.tag': tagReason,
  'pool.retag-sites: tag': tagReason,
  'pool.retag-sites: growth.tag': tagReason,
  'pool.find: tag': tagReason,
  'report.verdict: tag': tagReason,
  'pool.retag-sites: pooltagFile': 'a file the host reads as pooltag.txt text (never imported, never sent)',
  'pool.retag-sites: sites[].frame': 'a label in undo-log purposes, warnings and outputs; kd prints C++ names with quotes and backticks; control characters refused',
  'pool.retag-sites: sites[].function': 'a label in outputs; control characters refused',
  'pool.retag-sites: sites[].api': 'a label (the allocator function); control characters refused',
  'pool.retag-sites: sites[].callers[]': 'labels of the frames above a site; control characters refused',
};

/** Objects without a schema for their members, and what guards their use. */
const openObjects: Record<string, string> = {
  'pool.retag-sites: sites[].freesOf': 'frame → count (integers only); the frames are labels, never sent',
  'pool.retag-sites: sites[].freedBy': 'frame → count (integers only); the frames are labels, never sent',
  'pool.retag-sites: sites[].paths': 'culprit frame → counts of a wrapper site\'s calling path; the frames become labels in outputs (culprit, callers), never sent',
  'pool.retag-sites: sites[].callerPaths': 'caller frame → counts and leak rate of a calling path inside the site\'s module; the frames become labels in outputs (culprit.path), never sent',
  'pool.retag-sites: sites[].requesters': 'frame where caller chains part → counts, leak rate and freeing modules of that group; the frames become labels in outputs (culprit frame, via), never sent',
  'pool.retag-sites: sites[].leakRate': 'numbers the verdict reads (lifetime-corrected leak rate), never sent',
};

/** Durations (`30s`, `2m`) are turned into milliseconds by toMs() before use, never sent as text. */
const durationPattern = ((durationSchema.oneOf as Record<string, unknown>[]).find((branch) => branch.type === 'string')!).pattern as string;
const isDuration = (leaf: Leaf) => leaf.schema.pattern === durationPattern;

/** Parameter names that would mean a raw-command step. */
const rawCommandNames = /^(command|commands|cmd|raw|exec|execute|script|kd|debugger)$/i;

/** Characters that would end, split or quote-break a kd command line. */
const breakers = [';', '\n', '\r', '"', "'", '`', '\u0000'];

interface Leaf {
  key: string;
  kind: 'string' | 'enum' | 'open-object';
  schema: Record<string, unknown>;
}

// Every string, enum and member-less object in a schema, with its path (`a.b`, `list[]`).
function leaves(schema: Record<string, unknown>, path: string, out: Leaf[]): Leaf[] {
  const types = ([] as unknown[]).concat(schema.type ?? []);
  if (Array.isArray(schema.enum)) out.push({ key: path, kind: 'enum', schema });
  else if (types.includes('string')) out.push({ key: path, kind: 'string', schema });
  if (types.includes('object') && !schema.properties && schema.additionalProperties !== false) out.push({ key: path, kind: 'open-object', schema });
  for (const [name, child] of Object.entries((schema.properties as Record<string, Record<string, unknown>>) ?? {})) {
    if (child && typeof child === 'object') leaves(child, path ? `${path}.${name}` : name, out);
  }
  if (schema.items && typeof schema.items === 'object') leaves(schema.items as Record<string, unknown>, `${path}[]`, out);
  for (const keyword of ['oneOf', 'anyOf', 'allOf'] as const) {
    for (const branch of (schema[keyword] as Record<string, unknown>[] | undefined) ?? []) leaves(branch, path, out);
  }
  if (schema.then && typeof schema.then === 'object') leaves(schema.then as Record<string, unknown>, path, out);
  return out;
}

let registry: Registry;
let all: { uses: string; provider: string; leaf: Leaf; name: string }[];
beforeAll(async () => {
  registry = await loadRegistry();
  all = registry.plugins.flatMap(({ plugin }) =>
    plugin.steps.flatMap((provider) =>
      leaves(provider.with as Record<string, unknown>, '', []).map((leaf) => ({ uses: provider.uses, provider: `${plugin.name}/${provider.id}`, leaf, name: `${provider.uses}: ${leaf.key}` })),
    ),
  );
});

describe('values that reach kd are typed', () => {
  test('the package registers providers, and their parameters were found', () => {
    expect(registry.plugins.length).toBeGreaterThanOrEqual(5);
    expect(all.filter((a) => a.leaf.kind === 'string').length).toBeGreaterThanOrEqual(10);
  });

  test('no step takes a raw debugger command (so there is nothing for --allow-unsafe-commands to unlock)', () => {
    for (const { plugin } of registry.plugins) {
      for (const provider of plugin.steps) {
        const names = Object.keys(((provider.with as Record<string, unknown>).properties as object) ?? {});
        expect(names.filter((name) => rawCommandNames.test(name)), `${provider.uses}`).toEqual([]);
      }
    }
  });

  test('every string parameter is an enum or a pattern, except the listed ones that never reach kd', () => {
    const free = all.filter((a) => a.leaf.kind === 'string' && (a.leaf.schema.pattern === undefined || a.name in freeStrings)).map((a) => a.name);
    expect([...new Set(free)].sort()).toEqual(Object.keys(freeStrings).sort());
  });

  test('every object without member schemas is listed with what guards it', () => {
    const open = all.filter((a) => a.leaf.kind === 'open-object').map((a) => a.name);
    expect([...new Set(open)].sort()).toEqual(Object.keys(openObjects).sort());
  });

  test('each pattern refuses `;`, quotes, backticks, CR, LF and NUL anywhere in the value', () => {
    const compiler = createSchemaCompiler();
    const patterned = all.filter((a) => a.leaf.kind === 'string' && a.leaf.schema.pattern !== undefined && !isDuration(a.leaf) && !(a.name in freeStrings));
    for (const { name, leaf } of patterned) {
      const validate = compiler.compile({ type: 'string', pattern: leaf.schema.pattern } as JsonSchema);
      for (const bad of breakers) {
        for (const value of [bad, `A${bad}`, `1${bad}`, `${bad}x`, `ab${bad}c`, `2s${bad}`, `nt${bad}.shell calc`]) {
          expect(validate(value), `${name} accepted ${JSON.stringify(value)}`).toBe(false);
        }
      }
    }
    expect(patterned.length).toBeGreaterThanOrEqual(8);
  });

  test('listed free strings that carry a pattern still refuse CR, LF, NUL and ESC (they reach messages and terminals)', () => {
    const compiler = createSchemaCompiler();
    const labels = all.filter((a) => a.leaf.kind === 'string' && a.name in freeStrings && a.leaf.schema.pattern !== undefined);
    expect(labels.length).toBeGreaterThanOrEqual(4);
    for (const { name, leaf } of labels) {
      const validate = compiler.compile({ type: 'string', pattern: leaf.schema.pattern } as JsonSchema);
      if (freeStrings[name] === tagReason) {
        // A tag: legal ones with ; and quotes pass, never a control character.
        for (const tag of ['Q;"1', "Q;'1", 'Ab`']) expect(validate(tag), `${name} refused ${JSON.stringify(tag)}`).toBe(true);
        for (const bad of ['\n', '\r', '\u0000', '\u001b']) expect(validate(`Ab${bad}`), `${name} accepted ${JSON.stringify(bad)}`).toBe(false);
        continue;
      }
      expect(validate("drv!`anonymous namespace'::Alloc+0x10"), name).toBe(true);
      for (const bad of ['\n', '\r', '\u0000', '\u001b']) expect(validate(`drv!Alloc${bad}+0x10`), `${name} accepted ${JSON.stringify(bad)}`).toBe(false);
    }
  });

  test('durations are numbers by the time they are used: whitespace in one becomes nothing', () => {
    const durations = all.filter((a) => isDuration(a.leaf)).map((a) => a.name);
    expect(durations.length).toBeGreaterThanOrEqual(4);
    expect(toMs(' 2s\n', 0)).toBe(2000);
    expect(toMs('1\n', 0)).toBe(1);
    expect(() => toMs('2s; .shell', 0)).toThrow();
  });

  test('property: no string holding a command breaker passes any parameter schema whole', () => {
    const compiler = createSchemaCompiler();
    const checked = all.filter((a) => a.leaf.kind !== 'open-object' && !(a.name in freeStrings) && !isDuration(a.leaf));
    const validators = checked.map((a) => ({ name: a.name, validate: compiler.compile(a.leaf.schema as JsonSchema) }));
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.constantFrom(...breakers), fc.nat(), (text, bad, at) => {
        const position = at % (text.length + 1);
        const value = text.slice(0, position) + bad + text.slice(position);
        for (const { name, validate } of validators) {
          if (validate(value)) throw new Error(`${name} accepted ${JSON.stringify(value)}`);
        }
      }),
      { numRuns: 300 },
    );
  });
});
