// The package's public surface as another package sees it (self-reference through `exports`):
// the three entry points load from dist, and nothing outside `exports` can be imported.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

// Run an ES module snippet in a fresh Node inside the package; returns what it printed as JSON.
function inPackage(source: string): unknown {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', source], { cwd: root, encoding: 'utf8' });
  return JSON.parse(out);
}

describe('package exports', () => {
  test('leakhunt/plugin, leakhunt/kd and leakhunt load and offer their API', () => {
    const names = inPackage(`
      const plugin = await import('leakhunt/plugin');
      const kd = await import('leakhunt/kd');
      const engine = await import('leakhunt');
      console.log(JSON.stringify({ plugin: Object.keys(plugin).sort(), kd: Object.keys(kd).sort(), engine: Object.keys(engine).sort() }));
    `) as Record<string, string[]>;
    expect(names.plugin).toEqual(expect.arrayContaining(['definePlugin', 'defineProvider', 'isKdCommandError', 'isPlaybookError', 'poolTagsUnavailable']));
    expect(names.kd).toEqual(expect.arrayContaining(['parsePoolused', 'parseStack', 'parseMemory', 'parseKdError', 'parseKind', 'KdParseError', 'kindForCommand']));
    expect(names.engine).toEqual(expect.arrayContaining(['loadPlugins', 'validatePlaybook', 'planPlaybook', 'formatError', 'isPlaybookError']));
  });

  test('a module outside exports is refused; the playbooks and schemas resolve', () => {
    const result = inPackage(`
      const refused = await import('leakhunt/dist/src/core/run.js').then(() => 'loaded', (e) => e.code);
      console.log(JSON.stringify({ refused, playbook: import.meta.resolve('leakhunt/playbooks/find-pool-leak.yaml'), schema: import.meta.resolve('leakhunt/schemas/playbook.schema.json') }));
    `) as Record<string, string>;
    expect(result.refused).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    expect(result.playbook).toMatch(/\/playbooks\/find-pool-leak\.yaml$/);
    expect(result.schema).toMatch(/\/schemas\/playbook\.schema\.json$/);
  });
});
