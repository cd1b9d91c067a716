// Every example `--help` prints works as printed: the ones that need no target or run directory
// (validate, plan, plugins, schema) are run and must succeed; every `--input key=value` of a run
// example must name an input its playbook declares.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { commands } from '../../src/cli/main.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const leakhunt = (...args: string[]) => execa(process.execPath, [cli, ...args], { cwd: root, reject: false, env: { NO_COLOR: '1' } });

// The `$ leakhunt …` lines of a help text, without their trailing comments (two or more spaces).
function examples(help: string): string[][] {
  return help
    .split('\n')
    .map((line) => /^\s*\$ leakhunt (.*)$/.exec(line)?.[1])
    .filter((line): line is string => line !== undefined)
    .map((line) => line.split(/ {2,}/)[0]!.trim().split(' '));
}

describe.runIf(existsSync(cli))('help examples work as printed', () => {
  test('each offline example exits 0; each run example names inputs its playbook has', async () => {
    const helps = await Promise.all(['', ...commands.map((c) => c.name)].map(async (name) => (await leakhunt(...(name ? [name] : []), '--help')).stdout));
    const all = helps.flatMap(examples);
    expect(all.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const words of all) {
      const [command, ...rest] = words;
      // Placeholders for a user's own folders and shell redirections are not run.
      const offline = ['validate', 'plan', 'plugins', 'schema'].includes(command!) && !words.some((word) => word.startsWith('./') || word === '>');
      if (offline) {
        const args = [command!, ...rest.flatMap((word) => (word === 'playbooks/*.yaml' ? ['playbooks/find-pool-leak.yaml', 'playbooks/rank-only.yaml'] : [word]))];
        const r = await leakhunt(...args);
        if (r.exitCode !== 0) problems.push(`leakhunt ${words.join(' ')}: exit ${r.exitCode}: ${r.stderr.slice(0, 300)}`);
      }
      if (command === 'run') {
        const playbook = rest[0]!;
        const declared = Object.keys((parse(readFileSync(join(root, playbook), 'utf8')) as { inputs?: object }).inputs ?? {});
        rest.forEach((word, i) => {
          if (rest[i - 1] !== '--input') return;
          const key = word.split('=')[0]!;
          if (!declared.includes(key)) problems.push(`leakhunt ${words.join(' ')}: ${playbook} has no input "${key}"`);
        });
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);
});
