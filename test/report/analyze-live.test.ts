// One classification: `leakhunt analyze` of a live run's transcript.jsonl, and of the same session
// typed by hand (g, kb, g, kb…), classify and attribute every stack as the live hunt did.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { analyzeKdLog, analyzeToRunDir, type Analysis } from '../../src/report/analyze.js';
import { tagOptions } from './helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');

interface LiveLine {
  hit: number;
  operation: string;
  site: string | null;
  culprit?: string;
  frames: string[];
  address?: string | null;
  size?: number | null;
}

// What must agree between the live hunt and the analysis of one stack.
const classified = (operation: string, site: string | null | undefined, culprit: string | undefined, frames: readonly string[]) => JSON.stringify([operation, site ?? null, culprit ?? null, frames]);
const liveKey = (line: LiveLine) => classified(line.operation, line.site, line.culprit, line.frames);
const analyzedKey = (stack: Analysis['stacks'][number]) =>
  classified(stack.kind, stack.site?.frame, stack.culprit && stack.site && stack.culprit.index !== stack.site.index ? stack.culprit.frame : undefined, stack.frames);

// Pair each live stack (in hit order) with the analysed stack of the same stop: the live hunt's
// stacks are the analysis' in the same order, minus the allocations it did not sample while it
// only paired frees. Throws on the first live stack that finds no partner.
function align<T>(live: readonly LiveLine[], analyzed: readonly T[], keyOf: (stack: T) => string): [LiveLine, T][] {
  const pairs: [LiveLine, T][] = [];
  let next = 0;
  for (const line of live) {
    while (next < analyzed.length && keyOf(analyzed[next]!) !== liveKey(line)) next++;
    if (next >= analyzed.length) throw new Error(`live stack of hit ${line.hit} (${liveKey(line)}) has no partner in the analysis`);
    pairs.push([line, analyzed[next++]!]);
  }
  return pairs;
}

// The session a person would have saved with .logopen: each stop, then `kb` typed and its stack;
// the hunt's own breakpoints and event commands are not typed, so their lines are not there (a
// break entry holds every stop kd ran past by itself before the one it halted at: one `g` each).
function manualSession(transcript: string): string {
  const out: string[] = [];
  const typed = (lines: string[]): void => {
    const header = lines.findIndex((line) => /^\s*#\s+(?:RetAddr|Child)/.test(line));
    out.push('kd> g');
    if (header < 0) out.push(...lines);
    else out.push(...lines.slice(0, header), 'kd> kb', ...lines.slice(header));
  };
  for (const text of transcript.split('\n')) {
    if (!text.trim()) continue;
    const value = JSON.parse(text) as Record<string, string>;
    if (value.event === 'banner') out.push(value.output!);
    else if (value.direction === 'receive' && value.event === 'command') out.push(`kd> ${value.command}`, ...(value.output ? [value.output] : []));
    else if (value.direction === 'receive' && value.event === 'break') {
      const lines = value.output!.split('\n');
      const starts = lines.flatMap((line, index) => (line.startsWith('Break instruction exception') ? [index] : []));
      if (starts.length === 0) typed(lines.slice(-1));
      starts.forEach((start, index) => {
        const stop = lines.slice(start, starts[index + 1] ?? lines.length);
        const ownBreakpoint = stop.findIndex((line) => /^Breakpoint \d+ hit$/.test(line));
        typed(ownBreakpoint < 0 ? stop : stop.slice(0, ownBreakpoint));
      });
    }
  }
  return out.join('\n');
}

describe.runIf(existsSync(cli))('analyze of a live hunt\'s session classifies as the hunt did (Windows 7 x64, BBT chunk break)', () => {
  let run: string;
  let live: LiveLine[];

  beforeAll(async () => {
    run = mkdtempSync(join(tmpdir(), 'leakhunt-analyze-live-'));
    const args = ['run', join(root, 'playbooks/collect-stacks.yaml'), '--out', run, '--target', `sim:${join(root, 'scenarios/win7-x64-leak.yaml')}`, '--input', 'tag=Lea2', '--input', 'count=30'];
    const result = await execa(process.execPath, [cli, ...args], { reject: false, cwd: root, timeout: 120_000 });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    live = readFileSync(join(run, 'stacks.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as LiveLine);
    live.sort((a, b) => a.hit - b.hit);
  }, 150_000);

  test('the run\'s transcript.jsonl: every live stack, in order, with its operation, site, culprit, frames, block and size', async () => {
    const out = mkdtempSync(join(tmpdir(), 'leakhunt-analyze-live-out-'));
    const { analysis } = await analyzeToRunDir(join(run, 'transcript.jsonl'), out, tagOptions);
    expect(live.length).toBeGreaterThanOrEqual(30);
    expect(live.some((line) => line.frames[0]!.startsWith('nt! ?? ::FNODOBFM::'))).toBe(true);
    // The analysis' stacks.jsonl, in the order of the log (the stop's line).
    const analyzed = readFileSync(join(out, 'stacks.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as LiveLine & { line: number; tag: string });
    analyzed.sort((a, b) => a.line - b.line);
    const pairs = align(live, analyzed, liveKey);
    expect(pairs).toHaveLength(live.length);
    for (const [line, stack] of pairs) {
      expect(stack.tag).toBe('Lea2');
      if (line.address) expect(stack.address).toBe(line.address);
      if (typeof line.size === 'number') expect(stack.size).toBe(line.size);
    }
    // Addresses came from the hunt's per-site breakpoints, so frees pair with allocations.
    expect(analysis.report.sites.every((site) => site.method === 'pairing')).toBe(true);
    expect(analysis.report.sites.map((site) => site.frame)).toContain('leakdrv!LeakAllocateEntry+0x1e');
    expect(analysis.report.sites.every((site) => !site.frame.includes('FNODOBFM'))).toBe(true);
  });

  test('the same session typed by hand (g, kb): the same classification of every live stack; frees keep their blocks', () => {
    const analysis = analyzeKdLog(manualSession(readFileSync(join(run, 'transcript.jsonl'), 'utf8')), 'manual');
    expect(analysis.counts.stack).toBeGreaterThanOrEqual(live.length);
    const pairs = align(live, [...analysis.stacks].sort((a, b) => a.line - b.line), analyzedKey);
    expect(pairs).toHaveLength(live.length);
    for (const [line, stack] of pairs) {
      if (line.operation === 'free' && line.address) expect(stack.address).toBe(line.address);
      if (line.operation === 'alloc') expect(stack.address).toBeUndefined();
    }
    expect(analysis.report.target.os).toMatchObject({ version: '6.1.7601', arch: 'x64' });
  });

  test('a JSON-lines file that is not a transcript is refused, saying what to pass', async () => {
    const out = mkdtempSync(join(tmpdir(), 'leakhunt-analyze-live-out-'));
    await expect(analyzeToRunDir(join(run, 'stacks.jsonl'), out, tagOptions)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/is not a run's transcript\.jsonl/) });
    const empty = join(out, 'events.jsonl');
    writeFileSync(empty, '{"event":"runStart"}\n');
    await expect(analyzeToRunDir(empty, join(out, 'x'), tagOptions)).rejects.toMatchObject({ code: 'USAGE' });
  });
});
