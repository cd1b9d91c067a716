// Every example a user is shown works as printed: the `$ leakhunt …` lines of every `--help`, and
// every command in README.md (its code blocks, and inline commands with arguments and no
// placeholder). One mechanism for both: each example runs through `sh` exactly as printed (quotes,
// `<` and `>` included), with `leakhunt` (and `npx leakhunt`, the same bin) on PATH, in a folder
// of its own holding the playbooks and scenarios and the files an example presupposes the user
// has (a scenario `my.yaml`, the README's `lab.yaml` and `my-hunt.yaml`, saved kd output copied
// from the real transcripts in test/fixtures/kd, a pooltag.txt). It must exit 0.
//
// Examples that need what no test machine has — a real kd.exe and target, a lab of real targets,
// a plugin or run directory of the user's own — are checked for usage only: the shell splits the
// line, commander parses it with every command's real options and no action run, and a run's
// `--input`s must be ones its playbook declares. USAGE_ONLY below says which and why.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { execa } from 'execa';
import { parse } from 'yaml';
import { afterAll, describe, expect, test } from 'vitest';
import { buildProgram, commands } from '../../src/cli/main.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const leakhunt = (...args: string[]) => execa(process.execPath, [cli, ...args], { cwd: root, reject: false, env: { NO_COLOR: '1' } });

/** One example: the command as printed (without `$ `, `npx ` and its comment), and where it is shown. */
interface Example {
  command: string;
  /** Examples of one group run in order in one folder (a README code block builds on its own lines). */
  group: string;
}

/** Examples checked for usage only, and why they cannot run here. */
const USAGE_ONLY: readonly { pattern: RegExp; why: string }[] = [
  { pattern: /\bkd:/, why: 'needs kd.exe and a real target' },
  { pattern: /--inventory lab\.yaml/, why: "lab.yaml's targets are real kd targets" },
  { pattern: /--inventory scenarios\/lab-all-versions\.yaml/, why: 'thirteen simulated hunts, minutes of machine time: npm run test:lab runs that lab' },
  { pattern: /\.\/my-plugins?\b|--plugins leakhunt-plugin-snapshot/, why: "a plugin of the user's own" },
  { pattern: /\bruns\/\d|artifacts\/|C:\\/, why: "a run directory or a saved log of the user's own" },
];

// The `$ leakhunt …` lines of a help text, without their trailing comments (two or more spaces).
function helpExamples(help: string, group: string): Example[] {
  return help
    .split('\n')
    .map((line) => /^\s*\$ leakhunt (.*)$/.exec(line)?.[1])
    .filter((line): line is string => line !== undefined)
    .map((line) => ({ command: `leakhunt ${line.split(/ {2,}/)[0]!.trim()}`, group }));
}

