// Sharing plugins and playbooks: --plugins takes an installed package's name, include: names a
// playbook inside an installed package (positions inside that file), leakhunt.config.yaml names
// plugins and playbook folders, and a .ts plugin loads only where Node strips types.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { loadPlaybook } from '../../src/core/load.js';
import { loadRegistry } from '../../src/core/registry.js';
import { writeTree, yaml } from '../core/helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'dist', 'src', 'cli', 'main.js');

// A dependency-free plugin module with one step, as a package or folder would hold it.
const pluginSource = (name: string) => `
export default {
  name: '${name}',
  errors: { NOTHING: { description: 'never raised', remedy: 'none needed' } },
  steps: [{
    uses: '${name}.hello', id: 'hello', description: 'says hello',
    with: { type: 'object', additionalProperties: false, properties: { who: { type: 'string' } } },
    outputs: { greeting: { description: 'the greeting', type: 'string' } },
    async run(params) { return { status: 'ok', outputs: { greeting: 'hello ' + (params.who ?? 'world') } }; },
  }],
};
`;

// A project folder with packages installed under node_modules (written, not npm-installed).
function project(extra: Record<string, string> = {}): string {
  return writeTree({
    'node_modules/leakhunt-plugin-hello/package.json': JSON.stringify({ name: 'leakhunt-plugin-hello', type: 'module', exports: './index.js' }),
    'node_modules/leakhunt-plugin-hello/index.js': pluginSource('hello'),
    'node_modules/@team/leak-recipes/package.json': JSON.stringify({ name: '@team/leak-recipes', version: '1.0.0' }),
    'node_modules/@team/leak-recipes/greet.yaml': yaml`
      name: greet
      inputs:
        who: { type: string, required: true }
      steps:
        - id: say
          uses: hello.hello
          with: { who: "\${{ inputs.who }}" }
    `,
    'node_modules/@team/leak-recipes/broken.yaml': yaml`
      name: broken
      steps:
        - id: say
          uses: hello.hello
          with: { whom: typo }
    `,
    ...extra,
  });
}

