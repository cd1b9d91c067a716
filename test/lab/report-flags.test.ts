// --pooltag, --localtag and --max-growth reach the reports of a lab run and of `leakhunt resume`
// (of a run directory and of a lab directory) as they reach a single run's: recorded with the
// run, used again on resume, and overridden by the flags given to resume.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { reportOptionsOf } from '../../src/cli/report-options.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');
const playbook = join(root, 'playbooks/rank-only.yaml');
const flags = ['--pooltag', 'test/fixtures/pooltag/pooltag.txt', '--localtag', 'test/fixtures/pooltag/localtag.txt', '--max-growth', '0'];
const leakhunt = (args: string[]) => execa(process.execPath, [cli, ...args], { reject: false, cwd: root, timeout: 120_000 });
const read = (file: string) => readFileSync(file, 'utf8');
// The owner localtag.txt/pooltag.txt give the simulator's "Abc " tag; no other source names it.
const owner = 'abcflt.sys';
const threshold = (dir: string) => /<property name="max-growth-bytes-per-minute" value="([^"]*)"/.exec(read(join(dir, 'junit.xml')))?.[1];

describe('report flags given to resume win over the recorded ones', () => {
  test('each flag on its own; --localtag as a whole', () => {
    const recorded = { pooltag: '/a/pooltag.txt', localtags: ['/a/local.txt'], maxGrowthBytesPerMinute: 0 };
    expect(reportOptionsOf({ localtag: [] }, recorded)).toEqual({ pooltag: '/a/pooltag.txt', localtags: ['/a/local.txt'], maxGrowthBytesPerMinute: 0 });
    expect(reportOptionsOf({ localtag: ['b.txt'], maxGrowth: '9' }, recorded)).toEqual({ pooltag: '/a/pooltag.txt', localtags: ['b.txt'], maxGrowthBytesPerMinute: 9 });
    expect(reportOptionsOf({ localtag: [] })).toEqual({ pooltag: undefined, localtags: [], maxGrowthBytesPerMinute: undefined });
    expect(() => reportOptionsOf({ localtag: [], maxGrowth: 'lots' }, recorded)).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});

describe.runIf(existsSync(cli)).concurrent('the report flags of lab runs and resume', () => {
  test('a lab run renders every target\'s reports and lab-junit.xml with them; resume <lab-dir> keeps them, --max-growth given again wins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leakhunt-lab-flags-'));
    const inventory = join(dir, 'lab.yaml');
    const labDir = join(dir, 'lab');
    // `later` cannot connect in the first run; its debugger is there when the lab is resumed.
    writeFileSync(inventory, `targets:\n  - { name: w7, target: "sim:win7-sp1-x64" }\n  - { name: later, target: "process:${process.execPath} -e process.exit(3)" }\n`);
    const first = await leakhunt(['run', playbook, '--inventory', inventory, '--out', labDir, ...flags]);
    expect(first.exitCode, first.stderr).toBe(1);
    const w7 = join(labDir, 'targets', 'w7');
    expect(read(join(w7, 'report.md'))).toContain(owner);
    expect(threshold(w7)).toBe('0');
    expect(read(join(labDir, 'lab-junit.xml'))).toContain(owner);

    writeFileSync(inventory, `targets:\n  - { name: w7, target: "sim:win7-sp1-x64" }\n  - { name: later, target: "sim:win7-sp1-x64" }\n`);
    const resumed = await leakhunt(['resume', labDir, '--max-growth', '9']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const later = join(labDir, 'targets', 'later');
    expect(read(join(later, 'report.md'))).toContain(owner);
    expect(threshold(later)).toBe('9');
    expect(JSON.parse(read(join(labDir, 'lab.json'))).reportOptions).toMatchObject({ maxGrowthBytesPerMinute: 9, pooltag: join(root, 'test/fixtures/pooltag/pooltag.txt') });
  }, 180_000);

  test('resume <run-dir> renders with the flags the run was given, and with those given to resume first', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'leakhunt-resume-flags-')), 'run');
    const run = await leakhunt(['run', playbook, '--target', 'sim:win7-sp1-x64', '--out', out, ...flags]);
    expect(run.exitCode, run.stderr).toBe(0);
    // Rendered again without the owners, as if the run had not been given the flags.
    const plain = await leakhunt(['report', out]);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(read(join(out, 'report.md'))).not.toContain(owner);
    const resumed = await leakhunt(['resume', out, '--max-growth', '9']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(read(join(out, 'report.md'))).toContain(owner);
    expect(threshold(out)).toBe('9');
    const bad = await leakhunt(['resume', out, '--max-growth', 'lots']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('error USAGE: Expected a number of bytes per minute for --max-growth, got "lots"');
  }, 180_000);
});
