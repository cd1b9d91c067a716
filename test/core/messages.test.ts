// One problem gives one error, in words: what was found and what is accepted (never a regex,
// never a schema keyword such as "oneOf" or "then"), and one duration grammar everywhere.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createAjv } from '../../src/core/ajv.js';
import { durationPattern, parseDuration } from '../../src/core/duration.js';
import { loadPlaybook, sortErrors } from '../../src/core/load.js';
import { loadRegistry } from '../../src/core/registry.js';
import { durationSchema } from '../../plugins/pool/params.js';
import { writeTree, yaml } from './helpers.js';

const builtins = loadRegistry({});

async function errorsOf(files: Record<string, string>, main = 'main.yaml') {
  const cwd = writeTree(files);
  const result = loadPlaybook(main, { registry: await builtins, cwd });
  return sortErrors(result.errors);
}

// Schema jargon a person cannot act on.
const jargon = /oneOf|anyOf|"then"|\^\(|must match|\\s\*|\[ !#/;

describe('one problem, one error', () => {
  test('a 5-character tag is one error per step saying what a tag may be', async () => {
    const errors = await errorsOf({
      'main.yaml': yaml`
        name: t
        steps:
          - id: set
            uses: pool.hit-tag
            with: { action: set, tag: ABCDE }
      `,
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('INVALID_WITH');
    expect(errors[0]!.message).toContain('"ABCDE" (5 characters)');
    expect(errors[0]!.message).toContain('1 to 4 printable ASCII characters');
    expect(errors[0]!.message).not.toMatch(jargon);
  });

  test('a duration in no accepted form is one error listing the accepted forms', async () => {
    const errors = await errorsOf({
      'main.yaml': yaml`
        name: t
        steps:
          - id: rank
            uses: pool.rank-tags
            with: { interval: 2 fortnights }
      `,
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain('got "2 fortnights"');
    expect(errors[0]!.message).toContain('500ms, 30s, 2m');
    expect(errors[0]!.message).not.toMatch(jargon);
  });

  test('verify without a tag is one error that says when the tag is required', async () => {
    const errors = await errorsOf({
      'main.yaml': yaml`
        name: t
        steps:
          - id: check
            uses: pool.hit-tag
            with: { action: verify }
      `,
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toBe('"pool.hit-tag" with: steps[0].with is missing the required key "tag" (required when action is set or verify)');
  });

  test('an unknown input of an include reads as a sentence', async () => {
    const errors = await errorsOf({
      'main.yaml': yaml`
        name: t
        steps:
          - id: part
            include: part.yaml
            with: { stack: 3 }
      `,
      'part.yaml': yaml`
        name: part
        inputs:
          stacks: { type: integer, default: 1 }
          pool: { type: string, default: paged }
        steps:
          - id: rank
            uses: pool.rank-tags
      `,
    });
    expect(errors.map((e) => e.code)).toEqual(['UNKNOWN_INPUT']);
    expect(errors[0]!.hint).toBe('did you mean "stacks"? part.yaml declares the inputs stacks, pool');
  });
});

describe('one duration grammar', () => {
  const ajv = createAjv();
  const withSchema = ajv.compile(durationSchema as object);
  const accepted = ['500ms', '30s', '2m', '1.5h', '2minutes', '2 mins', '5 minutes', '1 hour', '3d', '250', ' 10 s '];
  const refused = ['2 fortnights', 'soon', '-5s', '1e3', '5M', 's', ''];

  test.each(accepted)('%j is a duration for the parser and for every schema', (text) => {
    expect(parseDuration(text)).toBeTypeOf('number');
    expect(withSchema(text)).toBe(true);
  });

  test.each(refused)('%j is refused by the parser and by every schema', (text) => {
    expect(parseDuration(text)).toBeUndefined();
    expect(withSchema(text)).toBe(false);
  });

  test('values', () => {
    expect(parseDuration('2minutes')).toBe(120_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration(0)).toBe(0);
  });

  test('the published schemas carry the same pattern', () => {
    for (const file of ['playbook.schema.json', 'sim-scenario.schema.json']) {
      const text = readFileSync(join(import.meta.dirname, '../../schemas', file), 'utf8');
      expect(text, file).toContain(JSON.stringify(durationPattern));
    }
  });
});

describe('no built-in schema can show a regex', () => {
  // Every value with a `pattern` says in its `title` (or its anyOf/oneOf parent's) what it accepts.
  function untitledPatterns(schema: unknown, path: string, titled: boolean, out: string[]): string[] {
    if (!schema || typeof schema !== 'object') return out;
    const node = schema as Record<string, unknown>;
    const here = titled || typeof node.title === 'string';
    if (typeof node.pattern === 'string' && !here) out.push(path);
    for (const [key, value] of Object.entries(node)) {
      const inherits = (key === 'oneOf' || key === 'anyOf') && here;
      if (Array.isArray(value)) value.forEach((item, i) => untitledPatterns(item, `${path}/${key}/${i}`, inherits, out));
      else if (value && typeof value === 'object') untitledPatterns(value, `${path}/${key}`, false, out);
    }
    return out;
  }

  test('every pattern in a built-in `with` schema has a title', async () => {
    const registry = await builtins;
    const missing = registry.plugins.flatMap(({ plugin }) => plugin.steps.flatMap((provider) => untitledPatterns(provider.with, `${provider.id}`, false, [])));
    expect(missing).toEqual([]);
  });
});
