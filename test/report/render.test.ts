import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { isPlaybookError } from '../../src/core/errors.js';
import { escapeXml } from '../../src/report/format.js';
import { renderJunit } from '../../src/report/junit.js';
import type { HuntReport } from '../../src/report/model.js';
import { renderReports, type RenderResult } from '../../src/report/render.js';
import { loadRun } from '../../src/report/run-dir.js';
import { formatSummary } from '../../src/report/text.js';
import { copyRun, fixture, tagOptions } from './helpers.js';

let dir: string;
let result: RenderResult;
const read = (name: string) => readFileSync(join(dir, name), 'utf8');

beforeAll(async () => {
  dir = copyRun('leak-run');
  result = await renderReports(dir, tagOptions);
});

describe('renderReports writes the three reports next to report.json', () => {
  test('files exist and are the ones returned', () => {
    expect(result.files.map((file) => file.slice(dir.length + 1))).toEqual(['report.md', 'report.html', 'junit.xml']);
    for (const file of result.files) expect(existsSync(file)).toBe(true);
  });

  test('the commands come from transcript.jsonl, summed per verb', () => {
    const { commands } = result.data;
    expect(commands.total).toBe(2 + 5 + 1 + 121 * 2 + 2);
    expect(commands.incomplete).toBe(1);
    expect(commands.byVerb[0]).toMatchObject({ verb: 'g', count: 121, totalMs: 121 * 1400 });
    expect(commands.byVerb.find((verb) => verb.verb === '!poolfind')).toMatchObject({ count: 1, maxMs: 65000 });
    expect(commands.first).toHaveLength(200);
  });
});

describe('report.md', () => {
  let markdown: string;
  beforeAll(() => {
    markdown = read('report.md');
  });

  test('starts with the verdict and the suspect with its owner from localtag.txt', () => {
    expect(markdown.split('\n')[0]).toBe('# leakhunt: leak — playbooks/find-pool-leak.yaml');
    expect(markdown).toContain("Suspect: 'Abc ' (paged)");
    expect(markdown).toContain('abcflt.sys — Abc filter: per-open context (team note: see bug 4711)');
  });

  test('the top tags table has owners for every tag the tag files know', () => {
    const rows = markdown.split('\n').filter((line) => line.startsWith("| '"));
    expect(rows[0]).toMatch(/^\| 'Abc ' \(suspect\) \| paged \| .* \| abcflt\.sys \| Abc filter: per-open context \(team note: see bug 4711\) \|$/);
    expect(rows.find((row) => row.startsWith("| 'Tron'"))).toContain('| tron.sys | Tron storage port driver |');
    expect(rows.find((row) => row.startsWith("| 'IoN7'"))).toContain('| — | I/O manager name buffers |');
    expect(rows.find((row) => row.startsWith("| 'Ggb '"))).toContain('| — | Glyph cache buffers |');
    // Not in the tag files: the owner report.json carried, escaped.
    expect(markdown).toContain("| '\"&lt;i&gt;' | nonpaged |");
    expect(markdown).toContain('Owner text from the report &lt;b&gt;not bold&lt;/b&gt;');
    expect(markdown).not.toContain('<b>');
  });

  test("the culprit's stack is a code block, site first, heaviest path", () => {
    const block = /## Culprit's stack[\s\S]*?```\n([\s\S]*?)\n```/.exec(markdown)?.[1];
    expect(block?.split('\n')).toEqual([
      'abcflt!AbcAllocateContext+0x2a',
      'abcflt!AbcCreate+0x71',
      'FLTMGR!FltpPerformPreCallbacks+0x2f7',
      'FLTMGR!FltpPassThroughInternal+0x8c',
      'nt!IofCallDriver+0x55',
      'nt!IopCreateFile+0x3a1',
    ]);
    expect(markdown).toContain('+ 5,600 (50) abcflt!AbcAllocateContext+0x2a\n  + 3,360 (30) abcflt!AbcCreate+0x71');
  });
});

describe('junit.xml', () => {
  test('one case per check: suspect, culprit, growth per site against the default threshold', () => {
    expect(result.junit.cases.map((c) => [c.classname, c.name, c.outcome])).toEqual([
      ['leakhunt.suspect', 'suspect tag Abc ', 'failure'],
      ['leakhunt.culprit', 'culprit site abcflt!AbcAllocateContext+0x2a', 'failure'],
      ['leakhunt.growth', 'outstanding growth abcflt!AbcAllocateContext+0x2a (Abc )', 'failure'],
      ['leakhunt.growth', 'outstanding growth abcflt!AbcCreateStream+0x4c (Abc )', 'passed'],
      ['leakhunt.growth', 'outstanding growth evil!<img src=x onerror=alert(1)>+0x1 (Abc )', 'passed'],
    ]);
    expect(result.junit).toMatchObject({ tests: 5, failures: 3, errors: 0, skipped: 0 });
  });

  test('the threshold is an input: above the culprit growth, only the leak checks fail', async () => {
    const data = await loadRun(dir, tagOptions);
    const lenient = renderJunit(data, { maxGrowthBytesPerMinute: 2000 });
    expect(lenient.cases.filter((c) => c.classname === 'leakhunt.growth').map((c) => c.outcome)).toEqual(['passed', 'passed', 'passed']);
    const strict = renderJunit(data, { maxGrowthBytesPerMinute: 100 });
    expect(strict.cases.filter((c) => c.classname === 'leakhunt.growth').map((c) => c.outcome)).toEqual(['failure', 'failure', 'passed']);
  });

  test('well-formed: escaped attributes, balanced elements, counts on the suite', () => {
    const xml = read('junit.xml');
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="leakhunt" tests="5" failures="3" errors="0" skipped="0"')).toBe(true);
    expect(xml).toContain('name="outstanding growth evil!&lt;img src=x onerror=alert(1)&gt;+0x1 (Abc )"');
    expect(xml).toContain('timestamp="2025-03-04T10:15:00"');
    expect(xml).not.toMatch(/<img/);
    // Every element opened is closed, in order (a small structural check of well-formedness).
    const stack: string[] = [];
    for (const match of xml.matchAll(/<(\/?)([A-Za-z-]+)[^>]*?(\/?)>/g)) {
      if (match[0].startsWith('<?')) continue;
      if (match[3]) continue;
      if (match[1]) expect(stack.pop()).toBe(match[2]);
      else stack.push(match[2]!);
    }
    expect(stack).toEqual([]);
    // Only the five XML entities appear; no raw & outside them.
    expect(xml.replace(/&(amp|lt|gt|quot|apos);/g, '')).not.toContain('&');
  });

  test('escapeXml drops characters XML 1.0 cannot hold', () => {
    expect(escapeXml('a\u0001b\u0008c\td\n&<>"\'')).toBe('a?b?c\td\n&amp;&lt;&gt;&quot;&apos;');
  });
});