// Run the built CLI in a folder; resolves to exit code and output.
function leakhunt(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('plugins from installed packages', () => {
  test('--plugins takes a package name, resolved from the working directory', async () => {
    const dir = project();
    const registry = await loadRegistry({ builtin: false, dirs: ['leakhunt-plugin-hello'], cwd: dir });
    expect(registry.stepNames()).toEqual(['hello.hello']);
    expect(registry.plugins[0]!.source).toBe(join(dir, 'node_modules', 'leakhunt-plugin-hello', 'index.js'));
  });

  test('a plugin named twice (by package name and by folder) loads once', async () => {
    const dir = project();
    const registry = await loadRegistry({ builtin: false, dirs: ['leakhunt-plugin-hello', './node_modules/leakhunt-plugin-hello'], cwd: dir });
    expect(registry.plugins.map(({ plugin }) => plugin.name)).toEqual(['hello']);
  });

  test('a name that is neither a folder nor a package is PLUGIN_LOAD_FAILED with what to do', async () => {
    await expect(loadRegistry({ builtin: false, dirs: ['leakhunt-plugin-missing'], cwd: project() })).rejects.toMatchObject({
      code: 'PLUGIN_LOAD_FAILED',
      message: expect.stringMatching(/neither a folder nor an installed package \(npm install leakhunt-plugin-missing/),
    });
  });
});

describe('include: from an installed package', () => {
  test('resolves from the including file and binds the package playbook\'s inputs', async () => {
    const dir = project({
      'hunt.yaml': yaml`
        name: hunt
        steps:
          - id: recipe
            include: "@team/leak-recipes/greet.yaml"
            with: { who: team }
      `,
    });
    const registry = await loadRegistry({ builtin: false, dirs: ['leakhunt-plugin-hello'], cwd: dir });
    const loaded = loadPlaybook('hunt.yaml', { registry, cwd: dir });
    expect(loaded.errors).toEqual([]);
    expect(loaded.playbook!.steps.map((s) => [s.id, s.uses, s.location.file])).toEqual([['recipe.say', 'hello.hello', join('node_modules', '@team', 'leak-recipes', 'greet.yaml')]]);
  });

  test("a problem inside the package's playbook is reported at its position in that file", async () => {
    const dir = project({ 'hunt.yaml': 'name: hunt\nsteps:\n  - include: "@team/leak-recipes/broken.yaml"\n' });
    const registry = await loadRegistry({ builtin: false, dirs: ['leakhunt-plugin-hello'], cwd: dir });
    const loaded = loadPlaybook('hunt.yaml', { registry, cwd: dir });
    expect(loaded.errors).toEqual([expect.objectContaining({ code: 'INVALID_WITH', location: { file: join('node_modules', '@team', 'leak-recipes', 'broken.yaml'), line: 5, column: 13 } })]);
  });

  test('a package path that does not resolve is INCLUDE_NOT_FOUND at the include', async () => {
    const dir = project({ 'hunt.yaml': 'name: hunt\nsteps:\n  - include: "@team/leak-recipes/nope.yaml"\n' });
    const registry = await loadRegistry({ builtin: false, dirs: ['leakhunt-plugin-hello'], cwd: dir });
    const loaded = loadPlaybook('hunt.yaml', { registry, cwd: dir });
    expect(loaded.errors).toEqual([expect.objectContaining({ code: 'INCLUDE_NOT_FOUND', location: expect.objectContaining({ file: 'hunt.yaml', line: 3 }), hint: expect.stringMatching(/installed package/) })]);
  });
});

describe('leakhunt.config.yaml', () => {
  test('names plugin packages and playbook folders: validate checks them all, run finds a playbook by name', async () => {
    const dir = project({
      'leakhunt.config.yaml': 'plugins: [leakhunt-plugin-hello]\nplaybooks: [./recipes]\n',
      'recipes/hi.yaml': 'name: hi\nsteps:\n  - id: say\n    uses: hello.hello\n    with: { who: config }\n',
      'recipes/team.yaml': 'name: team\nsteps:\n  - include: "@team/leak-recipes/greet.yaml"\n    with: { who: pkg }\n',
    });
    const validated = await leakhunt(dir, 'validate');
    expect(validated.stderr).toBe('');
    expect(validated.stdout).toMatch(/ok {2}.*recipes\/hi\.yaml: 1 steps?/);
    expect(validated.stdout).toMatch(/ok {2}.*recipes\/team\.yaml: 1 steps?/);
    expect(validated.code).toBe(0);
    const plugins = await leakhunt(dir, 'plugins');
    expect(plugins.stdout).toMatch(/hello\.hello/);
    const planned = await leakhunt(dir, 'plan', 'hi', '--os', 'xp');
    expect(planned.stdout).toMatch(/say +hello\.hello +→ hello\/hello/);
  });

  test('a key the schema does not know is INVALID_CONFIG at its position', async () => {
    const dir = project({ 'leakhunt.config.yaml': 'plugins: [leakhunt-plugin-hello]\nplugin: [oops]\n' });
    const result = await leakhunt(dir, 'plugins');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^leakhunt\.config\.yaml:2:1 error INVALID_CONFIG: .*"plugin"/m);
  });
});

describe('TypeScript plugins', () => {
  const typescript = Boolean((process.features as { typescript?: unknown }).typescript);
  const dir = writeTree({ 'ts-plugin/index.ts': pluginSource('typed').replace('async run(params)', 'async run(params: { who?: string })') });
  test.runIf(!typescript)(`on Node ${process.version} (no type stripping) an index.ts says to compile it or use a newer Node`, async () => {
    await expect(loadRegistry({ builtin: false, dirs: [join(dir, 'ts-plugin')] })).rejects.toMatchObject({
      code: 'PLUGIN_LOAD_FAILED',
      message: expect.stringMatching(/is TypeScript, which Node v[\d.]+ cannot import: compile it to JavaScript \(tsc\).*Node 22\.18\+ \/ 23\.6\+/),
    });
  });
  test.runIf(typescript)(`on Node ${process.version} (type stripping) an index.ts loads`, async () => {
    const registry = await loadRegistry({ builtin: false, dirs: [join(dir, 'ts-plugin')] });
    expect(registry.stepNames()).toEqual(['typed.hello']);
  });
});
