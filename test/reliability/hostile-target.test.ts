// Hostile input from the other side: a target whose leaking driver names itself with kd commands
// and markup (test/fixtures/hostile/accepted/hostile-target.yaml: tag `<i>;`, functions
// `Alloc;.shell_calc`, `Dispatch;.kill`). The full hunt runs against it on the simulator: `<i>;` is a
// legal tag, hunted by its bytes; nothing the target shows becomes part of a kd command, cleanup leaves PoolHitTag as found, and the rendered
// report shows the tag as text, not markup.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { bin, ensureBuilt, hostile, leakhunt, root, stackTrace } from './corpus.js';
import type { CliResult } from './corpus.js';

const scenario = relative(root, join(hostile, 'accepted', 'hostile-target.yaml'));
const runDir = join(mkdtempSync(join(tmpdir(), 'leakhunt-hostile-target-')), 'run');
let run: CliResult;
let sent: string[];

beforeAll(async () => {
  ensureBuilt();
  expect(existsSync(bin)).toBe(true);
  run = await leakhunt(['run', 'playbooks/find-pool-leak.yaml', '--target', `sim:${scenario}`, '--out', runDir], { timeoutMs: 90_000 });
  const records = readFileSync(join(runDir, 'transcript.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { direction: string; command?: string });
  sent = records.filter((r) => r.direction === 'send' && typeof r.command === 'string').map((r) => r.command!);
}, 180_000);

describe('a hunt against a hostile target', () => {
  test('ranks the hostile tag and hunts it: PoolHitTag gets its bytes (a legal tag), no stack trace', () => {
    expect(run.timedOut).toBe(false);
    expect(sent).toContain('!poolused 4');
    expect(run.stdout).toContain('PoolHitTag = "<i>;"');
    expect(sent.some((command) => /^eb [0-9a-f`]+ 3c 69 3e 3b$/.test(command))).toBe(true);
    expect(run.stderr).not.toMatch(stackTrace);
  });

  test('no command sent carries the tag, a separator of its own or a kd meta-command the target named', () => {
    expect(sent.length).toBeGreaterThan(5);
    for (const command of sent) {
      expect(command).not.toContain('<i>');
      expect(command).not.toMatch(/\.shell|\.kill|\.create/);
      // `;` only in leakhunt's own compound commands (breakpoint and exception actions, the
      // count-down a go line sets for kd's event command).
      if (!/^(sxe|bp\d|bc) |^r @\$t1=0n\d+; g$/.test(command)) expect(command).not.toContain(';');
    }
  });

  test('cleanup ran and the simulator ended with PoolHitTag as found, nothing patched, running', () => {
    const state = JSON.parse(readFileSync(join(runDir, 'sim-state.json'), 'utf8')) as { poolHitTag: number; patchedBytes: unknown[]; halted: boolean };
    expect(state.poolHitTag).toBe(0xffffff0f);
    expect(state.patchedBytes).toEqual([]);
    expect(state.halted).toBe(false);
  });

  test('the rendered report shows the tag as text, never as markup', async () => {
    const rendered = await leakhunt(['report', runDir], { timeoutMs: 30_000 });
    expect(rendered.stderr).not.toMatch(stackTrace);
    const html = readFileSync(join(runDir, 'report.html'), 'utf8');
    expect(html).toContain('&lt;i&gt;;');
    expect(html).not.toContain('<i>;');
  }, 40_000);
});
