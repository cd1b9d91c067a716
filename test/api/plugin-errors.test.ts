// Plugin error codes: every code a built-in plugin fails with is declared with a remedy, every
// declaration is used, docs/plugin-errors.md is what the declarations generate, and the registry
// refuses declarations without a remedy.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { definePlugin, defineProvider } from '../../src/api/plugin.js';
import { renderPluginErrorsMarkdown } from '../../src/core/plugin-errors.js';
import { errorCodes } from '../../src/core/errors.js';
import { createRegistry, loadRegistry } from '../../src/core/registry.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

// Every quoted UPPER_SNAKE literal in a plugin folder's sources: the codes its providers fail with.
function codesUsedIn(dir: string): Set<string> {
  const codes = new Set<string>();
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.ts'))) {
    for (const match of readFileSync(join(dir, name), 'utf8').matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)) codes.add(match[1]!);
  }
  return codes;
}

describe('built-in plugin error codes', async () => {
  const registry = await loadRegistry({});
  test.each(registry.plugins.map(({ plugin }) => [plugin.name, plugin] as const))('%s declares exactly the codes it fails with', (name, plugin) => {
    const used = [...codesUsedIn(join(root, 'plugins', name))].sort();
    expect(Object.keys(plugin.errors ?? {}).sort()).toEqual(used);
  });

  test('docs/plugin-errors.md is generated from the declarations (npm run docs:plugin-errors)', () => {
    const doc = readFileSync(join(root, 'docs', 'plugin-errors.md'), 'utf8');
    expect(doc).toBe(`${renderPluginErrorsMarkdown(registry.plugins)}\n`);
    expect(doc).toContain('| `pool/NO_FREE_TAGS` |');
  });
});

describe('error declarations the registry refuses', () => {
  const step = defineProvider({ uses: 'x.step', id: 'one', description: 'd', with: { type: 'object', additionalProperties: false }, outputs: {}, run: async () => ({ status: 'ok' }) });
  test.each([
    ['a lower-case code', { bad_code: { description: 'd', remedy: 'r' } }, /UPPER_SNAKE_CASE/],
    ['a code without a remedy', { NO_REMEDY: { description: 'd', remedy: '' } }, /needs a remedy/],
    ['a code without a description', { NO_TEXT: { remedy: 'r' } }, /needs a description/],
    ['an array', [], /errors must be an object/],
  ])('%s', (_name, errors, message) => {
    const plugin = definePlugin({ name: 'x', steps: [step], errors: errors as never });
    expect(() => createRegistry([{ plugin, source: 'inline' }])).toThrow(expect.objectContaining({ code: 'PLUGIN_LOAD_FAILED', message: expect.stringMatching(message) }));
  });
});

describe('engine error codes', () => {
  test('docs/errors.md has one row for every code the engine reports (ctx.kd\'s included), and none more', () => {
    const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]!);
    expect(rows).toEqual(Object.keys(errorCodes));
  });
});
