import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { analyzeKdLog, analyzeToRunDir } from '../../src/report/analyze.js';
import { fixture, tagOptions } from './helpers.js';

const log = fixture('analyze/manual-hunt-win7-x86.txt');

describe('analyzeKdLog on a log assembled from real Windows 7 x86 transcripts', () => {
  const analysis = analyzeKdLog(readFileSync(log, 'latin1'), 'manual-hunt-win7-x86.txt');
  const { report } = analysis;

  test('every !poolused becomes a sample, in order, one row per pool in use', () => {
    expect(report.samples).toHaveLength(2);
    expect(report.sampleAxis).toBe('order');
    expect(report.samples![0]!.tags.map((tag) => [tag.tag, tag.pool, tag.bytes, tag.allocs])).toEqual([
      ['Abc ', 'paged', 33930272, 36405],
      ['Tron', 'paged', 7863232, 552],
      ['IoN7', 'paged', 998432, 10939],
      ['Gla5', 'nonpaged', 128, 1],
      ['Gla5', 'paged', 924352, 2222],
      ['Ggb ', 'paged', 828384, 22],
    ]);
  });

  test('each PoolHitTag stop with its kvn stack is an allocation at Sample!DriverEntry+0x27, tag and size from the x86 arguments', () => {
    expect(analysis.stacks).toHaveLength(2);
    expect(analysis.stacks[0]).toMatchObject({ kind: 'alloc', tag: 'abcd', size: 0x70 });
    expect(analysis.stacks[0]!.frames.slice(0, 5).map((frame) => frame.text)).toEqual([
      'nt!ExAllocatePoolWithTag+0x881',
      'nt!ExAllocatePoolWithTagPriority+0x196',
      'nt!VeAllocatePoolWithTagPriority+0x1a7',
      'nt!VerifierExAllocatePoolWithTag+0x1e',
      'Sample!DriverEntry+0x27',
    ]);
  });

  test('sites are aggregated by the first frame outside the allocator; without addresses the method is counts', () => {
    expect(report.sites).toEqual([
      {
        frame: 'Sample!DriverEntry+0x27',
        module: 'Sample',
        function: 'DriverEntry',
        offset: 0x27,
        tag: 'abcd',
        allocs: 2,
        frees: 0,
        outstanding: 2,
        outstandingBytes: 0xe0,
        method: 'counts',
        callers: ['nt!IopLoadDriver+0x7ed', 'nt!IopLoadUnloadDriver+0x70', 'nt!ExpWorkerThread+0x10d', 'nt!PspSystemThreadStartup+0x9e', 'nt!KiThreadStartup+0x19'],
      },
    ]);
  });

  test('the PoolHitTag tag is the suspect; no growth between identical samples keeps the verdict inconclusive', () => {
    expect(report.suspect).toEqual({ tag: 'abcd', pool: 'paged', bytes: 0, growthBytesPerMinute: null });
    expect(report.culprit).toMatchObject({ frame: 'Sample!DriverEntry+0x27', module: 'Sample', tag: 'abcd' });
    expect(report.verdict).toBe('inconclusive');
    expect(report.reason).toContain("no growth of 'abcd'");
    expect(report.ranking.every((ranked) => ranked.growthOutstanding === 0)).toBe(true);
  });

  test('what was read is counted by kind', () => {
    expect(analysis.counts).toMatchObject({ poolused: 2, break: 2, stack: 2 });
  });
});

describe('analyzeToRunDir writes a run directory the report command can rebuild', () => {
  test('report.json, stacks.jsonl and the three reports, owners annotated', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'leakhunt-analyze-')), 'run');
    const result = await analyzeToRunDir(log, out, tagOptions);
    const stacks = readFileSync(join(out, 'stacks.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(stacks).toHaveLength(2);
    expect(stacks[0]).toMatchObject({ kind: 'alloc', tag: 'abcd', size: 112, frames: expect.arrayContaining(['Sample!DriverEntry+0x27']) });
    // Read back through stacks.jsonl: the same site and tree.
    expect(result.data.stacks?.sites[0]).toMatchObject({ site: { text: 'Sample!DriverEntry+0x27' }, allocs: 2, outstandingBytes: 224 });
    const markdown = readFileSync(join(out, 'report.md'), 'utf8');
    expect(markdown).toContain("| 'Abc ' | paged | 32.4 MiB | 36,405 | n/a | abcflt.sys | Abc filter: per-open context (team note: see bug 4711) |");
    expect(markdown).toContain('Sample!DriverEntry+0x27\nnt!IopLoadDriver+0x7ed');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('sample (in log order)');
    expect(result.junit.cases.map((c) => [c.classname, c.outcome])).toEqual([
      ['leakhunt.suspect', 'error'],
      ['leakhunt.culprit', 'failure'],
      ['leakhunt.growth', 'skipped'],
    ]);
  });

  test('a file without any kd prompt is a usage error naming the file', () => {
    expect(() => analyzeKdLog('just some text\nno prompts here\n', 'notes.txt')).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/^notes\.txt: No kd prompt found/) }));
  });
});