describe('report.html content (static checks; the browser test draws it)', () => {
  let html: string;
  beforeAll(() => {
    html = read('report.html');
  });

  test('the verdict comes first in the body', () => {
    const body = html.slice(html.indexOf('<body>'));
    expect(body.indexOf('Leak found')).toBeGreaterThan(0);
    expect(body.indexOf('Leak found')).toBeLessThan(body.indexOf('Pool usage over time'));
  });

  test('self-contained: uPlot inlined, no network references', () => {
    expect(html).toContain('uPlot');
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/url\(\s*['"]?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
    // The only http text is uPlot's license comment.
    expect([...html.matchAll(/https?:\/\/[^\s"')]+/g)].map((m) => m[0])).toEqual(['https://github.com/leeoniya/uPlot']);
  });

  test('text from the target is escaped everywhere', () => {
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('evil!&lt;img src=x onerror=alert(1)&gt;+0x1');
    expect(html).not.toContain('<b>not bold</b>');
    expect(html).toContain('&#39;&quot;&lt;i&gt;&#39;');
    // In the JSON data block the tag travels with < and > escaped.
    const json = /<script type="application\/json" id="leakhunt-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(json).not.toMatch(/[<>]/);
    expect(JSON.parse(json).usage.series.map((s: { tag: string }) => s.tag)).toContain('"<i>');
  });

  test('plan, facts and commands are there', () => {
    expect(html).toContain('<code>pool/break-kb-x64</code>');
    expect(html).toContain('arch x64: kb with Child-SP frames');
    expect(html).toContain('19041.1.amd64fre.vb_release.191206-1406');
    expect(html).toContain('252 commands');
    expect(html).toMatch(/print/);
  });

  test('the call tree is nested <details> with the UMDH line format', () => {
    expect(html).toMatch(/<details open><summary><span class="num">\+ 5,600<\/span> <span class="num">\(50\)<\/span> <code>abcflt!AbcAllocateContext\+0x2a<\/code><\/summary>/);
  });
});

describe('formatSummary', () => {
  test('verdict, suspect with owner, culprit with outstanding numbers', async () => {
    const data = await loadRun(dir, tagOptions);
    expect(formatSummary(data.report, { ownerOf: data.ownerOf }).split('\n')).toEqual([
      "Verdict: LEAK — Tag 'Abc ' grows 1.4 MiB/min and abcflt!AbcAllocateContext+0x2a keeps 50 of 60 allocations outstanding",
      "Suspect: 'Abc ' (paged) 38.0 MiB, +1.40 MiB/min — abcflt.sys — Abc filter: per-open context (team note: see bug 4711)",
      "Culprit: abcflt!AbcAllocateContext+0x2a (tag 'Abc '): 60 allocations seen, 10 freed, 50 alive at the end (5.47 KiB) [pairing]",
    ]);
  });

  test('without owners given, it falls back to the ranking; no suspect and failed steps are said', () => {
    const report = JSON.parse(readFileSync(fixture('report/leak-run/report.json'), 'utf8')) as HuntReport;
    const none: HuntReport = { ...report, suspect: null, culprit: null, verdict: 'inconclusive', reason: 'collect-stacks failed', steps: [{ ...report.steps[5]!, status: 'failed', error: { code: 'TIMEOUT', message: 'no break in 60 s' } }] };
    expect(formatSummary(none)).toBe(
      ['Verdict: inconclusive — collect-stacks failed', 'Suspect: none', 'Culprit: none named', 'Failed step: stacks (pool.collect-stacks): TIMEOUT no break in 60 s'].join('\n'),
    );
  });
});

describe('errors name the file', () => {
  test('broken report.json: file:line:col where JSON.parse gives a position', async () => {
    const empty = copyRun('leak-run');
    writeFileSync(join(empty, 'report.json'), '{\n  "schemaVersion": 1,\n  "verdict": "leak"\n  "reason": "x"\n}\n');
    const error = await renderReports(empty, tagOptions).catch((e: unknown) => e);
    expect(isPlaybookError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'USAGE' });
    expect((error as Error).message).toMatch(/report\.json:4:3: report\.json is not valid JSON/);
  });

  test('a directory without report.json', async () => {
    const error = await renderReports(fixture('pooltag'), tagOptions).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/^No report\.json in the run directory/) });
  });
});
