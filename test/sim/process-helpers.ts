/**
 * Spawn `leakhunt sim` / `leakhunt sim-host` as real child processes for the process-mode tests.
 * The command modules (and everything they import) are compiled once with tsc into a cache
 * folder inside the repository, so node resolves the dependencies from its node_modules.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(REPO, 'node_modules', '.cache', 'leakhunt-sim-process-test');
const ENTRY = join(OUT, 'entry.mjs');

/** The compiled entry `buildSimCli` writes (node runs it as `leakhunt`). */
export const SIM_ENTRY = ENTRY;

/** Compile the sim command modules and write a small CLI entry that registers them. */
export function buildSimCli(): void {
  mkdirSync(OUT, { recursive: true });
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [
      tsc, '--outDir', OUT, '--rootDir', REPO, '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022',
      '--esModuleInterop', '--skipLibCheck', '--resolveJsonModule', '--types', 'node',
      join(REPO, 'src', 'cli', 'commands', 'sim.ts'), join(REPO, 'src', 'cli', 'commands', 'sim-host.ts'),
    ], { cwd: REPO, stdio: 'pipe' });
  } catch (error) {
    // tsc exits non-zero on type errors elsewhere in the import graph but still emits JavaScript.
    if (!existsSync(join(OUT, 'src', 'cli', 'commands', 'sim.js'))) throw error;
  }
  writeFileSync(ENTRY, [
    "import { Command } from 'commander';",
    "import * as sim from './src/cli/commands/sim.js';",
    "import * as simHost from './src/cli/commands/sim-host.js';",
    "const program = new Command('leakhunt');",
    'sim.register(program);',
    'simHost.register(program);',
    'await program.parseAsync(process.argv);',
    '',
  ].join('\n'));
}

/** A running simulator child with its collected output. */
export interface SimChild {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  output(): string;
  /** Resolve when stdout (from `from` on) matches; reject after the timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  send(text: string): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawn `leakhunt <args>` from the compiled entry. */
export function spawnLeakhunt(args: readonly string[]): SimChild {
  const child = spawn(process.execPath, [ENTRY, ...args], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
    for (const waiter of [...waiters]) waiter();
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      for (const waiter of [...waiters]) waiter();
      resolve({ code, signal });
    });
  });
  return {
    child,
    output: () => stdout,
    send: (text) => child.stdin!.write(text),
    exited,
    waitFor(pattern, timeoutMs = 15_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stdout.slice(from));
          if (match) {
            waiters.splice(waiters.indexOf(check), 1);
            clearTimeout(timer);
            resolve(match[0]);
          } else if (child.exitCode !== null) {
            waiters.splice(waiters.indexOf(check), 1);
            clearTimeout(timer);
            reject(new Error(`exited (${child.exitCode}) before ${pattern}; stdout:\n${stdout.slice(-2000)}\nstderr:\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`timed out waiting for ${pattern}; stdout tail:\n${stdout.slice(-2000)}\nstderr:\n${stderr}`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
  };
}
