// Schemas compiled ahead of time (scripts/build-validators.mjs → dist/validators): every schema
// the package ships still passes Ajv's strict mode and meta-schema check, the generated code
// reports exactly what Ajv compiled at run time reports, and the built CLI starts without Ajv.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { beforeAll, describe, expect, test } from 'vitest';
import { createAjv, createSchemaCompiler, validatorKey } from '../../src/core/ajv.js';
import type { ValidateFunction } from '../../src/core/ajv.js';
import { configSchema } from '../../src/core/config.js';
import { playbookSchema } from '../../src/core/load.js';
import { inventorySchema } from '../../src/lab/inventory.js';
import { scenarioSchema } from '../../src/sim/scenario.js';
import { loadRegistry } from '../../src/core/registry.js';
import type { JsonSchema } from '../../src/core/types.js';
import { bin, ensureBuilt, root } from '../reliability/corpus.js';

// Every schema the build compiles: the playbook envelope, the scenario, inventory and config files', and each built-in provider's `with`.
async function shippedSchemas(): Promise<{ name: string; schema: JsonSchema }[]> {
  const registry = await loadRegistry({});
  const schemas = [
    { name: 'playbook', schema: playbookSchema() },
    { name: 'scenario', schema: scenarioSchema as JsonSchema },
    { name: 'inventory', schema: inventorySchema() },
    { name: 'config', schema: configSchema() },
  ];
  for (const { plugin } of registry.plugins) {
    for (const provider of plugin.steps) schemas.push({ name: `${plugin.name}/${provider.id}`, schema: provider.with });
  }
  return schemas;
}

// Values that break a `with` schema in different ways: unknown keys, and each property given
// every JSON type (most of them wrong).
function withSamples(schema: JsonSchema): unknown[] {
  const properties = Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {});
  const wrong: unknown[] = ['', 'x', -1, 0, 1.5, 1e12, true, null, [], [1, 'a'], {}, { a: 1 }];
  return [{}, null, 'text', [], { 'no-such-key': 1 }, ...properties.flatMap((key) => wrong.map((value) => ({ [key]: value })))];
}

// Errors as JSON: the generated code rebuilds schema objects from literals, so compare by value.
function run(validate: ValidateFunction, data: unknown): unknown {
  const valid = validate(data);
  return JSON.parse(JSON.stringify({ valid, errors: validate.errors ?? null }));
}

describe('schemas the package ships', () => {
  test('compile in strict mode with the meta-schema check on', async () => {
    const schemas = await shippedSchemas();
    expect(schemas.length).toBeGreaterThan(10);
    for (const { name, schema } of schemas) {
      const ajv = createAjv();
      expect(() => ajv.compile(schema as Record<string, unknown>), name).not.toThrow();
    }
  });

  test('strict mode is on: an unknown keyword, a wrong type name and an unknown format are refused', () => {
    expect(() => createAjv().compile({ type: 'object', descripton: 'typo' })).toThrow(/strict mode: unknown keyword: "descripton"/);
    expect(() => createAjv().compile({ type: 'strng' })).toThrow(/schema is invalid/);
    expect(() => createAjv().compile({ type: 'string', format: 'no-such-format' })).toThrow(/unknown format "no-such-format"/);
  });

  test('a schema with no generated validator is compiled by Ajv when checked, and refused when not strict', () => {
    const compiler = createSchemaCompiler();
    const schema = { type: 'object', additionalProperties: false, properties: { n: { type: 'integer', minimum: 2 } } };
    expect(() => compiler.check(schema)).not.toThrow();
    const validate = compiler.compile(schema);
    expect(validate({ n: 3 })).toBe(true);
    expect(validate({ n: 1 })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ instancePath: '/n', keyword: 'minimum' });
    expect(compiler.compile(schema)).toBe(validate);
    expect(() => createSchemaCompiler().check({ type: 'object', properties: { n: { type: 'integer', minimum: 'two' } } })).toThrow(/schema is invalid/);
  });
});

