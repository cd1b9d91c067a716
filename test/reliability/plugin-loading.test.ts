// Issue 7 §3: plugins load only from the package and from folders the user names on the command
// line (--plugins) — never because a shared playbook says so. The planted plugin
// (test/fixtures/hostile/plugins/bait) writes a marker file when imported; the positive control
// proves it does, every other test proves no playbook makes it happen.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadRegistry } from '../../src/core/registry.js';
import { baitFolder, bin, corpus, ensureBuilt, hostile, leakhunt, root, stackTrace } from './corpus.js';

const scratch = mkdtempSync(join(tmpdir(), 'leakhunt-bait-'));
let markers = 0;
const freshMarker = () => join(scratch, `marker-${++markers}.txt`);

// Playbooks of the corpus that name the planted plugin (by path or by its step).
const naming = corpus('playbooks')
  .filter((entry) => /^plugin-|^include-plugin-code/.test(entry.name))
  .map((entry) => relative(root, entry.path));
const accepted = relative(root, join(hostile, 'accepted', 'names-a-plugin.yaml'));

afterEach(() => {
  delete process.env.LEAKHUNT_BAIT_MARKER;
  process.exitCode = undefined;
});

describe('the planted plugin', () => {
  beforeAll(() => {
    ensureBuilt();
    expect(existsSync(bin)).toBe(true);
  }, 180_000);

  test('positive control: loaded with --plugins, it writes its marker and offers bait.steal', async () => {
    const marker = freshMarker();
    const result = await leakhunt(['plugins', '--plugins', relative(root, baitFolder)], { env: { LEAKHUNT_BAIT_MARKER: marker } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('bait.steal');
    expect(readFileSync(marker, 'utf8')).toMatch(/^bait imported by pid \d+/);
  }, 30_000);

  test('the corpus names it in at least four ways', () => {
    expect(naming.length).toBeGreaterThanOrEqual(4);
  });

  test('leakhunt validate on every playbook naming it: rejected, and it is never imported', async () => {
    const marker = freshMarker();
    const result = await leakhunt(['validate', ...naming], { env: { LEAKHUNT_BAIT_MARKER: marker } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('UNKNOWN_STEP: Unknown step "bait.steal"');
    expect(result.stderr).not.toMatch(stackTrace);
    expect(existsSync(marker)).toBe(false);
  }, 30_000);

  test('a valid playbook naming it in $schema, description, inputs, env (NODE_OPTIONS) and parameters runs on the simulator without loading it', async () => {
    const marker = freshMarker();
    const runDir = mkdtempSync(join(scratch, 'run-'));
    const result = await leakhunt(['run', accepted, '--target', 'sim:', '--out', runDir], { env: { LEAKHUNT_BAIT_MARKER: marker }, timeoutMs: 60_000 });
    expect(result.timedOut).toBe(false);
    expect(result.stderr).not.toMatch(stackTrace);
    expect(result.code).toBe(0);
    // The run reached the simulator (a node process that NODE_OPTIONS would have affected).
    expect(readFileSync(join(runDir, 'transcript.jsonl'), 'utf8')).toContain('.reload /f');
    expect(existsSync(marker)).toBe(false);
  }, 90_000);
});

describe('in process', () => {
  test('leakhunt validate and run on playbooks naming it never import it into this process', async () => {
    const marker = freshMarker();
    process.env.LEAKHUNT_BAIT_MARKER = marker;
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main(['node', 'leakhunt', 'validate', ...naming, accepted])).toBe(2);
      for (const file of naming) expect(await main(['node', 'leakhunt', 'run', file, '--target', 'replay:none.jsonl', '--out', join(scratch, 'none')])).toBe(2);
    } finally {
      spy.mockRestore();
      out.mockRestore();
    }
    expect(existsSync(marker)).toBe(false);
  });

  test('the default registry holds only the package\'s own plugins, from its plugins/ folder', async () => {
    const registry = await loadRegistry();
    expect(registry.plugins.length).toBeGreaterThan(0);
    for (const { source, plugin } of registry.plugins) {
      expect(relative(join(root, 'plugins'), source).startsWith('..'), `${plugin.name} from ${source}`).toBe(false);
    }
    expect(registry.plugins.map((p) => p.plugin.name)).not.toContain('bait');
  });
});
