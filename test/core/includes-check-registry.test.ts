// Includes and cycles at load time, check mode, CLI inputs, and the plugin registry.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkPlan } from '../../src/core/check.js';
import { combinedSchema } from '../../src/core/combined-schema.js';
import { createSchemaCompiler } from '../../src/core/ajv.js';
import { EventBus } from '../../src/core/events.js';
import type { RunEvent } from '../../src/core/events.js';
import { resolveInputs } from '../../src/core/inputs.js';
import { loadPlaybook } from '../../src/core/load.js';
import { planPlaybook } from '../../src/core/plan.js';
import { createRegistry, loadRegistry } from '../../src/core/registry.js';
import { factsForOs } from '../../src/core/versions.js';
import { fixtureRegistry, fixtures, writeTree, yaml } from './helpers.js';

describe('includes', () => {
  test('a cycle is INCLUDE_CYCLE at the include that closes it', async () => {
    const registry = await fixtureRegistry();
    const dir = writeTree({
      'a.yaml': 'name: a\nsteps:\n  - id: to-b\n    include: b.yaml\n',
      'b.yaml': 'name: b\nsteps:\n  - uses: fx.echo\n    with: { message: b }\n  - id: back\n    include: ./a.yaml\n',
    });
    const result = loadPlaybook('a.yaml', { registry, cwd: dir });
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ code: 'INCLUDE_CYCLE', location: { file: 'b.yaml', line: 6, column: 14 } });
    expect(result.errors[0]!.message).toBe('Include cycle: a.yaml → b.yaml → a.yaml');
  });

  test('a playbook including itself is a cycle', async () => {
    const registry = await fixtureRegistry();
    const dir = writeTree({ 'self.yaml': 'name: self\nsteps:\n  - include: self.yaml\n' });
    expect(loadPlaybook('self.yaml', { registry, cwd: dir }).errors.map((e) => e.code)).toEqual(['INCLUDE_CYCLE']);
  });

  test('include inputs are checked: unknown, wrong type, missing required; errors in the included file point into it', async () => {
    const registry = await fixtureRegistry();
    const dir = writeTree({
      'main.yaml': yaml`
        name: main
        steps:
          - id: inc
            include: lib.yaml
            with: { count: many, lable: x }
      `,
      'lib.yaml': yaml`
        name: lib
        inputs:
          label: { type: string }
          count: { type: integer, default: 1 }
        steps:
          - uses: fx.ecoh
      `,
    });
    const errors = loadPlaybook('main.yaml', { registry, cwd: dir }).errors;
    expect(errors.map((e) => [e.code, e.location?.file, e.location?.line]).sort()).toEqual([
      ['INVALID_INPUT', 'main.yaml', 4],
      ['INVALID_INPUT', 'main.yaml', 5],
      ['UNKNOWN_INPUT', 'main.yaml', 5],
      ['UNKNOWN_STEP', 'lib.yaml', 6],
    ].sort());
    expect(errors.find((e) => e.code === 'UNKNOWN_INPUT')!.hint).toContain('did you mean "label"');
  });
});

describe('check mode', () => {
  test('lists each step\'s commands for the chosen provider and sends nothing', async () => {
    const registry = await fixtureRegistry();
    const dir = writeTree({
      'p.yaml': yaml`
        name: check
        inputs:
          pool: { type: string, default: nonpaged }
        steps:
          - id: rank
            uses: fx.rank
            with: { pool: "\${{ inputs.pool }}" }
          - id: patch
            uses: fx.patch
            with: { address: "80545b14", bytes: [65, 98, 99, 32] }
          - id: later
            uses: fx.echo
            when: steps.rank.outputs.suspect != ''
            with: { message: "\${{ steps.rank.outputs.suspect }}" }
          - id: no-check
            uses: fx.throw
        always:
          - id: bye
            uses: fx.echo
            with: { message: bye }
      `,
    });
    const playbook = loadPlaybook('p.yaml', { registry, cwd: dir }).playbook!;
    const events: RunEvent[] = [];
    const bus = new EventBus();
    bus.addSink((e) => events.push(e));
    const xp = planPlaybook(playbook, factsForOs('xp'), registry).plan!;
    const checked = checkPlan(xp, { pool: 'nonpaged' }, bus);
    expect(checked.map((c) => [c.id, c.provider, c.commands])).toEqual([
      ['rank', 'legacy', ['.reload', '!poolused 2']],
      ['patch', 'patch', ['eb 80545b14 41 62 63 20']],
      ['later', 'echo', ['.echo <steps.rank.outputs.suspect>']],
      ['no-check', 'throw', undefined],
      ['bye', 'echo', ['.echo bye']],
    ]);
    expect(checked[2]!.note).toBe('runs if when: holds (it reads earlier outputs); known at run time: with.message = ${{ steps.rank.outputs.suspect }}');
    expect(checked[3]!.note).toContain('no check mode');
    expect(events.map((e) => e.event)).toEqual(['runStart', 'stepEnd', 'stepEnd', 'stepEnd', 'stepEnd', 'stepEnd', 'runEnd']);
    expect(events[0]).toMatchObject({ event: 'runStart', check: true });
    // Another version picks another provider, and so other commands.
    const win11 = planPlaybook(playbook, factsForOs('win11'), registry).plan!;
    expect(checkPlan(win11, { pool: 'both' }, new EventBus())[0]).toMatchObject({ provider: 'segment-heap', commands: ['!poolused 4'] });
  });
});