describe('validators generated at build time', () => {
  let folder: string;
  let generated: typeof import('../../src/core/ajv.js');

  beforeAll(async () => {
    ensureBuilt();
    expect(existsSync(bin)).toBe(true);
    generated = (await import(pathToFileURL(join(root, 'dist', 'src', 'core', 'ajv.js')).href)) as typeof import('../../src/core/ajv.js');
    folder = generated.generatedValidatorsFolder()!;
  }, 300_000);

  test('one file per distinct shipped schema, named by the same key the sources compute, nothing else', async () => {
    const schemas = await shippedSchemas();
    const keys = new Set(schemas.map(({ schema }) => validatorKey(schema)));
    expect(folder).toBe(join(root, 'dist', 'validators') + '/');
    expect(new Set(readdirSync(folder).map((name) => name.replace(/\.cjs$/, '')))).toEqual(keys);
    for (const { schema } of schemas) expect(generated.validatorKey(schema)).toBe(validatorKey(schema));
  });

  test('the generated code and run-time Ajv give the same verdict and errors', async () => {
    const playbooks = [join(root, 'playbooks'), join(root, 'test', 'fixtures', 'playbooks', 'broken'), join(root, 'test', 'fixtures', 'playbooks', 'valid')]
      .flatMap((dir) => readdirSync(dir).filter((name) => name.endsWith('.yaml')).map((name) => join(dir, name)))
      .map((file) => {
        try {
          return parse(readFileSync(file, 'utf8')) as unknown;
        } catch {
          return undefined; // the YAML-syntax fixture
        }
      })
      .filter((data) => data !== undefined);
    // The ready scenarios and lab inventories (the scenario schema sees both kinds: the inventories break it).
    const scenarios = [join(root, 'scenarios'), join(root, 'scenarios', 'lab')].flatMap((dir) => readdirSync(dir).filter((name) => name.endsWith('.yaml')).map((name) => parse(readFileSync(join(dir, name), 'utf8')) as unknown));
    const broken = [{}, { name: 3, steps: [{ uses: 'x', bogus: 1 }] }, { name: 'n', inputs: { x: { type: 'nope' } }, steps: [] }];
    let invalid = 0;
    for (const { name, schema } of await shippedSchemas()) {
      const ahead = generated.createSchemaCompiler().compile(schema);
      const now = createAjv().compile(schema as Record<string, unknown>);
      expect(ahead, name).not.toBe(now);
      const samples = name === 'playbook' ? [...playbooks, ...broken] : name === 'scenario' ? [...scenarios, ...withSamples(schema)] : withSamples(schema);
      for (const data of samples) {
        const expected = run(now, data) as { valid: boolean };
        expect(run(ahead, data), `${name}: ${JSON.stringify(data)}`).toEqual(expected);
        if (!expected.valid) invalid += 1;
      }
    }
    expect(invalid).toBeGreaterThan(100);
  });

  test('the built compiler takes shipped schemas without loading Ajv, and loads it for any other', () => {
    const script = `
      import { createRequire } from 'node:module';
      const { createSchemaCompiler } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist/src/core/ajv.js')).href)});
      const { playbookSchema } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist/src/core/load.js')).href)});
      const require = createRequire(import.meta.url);
      const ajvLoaded = () => Object.keys(require.cache).some((file) => /[\\\\/]ajv[\\\\/]dist[\\\\/]core\\.js$/.test(file));
      const compiler = createSchemaCompiler();
      const validate = compiler.compile(playbookSchema());
      const before = ajvLoaded();
      const verdict = validate({ name: 'x' });
      compiler.compile({ type: 'object', properties: { other: { type: 'string' } } });
      console.log(JSON.stringify({ before, verdict, after: ajvLoaded() }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ before: false, verdict: false, after: true });
  });
});
