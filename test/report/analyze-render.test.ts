import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { analyzeToRunDir } from '../../src/report/analyze.js';
import { fixture, tagOptions } from './helpers.js';

// Every file read of the modules under test, recorded.
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return { ...actual, readFileSync: vi.fn(actual.readFileSync), createReadStream: vi.fn(actual.createReadStream) };
});

describe('analyzeToRunDir renders from the report it wrote', () => {
  test('report.json is written once and never read back', async () => {
    const out = join(fs.mkdtempSync(join(tmpdir(), 'leakhunt-analyze-render-')), 'run');
    await analyzeToRunDir(fixture('analyze/manual-hunt-win7-x86.txt'), out, tagOptions);
    const read = [...vi.mocked(fs.readFileSync).mock.calls, ...vi.mocked(fs.createReadStream).mock.calls].map(([path]) => String(path));
    // The log itself was read (so the recording works), report.json was not.
    expect(read.some((path) => path.endsWith('manual-hunt-win7-x86.txt'))).toBe(true);
    expect(read.filter((path) => path.endsWith('report.json'))).toEqual([]);
    expect(fs.readFileSync(join(out, 'report.md'), 'utf8')).toContain("'Abc '");
  });
});
