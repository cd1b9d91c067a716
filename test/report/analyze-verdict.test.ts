// One verdict, live and offline: `leakhunt analyze` of a hunt's transcript.jsonl decides through the
// live hunt's ranking, pairing book and verdict, so it reaches the live verdict (or says
// `inconclusive` and what the log lacks), never a leak the live hunt did not find; the hand-typed
// sessions of test/fixtures give reports of the live report's shape.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { createSchemaCompiler } from '../../src/core/ajv.js';
import { analyzeKdLog, analyzeToRunDir } from '../../src/report/analyze.js';
import type { HuntReport } from '../../src/report/model.js';
import { fixture, tagOptions } from './helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');
const validate = createSchemaCompiler().compile(JSON.parse(readFileSync(join(root, 'schemas/report.schema.json'), 'utf8')));

// The verdict's shape: which members report.json and its evidence have (values aside).
const shape = (report: HuntReport) => ({
  report: Object.keys(report).filter((key) => key !== 'sampleAxis').sort(),
  evidence: ['targetTimeMs', 'targetTime', 'explainedShare', 'candidates', 'rounds', 'collected'].filter((key) => report.evidence && key in report.evidence),
});

describe('analyze of a live hunt\'s transcript.jsonl decides as the hunt did (find-pool-leak on the simulator)', () => {
  let live: HuntReport;
  let offline: HuntReport;

  beforeAll(async () => {
    const run = mkdtempSync(join(tmpdir(), 'leakhunt-analyze-verdict-'));
    // retag=auto: a log's reading does not weigh retag rounds, and their counts are `!poolused`
    // outputs like the ranking's, which it would take for more ranking samples (it then says
    // inconclusive, what the log lacks). This compares the ranking and the pairing, live and offline.
    const result = await execa(process.execPath, [cli, 'run', join(root, 'playbooks/find-pool-leak.yaml'), '--out', run, '--target', `sim:${join(root, 'scenarios/win7-x64-leak.yaml')}`, '--input', 'retag=auto'], { reject: false, cwd: root, timeout: 150_000 });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    live = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8')) as HuntReport;
    offline = (await analyzeToRunDir(join(run, 'transcript.jsonl'), mkdtempSync(join(tmpdir(), 'leakhunt-analyze-verdict-out-')), tagOptions)).analysis.report;
  }, 180_000);

  test('the same report shape, both valid against schemas/report.schema.json', () => {
    expect(validate(live), JSON.stringify(validate.errors?.map((e) => `${e.instancePath} ${e.message}`))).toBe(true);
    expect(validate(offline), JSON.stringify(validate.errors?.map((e) => `${e.instancePath} ${e.message}`))).toBe(true);
    expect(shape(offline)).toEqual(shape(live));
  });

  // The hunt's correction for its looks at the samples is not in the log: offline the suspect is
  // named only when the test agrees at both ends of its range, and then it is the hunt's.
  test('the same growth test: the suspect tag, its pool and its growth from the !poolused samples at their vertarget times', () => {
    expect(offline.sampleAxis).toBe('time');
    if (offline.suspect) expect(offline.suspect).toMatchObject({ tag: live.suspect!.tag, pool: live.suspect!.pool, growthBytesPerMinute: live.suspect!.growthBytesPerMinute });
    else expect(offline.reason).toMatch(/offline, from a log: .*how many looks/);
  });

  test('the same call sites, paired from the first collection as the hunt paired them', () => {
    const pairing = (report: HuntReport) => report.sites.filter((site) => site.method === 'pairing').map((site) => [site.frame, site.allocs]);
    expect(pairing(offline)).toEqual(pairing(live));
  });

  // The log holds the hunt's stacks, but the hunt stopped reading at its own moment, so a stop
  // more or less can move a share near the threshold: the culprit may not differ, and a leak is
  // never named where the hunt found none.
  test('the same verdict, or inconclusive saying what the log lacks; never another culprit, never a leak where the hunt found none', () => {
    if (offline.verdict === 'inconclusive') expect(offline.reason).toMatch(/offline, from a log: /);
    if (offline.verdict === 'no-leak') expect(live.verdict).toBe('no-leak');
    if (offline.verdict === 'leak') {
      expect(live.verdict).not.toBe('no-leak');
      expect(live.evidence!.candidates.map((c) => c.frame)).toContain(offline.culprit!.frame);
      if (live.culprit) expect(offline.culprit!.frame).toBe(live.culprit.frame);
    }
  });

  // The simulator keeps the hunt's waits in its own target time, so this scenario's numbers are
  // the same on every host, and far from the thresholds: here the two must agree exactly.
  test('on this scenario: the same verdict and culprit, by the same evidence', () => {
    expect(offline.verdict, offline.reason).toBe(live.verdict);
    expect(offline.culprit?.frame).toBe(live.culprit?.frame);
    expect(offline.culprit?.method).toBe(live.culprit?.method);
    expect(offline.evidence!.candidates.map((c) => [c.frame, c.method, c.explains])).toEqual(live.evidence!.candidates.map((c) => [c.frame, c.method, c.explains]));
  });
});

describe('analyze of the hand-typed sessions in test/fixtures: the live report\'s shape, inconclusive where the log lacks evidence', () => {
  test.each(['manual-hunt-win7-x86.txt', 'manual-hunt-win7-x64.txt', 'manual-wdf-win10-x64.txt'])('%s', (name) => {
    const { report } = analyzeKdLog(readFileSync(fixture(`analyze/${name}`), 'latin1'), name);
    expect(validate(report), JSON.stringify(validate.errors?.map((e) => `${e.instancePath} ${e.message}`))).toBe(true);
    expect(report.evidence).toMatchObject({ explainedShare: 0.5, candidates: expect.any(Array), rounds: [], collected: expect.any(Object) });
    // None of them has timed samples, block addresses and a clock around its stacks: no leak is named.
    expect(report.verdict).toBe('inconclusive');
    expect(report.culprit).toBeNull();
    expect(report.reason).toMatch(/offline, from a log: /);
    expect(report.evidence!.next).toMatch(/run the hunt live/);
    expect(report.evidence!.candidates.length).toBeGreaterThan(0);
  });
});
