// The hostile corpus (test/fixtures/hostile): each file says what it must produce in its first
// line, `# expect: CODE at L:C; CODE at other/file:L:C; ...` (a trailing `...` allows more errors
// of the codes listed), or `# defect: <what happens instead>` for a known defect.
// Also: the built CLI, spawned or called in process, and generators for inputs too big to commit.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = fileURLToPath(new URL('../../', import.meta.url));
/** The corpus folder. */
export const hostile = join(root, 'test', 'fixtures', 'hostile');
/** The built CLI entry. */
export const bin = join(root, 'dist', 'src', 'cli', 'main.js');
/** The scripted kd stand-in. */
export const fakeKd = join(root, 'test', 'support', 'fake-kd.mjs');
/** The planted plugin folder. */
export const baitFolder = join(hostile, 'plugins', 'bait');

/** One expected error: its code, and where (file relative to the entry's folder, line, column). */
export interface Expected {
  code: string;
  file?: string;
  line: number;
  column: number;
}

/** One corpus file and what it must produce. */
export interface Entry {
  name: string;
  path: string;
  why: string;
  /** Expected errors, or undefined for a known defect. */
  expect?: Expected[];
  /** More errors of the listed codes may follow. */
  more: boolean;
  /** For a known defect: what happens instead of a rejection. */
  defect?: string;
}

// Parse `CODE at [file:]L:C` items of an expect line.
function parseExpect(text: string): { expect: Expected[]; more: boolean } {
  const items = text.split(';').map((item) => item.trim()).filter(Boolean);
  const more = items.at(-1) === '...';
  const expect = (more ? items.slice(0, -1) : items).map((item) => {
    const match = /^([A-Z_]+) at (?:(.+):)?(\d+):(\d+)$/.exec(item);
    if (!match) throw new Error(`bad expect item "${item}"`);
    return { code: match[1]!, ...(match[2] !== undefined && { file: match[2] }), line: Number(match[3]), column: Number(match[4]) };
  });
  return { expect, more };
}

/** Every corpus entry of one folder (`playbooks` or `scenarios`), sorted by name. */
export function corpus(folder: 'playbooks' | 'scenarios'): Entry[] {
  const dir = join(hostile, folder);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => {
      const path = join(dir, name);
      const lines = readFileSync(path, 'latin1').split('\n');
      const why = /^# why: (.*)$/.exec(lines[1] ?? '')?.[1] ?? '';
      const defect = /^# defect: (.*)$/.exec(lines[0] ?? '')?.[1];
      if (defect !== undefined) return { name, path, why, more: false, defect };
      const head = /^# expect: (.*)$/.exec(lines[0] ?? '');
      if (!head) throw new Error(`${name}: the first line must be "# expect: …" or "# defect: …"`);
      return { name, path, why, ...parseExpect(head[1]!) };
    });
}

/** `CODE at file:L:C` for comparing reported errors with expected ones. */
export function describeAt(code: string, file: string, line: number, column: number): string {
  return `${code} at ${file}:${line}:${column}`;
}

// Newest modification time under a folder.
function newest(dir: string): number {
  let latest = 0;
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    latest = Math.max(latest, item.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Build dist/ when it is missing or older than the sources the CLI runs (tsc emits despite type errors elsewhere). */
export function ensureBuilt(): void {
  const fresh = () => existsSync(bin) && statSync(bin).mtimeMs >= Math.max(...['src', 'plugins'].map((dir) => newest(join(root, dir))));
  if (fresh()) return;
  // Test files run in parallel: one builds, the others wait for its lock to go.
  const lock = join(tmpdir(), 'leakhunt-reliability-build.lock');
  try {
    if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
    mkdirSync(lock);
  } catch {
    const until = Date.now() + 300_000;
    while (existsSync(lock) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    return;
  }
  try {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  } catch {
    // checked by the caller through existsSync(bin)
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** What a spawned CLI did. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** Spawn the built CLI; kills it (and says so) after `timeoutMs`. */
export function leakhunt(args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? root, env: { ...process.env, NO_COLOR: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started, timedOut });
    });
  });
}

/** A stack trace or Node internals in user-facing output. */
export const stackTrace = /^\s+at .+[:(]\d+|node:internal|internal error/m;

/** A playbook of about `bytes` bytes: a long description, then a misspelt `aways:` on its last line. */
export function hugePlaybook(bytes: number): { text: string; line: number } {
  const row = `  ${'leak '.repeat(15)}\n`;
  const rows = Math.ceil(bytes / row.length);
  const text = `name: huge\ndescription: |\n${row.repeat(rows)}steps:\n  - uses: symbols.reload\naways:\n  - uses: memory.restore\n`;
  return { text, line: rows + 5 };
}

/** A playbook of `count` valid steps whose last step has a five-character tag (line of that tag returned). */
export function manyStepsPlaybook(count: number): { text: string; line: number } {
  const step = (i: number) => `  - id: s${i}\n    uses: pool.hit-tag\n    with:\n      action: verify\n      tag: T${i % 1000}\n`;
  let text = 'name: many\nsteps:\n';
  for (let i = 0; i < count; i++) text += step(i);
  text += '  - id: last\n    uses: pool.hit-tag\n    with:\n      action: set\n      tag: Abcde\n';
  return { text, line: 2 + count * 5 + 5 };
}

/** A playbook whose `with:` nests `depth` flow sequences on line 5. */
export function deepPlaybook(depth: number): string {
  return `name: deep\nsteps:\n  - uses: symbols.reload\n    with:\n      modules: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
}

/** A scenario whose description nests `depth` flow mappings on line 2. */
export function deepScenario(depth: number): string {
  return `profile: winxp-sp3-x86\ndescription: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`;
}

/** A scenario of about `bytes` bytes (a long description) with a five-character tag on its last line. */
export function hugeScenario(bytes: number): { text: string; line: number } {
  const row = `  ${'leak '.repeat(15)}\n`;
  const rows = Math.ceil(bytes / row.length);
  const text = `profile: winxp-sp3-x86\ndescription: |\n${row.repeat(rows)}background:\n  - { pool: paged, bytes: 10, allocs: 1, tag: Abcde }\n`;
  return { text, line: rows + 4 };
}
