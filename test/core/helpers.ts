// Shared helpers of the engine tests: the fixture registry, inline playbooks in temp folders.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRegistry } from '../../src/core/registry.js';
import type { Registry } from '../../src/core/registry.js';

/** Folder of the test fixtures. */
export const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

let cached: Promise<Registry> | undefined;

/** The registry of the two fixture plugins only (no package plugins, so tests do not depend on them). */
export function fixtureRegistry(): Promise<Registry> {
  cached ??= loadRegistry({ builtin: false, dirs: [join(fixtures, 'plugins')] });
  return cached;
}

/** Strip the common indentation of a template literal (inline YAML). */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce((out, s, i) => out + s + (i < values.length ? String(values[i]) : ''), '');
  const lines = text.replace(/^\n/, '').replace(/\n\s*$/, '\n').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** Write files into a fresh temp folder; returns the folder. */
export function writeTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-test-'));
  for (const [name, text] of Object.entries(files)) {
    const file = join(dir, name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return dir;
}