describe('inputs from the command line', () => {
  const decls = {
    tag: { name: 'tag', type: 'string' as const, required: true, location: { file: 'p.yaml', line: 3, column: 3 } },
    count: { name: 'count', type: 'integer' as const, minimum: 1, maximum: 10, default: 3, required: false, location: { file: 'p.yaml', line: 4, column: 3 } },
    deep: { name: 'deep', type: 'boolean' as const, default: false, required: false, location: { file: 'p.yaml', line: 5, column: 3 } },
    pool: { name: 'pool', type: 'string' as const, enum: ['paged', 'nonpaged'], default: 'paged', required: false, location: { file: 'p.yaml', line: 6, column: 3 } },
  };
  test('values are converted and defaults applied', () => {
    expect(resolveInputs(decls, { tag: 'Abc', count: '7', deep: 'yes' })).toEqual({ values: { tag: 'Abc', count: 7, deep: true, pool: 'paged' }, errors: [] });
  });
  test.each([
    [{ tag: 'A', count: 'x' }, 'count'],
    [{ tag: 'A', count: '2.5' }, 'count'],
    [{ tag: 'A', count: '11' }, 'count'],
    [{ tag: 'A', deep: 'maybe' }, 'deep'],
    [{ tag: 'A', pool: 'both' }, 'pool'],
    [{}, 'tag'],
    [{ tag: 'A', tga: 'B' }, 'tga'],
  ])('%o is INVALID_INPUT for %s', (given, name) => {
    const { errors } = resolveInputs(decls, given as Record<string, string>);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'INVALID_INPUT' });
    expect(errors[0]!.message).toContain(`"${name}"`);
  });
});

describe('plugin registry', () => {
  test('loads the fixture plugins from a folder of plugin folders', async () => {
    const registry = await fixtureRegistry();
    expect(registry.plugins.map((p) => p.plugin.name)).toEqual(['fx', 'fx-extra']);
    expect(registry.stepNames()).toContain('fx.rank');
    expect(registry.providersOf('fx.tie').map((p) => p.plugin)).toEqual(['fx', 'fx-extra']);
  });
  test('with validators are compiled once and cached', async () => {
    const registry = await fixtureRegistry();
    const provider = registry.providersOf('fx.echo')[0]!.provider;
    expect(registry.withValidator(provider)).toBe(registry.withValidator(provider));
  });
  test('a duplicate plugin name is DUPLICATE_PLUGIN', async () => {
    await expect(loadRegistry({ builtin: false, dirs: [join(fixtures, 'plugins'), join(fixtures, 'plugins-broken', 'dup-a')] })).rejects.toMatchObject({ code: 'DUPLICATE_PLUGIN' });
  });
  test('a with schema that lets unknown keys through is PLUGIN_LOAD_FAILED', async () => {
    await expect(loadRegistry({ builtin: false, dirs: [join(fixtures, 'plugins-broken', 'bad-schema')] })).rejects.toMatchObject({ code: 'PLUGIN_LOAD_FAILED' });
  });
  test.each([
    [{ uses: 'Bad Name', id: 'x' }, /uses must look like/],
    [{ uses: 'a.b', id: 'x', appliesTo: { os: 'windows-xp' } }, /neither a semver range/],
    [{ uses: 'a.b', id: 'x', appliesTo: { arch: ['mips'] } }, /unknown arch "mips"/],
    [{ uses: 'a.b', id: 'x', with: { type: 'object', additionalProperties: false, properties: { a: { type: 'strng' } } } }, /strict mode/],
  ])('an invalid provider is refused: %o', (override, message) => {
    const provider = { description: 'd', with: { type: 'object', additionalProperties: false, properties: {} }, outputs: {}, run: async () => ({ status: 'ok' as const }), ...override };
    expect(() => createRegistry([{ plugin: { name: 'p', steps: [provider as never] }, source: 'inline' }])).toThrow(message);
  });
  test('the combined schema compiles and folds each provider\'s with: in', async () => {
    const registry = await fixtureRegistry();
    const schema = combinedSchema(registry) as Record<string, any>;
    const validate = createSchemaCompiler().compile(schema);
    expect(schema.$defs.step.properties.uses.enum).toContain('fx.rank');
    expect(validate({ name: 'x', steps: [{ uses: 'fx.echo', with: { message: 'hi' } }] })).toBe(true);
    expect(validate({ name: 'x', steps: [{ uses: 'fx.echo', with: { mesage: 'hi' } }] })).toBe(false);
    expect(validate({ name: 'x', steps: [{ uses: 'fx.rank', with: { pool: 'paged' } }] })).toBe(true);
    expect(validate({ name: 'x', steps: [{ uses: 'fx.rank', with: { pool: 'heap' } }] })).toBe(false);
  });
});
