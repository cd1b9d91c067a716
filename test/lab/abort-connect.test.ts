// A lab target whose `process:` console never prints a prompt does not hold the lab's Ctrl+C up
// for the connect timeout (60 s): the stop aborts the connect, the target is recorded aborted and
// the lab ends. Triggered by the console being up (it writes a file), not by time.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');

test.runIf(existsSync(cli))('Ctrl+C while a target\'s console has not prompted yet stops the lab at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-lab-hung-'));
  const started = join(dir, 'started');
  writeFileSync(join(dir, 'silent.cjs'), 'require("fs").writeFileSync(process.argv[2], ""); setInterval(() => {}, 1 << 30);\n');
  writeFileSync(join(dir, 'lab.yaml'), `targets:\n  - { name: hung, target: "process:${process.execPath} ${join(dir, 'silent.cjs')} ${started}" }\n`);
  const labDir = join(dir, 'lab');
  const lab = execa(process.execPath, [cli, 'run', 'playbooks/rank-only.yaml', '--inventory', join(dir, 'lab.yaml'), '--out', labDir], { reject: false, cwd: root });
  let ended = false;
  void lab.finally(() => (ended = true));
  while (!existsSync(started) && !ended) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(ended, 'the lab ended before the console was up').toBe(false);
  lab.kill('SIGINT');
  const result = await lab;
  expect(result.exitCode, result.stderr).toBe(1);
  expect(JSON.parse(readFileSync(join(labDir, 'targets', 'hung', 'lab-target.json'), 'utf8'))).toMatchObject({ status: 'aborted' });
  // Aborted, not timed out after 60 s.
  expect(result.stderr).toContain('error RUN_ABORTED: Run aborted (stopped while connecting, before the debugger answered)');
  expect(result.stderr).not.toContain('SESSION_TIMEOUT');
}, 45_000);