// The commands of README.md: in code blocks (continued lines joined, `# comments` and a second
// example set beside the first after `  $ …` removed), and inline `leakhunt …` spans that have
// arguments and no placeholder (`<run-dir>`, `…`, `${{ }}`).
function readmeExamples(markdown: string): Example[] {
  const examples: Example[] = [];
  let block: number | undefined;
  let blocks = 0;
  let pending = '';
  for (const line of markdown.split('\n')) {
    if (/^```/.test(line)) {
      block = block === undefined ? ++blocks : undefined;
      continue;
    }
    if (block === undefined) {
      for (const match of line.matchAll(/`((?:npx )?leakhunt [^`]+)`/g)) {
        const command = match[1]!.replace(/^npx /, '');
        if (!/[<…[]|\$\{\{/.test(command) && command.split(' ').length >= 3) examples.push({ command, group: `README inline: ${command}` });
      }
      continue;
    }
    const joined = pending + line;
    if (joined.endsWith('\\')) {
      pending = `${joined.slice(0, -1).trimEnd()} `;
      continue;
    }
    pending = '';
    const text = joined.replace(/\s{2,}\$ .*$/, '').replace(/\s+#\s.*$/, '');
    for (const part of text.split('&&')) {
      const command = /^\s*(?:\$ )?(?:npx )?(leakhunt .*)$/.exec(part)?.[1];
      if (command) examples.push({ command: command.trim().replace(/ {2,}/g, ' '), group: `README block ${block}` });
    }
  }
  return examples;
}

// The text of the README code block that opens with `first` (its first line).
function readmeBlock(markdown: string, first: RegExp): string {
  const blocks = markdown.split(/^```[a-z]*\n/m).filter((_, index) => index % 2 === 1);
  const found = blocks.find((text) => first.test(text.split('\n')[0]!));
  if (!found) throw new Error(`README.md has no code block starting ${first}`);
  return found.split(/^```/m)[0]!;
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const sandboxes = mkdtempSync(join(tmpdir(), 'leakhunt-examples-'));
afterAll(() => rmSync(sandboxes, { recursive: true, force: true }));

// A folder to run examples in: the repository's playbooks and scenarios, the files the examples
// name as the user's own, and `leakhunt` on PATH (`bin/leakhunt`; `argv` mode prints its
// arguments as JSON instead of running, for the usage check).
function sandbox(name: string): string {
  const dir = join(sandboxes, name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60));
  mkdirSync(join(dir, 'bin'), { recursive: true });
  for (const folder of ['playbooks', 'scenarios', 'schemas']) symlinkSync(join(root, folder), join(dir, folder));
  const kd = (name: string) => join(root, 'test/fixtures/kd', name);
  copyFileSync(kd('poolused-win10-x64-2.txt'), join(dir, 'saved-poolused.txt'));
  copyFileSync(kd('poolused-win10-x64-2.txt'), join(dir, 'poolused.txt'));
  copyFileSync(kd('kb-win7-x86-1.txt'), join(dir, 'kb.txt'));
  copyFileSync(kd('vertarget-winxp-x86-1.txt'), join(dir, 'vertarget.txt'));
  copyFileSync(kd('bphit-win7-x64-1.txt'), join(dir, 'session.log'));
  copyFileSync(join(root, 'scenarios/default.yaml'), join(dir, 'my.yaml'));
  writeFileSync(join(dir, 'lab.yaml'), readmeBlock(readme, /^# lab\.yaml/));
  writeFileSync(join(dir, 'my-hunt.yaml'), readmeBlock(readme, /^# yaml-language-server/));
  for (const [folder, file] of [['triage', 'pooltag.txt'], ['team', 'localtag.txt']] as const) {
    mkdirSync(join(dir, folder), { recursive: true });
    copyFileSync(join(root, 'test/fixtures/pooltag', file), join(dir, folder, file));
  }
  const q = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  // The arguments go to the file $EXAMPLE_ARGV names (an example may redirect standard output).
  const record = `require('fs').writeFileSync(process.env.EXAMPLE_ARGV, JSON.stringify(process.argv.slice(1)))`;
  writeFileSync(join(dir, 'bin/leakhunt'), `#!/bin/sh\nif [ -n "$EXAMPLE_ARGV" ]; then exec ${q(process.execPath)} -e ${q(record)} -- "$@"; fi\nexec ${q(process.execPath)} ${q(cli)} "$@"\n`, { mode: 0o755 });
  return dir;
}

// Run one example line in a folder through sh; `argv` only prints how the shell split it.
function shell(command: string, dir: string, argv = false) {
  return execa('sh', ['-c', command], {
    cwd: dir,
    reject: false,
    input: 'q\n',
    timeout: 180_000,
    env: { PATH: `${join(dir, 'bin')}:${process.env['PATH']}`, NO_COLOR: '1', ...(argv && { EXAMPLE_ARGV: join(dir, 'argv.json') }) },
  });
}

// Parse argv with commander, every command registered with its real options and no action run.
async function usageProblem(args: string[]): Promise<string | undefined> {
  const argv = ['node', 'leakhunt', ...args];
  const program = await buildProgram(argv, 'all');
  const quiet = (command: Command) => {
    command.action(() => undefined);
    command.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    command.commands.forEach(quiet);
  };
  program.commands.forEach(quiet);
  program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  try {
    await program.parseAsync(argv);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

// Every `--input key=value` of a run example names an input its playbook declares.
function inputProblems(args: string[], dir: string): string[] {
  if (args[0] !== 'run') return [];
  const playbook = join(dir, args[1]!);
  if (!existsSync(playbook)) return [`${args[1]} does not exist`];
  const declared = Object.keys((parse(readFileSync(playbook, 'utf8')) as { inputs?: object }).inputs ?? {});
  return args.flatMap((word, i) => (args[i - 1] === '--input' && !declared.includes(word.split('=')[0]!) ? [`${args[1]} has no input "${word.split('=')[0]}"`] : []));
}

/** Check one group's examples in order; the problems found. */
async function checkGroup(group: string, examples: readonly Example[]): Promise<string[]> {
  const dir = sandbox(group);
  const problems: string[] = [];
  for (const { command } of examples) {
    const where = `${group}: ${command}`;
    const split = await shell(command, dir, true);
    if (split.exitCode !== 0) {
      problems.push(`${where}: the shell cannot run it: ${split.stderr}`);
      continue;
    }
    const args = JSON.parse(readFileSync(join(dir, 'argv.json'), 'utf8')) as string[];
    const usage = await usageProblem(args);
    if (usage) problems.push(`${where}: usage error: ${usage}`);
    problems.push(...inputProblems(args, dir).map((problem) => `${where}: ${problem}`));
    if (usage || USAGE_ONLY.some(({ pattern }) => pattern.test(command))) continue;
    const result = await shell(command, dir);
    if (result.exitCode !== 0) problems.push(`${where}: exit ${result.exitCode}${result.timedOut ? ' (timed out)' : ''}: ${String(result.stderr).slice(-600)}`);
  }
  return problems;
}

describe.runIf(existsSync(cli))('examples work as printed', () => {
  test('every --help example and every README.md command: run (exit 0), or usage-checked where it needs a real kd', async () => {
    const helps = await Promise.all(['', ...commands.map((c) => c.name)].map(async (name) => ({ name, text: (await leakhunt(...(name ? [name] : []), '--help')).stdout })));
    const all = [...helps.flatMap(({ name, text }) => helpExamples(text, `help ${name || 'leakhunt'}`)), ...readmeExamples(readme)];
    // The same command shown twice runs once (the first time it is shown).
    const seen = new Set<string>();
    const examples = all.filter(({ command }) => !seen.has(command) && seen.add(command));
    expect(examples.length).toBeGreaterThan(40);
    expect(examples.some(({ group }) => group.startsWith('README'))).toBe(true);
    const groups = [...examples.reduce((map, example) => map.set(example.group, [...(map.get(example.group) ?? []), example]), new Map<string, Example[]>())];
    const problems: string[] = [];
    // Two groups at a time: most examples are quick, a few are whole hunts on the simulator.
    let next = 0;
    const worker = async () => {
      while (next < groups.length) {
        const [group, members] = groups[next++]!;
        problems.push(...(await checkGroup(group, members)));
      }
    };
    await Promise.all([worker(), worker()]);
    expect(problems).toEqual([]);
    // What was only usage-checked, and why, is stated here, not hidden.
    const usageOnly = examples.filter(({ command }) => USAGE_ONLY.some(({ pattern }) => pattern.test(command)));
    expect(usageOnly.length).toBeLessThan(examples.length / 2);
  }, 600_000);
});
