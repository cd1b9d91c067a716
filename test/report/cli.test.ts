import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { copyRun, fixture } from './helpers.js';

// Run the CLI and capture what it printed.
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  try {
    process.exitCode = undefined;
    const code = await main(['node', 'leakhunt', ...args]);
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = undefined;
  }
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('leakhunt report', () => {
  test('rebuilds the reports and prints the summary; --max-growth reaches junit.xml', async () => {
    const dir = copyRun('leak-run');
    const result = await cli('report', dir, '--pooltag', fixture('pooltag/pooltag.txt'), '--max-growth', '2000');
    expect(result.code).toBe(0);
    expect(result.out).toContain('Culprit: abcflt!AbcAllocateContext+0x2a');
    expect(result.out).toContain('abcflt.sys — Abc filter driver context blocks');
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(junit).toContain('<property name="max-growth-bytes-per-minute" value="2000"/>');
    expect(junit).toContain('failures="2"');
  });

  test('usage errors are coded, exit 2, no stack trace', async () => {
    const bad = await cli('report', copyRun('leak-run'), '--max-growth', '-5');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^error USAGE: Expected a number of bytes per minute for --max-growth, got "-5"/);
    const missing = await cli('report', fixture('pooltag'));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('error USAGE: No report.json in the run directory');
    expect(missing.err).not.toMatch(/\n\s+at /);
  });
});

describe('leakhunt analyze', () => {
  test('writes a run directory from a kd log, with owners from --localtag', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'leakhunt-cli-')), 'run');
    const result = await cli('analyze', fixture('analyze/manual-hunt-win7-x86.txt'), '--out', out, '--pooltag', fixture('pooltag/pooltag.txt'), '--localtag', fixture('pooltag/localtag.txt'));
    expect(result.code).toBe(0);
    expect(result.out.split('\n')[0]).toBe('Read 2 !poolused, 2 stops, 2 stack commands: 2 PoolHitTag stacks');
    for (const name of ['report.json', 'stacks.jsonl', 'report.md', 'report.html', 'junit.xml']) expect(existsSync(join(out, name))).toBe(true);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('team note: see bug 4711');
  });
});
