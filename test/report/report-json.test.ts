import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { analyzeKdLog } from '../../src/report/analyze.js';
import type { HuntReport } from '../../src/report/model.js';
import { renderReports } from '../../src/report/render.js';
import { writeReportJson } from '../../src/report/report-json.js';
import { readReportJson } from '../../src/report/run-dir.js';
import { copyRun, fixture, tagOptions } from './helpers.js';

const file = () => join(mkdtempSync(join(tmpdir(), 'leakhunt-report-json-')), 'report.json');

// A report with every value JSON does not keep as it is: Infinity, NaN, -0, undefined members and
// elements, holes, a function, a Date, and empty arrays and objects beside nested ones.
function awkward(): HuntReport {
  const report = readReportJson(fixture('report/leak-run/report.json')) as HuntReport & Record<string, unknown>;
  Object.assign(report.ranking[0]!, { trend: Infinity, p: Number.NaN });
  Object.assign(report.ranking[1]!, { growthBytesPerMinute: -0, why: undefined });
  report.extra = [undefined, , () => 1, new Date(0), [], {}, { a: [[1, 'é\n"x"'], { b: undefined }] }];
  report.dropped = undefined;
  report.empty = [];
  report.nothing = {};
  return report;
}

describe('writeReportJson', () => {
  const reports: [string, () => HuntReport][] = [
    ['a live hunt\'s report', () => readReportJson(fixture('report/leak-run/report.json'))],
    ['an analyzed log\'s report', () => analyzeKdLog(readFileSync(fixture('analyze/manual-hunt-win7-x86.txt'), 'latin1'), 'manual-hunt-win7-x86.txt').report],
    ['a report with values JSON changes', awkward],
  ];

  test.each(reports)('%s: the bytes of JSON.stringify(report, null, 2), and the report as JSON.parse reads it back', (_, make) => {
    const path = file();
    const report = make();
    const read = writeReportJson(path, report);
    const text = readFileSync(path, 'utf8');
    expect(text).toBe(`${JSON.stringify(report, null, 2)}\n`);
    expect(read).toStrictEqual(JSON.parse(text));
  });

  test('plain samples are handed back as they are, not copied', () => {
    const { report } = analyzeKdLog(readFileSync(fixture('analyze/manual-hunt-win7-x86.txt'), 'latin1'), 'manual-hunt-win7-x86.txt');
    const read = writeReportJson(file(), report);
    expect(read.samples).toHaveLength(2);
    read.samples!.forEach((sample, i) => expect(sample).toBe(report.samples![i]));
  });

  test('reports rendered from what it gives back are those rendered from the file', async () => {
    const fromFile = copyRun('leak-run');
    const fromModel = copyRun('leak-run');
    const report = awkward();
    writeReportJson(join(fromFile, 'report.json'), report);
    await renderReports(fromFile, tagOptions);
    await renderReports(fromModel, tagOptions, writeReportJson(join(fromModel, 'report.json'), report));
    for (const name of ['report.json', 'report.md', 'report.html', 'junit.xml']) expect(readFileSync(join(fromModel, name), 'utf8')).toBe(readFileSync(join(fromFile, name), 'utf8'));
  });
});
